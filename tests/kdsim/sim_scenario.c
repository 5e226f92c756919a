/* sim_scenario.c: ticks, frame-by-frame movement, stops and the crash
 * sequence (sim_scenario.h). */
#include "sim_scenario.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"
#include "sim_threads.h"
#include "sim_truth.h"
#include "sim_world.h"

#define RUN_OK 0
#define RUN_STOPPED 1
#define RUN_FAULTED 2
#define PRINT_MAX 1024

enum phase { PH_PLAN, PH_MOVE, PH_CRASH, PH_HALTED };

/* The crash sequence after the fault (or, for `bugcheck`, from CS_KBCX). */
enum crash_step { CS_DF, CS_KBD, CS_KBCX, CS_DATA, CS_KB2, CS_PRINT, CS_KBDB, CS_BREAK, CS_DONE };

struct sim_scenario {
    struct sim_kernel *k;
    struct sim_world *w;
    struct sim_truth truth;
    enum phase phase;
    uint64_t tick;
    size_t mover;       /* next mover of this tick */
    bool entry_pending; /* the pushing thread's top frame waits at its entry */
    enum crash_step crash_step;
    uint32_t victim;
    uint16_t vcpu;
    struct sim_regs bc_regs; /* KeBugCheckEx(code, p1, p2, p3) */
    uint64_t bc_p4;
    bool stopped, rereport;
    struct sim_event last;
    uint32_t breakin_thread;
    uint16_t breakin_pos;
    char print[PRINT_MAX];
    size_t nprint;
};

struct sim_kernel *sim_scenario_kernel(struct sim_scenario *s)
{
    return s ? s->k : NULL;
}
const struct sim_truth *sim_scenario_truth(const struct sim_scenario *s)
{
    return s ? &s->truth : NULL;
}
uint64_t sim_scenario_tick(const struct sim_scenario *s)
{
    return s ? s->tick : 0;
}
bool sim_scenario_stopped(const struct sim_scenario *s)
{
    return s && s->stopped;
}
bool sim_scenario_halted(const struct sim_scenario *s)
{
    return s && s->phase == PH_HALTED;
}

int sim_scenario_new(const struct sim_scenario_config *cfg, struct sim_scenario **out)
{
    if (!cfg || !out)
        return KD_ERR_ARG;
    *out = NULL;
    enum sim_world_kind kind;
    if (sim_world_kind_of(cfg->name, &kind) != KD_OK)
        return KD_ERR_NOTFOUND;
    struct sim_scenario *s = calloc(1, sizeof(*s));
    if (!s)
        return KD_ERR_NOMEM;
    int st = sim_kernel_new(cfg->cpus ? cfg->cpus : 2, &s->k);
    if (st == KD_OK)
        st = sim_world_new(s->k, kind, cfg->seed, cfg->threads ? cfg->threads : 256, &s->w);
    if (st == KD_OK)
        st = sim_truth_init(&s->truth, cfg->name, cfg->seed, (uint32_t)s->k->nthreads);
    if (st == KD_OK)
        st = sim_truth_tick(&s->truth, s->k);
    if (st != KD_OK) {
        sim_scenario_free(s);
        return st;
    }
    *out = s;
    return KD_OK;
}

void sim_scenario_free(struct sim_scenario *s)
{
    if (!s)
        return;
    sim_truth_fini(&s->truth);
    sim_world_free(s->w);
    sim_kernel_free(s->k);
    free(s);
}

