/* kdbg.c: locate and decode KDDEBUGGER_DATA64 (see kdbg.h). */
#include "kdbg.h"

#include <string.h>

#include "kd_le.h"
#include "kd_status.h"
#include "target_read.h"

_Static_assert(KDBG_NFIELDS <= 64, "present is a 64-bit mask");

struct kdbg_desc {
    uint16_t offset;
    uint8_t width; /* 2, 4 or 8 */
    const char *name;
};

/* x64 offsets, kd-protocol.md §5.2 (ReactOS wdbgexts.h, Rekall, rizin). */
static const struct kdbg_desc kdbg_fields[KDBG_NFIELDS] = {
    [KDBG_KERN_BASE] = {0x018, 8, "KernBase"},
    [KDBG_BREAKPOINT_WITH_STATUS] = {0x020, 8, "BreakpointWithStatus"},
    [KDBG_SAVED_CONTEXT] = {0x028, 8, "SavedContext"},
    [KDBG_PS_LOADED_MODULE_LIST] = {0x048, 8, "PsLoadedModuleList"},
    [KDBG_PS_ACTIVE_PROCESS_HEAD] = {0x050, 8, "PsActiveProcessHead"},
    [KDBG_PSP_CID_TABLE] = {0x058, 8, "PspCidTable"},
    [KDBG_KI_BUGCHECK_DATA] = {0x088, 8, "KiBugcheckData"},
    [KDBG_MM_SYSTEM_RANGE_START] = {0x1D0, 8, "MmSystemRangeStart"},
    [KDBG_NT_BUILD_LAB] = {0x208, 8, "NtBuildLab"},
    [KDBG_KI_PROCESSOR_BLOCK] = {0x218, 8, "KiProcessorBlock"},
    [KDBG_OFF_KTHREAD_NEXT_PROCESSOR] = {0x298, 2, "OffsetKThreadNextProcessor"},
    [KDBG_OFF_KTHREAD_TEB] = {0x29A, 2, "OffsetKThreadTeb"},
    [KDBG_OFF_KTHREAD_KERNEL_STACK] = {0x29C, 2, "OffsetKThreadKernelStack"},
    [KDBG_OFF_KTHREAD_INITIAL_STACK] = {0x29E, 2, "OffsetKThreadInitialStack"},
    [KDBG_OFF_KTHREAD_APC_PROCESS] = {0x2A0, 2, "OffsetKThreadApcProcess"},
    [KDBG_OFF_KTHREAD_STATE] = {0x2A2, 2, "OffsetKThreadState"},
    [KDBG_SIZE_EPROCESS] = {0x2A8, 2, "SizeEProcess"},
    [KDBG_OFF_EPROCESS_PEB] = {0x2AA, 2, "OffsetEprocessPeb"},
    [KDBG_OFF_EPROCESS_PARENT_CID] = {0x2AC, 2, "OffsetEprocessParentCID"},
    [KDBG_OFF_EPROCESS_DIRECTORY_TABLE_BASE] = {0x2AE, 2, "OffsetEprocessDirectoryTableBase"},
    [KDBG_SIZE_PRCB] = {0x2B0, 2, "SizePrcb"},
    [KDBG_OFF_PRCB_CURRENT_THREAD] = {0x2B4, 2, "OffsetPrcbCurrentThread"},
    [KDBG_OFF_PRCB_PROC_STATE_CONTEXT] = {0x2BC, 2, "OffsetPrcbProcStateContext"},
    [KDBG_OFF_PRCB_NUMBER] = {0x2BE, 2, "OffsetPrcbNumber"},
    [KDBG_SIZE_ETHREAD] = {0x2C0, 2, "SizeEThread"},
    [KDBG_OFF_PRCB_PROC_STATE_SPECIAL_REG] = {0x2F2, 2, "OffsetPrcbProcStateSpecialReg"},
    [KDBG_OFF_PRCB_CONTEXT] = {0x338, 2, "OffsetPrcbContext"},
    [KDBG_OFF_KTHREAD_STACK_LIMIT] = {0x340, 4, "OffsetKThreadStackLimit"},
    [KDBG_OFF_KTHREAD_STACK_BASE] = {0x344, 4, "OffsetKThreadStackBase"},
    [KDBG_OFF_PRCB_IDLE_THREAD] = {0x350, 2, "OffsetPrcbIdleThread"},
    [KDBG_OFF_PRCB_DPC_STACK] = {0x354, 2, "OffsetPrcbDpcStack"},
    [KDBG_OFF_PRCB_ISR_STACK] = {0x356, 2, "OffsetPrcbIsrStack"},
    [KDBG_PTE_BASE] = {0x360, 8, "PteBase"},
};

