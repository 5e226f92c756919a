/* test_kdsim_scenario.c: each scenario reaches its stop, and the stacks
 * kdsim serves unwind, with an unwinder written here from target memory
 * alone, to exactly the frames its ground truth records. */
#include "check.h"

#include "kd_api.h"
#include "kd_le.h"
#include "kd_status.h"
#include "tests/kdsim/sim_target.h"
#include "tests/kdsim/sim_threads.h"
#include "tests/kdsim/sim_truth.h"

static struct kd_target g_t;

static uint64_t rd64(uint64_t a)
{
    uint8_t b[8];
    uint32_t got = 0;
    if (g_t.ops->read_virtual(g_t.ctx, a, b, 8, &got) != KD_OK || got != 8)
        return 0;
    return kd_le64(b);
}

static uint32_t rd32(uint64_t a)
{
    return (uint32_t)rd64(a);
}

/* ---- an unwinder that knows only target memory ----------------------------------- */

struct step {
    uint64_t ret, caller_sp;
    uint32_t size;
};

/* Base of the loaded module holding addr (PsLoadedModuleList walk), 0 if none. */
static uint64_t module_of(uint64_t addr)
{
    struct kd_version v;
    g_t.ops->get_version(g_t.ctx, &v);
    for (uint64_t e = rd64(v.ps_loaded_module_list), n = 0; e != v.ps_loaded_module_list && n < 64;
         e = rd64(e), n++) {
        uint64_t base = rd64(e + 0x30), size = rd32(e + 0x40);
        if (addr >= base && addr - base < size)
            return base;
    }
    return 0;
}

/* One step from (rip, sp): -1 when rip is in no module (the walk's end). */
static int unwind_step(uint64_t rip, uint64_t sp, struct step *s)
{
    uint64_t base = module_of(rip);
    if (!base)
        return -1;
    uint64_t nt = base + rd32(base + 0x3C), pdata = base + rd32(nt + 0xA0);
    uint32_t lo = 0, hi = rd32(nt + 0xA4) / 12, off = (uint32_t)(rip - base), unwind = 0, begin = 0;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2, b = rd32(pdata + 12 * mid), e = rd32(pdata + 12 * mid + 4);
        if (off < b) {
            hi = mid;
        } else if (off >= e) {
            lo = mid + 1;
        } else {
            unwind = rd32(pdata + 12 * mid + 8), begin = b;
            break;
        }
    }
    s->size = 0;
    int mf = -1;
    for (int chain = 0; unwind && chain < 8; chain++) {
        uint8_t u[4 + 2 * 255 + 12];
        uint32_t got;
        g_t.ops->read_virtual(g_t.ctx, base + unwind, u, sizeof(u), &got);
        bool all = chain > 0 || off - begin >= u[1];
        for (int i = 0; i < u[2];) {
            uint8_t at = u[4 + 2 * i], op = u[5 + 2 * i] & 15, info = u[5 + 2 * i] >> 4;
            bool in = all || at <= off - begin;
            int slots = op == 1              ? (info ? 3 : 2)
                        : op == 4 || op == 8 ? 2
                        : op == 5 || op == 9 ? 3
                                             : 1;
            if (in && op == 0)
                s->size += 8;
            if (in && op == 1)
                s->size += info ? kd_le32(u + 6 + 2 * i) : kd_le16(u + 6 + 2 * i) * 8u;
            if (in && op == 2)
                s->size += info * 8u + 8;
            if (in && op == 10)
                mf = info;
            i += slots;
        }
        if (!(u[0] >> 3 & 4))
            break;
        unwind = kd_le32(u + 4 + 2 * ((u[2] + 1) & ~1) + 8);
    }
    if (mf >= 0) {
        uint64_t m = sp + s->size + 8u * (unsigned)mf;
        s->ret = rd64(m);
        s->caller_sp = rd64(m + 0x18);
    } else {
        s->ret = rd64(sp + s->size);
        s->caller_sp = sp + s->size + 8;
    }
    return 0;
}

/* Walks from (rip, sp) against frames[n] (innermost last, as laid); returns
 * how many frames agreed exactly. */
static size_t walk_against(uint64_t rip, uint64_t sp, const struct sim_frame *f, size_t n)
{
    size_t ok = 0;
    for (size_t i = n; i-- > 0;) {
        struct step s;
        if (f[i].sp != sp || f[i].rip != rip || unwind_step(rip, sp, &s) != 0)
            break;
        if (s.size != f[i].size || s.ret != f[i].ret || s.caller_sp != f[i].caller_sp)
            break;
        ok++;
        rip = s.ret;
        sp = s.caller_sp;
    }
    return ok;
}

