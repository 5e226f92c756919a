/* test_monitor_live.c: the whole monitor (attach, samples, the three crash
 * stops, detach) against kdsim in-process, compared with kdsim's truth. */
#include "analyze_out.h"
#include "check.h"
#include "kd_status.h"
#include "monitor.h"
#include "tests/kdsim/sim_kernel.h"
#include "tests/kdsim/sim_mem.h"
#include "tests/kdsim/sim_target.h"
#include "tests/kdsim/sim_truth.h"

struct ev_log {
    int attach, samples, crash, stops, detach, warnings, thresholds;
    char last_stop[256];
    char warning[256];
};

static void on_event(void *user, const struct mon_event *ev)
{
    struct ev_log *l = user;
    switch (ev->kind) {
    case MON_EV_ATTACH: l->attach++; break;
    case MON_EV_SAMPLE: l->samples++; break;
    case MON_EV_CRASH: l->crash++; break;
    case MON_EV_STOP:
        l->stops++;
        snprintf(l->last_stop, sizeof l->last_stop, "%s", ev->text);
        break;
    case MON_EV_DETACH: l->detach++; break;
    case MON_EV_WARNING:
        l->warnings++;
        snprintf(l->warning, sizeof l->warning, "%s", ev->text);
        break;
    case MON_EV_THRESHOLD: l->thresholds++; break;
    default: break;
    }
}

/* Runs a scenario to its end the way `kdwatch watch` does: attach, then
 * between samples let the target run one virtual interval; a stop of its
 * own goes to monitor_on_stop. */
static int run(const char *scenario, uint32_t threads, struct sim_target **simp,
               struct monitor **mp, struct ev_log *log, int max_samples)
{
    struct sim_target_config cfg = {
        .scenario = {.name = scenario, .seed = 1, .threads = threads, .cpus = 2}};
    struct sim_target *sim;
    *simp = NULL;
    *mp = NULL;
    if (sim_target_new(&cfg, &sim) != KD_OK)
        return -1;
    struct kd_target t = sim_target_target(sim);
    struct monitor_config mc = {.on_event = on_event, .user = log};
    struct monitor *m;
    monitor_new(&t, &mc, &m);
    *simp = sim;
    *mp = m;
    t.ops->break_in(t.ctx);
    struct kd_state_change sc;
    int rc = t.ops->wait_event(t.ctx, 1000, &sc);
    if (rc == KD_OK)
        rc = monitor_attach(m, &sc);
    if (rc == KD_OK)
        rc = monitor_sample(m);
    if (rc == KD_OK)
        rc = monitor_resume(m);
    for (int samples = 0; rc == KD_OK && samples < max_samples;) {
        int w = t.ops->wait_event(t.ctx, 100, &sc);
        if (w == KD_ERR_TIMEOUT) {
            bool other = false;
            rc = monitor_break_in(m, 1000, &other);
            if (rc == KD_OK)
                rc = monitor_sample(m);
            samples++;
            if (rc == KD_OK)
                rc = monitor_resume(m);
            continue;
        }
        if (w != KD_OK)
            return w;
        bool resume = true;
        rc = monitor_on_stop(m, &sc, &resume);
        if (rc == KD_OK && !resume)
            return KD_OK; /* the crash's last stop */
        if (rc == KD_OK)
            rc = monitor_resume(m);
    }
    return rc;
}