int kdbg_decode(const uint8_t *block, size_t len, struct kdbg *k)
{
    memset(k, 0, sizeof *k);
    if (!block || len < KDBG_HEADER_SIZE)
        return KD_ERR_TRUNCATED;
    k->owner_tag = kd_le32(block + 0x10);
    k->size = kd_le32(block + 0x14);
    if (k->owner_tag != KDBG_OWNER_TAG) {
        /* Encoded (or not a KDBG at all): Size and every field are ciphertext. */
        k->encoded = true;
        return KD_ERR_FORMAT;
    }
    if (k->size < 0x20)
        return KD_ERR_FORMAT;
    if (k->size > KDBG_SIZE_MAX)
        return KD_ERR_LENGTH;
    size_t limit = k->size < len ? k->size : len;
    for (int f = 0; f < KDBG_NFIELDS; f++) {
        const struct kdbg_desc *d = &kdbg_fields[f];
        if ((size_t)d->offset + d->width > limit)
            continue; /* past Size: absent, never read */
        const uint8_t *p = block + d->offset;
        k->value[f] = d->width == 8 ? kd_le64(p) : d->width == 4 ? kd_le32(p) : kd_le16(p);
        k->present |= (uint64_t)1 << f;
    }
    return KD_OK;
}

int kdbg_read(const struct kd_target *t, const struct kd_version *v, struct kdbg *k)
{
    uint8_t block[KDBG_KNOWN_SIZE];
    memset(k, 0, sizeof *k);
    if (!t || !v)
        return KD_ERR_ARG;
    if (!(v->flags & DBGKD_VERS_FLAG_DATA) || !target_read_kernel_va(v->debugger_data_list))
        return KD_ERR_NOTFOUND;
    uint64_t head = v->debugger_data_list, first;
    int rc = target_read_u64(t, head, &first);
    if (rc != KD_OK)
        return rc;
    if (first == head || !target_read_kernel_va(first))
        return KD_ERR_NOTFOUND;
    rc = target_read_bytes(t, first, block, KDBG_HEADER_SIZE);
    if (rc != KD_OK)
        return rc;
    uint32_t size = kd_le32(block + 0x14);
    size_t want = KDBG_HEADER_SIZE;
    /* Read the body only for a plain header: never fetch ciphertext. */
    if (kd_le32(block + 0x10) == KDBG_OWNER_TAG && size >= 0x20 && size <= KDBG_SIZE_MAX) {
        want = size < KDBG_KNOWN_SIZE ? size : KDBG_KNOWN_SIZE;
        rc = target_read_bytes(t, first + KDBG_HEADER_SIZE, block + KDBG_HEADER_SIZE,
                               want - KDBG_HEADER_SIZE);
        if (rc != KD_OK)
            return rc;
    }
    rc = kdbg_decode(block, want, k);
    k->list_head = head;
    k->address = first;
    return rc;
}

bool kdbg_has(const struct kdbg *k, enum kdbg_field f)
{
    return (unsigned)f < KDBG_NFIELDS && !k->encoded && (k->present >> f) & 1;
}

uint64_t kdbg_get(const struct kdbg *k, enum kdbg_field f)
{
    return kdbg_has(k, f) ? k->value[f] : 0;
}

const char *kdbg_field_name(enum kdbg_field f)
{
    return (unsigned)f < KDBG_NFIELDS ? kdbg_fields[f].name : "?";
}

uint32_t kdbg_field_offset(enum kdbg_field f)
{
    return (unsigned)f < KDBG_NFIELDS ? kdbg_fields[f].offset : 0;
}

int kdbg_prcb(const struct kd_target *t, const struct kdbg *k, uint32_t cpu, uint64_t *prcb)
{
    *prcb = 0;
    if (cpu >= KDBG_MAX_CPUS)
        return KD_ERR_ARG;
    uint64_t block = kdbg_get(k, KDBG_KI_PROCESSOR_BLOCK);
    if (!target_read_kernel_va(block))
        return KD_ERR_NOTFOUND;
    int rc = target_read_u64(t, block + 8ull * cpu, prcb);
    if (rc == KD_OK && *prcb == 0)
        rc = KD_ERR_NOTFOUND;
    else if (rc == KD_OK && !target_read_kernel_va(*prcb))
        rc = KD_ERR_FORMAT;
    return rc;
}

int kdbg_current_thread(const struct kd_target *t, const struct kdbg *k, uint32_t cpu,
                        uint64_t *thread)
{
    uint64_t prcb;
    *thread = 0;
    if (!kdbg_has(k, KDBG_OFF_PRCB_CURRENT_THREAD))
        return KD_ERR_NOTFOUND;
    int rc = kdbg_prcb(t, k, cpu, &prcb);
    if (rc == KD_OK)
        rc = target_read_kptr(t, prcb + kdbg_get(k, KDBG_OFF_PRCB_CURRENT_THREAD), thread);
    return rc;
}
