/* sim_threads.h: processes and threads of the simulated kernel: EPROCESS
 * and ETHREAD objects at 19041's offsets, linked on PsActiveProcessHead and
 * both thread lists, each thread with its own stack whose frames are laid
 * through sim_stack. A switched-out thread ends in nt!KiSwapContext with a
 * KSWITCH_FRAME at KTHREAD.KernelStack whose Return is KiSwapContext's
 * return address; a running thread's RIP/RSP are in its processor's CONTEXT. */
#ifndef SIM_THREADS_H
#define SIM_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_kernel.h"

/* Adds a process; listed ones go on PsActiveProcessHead. */
int sim_threads_add_process(struct sim_kernel *k, uint32_t pid, const char *name,
                            uint32_t parent_pid, bool listed, uint32_t *index);

/* Adds a thread to process `process` with a new stack. user: it is a user
 * thread (TEB, system calls come from user mode). Starts switched out with
 * nothing laid (sim_threads_lay). */
int sim_threads_add(struct sim_kernel *k, uint32_t process, uint32_t tid, uint64_t start,
                    uint64_t win32_start, bool user, uint32_t *index);

/* Push environment of thread t (its stack, its processor's IST 1 stack). */
void sim_threads_env(const struct sim_kernel *k, uint32_t t, struct sim_stack_env *env);

/* Lays t's frames from scratch for chain[n] (no breakpoint checks). A
 * switched-out thread also gets its KSWITCH_FRAME and KernelStack. A chain
 * that does not fit is a scenario bug: KD_ERR_STATE. */
int sim_threads_lay(struct sim_kernel *k, uint32_t t, const struct sim_call *chain, size_t n);

/* Writes t's switch frame from its top frame and marks it waiting. */
int sim_threads_switch_out(struct sim_kernel *k, uint32_t t);

/* Makes t the current thread of cpu (the previous one is switched out when
 * it is not an idle thread: its chain must end in KiSwapContext). */
int sim_threads_run(struct sim_kernel *k, uint32_t t, uint16_t cpu);

/* Where t's stack is in use down to: RSP of its top frame when running,
 * KTHREAD.KernelStack when switched out. */
uint64_t sim_threads_sp(const struct sim_kernel *k, uint32_t t);

#endif
