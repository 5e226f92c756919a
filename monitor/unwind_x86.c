/* unwind_x86.c: EBP-chain walk with scan recovery, and the TSS decode
 * that gives an x86 double fault its starting state. Internally 32-bit;
 * addresses are sign-extended on the way to the target and into frames. */
#include "unwind_x86.h"

#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"

static uint64_t sx(uint32_t v)
{
    return (uint64_t)(int64_t)(int32_t)v;
}

int unwind_x86_tss_decode(const uint8_t *b, size_t len, struct unwind_x86_tss *out)
{
    if (!b || !out || len < UNWIND_X86_TSS_SIZE)
        return KD_ERR_TRUNCATED;
    out->backlink = kd_le16(b);
    out->esp0 = kd_le32(b + 0x04);
    out->ss0 = kd_le32(b + 0x08);
    out->cr3 = kd_le32(b + 0x1C);
    out->eip = kd_le32(b + 0x20);
    out->eflags = kd_le32(b + 0x24);
    uint32_t *gpr[8] = {&out->eax, &out->ecx, &out->edx, &out->ebx,
                        &out->esp, &out->ebp, &out->esi, &out->edi};
    for (int i = 0; i < 8; i++)
        *gpr[i] = kd_le32(b + 0x28 + 4 * i);
    uint16_t *seg[7] = {&out->es, &out->cs, &out->ss, &out->ds, &out->fs, &out->gs, &out->ldt};
    for (int i = 0; i < 7; i++)
        *seg[i] = kd_le16(b + 0x48 + 4 * i);
    return KD_OK;
}

uint32_t unwind_x86_gdt_base(const uint8_t desc[8])
{
    return (uint32_t)kd_le16(desc + 2) | (uint32_t)desc[4] << 16 | (uint32_t)desc[7] << 24;
}

static int read_exact(const struct kd_target *t, uint32_t addr, uint8_t *buf, uint32_t len)
{
    uint32_t got = 0;
    if (!t || !t->ops || !t->ops->read_virtual)
        return KD_ERR_ARG;
    int rc = t->ops->read_virtual(t->ctx, sx(addr), buf, len, &got);
    return rc != KD_OK ? rc : got == len ? KD_OK : KD_ERR_TARGET;
}

int unwind_x86_read_tss(const struct kd_target *t, uint32_t gdt_base, uint16_t sel,
                        struct unwind_x86_tss *out)
{
    uint8_t d[8], b[UNWIND_X86_TSS_SIZE];
    if (sel < 8 || (sel & 4))
        return KD_ERR_ARG; /* the null selector, or one in an LDT */
    int rc = read_exact(t, gdt_base + (sel & ~7u), d, 8);
    if (rc != KD_OK)
        return rc;
    /* Present (0x80), system (S = 0), type 9 (available) or 0xB (busy). */
    if ((d[5] & 0x80) == 0 || (d[5] & 0x1D) != 0x09)
        return KD_ERR_FORMAT;
    rc = read_exact(t, unwind_x86_gdt_base(d), b, sizeof b);
    return rc != KD_OK ? rc : unwind_x86_tss_decode(b, sizeof b, out);
}

int unwind_x86_double_fault_state(const struct kd_target *t, uint32_t gdt_base, uint32_t kpcr,
                                  struct unwind_x86_tss *tss, struct unwind_x86_regs *regs)
{
    struct unwind_x86_tss df, s;
    int rc = KD_ERR_NOTFOUND;
    if (!regs)
        return KD_ERR_ARG;
    if (gdt_base) {
        /* The double-fault task's Backlink names the task that faulted. */
        uint16_t sel = UNWIND_X86_SEL_TSS;
        if (unwind_x86_read_tss(t, gdt_base, UNWIND_X86_SEL_DF_TSS, &df) == KD_OK &&
            df.backlink >= 8 && !(df.backlink & 4) && df.backlink != UNWIND_X86_SEL_DF_TSS)
            sel = df.backlink & ~3u;
        rc = unwind_x86_read_tss(t, gdt_base, sel, &s);
    }
    if (rc != KD_OK && kpcr) {
        uint8_t p[4], b[UNWIND_X86_TSS_SIZE];
        if ((rc = read_exact(t, kpcr + UNWIND_X86_KPCR_TSS, p, 4)) == KD_OK &&
            (rc = read_exact(t, kd_le32(p), b, sizeof b)) == KD_OK)
            rc = unwind_x86_tss_decode(b, sizeof b, &s);
    }
    if (rc != KD_OK)
        return rc;
    if (tss)
        *tss = s;
    regs->eip = s.eip;
    regs->esp = s.esp;
    regs->ebp = s.ebp;
    return KD_OK;
}

/* ---- the walk ------------------------------------------------------------ */

struct walker86 {
    const struct unwind_params *p;
    uint32_t lo, hi; /* the stack being walked: [lo, hi) */
    uint32_t bad;    /* the last address that failed to read */
    struct unwind_mem mem;
};

static int rd32(struct walker86 *w, uint32_t a, uint32_t *v)
{
    int rc = unwind_mem_u32(&w->mem, sx(a), v);
    if (rc != KD_OK)
        w->bad = a;
    return rc;
}

static int is_code(struct walker86 *w, uint32_t a)
{
    const struct unwind_lookup *l = w->p->lookup;
    if (a == 0 || sx(a) < w->p->kernel_start)
        return 0;
    return !l || !l->is_code || l->is_code(l->user, sx(a));
}