/* ---- helpers ------------------------------------------------------------------------ */

static struct sim_target *make(const char *scenario, uint64_t seed, uint16_t cpus, bool strict)
{
    struct sim_target_config cfg = {.scenario = {scenario, seed, 64, cpus}, .strict_int3 = strict};
    struct sim_target *t = NULL;
    if (sim_target_new(&cfg, &t) != KD_OK)
        return NULL;
    g_t = sim_target_target(t);
    struct kd_state_change sc;
    g_t.ops->break_in(g_t.ctx);
    if (g_t.ops->wait_event(g_t.ctx, 0, &sc) != KD_OK) {
        sim_target_free(t);
        return NULL;
    }
    return t;
}

static int wait_stop(struct kd_state_change *sc)
{
    return g_t.ops->wait_event(g_t.ctx, 100000, sc);
}

static void context(uint16_t cpu, uint64_t *rip, uint64_t *rsp, uint64_t *rcx)
{
    uint8_t c[0x4D0];
    uint32_t got;
    g_t.ops->get_context(g_t.ctx, cpu, c, sizeof(c), &got);
    *rip = kd_le64(c + 0xF8);
    *rsp = kd_le64(c + 0x98);
    if (rcx)
        *rcx = kd_le64(c + 0x80);
}

static uint64_t double_fault_handler(void)
{
    uint8_t sr[0xF0];
    uint32_t got;
    g_t.ops->read_control(g_t.ctx, 0, 2, sr, sizeof(sr), &got);
    uint64_t g = kd_le64(sr + 0x68) + 8 * 16;
    return (uint64_t)(uint16_t)rd64(g) | (rd64(g + 6) & 0xFFFF) << 16 | (uint64_t)rd32(g + 8) << 32;
}

