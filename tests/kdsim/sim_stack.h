/* sim_stack.h: genuine x64 frames laid on simulated stacks. Every frame is
 * placed where the unwind info of its function (read by sim_pe from the
 * mingw-built images) says it is: at a RIP inside the function, the return
 * address sits at [sp + size], or, for a trap entry, a machine frame does.
 * A push that runs below StackLimit is reported as a fault at the exact
 * instruction that touched the guard page, as the CPU would. */
#ifndef SIM_STACK_H
#define SIM_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_images.h"
#include "sim_mem.h"

#define SIM_STACK_FAULTED 1 /* sim_stack_push/complete: the push ran past StackLimit */
#define SIM_RFLAGS_KERNEL 0x246

/* How a frame is entered (its caller's side). */
enum sim_via {
    SIM_VIA_CALL = 0, /* call: return address at sp + size */
    SIM_VIA_START,    /* outermost frame of a system thread: return address 0 */
    SIM_VIA_USER, /* outermost frame of a system call from user mode: machine frame at the top */
    SIM_VIA_ZW,   /* kernel Zw call: KiServiceLinkage leaf + machine frame below it */
    SIM_VIA_INTERRUPT, /* device interrupt on the same stack: machine frame, no error code */
    SIM_VIA_IST1,      /* double fault: machine frame with error code on the IST 1 stack */
    SIM_VIA_LEAF,      /* frames only: the KiServiceLinkage leaf a SIM_VIA_ZW lays */
};

struct sim_call {
    uint32_t fn; /* index in sim_images */
    uint8_t via; /* enum sim_via */
};

struct sim_frame {
    uint32_t fn;
    uint8_t via;
    bool entry;    /* at the first instruction: prolog not run yet */
    uint16_t pos;  /* position in the call chain that laid it */
    uint64_t sp;   /* RSP inside the function at rip (Child-SP) */
    uint64_t rip;  /* where it executes: its marked call's return address, an entry or a fault */
    uint32_t size; /* bytes the unwind info accounts for at rip (machine frame excluded) */
    uint64_t ret;  /* the caller's rip: return address or machine-frame RIP (0: none) */
    uint64_t caller_sp; /* the caller's sp (machine-frame RSP for traps) */
};

/* Frames of one thread, outermost first (they may continue on an IST stack). */
struct sim_stack {
    struct sim_frame *f;
    size_t n, cap;
};

/* Where pushes happen. */
struct sim_stack_env {
    struct sim_mem *mem;
    const struct sim_images *im;
    uint64_t limit;         /* StackLimit of the thread's stack: pushes below it fault */
    uint64_t initial_stack; /* KTHREAD.InitialStack */
    uint64_t ist1_top;      /* the CPU's TSS.Ist[1] */
    uint64_t user_rip;      /* user-mode caller of a SIM_VIA_USER system call */
    uint64_t user_rsp;
    uint32_t fn_service_linkage; /* nt!KiServiceLinkage */
};

/* The innermost state when a push faulted: the frame that touched the guard
 * page is the top frame (or, for a faulting call, the caller stays on top
 * with rip at its call instruction). */
struct sim_fault {
    uint64_t rip;
    uint64_t rsp;
    uint32_t fn;
};

/* Pushes one frame. With entry_only the frame stops at its first
 * instruction (a breakpoint there); sim_stack_complete runs its prolog later.
 * KD_OK, SIM_STACK_FAULTED (fault filled), or a negative kd_status. */
int sim_stack_push(struct sim_stack *st, const struct sim_stack_env *env, struct sim_call c,
                   uint16_t pos, bool entry_only, struct sim_fault *fault);

/* Runs the prolog of the top frame if it is still at its entry. */
int sim_stack_complete(struct sim_stack *st, const struct sim_stack_env *env,
                       struct sim_fault *fault);

/* Drops every frame laid for chain positions >= pos. */
void sim_stack_pop_to(struct sim_stack *st, uint16_t pos);

/* Top frame or NULL. */
const struct sim_frame *sim_stack_top(const struct sim_stack *st);

void sim_stack_fini(struct sim_stack *st);

#endif
