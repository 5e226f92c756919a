/* sampler.c: one sample while the target is stopped. Threads nearest their
 * limit and the running ones are read every time; the quiet rest in turns,
 * while the stall budget lasts. One read per thread (the stack block), one
 * context per processor. */
#include "breakdown.h"
#include "kd_le.h"
#include "kd_status.h"
#include "monitor_impl.h"
#include "symbols.h"
#include "unwind_x64.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLER_REWALK_EVERY 30 /* samples between thread-list walks */
#define SAMPLER_SCAN_BYTES 1024 /* stack top scanned for a near thread's drivers */

static unsigned pct_left(const struct mon_thread *r)
{
    return r->size ? (unsigned)((uint64_t)r->headroom * 100 / r->size) : 100;
}

static bool is_near(const struct monitor *m, const struct mon_thread *r)
{
    return r->samples && pct_left(r) < (unsigned)(2 * m->cfg.near_percent);
}

static bool is_running(const struct monitor *m, const struct mon_thread *r)
{
    for (uint32_t c = 0; c < m->ncpus; c++)
        if (m->cpus[c].valid && m->cpus[c].thread == r->kthread)
            return true;
    return false;
}

#define SAMPLER_SWITCH_RETURN 0x38 /* KSWITCH_FRAME.Return: KernelStack points at the frame */
#define SAMPLER_SWITCH_SIZE 0x40
#define SAMPLER_UNWIND_READS 24 /* a details unwind costs at most this many reads */

static void note_driver(struct monitor *m, struct mon_thread *r, uint64_t va)
{
    struct module *mod = modules_find(m->mods, va);
    if (r->top_driver[0] || !mod)
        return;
    char name[MON_MODULE_LEN];
    symbols_module_name(m->mods, mod, m->ver.kern_base, name, sizeof name);
    if (!breakdown_is_system_module(name))
        monitor_copy(r->top_driver, sizeof r->top_driver, name);
}

/* A waiting thread's frames, unwound with the images' unwind data from the
 * context-switch frame KernelStack points at (its Return is the caller of
 * the switch). false when that does not look right: then the scan decides. */
static bool unwind_waiting(struct monitor *m, struct mon_thread *r, const uint8_t *top,
                           uint32_t got)
{
    if (r->running || got < SAMPLER_SWITCH_SIZE)
        return false;
    uint64_t ret = kd_le64(top + SAMPLER_SWITCH_RETURN);
    if (!m->lookup.is_code || m->lookup.is_code(m->lookup.user, ret) != 1)
        return false;
    struct unwind_params p;
    unwind_params_init(&p, &m->t, &m->lookup);
    unwind_params_add_stack(&p, r->stack_limit, r->stack_base);
    p.max_frames = MON_THREAD_FRAMES;
    p.max_reads = SAMPLER_UNWIND_READS;
    struct unwind_x64_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.gpr[UNWIND_X64_RSP] = r->sp + SAMPLER_SWITCH_SIZE;
    regs.rip = ret;
    regs.known = 1u << UNWIND_X64_RSP;
    struct unwind_trace tr;
    if (unwind_trace_init(&tr, MON_THREAD_FRAMES) != KD_OK)
        return false;
    bool ok = unwind_x64_walk(&p, &regs, &tr) == KD_OK && tr.count >= 2;
    for (uint32_t i = 0; ok && i < tr.count && r->nframes < MON_THREAD_FRAMES; i++) {
        struct mon_frame *f = &r->frames[r->nframes++];
        f->sp = tr.frames[i].sp;
        f->ret = tr.frames[i].ret;
        f->size = i ? (uint32_t)(tr.frames[i].sp - tr.frames[i - 1].sp) : 0;
        symbols_format(&m->t, m->mods, m->ver.kern_base, tr.frames[i].pc, f->symbol,
                       sizeof f->symbol);
        note_driver(m, r, tr.frames[i].pc);
    }
    unwind_trace_fini(&tr);
    if (!ok)
        r->nframes = 0;
    return ok;
}

/* The drivers on a near thread's stack top and its last frames for the
 * details view: unwound from the switch frame when the thread waits, else
 * return addresses found by a bounded scan upward from sp (one read). */
static void scan_top(struct monitor *m, struct mon_thread *r)
{
    uint8_t buf[SAMPLER_SCAN_BYTES];
    uint32_t got = 0;
    uint64_t top = r->sp;
    uint32_t len = SAMPLER_SCAN_BYTES;
    if (r->initial_stack > top && r->initial_stack - top < len)
        len = (uint32_t)(r->initial_stack - top);
    r->nframes = 0;
    r->top_driver[0] = 0;
    if (len < 8 || m->t.ops->read_virtual(m->t.ctx, top, buf, len, &got) != KD_OK)
        return;
    if (unwind_waiting(m, r, buf, got))
        return;
    uint64_t prev_sp = 0;
    for (uint32_t off = 0; off + 8 <= got && r->nframes < MON_THREAD_FRAMES; off += 8) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
            v = (v << 8) | buf[off + (uint32_t)i];
        if (!m->lookup.is_code || m->lookup.is_code(m->lookup.user, v) != 1)
            continue;
        struct mon_frame *f = &r->frames[r->nframes++];
        f->sp = top + off + 8; /* the caller's stack pointer once this address is popped */
        f->ret = v;
        f->size = prev_sp ? (uint32_t)(f->sp - prev_sp) : 0;
        prev_sp = f->sp;
        symbols_format(&m->t, m->mods, m->ver.kern_base, v, f->symbol, sizeof f->symbol);
        note_driver(m, r, v);
    }
}

