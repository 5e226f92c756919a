/* unwind_x64.h: a bounded x64 stack walker over target memory, driven by
 * the .pdata/UNWIND_INFO of the modules (kd-protocol.md §8): every UWOP code,
 * partial prologs, epilogs, chained and indirect entries, machine frames
 * (stack switches), leaf functions, and a marked scan when all else fails. */
#ifndef UNWIND_X64_H
#define UNWIND_X64_H

#include <stddef.h>
#include <stdint.h>

#include "unwind.h"

/* x64 register numbers as unwind codes use them. */
enum unwind_x64_reg {
    UNWIND_X64_RAX,
    UNWIND_X64_RCX,
    UNWIND_X64_RDX,
    UNWIND_X64_RBX,
    UNWIND_X64_RSP,
    UNWIND_X64_RBP,
    UNWIND_X64_RSI,
    UNWIND_X64_RDI,
    UNWIND_X64_R8,
    UNWIND_X64_R9,
    UNWIND_X64_R10,
    UNWIND_X64_R11,
    UNWIND_X64_R12,
    UNWIND_X64_R13,
    UNWIND_X64_R14,
    UNWIND_X64_R15,
};

#define UNWIND_X64_CONTEXT_SIZE 0x4D0

struct unwind_x64_regs {
    uint64_t gpr[16]; /* by enum unwind_x64_reg; gpr[RSP] is the stack pointer */
    uint64_t rip;
    uint64_t xmm[16][2]; /* low, high quadword */
    uint32_t known;      /* bit n: gpr[n] holds a real value (RSP always does) */
    uint32_t xmm_known;  /* bit n: xmm[n] restored from the stack */
};

/* Registers from an x64 CONTEXT (kd-protocol.md §4.1); len >= 0x100.
 * Integer registers are known, XMM registers are not taken. */
int unwind_x64_regs_from_context(const uint8_t *ctx, size_t len, struct unwind_x64_regs *out);

/* One virtual unwind (RtlVirtualUnwind's job): regs becomes the caller's
 * state through the unwind data of regs->rip, or the leaf rule when there is
 * none. No validation and no scan. exact: rip is where execution stopped
 * (first frame, after a machine frame) rather than a return address, so
 * epilogs are recognised. *flags gets UNWIND_FRAME_* bits.
 * KD_ERR_FORMAT: malformed or unreadable unwind data; KD_ERR_TARGET: stack
 * unreadable. regs is unchanged on error. */
int unwind_x64_step(const struct unwind_params *p, int exact, struct unwind_x64_regs *regs,
                    uint32_t *flags);

/* Walks from start, innermost frame first, into t (reset first). KD_OK
 * whenever a walk happened, whatever ended it (t->stop says why);
 * KD_ERR_ARG for missing arguments, KD_ERR_NOMEM. */
int unwind_x64_walk(const struct unwind_params *p, const struct unwind_x64_regs *start,
                    struct unwind_trace *t);

#endif
