/* offsets.h: the structure offsets the sampler needs, each with its source.
 *
 * Sources, in the order they are tried for each field (the first that gives
 * a value wins; later ones only fill what is still missing):
 *   1. KDDEBUGGER_DATA64 (Windows 8+): KTHREAD InitialStack, StackLimit,
 *      StackBase, KernelStack, State, ApcState.Process; KPRCB CurrentThread.
 *   2. an ISF JSON file made from the user's own PDB (--symbols FILE).
 *   3. calibration on the live target (calibrate.h) for the list links and
 *      ids that KDBG does not carry.
 *   4. a small built-in table (Windows 10 19041-19045, Windows 11 22621,
 *      22631, 26100), last resort and test oracle.
 * Whatever the source, offsets_check() then tests the KTHREAD offsets against
 * the stack invariants on real threads, and the result says whether it held. */
#ifndef OFFSETS_H
#define OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kd_target.h"
#include "kdbg.h"

enum offsets_field {
    OFFSETS_KTHREAD_INITIAL_STACK,
    OFFSETS_KTHREAD_STACK_LIMIT,
    OFFSETS_KTHREAD_STACK_BASE,
    OFFSETS_KTHREAD_KERNEL_STACK,
    OFFSETS_KTHREAD_STATE,       /* u8 */
    OFFSETS_KTHREAD_APC_PROCESS, /* ApcState.Process: the process a thread runs in */
    OFFSETS_KPRCB_CURRENT_THREAD,
    OFFSETS_EPROCESS_UNIQUE_PROCESS_ID,
    OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS,
    OFFSETS_EPROCESS_IMAGE_FILE_NAME, /* char[15] */
    OFFSETS_EPROCESS_THREAD_LIST_HEAD,
    OFFSETS_ETHREAD_THREAD_LIST_ENTRY,
    OFFSETS_ETHREAD_CID, /* CLIENT_ID: UniqueProcess at +0, UniqueThread at +8 */
    OFFSETS_ETHREAD_START_ADDRESS,
    OFFSETS_ETHREAD_WIN32_START_ADDRESS,
    OFFSETS_NFIELDS
};

enum offsets_source {
    OFFSETS_SRC_NONE,
    OFFSETS_SRC_KDBG,
    OFFSETS_SRC_ISF,
    OFFSETS_SRC_CALIBRATED,
    OFFSETS_SRC_BUILTIN,
};

/* Scan bounds when KDBG gives no structure sizes. */
#define OFFSETS_DEFAULT_STRUCT_SIZE 0x1000u
#define OFFSETS_MAX_STRUCT_SIZE 0x2000u

struct offsets {
    uint32_t value[OFFSETS_NFIELDS];
    enum offsets_source source[OFFSETS_NFIELDS];
    uint32_t size_eprocess, size_ethread; /* from KDBG, else the default */
    uint16_t build;                       /* GetVersion.MinorVersion, for the table */
    /* offsets_check results */
    bool checked, check_passed;
    unsigned threads_checked, threads_failed;
};

void offsets_init(struct offsets *o, uint16_t build);
bool offsets_has(const struct offsets *o, enum offsets_field f);
/* Sets f when it has no value yet; returns whether it was set. */
bool offsets_set(struct offsets *o, enum offsets_field f, uint32_t v, enum offsets_source src);
const char *offsets_field_name(enum offsets_field f);
const char *offsets_source_name(enum offsets_source s);

/* Takes the KTHREAD/KPRCB offsets and structure sizes that k carries. */
void offsets_from_kdbg(struct offsets *o, const struct kdbg *k);
/* Parses an ISF JSON document (isf_json.h) and takes every field it names.
 * KD_OK if the document is well-formed (even with fields missing), else the
 * parser's error and nothing taken. */
int offsets_from_isf(struct offsets *o, const char *json, size_t len);
/* Fills missing fields from the built-in table for o->build; KD_ERR_NOTFOUND
 * when the build is not in the table. */
int offsets_from_builtin(struct offsets *o);
/* The built-in row for a build (for tests): KD_ERR_NOTFOUND if absent. */
int offsets_builtin_value(uint16_t build, enum offsets_field f, uint32_t *v);

/* The stack invariants: limit < kernel_stack <= initial < base, base - initial
 * small (the NPX/XSAVE area, < 8 KiB), base - limit 12 KiB, 24 KiB, or a
 * page multiple up to 128 KiB (a large GUI stack, committed in steps). */
bool offsets_stack_ok(uint64_t initial, uint64_t limit, uint64_t base, uint64_t kernel_stack);

/* Reads the four stack fields of each KTHREAD in threads[n] and tests the
 * invariants; sets checked/check_passed/threads_checked/threads_failed.
 * check_passed needs at least one thread and no failure. KD_ERR_STATE when
 * a stack offset is missing; a read error stops the check with that error. */
int offsets_check(const struct kd_target *t, struct offsets *o, const uint64_t *threads, size_t n);

/* True when every field the thread enumeration needs has a value
 * (everything but the two start addresses and State). */
bool offsets_complete(const struct offsets *o);

#endif
