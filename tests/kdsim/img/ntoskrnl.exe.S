/* ntoskrnl.exe.S: the kernel entries whose unwind info a C compiler cannot
 * write: trap entries start with a machine frame (UWOP_PUSH_MACHFRAME), and
 * the debugger break is a bare int3. Registered in .simfn/.simcs like the C
 * functions (see sim_img.h). Prologue shapes after the real kernel's:
 * push rbp; sub rsp, 0x158; lea rbp, [rsp+0x80]. */

    .macro SIM_TRAP name, code
    .text
    .p2align 4
    .def \name; .scl 2; .type 32; .endef
    .seh_proc \name
\name:
    .ifc \code,code
    .seh_pushframe code
    .else
    .seh_pushframe
    .endif
    push %rbp
    .seh_pushreg %rbp
    sub $0x158, %rsp
    .seh_stackalloc 0x158
    lea 0x80(%rsp), %rbp
    .seh_setframe %rbp, 0x80
    .seh_endprologue
    call *sim_img_next(%rip)
1:  nop
    lea 0xd8(%rbp), %rsp
    pop %rbp
    iretq
    .seh_endproc
    .section .simcs,"dr"
    .rva 1b
    .section .simfn,"dr"
    .rva \name
    .asciz "\name"
    .text
    .endm

    /* Double fault: the CPU pushed an error code, on IST 1. */
    SIM_TRAP KiDoubleFaultAbort, code
    /* System service dispatch: its trap frame's machine frame leads to the caller. */
    SIM_TRAP KiSystemServiceCopyEnd, none
    /* Device interrupt (the clock): no error code, same stack. */
    SIM_TRAP KiInterruptDispatchNoLockNoEtw, none

    /* DbgBreakPointWithStatus: a leaf, no .pdata; KDBG.BreakpointWithStatus
     * points at its int3 (RtlpBreakWithStatusInstruction). */
    .text
    .p2align 4
    .globl DbgBreakPointWithStatus
    .def DbgBreakPointWithStatus; .scl 2; .type 32; .endef
DbgBreakPointWithStatus:
RtlpBreakWithStatusInstruction:
    int3
    ret
    /* KiServiceLinkage: where a kernel-mode Zw call "returns" through: a bare ret. */
    .p2align 4
KiServiceLinkage:
    ret
    .section .simfn,"dr"
    .rva DbgBreakPointWithStatus
    .asciz "DbgBreakPointWithStatus"
    .rva RtlpBreakWithStatusInstruction
    .asciz "RtlpBreakWithStatusInstruction"
    .rva KiServiceLinkage
    .asciz "KiServiceLinkage"
    .irp sym, PsLoadedModuleList, PsInitialSystemProcess, KeNumberProcessors, PsActiveProcessHead, KiProcessorBlock, KiBugCheckData, KdpDebuggerDataListHead, KdDebuggerDataBlock, KdVersionBlock, KiBugCheckContext
    .rva \sym
    .asciz "\sym"
    .endr
    .section .drectve,"yn"
    .ascii " -export:DbgBreakPointWithStatus"
