/* fake_target.h: a small in-memory target behind struct kd_target for unit
 * tests of the monitor (and anyone else's code that talks kd_target_ops).
 *
 * Memory is a set of non-overlapping regions of virtual addresses, each
 * zero-filled when mapped; a read that runs off the mapped bytes comes back
 * short (KD_OK, *got < len) and a read that starts unmapped fails with
 * KD_ERR_TARGET, as KD does. Reads longer than 3944 bytes fail with
 * KD_ERR_LENGTH so code that forgets to split is caught. Control space
 * (per cpu and selector), contexts (per cpu) and the GetVersion block are
 * canned blobs. Counters record every request for "how many reads" tests.
 *
 * The Makefile links only tests/unit/test_*.c, so a test includes
 * "fake_target.c" once (see the test files); the header is for prototypes. */
#ifndef FAKE_TARGET_H
#define FAKE_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "kd_api.h"
#include "kd_target.h"

#define FAKE_TARGET_CPUS 8
#define FAKE_TARGET_SELECTORS 4

struct fake_target_stats {
    unsigned reads;         /* read_virtual calls */
    uint64_t bytes;         /* bytes asked for by read_virtual */
    uint32_t max_len;       /* longest read_virtual request */
    unsigned control_reads; /* read_control calls */
    unsigned context_reads; /* get_context calls */
};

struct fake_target;

/* NULL on allocation failure. */
struct fake_target *fake_target_new(void);
void fake_target_free(struct fake_target *ft);
/* The kd_target view; valid while ft lives. */
struct kd_target fake_target_target(struct fake_target *ft);

/* Maps [va, va + len) zero-filled and returns its bytes (owned by ft), or
 * NULL if len is 0 or > 64 MiB, the range wraps or overlaps a region. */
uint8_t *fake_target_map(struct fake_target *ft, uint64_t va, size_t len);
/* Copies into mapped memory; -1 if any byte is unmapped. */
int fake_target_write(struct fake_target *ft, uint64_t va, const void *p, size_t len);
int fake_target_put64(struct fake_target *ft, uint64_t va, uint64_t v);
int fake_target_put32(struct fake_target *ft, uint64_t va, uint32_t v);
int fake_target_put16(struct fake_target *ft, uint64_t va, uint16_t v);
/* Any later read touching va fails with KD_ERR_TARGET (0 clears). */
void fake_target_fail_at(struct fake_target *ft, uint64_t va);

void fake_target_set_version(struct fake_target *ft, const struct kd_version *v);
/* Copies len bytes (<= 4096) served for read_control(cpu, selector). */
int fake_target_set_control(struct fake_target *ft, uint16_t cpu, uint64_t selector,
                            const void *data, size_t len);
/* Copies a CONTEXT (<= 0x4D0 bytes) served for get_context(cpu). */
int fake_target_set_context(struct fake_target *ft, uint16_t cpu, const void *ctx, size_t len);

const struct fake_target_stats *fake_target_stats(const struct fake_target *ft);
void fake_target_reset_stats(struct fake_target *ft);

#endif
