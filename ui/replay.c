/* replay.c: `kdwatch replay FILE`: a recording through the same monitor
 * and outputs as a live session. The loop follows the recording's own
 * order (a break-in where the host broke in, a stop where the target
 * stopped by itself), so the monitor asks what it asked live and gets the
 * recorded answers. A capture of another debugger (WinDbg) cannot be
 * followed that way: then what it shows is listed instead (version,
 * modules, breakpoints, stops, memory read). */
#include "capture_packets.h"
#include "kd_describe.h"
#include "kd_status.h"
#include "session_replay.h"
#include "watch.h"
#include "watch_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct replay_clock {
    struct replay *r;
    double t0;
};

static uint64_t replay_now(void *user)
{
    struct replay_clock *c = user;
    double t = replay_time(c->r) - c->t0;
    return t > 0 ? (uint64_t)(t * 1000.0 + 0.5) : 0;
}

static void on_event(void *user, const struct mon_event *ev)
{
    watch_out_event(user, ev);
}

/* Waits (real time) until recorded time t at the current speed (0 = no
 * wait), serving the replay keys meanwhile: space pauses, + and - change
 * the speed, n goes on at once. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pace(struct watch_out *out, double *last, double t, double *speed, bool *paused)
{
    /* the wait is measured on the clock: the dashboard's idle returns early on a key */
    double left = (*speed > 0 && t > *last) ? (t - *last) / *speed : 0;
    *last = t;
    double prev = now_s();
    for (;;) {
        enum dash_action a = watch_out_take_action(out);
        if (a == DASH_ACTION_REPLAY_PAUSE)
            *paused = !*paused;
        else if (a == DASH_ACTION_REPLAY_FASTER)
            *speed = *speed > 0 ? *speed * 2 : 0;
        else if (a == DASH_ACTION_REPLAY_SLOWER)
            *speed = *speed > 0 ? *speed / 2 : 8;
        else if (a == DASH_ACTION_REPLAY_NEXT) {
            *paused = false;
            left = 0;
        }
        if (a != DASH_ACTION_NONE)
            watch_out_replay_state(out, *paused, *speed);
        if (watch_out_quit(out) || (!*paused && left <= 0))
            return;
        watch_out_idle(out, *paused || left > 0.1 ? 100 : (int)(left * 1000) + 1);
        double now = now_s();
        if (!*paused)
            left -= now - prev;
        prev = now;
    }
}

static void flush_prints(struct replay *r, struct watch_out *out)
{
    const char *text;
    size_t len;
    while (replay_next_print(r, &text, &len))
        watch_out_print(out, text, len);
}

/* Follows a WinDbg (or any foreign) capture passively: what it shows of
 * the target, its modules, breakpoints, stops and memory reads. */
static int observe(const struct watch_options *o, const char *key, FILE *out)
{
    struct capture_packets *cp;
    char err[256];
    if (capture_packets_open(o->uri, key, &cp, err) != KD_OK) {
        fprintf(stderr, "kdwatch replay: %s\n", err);
        return 1;
    }
    unsigned long reads = 0, reads_bad = 0, stops = 0, bp_set = 0, bp_restored = 0, ctx = 0;
    uint32_t h_lo = UINT32_MAX, h_hi = 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    bool have_version = false;
    struct capture_packet p;
    fprintf(out, "%s is not a kdwatch session: what it shows (passive reconstruction)\n", o->uri);
    while (capture_packets_next(cp, &p) == 1) {
        if (p.breakin || p.pkt.leader != KD_LEADER_DATA)
            continue;
        if (p.pkt.type == KD_PACKET_TYPE_KD_STATE_CHANGE64) {
            struct kd_description d;
            kd_describe(&p.pkt, p.host_to_target, 0x8664, &d);
            fprintf(out, "  stop (frame %llu): ", (unsigned long long)p.frame);
            kd_describe_text(&d, out);
            fputc('\n', out);
            stops++;
            continue;
        }
        if (p.pkt.type != KD_PACKET_TYPE_KD_STATE_MANIPULATE)
            continue;
        struct kd_manip m;
        if (kd_api_manip_decode(p.pkt.payload, p.pkt.count, &m) != KD_OK)
            continue;
        bool reply = !p.host_to_target;
        switch (m.api) {
        case DbgKdGetVersionApi:
            if (reply && !have_version) {
                const struct kd_version *v = &m.u.version;
                const char *mach = kd_api_machine_name(v->machine);
                fprintf(out,
                        "  target: Windows build %u, %s%s, kernel base 0x%llx, "
                        "PsLoadedModuleList 0x%llx, %s\n",
                        v->minor, mach ? mach : "?",
                        (v->major >> 8) == DBGKD_MAJOR_NTBD ? " (boot debugger)" : "",
                        (unsigned long long)v->kern_base,
                        (unsigned long long)v->ps_loaded_module_list,
                        v->debugger_data_list ? "debugger data block present"
                                              : "no debugger data block");
                have_version = true;
            }
            break;
        case DbgKdWriteBreakPointApi:
            if (reply && m.return_status == STATUS_SUCCESS) {
                bp_set++;
                fprintf(out, "  breakpoint set at 0x%llx (handle %u, frame %llu)\n",
                        (unsigned long long)m.u.write_bp.address, m.u.write_bp.handle,
                        (unsigned long long)p.frame);
            }
            break;
        case DbgKdRestoreBreakPointApi:
            if (!reply) {
                bp_restored++;
                if (m.u.restore_bp.handle < h_lo)
                    h_lo = m.u.restore_bp.handle;
                if (m.u.restore_bp.handle > h_hi)
                    h_hi = m.u.restore_bp.handle;
            }
            break;
        case DbgKdReadVirtualMemoryApi:
            if (!reply)
                break;
            reads++;
            if (m.return_status != STATUS_SUCCESS)
                reads_bad++;
            if (m.u.memory.address < lo)
                lo = m.u.memory.address;
            if (m.u.memory.address > hi)
                hi = m.u.memory.address;
            break;
        case DbgKdGetContextApi:
        case DbgKdGetContextExApi: ctx += reply; break;
        default: break;
        }
    }
    fprintf(out, "  %lu stop(s); %lu breakpoint(s) set", stops, bp_set);
    if (bp_restored)
        fprintf(out, ", %lu restore request(s) (handles %u-%u)", bp_restored, h_lo, h_hi);
    fprintf(out, "; %lu context read(s)\n  %lu memory read(s) (%lu failed)", ctx, reads, reads_bad);
    if (reads)
        fprintf(out, " from 0x%llx to 0x%llx", (unsigned long long)lo, (unsigned long long)hi);
    fputs("\n  (no thread stacks: kdwatch samples only in its own sessions)\n", out);
    capture_packets_free(cp);
    return 0;
}

