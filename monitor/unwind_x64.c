/* unwind_x64.c: RtlVirtualUnwind over target memory, and the bounded walk
 * that strings its results into a frame list. A new unwind op is one case
 * in apply_codes() plus its slot count in op_slots(). */
#include "unwind_x64.h"

#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"

enum {
    UWOP_PUSH_NONVOL = 0,
    UWOP_ALLOC_LARGE = 1,
    UWOP_ALLOC_SMALL = 2,
    UWOP_SET_FPREG = 3,
    UWOP_SAVE_NONVOL = 4,
    UWOP_SAVE_NONVOL_FAR = 5,
    UWOP_EPILOG = 6, /* version 1: SAVE_XMM */
    UWOP_SPARE = 7,  /* version 1: SAVE_XMM_FAR */
    UWOP_SAVE_XMM128 = 8,
    UWOP_SAVE_XMM128_FAR = 9,
    UWOP_PUSH_MACHFRAME = 10,
};

#define UNW_FLAG_CHAININFO 4
#define MAX_CHAIN 32    /* chained/indirect hops before the data counts as a loop */
#define MAX_SEGMENTS 16 /* stack switches one walk may take */
#define ALL_CODES 0xFFFFFFFFu
#define FL_USER (1u << 31) /* internal: the machine frame returns to user mode */
/* RBX RSP RBP RSI RDI R12-R15 survive calls; the rest is unknown in a caller. */
#define NONVOLATILE 0xF0F8u
#define FP_MAX_GAP 0x20000u /* more than any kernel stack holds */
#define EPILOG_MAX 32u      /* code bytes read at an exact pc to recognise an epilog */

struct walker {
    const struct unwind_params *p;
    uint64_t bad_addr; /* the last address that failed to read */
    struct unwind_mem mem;
};

struct uinfo {
    uint8_t version, flags, prolog, count, freg, foff;
    uint8_t codes[512];
    uint32_t chain[3]; /* parent RUNTIME_FUNCTION when CHAININFO */
};

int unwind_x64_regs_from_context(const uint8_t *ctx, size_t len, struct unwind_x64_regs *out)
{
    if (!ctx || !out || len < 0x100)
        return KD_ERR_TRUNCATED;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 16; i++) /* Rax at 0x78 ... R15 at 0xF0 follow the unwind numbering */
        out->gpr[i] = kd_le64(ctx + 0x78 + 8 * i);
    out->rip = kd_le64(ctx + 0xF8);
    out->known = 0xFFFF;
    return KD_OK;
}

static int rd64(struct walker *w, uint64_t addr, uint64_t *v)
{
    int rc = unwind_mem_u64(&w->mem, addr, v);
    if (rc != KD_OK)
        w->bad_addr = addr;
    return rc;
}

/* Unwind data goes through the lookup's cache when it has one. */
static int rd_data(struct walker *w, uint64_t addr, uint8_t *buf, uint32_t len)
{
    const struct unwind_lookup *l = w->p->lookup;
    int rc;
    if (l && l->read) {
        uint32_t got = 0;
        rc = l->read(l->user, addr, buf, len, &got);
        if (rc == KD_OK && got != len)
            rc = KD_ERR_TARGET;
    } else {
        rc = unwind_mem_read(&w->mem, addr, buf, len);
    }
    if (rc != KD_OK)
        w->bad_addr = addr;
    return rc;
}

/* Follows indirect entries (UnwindData bit 0: it names another RUNTIME_FUNCTION). */
static int resolve_entry(struct walker *w, uint64_t base, uint32_t rf[3])
{
    for (int hop = 0; rf[2] & 1; hop++) {
        uint8_t b[12];
        if (hop == MAX_CHAIN || rd_data(w, base + (rf[2] & ~1u), b, 12) != KD_OK)
            return KD_ERR_FORMAT;
        rf[0] = kd_le32(b);
        rf[1] = kd_le32(b + 4);
        rf[2] = kd_le32(b + 8);
    }
    return KD_OK;
}