/* Freezes every processor (CONTEXTs written) and reports a stop on cpu. */
static int stop(struct sim_scenario *s, uint16_t cpu, uint64_t pc, enum sim_stop why,
                const struct sim_regs *regs, struct sim_event *ev)
{
    for (uint16_t c = 0; c < s->k->ncpus; c++) {
        int st = sim_kernel_sync_cpu(s->k, c, c == cpu ? regs : NULL);
        if (st != KD_OK)
            return st;
    }
    *ev = (struct sim_event){.why = why,
                             .cpu = cpu,
                             .ncpus = s->k->ncpus,
                             .thread = s->k->threads[s->k->cpu[cpu].thread].ethread,
                             .pc = pc,
                             .code = SIM_STATUS_BREAKPOINT,
                             .first_chance = 1,
                             .nparams = 1,
                             .tick = s->tick};
    s->stopped = true;
    s->last = *ev;
    int st = sim_truth_event(&s->truth, ev);
    return st == KD_OK ? RUN_STOPPED : st;
}

/* Pushes c on thread t (running on cpu): its entry is reached first, and an
 * int3 there stops the machine; then its prolog runs. bugcheck_entry: it is
 * KeBugCheckEx (argument 5 on the stack, home slots spilled). */
static int push_checked(struct sim_scenario *s, uint32_t t, uint16_t cpu, struct sim_call c,
                        uint16_t pos, bool bugcheck_entry, enum sim_stop why, struct sim_event *ev,
                        struct sim_fault *fault)
{
    struct sim_kernel *k = s->k;
    struct sim_thread *th = &k->threads[t];
    struct sim_stack_env env;
    sim_threads_env(k, t, &env);
    const struct sim_regs *regs = bugcheck_entry ? &s->bc_regs : NULL;
    if (!s->entry_pending) {
        int st = sim_stack_push(&th->stack, &env, c, pos, true, fault);
        if (st != KD_OK)
            return st == SIM_STACK_FAULTED ? RUN_FAULTED : st;
        s->entry_pending = true;
        if (bugcheck_entry)
            sim_mem_put64(k->mem, sim_stack_top(&th->stack)->sp + 0x28, s->bc_p4);
    }
    const struct sim_frame *top = sim_stack_top(&th->stack);
    uint8_t b = 0;
    uint32_t got;
    sim_mem_read(k->mem, top->rip, &b, 1, &got);
    if (b == SIM_MEM_INT3)
        return stop(s, cpu, top->rip, why, regs, ev);
    s->entry_pending = false;
    uint64_t ret_slot = top->sp;
    int st = sim_stack_complete(&th->stack, &env, fault);
    if (st != KD_OK)
        return st == SIM_STACK_FAULTED ? RUN_FAULTED : st;
    if (bugcheck_entry) {
        const uint64_t home[4] = {regs->rcx, regs->rdx, regs->r8, regs->r9};
        for (int i = 0; i < 4; i++)
            sim_mem_put64(k->mem, ret_slot + 8 + 8 * (unsigned)i, home[i]);
    }
    return RUN_OK;
}

static void begin_crash(struct sim_scenario *s, uint32_t t, uint16_t cpu, bool df,
                        const struct sim_fault *fault)
{
    struct sim_truth *tr = &s->truth;
    s->victim = t;
    s->vcpu = cpu;
    s->phase = PH_CRASH;
    s->crash_step = df ? CS_DF : CS_KBCX;
    tr->crashed = true;
    tr->double_fault = df;
    tr->crash_tick = s->tick;
    tr->crash_thread = t;
    tr->crash_cpu = cpu;
    if (df) {
        tr->fault_rip = fault->rip;
        tr->fault_rsp = fault->rsp;
        tr->fault_fn = fault->fn;
        /* UNEXPECTED_KERNEL_MODE_TRAP (0x7F), EXCEPTION_DOUBLE_FAULT; Arg2/3 as on
         * Win7 (CR0, CR4), Arg4 the faulting RIP (kd-protocol.md §6.1). */
        s->bc_regs = (struct sim_regs){0x7F, 8, SIM_CR0, SIM_CR4};
        s->bc_p4 = fault->rip;
    } else {
        const struct sim_world *w = s->w;
        s->bc_regs = (struct sim_regs){w->bugcheck_code, w->bugcheck_args[0], w->bugcheck_args[1],
                                       w->bugcheck_args[2]};
        s->bc_p4 = w->bugcheck_args[3];
    }
}

