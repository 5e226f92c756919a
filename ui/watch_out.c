/* watch_out.c: a session's events to the chosen output: the dashboard
 * (dash_model + dash_curses) on a terminal, out_text or out_json lines
 * otherwise; at the end the crash report, --report, --svg and the
 * --fail-below verdict. Nothing here decides anything about the target. */
#include "watch_out.h"
#include "dash_curses.h"
#include "dash_model.h"
#include "kd_status.h"
#include "out_json.h"
#include "out_svg.h"
#include "out_text.h"
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WATCH_OUT_HELD 8

struct watch_out {
    struct watch_options o;
    enum report_output kind;
    struct out_text text;
    struct out_json json;
    struct dash_model *model;
    struct dash_curses *curses;
    struct report_threshold fail;
    bool have_fail;
    char link[160];
    char ended[64];
    bool quit;
    enum dash_action pending; /* a replay key not yet taken by the replay loop */
    bool hold;
    struct mon_event held[WATCH_OUT_HELD]; /* text events only: pointers are not kept */
    size_t nheld;
    uint64_t first_ms, last_ms;
    bool have_time;
};

int watch_out_new(const struct watch_options *o, struct watch_out **out)
{
    *out = NULL;
    struct watch_out *w = calloc(1, sizeof *w);
    if (!w)
        return KD_ERR_NOMEM;
    w->o = *o;
    if (report_output_choose(o->text, o->json, isatty(STDOUT_FILENO), getenv("TERM"), &w->kind) !=
        KD_OK) {
        fprintf(stderr, "kdwatch: --text or --json, not both\n");
        free(w);
        return KD_ERR_ARG;
    }
    if (o->fail_below) {
        if (report_threshold_parse(o->fail_below, &w->fail) != KD_OK) {
            fprintf(stderr,
                    "kdwatch: --fail-below wants bytes (4096, 0x1000) or a percentage "
                    "(10%%), not '%s'\n",
                    o->fail_below);
            free(w);
            return KD_ERR_ARG;
        }
        w->have_fail = true;
    }
    out_text_init(&w->text, stdout, 5);
    out_json_init(&w->json, stdout, false);
    if (w->kind == REPORT_OUTPUT_DASHBOARD) {
        struct dash_model_config mc = {.replay = o->replay,
                                       .interval_ms = (uint32_t)o->interval_ms};
        struct dash_curses_config cc = {.frames = o->frames};
        if (dash_model_new(&mc, &w->model) != KD_OK || dash_curses_new(&cc, &w->curses) != KD_OK) {
            dash_model_free(w->model);
            free(w);
            fprintf(stderr, "kdwatch: cannot start the dashboard on this terminal "
                            "(use --text or --json)\n");
            return KD_ERR_IO;
        }
        if (o->replay)
            dash_model_set_replay(w->model, false, o->speed);
    }
    *out = w;
    return KD_OK;
}

void watch_out_free(struct watch_out *w)
{
    if (!w)
        return;
    dash_curses_free(w->curses); /* restores the terminal */
    dash_model_free(w->model);
    free(w);
}

void watch_out_hold(struct watch_out *w, bool hold, bool flush)
{
    w->hold = hold;
    if (hold)
        return;
    size_t n = w->nheld;
    w->nheld = 0;
    for (size_t i = 0; flush && i < n; i++)
        watch_out_event(w, &w->held[i]);
}

void watch_out_event(struct watch_out *w, const struct mon_event *ev)
{
    if (w->hold) {
        if (w->nheld < WATCH_OUT_HELD) {
            w->held[w->nheld] = *ev;
            w->held[w->nheld].snap = NULL;
            w->held[w->nheld].thread = NULL;
            w->held[w->nheld].crash = NULL;
            w->nheld++;
        }
        return;
    }
    if (!w->have_time) {
        w->first_ms = ev->time_ms;
        w->have_time = true;
    }
    w->last_ms = ev->time_ms;
    switch (w->kind) {
    case REPORT_OUTPUT_DASHBOARD: dash_model_event(w->model, ev); break;
    case REPORT_OUTPUT_JSON: out_json_event(&w->json, ev); break;
    case REPORT_OUTPUT_TEXT:
        if (ev->kind != MON_EV_CRASH) /* the full report comes at the end */
            out_text_event(&w->text, ev);
        break;
    }
}

