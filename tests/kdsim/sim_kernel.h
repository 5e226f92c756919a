/* sim_kernel.h: the simulated Windows 10 19041 x64 machine in memory: the
 * module images mapped at their bases with a PsLoadedModuleList of
 * KLDR_DATA_TABLE_ENTRYs, a plain KDDEBUGGER_DATA64 on the debugger data
 * list, per-processor KPCR/KPRCB (special registers and CONTEXT inside
 * KPRCB.ProcessorState), GDT, TSS with IST stacks, IDT (vector 8 ->
 * KiDoubleFaultAbort, IST 1), the Idle and System processes and one idle
 * thread per processor. Processes and threads are added by sim_threads. */
#ifndef SIM_KERNEL_H
#define SIM_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_images.h"
#include "sim_mem.h"
#include "sim_profile.h"
#include "sim_stack.h"

#define SIM_MAX_CPUS 16
#define SIM_NO_FN UINT32_MAX

/* KTHREAD.State values (kd-protocol.md §7.2). */
#define SIM_THREAD_RUNNING 2
#define SIM_THREAD_WAITING 5

struct sim_thread {
    uint64_t ethread; /* ETHREAD = KTHREAD address */
    uint32_t process; /* index in sim_kernel.procs */
    uint32_t tid;
    uint64_t stack_base, stack_limit, initial_stack;
    uint64_t kernel_stack;       /* as in KTHREAD.KernelStack */
    uint64_t user_rip, user_rsp; /* the user-mode side of its system calls */
    int cpu;                     /* processor it runs on, -1 when switched out */
    struct sim_stack stack;      /* frames laid now */
};

struct sim_process {
    uint64_t eprocess;
    uint32_t pid;
    char name[16];
    bool listed; /* on PsActiveProcessHead (the Idle process is not) */
};

struct sim_cpu {
    uint64_t kpcr, kprcb, gdt, tss, idt;
    uint64_t ist_top[4]; /* TSS.Ist[1..3] (index 0 unused) */
    uint64_t dpc_stack, isr_stack;
    uint32_t thread;      /* current thread (index) */
    uint32_t idle_thread; /* its idle thread (index) */
};

/* Volatile registers a stop reports besides RIP/RSP (bugcheck arguments,
 * the break status in RCX). */
struct sim_regs {
    uint64_t rcx, rdx, r8, r9;
};

struct sim_kernel {
    struct sim_mem *mem;
    struct sim_images im;
    uint16_t ncpus;
    struct sim_cpu cpu[SIM_MAX_CPUS];
    struct sim_process *procs;
    size_t nprocs, procs_cap;
    struct sim_thread *threads;
    size_t nthreads, threads_cap;
    /* Kernel addresses a debugger finds. */
    uint64_t kern_base;              /* nt DllBase */
    uint64_t module_list;            /* PsLoadedModuleList (head) */
    uint64_t debugger_data_list;     /* KdpDebuggerDataListHead */
    uint64_t kdbg;                   /* KdDebuggerDataBlock */
    uint64_t process_head;           /* PsActiveProcessHead */
    uint64_t processor_block;        /* KiProcessorBlock */
    uint64_t bugcheck_data;          /* KiBugCheckData[5] */
    uint64_t bugcheck_context;       /* KDBG.SavedContext target */
    uint64_t breakpoint_with_status; /* the int3 of DbgBreakPointWithStatus */
    /* Allocators. */
    uint64_t pool_next, pool_end;
    uint64_t stack_next;
    uint32_t idle_process, system_process;
};

/* Builds the machine with ncpus processors (1..SIM_MAX_CPUS). Idle threads
 * run KiIdleLoop on every processor. */
int sim_kernel_new(uint16_t ncpus, struct sim_kernel **out);
void sim_kernel_free(struct sim_kernel *k);

/* DBGKD_GET_VERSION64 of this target (kd-protocol.md §3.1). */
void sim_kernel_version(const struct sim_kernel *k, uint8_t out[SIM_VERSION_SIZE]);

/* Function index of module!name, SIM_NO_FN when absent. */
uint32_t sim_kernel_fn(const struct sim_kernel *k, const char *module, const char *name);

/* Bump allocation in the simulated pool (16-byte aligned, zeroed). */
int sim_kernel_alloc(struct sim_kernel *k, uint32_t size, uint64_t *addr);

/* Maps a fresh 24 KiB stack with an unmapped guard page below it. */
int sim_kernel_new_stack(struct sim_kernel *k, uint64_t *limit, uint64_t *base);

/* Address of the CONTEXT the debugger gets for cpu (KPRCB.ProcessorState.ContextFrame). */
uint64_t sim_kernel_context_addr(const struct sim_kernel *k, uint16_t cpu);

/* Writes cpu's CONTEXT from its current thread's top frame (RIP, RSP, RBP)
 * and regs (may be NULL). */
int sim_kernel_sync_cpu(struct sim_kernel *k, uint16_t cpu, const struct sim_regs *regs);

#endif
