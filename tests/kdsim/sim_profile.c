/* sim_profile.c: the 19041 profile as a named table with a source per value. */
#include "sim_profile.h"

#include <string.h>

#include "kd_status.h"

#define KT "NTDIFF-KT"
#define EP "NTDIFF-EP"
#define ET "NTDIFF-ET"
#define PCR "NTDIFF-PCR"

static const struct sim_profile_field table[] = {
    {"Build", SIM_BUILD, "Windows 10 2004 (20H1) x64"},
    {"KTHREAD.InitialStack", SIM_KTHREAD_INITIAL_STACK, KT},
    {"KTHREAD.StackLimit", SIM_KTHREAD_STACK_LIMIT, KT},
    {"KTHREAD.StackBase", SIM_KTHREAD_STACK_BASE, KT},
    {"KTHREAD.KernelStack", SIM_KTHREAD_KERNEL_STACK, KT},
    {"KTHREAD.ApcState.Process", SIM_KTHREAD_APC_PROCESS, KT " (ApcState 0x98 + 0x20)"},
    {"KTHREAD.Teb", SIM_KTHREAD_TEB, KT},
    {"KTHREAD.State", SIM_KTHREAD_STATE, KT},
    {"KTHREAD.WaitReason", SIM_KTHREAD_WAIT_REASON, KT},
    {"KTHREAD.QueueListEntry", SIM_KTHREAD_QUEUE_LIST_ENTRY, KT},
    {"KTHREAD.NextProcessor", SIM_KTHREAD_NEXT_PROCESSOR, KT},
    {"KTHREAD.Process", SIM_KTHREAD_PROCESS, KT},
    {"KTHREAD.ThreadListEntry", SIM_KTHREAD_THREAD_LIST_ENTRY, KT},
    {"KTHREAD.Size", SIM_KTHREAD_SIZE, KT},
    {"ETHREAD.StartAddress", SIM_ETHREAD_START_ADDRESS, ET},
    {"ETHREAD.Cid", SIM_ETHREAD_CID, ET},
    {"ETHREAD.IrpList", SIM_ETHREAD_IRP_LIST, ET},
    {"ETHREAD.Win32StartAddress", SIM_ETHREAD_WIN32_START_ADDRESS, ET},
    {"ETHREAD.ThreadListEntry", SIM_ETHREAD_THREAD_LIST_ENTRY, ET},
    {"ETHREAD.Size", SIM_ETHREAD_SIZE, ET},
    {"KPROCESS.DirectoryTableBase", SIM_KPROCESS_DIRECTORY_TABLE_BASE, EP},
    {"KPROCESS.ThreadListHead", SIM_KPROCESS_THREAD_LIST_HEAD, EP},
    {"EPROCESS.UniqueProcessId", SIM_EPROCESS_UNIQUE_PROCESS_ID, EP},
    {"EPROCESS.ActiveProcessLinks", SIM_EPROCESS_ACTIVE_PROCESS_LINKS, EP},
    {"EPROCESS.InheritedFromUniqueProcessId", SIM_EPROCESS_INHERITED_FROM_PID, EP},
    {"EPROCESS.Peb", SIM_EPROCESS_PEB, EP},
    {"EPROCESS.ImageFileName", SIM_EPROCESS_IMAGE_FILE_NAME, EP},
    {"EPROCESS.ThreadListHead", SIM_EPROCESS_THREAD_LIST_HEAD, EP},
    {"EPROCESS.ActiveThreads", SIM_EPROCESS_ACTIVE_THREADS, EP},
    {"EPROCESS.Size", SIM_EPROCESS_SIZE, EP},
    {"KPCR.GdtBase", SIM_KPCR_GDT_BASE, PCR},
    {"KPCR.TssBase", SIM_KPCR_TSS_BASE, PCR},
    {"KPCR.Self", SIM_KPCR_SELF, PCR},
    {"KPCR.CurrentPrcb", SIM_KPCR_CURRENT_PRCB, PCR},
    {"KPCR.IdtBase", SIM_KPCR_IDT_BASE, PCR},
    {"KPCR.KdVersionBlock", SIM_KPCR_KD_VERSION_BLOCK, PCR},
    {"KPCR.Prcb", SIM_KPCR_PRCB, PCR},
    {"KPCR.Size", SIM_KPCR_SIZE, PCR},
    {"KPRCB.CurrentThread", SIM_KPRCB_CURRENT_THREAD, PCR},
    {"KPRCB.NextThread", SIM_KPRCB_NEXT_THREAD, PCR},
    {"KPRCB.IdleThread", SIM_KPRCB_IDLE_THREAD, PCR},
    {"KPRCB.Number", SIM_KPRCB_NUMBER, PCR},
    {"KPRCB.ProcessorState", SIM_KPRCB_PROC_STATE, PCR},
    {"KPRCB.ProcessorState.ContextFrame", SIM_KPRCB_PROC_STATE_CONTEXT, PCR},
    {"KPRCB.DpcStack", SIM_KPRCB_DPC_STACK, PCR},
    {"KPRCB.Context", SIM_KPRCB_CONTEXT, PCR},
    {"KPRCB.IsrStack", SIM_KPRCB_ISR_STACK, PCR},
    {"KPRCB.Size", SIM_KPRCB_SIZE, PCR},
    {"KSPECIAL_REGISTERS.Idtr.Limit", SIM_KSPECIAL_IDTR_LIMIT, PCR " and KDP 4.3"},
    {"KSPECIAL_REGISTERS.Idtr.Base", SIM_KSPECIAL_IDTR_BASE, PCR " and KDP 4.3"},
    {"KSPECIAL_REGISTERS.Size", SIM_KSPECIAL_SIZE, PCR},
    {"CONTEXT.Rsp", SIM_CONTEXT_RSP, "KDP 4.1, " PCR},
    {"CONTEXT.Rip", SIM_CONTEXT_RIP, "KDP 4.1, " PCR},
    {"CONTEXT.Size", SIM_CONTEXT_SIZE, "KDP 4.1, " PCR},
    {"KTSS64.Ist1", SIM_KTSS_IST1, "KDP 6.1"},
    {"KLDR_DATA_TABLE_ENTRY.DllBase", SIM_KLDR_DLL_BASE, "KDP 8.4"},
    {"KLDR_DATA_TABLE_ENTRY.SizeOfImage", SIM_KLDR_SIZE_OF_IMAGE, "KDP 8.4"},
    {"KLDR_DATA_TABLE_ENTRY.BaseDllName", SIM_KLDR_BASE_DLL_NAME, "KDP 8.4"},
    {"KSWITCH_FRAME.Return", SIM_KSWITCH_FRAME_RETURN, "WRK x64 layout; 19041 UNVERIFIED"},
    {"KernelStackSize", SIM_KERNEL_STACK_SIZE, "KDP 7.3"},
    {"InitialStackGap", SIM_INITIAL_STACK_GAP, "Win10 !thread output; UNVERIFIED"},
    {"KDBG.Size", SIM_KDBG_SIZE, "KDP 5.2 (RS5+ layout ends at 0x380)"},
    {"KDBG.OffsetKThreadInitialStack", SIM_KDBG_OFF_KTHREAD_INITIAL_STACK, "KDP 5.2"},
    {"KDBG.OffsetKThreadKernelStack", SIM_KDBG_OFF_KTHREAD_KERNEL_STACK, "KDP 5.2"},
    {"KDBG.OffsetKThreadApcProcess", SIM_KDBG_OFF_KTHREAD_APC_PROCESS, "KDP 5.2"},
    {"KDBG.OffsetKThreadState", SIM_KDBG_OFF_KTHREAD_STATE, "KDP 5.2"},
    {"KDBG.OffsetKThreadStackLimit", SIM_KDBG_OFF_KTHREAD_STACK_LIMIT, "KDP 5.2"},
    {"KDBG.OffsetKThreadStackBase", SIM_KDBG_OFF_KTHREAD_STACK_BASE, "KDP 5.2"},
    {"KDBG.OffsetPrcbCurrentThread", SIM_KDBG_OFF_PRCB_CURRENT_THREAD, "KDP 5.2"},
    {"KDBG.OffsetPrcbDpcStack", SIM_KDBG_OFF_PRCB_DPC_STACK, "KDP 5.2"},
    {"KDBG.OffsetPrcbIsrStack", SIM_KDBG_OFF_PRCB_ISR_STACK, "KDP 5.2"},
    {"KDBG.KiProcessorBlock", SIM_KDBG_KI_PROCESSOR_BLOCK, "KDP 5.2"},
    {"KDBG.PsLoadedModuleList", SIM_KDBG_PS_LOADED_MODULE_LIST, "KDP 5.2"},
    {"KDBG.PsActiveProcessHead", SIM_KDBG_PS_ACTIVE_PROCESS_HEAD, "KDP 5.2"},
    {"KDBG.KiBugcheckData", SIM_KDBG_KI_BUGCHECK_DATA, "KDP 5.2"},
    {"KDBG.BreakpointWithStatus", SIM_KDBG_BREAKPOINT_WITH_STATUS, "KDP 5.2"},
    {"KDBG.SavedContext", SIM_KDBG_SAVED_CONTEXT, "KDP 5.2"},
    {"Version.MajorVersion", SIM_VERSION_MAJOR, "KDP 3.1"},
    {"Version.MinorVersion", SIM_BUILD, "KDP 3.1"},
    {"Version.ProtocolVersion", SIM_VERSION_PROTOCOL, "KDP 3.1"},
    {"Version.KdSecondaryVersion", SIM_VERSION_SECONDARY, "KDP 3.1"},
    {"Version.Flags", SIM_VERSION_FLAGS, "KDP 3.1 (Win 8.1 kernel VEC)"},
    {"Version.MachineType", SIM_VERSION_MACHINE, "KDP 3.1"},
    {"Version.MaxPacketType", SIM_VERSION_MAX_PACKET, "KDP 3.1"},
    {"Version.MaxStateChange", SIM_VERSION_MAX_STATE_CHANGE, "KDP 3.1"},
    {"Version.MaxManipulate", SIM_VERSION_MAX_MANIPULATE, "KDP 3.1 (Win 8.1 VEC; UNVERIFIED)"},
};

const struct sim_profile_field *sim_profile_table(size_t *count)
{
    if (count)
        *count = sizeof(table) / sizeof(table[0]);
    return table;
}

int sim_profile_lookup(const char *name, uint32_t *value)
{
    for (size_t i = 0; name && i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].name, name) == 0) {
            if (value)
                *value = table[i].value;
            return KD_OK;
        }
    }
    return KD_ERR_NOTFOUND;
}