/* The truth's JSON as text. */
static char *truth_json(struct sim_target *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct sim_scenario *s = sim_target_scenario(t);
    if (f) {
        sim_truth_write(sim_scenario_truth(s), sim_scenario_kernel(s), f);
        fclose(f);
    }
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static size_t frames_of(const struct sim_kernel *k, uint32_t t, const char *mod, const char *fn)
{
    size_t n = 0;
    const struct sim_stack *st = &k->threads[t].stack;
    for (size_t i = 0; i < st->n; i++) {
        const struct sim_fn *f = &k->im.fns[st->f[i].fn];
        n += strcmp(k->im.mods[f->module].name, mod) == 0 && (!fn || strcmp(f->name, fn) == 0);
    }
    return n;
}

/* ---- scenarios ---------------------------------------------------------------------- */

static void test_doublefault_sequence(void)
{
    struct sim_target *t = make("doublefault-recursion", 3, 2, false);
    CHECK(t != NULL);
    if (!t)
        return;
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(t));
    const struct sim_truth *tr = sim_scenario_truth(sim_target_scenario(t));
    uint64_t df = double_fault_handler(), kbe = sim_images_addr(&k->im, "nt", "KeBugCheckEx");
    CHECK_EQ(df, sim_images_addr(&k->im, "nt", "KiDoubleFaultAbort"));
    uint32_t h_df, h_kbe;
    CHECK_EQ(g_t.ops->write_breakpoint(g_t.ctx, df, &h_df), KD_OK);
    CHECK_EQ(g_t.ops->write_breakpoint(g_t.ctx, kbe, &h_kbe), KD_OK);
    struct kd_state_change sc;
    uint64_t rip, rsp, rcx;
    /* 1: KiDoubleFaultAbort on IST 1, the CPU's machine frame on top. */
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    CHECK_EQ(wait_stop(&sc), KD_OK);
    CHECK_EQ(sc.program_counter, df);
    CHECK_EQ(sc.processor, 0);
    context(0, &rip, &rsp, NULL);
    CHECK_EQ(rip, df);
    const struct sim_thread *v = &k->threads[tr->crash_thread];
    CHECK_EQ(sc.thread, v->ethread);
    CHECK_EQ(rd64(rsp), 0); /* error code */
    CHECK_EQ(rd64(rsp + 8), tr->fault_rip);
    CHECK_EQ(rd64(rsp + 0x10), 0x10); /* CS */
    CHECK_EQ(rd64(rsp + 0x20), tr->fault_rsp);
    CHECK_EQ(rd64(rsp + 0x28), 0x18); /* SS */
    CHECK(tr->fault_rsp < v->stack_limit);
    CHECK_EQ(rd64(v->ethread + 0x30), v->stack_limit);
    CHECK(rsp + 0x30 == k->cpu[0].ist_top[1]);
    /* The overflowed thread stack unwinds from the machine frame to its start. */
    size_t n = v->stack.n;
    CHECK_EQ(walk_against(rip, rsp, v->stack.f, n), n);
    CHECK(frames_of(k, tr->crash_thread, "rosempio", NULL) >= 7 * 10);
    const struct sim_fn *ff = &k->im.fns[tr->fault_fn];
    CHECK_STR(ff->name, "Ql2xBuildIocb");
    /* 2: KeBugCheckEx(0x7F, 8, ...) entered from KiBugCheckDispatch. */
    CHECK_EQ(g_t.ops->restore_breakpoint(g_t.ctx, h_df), KD_OK);
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    CHECK_EQ(wait_stop(&sc), KD_OK);
    CHECK_EQ(sc.program_counter, kbe);
    context(0, &rip, &rsp, &rcx);
    CHECK_EQ(rcx, 0x7F);
    CHECK_EQ(rd64(rsp + 0x28), tr->fault_rip); /* Arg4 on the stack */
    CHECK(sim_images_fn_at(&k->im, rd64(rsp)) ==
          &k->im.fns[sim_kernel_fn(k, "nt", "KiBugCheckDispatch")]);
    CHECK_EQ(walk_against(rip, rsp, v->stack.f, v->stack.n), v->stack.n);
    /* 3: the kernel's own break, after DEBUG_IO. */
    CHECK_EQ(g_t.ops->restore_breakpoint(g_t.ctx, h_kbe), KD_OK);
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    CHECK_EQ(wait_stop(&sc), KD_OK);
    CHECK_EQ(sc.program_counter, k->breakpoint_with_status);
    CHECK_EQ(sc.u.exception.code, STATUS_BREAKPOINT);
    char print[512];
    CHECK(sim_target_take_print(t, print, sizeof(print)) > 0);
    CHECK(strstr(print, "*** Fatal System Error: 0x0000007f") != NULL);
    context(0, &rip, &rsp, &rcx);
    CHECK_EQ(rcx, 3); /* DBG_STATUS_BUGCHECK_FIRST */
    CHECK_EQ(walk_against(rip, rsp, v->stack.f, v->stack.n), v->stack.n);
    CHECK_EQ(rd64(k->bugcheck_data), 0x7F);
    CHECK_EQ(rd64(k->bugcheck_data + 8), 8);
    CHECK_EQ(rd64(k->bugcheck_data + 32), tr->fault_rip);
    /* SavedContext: captured inside KeBugCheckEx. */
    CHECK(sim_images_fn_at(&k->im, rd64(rd64(k->kdbg + 0x28) + 0xF8)) ==
          &k->im.fns[sim_kernel_fn(k, "nt", "KeBugCheckEx")]);
    /* The truth as JSON says the same. */
    char *json = truth_json(t);
    CHECK(json && strstr(json, "\"fault_function\": \"ql2300!Ql2xBuildIocb\""));
    CHECK(json && strstr(json, "\"code\": \"0x7f\""));
    CHECK_EQ(count(json, "\"caller_sp\""), v->stack.n);
    CHECK_EQ(count(json, "\"kind\": \"breakpoint\""), 2);
    free(json);
    /* Continued past the break, the machine is dead; nothing of ours stays. */
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    CHECK_EQ(g_t.ops->wait_event(g_t.ctx, 1000, &sc), KD_ERR_TIMEOUT);
    CHECK(sim_scenario_halted(sim_target_scenario(t)));
    CHECK_EQ(sim_mem_bp_list(k->mem, NULL, 0), 0);
    sim_target_free(t);
}

