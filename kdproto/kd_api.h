/* kd_api.h: the DBGKD structures carried inside KD packets (protocol 6):
 * manipulate requests/replies, state changes, debug I/O, file I/O, and the
 * GetVersion block; plus the wire constants and register offsets the monitor
 * and the simulated target need. docs: ../shared/docs/kd-protocol.md §3-§4.
 *
 * Pure codec: buffers in, structs out; builders fill structs, encoders write
 * into the caller's buffer. Every field goes through kd_le.h.
 *
 * Exact re-encoding: each struct keeps the raw union bytes (and pads) it was
 * decoded from. An encoder writes those raw bytes first and then the decoded
 * fields of the known layout over them, so decode -> encode reproduces the
 * input byte for byte (WinDbg's garbage included), while a caller that
 * changes a field sees the change on the wire. Trailing data (memory, CONTEXT,
 * paths) is a pointer+length: into the decoded buffer after decode (valid
 * while that buffer lives), into the caller's memory for the builders. */
#ifndef KD_API_H
#define KD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kd_wire.h"

/* ---- wire sizes ------------------------------------------------------------------ */
#define KD_API_VERSION_SIZE 0x28      /* DBGKD_GET_VERSION64 */
#define KD_API_MANIP_SIZE 0x38        /* DBGKD_MANIPULATE_STATE64 header */
#define KD_API_MANIP_UNION_SIZE 0x28  /* its union u at 0x10 */
#define KD_API_STATE_SIZE 0xF0        /* DBGKD_ANY_WAIT_STATE_CHANGE */
#define KD_API_STATE_UNION_SIZE 0xA0  /* its union u at 0x20 */
#define KD_API_STATE_REPORT_SIZE 0x30 /* control report at 0xC0 */
#define KD_API_DEBUG_IO_SIZE 0x10     /* DBGKD_DEBUG_IO header */
#define KD_API_FILE_IO_SIZE 0x40      /* DBGKD_FILE_IO header */
#define KD_API_FILE_IO_UNION_SIZE 0x38
/* Most data one manipulate packet carries (the kernel's read clamp): 3944. */
#define KD_API_MANIP_DATA_MAX (KD_PACKET_MAX - KD_API_MANIP_SIZE)
/* Decoded strings (paths, command strings) including their NUL. */
#define KD_API_STRING_MAX 512

/* ---- manipulate API numbers (Microsoft's names) ----------------------------------- */
#define DbgKdMinimumManipulate 0x3130u
#define DbgKdReadVirtualMemoryApi 0x3130u
#define DbgKdWriteVirtualMemoryApi 0x3131u
#define DbgKdGetContextApi 0x3132u
#define DbgKdSetContextApi 0x3133u
#define DbgKdWriteBreakPointApi 0x3134u
#define DbgKdRestoreBreakPointApi 0x3135u
#define DbgKdContinueApi 0x3136u
#define DbgKdReadControlSpaceApi 0x3137u
#define DbgKdWriteControlSpaceApi 0x3138u
#define DbgKdReadIoSpaceApi 0x3139u
#define DbgKdWriteIoSpaceApi 0x313Au
#define DbgKdRebootApi 0x313Bu
#define DbgKdContinueApi2 0x313Cu
#define DbgKdReadPhysicalMemoryApi 0x313Du
#define DbgKdWritePhysicalMemoryApi 0x313Eu
#define DbgKdQuerySpecialCallsApi 0x313Fu
#define DbgKdSetSpecialCallApi 0x3140u
#define DbgKdClearSpecialCallsApi 0x3141u
#define DbgKdSetInternalBreakPointApi 0x3142u
#define DbgKdGetInternalBreakPointApi 0x3143u
#define DbgKdReadIoSpaceExtendedApi 0x3144u
#define DbgKdWriteIoSpaceExtendedApi 0x3145u
#define DbgKdGetVersionApi 0x3146u
#define DbgKdWriteBreakPointExApi 0x3147u
#define DbgKdRestoreBreakPointExApi 0x3148u
#define DbgKdCauseBugCheckApi 0x3149u
#define DbgKdSwitchProcessor 0x3150u
#define DbgKdPageInApi 0x3151u
#define DbgKdReadMachineSpecificRegister 0x3152u
#define DbgKdWriteMachineSpecificRegister 0x3153u
#define OldVlm1 0x3154u
#define OldVlm2 0x3155u
#define DbgKdSearchMemoryApi 0x3156u
#define DbgKdGetBusDataApi 0x3157u
#define DbgKdSetBusDataApi 0x3158u
#define DbgKdCheckLowMemoryApi 0x3159u
#define DbgKdClearAllInternalBreakpointsApi 0x315Au
#define DbgKdFillMemoryApi 0x315Bu
#define DbgKdQueryMemoryApi 0x315Cu
#define DbgKdSwitchPartition 0x315Du
#define DbgKdWriteCustomBreakpointApi 0x315Eu
#define DbgKdGetContextExApi 0x315Fu
#define DbgKdSetContextExApi 0x3160u
#define DbgKdMaximumManipulate 0x3161u

