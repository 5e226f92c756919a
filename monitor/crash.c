/* crash.c: turns the three crash stops of an x64 target into one record.
 * Which stop we are in is the caller's knowledge (it set the breakpoints);
 * here we only read the stopped target and unwind. */
#include "crash.h"

#include <string.h>

#include "kd_le.h"
#include "kd_status.h"
#include "unwind_x64.h"

#define KGDT64_R0_CODE 0x10
#define KGDT64_R0_DATA 0x18
#define CTL_KPRCB 1   /* ReadControlSpace selector: pointer to the KPRCB */
#define CTL_KTHREAD 3 /* ... pointer to the current KTHREAD */

int crash_record_init(struct crash_record *r)
{
    memset(r, 0, sizeof *r);
    return unwind_trace_init(&r->trace, 0);
}

void crash_record_fini(struct crash_record *r)
{
    if (!r)
        return;
    unwind_trace_fini(&r->trace);
    memset(r, 0, sizeof *r);
}

int crash_record_is_double_fault(const struct crash_record *r)
{
    return r->have_code && r->code == CRASH_DOUBLE_FAULT_CODE && r->args[0] == 8;
}

/* A later stop's frame list never replaces an earlier, better one: the
 * double fault sees the overflowed stack first-hand. */
static int rank(uint32_t stop)
{
    return stop == CRASH_SEEN_DOUBLE_FAULT ? 3 : stop == CRASH_SEEN_KEBUGCHECKEX ? 2 : stop ? 1 : 0;
}

static int read_exact(const struct crash_env *env, uint64_t addr, uint8_t *buf, uint32_t len)
{
    uint32_t got = 0;
    int rc = env->target->ops->read_virtual(env->target->ctx, addr, buf, len, &got);
    return rc != KD_OK ? rc : got == len ? KD_OK : KD_ERR_TARGET;
}

static int read_u64(const struct crash_env *env, uint64_t addr, uint64_t *v)
{
    uint8_t b[8];
    int rc = read_exact(env, addr, b, 8);
    if (rc == KD_OK)
        *v = kd_le64(b);
    return rc;
}

static int control_u64(const struct crash_env *env, uint64_t selector, uint64_t *v)
{
    uint8_t b[8];
    uint32_t got = 0;
    if (!env->target->ops->read_control)
        return KD_ERR_UNSUPPORTED;
    int rc = env->target->ops->read_control(env->target->ctx, env->cpu, selector, b, 8, &got);
    if (rc == KD_OK && got != 8)
        rc = KD_ERR_TARGET;
    if (rc == KD_OK)
        *v = kd_le64(b);
    return rc;
}

static int get_regs(const struct crash_env *env, struct unwind_x64_regs *regs)
{
    uint8_t ctx[UNWIND_X64_CONTEXT_SIZE];
    uint32_t got = 0;
    if (!env->target->ops->get_context)
        return KD_ERR_UNSUPPORTED;
    int rc = env->target->ops->get_context(env->target->ctx, env->cpu, ctx, sizeof ctx, &got);
    if (rc != KD_OK)
        return rc;
    return unwind_x64_regs_from_context(ctx, got < sizeof ctx ? got : sizeof ctx, regs);
}

/* The current thread and its stack bounds, once per record. Failures leave
 * them unknown: the walk then runs without stack bounds. */
static void find_thread(struct crash_record *r, const struct crash_env *env)
{
    if (!r->thread && control_u64(env, CTL_KTHREAD, &r->thread) != KD_OK) {
        uint64_t prcb = 0;
        uint32_t off = env->prcb_current_thread ? env->prcb_current_thread : 8;
        r->thread = 0;
        if (control_u64(env, CTL_KPRCB, &prcb) != KD_OK || !prcb ||
            read_u64(env, prcb + off, &r->thread) != KD_OK)
            r->thread = 0;
    }
    if (r->stack_base)
        return;
    uint64_t lo = env->stack_limit, hi = env->stack_base;
    if ((!lo || !hi) && r->thread && env->kthread_stack_limit && env->kthread_stack_base &&
        (read_u64(env, r->thread + env->kthread_stack_limit, &lo) != KD_OK ||
         read_u64(env, r->thread + env->kthread_stack_base, &hi) != KD_OK))
        lo = hi = 0;
    if (lo && hi && lo < hi) {
        r->stack_limit = lo;
        r->stack_base = hi;
    }
}

static void walk_params(const struct crash_record *r, const struct crash_env *env,
                        struct unwind_params *p)
{
    unwind_params_init(p, env->target, env->lookup);
    if (r->stack_base)
        unwind_params_add_stack(p, r->stack_limit, r->stack_base);
    if (env->ist_base && env->ist_limit < env->ist_base)
        unwind_params_add_stack(p, env->ist_limit, env->ist_base);
}

static int canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

