/* watch.c: the live session as a recipe:
 *   open the link (and the recording), resynchronise and stop the target,
 *   attach the monitor (it arms its breakpoints), let the target run;
 *   every interval: break in, sample, continue; in between, pump the link
 *   (prints, file requests, an unexpected stop = a breakpoint or a crash);
 *   at the end (duration, q, Ctrl-C, crash done, lost link): detach, which
 *   removes every breakpoint of ours and leaves the target running. */
#include "watch.h"
#include "analyze_out.h"
#include "kd_status.h"
#include "recorder.h"
#include "session.h"
#include "transport.h"
#include "watch_out.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t watch_signal;

static void on_signal(int sig)
{
    watch_signal = sig;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_print(void *user, const char *text, size_t len)
{
    struct watch_out *out = user;
    watch_out_print(out, text, len);
}

static void on_event(void *user, const struct mon_event *ev)
{
    watch_out_event(user, ev);
}

static bool link_error(int rc)
{
    return rc == KD_ERR_CLOSED || rc == KD_ERR_IO;
}

/* The link dropped: reconnect for up to WATCH_RELINK_MS, then go on with
 * the target stopped (resumed by the caller). */
#define WATCH_RELINK_MS 15000
static bool relink(struct monitor *m, struct kd_target *t, struct watch_out *out,
                   const struct watch_relink *rl)
{
    if (!rl)
        return false;
    watch_out_status(out, "link lost: reconnecting (up to %d s) ...", WATCH_RELINK_MS / 1000);
    uint64_t until = mono_ms() + WATCH_RELINK_MS;
    while (mono_ms() < until && !watch_signal) {
        if (rl->fn(rl->user, t) == KD_OK) {
            monitor_retarget(m, t, true);
            watch_out_status(out, "link back: the session goes on");
            return true;
        }
        watch_out_idle(out, 500);
    }
    return false;
}

/* The live session loop. */
int watch_loop(const struct watch_options *o, struct monitor *m, struct kd_target *t,
               struct watch_out *out, const struct kd_state_change *first,
               const struct watch_relink *rl)
{
    int status = 0;
    int rc = monitor_attach(m, first);
    if (rc != KD_OK) {
        watch_out_error(out, "attach failed: %s", kd_status_str(rc));
        monitor_detach(m, "attach failed");
        return 1;
    }
    rc = monitor_sample(m); /* a first picture before the target runs */
    if (rc == KD_OK)
        rc = monitor_resume(m);
    uint64_t start = mono_ms();
    uint64_t next = start + (uint64_t)o->interval_ms;
    const char *why = "done";
    bool crash_done = false;
    while (rc == KD_OK) {
        if (watch_signal) {
            why = watch_signal == SIGINT ? "interrupted" : "terminated";
            break;
        }
        if (watch_out_quit(out)) {
            why = "quit";
            break;
        }
        uint64_t now = mono_ms();
        if (o->duration_s > 0 && now - start >= (uint64_t)(o->duration_s * 1000)) {
            why = "duration reached";
            break;
        }
        if (crash_done) {
            if (!watch_out_wait_user(out)) {
                why = "crash captured";
                break;
            }
            watch_out_idle(out, 100);
            continue;
        }
        if (now >= next) {
            bool other = false;
            rc = monitor_break_in(m, 5000, &other);
            if (link_error(rc) && relink(m, t, out, rl))
                rc = KD_OK; /* stopped again by the reconnect */
            if (rc != KD_OK) {
                watch_out_error(out, "break-in failed: %s", kd_status_str(rc));
                break;
            }
            rc = monitor_sample(m);
            if (rc == KD_OK && !other)
                rc = monitor_resume(m);
            if (link_error(rc) && relink(m, t, out, rl))
                rc = monitor_resume(m);
            next = now + (uint64_t)o->interval_ms;
            if (other) {
                /* the break-in raced a crash stop: handled like a stop below */
                const struct mon_crash *c = monitor_crash(m);
                if (c && (c->stops & (1u << MON_STOP_BUGCHECK)))
                    crash_done = true;
                else if (rc == KD_OK)
                    rc = monitor_resume(m);
            }
            continue;
        }
        int wait = (int)(next - now);
        if (wait > 100)
            wait = 100; /* keep the keyboard and signals responsive */
        struct kd_state_change sc;
        int w = t->ops->wait_event(t->ctx, wait, &sc);
        watch_out_idle(out, 0);
        if (w == KD_ERR_TIMEOUT)
            continue;
        if (link_error(w) && relink(m, t, out, rl)) {
            rc = monitor_resume(m);
            continue;
        }
        if (w != KD_OK) {
            watch_out_error(out, "link lost: %s", kd_status_str(w));
            why = "link lost";
            rc = w;
            break;
        }
        bool resume = true;
        rc = monitor_on_stop(m, &sc, &resume);
        if (rc != KD_OK)
            watch_out_error(out, "handling the stop: %s", kd_status_str(rc));
        rc = KD_OK;
        if (resume)
            rc = monitor_resume(m);
        else
            crash_done = true;
    }
    const struct mon_crash *c = monitor_crash(m);
    watch_out_ended(out, why);
    watch_out_final(out, monitor_snapshot(m), c);
    int drc = monitor_detach(m, why);
    if (link_error(drc) && relink(m, t, out, rl))
        drc = monitor_detach(m, why);
    if (drc != KD_OK) {
        watch_out_error(out, "could not detach cleanly: %s", kd_status_str(drc));
        status = 1;
    }
    if (rc != KD_OK && !status)
        status = 1;
    if (watch_out_failed_threshold(out, monitor_snapshot(m)))
        status = 3;
    return status;
}

struct live_link {
    const struct watch_options *o;
    struct transport *tr;
    struct session *s;
    struct recorder *rec;
    struct watch_out *out;
};

/* Opens the link again and stops the target: a new transport and session. */
static int live_relink(void *user, struct kd_target *t)
{
    struct live_link *l = user;
    char err[TRANSPORT_ERR_SIZE];
    struct transport *tr;
    struct session *s;
    if (transport_open(l->o->uri, &tr, err) != KD_OK)
        return KD_ERR_IO;
    if (l->rec)
        transport_set_tap(tr, recorder_tap, l->rec);
    struct session_config scfg = {.on_print = on_print, .user = l->out};
    struct kd_state_change sc;
    if (session_new(tr, &scfg, &s) != KD_OK) {
        transport_free(tr);
        return KD_ERR_NOMEM;
    }
    if (session_connect(s, 3000, &sc) != KD_OK) {
        session_free(s);
        transport_free(tr);
        return KD_ERR_TIMEOUT;
    }
    session_free(l->s);
    transport_free(l->tr);
    l->s = s;
    l->tr = tr;
    *t = session_target(s);
    return KD_OK;
}

int watch_run(const struct watch_options *o)
{
    char err[TRANSPORT_ERR_SIZE];
    struct transport *tr = NULL;
    struct recorder *rec = NULL;
    struct session *s = NULL;
    struct monitor *m = NULL;
    struct watch_out *out = NULL;
    int status = 1;
    if (watch_out_new(o, &out) != KD_OK) {
        fprintf(stderr, "kdwatch: cannot start the output\n");
        return 1;
    }
    int rc = transport_open(o->uri, &tr, err);
    if (rc != KD_OK) {
        watch_out_error(out, "%s", err);
        goto out_free;
    }
    if (o->record) {
        rc = recorder_open(o->record, recorder_layout_for(transport_kind(tr)), &rec, err);
        if (rc != KD_OK) {
            watch_out_error(out, "cannot record to %s: %s", o->record, err);
            goto out_free;
        }
        transport_set_tap(tr, recorder_tap, rec);
    }
    char desc[160];
    transport_describe(tr, desc, sizeof desc);
    watch_out_link(out, desc);
    struct session_config scfg = {.on_print = on_print, .user = out};
    rc = session_new(tr, &scfg, &s);
    if (rc != KD_OK)
        goto out_free;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    watch_out_status(out, "waiting for the target on %s ...", desc);
    struct kd_state_change first;
    rc = session_connect(s, o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 30000, &first);
    if (rc != KD_OK) {
        watch_out_error(out, "no target: %s", session_error(s));
        goto out_free;
    }
    struct kd_target t = session_target(s);
    struct monitor_config mcfg = {
        .interval_ms = o->interval_ms,
        .max_stall_ms = o->max_stall_ms,
        .paint = o->paint,
        .symbols = o->symbols,
        .on_event = on_event,
        .user = out,
    };
    rc = monitor_new(&t, &mcfg, &m);
    if (rc != KD_OK)
        goto out_free;
    transport_describe(tr, desc, sizeof desc); /* now with the peer (KDNET: after the handshake) */
    watch_out_link(out, desc);
    struct live_link link = {.o = o, .tr = tr, .s = s, .rec = rec, .out = out};
    struct watch_relink rl = {live_relink, &link};
    status = watch_loop(o, m, &t, out, &first, &rl);
    tr = link.tr; /* replaced if the link was reopened */
    s = link.s;
    if (rec && recorder_status(rec) != KD_OK)
        watch_out_error(out, "recording %s: %s", o->record, recorder_error(rec));
out_free:
    monitor_free(m);
    session_free(s);
    transport_free(tr);
    recorder_free(rec);
    watch_out_free(out);
    return status;
}