/* ---- state changes, debug I/O, file I/O, trace, control requests ----------------- */
#define DbgKdMinimumStateChange 0x3030u
#define DbgKdExceptionStateChange 0x3030u
#define DbgKdLoadSymbolsStateChange 0x3031u
#define DbgKdCommandStringStateChange 0x3032u
#define DbgKdMaximumStateChange 0x3033u
#define DbgKdAlternateStateChange 0x10000u /* OR'ed in: state from an alternate source */
#define DbgKdPrintStringApi 0x3230u
#define DbgKdGetStringApi 0x3231u
#define DbgKdPrintTraceApi 0x3330u
#define DbgKdCreateFileApi 0x3430u
#define DbgKdReadFileApi 0x3431u
#define DbgKdWriteFileApi 0x3432u
#define DbgKdCloseFileApi 0x3433u
#define DbgKdRequestHardwareBp 0x4300u
#define DbgKdReleaseHardwareBp 0x4301u

/* ---- NTSTATUS and debugger statuses ---------------------------------------------- */
#define STATUS_SUCCESS 0x00000000u
#define STATUS_PENDING 0x00000103u /* WinDbg's ReturnStatus in requests */
#define DBG_EXCEPTION_HANDLED 0x00010001u
#define DBG_CONTINUE 0x00010002u
#define STATUS_GUARD_PAGE_VIOLATION 0x80000001u
#define STATUS_DATATYPE_MISALIGNMENT 0x80000002u
#define STATUS_BREAKPOINT 0x80000003u
#define STATUS_SINGLE_STEP 0x80000004u
#define STATUS_WAKE_SYSTEM_DEBUGGER 0x80000007u /* processor switch report */
#define DBG_EXCEPTION_NOT_HANDLED 0x80010001u
#define STATUS_UNSUCCESSFUL 0xC0000001u
#define STATUS_NOT_IMPLEMENTED 0xC0000002u
#define STATUS_ACCESS_VIOLATION 0xC0000005u
#define STATUS_IN_PAGE_ERROR 0xC0000006u
#define STATUS_INVALID_PARAMETER 0xC000000Du
#define STATUS_NO_SUCH_DEVICE 0xC000000Eu
#define STATUS_NO_SUCH_FILE 0xC000000Fu /* host's "no replacement file" FILE_IO reply */
#define STATUS_ILLEGAL_INSTRUCTION 0xC000001Du
#define STATUS_INTEGER_DIVIDE_BY_ZERO 0xC0000094u
#define STATUS_PRIVILEGED_INSTRUCTION 0xC0000096u
#define STATUS_STACK_OVERFLOW 0xC00000FDu
#define STATUS_STACK_BUFFER_OVERRUN 0xC0000409u
#define STATUS_ASSERTION_FAILURE 0xC0000420u
/* DbgBreakPointWithStatus arguments (first argument register). */
#define DBG_STATUS_CONTROL_C 1
#define DBG_STATUS_SYSRQ 2
#define DBG_STATUS_BUGCHECK_FIRST 3
#define DBG_STATUS_BUGCHECK_SECOND 4
#define DBG_STATUS_FATAL 5
#define DBG_STATUS_DEBUG_CONTROL 6
#define DBG_STATUS_WORKER 7

