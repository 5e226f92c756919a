/* sim_stack.c: laying frames by the images' unwind info (kd-protocol.md §8.3). */
#include "sim_stack.h"

#include <stdlib.h>
#include <string.h>

#include "kd_status.h"
#include "sim_profile.h"

#define STEP_MAX 32
#define CALL_INSN_LEN 6 /* the marked call: ff 15 rel32 */
#define START_RET_GAP                                                                              \
    0x38                   /* return slot (0) of a system thread's first frame below InitialStack  \
                            */
#define MACHINE_FRAME 0x28 /* RIP, CS, RFLAGS, RSP, SS */

enum { OP_PUSH = 0, OP_ALLOC_LARGE = 1, OP_ALLOC_SMALL = 2, OP_MACHFRAME = 10 };

static int append(struct sim_stack *st, const struct sim_frame *f)
{
    if (st->n == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 32;
        struct sim_frame *n = realloc(st->f, ncap * sizeof(*n));
        if (!n)
            return KD_ERR_NOMEM;
        st->f = n;
        st->cap = ncap;
    }
    st->f[st->n++] = *f;
    return KD_OK;
}

static bool on_thread_stack(const struct sim_stack_env *env, uint64_t sp)
{
    return sp >= env->limit - 0x1000 && sp <= env->initial_stack;
}

/* The CPU's machine frame: [error code,] RIP, CS, RFLAGS, RSP, SS at mf. */
static int write_machine_frame(const struct sim_stack_env *env, uint64_t mf, bool errcode,
                               uint64_t rip, uint64_t rsp, bool user)
{
    uint64_t v[6];
    int n = 0;
    if (errcode)
        v[n++] = 0;
    v[n++] = rip;
    v[n++] = user ? SIM_SEL_R3_CODE : SIM_SEL_R0_CODE;
    v[n++] = SIM_RFLAGS_KERNEL;
    v[n++] = rsp;
    v[n++] = user ? SIM_SEL_R3_DATA : SIM_SEL_R0_DATA;
    for (int i = 0; i < n; i++)
        if (sim_mem_put64(env->mem, mf + 8u * (unsigned)i, v[i]) != KD_OK)
            return KD_ERR_TARGET;
    return KD_OK;
}

/* The caller's call instruction faulted pushing the return address. */
static int call_fault(struct sim_stack *st, const struct sim_stack_env *env,
                      struct sim_fault *fault)
{
    struct sim_frame *prev = &st->f[st->n - 1];
    prev->rip = env->im->fns[prev->fn].callsite - CALL_INSN_LEN;
    *fault = (struct sim_fault){prev->rip, prev->sp, prev->fn};
    return SIM_STACK_FAULTED;
}

