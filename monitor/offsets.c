/* offsets.c: offset sources, the built-in table and the stack invariants (see offsets.h). */
#include "offsets.h"

#include <string.h>

#include "isf_json.h"
#include "kd_le.h"
#include "kd_status.h"
#include "target_read.h"

static const char *const offsets_names[OFFSETS_NFIELDS] = {
    [OFFSETS_KTHREAD_INITIAL_STACK] = "KTHREAD.InitialStack",
    [OFFSETS_KTHREAD_STACK_LIMIT] = "KTHREAD.StackLimit",
    [OFFSETS_KTHREAD_STACK_BASE] = "KTHREAD.StackBase",
    [OFFSETS_KTHREAD_KERNEL_STACK] = "KTHREAD.KernelStack",
    [OFFSETS_KTHREAD_STATE] = "KTHREAD.State",
    [OFFSETS_KTHREAD_APC_PROCESS] = "KTHREAD.ApcState.Process",
    [OFFSETS_KPRCB_CURRENT_THREAD] = "KPRCB.CurrentThread",
    [OFFSETS_EPROCESS_UNIQUE_PROCESS_ID] = "EPROCESS.UniqueProcessId",
    [OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS] = "EPROCESS.ActiveProcessLinks",
    [OFFSETS_EPROCESS_IMAGE_FILE_NAME] = "EPROCESS.ImageFileName",
    [OFFSETS_EPROCESS_THREAD_LIST_HEAD] = "EPROCESS.ThreadListHead",
    [OFFSETS_ETHREAD_THREAD_LIST_ENTRY] = "ETHREAD.ThreadListEntry",
    [OFFSETS_ETHREAD_CID] = "ETHREAD.Cid",
    [OFFSETS_ETHREAD_START_ADDRESS] = "ETHREAD.StartAddress",
    [OFFSETS_ETHREAD_WIN32_START_ADDRESS] = "ETHREAD.Win32StartAddress",
};

const char *offsets_field_name(enum offsets_field f)
{
    return (unsigned)f < OFFSETS_NFIELDS ? offsets_names[f] : "?";
}

const char *offsets_source_name(enum offsets_source s)
{
    switch (s) {
    case OFFSETS_SRC_NONE: return "none";
    case OFFSETS_SRC_KDBG: return "KDBG";
    case OFFSETS_SRC_ISF: return "ISF";
    case OFFSETS_SRC_CALIBRATED: return "calibrated";
    case OFFSETS_SRC_BUILTIN: return "built-in";
    }
    return "?";
}

void offsets_init(struct offsets *o, uint16_t build)
{
    memset(o, 0, sizeof *o);
    o->size_eprocess = o->size_ethread = OFFSETS_DEFAULT_STRUCT_SIZE;
    o->build = build;
}

bool offsets_has(const struct offsets *o, enum offsets_field f)
{
    return (unsigned)f < OFFSETS_NFIELDS && o->source[f] != OFFSETS_SRC_NONE;
}

bool offsets_set(struct offsets *o, enum offsets_field f, uint32_t v, enum offsets_source src)
{
    /* No structure the monitor reads is larger than the scan cap. */
    if ((unsigned)f >= OFFSETS_NFIELDS || offsets_has(o, f) || v >= OFFSETS_MAX_STRUCT_SIZE ||
        src == OFFSETS_SRC_NONE)
        return false;
    o->value[f] = v;
    o->source[f] = src;
    return true;
}