static int read_info(struct walker *w, uint64_t addr, struct uinfo *ui)
{
    uint8_t h[4];
    if (rd_data(w, addr, h, 4) != KD_OK)
        return KD_ERR_FORMAT;
    ui->version = h[0] & 7;
    ui->flags = h[0] >> 3;
    ui->prolog = h[1];
    ui->count = h[2];
    ui->freg = h[3] & 15;
    ui->foff = h[3] >> 4;
    if (ui->version != 1 && ui->version != 2)
        return KD_ERR_FORMAT;
    uint32_t slots = (ui->count + 1u) & ~1u; /* the chain entry sits after an even slot count */
    uint32_t n = (ui->flags & UNW_FLAG_CHAININFO) ? slots * 2 + 12 : ui->count * 2u;
    uint8_t buf[sizeof ui->codes + 12];
    if (n && rd_data(w, addr + 4, buf, n) != KD_OK)
        return KD_ERR_FORMAT;
    memcpy(ui->codes, buf, ui->count * 2u);
    if (ui->flags & UNW_FLAG_CHAININFO)
        for (int i = 0; i < 3; i++)
            ui->chain[i] = kd_le32(buf + slots * 2 + 4 * i);
    return KD_OK;
}

/* Slots one code takes; 0 for an op that cannot appear. Version 2 EPILOG
 * entries come one slot each (compilers pad their count to even, so the
 * two-slot reading of Windows' own table lands on the same next code). */
static uint32_t op_slots(uint8_t op, uint8_t info, uint8_t version)
{
    switch (op) {
    case UWOP_PUSH_NONVOL:
    case UWOP_ALLOC_SMALL:
    case UWOP_SET_FPREG:
    case UWOP_PUSH_MACHFRAME: return 1;
    case UWOP_ALLOC_LARGE: return info == 0 ? 2 : info == 1 ? 3 : 0;
    case UWOP_SAVE_NONVOL:
    case UWOP_SAVE_XMM128: return 2;
    case UWOP_SAVE_NONVOL_FAR:
    case UWOP_SAVE_XMM128_FAR: return 3;
    case UWOP_EPILOG: return version == 1 ? 2 : 1;
    case UWOP_SPARE: return 3;
    }
    return 0;
}

static int restore_xmm(struct walker *w, struct unwind_x64_regs *r, int n, uint64_t addr, int full)
{
    if (rd64(w, addr, &r->xmm[n][0]) != KD_OK ||
        (full && rd64(w, addr + 8, &r->xmm[n][1]) != KD_OK))
        return KD_ERR_TARGET;
    if (!full)
        r->xmm[n][1] = 0;
    r->xmm_known |= 1u << n;
    return KD_OK;
}

/* Undoes the prolog actions of one UNWIND_INFO whose CodeOffset <= pc_off.
 * base: the establisher frame that SAVE_* offsets are relative to; use_fp:
 * it came from the frame register (see frame_base). */
static int apply_codes(struct walker *w, const struct uinfo *ui, uint32_t pc_off, uint64_t base,
                       int use_fp, struct unwind_x64_regs *r, uint32_t *flags)
{
    uint64_t *rsp = &r->gpr[UNWIND_X64_RSP];
    for (uint32_t i = 0; i < ui->count;) {
        const uint8_t *c = ui->codes + 2 * i;
        uint8_t op = c[1] & 15, info = c[1] >> 4;
        uint32_t ns = op_slots(op, info, ui->version);
        if (ns == 0 || i + ns > ui->count)
            return KD_ERR_FORMAT;
        i += ns;
        if (c[0] > pc_off)
            continue; /* that prolog instruction has not run yet */
        uint32_t a16 = ns > 1 ? kd_le16(c + 2) : 0, a32 = ns > 2 ? kd_le32(c + 2) : 0;
        int rc = KD_OK;
        switch (op) {
        case UWOP_PUSH_NONVOL:
            rc = rd64(w, *rsp, &r->gpr[info]);
            r->known |= 1u << info;
            *rsp += 8;
            break;
        case UWOP_ALLOC_LARGE: *rsp += info ? a32 : a16 * 8u; break;
        case UWOP_ALLOC_SMALL: *rsp += info * 8u + 8; break;
        case UWOP_SET_FPREG:
            if (ui->freg == 0)
                return KD_ERR_FORMAT;
            if (use_fp) {
                *rsp = base;
                *flags |= UNWIND_FRAME_FPREG;
            } /* else the frame register is lost: assume no alloca moved RSP */
            break;
        case UWOP_SAVE_NONVOL:
        case UWOP_SAVE_NONVOL_FAR:
            rc = rd64(w, base + (op == UWOP_SAVE_NONVOL ? a16 * 8u : a32), &r->gpr[info]);
            r->known |= 1u << info;
            break;
        case UWOP_EPILOG: /* version 1: SAVE_XMM, the low quadword */
            if (ui->version == 1)
                rc = restore_xmm(w, r, info, base + a16 * 8u, 0);
            break;
        case UWOP_SPARE: /* version 1: SAVE_XMM_FAR */
            if (ui->version == 1)
                rc = restore_xmm(w, r, info, base + a32, 0);
            break;
        case UWOP_SAVE_XMM128: rc = restore_xmm(w, r, info, base + a16 * 16u, 1); break;
        case UWOP_SAVE_XMM128_FAR: rc = restore_xmm(w, r, info, base + a32, 1); break;
        case UWOP_PUSH_MACHFRAME: {
            if (info > 1)
                return KD_ERR_FORMAT;
            uint64_t at = *rsp + 8u * info, cs = 0; /* OpInfo 1: an error code sits first */
            if ((rc = rd64(w, at, &r->rip)) == KD_OK && (rc = rd64(w, at + 8, &cs)) == KD_OK)
                rc = rd64(w, at + 0x18, rsp);
            *flags |= UNWIND_FRAME_MACHINE | ((cs & 3) == 3 ? FL_USER : 0);
            break;
        }
        }
        if (rc != KD_OK)
            return KD_ERR_TARGET;
    }
    return KD_OK;
}

