/* threads.h: processes and their threads, and each thread's kernel-stack
 * usage. The list is walked once (bounded, loop-checked, Blinks checked) and
 * cached; a sample then costs one read per thread (the stack block) plus one
 * GetContext per running processor.
 *
 * Usage is measured like WinDbg's `!thread` "Stack Init" / "Current" / "Limit":
 *   used     = InitialStack - sp
 *   headroom = sp - StackLimit
 *   percent  = used / (InitialStack - StackLimit)
 * InitialStack rather than StackBase, because the bytes between them (the
 * NPX/XSAVE save area) are never available to calls; StackBase - StackLimit
 * is reported as the allocation size. sp is KernelStack for a thread that is
 * not running and the RSP of its processor's context for a running one
 * (the per-CPU current thread from KPRCB.CurrentThread). */
#ifndef THREADS_H
#define THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kd_target.h"
#include "kdbg.h"
#include "offsets.h"

#define THREADS_MAX_PROCESSES 16384
#define THREADS_MAX_PER_PROCESS 65536
#define THREADS_MAX_TOTAL 262144
#define THREADS_MAX_CPUS 256
/* A read's fixed cost on a 115200-baud link is ~178 bytes' worth: two
 * fields closer than this share one read, farther ones get their own. */
#define THREADS_MERGE_GAP 178u

struct threads_process {
    uint64_t eprocess;
    uint32_t pid;
    char name[16];       /* ImageFileName, non-printables as '?' */
    size_t first, count; /* its threads in threads_list.v */
    int status;          /* KD_OK when its thread list walked back to the head */
};

struct threads_thread {
    uint64_t kthread; /* = ETHREAD */
    size_t process;   /* index in threads_list.procs */
    uint32_t tid;
    uint64_t start; /* Win32StartAddress, else StartAddress, else 0 */
    /* the last stack block read (threads_read_stack) */
    uint64_t initial_stack, stack_limit, stack_base, kernel_stack;
    uint8_t state;
    bool have_block, have_state;
};

struct threads_list {
    struct threads_process *procs;
    size_t nprocs;
    struct threads_thread *v;
    size_t n;
    bool complete; /* every walk came back to its head */
    int status;    /* first error met, KD_OK if none */
};

struct threads_list *threads_new(void); /* NULL on allocation failure */
void threads_free(struct threads_list *l);

/* Walks the process list at process_head (PsActiveProcessHead) and every
 * process's thread list with the offsets in o, replacing l's contents.
 * A bad process link ends the walk (l keeps what was read, complete =
 * false, the error returned); a bad thread link ends that process's walk
 * only (its status records it, the walk goes on, l->status keeps the first
 * error). KD_ERR_STATE when o lacks a needed offset. */
int threads_enumerate(const struct kd_target *t, const struct offsets *o, uint64_t process_head,
                      struct threads_list *l);

/* How the stack block is read for these offsets: the span of the four stack
 * fields, and whether State joins it (*state_merged) or needs a read of its own. */
void threads_block_plan(const struct offsets *o, uint32_t *start, uint32_t *len,
                        bool *state_merged);

#define THREADS_READ_STATE 1u /* also read KTHREAD.State (a 2nd read if not merged) */
/* Reads the stack block of th: one read (two with THREADS_READ_STATE when
 * State is far from the block). */
int threads_read_stack(const struct kd_target *t, const struct offsets *o,
                       struct threads_thread *th, unsigned flags);

struct threads_cpu {
    uint64_t thread; /* KPRCB.CurrentThread */
    uint64_t rsp;    /* CONTEXT.Rsp from GetContext(cpu) */
    bool valid;
    uint64_t prcb; /* KiProcessorBlock[cpu]: found once, kept across samples (0: not yet) */
};

/* For cpu 0..ncpus-1: current thread and RSP. A processor whose data cannot
 * be read is left invalid (not an error); KD_ERR_ARG for ncpus over the cap.
 * cpus[].prcb is kept from a previous call (the KPRCB never moves), so a
 * sample costs one read and one context per processor. */
int threads_cpus(const struct kd_target *t, const struct kdbg *k, uint32_t ncpus,
                 struct threads_cpu *cpus);

struct threads_usage {
    uint64_t sp;
    int cpu;               /* processor it runs on, -1 when not running */
    bool on_stack;         /* StackLimit <= sp <= InitialStack: the numbers below hold */
    uint64_t used;         /* InitialStack - sp */
    uint64_t headroom;     /* sp - StackLimit */
    uint64_t usable;       /* InitialStack - StackLimit */
    uint64_t size;         /* StackBase - StackLimit */
    uint32_t percent_x100; /* used * 10000 / usable */
};

/* Pure: usage of th from its last block and the processors' state. A running
 * thread whose RSP is off its stack (a DPC/ISR stack, a callout segment) has
 * on_stack = false. KD_ERR_STATE when th has no block. */
int threads_usage(const struct threads_thread *th, const struct threads_cpu *cpus, uint32_t ncpus,
                  struct threads_usage *u);

/* Reads every thread's block (flags as threads_read_stack) and fills
 * usage[l->n]. A thread whose read fails gets on_stack = false, sp = 0; the
 * first error is returned after all threads were tried. */
int threads_sample(const struct kd_target *t, const struct offsets *o, struct threads_list *l,
                   const struct threads_cpu *cpus, uint32_t ncpus, unsigned flags,
                   struct threads_usage *usage);

#endif
