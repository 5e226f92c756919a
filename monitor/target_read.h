/* target_read.h: bounded, checked reads of target memory for the monitor.
 * Every monitor file reads through here so the KD chunk limit, the
 * exact-length rule and the address checks live in one place. Nothing read
 * from the target is trusted: callers validate every pointer they follow with
 * target_read_kernel_va() before using it. */
#ifndef TARGET_READ_H
#define TARGET_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kd_target.h"

/* Largest single read_virtual request (the KD stub's limit, 0x1000 - 0x98). */
#define TARGET_READ_CHUNK 3944u
/* Largest read target_read_bytes accepts in one call (64 MiB, the image cap). */
#define TARGET_READ_MAX (64u << 20)

/* x64 canonical form: bits 63..47 all equal. */
bool target_read_canonical(uint64_t va);
/* Canonical and in the upper (kernel) half. */
bool target_read_kernel_va(uint64_t va);

/* Reads exactly len bytes at va into buf, in requests of at most
 * TARGET_READ_CHUNK bytes. KD_ERR_ARG if t/buf is NULL, len >
 * TARGET_READ_MAX, va is not canonical or va + len wraps; the target's error
 * if a request fails; KD_ERR_TARGET if a request comes back short (the range
 * is not fully readable). buf contents are unspecified on error. */
int target_read_bytes(const struct kd_target *t, uint64_t va, void *buf, size_t len);
/* Little-endian scalars at va; *out is 0 on error. */
int target_read_u64(const struct kd_target *t, uint64_t va, uint64_t *out);
int target_read_u32(const struct kd_target *t, uint64_t va, uint32_t *out);
/* A pointer-sized value that must itself be a kernel address: KD_ERR_FORMAT
 * (and *out = the raw value) if it is not. */
int target_read_kptr(const struct kd_target *t, uint64_t va, uint64_t *out);

#endif
