/* unwind.c: the pieces both stack walkers share: parameters, the trace,
 * a line cache over target memory and the "is this right after a call" test. */
#include "unwind.h"

#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"

void unwind_params_init(struct unwind_params *p, const struct kd_target *target,
                        const struct unwind_lookup *lookup)
{
    memset(p, 0, sizeof *p);
    p->target = target;
    p->lookup = lookup;
    p->guard_slack = 0x3000; /* the overflowing frame sits in the guard page(s) */
    p->scan_max = 0x2000;
    p->kernel_start = 0xFFFF800000000000ull;
    p->max_reads = 8192;
}

int unwind_params_add_stack(struct unwind_params *p, uint64_t limit, uint64_t base)
{
    if (limit >= base)
        return KD_ERR_ARG;
    if (p->nstacks >= UNWIND_MAX_STACKS)
        return KD_ERR_NOSPACE;
    p->stacks[p->nstacks].limit = limit;
    p->stacks[p->nstacks].base = base;
    p->nstacks++;
    return KD_OK;
}

int unwind_params_stack_of(const struct unwind_params *p, uint64_t sp)
{
    for (uint32_t i = 0; i < p->nstacks && i < UNWIND_MAX_STACKS; i++) {
        const struct unwind_stack *s = &p->stacks[i];
        uint64_t lo = s->limit > p->guard_slack ? s->limit - p->guard_slack : 0;
        if (sp >= lo && sp < s->base)
            return (int)i;
    }
    return -1;
}

int unwind_trace_init(struct unwind_trace *t, uint32_t cap)
{
    memset(t, 0, sizeof *t);
    if (cap == 0)
        cap = UNWIND_MAX_FRAMES;
    if (cap > UNWIND_MAX_FRAMES)
        return KD_ERR_ARG;
    t->frames = calloc(cap, sizeof *t->frames);
    if (!t->frames)
        return KD_ERR_NOMEM;
    t->cap = cap;
    return KD_OK;
}

void unwind_trace_fini(struct unwind_trace *t)
{
    if (!t)
        return;
    free(t->frames);
    memset(t, 0, sizeof *t);
}

void unwind_trace_reset(struct unwind_trace *t)
{
    t->count = 0;
    t->stop = UNWIND_STOP_NONE;
    t->stop_status = KD_OK;
    t->stop_addr = 0;
    t->reads = 0;
}

const char *unwind_stop_str(enum unwind_stop stop)
{
    switch (stop) {
    case UNWIND_STOP_NONE: return "not walked";
    case UNWIND_STOP_ZERO_RET: return "end of chain (zero return address)";
    case UNWIND_STOP_USER: return "returns to user mode";
    case UNWIND_STOP_BASE: return "reached the stack base";
    case UNWIND_STOP_SP_BACKWARDS: return "stack pointer did not increase";
    case UNWIND_STOP_LOOP: return "stack switch loops back";
    case UNWIND_STOP_READ: return "memory read failed";
    case UNWIND_STOP_BAD_INFO: return "malformed unwind data";
    case UNWIND_STOP_NO_CALLER: return "no return address found";
    case UNWIND_STOP_MAX_FRAMES: return "frame limit reached";
    case UNWIND_STOP_BUDGET: return "read budget spent";
    }
    return "unknown";
}

/* ---- read cache ------------------------------------------------------------ */

void unwind_mem_init(struct unwind_mem *m, const struct kd_target *target, uint32_t max_reads)
{
    memset(m, 0, sizeof *m);
    m->target = target;
    m->max_reads = max_reads;
}

/* Reads [line + from, line + LINE) into cache slot i; what came back is
 * the slot's valid span [lo, hi) (empty when nothing was readable). */
static void mem_fill(struct unwind_mem *m, int i, uint64_t line, uint32_t from)
{
    uint32_t got = 0;
    m->reads++;
    int rc = m->target->ops->read_virtual(m->target->ctx, line + from, m->data[i] + from,
                                          UNWIND_MEM_LINE - from, &got);
    m->used[i] = 1;
    m->tag[i] = line;
    m->lo[i] = (uint16_t)from;
    m->hi[i] = (uint16_t)(rc == KD_OK && got <= UNWIND_MEM_LINE - from ? from + got : from);
}

/* Index of a cache slot holding line with bytes from off on, reading the
 * target on a miss; -1 when the budget is spent or there is no target. A
 * line whose start is unmapped (memory need not be page-aligned in fakes
 * and simulators) is read from off instead; unreadable lines stay cached. */
