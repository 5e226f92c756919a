/* test_unwind_kdsim.c: the unwinder judged by kdsim's ground truth. kdsim
 * lays every frame from the unwind info mingw-w64 wrote into its module
 * images and records what it laid; here the monitor's own path (module
 * list, pe_image's .pdata, unwind_x64, crash) walks the doublefault-recursion
 * crash at each of its three stops and must agree frame by frame: SP,
 * return address, size, and the IST -> thread stack switch. */
#include "check.h"
#include "crash.h"
#include "kd_le.h"
#include "kd_status.h"
#include "modules.h"
#include "tests/kdsim/sim_kernel.h"
#include "tests/kdsim/sim_scenario.h"
#include "tests/kdsim/sim_truth.h"
#include "unwind_modules.h"
#include "unwind_x64.h"

/* A kd_target straight onto the simulated machine (no wire in between). */
static int sim_read(void *ctx, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got)
{
    return sim_mem_read(((struct sim_kernel *)ctx)->mem, addr, buf, len, got);
}

static int sim_control(void *ctx, uint16_t cpu, uint64_t sel, uint8_t *buf, uint32_t len,
                       uint32_t *got)
{
    struct sim_kernel *k = ctx;
    *got = 0;
    if (cpu >= k->ncpus || len < 8 || (sel != 1 && sel != 3))
        return KD_ERR_TARGET;
    kd_put64(buf, sel == 1 ? k->cpu[cpu].kprcb : k->threads[k->cpu[cpu].thread].ethread);
    *got = 8;
    return KD_OK;
}

static int sim_context(void *ctx, uint16_t cpu, uint8_t *buf, uint32_t len, uint32_t *got)
{
    struct sim_kernel *k = ctx;
    if (cpu >= k->ncpus)
        return KD_ERR_TARGET;
    return sim_read(ctx, sim_kernel_context_addr(k, cpu), buf,
                    len < SIM_CONTEXT_SIZE ? len : SIM_CONTEXT_SIZE, got);
}

static const struct kd_target_ops sim_ops = {
    .read_virtual = sim_read, .read_control = sim_control, .get_context = sim_context};

struct sim_fixture {
    struct sim_scenario *s;
    struct sim_kernel *k;
    struct kd_target t;
    struct modules *mods;
    struct unwind_modules um;
    struct unwind_lookup lookup;
    struct crash_env env;
    uint64_t df, kbx;
    uint32_t h_df, h_kbx;
};

static int fixture_init(struct sim_fixture *x, const char *scenario, uint64_t seed)
{
    struct sim_scenario_config cfg = {.name = scenario, .seed = seed, .threads = 16, .cpus = 2};
    memset(x, 0, sizeof *x);
    if (sim_scenario_new(&cfg, &x->s) != KD_OK)
        return -1;
    x->k = sim_scenario_kernel(x->s);
    x->t = (struct kd_target){&sim_ops, x->k};
    x->mods = modules_new();
    if (!x->mods || modules_walk(&x->t, x->k->module_list, x->mods) != KD_OK)
        return -1;
    x->um = (struct unwind_modules){&x->t, x->mods};
    unwind_modules_lookup(&x->um, &x->lookup);
    x->df = sim_images_addr(&x->k->im, "nt", "KiDoubleFaultAbort");
    x->kbx = sim_images_addr(&x->k->im, "nt", "KeBugCheckEx");
    if (!x->df || !x->kbx || sim_mem_bp_write(x->k->mem, x->df, &x->h_df) != KD_OK ||
        sim_mem_bp_write(x->k->mem, x->kbx, &x->h_kbx) != KD_OK)
        return -1;
    x->env = (struct crash_env){.target = &x->t,
                                .lookup = &x->lookup,
                                .kthread_stack_limit = 0x30,
                                .kthread_stack_base = 0x38,
                                .bugcheck_data = x->k->bugcheck_data};
    return 0;
}

static void fixture_fini(struct sim_fixture *x)
{
    modules_free(x->mods);
    sim_scenario_free(x->s);
}

/* Runs to the next stop; 1 with *ev, 0 when nothing stopped in 10000 ticks. */
static int next_stop(struct sim_fixture *x, struct sim_event *ev)
{
    uint32_t ran = 0;
    if (sim_scenario_stopped(x->s) && sim_scenario_resume(x->s) != KD_OK)
        return 0;
    return sim_scenario_run(x->s, 10000, ev, &ran) == 1;
}

/* Our frames [from, count) against kdsim's frames of the victim, innermost
 * first, starting at its frame index `top` (its frames are outermost first). */
static void compare(const struct unwind_trace *tr, uint32_t from, const struct sim_stack *st,
                    size_t top)
{
    CHECK_EQ(tr->count - from, top + 1);
    for (uint32_t i = from; i < tr->count && i - from <= top; i++) {
        const struct unwind_frame *f = &tr->frames[i];
        const struct sim_frame *g = &st->f[top - (i - from)];
        uint64_t want = f->flags & UNWIND_FRAME_SWITCH ? 0 : g->caller_sp - g->sp;
        if (f->sp != g->sp || f->pc != g->rip || f->ret != g->ret || f->size != want)
            fprintf(stderr,
                    "  frame %u: sp %" PRIx64 "/%" PRIx64 " pc %" PRIx64 "/%" PRIx64 " ret %" PRIx64
                    "/%" PRIx64 " size %" PRIx64 "/%" PRIx64 "\n",
                    i, f->sp, g->sp, f->pc, g->rip, f->ret, g->ret, f->size, want);
        CHECK_EQ(f->sp, g->sp);
        CHECK_EQ(f->pc, g->rip);
        CHECK_EQ(f->ret, g->ret);
        CHECK_EQ(f->size, want);
        CHECK_EQ(!!(f->flags & UNWIND_FRAME_SCANNED), 0);
        /* A switch exactly where kdsim left the thread stack (IST 1, user mode). */
        CHECK_EQ(!!(f->flags & UNWIND_FRAME_SWITCH),
                 g->via == SIM_VIA_IST1 || g->via == SIM_VIA_USER);
    }
    /* A system thread ends in a zero return, a system call in user mode. */
    CHECK_EQ(tr->stop, st->f[0].via == SIM_VIA_USER ? UNWIND_STOP_USER : UNWIND_STOP_ZERO_RET);
}

