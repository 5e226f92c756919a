/* monitor_impl.h: the monitor's state, shared by its files (monitor.c:
 * attach/detach/events, sampler.c: sampling, crash_report.c: stops and the
 * crash breakdown). Not for the UI. */
#ifndef MONITOR_IMPL_H
#define MONITOR_IMPL_H

#include "crash.h"
#include "kd_api.h"
#include "kdbg.h"
#include "modules.h"
#include "monitor.h"
#include "offsets.h"
#include "offsets_resolve.h"
#include "threads.h"
#include "unwind.h"
#include "unwind_modules.h"

#include <string.h>

struct monitor_bp {
    uint64_t addr;
    uint32_t handle;
    bool armed;
};

#define MONITOR_PAINT_SLOTS 4 /* threads painted at once (--paint) */

struct monitor_paint {
    bool active;
    uint64_t kthread;
    uint64_t lo, hi; /* painted [StackLimit, sp - margin) */
};

struct monitor {
    struct kd_target t;
    struct monitor_config cfg;
    struct kd_version ver;
    struct kdbg kdbg;
    bool have_kdbg;
    struct modules *mods;
    struct offsets off;
    struct offsets_resolve_report off_report;
    struct threads_list *threads;
    struct mon_thread *rows;   /* one per thread, in list order */
    struct mon_thread *sorted; /* published copy, by headroom */
    size_t nrows;
    struct threads_cpu cpus[THREADS_MAX_CPUS];
    uint32_t ncpus;
    struct mon_snapshot snap;
    struct monitor_bp bp_df, bp_bc;
    struct crash_record cr;
    bool cr_init;
    struct mon_crash crash;
    bool crashed;
    struct unwind_modules um;
    struct unwind_lookup lookup;
    size_t rotor;        /* next thread to sample among the quiet ones */
    unsigned since_walk; /* samples since the thread list was walked */
    bool need_walk;
    struct monitor_paint paint[MONITOR_PAINT_SLOTS];
    uint64_t ist_top; /* TSS.Ist[1] of the processor that double-faulted */
    bool stopped, attached, detached;
    uint64_t t0_ms; /* CLOCK_MONOTONIC at monitor_new */
};

/* Size assumed for the double-fault IST stack below TSS.Ist[1]
 * (DOUBLE_FAULT_STACK_SIZE: 0x2000 in old x64 headers, 0x8000 in newer). */
#define MONITOR_IST_SIZE 0x8000u

/* Copies src into dst[cap], cutting it short; always NUL-terminates. */
static inline void monitor_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

uint64_t monitor_now(const struct monitor *m);
void monitor_emit(struct monitor *m, enum mon_event_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* (Re)walks processes and threads and resizes the per-thread arrays. */
int monitor_walk_threads(struct monitor *m);
/* Sampler (sampler.c). */
int monitor_sample_threads(struct monitor *m);
/* Re-sorts the rows into the snapshot and publishes it (MON_EV_SAMPLE). */
void monitor_publish(struct monitor *m);
/* --paint (paint.c): read back painted stacks, paint the nearest ones. */
void monitor_paint_update(struct monitor *m);
/* Crash handling (crash_report.c). */
/* *kind = which of our crash stops sc is (MON_STOP_NONE: none, e.g. a break-in). */
int monitor_crash_stop(struct monitor *m, const struct kd_state_change *sc, bool answering_breakin,
                       enum mon_stop_kind *kind);
void monitor_crash_free(struct monitor *m);

#endif
