/* kd_api.c: name tables for DBGKD numbers and the DBGKD_GET_VERSION64 block.
 * The manipulate, state-change and I/O codecs live in kd_api_manip.c,
 * kd_api_state.c and kd_api_io.c; all share kd_api.h. */
#include "kd_api.h"

#include "kd_le.h"
#include "kd_status.h"

_Static_assert(KD_API_VERSION_SIZE == 0x28, "DBGKD_GET_VERSION64 is 0x28 bytes");
_Static_assert(KD_API_VERSION_SIZE == KD_API_MANIP_UNION_SIZE,
               "GetVersion fills the whole manipulate union");
_Static_assert(KD_API_MANIP_DATA_MAX == 3944, "kernel read clamp is 4000 - 0x38");
/* The named x64 GPR offsets agree with the register-number macro. */
_Static_assert(KD_API_CONTEXT_AMD64_REG(1) == KD_API_CONTEXT_AMD64_RCX, "Rcx");
_Static_assert(KD_API_CONTEXT_AMD64_REG(2) == KD_API_CONTEXT_AMD64_RDX, "Rdx");
_Static_assert(KD_API_CONTEXT_AMD64_REG(4) == KD_API_CONTEXT_AMD64_RSP, "Rsp");
_Static_assert(KD_API_CONTEXT_AMD64_REG(5) == KD_API_CONTEXT_AMD64_RBP, "Rbp");
_Static_assert(KD_API_CONTEXT_AMD64_REG(8) == KD_API_CONTEXT_AMD64_R8, "R8");
_Static_assert(KD_API_CONTEXT_AMD64_REG(16) == KD_API_CONTEXT_AMD64_RIP, "Rip follows R15");

struct name_entry {
    uint32_t value;
    const char *name;
};

static const struct name_entry api_names[] = {
    {DbgKdReadVirtualMemoryApi, "ReadVirtualMemory"},
    {DbgKdWriteVirtualMemoryApi, "WriteVirtualMemory"},
    {DbgKdGetContextApi, "GetContext"},
    {DbgKdSetContextApi, "SetContext"},
    {DbgKdWriteBreakPointApi, "WriteBreakPoint"},
    {DbgKdRestoreBreakPointApi, "RestoreBreakPoint"},
    {DbgKdContinueApi, "Continue"},
    {DbgKdReadControlSpaceApi, "ReadControlSpace"},
    {DbgKdWriteControlSpaceApi, "WriteControlSpace"},
    {DbgKdReadIoSpaceApi, "ReadIoSpace"},
    {DbgKdWriteIoSpaceApi, "WriteIoSpace"},
    {DbgKdRebootApi, "Reboot"},
    {DbgKdContinueApi2, "Continue2"},
    {DbgKdReadPhysicalMemoryApi, "ReadPhysicalMemory"},
    {DbgKdWritePhysicalMemoryApi, "WritePhysicalMemory"},
    {DbgKdQuerySpecialCallsApi, "QuerySpecialCalls"},
    {DbgKdSetSpecialCallApi, "SetSpecialCall"},
    {DbgKdClearSpecialCallsApi, "ClearSpecialCalls"},
    {DbgKdSetInternalBreakPointApi, "SetInternalBreakPoint"},
    {DbgKdGetInternalBreakPointApi, "GetInternalBreakPoint"},
    {DbgKdReadIoSpaceExtendedApi, "ReadIoSpaceExtended"},
    {DbgKdWriteIoSpaceExtendedApi, "WriteIoSpaceExtended"},
    {DbgKdGetVersionApi, "GetVersion"},
    {DbgKdWriteBreakPointExApi, "WriteBreakPointEx"},
    {DbgKdRestoreBreakPointExApi, "RestoreBreakPointEx"},
    {DbgKdCauseBugCheckApi, "CauseBugCheck"},
    {DbgKdSwitchProcessor, "SwitchProcessor"},
    {DbgKdPageInApi, "PageIn"},
    {DbgKdReadMachineSpecificRegister, "ReadMachineSpecificRegister"},
    {DbgKdWriteMachineSpecificRegister, "WriteMachineSpecificRegister"},
    {OldVlm1, "OldVlm1"},
    {OldVlm2, "OldVlm2"},
    {DbgKdSearchMemoryApi, "SearchMemory"},
    {DbgKdGetBusDataApi, "GetBusData"},
    {DbgKdSetBusDataApi, "SetBusData"},
    {DbgKdCheckLowMemoryApi, "CheckLowMemory"},
    {DbgKdClearAllInternalBreakpointsApi, "ClearAllInternalBreakpoints"},
    {DbgKdFillMemoryApi, "FillMemory"},
    {DbgKdQueryMemoryApi, "QueryMemory"},
    {DbgKdSwitchPartition, "SwitchPartition"},
    {DbgKdWriteCustomBreakpointApi, "WriteCustomBreakpoint"},
    {DbgKdGetContextExApi, "GetContextEx"},
    {DbgKdSetContextExApi, "SetContextEx"},
    {DbgKdPrintStringApi, "PrintString"},
    {DbgKdGetStringApi, "GetString"},
    {DbgKdPrintTraceApi, "PrintTrace"},
    {DbgKdCreateFileApi, "CreateFile"},
    {DbgKdReadFileApi, "ReadFile"},
    {DbgKdWriteFileApi, "WriteFile"},
    {DbgKdCloseFileApi, "CloseFile"},
    {DbgKdRequestHardwareBp, "RequestHardwareBp"},
    {DbgKdReleaseHardwareBp, "ReleaseHardwareBp"},
};