/* At an exact pc past the prolog: if the code from pc is an epilog (add/lea
 * rsp, pops, then ret or a jump out), emulate it, since the prolog codes no
 * longer describe the stack there. 1 when emulated, 0 when not an epilog. */
static int try_epilog(struct walker *w, const struct uinfo *ui, uint64_t func, uint64_t end,
                      struct unwind_x64_regs *r)
{
    uint8_t b[EPILOG_MAX + 8] = {0}; /* zero tail: lookahead past n reads zeros */
    uint32_t n = end - r->rip < EPILOG_MAX ? (uint32_t)(end - r->rip) : EPILOG_MAX;
    if (n == 0 || unwind_mem_read(&w->mem, r->rip, b, n) != KD_OK)
        return 0;
    uint64_t rsp = r->gpr[UNWIND_X64_RSP];
    uint32_t i = 0;
    if (b[0] == 0x48 && b[1] == 0x83 && b[2] == 0xC4) { /* add rsp, imm8 */
        rsp += (uint64_t)(int64_t)(int8_t)b[3];
        i = 4;
    } else if (b[0] == 0x48 && b[1] == 0x81 && b[2] == 0xC4) { /* add rsp, imm32 */
        rsp += (uint64_t)(int64_t)(int32_t)kd_le32(b + 3);
        i = 7;
    } else if ((b[0] & 0xFE) == 0x48 && b[1] == 0x8D && ui->freg) { /* lea rsp, [fp+disp] */
        uint8_t mod = b[2] >> 6, rm = (uint8_t)((b[2] & 7) | (b[0] & 1) << 3);
        if (((b[2] >> 3) & 7) != 4 || rm != ui->freg || (b[2] & 7) == 4 || mod == 0 || mod == 3 ||
            !(r->known & (1u << rm)))
            return 0;
        int64_t disp = mod == 1 ? (int8_t)b[3] : (int32_t)kd_le32(b + 3);
        rsp = r->gpr[rm] + (uint64_t)disp;
        i = mod == 1 ? 4 : 7;
    }
    uint8_t pops[16];
    uint32_t np = 0;
    for (; i + 1 < n && np < 16; np++) {
        if (b[i] == 0x41 && (b[i + 1] & 0xF8) == 0x58)
            pops[np] = (uint8_t)(8 + (b[i + 1] & 7)), i += 2;
        else if ((b[i] & 0xF8) == 0x58)
            pops[np] = b[i] & 7, i += 1;
        else
            break;
    }
    int ok = 0;
    if (i < n && (b[i] == 0xC3 || b[i] == 0xC2 || (b[i] == 0xF3 && b[i + 1] == 0xC3))) {
        ok = 1;                              /* ret, ret imm16, rep ret */
    } else if (i + 5 <= n && b[i] == 0xE9) { /* jmp rel32 out of the function: a tail call */
        uint64_t to = r->rip + i + 5 + (uint64_t)(int64_t)(int32_t)kd_le32(b + i + 1);
        ok = to < func || to >= end;
    } else if (i + 2 <= n && b[i] == 0xEB) {
        uint64_t to = r->rip + i + 2 + (uint64_t)(int64_t)(int8_t)b[i + 1];
        ok = to < func || to >= end;
    } else if ((i + 2 <= n && b[i] == 0xFF && b[i + 1] == 0x25) ||
               (i + 3 <= n && b[i] == 0x48 && b[i + 1] == 0xFF && b[i + 2] == 0x25)) {
        ok = 1; /* jmp [rip+disp32] */
    }
    if (!ok)
        return 0;
    struct unwind_x64_regs c = *r;
    for (uint32_t k = 0; k < np; k++, rsp += 8) {
        if (rd64(w, rsp, &c.gpr[pops[k]]) != KD_OK)
            return -1;
        c.known |= 1u << pops[k];
    }
    if (rd64(w, rsp, &c.rip) != KD_OK)
        return -1;
    c.gpr[UNWIND_X64_RSP] = rsp + 8;
    *r = c;
    return 1;
}

