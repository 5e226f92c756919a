/* calibrate.h: finds the EPROCESS/ETHREAD offsets that KDDEBUGGER_DATA64
 * does not carry by looking at the live (stopped) target, so a Windows build
 * nobody has seen yet needs no table entry. Inputs: the KDBG block (for
 * PsActiveProcessHead, KiProcessorBlock and the KTHREAD/KPRCB offsets), the
 * module list (for nt!PsInitialSystemProcess) and the processor count.
 *
 * Method (every step is bounded; nothing found is trusted before it is
 * cross-checked on further processes or threads):
 *  1. System's EPROCESS S = *nt!PsInitialSystemProcess (else the process of a
 *     processor's current thread, KTHREAD.ApcState.Process, found on the list).
 *     Scan S for a pointer-sized 4 (System's pid) followed by a LIST_ENTRY at
 *     PsActiveProcessHead's first entry whose Blink is the head:
 *     UniqueProcessId = o, ActiveProcessLinks = o + 8. The next process must
 *     show a plausible pid at the same place.
 *  2. ImageFileName: "System" zero-padded to 15 bytes inside S, after the
 *     links; the next process must have a printable name there.
 *  3. Thread list: anchor = a processor's current thread T whose
 *     ApcState.Process P is on the process list (else System with no known
 *     thread). For each LIST_ENTRY at T + e, follow Flink until a node inside
 *     P: that node is the head at P + h. Without an anchor thread, for each
 *     LIST_ENTRY at S + h take its first node N and find e with N - e a
 *     plausible KTHREAD of S. A pair (h, e) stands when the whole chain from
 *     P + h walks back to its head with consistent Blinks and sampled threads
 *     N - e pass the stack invariants with ApcState.Process == P for at least
 *     one. Both KPROCESS.ThreadListHead/KTHREAD.ThreadListEntry and
 *     EPROCESS.ThreadListHead/ETHREAD.ThreadListEntry pass; the pair with the
 *     larger e (the ETHREAD-level list) is taken.
 *  4. Cid: in the threads of one process (the one with the most threads of
 *     the first few), the 8-aligned offset c where every thread holds the
 *     process's pid followed by a distinct nonzero thread id (multiple of 4).
 *  5. Win32StartAddress: the first offset after Cid where every sampled
 *     System thread holds an address inside a loaded module. StartAddress is
 *     not calibrated (it lies before Cid among other code pointers). */
#ifndef CALIBRATE_H
#define CALIBRATE_H

#include <stdint.h>

#include "kd_target.h"
#include "kdbg.h"
#include "modules.h"
#include "offsets.h"

#define CALIBRATE_MAX_PROCESSES 16384
#define CALIBRATE_MAX_THREADS 65536 /* one process's thread list */
#define CALIBRATE_WALK_MAX 4096     /* nodes followed looking for a head */
#define CALIBRATE_SAMPLE 8          /* threads sampled to confirm a pair */
#define CALIBRATE_CID_THREADS 16

struct calibrate_report {
    uint64_t system_process; /* S */
    bool system_from_export; /* S came from nt!PsInitialSystemProcess */
    uint64_t anchor_thread;  /* T, 0 when calibrated without one */
    uint64_t anchor_process; /* P */
    unsigned thread_pairs;   /* (h, e) pairs that passed */
    unsigned processes_seen;
};

/* Calibrates the fields of o that are still missing (others are left as
 * they are and used as known). Returns KD_OK when every field it tried was
 * found; KD_ERR_NOTFOUND when some were not (o holds what was found),
 * KD_ERR_STATE when KDBG lacks what calibration needs (PsActiveProcessHead,
 * KTHREAD stack and ApcState.Process offsets). r may be NULL. */
int calibrate_run(const struct kd_target *t, const struct kdbg *k, const struct modules *m,
                  uint64_t kern_base, uint32_t ncpus, struct offsets *o,
                  struct calibrate_report *r);

#endif