static int move(struct sim_scenario *s, struct sim_mover *m, struct sim_event *ev)
{
    struct sim_thread *th = &s->k->threads[m->thread];
    if (!s->entry_pending && m->laid > m->target) {
        sim_stack_pop_to(&th->stack, (uint16_t)m->target);
        m->laid = m->target;
    }
    while (m->laid < m->target || s->entry_pending) {
        struct sim_call c;
        struct sim_fault fault;
        int st = sim_world_call(s->w, s->k, m, m->laid, &c);
        if (st != KD_OK)
            return st;
        st = push_checked(s, m->thread, m->cpu, c, (uint16_t)m->laid, false, SIM_STOP_BREAKPOINT,
                          ev, &fault);
        if (st == RUN_FAULTED) {
            begin_crash(s, m->thread, m->cpu, true, &fault);
            return RUN_FAULTED;
        }
        if (st != RUN_OK)
            return st;
        m->laid++;
    }
    return RUN_OK;
}

static void print_fatal(struct sim_scenario *s)
{
    int n = snprintf(s->print + s->nprint, PRINT_MAX - s->nprint,
                     "\n*** Fatal System Error: 0x%08" PRIx64 "\n                       "
                     "(0x%016" PRIX64 ",0x%016" PRIX64 ",0x%016" PRIX64 ",0x%016" PRIX64 ")\n\n",
                     s->bc_regs.rcx, s->bc_regs.rdx, s->bc_regs.r8, s->bc_regs.r9, s->bc_p4);
    if (n > 0)
        s->nprint += (size_t)n < PRINT_MAX - s->nprint ? (size_t)n : PRINT_MAX - 1 - s->nprint;
}

/* KiBugCheckData and the context KDBG.SavedContext points at. */
static int bugcheck_data(struct sim_scenario *s)
{
    struct sim_kernel *k = s->k;
    uint64_t v[5] = {s->bc_regs.rcx, s->bc_regs.rdx, s->bc_regs.r8, s->bc_regs.r9, s->bc_p4};
    for (int i = 0; i < 5; i++)
        sim_mem_put64(k->mem, k->bugcheck_data + 8 * (unsigned)i, v[i]);
    int st = sim_kernel_sync_cpu(k, s->vcpu, &s->bc_regs);
    uint8_t *from = sim_mem_ptr(k->mem, sim_kernel_context_addr(k, s->vcpu), SIM_CONTEXT_SIZE);
    uint8_t *to = sim_mem_ptr(k->mem, k->bugcheck_context, SIM_CONTEXT_SIZE);
    if (st != KD_OK || !from || !to)
        return st != KD_OK ? st : KD_ERR_STATE;
    memcpy(to, from, SIM_CONTEXT_SIZE);
    s->truth.bugcheck = true;
    s->truth.bugcheck_code = (uint32_t)s->bc_regs.rcx;
    const uint64_t args[4] = {s->bc_regs.rdx, s->bc_regs.r8, s->bc_regs.r9, s->bc_p4};
    memcpy(s->truth.bugcheck_args, args, sizeof(args));
    return KD_OK;
}