/* ---- GetVersion ------------------------------------------------------------------ */
#define DBGKD_64BIT_PROTOCOL_VERSION1 5
#define DBGKD_64BIT_PROTOCOL_VERSION2 6
#define DBGKD_VERS_FLAG_MP 0x0001
#define DBGKD_VERS_FLAG_DATA 0x0002 /* DebuggerDataList valid */
#define DBGKD_VERS_FLAG_PTR64 0x0004
#define DBGKD_VERS_FLAG_NOMM 0x0008
#define DBGKD_VERS_FLAG_HSS 0x0010
#define DBGKD_VERS_FLAG_PARTITIONS 0x0020
/* High byte of MajorVersion; the low byte is 0x0F free / 0x0C checked. */
#define DBGKD_MAJOR_NT 0
#define DBGKD_MAJOR_XBOX 1
#define DBGKD_MAJOR_BIG 2
#define DBGKD_MAJOR_EXDI 3
#define DBGKD_MAJOR_NTBD 4 /* boot debugger */
#define DBGKD_MAJOR_EFI 5
#define DBGKD_MAJOR_TNT 6
#define DBGKD_MAJOR_SINGULARITY 7
#define DBGKD_MAJOR_HYPERVISOR 8
#define DBGKD_MAJOR_MIDORI 9
#define IMAGE_FILE_MACHINE_I386 0x014C
#define IMAGE_FILE_MACHINE_IA64 0x0200
#define IMAGE_FILE_MACHINE_ARMNT 0x01C4
#define IMAGE_FILE_MACHINE_AMD64 0x8664
#define IMAGE_FILE_MACHINE_ARM64 0xAA64

/* ---- manipulate details ---------------------------------------------------------- */
/* AMD64 ReadControlSpace: TargetBaseAddress is one of these selectors. */
#define AMD64_DEBUG_CONTROL_SPACE_KPCR 0     /* 8-byte pointer to the KPCR */
#define AMD64_DEBUG_CONTROL_SPACE_KPRCB 1    /* 8-byte pointer to the KPRCB */
#define AMD64_DEBUG_CONTROL_SPACE_KSPECIAL 2 /* the KSPECIAL_REGISTERS block */
#define AMD64_DEBUG_CONTROL_SPACE_KTHREAD 3  /* 8-byte pointer to the current KTHREAD */
/* Physical requests put a caching mode in ActualBytes. */
#define DBGKD_CACHING_UNKNOWN 0
#define DBGKD_CACHING_CACHED 1
#define DBGKD_CACHING_UNCACHED 2
#define DBGKD_CACHING_WRITE_COMBINED 3
#define DBGKD_FILL_MEMORY_VIRTUAL 1
#define DBGKD_FILL_MEMORY_PHYSICAL 2
#define DBGKD_QUERY_MEMORY_VIRTUAL 0
#define DBGKD_QUERY_MEMORY_PROCESS 0
#define DBGKD_QUERY_MEMORY_SESSION 1
#define DBGKD_QUERY_MEMORY_KERNEL 2
#define DBGKD_QUERY_MEMORY_READ 1
#define DBGKD_QUERY_MEMORY_WRITE 2
#define DBGKD_QUERY_MEMORY_EXECUTE 4
#define DBGKD_QUERY_MEMORY_FIXED 8
/* State change control report. */
#define DBGKD_MAXSTREAM 16
#define EXCEPTION_MAXIMUM_PARAMETERS 15
#define AMD64_REPORT_INCLUDES_SEGS 0x0001
#define AMD64_REPORT_STANDARD_CS 0x0002
#define X86_REPORT_INCLUDES_SEGS 0x0001
#define X86_REPORT_STANDARD_CS 0x0002

/* ---- CONTEXT and KSPECIAL_REGISTERS (byte offsets) -------------------------------- */
#define CONTEXT_AMD64 0x00100000u
#define CONTEXT_i386 0x00010000u
#define KD_API_CONTEXT_AMD64_SIZE 0x4D0
#define KD_API_CONTEXT_AMD64_FULL 0x0010000Bu
#define KD_API_CONTEXT_AMD64_ALL 0x0010001Fu
#define KD_API_CONTEXT_AMD64_FLAGS 0x30  /* u32 ContextFlags */
#define KD_API_CONTEXT_AMD64_SEGCS 0x38  /* u16; Ds Es Fs Gs Ss follow */
#define KD_API_CONTEXT_AMD64_EFLAGS 0x44 /* u32 */
#define KD_API_CONTEXT_AMD64_DR7 0x70
/* u64 GPR by x64 register number (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP,
 * 6 RSI, 7 RDI, 8-15 R8-R15): CONTEXT keeps them in that order, the same
 * numbering UNWIND_CODE uses. */