int watch_replay(const struct watch_options *o, double speed)
{
    const char *key = o->key;
    char err[256] = "";
    struct replay *r;
    int rc = replay_open(o->uri, key, &r, err);
    if (rc != KD_OK) {
        fprintf(stderr, "kdwatch replay: %s: %s\n", o->uri, err);
        return 1;
    }
    if (err[0])
        fprintf(stderr, "kdwatch replay: %s: %s (replaying what precedes it)\n", o->uri, err);
    struct watch_options wo = *o;
    wo.record = NULL;
    struct watch_out *out;
    if (watch_out_new(&wo, &out) != KD_OK) {
        replay_free(r);
        return 1;
    }
    struct kd_state_change first;
    replay_first_stop(r, &first);
    struct replay_clock clock = {r, replay_time(r)};
    struct kd_target t = replay_target(r);
    struct monitor_config mcfg = {.interval_ms = o->interval_ms,
                                  .max_stall_ms = 1 << 30,
                                  .symbols = o->symbols,
                                  .on_event = on_event,
                                  .user = out,
                                  .now_ms = replay_now,
                                  .clock_user = &clock};
    struct monitor *m;
    int status = 1;
    if (monitor_new(&t, &mcfg, &m) != KD_OK)
        goto out_free_out;
    watch_out_link(out, o->uri);
    watch_out_hold(out, true, false);
    rc = monitor_attach(m, &first);
    struct replay_stats rs;
    replay_stats(r, &rs);
    if (rs.ran_out) {
        watch_out_hold(out, false, false);
        fprintf(stderr,
                "kdwatch replay: %s ends before the monitor finished attaching: "
                "nothing to replay\n",
                o->uri);
        monitor_free(m);
        watch_out_free(out);
        replay_free(r);
        return 1;
    }
    watch_out_hold(out, false, rc == KD_OK);
    if (rc != KD_OK) {
        monitor_free(m);
        watch_out_free(out);
        replay_free(r);
        fprintf(stderr,
                "kdwatch replay: this recording is not a kdwatch session the monitor "
                "can follow (%s)\n",
                kd_status_str(rc));
        return observe(o, key, stdout);
    }
    double last = replay_time(r); /* the first stop: attach time */
    bool paused = false;
    rc = monitor_sample(m);
    if (rc == KD_OK)
        rc = monitor_resume(m);
    const char *why = "end of recording";
    while (rc == KD_OK) {
        flush_prints(r, out);
        if (watch_out_quit(out)) {
            why = "quit";
            break;
        }
        double when = 0;
        enum replay_next next = replay_peek(r, &when);
        if (next == REPLAY_NEXT_END)
            break;
        pace(out, &last, when, &speed, &paused);
        if (watch_out_quit(out)) {
            why = "quit";
            break;
        }
        if (next == REPLAY_NEXT_BREAKIN) {
            bool other = false;
            rc = monitor_break_in(m, 0, &other);
            if (rc == KD_OK)
                rc = monitor_sample(m);
            if (rc == KD_OK)
                rc = monitor_resume(m);
            continue;
        }
        struct kd_state_change sc;
        rc = t.ops->wait_event(t.ctx, 0, &sc);
        if (rc != KD_OK)
            break;
        bool resume = true;
        monitor_on_stop(m, &sc, &resume);
        rc = resume ? monitor_resume(m) : KD_OK;
        if (!resume) {
            why = "crash captured"; /* the crash's last stop */
            break;
        }
    }
    flush_prints(r, out);
    if (rc == KD_ERR_CLOSED)
        rc = KD_OK;
    while (watch_out_wait_user(out))
        watch_out_idle(out, 100);
    watch_out_ended(out, why);
    watch_out_final(out, monitor_snapshot(m), monitor_crash(m));
    if (monitor_stopped(m)) {
        monitor_detach(m, why);
    } else {
        /* the recording ended with the target running: nothing to undo */
        struct mon_event ev = {.kind = MON_EV_DETACH};
        snprintf(ev.text, sizeof ev.text, "end of recording");
        watch_out_event(out, &ev);
    }
    status = rc == KD_OK ? 0 : 1;
    if (watch_out_failed_threshold(out, monitor_snapshot(m)))
        status = 3;
    monitor_free(m);
out_free_out:
    watch_out_free(out);
    replay_free(r);
    return status;
}
