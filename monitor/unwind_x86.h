/* unwind_x86.h: the 32-bit walk: saved-EBP chains checked against the stack,
 * a scan that resumes a broken chain (what seed 002 does by hand with dps),
 * and the x86 double fault's starting state, which the CPU saved in the TSS
 * (kd-protocol.md §6.2). Addresses in and out are sign-extended, as KD
 * carries them (see unwind.h). */
#ifndef UNWIND_X86_H
#define UNWIND_X86_H

#include <stddef.h>
#include <stdint.h>

#include "unwind.h"

#define UNWIND_X86_TSS_SIZE 0x68
#define UNWIND_X86_SEL_TSS 0x28    /* KGDT_TSS: the faulting task */
#define UNWIND_X86_SEL_DF_TSS 0x50 /* KGDT_DF_TSS: the task vector 8 switches to */
#define UNWIND_X86_KPCR_TSS 0x40   /* KPCR.TSS */

struct unwind_x86_regs {
    uint32_t eip, esp, ebp;
};

/* The 32-bit TSS fields a debugger uses (Intel layout). */
struct unwind_x86_tss {
    uint16_t backlink;
    uint32_t esp0, ss0, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, cs, ss, ds, fs, gs, ldt;
};

/* Decodes a TSS from len >= 0x68 bytes. */
int unwind_x86_tss_decode(const uint8_t *b, size_t len, struct unwind_x86_tss *out);
/* Base of a GDT descriptor: bytes[2..3] | byte[4] << 16 | byte[7] << 24. */
uint32_t unwind_x86_gdt_base(const uint8_t desc[8]);
/* Reads the TSS that selector sel names in the GDT at gdt_base; KD_ERR_FORMAT
 * when that descriptor is not a present 32-bit TSS (available or busy). */
int unwind_x86_read_tss(const struct kd_target *t, uint32_t gdt_base, uint16_t sel,
                        struct unwind_x86_tss *out);
/* The faulting state of a double fault: the TSS the double-fault task links
 * back to (selector 0x28 when the link is unusable) through the GDT, else the
 * TSS that KPCR+0x40 points to. gdt_base or kpcr may be 0 (unknown). tss may
 * be NULL. */
int unwind_x86_double_fault_state(const struct kd_target *t, uint32_t gdt_base, uint32_t kpcr,
                                  struct unwind_x86_tss *tss, struct unwind_x86_regs *regs);

/* Walks the EBP chain from start into t (reset first). Each frame's sp is
 * its ESP (the first from start, the others the callee's EBP + 8), fp its
 * EBP (ChildEBP), so size equals kf's ChildEBP differences. KD_OK whenever a
 * walk happened (t->stop says why it ended); KD_ERR_ARG, KD_ERR_NOMEM. */
int unwind_x86_walk(const struct unwind_params *p, const struct unwind_x86_regs *start,
                    struct unwind_trace *t);

#endif
