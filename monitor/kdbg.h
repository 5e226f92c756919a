/* kdbg.h: KDDEBUGGER_DATA64 ("KDBG"), located through GetVersion's
 * DebuggerDataList and decoded field by field with explicit LE reads.
 * kd-protocol.md §5. The header is checked before anything else: OwnerTag
 * must read "KDBG" (otherwise the block is encoded, Windows 8+ booted without
 * /debug, and nothing in it is used), and a field counts only when it lies
 * wholly inside Header.Size (older builds have shorter blocks). */
#ifndef KDBG_H
#define KDBG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kd_api.h"
#include "kd_target.h"

#define KDBG_OWNER_TAG 0x4742444Bu /* "KDBG" */
#define KDBG_HEADER_SIZE 0x18u
#define KDBG_KNOWN_SIZE 0x380u /* through RetpolineStubSize (RS5+) */
#define KDBG_SIZE_MAX 0x10000u /* a Header.Size above this is not a KDBG */

/* The fields the monitor uses; kdbg.c maps each to its offset and width. */
enum kdbg_field {
    KDBG_KERN_BASE,
    KDBG_BREAKPOINT_WITH_STATUS,
    KDBG_SAVED_CONTEXT,
    KDBG_PS_LOADED_MODULE_LIST,
    KDBG_PS_ACTIVE_PROCESS_HEAD,
    KDBG_PSP_CID_TABLE,
    KDBG_KI_BUGCHECK_DATA,
    KDBG_MM_SYSTEM_RANGE_START,
    KDBG_NT_BUILD_LAB,
    KDBG_KI_PROCESSOR_BLOCK,
    KDBG_OFF_KTHREAD_NEXT_PROCESSOR,
    KDBG_OFF_KTHREAD_TEB,
    KDBG_OFF_KTHREAD_KERNEL_STACK,
    KDBG_OFF_KTHREAD_INITIAL_STACK,
    KDBG_OFF_KTHREAD_APC_PROCESS,
    KDBG_OFF_KTHREAD_STATE,
    KDBG_SIZE_EPROCESS,
    KDBG_OFF_EPROCESS_PEB,
    KDBG_OFF_EPROCESS_PARENT_CID,
    KDBG_OFF_EPROCESS_DIRECTORY_TABLE_BASE,
    KDBG_SIZE_PRCB,
    KDBG_OFF_PRCB_CURRENT_THREAD,
    KDBG_OFF_PRCB_PROC_STATE_CONTEXT,
    KDBG_OFF_PRCB_NUMBER,
    KDBG_SIZE_ETHREAD,
    KDBG_OFF_PRCB_PROC_STATE_SPECIAL_REG,
    KDBG_OFF_PRCB_CONTEXT,
    KDBG_OFF_KTHREAD_STACK_LIMIT,
    KDBG_OFF_KTHREAD_STACK_BASE,
    KDBG_OFF_PRCB_IDLE_THREAD,
    KDBG_OFF_PRCB_DPC_STACK,
    KDBG_OFF_PRCB_ISR_STACK,
    KDBG_PTE_BASE,
    KDBG_NFIELDS
};

struct kdbg {
    uint64_t list_head;           /* GetVersion.DebuggerDataList */
    uint64_t address;             /* the block (the list's first entry) */
    uint32_t owner_tag;           /* as read at +0x10 */
    uint32_t size;                /* Header.Size as read at +0x14 */
    bool encoded;                 /* OwnerTag is not "KDBG": no field is valid */
    uint64_t present;             /* bit (1 << field) set when the field fits in Size */
    uint64_t value[KDBG_NFIELDS]; /* 0 when absent */
};

/* Locates and decodes the block of the stopped target whose GetVersion is v.
 * Returns KD_OK with *k filled; KD_ERR_NOTFOUND if v has no debugger data
 * list (flag DBGKD_VERS_FLAG_DATA clear, address 0 or not a kernel address,
 * or the list is empty); KD_ERR_FORMAT with k->encoded = true (address,
 * owner_tag, size set, no fields) for an encoded block; KD_ERR_FORMAT for a
 * Header.Size below 0x20 and KD_ERR_LENGTH above KDBG_SIZE_MAX; a read error
 * otherwise. *k is zeroed first. */
int kdbg_read(const struct kd_target *t, const struct kd_version *v, struct kdbg *k);
/* The pure part: decodes block[len] (len = bytes available from the block's
 * start). Same status rules as kdbg_read for the header; fields are present
 * when they lie inside both Size and len. */
int kdbg_decode(const uint8_t *block, size_t len, struct kdbg *k);

bool kdbg_has(const struct kdbg *k, enum kdbg_field f);
/* The value, or 0 when absent. */
uint64_t kdbg_get(const struct kdbg *k, enum kdbg_field f);
/* Microsoft's name of the field ("KiProcessorBlock"); "?" when out of range. */
const char *kdbg_field_name(enum kdbg_field f);
/* KiProcessorBlock[cpu] (a KPRCB address). KD_ERR_NOTFOUND when the block
 * lacks KiProcessorBlock or the entry is 0 (no such processor), KD_ERR_FORMAT
 * when the pointer is not a kernel address, KD_ERR_ARG for cpu >= KDBG_MAX_CPUS. */
#define KDBG_MAX_CPUS 2048
int kdbg_prcb(const struct kd_target *t, const struct kdbg *k, uint32_t cpu, uint64_t *prcb);
/* KPRCB.CurrentThread of cpu (via OffsetPrcbCurrentThread); same errors. */
int kdbg_current_thread(const struct kd_target *t, const struct kdbg *k, uint32_t cpu,
                        uint64_t *thread);

/* Byte offset of the field in the block (for tests and tracing). */
uint32_t kdbg_field_offset(enum kdbg_field f);

#endif
