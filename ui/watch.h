/* watch.h: `kdwatch watch URI`: attach, sample, catch the crash, detach. */
#ifndef WATCH_H
#define WATCH_H

#include "monitor.h"

#include <stdbool.h>
#include <stdio.h>

struct watch_options {
    const char *uri;
    double duration_s; /* 0 = until quit, crash or signal */
    int interval_ms;
    int max_stall_ms;
    int connect_timeout_ms;
    const char *record;  /* pcapng path or NULL */
    const char *symbols; /* ISF JSON or NULL */
    bool json, text;     /* neither: the dashboard on a terminal, text otherwise */
    bool paint;
    const char *report;     /* final report path or NULL */
    const char *svg;        /* crash SVG path or NULL */
    const char *fail_below; /* "N" bytes or "N%" */
    int frames;             /* dashboard: render N frames then quit (tests) */
    const char *key;        /* replay: KDNET key of the recording */
    double speed;           /* replay: 0 = as fast as possible, 1 = original timing */
    bool replay;            /* the session is a replay (replay keys in the dashboard) */
};

struct monitor;
struct watch_out;
struct kd_state_change;

/* Reconnects a lost link: on success *t is the new target, stopped. */
struct watch_relink {
    int (*fn)(void *user, struct kd_target *t);
    void *user;
};

/* The live session loop: attach (the target is stopped by `first`), sample
 * every interval, handle stops, detach; a link that drops is reconnected
 * through rl (may be NULL) and the session goes on. Returns the exit status. */
int watch_loop(const struct watch_options *o, struct monitor *m, struct kd_target *t,
               struct watch_out *out, const struct kd_state_change *first,
               const struct watch_relink *rl);

/* Runs the whole session; returns the exit status (0 ok, 1 failure, 2 usage,
 * 3 headroom fell under --fail-below). */
int watch_run(const struct watch_options *o);

/* The same session, but reading a recording instead of a live link
 * (kdwatch replay): speed 0 = as fast as possible, 1 = original timing. */
int watch_replay(const struct watch_options *o, double speed);

#endif