#define KD_API_CONTEXT_AMD64_REG(n) (0x78 + 8 * (n))
#define KD_API_CONTEXT_AMD64_RCX 0x80
#define KD_API_CONTEXT_AMD64_RDX 0x88
#define KD_API_CONTEXT_AMD64_RSP 0x98
#define KD_API_CONTEXT_AMD64_RBP 0xA0
#define KD_API_CONTEXT_AMD64_R8 0xB8
#define KD_API_CONTEXT_AMD64_R9 0xC0
#define KD_API_CONTEXT_AMD64_RIP 0xF8
#define KD_API_CONTEXT_X86_SIZE 0x2CC
#define KD_API_CONTEXT_X86_FULL 0x00010007u
#define KD_API_CONTEXT_X86_FLAGS 0x00 /* all x86 fields are u32 */
#define KD_API_CONTEXT_X86_EDI 0x9C
#define KD_API_CONTEXT_X86_ESI 0xA0
#define KD_API_CONTEXT_X86_EBX 0xA4
#define KD_API_CONTEXT_X86_EDX 0xA8
#define KD_API_CONTEXT_X86_ECX 0xAC
#define KD_API_CONTEXT_X86_EAX 0xB0
#define KD_API_CONTEXT_X86_EBP 0xB4
#define KD_API_CONTEXT_X86_EIP 0xB8
#define KD_API_CONTEXT_X86_SEGCS 0xBC
#define KD_API_CONTEXT_X86_EFLAGS 0xC0
#define KD_API_CONTEXT_X86_ESP 0xC4
/* x64 KSPECIAL_REGISTERS (control space selector 2; u64 unless noted). Size
 * varies by build (0xE0 on 10586, 0xF0 newer): trust ActualBytesRead. */
#define KD_API_KSPECIAL_AMD64_SIZE_10586 0xE0
#define KD_API_KSPECIAL_AMD64_CR0 0x00
#define KD_API_KSPECIAL_AMD64_CR2 0x08
#define KD_API_KSPECIAL_AMD64_CR3 0x10
#define KD_API_KSPECIAL_AMD64_CR4 0x18
#define KD_API_KSPECIAL_AMD64_KERNELDR7 0x48
#define KD_API_KSPECIAL_AMD64_GDTR_LIMIT 0x56 /* u16 */
#define KD_API_KSPECIAL_AMD64_GDTR_BASE 0x58
#define KD_API_KSPECIAL_AMD64_IDTR_LIMIT 0x66 /* u16 */
#define KD_API_KSPECIAL_AMD64_IDTR_BASE 0x68
#define KD_API_KSPECIAL_AMD64_TR 0x70 /* u16 */
#define KD_API_KSPECIAL_AMD64_XCR0 0xD8
/* x86: control space is a byte offset into KPROCESSOR_STATE = CONTEXT then
 * KSPECIAL_REGISTERS (0x54 bytes, u32 unless noted). */
#define KD_API_X86_CONTROL_SPECIAL 0x2CC
#define KD_API_KSPECIAL_X86_SIZE 0x54
#define KD_API_KSPECIAL_X86_CR3 0x08
#define KD_API_KSPECIAL_X86_GDTR_LIMIT 0x2A /* u16 */
#define KD_API_KSPECIAL_X86_GDTR_BASE 0x2C
#define KD_API_KSPECIAL_X86_IDTR_LIMIT 0x32 /* u16 */
#define KD_API_KSPECIAL_X86_IDTR_BASE 0x34
#define KD_API_KSPECIAL_X86_TR 0x38 /* u16 */

/* ---- name tables (kd_api.c) ------------------------------------------------------ */
/* "ReadVirtualMemory", "PrintString", "CreateFile", ... for manipulate,
 * debug-I/O, file-I/O, trace and control-request API numbers; NULL if unknown. */
const char *kd_api_name(uint32_t api);
/* "Exception", "LoadSymbols", "CommandString" (DbgKdAlternateStateChange is
 * ignored); NULL if unknown. */
const char *kd_api_state_name(uint32_t new_state);
/* "STATUS_SUCCESS", "DBG_CONTINUE", ... for the statuses defined above; NULL
 * for any other value (print it in hex). */
const char *kd_api_status_name(uint32_t status);
/* "AMD64", "x86", "ARM64", "IA64", "ARM"; NULL if unknown. */
const char *kd_api_machine_name(uint16_t machine);

/* ---- DBGKD_GET_VERSION64 (kd_api.c) ---------------------------------------------- */
struct kd_version {
    uint16_t major; /* high byte DBGKD_MAJOR_*, low byte 0x0F free / 0x0C checked */
    uint16_t minor; /* build number */
    uint8_t protocol;
    uint8_t secondary;
    uint16_t flags; /* DBGKD_VERS_FLAG_*; not a reliable pointer-width hint */
    uint16_t machine;
    uint8_t max_packet_type;
    uint8_t max_state_change;
    uint8_t max_manipulate;
    uint8_t simulation;
    uint16_t unused; /* 0x0E, kept for exact re-encoding */
    uint64_t kern_base;
    uint64_t ps_loaded_module_list;
    uint64_t debugger_data_list;
};

