/* offsets_resolve.h: the whole offset pipeline at attach: KDBG, then the
 * user's ISF file, then calibration, then the built-in table, each filling
 * only what is still missing; then the stack-invariant check on real threads
 * (every processor's current thread and the first threads of System). */
#ifndef OFFSETS_RESOLVE_H
#define OFFSETS_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "calibrate.h"
#include "kd_api.h"
#include "kd_target.h"
#include "kdbg.h"
#include "modules.h"
#include "offsets.h"

#define OFFSETS_RESOLVE_CHECK_THREADS 8 /* System threads checked besides the CPUs' */
#define OFFSETS_RESOLVE_CHECK_CPUS 64
#define OFFSETS_RESOLVE_CHECK_MAX (OFFSETS_RESOLVE_CHECK_CPUS + OFFSETS_RESOLVE_CHECK_THREADS)

struct offsets_resolve_report {
    int isf_status;       /* KD_OK, the parser's error, or KD_ERR_NOTFOUND (no file) */
    int calibrate_status; /* calibrate_run's result */
    int builtin_status;   /* KD_OK or KD_ERR_NOTFOUND (build not in the table) */
    int check_status;     /* offsets_check's result */
    struct calibrate_report calibration;
};

/* Fills o for the target whose GetVersion is v. k may be NULL or encoded
 * (then only ISF and the table can help), isf may be NULL. Returns KD_OK when
 * offsets_complete(o) and the invariant check passed; KD_ERR_NOTFOUND when
 * fields are missing; KD_ERR_STATE when no thread could be checked (no
 * KDBG: no processor block, no process list); KD_ERR_FORMAT when the check
 * failed. o is filled in every case so the caller can show what was tried. */
int offsets_resolve(const struct kd_target *t, const struct kd_version *v, const struct kdbg *k,
                    const struct modules *m, const char *isf, size_t isf_len, uint32_t ncpus,
                    struct offsets *o, struct offsets_resolve_report *r);

#endif