static void test_minifilter_without_breakpoints(void)
{
    struct sim_target *t = make("minifilter-reentrancy", 1, 2, false);
    CHECK(t != NULL);
    if (!t)
        return;
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(t));
    const struct sim_truth *tr = sim_scenario_truth(sim_target_scenario(t));
    struct kd_state_change sc;
    uint64_t rip, rsp, rcx;
    /* No breakpoint armed: the first stop is the bugcheck break. */
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    CHECK_EQ(wait_stop(&sc), KD_OK);
    CHECK_EQ(sc.program_counter, k->breakpoint_with_status);
    CHECK(tr->double_fault);
    const struct sim_thread *v = &k->threads[tr->crash_thread];
    CHECK_STR(k->procs[v->process].name, "RtBackup.exe");
    context(0, &rip, &rsp, &rcx);
    CHECK_EQ(walk_against(rip, rsp, v->stack.f, v->stack.n), v->stack.n);
    /* The re-entrant path of seed 001. */
    CHECK_EQ(frames_of(k, tr->crash_thread, "MyDrv", "PreCreate"), 1);
    CHECK_EQ(frames_of(k, tr->crash_thread, "MyDrv", "PreWrite"), 1);
    CHECK_EQ(frames_of(k, tr->crash_thread, "FLTMGR", "FltpPerformPreCallbacks"), 3);
    CHECK_EQ(frames_of(k, tr->crash_thread, "nt", "KiSystemServiceCopyEnd"), 2);
    CHECK_EQ(frames_of(k, tr->crash_thread, "nt", "KiServiceLinkage"), 1);
    CHECK_EQ(frames_of(k, tr->crash_thread, "nt", "IoSynchronousPageWrite"), 1);
    /* The fault comes after FltSendMessage, past StackLimit. */
    size_t send = 0, fault = 0;
    for (size_t i = 0; i < v->stack.n; i++) {
        const struct sim_fn *f = &k->im.fns[v->stack.f[i].fn];
        if (strcmp(f->name, "FltSendMessage") == 0)
            send = i;
        if (v->stack.f[i].rip == tr->fault_rip && v->stack.f[i].sp == tr->fault_rsp)
            fault = i;
    }
    CHECK(send > 0 && fault > send);
    CHECK(tr->fault_rsp < v->stack_limit);
    /* The outermost frame returns to user mode through the system call's trap frame. */
    CHECK(v->stack.f[0].ret < 0x0000800000000000ull && v->stack.f[0].ret != 0);
    CHECK_EQ(v->stack.f[0].sp + v->stack.f[0].size + 0x28, v->initial_stack);
    sim_target_free(t);
}

static void test_bugcheck_shallow(void)
{
    struct sim_target *t = make("bugcheck", 2, 2, false);
    CHECK(t != NULL);
    if (!t)
        return;
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(t));
    const struct sim_truth *tr = sim_scenario_truth(sim_target_scenario(t));
    uint32_t h;
    CHECK_EQ(g_t.ops->write_breakpoint(g_t.ctx, sim_images_addr(&k->im, "nt", "KeBugCheckEx"), &h),
             KD_OK);
    struct kd_state_change sc;
    uint64_t rip, rsp, rcx;
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    CHECK_EQ(wait_stop(&sc), KD_OK);
    context(0, &rip, &rsp, &rcx);
    CHECK_EQ(rcx, 0xD1);
    CHECK(!tr->double_fault);
    const struct sim_thread *v = &k->threads[tr->crash_thread];
    CHECK(v->stack.n < 10);
    CHECK_EQ(walk_against(rip, rsp, v->stack.f, v->stack.n), v->stack.n);
    CHECK_EQ(v->stack.f[0].ret, 0); /* KiStartSystemThread: the end */
    /* Left in memory, the breakpoint stops the CPU there again. */
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    CHECK_EQ(wait_stop(&sc), KD_OK);
    CHECK_EQ(sc.program_counter, sim_images_addr(&k->im, "nt", "KeBugCheckEx"));
    CHECK_EQ(g_t.ops->restore_breakpoint(g_t.ctx, h), KD_OK);
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    CHECK_EQ(wait_stop(&sc), KD_OK);
    CHECK_EQ(sc.program_counter, k->breakpoint_with_status);
    CHECK_EQ(rd64(k->bugcheck_data), 0xD1);
    sim_target_free(t);
}

/* Every thread's frames, walked from what a debugger has: KernelStack of a
 * switched-out thread (its KSWITCH_FRAME), the CONTEXT of a running one. */
static void check_all_threads(const struct sim_kernel *k)
{
    for (uint32_t i = 0; i < k->nthreads; i++) {
        const struct sim_thread *th = &k->threads[i];
        uint64_t rip, sp;
        if (th->cpu >= 0) {
            context((uint16_t)th->cpu, &rip, &sp, NULL);
        } else if (th->stack.n &&
                   strcmp(k->im.fns[th->stack.f[th->stack.n - 1].fn].name, "KiSwapContext") == 0) {
            uint64_t ks = rd64(th->ethread + 0x58);
            rip = rd64(ks + SIM_KSWITCH_FRAME_RETURN);
            sp = ks + SIM_KSWITCH_FRAME_SIZE;
        } else {
            continue; /* an idle thread that is not running */
        }
        size_t ok = walk_against(rip, sp, th->stack.f, th->stack.n);
        CHECK_EQ(ok, th->stack.n);
        if (ok != th->stack.n)
            return;
    }
}