int crash_on_double_fault(struct crash_record *r, const struct crash_env *env)
{
    struct unwind_x64_regs regs;
    uint8_t hw[0x30];
    if (!r || !env || !env->target || !env->target->ops)
        return KD_ERR_ARG;
    r->seen |= CRASH_SEEN_DOUBLE_FAULT;
    int rc = get_regs(env, &regs);
    if (rc != KD_OK)
        return rc;
    uint64_t ist = regs.gpr[UNWIND_X64_RSP], handler = regs.rip;
    r->ist_rsp = ist;
    /* What the CPU pushed on IST1: error code, RIP, CS, RFLAGS, RSP, SS. */
    if ((rc = read_exact(env, ist, hw, sizeof hw)) != KD_OK)
        return rc;
    uint64_t rip = kd_le64(hw + 8), cs = kd_le64(hw + 0x10), rsp = kd_le64(hw + 0x20);
    uint64_t ss = kd_le64(hw + 0x28);
    /* Kernel SS is 0x18, but long mode may leave it null in ring 0. */
    if (cs != KGDT64_R0_CODE || (ss != KGDT64_R0_DATA && ss != 0) || !canonical(rsp) ||
        !canonical(rip))
        return KD_ERR_FORMAT;
    r->have_fault = 1;
    r->fault_rip = rip;
    r->fault_rsp = rsp;
    find_thread(r, env);
    if (rank(r->trace_from) >= rank(CRASH_SEEN_DOUBLE_FAULT))
        return KD_OK;
    /* The handler entry still holds the faulting thread's other registers. */
    regs.gpr[UNWIND_X64_RSP] = rsp;
    regs.rip = rip;
    struct unwind_params p;
    walk_params(r, env, &p);
    p.max_frames = r->trace.cap - 1; /* room for the IST frame in front */
    if ((rc = unwind_x64_walk(&p, &regs, &r->trace)) != KD_OK)
        return rc;
    struct unwind_trace *t = &r->trace;
    memmove(t->frames + 1, t->frames, t->count * sizeof *t->frames);
    memset(t->frames, 0, sizeof *t->frames);
    t->frames[0].sp = ist;
    t->frames[0].pc = handler;
    t->frames[0].ret = rip;
    t->frames[0].flags = UNWIND_FRAME_MACHINE | UNWIND_FRAME_SWITCH;
    t->count++;
    r->trace_from = CRASH_SEEN_DOUBLE_FAULT;
    return KD_OK;
}

/* The faulting state seen through the trace: the frame after the first
 * machine-frame stack switch (KiDoubleFaultAbort's trap frame). */
static void fault_from_trace(struct crash_record *r)
{
    const struct unwind_trace *t = &r->trace;
    for (uint32_t i = 0; i + 1 < t->count && !r->have_fault; i++) {
        uint32_t want = UNWIND_FRAME_MACHINE | UNWIND_FRAME_SWITCH;
        if ((t->frames[i].flags & want) == want) {
            r->have_fault = 1;
            r->fault_rip = t->frames[i + 1].pc;
            r->fault_rsp = t->frames[i + 1].sp;
        }
    }
}

static int walk_from(struct crash_record *r, const struct crash_env *env, uint32_t stop,
                     const struct unwind_x64_regs *regs)
{
    if (rank(r->trace_from) >= rank(stop))
        return KD_OK;
    struct unwind_params p;
    walk_params(r, env, &p);
    int rc = unwind_x64_walk(&p, regs, &r->trace);
    if (rc != KD_OK)
        return rc;
    r->trace_from = stop;
    if (crash_record_is_double_fault(r))
        fault_from_trace(r);
    return KD_OK;
}

int crash_on_kebugcheckex(struct crash_record *r, const struct crash_env *env)
{
    struct unwind_x64_regs regs;
    if (!r || !env || !env->target || !env->target->ops)
        return KD_ERR_ARG;
    r->seen |= CRASH_SEEN_KEBUGCHECKEX;
    int rc = get_regs(env, &regs);
    if (rc != KD_OK)
        return rc;
    /* x64 ABI at the first instruction: [RSP] return address, +8..+0x20 home slots. */
    uint64_t p4 = 0;
    rc = read_u64(env, regs.gpr[UNWIND_X64_RSP] + 0x28, &p4);
    r->have_code = 1;
    r->code = (uint32_t)regs.gpr[UNWIND_X64_RCX];
    r->args[0] = regs.gpr[UNWIND_X64_RDX];
    r->args[1] = regs.gpr[UNWIND_X64_R8];
    r->args[2] = regs.gpr[UNWIND_X64_R9];
    r->args[3] = p4;
    find_thread(r, env);
    int wrc = walk_from(r, env, CRASH_SEEN_KEBUGCHECKEX, &regs);
    return rc != KD_OK ? rc : wrc;
}

int crash_on_bugcheck_break(struct crash_record *r, const struct crash_env *env)
{
    struct unwind_x64_regs regs;
    uint8_t data[40];
    int rc = KD_OK;
    if (!r || !env || !env->target || !env->target->ops)
        return KD_ERR_ARG;
    r->seen |= CRASH_SEEN_BUGCHECK_BREAK;
    if (env->bugcheck_data) {
        /* The kernel's own copy is authoritative once it has been filled. */
        rc = read_exact(env, env->bugcheck_data, data, sizeof data);
        if (rc == KD_OK && kd_le64(data) != 0) { /* 0: not filled in (yet) */
            r->have_code = 1;
            r->code = (uint32_t)kd_le64(data);
            for (int i = 0; i < 4; i++)
                r->args[i] = kd_le64(data + 8 + 8 * i);
        }
    }
    int crc = get_regs(env, &regs);
    if (crc != KD_OK)
        return rc != KD_OK ? rc : crc;
    find_thread(r, env);
    crc = walk_from(r, env, CRASH_SEEN_BUGCHECK_BREAK, &regs);
    return rc != KD_OK ? rc : crc;
}
