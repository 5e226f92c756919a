/* fake_world.h: a small Windows-x64-like kernel laid out in a fake_target
 * for the monitor's unit tests: GetVersion, a KDDEBUGGER_DATA64, a module
 * list with a synthetic ntoskrnl PE (exports, .pdata, sections), processes
 * and threads on both thread lists, KPRCBs, contexts, special registers and
 * an IDT. The offsets come from a layout, so a test can build a build-19041
 * world or one with offsets no table knows. Everything the monitor should
 * find is also recorded here (addresses, ids, stack values) as ground truth.
 * Include "fake_world.c" once in a test (see fake_target.h). */
#ifndef FAKE_WORLD_H
#define FAKE_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_target.h"

#define FAKE_WORLD_MAX_PROCS 8
#define FAKE_WORLD_MAX_THREADS 64
#define FAKE_WORLD_CPUS 2

struct fake_world_layout {
    uint16_t build;
    uint32_t init, limit, base, kstack, state, apc; /* KTHREAD */
    uint32_t kproc_tlh, kthread_tle;                /* KPROCESS/KTHREAD thread list */
    uint32_t upid, apl, ifn, tlh;                   /* EPROCESS */
    uint32_t tle, cid, start, w32start;             /* ETHREAD */
    uint32_t size_eprocess, size_ethread;
};

/* Windows 10 19041 offsets. */
void fake_world_layout_19041(struct fake_world_layout *l);
/* A made-up future build (40000) whose EPROCESS/ETHREAD offsets are in no table. */
void fake_world_layout_future(struct fake_world_layout *l);

/* nt image facts (RVAs) the tests check against. */
#define FAKE_NT_SIZE 0x40000u
#define FAKE_NT_KEBUGCHECKEX 0x1200u   /* exported, pdata 0x1200-0x1280 */
#define FAKE_NT_KEWAIT 0x1400u         /* exported, pdata 0x1400-0x1500 */
#define FAKE_NT_HIDDEN 0x1600u         /* not exported, pdata 0x1600-0x1700 */
#define FAKE_NT_LEAF 0x1800u           /* exported, no pdata */
#define FAKE_NT_INDIRECT 0x1A00u       /* pdata entry is indirect -> 0x1A00-0x1A80 */
#define FAKE_NT_CHAINED_PARENT 0x2000u /* exported, pdata 0x2000-0x2100 */
#define FAKE_NT_CHAINED 0x2400u        /* fragment 0x2400-0x2440 chained to 0x2000 */
#define FAKE_NT_ORDINAL_ONLY 0x1900u   /* exported by ordinal 7 only, no pdata */
#define FAKE_NT_DF_HANDLER 0x5000u     /* vector 8 target, not exported */
#define FAKE_NT_KVASCODE 0x5000u       /* KVASCODE section start */
#define FAKE_NT_PSINITIALSYSTEMPROCESS 0x38000u

struct fake_world {
    struct fake_target *ft;
    struct kd_target t;
    struct kd_version v;
    struct fake_world_layout lay;
    uint64_t next; /* bump allocator */
    uint64_t nt_base, hal_base, drv_base;
    uint64_t module_head, kdbg, kdbg_head, process_head, processor_block, idt;
    size_t nprocs, nthreads;
    uint64_t proc[FAKE_WORLD_MAX_PROCS];
    uint32_t pid[FAKE_WORLD_MAX_PROCS];
    const char *name[FAKE_WORLD_MAX_PROCS];
    unsigned proc_threads[FAKE_WORLD_MAX_PROCS];
    uint64_t thread[FAKE_WORLD_MAX_THREADS];
    uint32_t tid[FAKE_WORLD_MAX_THREADS];
    size_t thread_proc[FAKE_WORLD_MAX_THREADS];
    uint64_t initial[FAKE_WORLD_MAX_THREADS], limit[FAKE_WORLD_MAX_THREADS];
    uint64_t base[FAKE_WORLD_MAX_THREADS], kstack[FAKE_WORLD_MAX_THREADS];
    uint64_t start[FAKE_WORLD_MAX_THREADS];
    uint64_t cpu_thread[FAKE_WORLD_CPUS], cpu_rsp[FAKE_WORLD_CPUS];
};

/* Builds nprocs processes (the first is System, pid 4) with threads_per
 * threads each; processor 0 runs the first thread of process 1 (or of System
 * when nprocs is 1), processor 1 runs System's second thread. 0 on success. */
int fake_world_build(struct fake_world *w, const struct fake_world_layout *lay, size_t nprocs,
                     unsigned threads_per);
void fake_world_free(struct fake_world *w);
/* A fresh mapped region of len bytes with a gap after it (bump allocator). */
uint64_t fake_world_alloc(struct fake_world *w, size_t len);

#endif