/* The establisher frame: where SAVE_* offsets count from (RtlVirtualUnwind's
 * rule). *use_fp: the frame register holds it, so SET_FPREG restores RSP
 * from it. A frame register that would put the frame below RSP, or further
 * above it than any kernel stack reaches, is garbage (a clobbered or never
 * restored RBP): the fixed sizes are used instead. */
static uint64_t frame_base(const struct uinfo *ui, uint32_t pc_off, const struct unwind_x64_regs *r,
                           int *use_fp)
{
    uint64_t rsp = r->gpr[UNWIND_X64_RSP];
    *use_fp = 0;
    if (!ui->freg || !(r->known & (1u << ui->freg)))
        return rsp;
    if (pc_off < ui->prolog && !(ui->flags & UNW_FLAG_CHAININFO)) {
        uint32_t i = 0; /* inside the prolog: only once SET_FPREG has run */
        while (i < ui->count && (ui->codes[2 * i + 1] & 15) != UWOP_SET_FPREG)
            i++;
        if (i == ui->count || pc_off < ui->codes[2 * i])
            return rsp;
    }
    uint64_t fp = r->gpr[ui->freg] - ui->foff * 16u;
    if (fp < rsp || fp - rsp > FP_MAX_GAP)
        return rsp;
    *use_fp = 1;
    return fp;
}

static int virtual_unwind(struct walker *w, int exact, struct unwind_x64_regs *regs,
                          uint32_t *flags, uint64_t *func)
{
    const struct unwind_lookup *l = w->p->lookup;
    struct unwind_x64_regs r = *regs;
    uint64_t base = 0, *rsp = &r.gpr[UNWIND_X64_RSP];
    uint32_t rf[3], fl = 0;
    /* A return address may sit just past its function (a call to a noreturn routine). */
    uint64_t key = exact ? r.rip : r.rip - 1;
    *func = 0;
    if (!l || !l->find || l->find(l->user, key, &base, &rf[0], &rf[1], &rf[2]) != KD_OK) {
        if (rd64(w, *rsp, &r.rip) != KD_OK) /* leaf: no frame, return address at [RSP] */
            return KD_ERR_TARGET;
        *rsp += 8;
        r.known &= NONVOLATILE;
        *regs = r;
        *flags = UNWIND_FRAME_LEAF;
        return KD_OK;
    }
    if (resolve_entry(w, base, rf) != KD_OK)
        return KD_ERR_FORMAT;
    *func = base + rf[0];
    struct uinfo *ui = calloc(1, sizeof *ui);
    if (!ui)
        return KD_ERR_NOMEM;
    int rc = read_info(w, base + rf[2], ui);
    uint64_t off = r.rip - *func; /* wraps huge (past the prolog) if rip < func */
    uint32_t pc_off = off < ui->prolog ? (uint32_t)off : ALL_CODES;
    if (rc == KD_OK && exact && pc_off == ALL_CODES && ui->count) {
        int e = try_epilog(w, ui, *func, base + rf[1], &r);
        if (e != 0) {
            rc = e < 0 ? KD_ERR_TARGET : KD_OK;
            fl = UNWIND_FRAME_EPILOG;
            goto out_info;
        }
    }
    int use_fp = 0;
    uint64_t fbase = rc == KD_OK ? frame_base(ui, pc_off, &r, &use_fp) : 0;
    for (int depth = 0; rc == KD_OK; depth++) {
        rc = apply_codes(w, ui, depth ? ALL_CODES : pc_off, fbase, use_fp, &r, &fl);
        if (rc != KD_OK || !(ui->flags & UNW_FLAG_CHAININFO))
            break;
        uint32_t parent[3] = {ui->chain[0], ui->chain[1], ui->chain[2]};
        if (depth + 1 == MAX_CHAIN || resolve_entry(w, base, parent) != KD_OK)
            rc = KD_ERR_FORMAT; /* a chain that long is a loop in the data */
        else
            rc = read_info(w, base + parent[2], ui);
    }
    if (rc == KD_OK && !(fl & UNWIND_FRAME_MACHINE)) {
        rc = rd64(w, *rsp, &r.rip) == KD_OK ? KD_OK : KD_ERR_TARGET;
        *rsp += 8;
    }
    fl |= UNWIND_FRAME_UNWOUND;
out_info:
    free(ui);
    if (rc != KD_OK)
        return rc;
    r.known &= NONVOLATILE;
    *regs = r;
    *flags = fl;
    return KD_OK;
}