static int crash_step(struct sim_scenario *s, struct sim_event *ev)
{
    struct sim_kernel *k = s->k;
    const struct sim_frame *top = sim_stack_top(&k->threads[s->victim].stack);
    uint16_t pos = (uint16_t)(top->pos + (s->entry_pending ? 0 : 1));
    struct sim_fault fault;
    struct sim_call c = {SIM_NO_FN, SIM_VIA_CALL};
    static const char *const fns[] = {
        [CS_DF] = "KiDoubleFaultAbort",     [CS_KBD] = "KiBugCheckDispatch",
        [CS_KBCX] = "KeBugCheckEx",         [CS_KB2] = "KeBugCheck2",
        [CS_KBDB] = "KiBugCheckDebugBreak", [CS_BREAK] = "DbgBreakPointWithStatus"};
    int st = RUN_OK;
    switch (s->crash_step) {
    case CS_DATA: st = bugcheck_data(s); break;
    case CS_PRINT: print_fatal(s); break;
    case CS_DONE: s->phase = PH_HALTED; return RUN_OK;
    default:
        c.fn = sim_kernel_fn(k, "nt", fns[s->crash_step]);
        c.via = s->crash_step == CS_DF ? SIM_VIA_IST1 : SIM_VIA_CALL;
        if (s->crash_step == CS_BREAK) {
            /* The hard-coded int3: always a stop, RCX = DBG_STATUS_BUGCHECK_FIRST. */
            st = push_checked(s, s->victim, s->vcpu, c, pos, false, SIM_STOP_BUGCHECK, ev, &fault);
            if (st == RUN_STOPPED) {
                struct sim_regs r = {SIM_DBG_STATUS_BUGCHECK_FIRST, 0, 0, 0};
                st = sim_kernel_sync_cpu(k, s->vcpu, &r);
                st = st == KD_OK ? RUN_STOPPED : st;
            }
            return st;
        }
        st = push_checked(s, s->victim, s->vcpu, c, pos, s->crash_step == CS_KBCX,
                          SIM_STOP_BREAKPOINT, ev, &fault);
        if (st == RUN_FAULTED)
            return KD_ERR_STATE; /* the IST and the bugcheck path never overflow */
    }
    if (st == RUN_OK)
        s->crash_step++;
    return st;
}

/* Runs until a stop, max_ticks whole ticks, or (stop_at_tick_end) the end of
 * the current tick. */
static int run(struct sim_scenario *s, uint32_t max_ticks, bool stop_at_tick_end,
               struct sim_event *ev, uint32_t *ran)
{
    for (;;) {
        int st = KD_OK;
        switch (s->phase) {
        case PH_HALTED: return 0;
        case PH_PLAN:
            if (*ran >= max_ticks || stop_at_tick_end)
                return 0;
            if ((st = sim_world_plan(s->w, s->k, s->tick)) != KD_OK)
                return st;
            if (s->w->bugcheck_now) {
                const struct sim_mover *m = &s->w->movers[s->w->victim];
                begin_crash(s, m->thread, m->cpu, false, NULL);
                break;
            }
            s->phase = PH_MOVE;
            s->mover = 0;
            break;
        case PH_MOVE:
            while (s->mover < s->w->nmovers && st == RUN_OK)
                if ((st = move(s, &s->w->movers[s->mover], ev)) == RUN_OK)
                    s->mover++;
            if (st == RUN_STOPPED || st < 0)
                return st;
            if (st == RUN_FAULTED)
                break;
            if ((st = sim_truth_tick(&s->truth, s->k)) != KD_OK)
                return st;
            s->tick++;
            (*ran)++;
            s->phase = PH_PLAN;
            if (stop_at_tick_end)
                return 0;
            break;
        case PH_CRASH:
            if ((st = crash_step(s, ev)) != RUN_OK)
                return st;
            break;
        }
    }
}

static int rereport(struct sim_scenario *s, struct sim_event *ev)
{
    s->rereport = false;
    s->stopped = true;
    *ev = s->last;
    ev->tick = s->tick;
    return sim_truth_event(&s->truth, ev) == KD_OK ? 1 : KD_ERR_NOMEM;
}

int sim_scenario_run(struct sim_scenario *s, uint32_t max_ticks, struct sim_event *ev,
                     uint32_t *ran)
{
    if (!s || !ev || !ran)
        return KD_ERR_ARG;
    *ran = 0;
    if (s->stopped)
        return KD_ERR_STATE;
    if (s->rereport)
        return rereport(s, ev);
    return run(s, max_ticks, false, ev, ran);
}