TEST(doublefault_recursion)
{
    struct ev_log log = {0};
    struct sim_target *sim = NULL;
    struct monitor *m = NULL;
    int rc = run("doublefault-recursion", 64, &sim, &m, &log, 400);
    CHECK_EQ(rc, KD_OK);
    CHECK_EQ(log.attach, 1);
    const struct mon_crash *c = monitor_crash(m);
    CHECK(c != NULL);
    struct sim_scenario *scn = sim_target_scenario(sim);
    const struct sim_truth *tr = sim_scenario_truth(scn);
    const struct sim_kernel *k = sim_scenario_kernel(scn);
    CHECK(tr->crashed && tr->double_fault);
    if (!c || !tr->crashed) {
        monitor_free(m);
        sim_target_free(sim);
        return;
    }
    /* all three stops, in order, and the bugcheck as kdsim raised it */
    CHECK_EQ(c->stops, (1u << MON_STOP_DOUBLE_FAULT) | (1u << MON_STOP_KEBUGCHECKEX) |
                           (1u << MON_STOP_BUGCHECK));
    CHECK_EQ(log.stops, 3);
    CHECK_EQ(c->code, 0x7F);
    CHECK_EQ(c->args[0], 8);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(c->args[i], tr->bugcheck_args[i]);
    CHECK_EQ(c->fault_rsp, tr->fault_rsp);
    CHECK_EQ(c->fault_rip, tr->fault_rip);
    const struct sim_thread *th = &k->threads[tr->crash_thread];
    CHECK_EQ(c->thread, th->ethread);
    CHECK_EQ(c->stack_limit, th->stack_limit);
    /* every frame kdsim laid, innermost first, with its stack pointer and
     * return address; sizes follow from the stack pointers */
    const struct breakdown *bd = c->bd;
    CHECK(bd != NULL);
    if (bd) {
        /* kdsim's stack now also holds the bugcheck machinery that ran on the
         * IST stack after the double fault; the thread-stack frames must match
         * ours one for one (ours: frame 0 is the handler at its entry). */
        size_t on_thread = 0;
        for (size_t i = 0; i < th->stack.n; i++)
            on_thread +=
                th->stack.f[i].sp >= th->stack_limit - 0x1000 && th->stack.f[i].sp < th->stack_base;
        CHECK_EQ(bd->count, on_thread + 1);
        int bad = 0;
        for (size_t i = 1; i < bd->count && i <= on_thread; i++) {
            const struct sim_frame *fr = &th->stack.f[on_thread - i];
            if (bd->frames[i].sp != fr->sp || bd->frames[i].ret != fr->ret)
                bad++;
        }
        CHECK_EQ(bad, 0);
        CHECK_EQ(bd->frames[0].ret, tr->fault_rip);
        /* the jump from the IST stack to the thread stack is a switch */
        CHECK_EQ(bd->lines[1].edge, BREAKDOWN_EDGE_SWITCH);
        CHECK(bd->past_limit);
        CHECK_EQ(bd->past, th->stack_limit - tr->fault_rsp);
        CHECK(bd->has_cycle);
        if (bd->has_cycle)
            CHECK(bd->cycle.turns >= 2);
    }
    CHECK_EQ(monitor_detach(m, "test"), KD_OK);
    monitor_free(m);
    sim_target_free(sim);
}

TEST(minifilter_reentrancy)
{
    struct ev_log log = {0};
    struct sim_target *sim = NULL;
    struct monitor *m = NULL;
    CHECK_EQ(run("minifilter-reentrancy", 64, &sim, &m, &log, 400), KD_OK);
    const struct mon_crash *c = monitor_crash(m);
    CHECK(c && c->bd);
    if (c && c->bd) {
        const struct breakdown *bd = c->bd;
        CHECK_EQ(c->code, 0x7F);
        CHECK(bd->past_limit);
        /* MyDrv entered again deeper, through a system call and paging I/O */
        int mydrv = -1;
        for (size_t i = 0; i < bd->reentry_count; i++)
            if (!strcmp(bd->reentries[i].module, "MyDrv"))
                mydrv = (int)i;
        CHECK(mydrv >= 0);
        if (mydrv >= 0) {
            CHECK(bd->reentries[mydrv].paths & BREAKDOWN_PATH_SYSCALL);
            CHECK(bd->reentries[mydrv].paths & BREAKDOWN_PATH_PAGING);
        }
    }
    monitor_detach(m, "test");
    monitor_free(m);
    sim_target_free(sim);
}

/* Each sample's numbers against kdsim's usage row for the tick it was
 * taken at: every thread, running or waiting. */
struct usage_check {
    struct sim_target *sim;
    int samples, mismatches, compared;
    int unwound, bad_frames;
};

