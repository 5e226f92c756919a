/* dash_demo.c: `kdwatch ui-demo` as a recipe: make the fake session, pick
 * the output, feed it every event, then write what was asked for at the
 * end. The dashboard loop is the shape a live or replayed session takes:
 * the UI only reports actions, this loop acts on them. */
#include "dash_demo.h"

#include "dash_curses.h"
#include "dash_model.h"
#include "fake_events.h"
#include "kd_status.h"
#include "out_json.h"
#include "out_svg.h"
#include "out_text.h"
#include "report.h"

#include <stdio.h>
#include <time.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Feeds events up to and including the next sample or crash; false at the end. */
static bool feed_step(struct fake_events *f, struct dash_model *m)
{
    struct mon_event ev;
    while (fake_events_next(f, &ev)) {
        dash_model_event(m, &ev);
        if (ev.kind == MON_EV_SAMPLE || ev.kind == MON_EV_CRASH)
            return true;
    }
    return false;
}

static int dashboard(const struct dash_demo_options *o, struct fake_events *f)
{
    struct dash_curses *c = NULL;
    struct dash_model *m = NULL;
    struct dash_curses_config ccfg = {.frames = o->frames};
    if (dash_curses_new(&ccfg, &c) != KD_OK) {
        fprintf(stderr, "kdwatch ui-demo: no terminal for the dashboard; try --text or --json\n");
        return 1;
    }
    struct dash_model_config mcfg = {
        .replay = true, .ascii = dash_curses_ascii(c), .interval_ms = 1000};
    if (dash_model_new(&mcfg, &m) != KD_OK) {
        dash_curses_free(c);
        fprintf(stderr, "kdwatch ui-demo: out of memory\n");
        return 1;
    }
    dash_curses_catch_signals();
    dash_model_set_link(m, "ui-demo (fake target)");
    int interval = o->interval_ms > 0 ? o->interval_ms : 300;
    double speed = 1.0;
    bool paused = false, more = true, step = true;
    uint64_t due = mono_ms();
    while (!dash_curses_signalled()) {
        uint64_t now = mono_ms();
        if (more && (step || (!paused && now >= due))) {
            more = feed_step(f, m);
            due = now + (uint64_t)(interval / speed);
            step = false;
        }
        int wait = more && !paused ? (int)(due > now ? due - now : 0) : 100;
        enum dash_action a = dash_curses_poll(c, m, wait < 100 ? wait : 100);
        if (a == DASH_ACTION_QUIT)
            break;
        if (a == DASH_ACTION_REPLAY_PAUSE)
            paused = !paused;
        else if (a == DASH_ACTION_REPLAY_FASTER && speed < 64)
            speed *= 2;
        else if (a == DASH_ACTION_REPLAY_SLOWER && speed > 0.125)
            speed /= 2;
        else if (a == DASH_ACTION_REPLAY_NEXT)
            step = true;
        dash_model_set_replay(m, paused, speed);
    }
    dash_curses_free(c); /* the terminal first: what follows may print */
    dash_model_free(m);
    return 0;
}

static int headless(const struct dash_demo_options *o, struct fake_events *f)
{
    struct out_text t;
    struct out_json j;
    struct mon_event ev;
    int rc = KD_OK;
    out_text_init(&t, stdout, 3);
    out_json_init(&j, stdout, false);
    while (rc == KD_OK && fake_events_next(f, &ev))
        rc = o->json ? out_json_event(&j, &ev) : out_text_event(&t, &ev);
    const struct mon_crash *crash = fake_events_crash(f);
    if (rc == KD_OK && !o->json && crash) {
        fputc('\n', stdout);
        rc = out_text_crash(crash, stdout);
    }
    return rc == KD_OK ? 0 : 1;
}

int dash_demo_run(const struct dash_demo_options *o)
{
    struct report_threshold fail;
    struct fake_events *f = NULL;
    if (o->text && o->json) {
        fprintf(stderr, "kdwatch ui-demo: --text or --json, not both\n");
        return 2;
    }
    if (o->fail_below && report_threshold_parse(o->fail_below, &fail) != KD_OK) {
        fprintf(stderr,
                "kdwatch ui-demo: --fail-below wants bytes (4096, 0x1000) or a "
                "percentage (10%%), not '%s'\n",
                o->fail_below);
        return 2;
    }
    struct fake_events_config cfg = {.seed = 1, .samples = o->samples, .threads = o->threads};
    if (fake_events_new(&cfg, &f) != KD_OK) {
        fprintf(stderr, "kdwatch ui-demo: cannot make the fake session (--threads 8..4096)\n");
        return 2;
    }
    int status = o->text || o->json ? headless(o, f) : dashboard(o, f);
    const struct mon_snapshot *snap = fake_events_snapshot(f);
    const struct mon_crash *crash = fake_events_crash(f);
    struct report_info info = {
        .link = "demo", .ended = "demo over", .fail_below = o->fail_below ? &fail : NULL};
    if (o->json && report_write_json(stdout, snap, crash, &info) != KD_OK)
        status = 1;
    if (o->report && report_write_file(o->report, snap, crash, &info) != KD_OK) {
        fprintf(stderr, "kdwatch ui-demo: cannot write the report to %s\n", o->report);
        status = 1;
    }
    if (o->svg && crash && out_svg_file(o->svg, crash) != KD_OK) {
        fprintf(stderr, "kdwatch ui-demo: cannot write the SVG to %s\n", o->svg);
        status = 1;
    }
    if (!status && o->fail_below && report_fail_below(snap, &fail, NULL))
        status = 3;
    fake_events_free(f);
    return status;
}