int unwind_x64_step(const struct unwind_params *p, int exact, struct unwind_x64_regs *regs,
                    uint32_t *flags)
{
    if (!p || !regs || !flags)
        return KD_ERR_ARG;
    struct walker *w = calloc(1, sizeof *w);
    if (!w)
        return KD_ERR_NOMEM;
    w->p = p;
    unwind_mem_init(&w->mem, p->target, p->max_reads);
    uint64_t func;
    *flags = 0;
    int rc = virtual_unwind(w, exact, regs, flags, &func);
    *flags &= ~FL_USER;
    free(w);
    return rc;
}

static int is_code(struct walker *w, uint64_t a)
{
    const struct unwind_lookup *l = w->p->lookup;
    return !l || !l->is_code || l->is_code(l->user, a);
}

/* First slot at or above sp holding a kernel code address right after a call. */
static int scan(struct walker *w, uint64_t sp, int cur, uint64_t *slot, uint64_t *val)
{
    const struct unwind_params *p = w->p;
    if (!p->lookup || !p->lookup->is_code)
        return 0;
    uint64_t end = cur >= 0 ? p->stacks[cur].base : sp + p->scan_max;
    if (end < sp)
        end = UINT64_MAX;
    for (uint64_t a = (sp + 7) & ~7ull; a >= sp && a + 8 <= end; a += 8) {
        uint64_t v;
        if (rd64(w, a, &v) != KD_OK) {
            if (w->mem.spent)
                return 0;
            a = (a | (UNWIND_MEM_LINE - 1)) - 7; /* skip the rest of an unreadable line */
            continue;
        }
        if (v >= p->kernel_start && v && p->lookup->is_code(p->lookup->user, v) &&
            unwind_is_after_call(&w->mem, v)) {
            *slot = a;
            *val = v;
            return 1;
        }
    }
    return 0;
}

static void stop(struct unwind_trace *t, enum unwind_stop why, int status, uint64_t addr)
{
    t->stop = why;
    t->stop_status = status;
    t->stop_addr = addr;
}