/* Decodes the first 0x28 bytes of buf[len]; KD_ERR_TRUNCATED if len < 0x28. */
int kd_api_version_decode(const uint8_t *buf, size_t len, struct kd_version *v);
/* Writes 0x28 bytes to out[cap]; KD_ERR_NOSPACE (nothing written) if cap < 0x28. */
int kd_api_version_encode(const struct kd_version *v, uint8_t *out, size_t cap);

/* ---- DBGKD_MANIPULATE_STATE64 (kd_api_manip.c) ------------------------------------ */
struct kd_control_set_amd64 { /* Continue2 at 0x14, pack(4) */
    uint32_t trace_flag;
    uint64_t dr7;
    uint64_t symbol_start; /* CurrentSymbolStart; 1 = leave unchanged */
    uint64_t symbol_end;
};
struct kd_control_set_x86 {
    uint32_t trace_flag;
    uint32_t dr7;
    uint32_t symbol_start;
    uint32_t symbol_end;
};

struct kd_manip {
    uint32_t api;
    uint16_t processor_level;             /* garbage in WinDbg requests */
    uint16_t processor;                   /* CPU the request applies to */
    uint32_t return_status;               /* meaningful in replies */
    uint32_t pad;                         /* 0x0C, garbage */
    bool known;                           /* api is a DbgKd*Api number and u follows its layout */
    uint8_t raw[KD_API_MANIP_UNION_SIZE]; /* 0x10..0x37 as last decoded/built */
    /* One line per layout, as in the fact sheet table. */
    /* clang-format off */
    union {
        /* Read/Write{Virtual,Physical}Memory, Read/WriteControlSpace */
        struct { uint64_t address; uint32_t count, actual; } memory;
        struct { uint32_t flags; } context; /* Get/SetContext: junk at 0x10 */
        struct { uint32_t offset, count, copied; } context_ex;
        struct { uint64_t address; uint32_t handle; } write_bp;
        struct { uint32_t handle; } restore_bp;
        struct { uint32_t status; } cont;
        /* Continue2 with the AMD64 control set; x86: kd_api_manip_continue2_x86 */
        struct { uint32_t status; struct kd_control_set_amd64 set; } cont2;
        struct kd_version version;
        struct { uint64_t address; uint32_t size, value; } io;
        struct {
            uint32_t size, interface_type, bus, address_space;
            uint64_t address;
            uint32_t value;
        } io_ex;
        struct { uint32_t msr, low, high; } msr;
        struct { uint64_t address, reserved; uint32_t address_space, flags; } query_memory;
        struct { uint64_t address, length; uint32_t pattern_length; } search_memory;
        struct { uint64_t address; uint32_t length; uint16_t flags, pattern_length; } fill_memory;
        struct { uint32_t type, bus, slot, offset, length; } bus_data;
        struct {
            uint64_t address;
            uint32_t flags, calls, max_calls_per_period;
            uint32_t min_instructions, max_instructions, total_instructions;
        } internal_bp;
        struct { uint32_t count, status; } bp_ex;
        struct { uint32_t count; } query_special;
        struct { uint64_t address; } set_special;
        struct { uint32_t partition; } partition;
        struct {
            uint64_t address, instruction;
            uint32_t handle;
            uint8_t size, alignment;
        } custom_bp;
    } u;
    /* clang-format on */
    const uint8_t *data; /* bytes after 0x38 */
    size_t data_len;
};

/* Decodes buf[len] (a whole STATE_MANIPULATE payload). An unknown API is not
 * an error: known = false, raw and data kept. KD_ERR_TRUNCATED if len < 0x38,
 * KD_ERR_LENGTH if len > KD_PACKET_MAX. m->data points into buf. */
int kd_api_manip_decode(const uint8_t *buf, size_t len, struct kd_manip *m);
/* Writes header + data into out[cap] (data may already sit at out + 0x38).
 * *used = 0x38 + data_len. KD_ERR_LENGTH if data_len > KD_API_MANIP_DATA_MAX,
 * KD_ERR_ARG if data is NULL with data_len > 0, KD_ERR_NOSPACE if cap is
 * short; on error nothing is written and *used = 0. */