int sim_scenario_break_in(struct sim_scenario *s, struct sim_event *ev)
{
    if (!s || !ev)
        return KD_ERR_ARG;
    if (s->stopped || s->phase == PH_HALTED)
        return KD_ERR_STATE;
    if (s->rereport)
        return rereport(s, ev);
    /* The break is seen on the clock tick: finish this tick (or the crash). */
    uint32_t ran = 0;
    int st = KD_OK;
    if (s->phase == PH_MOVE)
        st = run(s, 1, true, ev, &ran);
    while (st == KD_OK && s->phase == PH_CRASH)
        st = run(s, 0, false, ev, &ran);
    if (st != KD_OK || s->phase == PH_HALTED)
        return st; /* 1: something else stopped first; 0: the machine is dead */
    struct sim_kernel *k = s->k;
    uint16_t cpu = (uint16_t)(k->ncpus - 1);
    uint32_t t = k->cpu[cpu].thread;
    struct sim_thread *th = &k->threads[t];
    struct sim_stack_env env;
    sim_threads_env(k, t, &env);
    static const char *const path[][2] = {
        {"nt", "KiInterruptDispatchNoLockNoEtw"}, {"hal", "HalpTimerClockInterrupt"},
        {"nt", "KeClockInterruptNotify"},         {"nt", "KeAccumulateTicks"},
        {"nt", "KdCheckForDebugBreak"},           {"nt", "DbgBreakPointWithStatus"}};
    s->breakin_thread = t;
    s->breakin_pos = (uint16_t)(sim_stack_top(&th->stack)->pos + 1);
    for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
        struct sim_call c = {sim_kernel_fn(k, path[i][0], path[i][1]),
                             i == 0 ? SIM_VIA_INTERRUPT : SIM_VIA_CALL};
        struct sim_fault fault;
        st = sim_stack_push(&th->stack, &env, c, (uint16_t)(s->breakin_pos + i), i == 5, &fault);
        if (st != KD_OK)
            return st == SIM_STACK_FAULTED ? KD_ERR_STATE : st;
    }
    struct sim_regs r = {SIM_DBG_STATUS_CONTROL_C, 0, 0, 0};
    st = stop(s, cpu, k->breakpoint_with_status, SIM_STOP_BREAKIN, &r, ev);
    return st == RUN_STOPPED ? 1 : st;
}

int sim_scenario_resume(struct sim_scenario *s)
{
    if (!s || !s->stopped)
        return KD_ERR_STATE;
    struct sim_kernel *k = s->k;
    s->stopped = false;
    uint64_t rip = sim_mem_get64(k->mem, sim_kernel_context_addr(k, s->last.cpu) + SIM_CONTEXT_RIP);
    uint8_t b = 0;
    uint32_t got;
    sim_mem_read(k->mem, rip, &b, 1, &got);
    bool at_int3 = rip == s->last.pc && b == SIM_MEM_INT3;
    switch (s->last.why) {
    case SIM_STOP_BREAKPOINT: break; /* the entry is checked again when the push continues */
    case SIM_STOP_BREAKIN:
        if (at_int3)
            s->rereport = true;
        else
            sim_stack_pop_to(&k->threads[s->breakin_thread].stack, s->breakin_pos);
        break;
    case SIM_STOP_BUGCHECK:
        if (at_int3)
            s->rereport = true;
        else
            s->phase = PH_HALTED;
        break;
    }
    return KD_OK;
}

size_t sim_scenario_take_print(struct sim_scenario *s, char *buf, size_t cap)
{
    if (!s || !buf || !cap)
        return 0;
    size_t n = s->nprint < cap - 1 ? s->nprint : cap - 1;
    memcpy(buf, s->print, n);
    buf[n] = 0;
    memmove(s->print, s->print + n, s->nprint - n);
    s->nprint -= n;
    return n;
}