static void threshold(struct monitor *m, const struct mon_thread *r, unsigned before,
                      unsigned after)
{
    static const unsigned marks[] = {25, 10};
    for (size_t i = 0; i < 2; i++) {
        unsigned mark = i == 0 ? (unsigned)m->cfg.near_percent : marks[i];
        if (before >= mark && after < mark) {
            struct mon_event ev = {.kind = MON_EV_THRESHOLD, .thread = r};
            snprintf(ev.text, sizeof ev.text,
                     "%s (pid %u) thread %u under %u%% headroom: %u bytes left of %u", r->process,
                     r->pid, r->tid, mark, r->headroom, r->size);
            ev.time_ms = monitor_now(m);
            if (m->cfg.on_event)
                m->cfg.on_event(m->cfg.user, &ev);
            break;
        }
    }
}

/* KD_ERR_NOTFOUND: a replay with no answer here (the sample ends). */
static int read_one(struct monitor *m, size_t i)
{
    struct threads_thread *th = &m->threads->v[i];
    struct mon_thread *r = &m->rows[i];
    int rc = threads_read_stack(&m->t, &m->off, th, 0);
    if (rc == KD_ERR_NOTFOUND)
        return rc;
    if (rc != KD_OK) {
        m->need_walk = true; /* the thread may have exited */
        return KD_OK;
    }
    struct threads_usage u;
    if (threads_usage(th, m->cpus, m->ncpus, &u) != KD_OK)
        return KD_OK;
    r->initial_stack = th->initial_stack;
    r->stack_limit = th->stack_limit;
    r->stack_base = th->stack_base;
    r->sp = u.sp;
    r->cpu = u.cpu;
    r->running = u.cpu >= 0;
    if (!u.on_stack) {
        if (!offsets_stack_ok(th->initial_stack, th->stack_limit, th->stack_base,
                              th->initial_stack))
            m->need_walk = true; /* reused memory: walk again */
        return KD_OK;            /* a running thread on a DPC/ISR stack: keep the last */
    }
    /* thresholds are crossed by the minimum: each is reported once */
    unsigned before =
        r->samples && r->size ? (unsigned)((uint64_t)r->min_headroom * 100 / r->size) : 100;
    r->size = (uint32_t)u.usable;
    r->used = (uint32_t)u.used;
    r->headroom = (uint32_t)u.headroom;
    if (r->headroom < r->min_headroom)
        r->min_headroom = r->headroom;
    if (r->used > r->peak_used)
        r->peak_used = r->used;
    r->samples++;
    r->last_ms = monitor_now(m);
    if (pct_left(r) < (unsigned)(2 * m->cfg.near_percent))
        scan_top(m, r);
    else
        r->nframes = 0; /* frames are only kept fresh for the threads near their limit */
    threshold(m, r, before, r->size ? (unsigned)((uint64_t)r->min_headroom * 100 / r->size) : 100);
    return KD_OK;
}

static int by_headroom(const void *a, const void *b)
{
    const struct mon_thread *x = a, *y = b;
    /* never-sampled threads last, then by headroom, then by tid for a stable order */
    if (!x->samples != !y->samples)
        return x->samples ? -1 : 1;
    if (x->headroom != y->headroom)
        return x->headroom < y->headroom ? -1 : 1;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->tid < y->tid ? -1 : (x->tid > y->tid);
}

void monitor_publish(struct monitor *m)
{
    memcpy(m->sorted, m->rows, m->nrows * sizeof *m->rows);
    qsort(m->sorted, m->nrows, sizeof *m->sorted, by_headroom);
    m->snap.threads = m->sorted;
    m->snap.nthreads = m->nrows;
    m->snap.seq++; /* a new picture, though no new sample */
    struct mon_event ev = {.kind = MON_EV_SAMPLE, .snap = &m->snap, .time_ms = monitor_now(m)};
    if (m->cfg.on_event)
        m->cfg.on_event(m->cfg.user, &ev);
}

int monitor_sample_threads(struct monitor *m)
{
    uint64_t t0 = monitor_now(m);
    if (m->need_walk || ++m->since_walk > SAMPLER_REWALK_EVERY) {
        int rc = monitor_walk_threads(m);
        if (rc != KD_OK && m->nrows == 0)
            return rc;
    }
    threads_cpus(&m->t, &m->kdbg, m->ncpus, m->cpus);
    size_t n = m->nrows, sampled = 0;
    bool *done = calloc(n ? n : 1, sizeof *done);
    if (!done)
        return KD_ERR_NOMEM;
    /* 1: near the limit or running, every time */
    bool ended = false;
    for (size_t i = 0; i < n && !ended; i++)
        if (is_near(m, &m->rows[i]) || is_running(m, &m->rows[i])) {
            ended = read_one(m, i) == KD_ERR_NOTFOUND;
            done[i] = true;
            sampled += !ended;
        }
    /* 2: the rest in turns while the budget lasts (at least one) */
    size_t start = m->rotor;
    for (size_t k = 0; k < n && !ended; k++) {
        if (sampled && monitor_now(m) - t0 >= (uint64_t)m->cfg.max_stall_ms)
            break;
        size_t i = (start + k) % n;
        if (done[i])
            continue;
        if (read_one(m, i) == KD_ERR_NOTFOUND)
            break;
        done[i] = true;
        sampled++;
        m->rotor = (i + 1) % n; /* the next sample goes on from here */
    }
    free(done);
    if (!ended)
        monitor_paint_update(m);
    struct mon_snapshot *s = &m->snap;
    s->samples++;
    s->time_ms = monitor_now(m);
    s->sampled = sampled;
    s->stall_ms = (double)(s->time_ms - t0);
    if (s->stall_ms > s->stall_max_ms)
        s->stall_max_ms = s->stall_ms;
    monitor_publish(m);
    return KD_OK;
}