int kd_api_manip_encode(const struct kd_manip *m, uint8_t *out, size_t cap, size_t *used);
/* The Continue2 control set read as the x86 layout (u32s at 0x14..0x23). */
void kd_api_manip_continue2_x86(const struct kd_manip *m, struct kd_control_set_x86 *set);

/* Request builders (host side). Each starts from zero: ProcessorLevel 0,
 * ReturnStatus STATUS_PENDING (as WinDbg sends), pad and union zero. Data
 * pointers are stored, not copied. Counts above KD_API_MANIP_DATA_MAX are the
 * caller's error: KD_ERR_LENGTH, *m untouched. Functions returning void
 * cannot fail. */
void kd_api_manip_init(struct kd_manip *m, uint32_t api, uint16_t processor);
int kd_api_manip_req_read_virtual(struct kd_manip *m, uint64_t addr, uint32_t len);
int kd_api_manip_req_write_virtual(struct kd_manip *m, uint64_t addr, const uint8_t *data,
                                   uint32_t len);
int kd_api_manip_req_read_physical(struct kd_manip *m, uint64_t addr, uint32_t len,
                                   uint32_t caching);
/* selector: AMD64_DEBUG_CONTROL_SPACE_* on x64, byte offset on x86. */
int kd_api_manip_req_read_control(struct kd_manip *m, uint16_t cpu, uint64_t selector,
                                  uint32_t len);
int kd_api_manip_req_write_control(struct kd_manip *m, uint16_t cpu, uint64_t selector,
                                   const uint8_t *data, uint32_t len);
void kd_api_manip_req_get_context(struct kd_manip *m, uint16_t cpu);
int kd_api_manip_req_set_context(struct kd_manip *m, uint16_t cpu, const uint8_t *ctx,
                                 uint32_t len);
int kd_api_manip_req_get_context_ex(struct kd_manip *m, uint16_t cpu, uint32_t offset,
                                    uint32_t count);
void kd_api_manip_req_write_breakpoint(struct kd_manip *m, uint64_t addr);
void kd_api_manip_req_restore_breakpoint(struct kd_manip *m, uint32_t handle);
void kd_api_manip_req_continue(struct kd_manip *m, uint32_t status);
void kd_api_manip_req_continue2(struct kd_manip *m, uint32_t status,
                                const struct kd_control_set_amd64 *set);
void kd_api_manip_req_continue2_x86(struct kd_manip *m, uint32_t status,
                                    const struct kd_control_set_x86 *set);
void kd_api_manip_req_get_version(struct kd_manip *m);
void kd_api_manip_req_reboot(struct kd_manip *m);
void kd_api_manip_req_switch_processor(struct kd_manip *m, uint16_t cpu);

/* Reply builders (target side): a reply echoes the request's header, union
 * and garbage (targets do), with ReturnStatus = status and no data. */
void kd_api_manip_reply_init(struct kd_manip *reply, const struct kd_manip *req, uint32_t status);
/* Read{Virtual,Physical}Memory / ReadControlSpace: actual = len, data.
 * KD_ERR_LENGTH if len exceeds the request's count or KD_API_MANIP_DATA_MAX. */
int kd_api_manip_reply_read(struct kd_manip *reply, const struct kd_manip *req, uint32_t status,
                            const uint8_t *data, uint32_t len);
/* Write{Virtual,Physical}Memory / WriteControlSpace: actual = written. */
void kd_api_manip_reply_write(struct kd_manip *reply, const struct kd_manip *req, uint32_t status,
                              uint32_t written);
/* GetContext (data = ctx) or GetContextEx (copied = len, data = ctx).
 * KD_ERR_LENGTH if len > KD_API_MANIP_DATA_MAX or, for GetContextEx, len
 * exceeds the requested count. */
int kd_api_manip_reply_context(struct kd_manip *reply, const struct kd_manip *req, uint32_t status,
                               const uint8_t *ctx, uint32_t len);
void kd_api_manip_reply_write_breakpoint(struct kd_manip *reply, const struct kd_manip *req,
                                         uint32_t status, uint32_t handle);
void kd_api_manip_reply_version(struct kd_manip *reply, const struct kd_manip *req,
                                const struct kd_version *v);

