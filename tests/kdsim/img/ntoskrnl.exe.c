/* ntoskrnl.exe for kdsim: the kernel functions the scenarios' stacks pass
 * through (names and frame sizes after the seeds' WinDbg output), the IDT
 * handlers, and the kernel data the debugger finds (module list head, KDBG,
 * processor block, bugcheck data). Exports follow what the real kernel
 * exports; everything else is found by the monitor through KDBG, the IDT or
 * nearest-export symbolization. Trap entries and the break instruction are in
 * ntoskrnl.exe.S. */
#include "sim_img.h"

SIM_IMAGE_GLOBALS

/* Exported kernel data. Their .simfn records are in ntoskrnl.exe.S: a
 * top-level asm between two data definitions would confuse the compiler's
 * idea of the current section. */
__declspec(dllexport) unsigned long long PsLoadedModuleList[2];
__declspec(dllexport) unsigned long long PsInitialSystemProcess;
__declspec(dllexport) char KeNumberProcessors;

/* Internal kernel data (KDBG points at these). */
unsigned long long PsActiveProcessHead[2];
unsigned long long KiProcessorBlock[64];
unsigned long long KiBugCheckData[5];
unsigned long long KdpDebuggerDataListHead[2];
unsigned long long KdDebuggerDataBlock[0x380 / 8];
unsigned long long KdVersionBlock[0x28 / 8];
unsigned long long KiBugCheckContext[0x4D0 / 8];

/* Boot, idle, thread start and wait. */
SIM_FN(KiSystemStartup, 0x30)
SIM_FN(KiIdleLoop, 0x58)
SIM_FN(KiStartSystemThread, 0x10)
SIM_FN(PspSystemThreadStartup, 0x38)
SIM_FN3(ExpWorkerThread, 0xd8)
SIM_FN3(KeRemovePriQueue, 0x98)
SIM_XFN3(KeWaitForSingleObject, 0x88)
SIM_XFN(KeWaitForMultipleObjects, 0xa8)
SIM_XFN(KeDelayExecutionThread, 0x58)
SIM_FN(KeRemoveQueueEx, 0x78)
SIM_FN3(KiCommitThreadWait, 0x58)
SIM_FN3(KiSwapThread, 0x48)
SIM_FN(KiSwapContext, 0x18)

/* System services a waiting user thread sits in. */
SIM_XFN(NtWaitForSingleObject, 0x48)
SIM_XFN(NtWaitForMultipleObjects, 0x1e8)
SIM_XFN(NtDelayExecution, 0x28)
SIM_XFN(NtRemoveIoCompletion, 0x78)
SIM_XFN(NtDeviceIoControlFile, 0x48)
SIM_FN3(IopXxxControlFile, 0x1a8)

/* Clock interrupt path to the break-in check. */
SIM_FN(KeClockInterruptNotify, 0x68)
SIM_FN(KeAccumulateTicks, 0x58)
SIM_FN(KdCheckForDebugBreak, 0x10)

/* Bugcheck. */
SIM_FN(KiBugCheckDispatch, 0x118)
SIM_XFN(KeBugCheckEx, 0x10)
SIM_FN3(KeBugCheck2, 0x158)
SIM_FN(KiBugCheckDebugBreak, 0x10)

/* I/O manager, object manager, cache and memory manager (seed 000/001). */
SIM_XFN(IofCallDriver, 0x18)
SIM_XFN(IofCompleteRequest, 0x18)
SIM_FN3(IopfCompleteRequest, 0xc8)
SIM_FN(IopSynchronousServiceTail, 0x88)
SIM_FN(IopWriteFile, 0x198)
SIM_XFN(NtWriteFile, 0x68)
SIM_FN3(IopParseDevice, 0x1b8)
SIM_FN3(ObpLookupObjectName, 0x1c8)
SIM_FN(ObOpenObjectByNameEx, 0x118)
SIM_FN(IopCreateFile, 0x88)
SIM_XFN(NtCreateFile, 0x68)
SIM_XFN(IoSynchronousPageWrite, 0x98)
SIM_FN3(MiFlushSectionInternal, 0x4e8)
SIM_FN(MmFlushSection, 0x88)
SIM_FN3(CcFlushCachePriv, 0x178)
SIM_XFN(CcFlushCache, 0x48)
SIM_XFN(RtlDecompressBufferEx, 0xcd8)

/* IDT handlers other than the ones in ntoskrnl.exe.S. */
SIM_FN(KiDivideErrorFault, 0x10)
SIM_FN(KiDebugTrapOrFault, 0x10)
SIM_FN(KiNmiInterrupt, 0x10)
SIM_FN(KiBreakpointTrap, 0x10)
SIM_FN(KiOverflowTrap, 0x10)
SIM_FN(KiBoundFault, 0x10)
SIM_FN(KiInvalidOpcodeFault, 0x10)
SIM_FN(KiNpxNotAvailableFault, 0x10)
SIM_FN(KiNpxSegmentOverrunAbort, 0x10)
SIM_FN(KiInvalidTssFault, 0x10)
SIM_FN(KiSegmentNotPresentFault, 0x10)
SIM_FN(KiStackFault, 0x10)
SIM_FN(KiGeneralProtectionFault, 0x10)
SIM_FN(KiPageFault, 0x10)
SIM_FN(KiFloatingErrorFault, 0x10)
SIM_FN(KiAlignmentFault, 0x10)
SIM_FN(KiMcheckAbort, 0x10)
SIM_FN(KiXmmException, 0x10)
SIM_FN(KiApcInterrupt, 0x10)
SIM_FN(KiDpcInterrupt, 0x10)
SIM_FN(KiIpiInterrupt, 0x10)
SIM_FN(KiUnexpectedInterrupt, 0x10)
SIM_FN(KiSystemCall64, 0x10)