static void run_scenario(const char *scenario, uint64_t seed)
{
    struct sim_fixture x;
    struct sim_event ev;
    struct crash_record r;
    crash_record_init(&r);
    CHECK_EQ(fixture_init(&x, scenario, seed), 0);
    CHECK_EQ(next_stop(&x, &ev), 1);
    CHECK_EQ(ev.pc, x.df);
    const struct sim_truth *truth = sim_scenario_truth(x.s);
    CHECK(truth->crashed && truth->double_fault);
    const struct sim_thread *th = &x.k->threads[truth->crash_thread];
    const struct sim_stack *st = &th->stack;
    x.env.cpu = ev.cpu;
    CHECK_EQ(crash_on_double_fault(&r, &x.env), KD_OK);
    CHECK_EQ(r.fault_rip, truth->fault_rip);
    CHECK_EQ(r.fault_rsp, truth->fault_rsp);
    CHECK(r.fault_rsp < th->stack_limit); /* it did overflow */
    CHECK_EQ(r.thread, th->ethread);
    CHECK_EQ(r.stack_limit, th->stack_limit);
    CHECK_EQ(r.stack_base, th->stack_base);
    /* Frame 0: KiDoubleFaultAbort at its entry on IST 1, then the victim's thread stack. */
    CHECK(st->n >= 2);
    const struct sim_frame *ist = &st->f[st->n - 1];
    CHECK_EQ(r.trace.frames[0].sp, ist->sp);
    CHECK_EQ(r.trace.frames[0].pc, x.df);
    CHECK_EQ(r.trace.frames[0].ret, truth->fault_rip);
    CHECK(r.trace.count > 40); /* deep enough to eat 24 KiB */
    compare(&r.trace, 1, st, st->n - 2);
    CHECK(r.trace.reads < r.trace.count); /* the line cache: fewer KD reads than frames */

    /* KeBugCheckEx: the code and arguments, and a walk through the IST part. */
    sim_mem_bp_restore(x.k->mem, x.h_df);
    CHECK_EQ(next_stop(&x, &ev), 1);
    CHECK_EQ(ev.pc, x.kbx);
    CHECK_EQ(crash_on_kebugcheckex(&r, &x.env), KD_OK);
    CHECK_EQ(r.trace_from, CRASH_SEEN_DOUBLE_FAULT);
    struct crash_record r2;
    crash_record_init(&r2);
    x.env.ist_base = x.k->cpu[ev.cpu].ist_top[1];
    x.env.ist_limit = x.env.ist_base - 0x6000;
    CHECK_EQ(crash_on_kebugcheckex(&r2, &x.env), KD_OK);
    compare(&r2.trace, 0, st, st->n - 1);
    CHECK_EQ(r2.fault_rip, truth->fault_rip);
    CHECK_EQ(r2.fault_rsp, truth->fault_rsp);

    /* The kernel's break: KiBugcheckData as kdsim recorded it. */
    sim_mem_bp_restore(x.k->mem, x.h_kbx);
    CHECK_EQ(next_stop(&x, &ev), 1);
    CHECK_EQ(ev.why, SIM_STOP_BUGCHECK);
    CHECK_EQ(crash_on_bugcheck_break(&r, &x.env), KD_OK);
    CHECK_EQ(r.seen, CRASH_SEEN_DOUBLE_FAULT | CRASH_SEEN_KEBUGCHECKEX | CRASH_SEEN_BUGCHECK_BREAK);
    CHECK(truth->bugcheck);
    CHECK_EQ(r.code, truth->bugcheck_code);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(r.args[i], truth->bugcheck_args[i]);
    CHECK(crash_record_is_double_fault(&r));
    struct crash_record r3;
    crash_record_init(&r3);
    CHECK_EQ(crash_on_bugcheck_break(&r3, &x.env), KD_OK);
    compare(&r3.trace, 0, st, st->n - 1);
    crash_record_fini(&r3);
    crash_record_fini(&r2);
    crash_record_fini(&r);
    fixture_fini(&x);
}

/* Seed 000's shape: a storage stack recursing through completion routines. */
static void test_doublefault_recursion(void)
{
    run_scenario("doublefault-recursion", 7);
    run_scenario("doublefault-recursion", 12345);
}

/* Seed 001's shape: a minifilter re-entered through Zw calls and paging I/O,
 * frame-pointer images (Ntfs, MyDrv), system-call machine frames, a user-mode end. */
static void test_minifilter_reentrancy(void)
{
    run_scenario("minifilter-reentrancy", 7);
}

int main(void)
{
    RUN(test_doublefault_recursion);
    RUN(test_minifilter_reentrancy);
    return check_summary("test_unwind_kdsim");
}