static void message(struct watch_out *w, const char *label, const char *text)
{
    switch (w->kind) {
    case REPORT_OUTPUT_DASHBOARD: dash_model_message(w->model, label, w->last_ms, text); break;
    case REPORT_OUTPUT_JSON: out_json_message(&w->json, label, w->last_ms, text); break;
    case REPORT_OUTPUT_TEXT: out_text_message(&w->text, label, w->last_ms, text); break;
    }
}

void watch_out_print(struct watch_out *w, const char *text, size_t len)
{
    char buf[512];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, text, n);
    buf[n] = 0;
    /* one message per line, without the kernel's leading/trailing newlines */
    for (char *line = strtok(buf, "\r\n"); line; line = strtok(NULL, "\r\n"))
        message(w, "print", line);
}

void watch_out_error(struct watch_out *w, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (w->kind == REPORT_OUTPUT_DASHBOARD)
        dash_model_message(w->model, "error", w->last_ms, buf);
    else
        fprintf(stderr, "kdwatch: %s\n", buf);
    if (w->kind == REPORT_OUTPUT_JSON)
        out_json_message(&w->json, "error", w->last_ms, buf);
}

void watch_out_status(struct watch_out *w, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (w->kind == REPORT_OUTPUT_DASHBOARD) {
        dash_model_message(w->model, "status", w->last_ms, buf);
        watch_out_idle(w, 0);
    } else if (w->kind == REPORT_OUTPUT_TEXT) {
        fprintf(stderr, "kdwatch: %s\n", buf);
    }
}

void watch_out_link(struct watch_out *w, const char *description)
{
    snprintf(w->link, sizeof w->link, "%s", description);
    if (w->model)
        dash_model_set_link(w->model, description);
}

void watch_out_idle(struct watch_out *w, int ms)
{
    if (w->kind != REPORT_OUTPUT_DASHBOARD) {
        if (ms > 0) {
            struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        return;
    }
    char clock[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    dash_model_set_clock(w->model, clock);
    enum dash_action a = dash_curses_poll(w->curses, w->model, ms);
    if (a == DASH_ACTION_QUIT)
        w->quit = true;
    else if (a != DASH_ACTION_NONE)
        w->pending = a;
}

bool watch_out_quit(struct watch_out *w)
{
    return w->quit;
}

enum dash_action watch_out_take_action(struct watch_out *w)
{
    enum dash_action a = w->pending;
    w->pending = DASH_ACTION_NONE;
    return a;
}

void watch_out_replay_state(struct watch_out *w, bool paused, double speed)
{
    if (w->model)
        dash_model_set_replay(w->model, paused, speed);
}

bool watch_out_wait_user(struct watch_out *w)
{
    return w->kind == REPORT_OUTPUT_DASHBOARD && !w->quit;
}

void watch_out_ended(struct watch_out *w, const char *why)
{
    snprintf(w->ended, sizeof w->ended, "%s", why);
}

void watch_out_final(struct watch_out *w, const struct mon_snapshot *snap,
                     const struct mon_crash *crash)
{
    struct report_info info = {.link = w->link,
                               .ended = w->ended[0] ? w->ended : NULL,
                               .fail_below = w->have_fail ? &w->fail : NULL,
                               .duration_ms = w->last_ms - w->first_ms};
    if (w->kind == REPORT_OUTPUT_TEXT && crash) {
        fputc('\n', stdout);
        out_text_crash(crash, stdout);
    }
    if (w->kind == REPORT_OUTPUT_JSON)
        report_write_json(stdout, snap, crash, &info);
    fflush(stdout);
    if (w->o.report && report_write_file(w->o.report, snap, crash, &info) != KD_OK)
        watch_out_error(w, "cannot write the report to %s", w->o.report);
    if (w->o.svg) {
        if (!crash)
            watch_out_status(w, "no crash: no SVG written to %s", w->o.svg);
        else if (out_svg_file(w->o.svg, crash) != KD_OK)
            watch_out_error(w, "cannot write the SVG to %s", w->o.svg);
    }
}

bool watch_out_failed_threshold(struct watch_out *w, const struct mon_snapshot *snap)
{
    return w->have_fail && snap && report_fail_below(snap, &w->fail, NULL);
}