void offsets_from_kdbg(struct offsets *o, const struct kdbg *k)
{
    static const struct {
        enum kdbg_field from;
        enum offsets_field to;
    } map[] = {
        {KDBG_OFF_KTHREAD_INITIAL_STACK, OFFSETS_KTHREAD_INITIAL_STACK},
        {KDBG_OFF_KTHREAD_STACK_LIMIT, OFFSETS_KTHREAD_STACK_LIMIT},
        {KDBG_OFF_KTHREAD_STACK_BASE, OFFSETS_KTHREAD_STACK_BASE},
        {KDBG_OFF_KTHREAD_KERNEL_STACK, OFFSETS_KTHREAD_KERNEL_STACK},
        {KDBG_OFF_KTHREAD_STATE, OFFSETS_KTHREAD_STATE},
        {KDBG_OFF_KTHREAD_APC_PROCESS, OFFSETS_KTHREAD_APC_PROCESS},
        {KDBG_OFF_PRCB_CURRENT_THREAD, OFFSETS_KPRCB_CURRENT_THREAD},
    };
    if (!k || k->encoded)
        return;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        uint64_t v = kdbg_get(k, map[i].from);
        /* 0 means "not filled in" for every one of these (none is at offset 0). */
        if (kdbg_has(k, map[i].from) && v)
            offsets_set(o, map[i].to, (uint32_t)v, OFFSETS_SRC_KDBG);
    }
    uint64_t se = kdbg_get(k, KDBG_SIZE_EPROCESS), st = kdbg_get(k, KDBG_SIZE_ETHREAD);
    if (se >= 0x100 && se <= OFFSETS_MAX_STRUCT_SIZE)
        o->size_eprocess = (uint32_t)se;
    if (st >= 0x100 && st <= OFFSETS_MAX_STRUCT_SIZE)
        o->size_ethread = (uint32_t)st;
}

int offsets_from_isf(struct offsets *o, const char *json, size_t len)
{
    enum { APC = OFFSETS_NFIELDS, APC_PROCESS, UNIQUE_THREAD, SIZE_EP, SIZE_ET, NQ };
    struct isf_json_query q[NQ] = {
        [OFFSETS_KTHREAD_INITIAL_STACK] = {"_KTHREAD", "InitialStack", 0, false},
        [OFFSETS_KTHREAD_STACK_LIMIT] = {"_KTHREAD", "StackLimit", 0, false},
        [OFFSETS_KTHREAD_STACK_BASE] = {"_KTHREAD", "StackBase", 0, false},
        [OFFSETS_KTHREAD_KERNEL_STACK] = {"_KTHREAD", "KernelStack", 0, false},
        [OFFSETS_KTHREAD_STATE] = {"_KTHREAD", "State", 0, false},
        [OFFSETS_KTHREAD_APC_PROCESS] = {"_KTHREAD", "Process", 0, false}, /* replaced below */
        [OFFSETS_KPRCB_CURRENT_THREAD] = {"_KPRCB", "CurrentThread", 0, false},
        [OFFSETS_EPROCESS_UNIQUE_PROCESS_ID] = {"_EPROCESS", "UniqueProcessId", 0, false},
        [OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS] = {"_EPROCESS", "ActiveProcessLinks", 0, false},
        [OFFSETS_EPROCESS_IMAGE_FILE_NAME] = {"_EPROCESS", "ImageFileName", 0, false},
        [OFFSETS_EPROCESS_THREAD_LIST_HEAD] = {"_EPROCESS", "ThreadListHead", 0, false},
        [OFFSETS_ETHREAD_THREAD_LIST_ENTRY] = {"_ETHREAD", "ThreadListEntry", 0, false},
        [OFFSETS_ETHREAD_CID] = {"_ETHREAD", "Cid", 0, false},
        [OFFSETS_ETHREAD_START_ADDRESS] = {"_ETHREAD", "StartAddress", 0, false},
        [OFFSETS_ETHREAD_WIN32_START_ADDRESS] = {"_ETHREAD", "Win32StartAddress", 0, false},
        [APC] = {"_KTHREAD", "ApcState", 0, false},
        [APC_PROCESS] = {"_KAPC_STATE", "Process", 0, false},
        [UNIQUE_THREAD] = {"_CLIENT_ID", "UniqueThread", 0, false},
        [SIZE_EP] = {"_EPROCESS", NULL, 0, false},
        [SIZE_ET] = {"_ETHREAD", NULL, 0, false},
    };
    int rc = isf_json_extract(json, len, q, NQ);
    if (rc != KD_OK)
        return rc;
    /* The sampler wants ApcState.Process (the process a thread runs in). */
    q[OFFSETS_KTHREAD_APC_PROCESS].found = q[APC].found && q[APC_PROCESS].found;
    q[OFFSETS_KTHREAD_APC_PROCESS].value = q[APC].value + q[APC_PROCESS].value;
    /* Cid.UniqueThread is read at Cid + 8; a PDB that says otherwise is refused. */
    if (q[UNIQUE_THREAD].found && q[UNIQUE_THREAD].value != 8)
        q[OFFSETS_ETHREAD_CID].found = false;
    for (int f = 0; f < OFFSETS_NFIELDS; f++)
        if (q[f].found && q[f].value >= 0 && q[f].value < OFFSETS_MAX_STRUCT_SIZE)
            offsets_set(o, (enum offsets_field)f, (uint32_t)q[f].value, OFFSETS_SRC_ISF);
    if (q[SIZE_EP].found && q[SIZE_EP].value >= 0x100 &&
        q[SIZE_EP].value <= OFFSETS_MAX_STRUCT_SIZE)
        o->size_eprocess = (uint32_t)q[SIZE_EP].value;
    if (q[SIZE_ET].found && q[SIZE_ET].value >= 0x100 &&
        q[SIZE_ET].value <= OFFSETS_MAX_STRUCT_SIZE)
        o->size_ethread = (uint32_t)q[SIZE_ET].value;
    return KD_OK;
}