static void test_stress_all_threads_and_usage(void)
{
    struct sim_target *t = make("stress", 9, 3, false);
    CHECK(t != NULL);
    if (!t)
        return;
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(t));
    check_all_threads(k);
    struct kd_state_change sc;
    for (int i = 0; i < 6; i++) {
        CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
        CHECK_EQ(g_t.ops->wait_event(g_t.ctx, 16 * 50, &sc), KD_ERR_TIMEOUT);
        CHECK_EQ(g_t.ops->break_in(g_t.ctx), KD_OK);
        CHECK_EQ(g_t.ops->wait_event(g_t.ctx, 0, &sc), KD_OK);
        check_all_threads(k);
    }
    /* Usage per tick: some worker close to its limit, none past it. */
    const struct sim_truth *tr = sim_scenario_truth(sim_target_scenario(t));
    CHECK(tr->nrows > 300);
    uint64_t closest = UINT64_MAX;
    for (size_t r = 0; r < tr->nrows; r++)
        for (uint32_t i = 0; i < tr->nthreads; i++) {
            const struct sim_thread *th = &k->threads[i];
            uint64_t room = th->initial_stack - th->stack_limit - tr->usage[r * tr->nthreads + i];
            closest = room < closest ? room : closest;
        }
    CHECK(closest < 0x800 && closest > 0);
    CHECK(!tr->crashed);
    /* The last row is what memory says now. */
    for (uint32_t i = 0; i < tr->nthreads; i++)
        if (k->threads[i].cpu < 0)
            CHECK_EQ(tr->usage[(tr->nrows - 1) * tr->nthreads + i],
                     k->threads[i].initial_stack - rd64(k->threads[i].ethread + 0x58));
    sim_target_free(t);
}

static void test_idle_threads_walk(void)
{
    struct sim_target *t = make("idle", 4, 2, false);
    CHECK(t != NULL);
    if (!t)
        return;
    check_all_threads(sim_scenario_kernel(sim_target_scenario(t)));
    sim_target_free(t);
}

static void test_strict_int3(void)
{
    struct sim_target *t = make("idle", 1, 2, true);
    CHECK(t != NULL);
    if (!t)
        return;
    struct kd_state_change sc;
    uint64_t rip, rsp;
    /* Not stepped over: the hard-coded int3 stops the CPU again at once. */
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    CHECK_EQ(g_t.ops->wait_event(g_t.ctx, 0, &sc), KD_OK);
    CHECK_EQ(sc.u.exception.address,
             sim_scenario_kernel(sim_target_scenario(t))->breakpoint_with_status);
    /* SetContext(Rip + 1), as WinDbg does, lets it run. */
    context(1, &rip, &rsp, NULL);
    uint8_t b[8];
    kd_put64(b, rip + 1);
    CHECK_EQ(sim_target_set_context(t, 1, 0xF8, b, 8), KD_OK);
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    CHECK_EQ(g_t.ops->wait_event(g_t.ctx, 160, &sc), KD_ERR_TIMEOUT);
    CHECK_EQ(sim_target_set_context(t, 1, 0x4D0, b, 8), KD_ERR_STATE); /* running */
    sim_target_free(t);
}

static char *run_to_end(const char *scenario, uint64_t seed)
{
    struct sim_target *t = make(scenario, seed, 2, false);
    if (!t)
        return NULL;
    struct kd_state_change sc;
    g_t.ops->resume(g_t.ctx, DBG_CONTINUE);
    wait_stop(&sc);
    char *json = truth_json(t);
    sim_target_free(t);
    return json;
}

static void test_determinism(void)
{
    char *a = run_to_end("doublefault-recursion", 11), *b = run_to_end("doublefault-recursion", 11);
    char *c = run_to_end("doublefault-recursion", 12);
    CHECK(a && b && c);
    CHECK(a && b && strcmp(a, b) == 0);
    CHECK(a && c && strcmp(a, c) != 0);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    RUN(test_doublefault_sequence);
    RUN(test_minifilter_without_breakpoints);
    RUN(test_bugcheck_shallow);
    RUN(test_stress_all_threads_and_usage);
    RUN(test_idle_threads_walk);
    RUN(test_strict_int3);
    RUN(test_determinism);
    return check_summary("test_kdsim_scenario");
}