static int mem_line(struct unwind_mem *m, uint64_t line, uint32_t off)
{
    int i = 0;
    while (i < UNWIND_MEM_LINES && !(m->used[i] && m->tag[i] == line))
        i++;
    if (i < UNWIND_MEM_LINES && off >= m->lo[i])
        return i;
    if (!m->target || !m->target->ops || !m->target->ops->read_virtual)
        return -1;
    int reads = i == UNWIND_MEM_LINES && off ? 2 : 1;
    if (m->reads + reads > m->max_reads) {
        m->spent = 1;
        return -1;
    }
    if (i == UNWIND_MEM_LINES) {
        i = (int)(m->next++ % UNWIND_MEM_LINES);
        mem_fill(m, i, line, 0);
        if (m->hi[i] > 0 || off == 0)
            return i;
    }
    mem_fill(m, i, line, off);
    return i;
}

int unwind_mem_read(struct unwind_mem *m, uint64_t addr, uint8_t *buf, uint32_t len)
{
    if (len && addr + len - 1 < addr)
        return KD_ERR_ARG; /* wraps around the address space */
    while (len) {
        uint64_t line = addr & ~(uint64_t)(UNWIND_MEM_LINE - 1);
        uint32_t off = (uint32_t)(addr - line);
        uint32_t n = UNWIND_MEM_LINE - off < len ? UNWIND_MEM_LINE - off : len;
        int i = mem_line(m, line, off);
        if (i < 0 || off < m->lo[i] || off + n > m->hi[i])
            return KD_ERR_TARGET;
        memcpy(buf, m->data[i] + off, n);
        buf += n;
        addr += n;
        len -= n;
    }
    return KD_OK;
}

int unwind_mem_u64(struct unwind_mem *m, uint64_t addr, uint64_t *v)
{
    uint8_t b[8];
    int rc = unwind_mem_read(m, addr, b, 8);
    if (rc == KD_OK)
        *v = kd_le64(b);
    return rc;
}

int unwind_mem_u32(struct unwind_mem *m, uint64_t addr, uint32_t *v)
{
    uint8_t b[4];
    int rc = unwind_mem_read(m, addr, b, 4);
    if (rc == KD_OK)
        *v = kd_le32(b);
    return rc;
}

/* ---- call-site test -------------------------------------------------------- */

int unwind_is_after_call(struct unwind_mem *m, uint64_t ret)
{
    uint8_t b[8];
    uint32_t have = 8;
    if (ret < 8)
        return 0;
    /* The bytes before ret may start on an unreadable line: keep what is in ret's. */
    if (unwind_mem_read(m, ret - 8, b, 8) != KD_OK) {
        have = (uint32_t)(ret % UNWIND_MEM_LINE);
        if (have == 0 || have >= 8 || unwind_mem_read(m, ret - have, b + 8 - have, have) != KD_OK)
            return 0;
    }
#define C(k) ((k) <= have ? b[8 - (k)] : -1) /* byte at ret - k, -1 when unknown */
    if (C(5) == 0xE8)
        return 1; /* call rel32 */
    if (C(2) == 0xFF && C(1) >= 0 &&
        ((C(1) & 0xF8) == 0xD0 || ((C(1) & 0xF8) == 0x10 && C(1) != 0x14 && C(1) != 0x15)))
        return 1; /* call reg / call [reg] */
    if (C(3) == 0xFF && C(2) == 0x14 && C(1) >= 0 && (C(1) & 7) != 5)
        return 1; /* call [base+index*s] */
    if (C(6) == 0xFF && C(5) == 0x15)
        return 1; /* call [rip+disp32] (x86: [disp32]) */
    if (C(7) == 0xFF && C(6) == 0x14 && C(5) >= 0 && (C(5) & 7) == 5)
        return 1; /* call [index*s+disp32] */
    if (C(3) == 0xFF && C(2) >= 0x50 && C(2) <= 0x57 && C(2) != 0x54)
        return 1; /* call [reg+disp8] */
    if (C(4) == 0xFF && C(3) == 0x54)
        return 1; /* call [sib+disp8] */
    if (C(6) == 0xFF && C(5) >= 0x90 && C(5) <= 0x97 && C(5) != 0x94)
        return 1; /* call [reg+disp32] */
    if (C(7) == 0xFF && C(6) == 0x94)
        return 1; /* call [sib+disp32] */
#undef C
    return 0;
}