int unwind_x64_walk(const struct unwind_params *p, const struct unwind_x64_regs *start,
                    struct unwind_trace *t)
{
    if (!p || !start || !t || !t->frames)
        return KD_ERR_ARG;
    unwind_trace_reset(t);
    struct walker *w = calloc(1, sizeof *w);
    if (!w)
        return KD_ERR_NOMEM;
    w->p = p;
    unwind_mem_init(&w->mem, p->target, p->max_reads);
    uint32_t max = p->max_frames && p->max_frames < t->cap ? p->max_frames : t->cap;
    struct unwind_x64_regs r = *start;
    r.known |= 1u << UNWIND_X64_RSP;
    struct {
        uint64_t lo, hi;
    } seg[MAX_SEGMENTS] = {{r.gpr[UNWIND_X64_RSP], 0}};
    uint32_t nseg = 1, carry = 0;
    int cur = unwind_params_stack_of(p, r.gpr[UNWIND_X64_RSP]), exact = 1;
    for (;;) {
        uint64_t sp = r.gpr[UNWIND_X64_RSP];
        if (t->count >= max) {
            stop(t, UNWIND_STOP_MAX_FRAMES, KD_OK, sp);
            break;
        }
        struct unwind_frame *f = &t->frames[t->count++];
        memset(f, 0, sizeof *f);
        f->sp = sp;
        f->pc = r.rip;
        f->flags = carry;
        carry = 0;
        seg[nseg - 1].hi = sp;
        if (cur >= 0 && sp + 8 > p->stacks[cur].base) {
            stop(t, UNWIND_STOP_BASE, KD_OK, sp);
            break;
        }
        struct unwind_x64_regs c = r;
        uint32_t fl = 0;
        int rc = virtual_unwind(w, exact, &c, &fl, &f->func), sw = 0, ns = cur;
        if (w->mem.spent) {
            stop(t, UNWIND_STOP_BUDGET, KD_OK, w->bad_addr);
            break;
        }
        if (rc == KD_ERR_TARGET || rc == KD_ERR_NOMEM) {
            stop(t, UNWIND_STOP_READ, rc, w->bad_addr);
            break;
        }
        uint64_t csp = c.gpr[UNWIND_X64_RSP];
        /* A leaf's [RSP] is a guess: only a code address right after a call
         * counts. Unwind data is trusted (a caller outside every module is
         * still a frame: the next step treats it as a leaf). */
        int guess = rc != KD_OK || ((fl & UNWIND_FRAME_LEAF) && p->lookup && p->lookup->is_code &&
                                    (c.rip < p->kernel_start || !is_code(w, c.rip) ||
                                     !unwind_is_after_call(&w->mem, c.rip)));
        if (!guess) {
            f->flags |= fl & ~FL_USER;
            f->ret = c.rip;
            if (fl & UNWIND_FRAME_MACHINE) {
                ns = unwind_params_stack_of(p, csp);
                sw = ns != cur || (cur < 0 && (csp <= sp || csp - sp > 0x10000));
            }
            if (c.rip == 0 || c.rip < p->kernel_start || (fl & FL_USER)) {
                if (sw)
                    f->flags |= UNWIND_FRAME_SWITCH; /* to the user stack, say */
                else if (csp > sp)
                    f->size = csp - sp;
                stop(t, c.rip ? UNWIND_STOP_USER : UNWIND_STOP_ZERO_RET, KD_OK, c.rip);
                break;
            }
            if (!sw && csp <= sp) {
                stop(t, UNWIND_STOP_SP_BACKWARDS, KD_OK, csp);
                break;
            }
            if (!sw && cur >= 0 && csp >= p->stacks[cur].base) {
                f->size = csp - sp;
                stop(t, UNWIND_STOP_BASE, KD_OK, csp);
                break;
            }
        } else { /* no usable caller: look for a return address */
            uint64_t slot, v;
            if (!scan(w, sp, cur, &slot, &v)) {
                if (w->mem.spent)
                    stop(t, UNWIND_STOP_BUDGET, KD_OK, w->bad_addr);
                else if (rc != KD_OK)
                    stop(t, UNWIND_STOP_BAD_INFO, rc, r.rip);
                else
                    stop(t, UNWIND_STOP_NO_CALLER, KD_OK, c.rip);
                break;
            }
            c = r;
            c.rip = v;
            c.gpr[UNWIND_X64_RSP] = csp = slot + 8;
            c.known = 1u << UNWIND_X64_RSP; /* nothing else is known after a guess */
            f->ret = v;
            fl = 0;
            carry = UNWIND_FRAME_SCANNED;
        }
        if (sw) {
            for (uint32_t i = 0; i < nseg; i++)
                if (csp >= seg[i].lo && csp <= seg[i].hi)
                    sw = -1;
            if (sw < 0 || nseg == MAX_SEGMENTS) {
                stop(t, UNWIND_STOP_LOOP, KD_OK, csp);
                break;
            }
            seg[nseg].lo = seg[nseg].hi = csp;
            nseg++;
            f->flags |= UNWIND_FRAME_SWITCH;
            cur = ns;
        } else {
            f->size = csp - sp;
        }
        exact = (fl & UNWIND_FRAME_MACHINE) != 0;
        r = c;
    }
    t->reads = w->mem.reads;
    free(w);
    return KD_OK;
}