/* The frames of a sampled row against the frames kdsim has laid now. */
static void check_frames(struct usage_check *u, const struct sim_kernel *k,
                         const struct mon_thread *r)
{
    if (r->running || r->nframes < 4)
        return;
    for (uint32_t ti = 0; ti < k->nthreads; ti++) {
        const struct sim_thread *th = &k->threads[ti];
        if (th->ethread != r->kthread)
            continue;
        u->unwound++;
        for (size_t f = 0; f < r->nframes; f++) {
            bool found = false;
            for (size_t j = 0; j < th->stack.n; j++)
                found |= th->stack.f[j].sp == r->frames[f].sp;
            u->bad_frames += !found;
            if (f && r->frames[f].sp != r->frames[f - 1].sp + r->frames[f].size)
                u->bad_frames++;
        }
    }
}

static void on_sample_check(void *user, const struct mon_event *ev)
{
    struct usage_check *u = user;
    if (ev->kind != MON_EV_SAMPLE || !u->sim)
        return;
    struct sim_scenario *scn = sim_target_scenario(u->sim);
    const struct sim_truth *tr = sim_scenario_truth(scn);
    const struct sim_kernel *k = sim_scenario_kernel(scn);
    uint64_t tick = sim_scenario_tick(scn);
    if (tick >= tr->nrows)
        return;
    u->samples++;
    const uint32_t *row = tr->usage + tick * tr->nthreads;
    for (size_t i = 0; i < ev->snap->nthreads; i++) {
        const struct mon_thread *r = &ev->snap->threads[i];
        for (uint32_t t = 0; t < tr->nthreads; t++)
            if (k->threads[t].ethread == r->kthread) {
                u->compared++;
                if (r->used != row[t])
                    u->mismatches++;
            }
        if (r->last_ms == ev->snap->time_ms)
            check_frames(u, k, r);
    }
}

static uint64_t frozen_clock(void *user)
{
    (void)user;
    return 0;
}

TEST(stress_usage_matches_truth)
{
    struct usage_check u = {0};
    struct sim_target_config cfg = {
        .scenario = {.name = "stress", .seed = 7, .threads = 128, .cpus = 2}};
    CHECK_EQ(sim_target_new(&cfg, &u.sim), KD_OK);
    struct kd_target t = sim_target_target(u.sim);
    /* a clock that never moves: every thread is read at every sample */
    struct monitor_config mc = {.on_event = on_sample_check, .user = &u, .now_ms = frozen_clock};
    struct monitor *m;
    CHECK_EQ(monitor_new(&t, &mc, &m), KD_OK);
    struct kd_state_change sc;
    t.ops->break_in(t.ctx);
    CHECK_EQ(t.ops->wait_event(t.ctx, 1000, &sc), KD_OK);
    CHECK_EQ(monitor_attach(m, &sc), KD_OK);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(monitor_sample(m), KD_OK);
        CHECK_EQ(monitor_resume(m), KD_OK);
        int w = t.ops->wait_event(t.ctx, 160, &sc); /* ten ticks of running */
        CHECK_EQ(w, KD_ERR_TIMEOUT);
        bool other;
        CHECK_EQ(monitor_break_in(m, 1000, &other), KD_OK);
    }
    CHECK_EQ(u.samples, 20);
    CHECK(u.compared >= 20 * 128);
    CHECK_EQ(u.mismatches, 0);
    /* near threads that wait carry frames unwound from their switch frame:
     * every frame's stack pointer is one kdsim had laid at that sample */
    CHECK(u.unwound >= 1);
    CHECK_EQ(u.bad_frames, 0);
    /* clean detach: no breakpoint of ours left, the target running */
    struct sim_mem_bp bps[8];
    struct sim_kernel *kk = sim_scenario_kernel(sim_target_scenario(u.sim));
    CHECK_EQ(sim_mem_bp_list(kk->mem, bps, 8), 2); /* ours, armed at attach */
    CHECK_EQ(monitor_detach(m, "test"), KD_OK);
    CHECK_EQ(sim_mem_bp_list(kk->mem, bps, 8), 0);
    CHECK(!sim_target_stopped(u.sim));
    monitor_free(m);
    sim_target_free(u.sim);
}

/* --paint: the painted threads' peak is at least what sampling saw, at most
 * the deepest kdsim ever went, and beats sampling for at least one thread
 * (the depth swings between samples). Threshold events come once per
 * thread and mark. */
struct paint_log {
    struct sim_target *sim;
    uint32_t sampled_max[4096]; /* by kdsim thread index */
    int thresholds;
    uint64_t threshold_keys[256];
    int duplicate_thresholds;
};

