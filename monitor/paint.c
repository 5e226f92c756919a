/* paint.c: --paint. Sampling sees a stack only at the instants it stops
 * the target; painting finds the true peak in between. While the target is
 * stopped, the unused part of a waiting thread's stack (StackLimit up to a
 * margin below its stack pointer) is filled with a pattern; at later
 * samples the lowest word no longer holding it is the deepest the stack
 * has reached since. Only the threads nearest their limit are painted,
 * because each costs a few writes once and a short read per sample. */
#include "kd_le.h"
#include "kd_status.h"
#include "monitor_impl.h"

#include <string.h>

#define PAINT_WORD 0x6b64776174636821ull /* "!hctawdk": unlikely in a real stack */
#define PAINT_MARGIN 0x100u              /* left untouched just below the stack pointer */
#define PAINT_CHUNK 512u                 /* read step when looking for the mark */

static void fill(uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i += 8)
        kd_put64(b + i, PAINT_WORD);
}

/* Paints [lo, hi) of the target; false if any write failed. */
static bool paint_range(struct monitor *m, uint64_t lo, uint64_t hi)
{
    uint8_t buf[3944 & ~7u];
    fill(buf, sizeof buf);
    for (uint64_t a = lo; a < hi;) {
        uint32_t n = hi - a < sizeof buf ? (uint32_t)(hi - a) : (uint32_t)sizeof buf;
        uint32_t done = 0;
        if (!m->t.ops->write_virtual ||
            m->t.ops->write_virtual(m->t.ctx, a, buf, n, &done) != KD_OK || done != n)
            return false;
        a += n;
    }
    return true;
}

/* Lowest address in [lo, hi) whose word is not the pattern, or hi. */
static uint64_t low_water(struct monitor *m, uint64_t lo, uint64_t hi)
{
    uint8_t buf[PAINT_CHUNK];
    for (uint64_t a = lo; a < hi; a += PAINT_CHUNK) {
        uint32_t n = hi - a < PAINT_CHUNK ? (uint32_t)(hi - a) : PAINT_CHUNK;
        uint32_t got = 0;
        if (m->t.ops->read_virtual(m->t.ctx, a, buf, n, &got) != KD_OK || got < 8)
            return hi;
        for (uint32_t i = 0; i + 8 <= got; i += 8)
            if (kd_le64(buf + i) != PAINT_WORD)
                return a + i;
    }
    return hi;
}

static struct mon_thread *row_of(struct monitor *m, uint64_t kthread)
{
    for (size_t i = 0; i < m->nrows; i++)
        if (m->rows[i].kthread == kthread)
            return &m->rows[i];
    return NULL;
}

void monitor_paint_update(struct monitor *m)
{
    if (!m->cfg.paint)
        return;
    /* read back the painted threads */
    for (size_t s = 0; s < MONITOR_PAINT_SLOTS; s++) {
        struct monitor_paint *p = &m->paint[s];
        if (!p->active)
            continue;
        struct mon_thread *r = row_of(m, p->kthread);
        if (!r || r->stack_limit != p->lo) {
            p->active = false; /* the thread is gone or its stack moved */
            continue;
        }
        uint64_t w = low_water(m, p->lo, p->hi);
        if (w < p->hi && r->initial_stack > w) {
            uint32_t peak = (uint32_t)(r->initial_stack - w);
            if (peak > r->peak_used)
                r->peak_used = peak;
            r->painted = true;
            uint32_t head = w > r->stack_limit ? (uint32_t)(w - r->stack_limit) : 0;
            if (head < r->min_headroom)
                r->min_headroom = head;
        }
    }
    /* a thread that has come much nearer its limit than a painted one takes
     * that one's slot (the pattern left behind is harmless) */
    size_t worst = MONITOR_PAINT_SLOTS;
    uint32_t worst_head = 0;
    for (size_t s = 0; s < MONITOR_PAINT_SLOTS; s++) {
        struct mon_thread *r = m->paint[s].active ? row_of(m, m->paint[s].kthread) : NULL;
        if (r && r->min_headroom >= worst_head) {
            worst_head = r->min_headroom;
            worst = s;
        }
    }
    if (worst < MONITOR_PAINT_SLOTS)
        for (size_t i = 0; i < m->nrows; i++) {
            const struct mon_thread *r = &m->rows[i];
            if (r->samples && !r->painted && !r->running && r->min_headroom + 4096 < worst_head &&
                r->sp >= r->stack_limit + PAINT_MARGIN) {
                m->paint[worst].active = false;
                break;
            }
        }
    /* paint the nearest waiting threads that are not painted yet */
    for (size_t s = 0; s < MONITOR_PAINT_SLOTS; s++) {
        if (m->paint[s].active)
            continue;
        struct mon_thread *best = NULL;
        for (size_t i = 0; i < m->nrows; i++) {
            struct mon_thread *r = &m->rows[i];
            bool taken = false;
            for (size_t t = 0; t < MONITOR_PAINT_SLOTS; t++)
                taken |= m->paint[t].active && m->paint[t].kthread == r->kthread;
            if (taken || !r->samples || r->running || r->sp < r->stack_limit + PAINT_MARGIN)
                continue;
            if (!best || r->min_headroom < best->min_headroom)
                best = r;
        }
        if (!best)
            break;
        uint64_t lo = best->stack_limit, hi = (best->sp - PAINT_MARGIN) & ~7ull;
        if (hi > lo && paint_range(m, lo, hi)) {
            m->paint[s] = (struct monitor_paint){
                .active = true, .kthread = best->kthread, .lo = lo, .hi = hi};
            best->painted = true;
        } else {
            break; /* the target refuses writes: stop trying */
        }
    }
}