/* ---- DBGKD_ANY_WAIT_STATE_CHANGE (kd_api_state.c) --------------------------------- */
struct kd_report_amd64 { /* at 0xC0 */
    uint64_t dr6, dr7;
    uint32_t eflags;
    uint16_t instruction_count; /* as on the wire */
    uint16_t report_flags;      /* AMD64_REPORT_* */
    uint8_t instruction_stream[DBGKD_MAXSTREAM];
    uint16_t seg_cs, seg_ds, seg_es, seg_fs;
    uint16_t stream_len; /* decoded only: min(instruction_count, 16) */
};
struct kd_report_x86 {
    uint32_t dr6, dr7;
    uint16_t instruction_count;
    uint16_t report_flags;
    uint8_t instruction_stream[DBGKD_MAXSTREAM];
    uint16_t seg_cs, seg_ds, seg_es, seg_fs;
    uint32_t eflags;
    uint16_t stream_len; /* decoded only */
};

struct kd_state_change {
    uint32_t new_state; /* DbgKd*StateChange, maybe | DbgKdAlternateStateChange */
    uint16_t processor_level;
    uint16_t processor;
    uint32_t number_processors;
    uint32_t pad; /* 0x0C */
    uint64_t thread;
    uint64_t program_counter;
    bool known; /* new_state (without the alternate bit) has a layout in u */
    uint8_t raw[KD_API_STATE_UNION_SIZE];     /* 0x20..0xBF */
    uint8_t report[KD_API_STATE_REPORT_SIZE]; /* 0xC0..0xEF, read via the accessors */
    union {
        /* DBGKM_EXCEPTION64 */
        struct {
            uint32_t code, flags;
            uint64_t record, address;
            uint32_t number_parameters; /* as on the wire */
            uint32_t nparams;           /* decoded only: min(number_parameters, 15) */
            uint64_t info[EXCEPTION_MAXIMUM_PARAMETERS]; /* past nparams: garbage */
            uint32_t first_chance;
        } exception;
        /* DBGKD_LOAD_SYMBOLS64 */
        struct {
            uint32_t path_length; /* PathNameLength, includes the NUL */
            uint64_t base, process_id;
            uint32_t checksum, size;
            uint8_t unload;
            /* decoded only: the path from extra, bounded by path_length and
             * extra_len, cut at the first NUL and at KD_API_STRING_MAX - 1;
             * bytes outside printable ASCII become '?' */
            char path[KD_API_STRING_MAX];
        } load;
        struct {
            uint32_t flags, reserved1;
            uint64_t reserved2[7];
            /* decoded only, same rules: the two NUL-terminated strings in extra */
            char name[KD_API_STRING_MAX];
            char command[KD_API_STRING_MAX];
        } command;
    } u;
    const uint8_t *extra; /* bytes after 0xF0 */
    size_t extra_len;
};

/* Decodes buf[len] (a whole STATE_CHANGE64 payload). Unknown new_state: known
 * = false, raw kept. KD_ERR_TRUNCATED if len < 0xF0, KD_ERR_LENGTH if len >
 * KD_PACKET_MAX. sc->extra points into buf. */
int kd_api_state_decode(const uint8_t *buf, size_t len, struct kd_state_change *sc);
/* Writes 0xF0 bytes + extra into out[cap]; errors as kd_api_manip_encode
 * (limit KD_PACKET_MAX - 0xF0 for extra). */
int kd_api_state_encode(const struct kd_state_change *sc, uint8_t *out, size_t cap, size_t *used);
/* The control report in either layout; the caller picks by machine type
 * (the first state change arrives before GetVersion can be asked). */
void kd_api_state_report_amd64(const struct kd_state_change *sc, struct kd_report_amd64 *r);
void kd_api_state_report_x86(const struct kd_state_change *sc, struct kd_report_x86 *r);
void kd_api_state_set_report_amd64(struct kd_state_change *sc, const struct kd_report_amd64 *r);
void kd_api_state_set_report_x86(struct kd_state_change *sc, const struct kd_report_x86 *r);

/* Target-side builders. init zeroes everything and sets the header fields. */
void kd_api_state_init(struct kd_state_change *sc, uint32_t new_state, uint16_t processor,
                       uint32_t number_processors, uint64_t thread, uint64_t pc);
/* Exception record; KD_ERR_ARG if nparams > 15 or params is NULL with nparams. */
int kd_api_state_exception(struct kd_state_change *sc, uint32_t code, uint64_t address,
                           bool first_chance, uint32_t nparams, const uint64_t *params);
/* LoadSymbols; path may be NULL (unload-all). extra = path with its NUL (the
 * caller's string, not copied). KD_ERR_LENGTH if strlen(path) >=
 * KD_API_STRING_MAX. ProcessId is set to -1 as the kernel reports it. */