static void on_paint_event(void *user, const struct mon_event *ev)
{
    struct paint_log *p = user;
    if (ev->kind == MON_EV_THRESHOLD) {
        /* once per thread and mark: the same text never comes twice */
        uint64_t key = ev->thread->kthread ^ (strstr(ev->text, "under 10%") ? 1u : 0u);
        for (int i = 0; i < p->thresholds && i < 256; i++)
            p->duplicate_thresholds += p->threshold_keys[i] == key;
        if (p->thresholds < 256)
            p->threshold_keys[p->thresholds] = key;
        p->thresholds++;
        return;
    }
    if (ev->kind != MON_EV_SAMPLE)
        return;
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(p->sim));
    for (size_t i = 0; i < ev->snap->nthreads; i++)
        for (uint32_t t = 0; t < k->nthreads && t < 4096; t++)
            if (k->threads[t].ethread == ev->snap->threads[i].kthread &&
                ev->snap->threads[i].used > p->sampled_max[t])
                p->sampled_max[t] = ev->snap->threads[i].used;
}

TEST(paint_finds_peaks)
{
    static struct paint_log p;
    memset(&p, 0, sizeof p);
    struct sim_target_config cfg = {
        .scenario = {.name = "stress", .seed = 5, .threads = 64, .cpus = 2}};
    CHECK_EQ(sim_target_new(&cfg, &p.sim), KD_OK);
    struct kd_target t = sim_target_target(p.sim);
    struct monitor_config mc = {
        .on_event = on_paint_event, .user = &p, .now_ms = frozen_clock, .paint = true};
    struct monitor *m;
    CHECK_EQ(monitor_new(&t, &mc, &m), KD_OK);
    struct kd_state_change sc;
    t.ops->break_in(t.ctx);
    CHECK_EQ(t.ops->wait_event(t.ctx, 1000, &sc), KD_OK);
    CHECK_EQ(monitor_attach(m, &sc), KD_OK);
    for (int i = 0; i < 30; i++) {
        CHECK_EQ(monitor_sample(m), KD_OK);
        CHECK_EQ(monitor_resume(m), KD_OK);
        CHECK_EQ(t.ops->wait_event(t.ctx, 160, &sc), KD_ERR_TIMEOUT);
        bool other;
        CHECK_EQ(monitor_break_in(m, 1000, &other), KD_OK);
    }
    CHECK_EQ(monitor_sample(m), KD_OK);
    struct sim_scenario *scn = sim_target_scenario(p.sim);
    const struct sim_truth *tr = sim_scenario_truth(scn);
    const struct sim_kernel *k = sim_scenario_kernel(scn);
    const struct mon_snapshot *snap = monitor_snapshot(m);
    int painted = 0, beat = 0, over = 0, under = 0;
    for (size_t i = 0; i < snap->nthreads; i++) {
        const struct mon_thread *r = &snap->threads[i];
        if (!r->painted)
            continue;
        painted++;
        for (uint32_t ti = 0; ti < tr->nthreads; ti++) {
            if (k->threads[ti].ethread != r->kthread)
                continue;
            uint32_t truth_max = 0;
            for (size_t row = 0; row < tr->nrows; row++)
                if (tr->usage[row * tr->nthreads + ti] > truth_max)
                    truth_max = tr->usage[row * tr->nthreads + ti];
            under += r->peak_used < p.sampled_max[ti];
            /* the deepest written word may lie a few words past the deepest
             * SP kdsim recorded at a tick end (a callee's frame in between) */
            over += r->peak_used > truth_max + 0x400;
            beat += r->peak_used > p.sampled_max[ti];
        }
    }
    CHECK(painted >= 1);
    CHECK_EQ(under, 0);
    CHECK_EQ(over, 0);
    CHECK(beat >= 1);
    CHECK(p.thresholds >= 1);
    CHECK_EQ(p.duplicate_thresholds, 0);
    CHECK_EQ(monitor_detach(m, "test"), KD_OK);
    monitor_free(m);
    sim_target_free(p.sim);
}

int main(void)
{
    RUN(doublefault_recursion);
    RUN(minifilter_reentrancy);
    RUN(stress_usage_matches_truth);
    RUN(paint_finds_peaks);
    return check_summary("test_monitor_live");
}
