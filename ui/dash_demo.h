/* dash_demo.h: `kdwatch ui-demo`, a hidden developer command: the fake
 * session of fake_events.h fed to the dashboard (paced like a replay, with
 * the replay keys), or to --text / --json, plus --report, --svg and
 * --fail-below, so every output can be looked at without a target. */
#ifndef DASH_DEMO_H
#define DASH_DEMO_H

#include <stdbool.h>
#include <stddef.h>

struct dash_demo_options {
    int frames;             /* dashboard: stop after N frames (0 = until q) */
    bool text, json;        /* headless instead of the dashboard */
    int interval_ms;        /* dashboard: wall time between samples (0 = 300) */
    unsigned samples;       /* samples before the crash (0 = 30) */
    size_t threads;         /* 0 = 200 */
    const char *report;     /* --report FILE */
    const char *svg;        /* --svg FILE */
    const char *fail_below; /* --fail-below N|N% */
};

/* Returns the exit status: 0, 1 on an error, 2 on bad options, 3 when a
 * thread's minimum headroom fell under --fail-below. */
int dash_demo_run(const struct dash_demo_options *o);

#endif