int kd_api_state_load_symbols(struct kd_state_change *sc, const char *path, uint64_t base,
                              uint32_t size, uint32_t checksum, bool unload);
/* CommandString: name NUL command NUL is assembled into buf[cap] and used as
 * extra. KD_ERR_LENGTH if a string is >= KD_API_STRING_MAX, KD_ERR_NOSPACE if
 * buf is too small. */
int kd_api_state_command_string(struct kd_state_change *sc, const char *name, const char *command,
                                uint8_t *buf, size_t cap);

/* ---- DBGKD_DEBUG_IO and DBGKD_FILE_IO (kd_api_io.c) -------------------------------- */
struct kd_debug_io {
    uint32_t api; /* DbgKdPrintStringApi / DbgKdGetStringApi */
    uint16_t processor_level;
    uint16_t processor;
    bool known;
    uint8_t raw[8]; /* 0x08..0x0F */
    /* One line per layout, as in the fact sheet table. */
    /* clang-format off */
    union {
        struct { uint32_t length; } print; /* LengthOfString */
        struct { uint32_t prompt_length, read_length; } get;
    } u;
    /* clang-format on */
    const uint8_t *data; /* bytes after 0x10 */
    size_t data_len;
    /* decoded only: the text at data, PrintString min(length, data_len),
     * GetString min(prompt_length, data_len); not NUL-terminated */
    size_t text_len;
};

/* KD_ERR_TRUNCATED if len < 0x10, KD_ERR_LENGTH if len > KD_PACKET_MAX. */
int kd_api_io_debug_decode(const uint8_t *buf, size_t len, struct kd_debug_io *d);
int kd_api_io_debug_encode(const struct kd_debug_io *d, uint8_t *out, size_t cap, size_t *used);
/* Target side: PrintString of text[len]; KD_ERR_LENGTH if it does not fit. */
int kd_api_io_print_string(struct kd_debug_io *d, uint16_t processor, const char *text,
                           uint32_t len);
/* Target side: GetString prompt with room for max_read reply bytes. */
int kd_api_io_get_string(struct kd_debug_io *d, uint16_t processor, const char *prompt,
                         uint32_t len, uint32_t max_read);
/* Host side: answer a GetString with text[len] (read_length = len). */
int kd_api_io_get_string_reply(struct kd_debug_io *reply, const struct kd_debug_io *req,
                               const char *text, uint32_t len);

struct kd_file_io {
    uint32_t api; /* DbgKd{Create,Read,Write,Close}FileApi */
    uint32_t status;
    bool known;
    uint8_t raw[KD_API_FILE_IO_UNION_SIZE]; /* 0x08..0x3F */
    /* One line per layout, as in the fact sheet table. */
    /* clang-format off */
    union {
        struct {
            uint32_t desired_access, file_attributes, share_access;
            uint32_t create_disposition, create_options;
            uint64_t handle, length; /* returned by the host */
        } create;
        struct { uint64_t handle, offset; uint32_t length; } rw; /* Read/WriteFile */
        struct { uint64_t handle; } close;
    } u;
    /* clang-format on */
    /* decoded only, CreateFile: the UTF-16LE name in data as UTF-8, cut at a
     * NUL, at data_len and at KD_API_STRING_MAX - 1 on a character boundary;
     * controls and unpaired surrogates become '?' */
    char path[KD_API_STRING_MAX];
    const uint8_t *data; /* bytes after 0x40 */
    size_t data_len;
};

/* KD_ERR_TRUNCATED if len < 0x40, KD_ERR_LENGTH if len > KD_PACKET_MAX. */
int kd_api_io_file_decode(const uint8_t *buf, size_t len, struct kd_file_io *f);
int kd_api_io_file_encode(const struct kd_file_io *f, uint8_t *out, size_t cap, size_t *used);
/* Host side: the reply to any FILE_IO request, the same header with status
 * (STATUS_NO_SUCH_FILE: "no replacement file") and no data. */
void kd_api_io_file_reply(struct kd_file_io *reply, const struct kd_file_io *req, uint32_t status);
/* Target side: CreateFile of the UTF-16LE name16[len16 bytes] (stored, not
 * copied); KD_ERR_LENGTH if it does not fit one packet. */
int kd_api_io_create_file(struct kd_file_io *f, uint32_t desired_access, uint32_t share_access,
                          uint32_t create_disposition, uint32_t create_options,
                          const uint8_t *name16, size_t len16);

#endif