/* Built-in table, x64. Last resort and test oracle; every value is checked on
 * the target by offsets_check() and the thread walk before it is trusted.
 * Sources (public PDB-derived header dumps, repository ntdiff/headers):
 *  19041: Win10_2004_20H1/x64/System32/ntdll.dll/Standalone/_EPROCESS.h
 *         (UniqueProcessId 0x440, ActiveProcessLinks 0x448, ImageFileName
 *         0x5a8, ThreadListHead 0x5e0) and _KTHREAD.h (kd-protocol.md §7.2);
 *         ETHREAD from Win10_20H1_18990/.../ntdll.dll/Standalone/_ETHREAD.h
 *         (StartAddress 0x450, Cid 0x478, Win32StartAddress 0x4d0,
 *         ThreadListEntry 0x4e8), the same 20H1 branch; a second, independent
 *         19041 ETHREAD dump in the search index agrees field for field.
 *  19042-19045: the 19041 kernel with enablement packages (same layout;
 *         kd-protocol.md §7.2 notes 19045 specifically as unverified).
 *  22621: Win11_2209_22H2/x64/System32/ntoskrnl.exe/Standalone/_EPROCESS.h
 *         (0x440/0x448/0x5a8/0x5e0) and .../ntdll.dll/Standalone/_ETHREAD.h
 *         (KTHREAD 0x480 bytes: StartAddress 0x4a0, Cid 0x4c8,
 *         Win32StartAddress 0x520, ThreadListEntry 0x538).
 *  22631: 23H2 is the 22621 kernel branch (inference, not checked).
 *  26100: Win11_2409_24H2/x64/System32/ntoskrnl.exe/Standalone/_EPROCESS.h
 *         (0x1d0/0x1d8/0x338/0x370) and _ETHREAD.h (KTHREAD 0x4c0 bytes:
 *         StartAddress 0x4e0, Cid 0x508, Win32StartAddress 0x560,
 *         ThreadListEntry 0x578; KTHREAD 0x28/0x30/0x38/0x58, ApcState 0x98
 *         so ApcState.Process 0xb8, State 0x184).
 *  22000 (Win11 21H2) is absent: no source for its ETHREAD was found. */
struct offsets_row {
    uint16_t first, last;
    uint16_t v[OFFSETS_NFIELDS];
};