int sim_stack_push(struct sim_stack *st, const struct sim_stack_env *env, struct sim_call c,
                   uint16_t pos, bool entry_only, struct sim_fault *fault)
{
    if (!st || !env || !fault || c.fn >= env->im->nfns)
        return KD_ERR_ARG;
    const struct sim_fn *fn = &env->im->fns[c.fn];
    const struct sim_frame *prev = st->n ? &st->f[st->n - 1] : NULL;
    struct sim_frame f = {.fn = c.fn, .via = c.via, .entry = true, .pos = pos, .rip = fn->addr};
    int st_code;
    switch (c.via) {
    case SIM_VIA_START:
        f.sp = env->initial_stack - START_RET_GAP;
        f.caller_sp = f.sp + 8;
        st_code = sim_mem_put64(env->mem, f.sp, 0);
        break;
    case SIM_VIA_USER:
        f.sp = env->initial_stack - MACHINE_FRAME;
        f.ret = env->user_rip;
        f.caller_sp = env->user_rsp;
        st_code = write_machine_frame(env, f.sp, false, f.ret, f.caller_sp, true);
        break;
    case SIM_VIA_CALL:
    case SIM_VIA_ZW:
        if (!prev || prev->entry || !env->im->fns[prev->fn].callsite)
            return KD_ERR_STATE;
        f.sp = prev->sp - 8;
        if (on_thread_stack(env, prev->sp) && f.sp < env->limit)
            return call_fault(st, env, fault);
        f.ret = prev->rip;
        f.caller_sp = prev->sp;
        if ((st_code = sim_mem_put64(env->mem, f.sp, f.ret)) != KD_OK)
            return st_code;
        if (c.via == SIM_VIA_ZW) {
            /* The Zw stub builds a machine frame returning through KiServiceLinkage. */
            struct sim_frame leaf = f;
            leaf.fn = env->fn_service_linkage;
            leaf.via = SIM_VIA_LEAF;
            leaf.entry = false;
            leaf.rip = env->im->fns[leaf.fn].addr;
            if ((st_code = append(st, &leaf)) != KD_OK)
                return st_code;
            f.sp = leaf.sp - 0x30;
            f.ret = leaf.rip;
            f.caller_sp = leaf.sp;
            st_code = write_machine_frame(env, f.sp, false, f.ret, f.caller_sp, false);
        }
        break;
    case SIM_VIA_INTERRUPT:
    case SIM_VIA_IST1:
        if (!prev)
            return KD_ERR_STATE;
        f.ret = prev->rip;
        f.caller_sp = prev->sp;
        if (c.via == SIM_VIA_IST1)
            f.sp = (env->ist1_top & ~0xFull) - MACHINE_FRAME - 8;
        else
            f.sp = (prev->sp & ~0xFull) - MACHINE_FRAME;
        st_code = write_machine_frame(env, f.sp, c.via == SIM_VIA_IST1, f.ret, f.caller_sp, false);
        break;
    default: return KD_ERR_ARG;
    }
    if (st_code == KD_OK)
        st_code = append(st, &f);
    if (st_code != KD_OK || entry_only)
        return st_code;
    return sim_stack_complete(st, env, fault);
}

int sim_stack_complete(struct sim_stack *st, const struct sim_stack_env *env,
                       struct sim_fault *fault)
{
    if (!st || !st->n || !env || !fault)
        return KD_ERR_ARG;
    struct sim_frame *f = &st->f[st->n - 1];
    if (!f->entry)
        return KD_OK;
    const struct sim_fn *fn = &env->im->fns[f->fn];
    f->entry = false;
    if (!fn->unwind)
        return KD_OK; /* a leaf: no prolog, the return address stays at [sp] */
    struct sim_pe_step steps[STEP_MAX];
    size_t n;
    int rc = sim_pe_prolog(&env->im->mods[fn->module].pe, fn->unwind, steps, STEP_MAX, &n);
    if (rc != KD_OK)
        return rc;
    bool check = on_thread_stack(env, f->sp);
    uint64_t rsp = f->sp;
    uint32_t acc = 0, start = 0;
    for (size_t i = 0; i < n; i++) {
        bool touches = steps[i].op == OP_PUSH || (steps[i].op >= 4 && steps[i].op <= 9 &&
                                                  steps[i].op != 6 && steps[i].op != 7);
        uint64_t after = rsp - steps[i].size;
        if (check && touches && after < env->limit) {
            f->sp = rsp;
            f->size = acc;
            f->rip = fn->addr + start;
            *fault = (struct sim_fault){f->rip, rsp, f->fn};
            return SIM_STACK_FAULTED;
        }
        if (steps[i].op != OP_MACHFRAME) {
            rsp = after;
            acc += steps[i].size;
        }
        start = steps[i].end;
    }
    f->sp = rsp;
    f->size = acc;
    if (check && rsp < env->limit) {
        /* The allocation itself touches nothing; the body's first store faults. */
        f->rip = fn->addr + fn->full.prolog;
        *fault = (struct sim_fault){f->rip, rsp, f->fn};
        return SIM_STACK_FAULTED;
    }
    f->rip = fn->callsite ? fn->callsite : fn->addr + fn->full.prolog;
    return KD_OK;
}

void sim_stack_pop_to(struct sim_stack *st, uint16_t pos)
{
    while (st && st->n && st->f[st->n - 1].pos >= pos)
        st->n--;
}

const struct sim_frame *sim_stack_top(const struct sim_stack *st)
{
    return st && st->n ? &st->f[st->n - 1] : NULL;
}

void sim_stack_fini(struct sim_stack *st)
{
    if (!st)
        return;
    free(st->f);
    memset(st, 0, sizeof(*st));
}
