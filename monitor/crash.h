/* crash.h: what the monitor keeps of an x64 crash. The caller owns the
 * breakpoints and tells this module which stop it is in; each call reads
 * the stopped target (context, stack, control space) and adds to one
 * record: the bugcheck code and arguments, which stops were seen, the
 * faulting RSP/RIP, the thread and its stack, and the unwound frame list.
 * Stops arrive in the order design.md §6 gives (double fault, KeBugCheckEx,
 * the kernel's bugcheck break), any of them possibly missing. */
#ifndef CRASH_H
#define CRASH_H

#include <stdint.h>

#include "unwind.h"

enum crash_seen {
    CRASH_SEEN_DOUBLE_FAULT = 1 << 0,   /* breakpoint at KiDoubleFaultAbort (IDT vector 8) */
    CRASH_SEEN_KEBUGCHECKEX = 1 << 1,   /* breakpoint at KeBugCheckEx's first instruction */
    CRASH_SEEN_BUGCHECK_BREAK = 1 << 2, /* exception 0x80000003 at KDBG.BreakpointWithStatus */
};

#define CRASH_DOUBLE_FAULT_CODE 0x7F /* UNEXPECTED_KERNEL_MODE_TRAP, Arg1 8 */

struct crash_env {
    const struct kd_target *target;
    const struct unwind_lookup *lookup; /* may be NULL: frames without module knowledge */
    uint16_t cpu;                       /* the processor that stopped */
    /* The faulting thread's stack when the caller knows it (0: unknown) ... */
    uint64_t stack_limit, stack_base;
    /* ... else read from the KTHREAD at these offsets (0: unknown; Win8+ x64 0x30/0x38). */
    uint32_t kthread_stack_limit, kthread_stack_base;
    uint32_t prcb_current_thread; /* KPRCB.CurrentThread offset for the fallback (0: 8) */
    uint64_t ist_limit, ist_base; /* the double-fault IST stack if known (0: unknown) */
    uint64_t bugcheck_data;       /* address of KiBugcheckData (KDBG+0x88 holds it); 0: unknown */
};

struct crash_record {
    uint32_t seen; /* enum crash_seen bits */
    int have_code;
    uint32_t code;
    uint64_t args[4];
    int have_fault; /* fault_rip/fault_rsp hold the faulting thread's state */
    uint64_t fault_rip, fault_rsp;
    uint64_t ist_rsp; /* RSP at the double-fault handler's entry (IST stack); 0 unknown */
    uint64_t thread;  /* KTHREAD; 0 unknown */
    uint64_t stack_limit, stack_base; /* the thread's stack; 0 unknown */
    uint32_t trace_from; /* the stop (enum crash_seen) the frame list comes from; 0 none */
    struct unwind_trace trace;
};

int crash_record_init(struct crash_record *r);
void crash_record_fini(struct crash_record *r);
/* 1 when the record holds bugcheck 0x7F with Arg1 8. */
int crash_record_is_double_fault(const struct crash_record *r);

/* At the KiDoubleFaultAbort breakpoint: reads the hardware frame on the IST
 * stack, checks it (CS 0x10, SS 0x18 or 0, canonical RSP), and unwinds the
 * faulting thread from that RSP/RIP; frame 0 is the handler on the IST
 * stack, marked as a machine frame and a stack switch. KD_ERR_FORMAT when
 * the frame does not look like a kernel #DF frame (nothing is unwound). */
int crash_on_double_fault(struct crash_record *r, const struct crash_env *env);
/* At KeBugCheckEx's entry: code = RCX, P1..P3 = RDX, R8, R9, P4 = [RSP+0x28];
 * unwinds from there unless a double fault already gave the frame list. */
int crash_on_kebugcheckex(struct crash_record *r, const struct crash_env *env);
/* At the kernel's own bugcheck break: code and arguments from KiBugcheckData
 * (5 pointer-sized values); unwinds only when no earlier stop did. */
int crash_on_bugcheck_break(struct crash_record *r, const struct crash_env *env);

#endif