/* A saved-EBP slot must be aligned, inside the stack, with room for the return address. */
static int slot_ok(const struct walker86 *w, uint32_t ebp)
{
    return (ebp & 3) == 0 && ebp >= w->lo && ebp < w->hi && w->hi - ebp >= 8;
}

/* Does the chain continue sensibly from saved EBP e? One link of lookahead
 * keeps stale pairs of dead frames from passing as live ones. */
static int chain_continues(struct walker86 *w, uint32_t e)
{
    uint32_t e2, r2;
    if (rd32(w, e, &e2) != KD_OK || rd32(w, e + 4, &r2) != KD_OK)
        return 0;
    if (e2 == 0 || sx(r2) < w->p->kernel_start)
        return 1; /* the chain ends here, or at a trap frame from user mode */
    return e2 > e && slot_ok(w, e2) && is_code(w, r2);
}

/* First slot s >= from with [s] a saved EBP pointing higher and [s+4] a
 * return address into a module, right after a call (seed 002's recipe). */
static int scan(struct walker86 *w, uint32_t from, uint32_t *slot)
{
    const struct unwind_lookup *l = w->p->lookup;
    if (!l || !l->is_code)
        return 0;
    for (uint32_t s = (from + 3) & ~3u; s >= from && slot_ok(w, s); s += 4) {
        uint32_t e, r;
        if (rd32(w, s, &e) != KD_OK || rd32(w, s + 4, &r) != KD_OK) {
            if (w->mem.spent)
                return 0;
            continue;
        }
        if (e >= s + 8 && slot_ok(w, e) && is_code(w, r) && unwind_is_after_call(&w->mem, sx(r)) &&
            chain_continues(w, e)) {
            *slot = s;
            return 1;
        }
    }
    return 0;
}

static void stop86(struct unwind_trace *t, enum unwind_stop why, int status, uint64_t addr)
{
    t->stop = why;
    t->stop_status = status;
    t->stop_addr = addr;
}

int unwind_x86_walk(const struct unwind_params *p, const struct unwind_x86_regs *start,
                    struct unwind_trace *t)
{
    if (!p || !start || !t || !t->frames)
        return KD_ERR_ARG;
    unwind_trace_reset(t);
    struct walker86 *w = calloc(1, sizeof *w);
    if (!w)
        return KD_ERR_NOMEM;
    w->p = p;
    unwind_mem_init(&w->mem, p->target, p->max_reads);
    uint32_t max = p->max_frames && p->max_frames < t->cap ? p->max_frames : t->cap;
    uint32_t sp = start->esp, pc = start->eip, fp = start->ebp, carry = 0;
    int cur = unwind_params_stack_of(p, sx(sp));
    if (cur >= 0) {
        const struct unwind_stack *s = &p->stacks[cur];
        w->lo = (uint32_t)(s->limit > p->guard_slack ? s->limit - p->guard_slack : 0);
        w->hi = s->base > 0xFFFFFFFFu && (uint32_t)s->base == 0 ? 0xFFFFFFFCu : (uint32_t)s->base;
    } else { /* unknown stack: at most the largest x86 kernel stack above sp */
        w->lo = sp;
        w->hi = sp > 0xFFFFFFFFu - 0x10000 ? 0xFFFFFFFCu : sp + 0x10000;
    }
    for (;;) {
        if (t->count >= max) {
            stop86(t, UNWIND_STOP_MAX_FRAMES, KD_OK, sx(sp));
            break;
        }
        struct unwind_frame *f = &t->frames[t->count++];
        memset(f, 0, sizeof *f);
        f->sp = sx(sp);
        f->pc = sx(pc);
        f->fp = sx(fp);
        f->flags = carry;
        if (sp >= w->hi) {
            stop86(t, UNWIND_STOP_BASE, KD_OK, sx(sp));
            break;
        }
        if (t->count > 1 && fp == 0 && !carry) {
            stop86(t, UNWIND_STOP_ZERO_RET, KD_OK, 0); /* saved EBP 0: the chain's end */
            break;
        }
        carry = 0;
        uint32_t ret = 0, next = 0, s;
        if (slot_ok(w, fp) && fp >= sp) {
            if (rd32(w, fp + 4, &ret) != KD_OK || rd32(w, fp, &next) != KD_OK) {
                stop86(t, w->mem.spent ? UNWIND_STOP_BUDGET : UNWIND_STOP_READ, KD_ERR_TARGET,
                       sx(w->bad));
                break;
            }
            if (ret == 0 || sx(ret) < p->kernel_start) {
                f->ret = sx(ret);
                f->size = fp + 8 - sp;
                stop86(t, ret ? UNWIND_STOP_USER : UNWIND_STOP_ZERO_RET, KD_OK, sx(ret));
                break;
            }
            if (is_code(w, ret)) {
                f->ret = sx(ret);
                f->size = fp + 8 - sp;
                f->flags |= UNWIND_FRAME_EBP;
                pc = ret;
                sp = fp + 8;
                fp = next;
                continue;
            }
        }
        /* The chain is broken here (FPO code, a clobbered EBP): scan upward. */
        if (!scan(w, sp, &s)) {
            stop86(t, w->mem.spent ? UNWIND_STOP_BUDGET : UNWIND_STOP_NO_CALLER, KD_OK,
                   sx(ret ? ret : fp));
            break;
        }
        rd32(w, s, &next); /* both read fine during the scan (cached) */
        rd32(w, s + 4, &ret);
        f->ret = sx(ret);
        f->size = s + 8 - sp;
        pc = ret;
        sp = s + 8;
        fp = next;
        carry = UNWIND_FRAME_SCANNED;
    }
    t->reads = w->mem.reads;
    free(w);
    return KD_OK;
}