#define OFFSETS_KTHREAD_COMMON 0x28, 0x30, 0x38, 0x58, 0x184, 0xb8, 0x8
static const struct offsets_row offsets_table[] = {
    {19041,
     19045,
     {OFFSETS_KTHREAD_COMMON, 0x440, 0x448, 0x5a8, 0x5e0, 0x4e8, 0x478, 0x450, 0x4d0}},
    {22621,
     22631,
     {OFFSETS_KTHREAD_COMMON, 0x440, 0x448, 0x5a8, 0x5e0, 0x538, 0x4c8, 0x4a0, 0x520}},
    {26100,
     26100,
     {OFFSETS_KTHREAD_COMMON, 0x1d0, 0x1d8, 0x338, 0x370, 0x578, 0x508, 0x4e0, 0x560}},
};
_Static_assert(OFFSETS_KPRCB_CURRENT_THREAD == 6 && OFFSETS_ETHREAD_WIN32_START_ADDRESS == 14,
               "table columns follow enum offsets_field");

static const struct offsets_row *offsets_row_for(uint16_t build)
{
    for (size_t i = 0; i < sizeof offsets_table / sizeof offsets_table[0]; i++)
        if (build >= offsets_table[i].first && build <= offsets_table[i].last)
            return &offsets_table[i];
    return NULL;
}

int offsets_builtin_value(uint16_t build, enum offsets_field f, uint32_t *v)
{
    const struct offsets_row *r = offsets_row_for(build);
    *v = 0;
    if (!r || (unsigned)f >= OFFSETS_NFIELDS)
        return KD_ERR_NOTFOUND;
    *v = r->v[f];
    return KD_OK;
}

int offsets_from_builtin(struct offsets *o)
{
    const struct offsets_row *r = offsets_row_for(o->build);
    if (!r)
        return KD_ERR_NOTFOUND;
    for (int f = 0; f < OFFSETS_NFIELDS; f++)
        offsets_set(o, (enum offsets_field)f, r->v[f], OFFSETS_SRC_BUILTIN);
    return KD_OK;
}

bool offsets_stack_ok(uint64_t initial, uint64_t limit, uint64_t base, uint64_t kernel_stack)
{
    if (!target_read_kernel_va(limit) || !target_read_kernel_va(base))
        return false;
    if (!(limit < kernel_stack && kernel_stack <= initial && initial < base))
        return false;
    if (base - initial >= 0x2000)
        return false;
    uint64_t size = base - limit;
    return size == 0x3000 || size == 0x6000 ||
           (size > 0x6000 && size <= 0x20000 && (size & 0xFFF) == 0);
}

int offsets_check(const struct kd_target *t, struct offsets *o, const uint64_t *threads, size_t n)
{
    static const enum offsets_field need[4] = {
        OFFSETS_KTHREAD_INITIAL_STACK, OFFSETS_KTHREAD_STACK_LIMIT, OFFSETS_KTHREAD_STACK_BASE,
        OFFSETS_KTHREAD_KERNEL_STACK};
    o->checked = false;
    o->check_passed = false;
    o->threads_checked = o->threads_failed = 0;
    for (int i = 0; i < 4; i++)
        if (!offsets_has(o, need[i]))
            return KD_ERR_STATE;
    for (size_t i = 0; i < n; i++) {
        uint64_t v[4];
        for (int j = 0; j < 4; j++) {
            int rc = target_read_u64(t, threads[i] + o->value[need[j]], &v[j]);
            if (rc != KD_OK)
                return rc;
        }
        o->threads_checked++;
        if (!offsets_stack_ok(v[0], v[1], v[2], v[3]))
            o->threads_failed++;
    }
    o->checked = true;
    o->check_passed = o->threads_checked > 0 && o->threads_failed == 0;
    return KD_OK;
}

bool offsets_complete(const struct offsets *o)
{
    for (int f = 0; f < OFFSETS_NFIELDS; f++) {
        if (f == OFFSETS_KTHREAD_STATE || f == OFFSETS_ETHREAD_START_ADDRESS ||
            f == OFFSETS_ETHREAD_WIN32_START_ADDRESS)
            continue;
        if (!offsets_has(o, (enum offsets_field)f))
            return false;
    }
    return true;
}