static const struct name_entry state_names[] = {
    {DbgKdExceptionStateChange, "Exception"},
    {DbgKdLoadSymbolsStateChange, "LoadSymbols"},
    {DbgKdCommandStringStateChange, "CommandString"},
};

static const struct name_entry status_names[] = {
    {STATUS_SUCCESS, "STATUS_SUCCESS"},
    {STATUS_PENDING, "STATUS_PENDING"},
    {DBG_EXCEPTION_HANDLED, "DBG_EXCEPTION_HANDLED"},
    {DBG_CONTINUE, "DBG_CONTINUE"},
    {STATUS_GUARD_PAGE_VIOLATION, "STATUS_GUARD_PAGE_VIOLATION"},
    {STATUS_DATATYPE_MISALIGNMENT, "STATUS_DATATYPE_MISALIGNMENT"},
    {STATUS_BREAKPOINT, "STATUS_BREAKPOINT"},
    {STATUS_SINGLE_STEP, "STATUS_SINGLE_STEP"},
    {STATUS_WAKE_SYSTEM_DEBUGGER, "STATUS_WAKE_SYSTEM_DEBUGGER"},
    {DBG_EXCEPTION_NOT_HANDLED, "DBG_EXCEPTION_NOT_HANDLED"},
    {STATUS_UNSUCCESSFUL, "STATUS_UNSUCCESSFUL"},
    {STATUS_NOT_IMPLEMENTED, "STATUS_NOT_IMPLEMENTED"},
    {STATUS_ACCESS_VIOLATION, "STATUS_ACCESS_VIOLATION"},
    {STATUS_IN_PAGE_ERROR, "STATUS_IN_PAGE_ERROR"},
    {STATUS_INVALID_PARAMETER, "STATUS_INVALID_PARAMETER"},
    {STATUS_NO_SUCH_DEVICE, "STATUS_NO_SUCH_DEVICE"},
    {STATUS_NO_SUCH_FILE, "STATUS_NO_SUCH_FILE"},
    {STATUS_ILLEGAL_INSTRUCTION, "STATUS_ILLEGAL_INSTRUCTION"},
    {STATUS_INTEGER_DIVIDE_BY_ZERO, "STATUS_INTEGER_DIVIDE_BY_ZERO"},
    {STATUS_PRIVILEGED_INSTRUCTION, "STATUS_PRIVILEGED_INSTRUCTION"},
    {STATUS_STACK_OVERFLOW, "STATUS_STACK_OVERFLOW"},
    {STATUS_STACK_BUFFER_OVERRUN, "STATUS_STACK_BUFFER_OVERRUN"},
    {STATUS_ASSERTION_FAILURE, "STATUS_ASSERTION_FAILURE"},
};

static const struct name_entry machine_names[] = {
    {IMAGE_FILE_MACHINE_I386, "x86"},  {IMAGE_FILE_MACHINE_AMD64, "AMD64"},
    {IMAGE_FILE_MACHINE_IA64, "IA64"}, {IMAGE_FILE_MACHINE_ARM64, "ARM64"},
    {IMAGE_FILE_MACHINE_ARMNT, "ARM"},
};

static const char *lookup(const struct name_entry *t, size_t n, uint32_t value)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return NULL;
}

#define LOOKUP(table, v) lookup((table), sizeof(table) / sizeof((table)[0]), (v))

const char *kd_api_name(uint32_t api)
{
    return LOOKUP(api_names, api);
}

const char *kd_api_state_name(uint32_t new_state)
{
    return LOOKUP(state_names, new_state & ~DbgKdAlternateStateChange);
}

const char *kd_api_status_name(uint32_t status)
{
    return LOOKUP(status_names, status);
}

const char *kd_api_machine_name(uint16_t machine)
{
    return LOOKUP(machine_names, machine);
}

int kd_api_version_decode(const uint8_t *buf, size_t len, struct kd_version *v)
{
    if (len < KD_API_VERSION_SIZE)
        return KD_ERR_TRUNCATED;
    v->major = kd_le16(buf + 0x00);
    v->minor = kd_le16(buf + 0x02);
    v->protocol = buf[0x04];
    v->secondary = buf[0x05];
    v->flags = kd_le16(buf + 0x06);
    v->machine = kd_le16(buf + 0x08);
    v->max_packet_type = buf[0x0A];
    v->max_state_change = buf[0x0B];
    v->max_manipulate = buf[0x0C];
    v->simulation = buf[0x0D];
    v->unused = kd_le16(buf + 0x0E);
    v->kern_base = kd_le64(buf + 0x10);
    v->ps_loaded_module_list = kd_le64(buf + 0x18);
    v->debugger_data_list = kd_le64(buf + 0x20);
    return KD_OK;
}

int kd_api_version_encode(const struct kd_version *v, uint8_t *out, size_t cap)
{
    if (cap < KD_API_VERSION_SIZE)
        return KD_ERR_NOSPACE;
    kd_put16(out + 0x00, v->major);
    kd_put16(out + 0x02, v->minor);
    out[0x04] = v->protocol;
    out[0x05] = v->secondary;
    kd_put16(out + 0x06, v->flags);
    kd_put16(out + 0x08, v->machine);
    out[0x0A] = v->max_packet_type;
    out[0x0B] = v->max_state_change;
    out[0x0C] = v->max_manipulate;
    out[0x0D] = v->simulation;
    kd_put16(out + 0x0E, v->unused);
    kd_put64(out + 0x10, v->kern_base);
    kd_put64(out + 0x18, v->ps_loaded_module_list);
    kd_put64(out + 0x20, v->debugger_data_list);
    return KD_OK;
}
