/* sim_mem.h: the simulated target's virtual memory. A sorted array of mapped
 * regions (no page tables): reads of unmapped bytes fail like a real target
 * (a read stops at the first unmapped byte). Software breakpoints really
 * patch 0xCC into memory and keep the original byte. */
#ifndef SIM_MEM_H
#define SIM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MEM_BP_MAX 32 /* KD breakpoint table size (ReactOS KD_BREAKPOINT_MAX) */
#define SIM_MEM_INT3 0xCC

struct sim_mem;

struct sim_mem_bp {
    uint32_t handle; /* 1-based, as WriteBreakPoint returns it */
    uint64_t addr;
    uint8_t original; /* byte that was there before the 0xCC */
};

/* Empty address space. */
int sim_mem_new(struct sim_mem **out);
void sim_mem_free(struct sim_mem *m);

/* Maps [addr, addr + size) zero-filled. KD_ERR_ARG on overlap, zero size or
 * wrap-around; *bytes (may be NULL) = host view of the new region. */
int sim_mem_map(struct sim_mem *m, uint64_t addr, uint64_t size, uint8_t **bytes);

/* Host pointer to [addr, addr + len) when it lies inside one region, else NULL.
 * The simulator's own builders write through it; breakpoints are not hidden. */
uint8_t *sim_mem_ptr(struct sim_mem *m, uint64_t addr, uint64_t len);

/* True when every byte of [addr, addr + len) is mapped. */
bool sim_mem_mapped(const struct sim_mem *m, uint64_t addr, uint64_t len);

/* Copies up to len bytes (across adjacent regions) and stops at the first
 * unmapped byte: *got = bytes copied. KD_OK when *got > 0 or len == 0,
 * KD_ERR_TARGET when nothing is readable. Breakpoints read as 0xCC, as on a
 * real kernel (the debugger hides its own breakpoints). */
int sim_mem_read(const struct sim_mem *m, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got);

/* Same, but breakpoint bytes read as the original bytes (instruction stream
 * of a state change). */
int sim_mem_read_clean(const struct sim_mem *m, uint64_t addr, uint8_t *buf, uint32_t len,
                       uint32_t *got);

/* Writes up to len bytes, stopping at the first unmapped byte (*done). A write
 * over an active breakpoint updates its saved original byte and keeps 0xCC. */
int sim_mem_write(struct sim_mem *m, uint64_t addr, const uint8_t *buf, uint32_t len,
                  uint32_t *done);

/* Little-endian helpers for the builders; reads of unmapped memory give 0,
 * writes to unmapped memory return KD_ERR_TARGET. */
uint64_t sim_mem_get64(const struct sim_mem *m, uint64_t addr);
uint32_t sim_mem_get32(const struct sim_mem *m, uint64_t addr);
int sim_mem_put64(struct sim_mem *m, uint64_t addr, uint64_t v);
int sim_mem_put32(struct sim_mem *m, uint64_t addr, uint32_t v);
int sim_mem_put16(struct sim_mem *m, uint64_t addr, uint16_t v);
int sim_mem_put8(struct sim_mem *m, uint64_t addr, uint8_t v);

/* WriteBreakPoint: saves the byte at addr and writes 0xCC. An address that
 * already holds one of our breakpoints returns its handle. KD_ERR_TARGET for
 * unmapped memory, KD_ERR_NOSPACE when all 32 handles are in use. */
int sim_mem_bp_write(struct sim_mem *m, uint64_t addr, uint32_t *handle);

/* RestoreBreakPoint: puts the original byte back. KD_ERR_TARGET for a handle
 * that is not in use (what a real kernel answers to WinDbg's 1..32 sweep). */
int sim_mem_bp_restore(struct sim_mem *m, uint32_t handle);

/* True when one of our breakpoints is in memory at addr. */
bool sim_mem_bp_at(const struct sim_mem *m, uint64_t addr);

/* Breakpoints still in memory, in handle order: fills out[cap], returns the count. */
size_t sim_mem_bp_list(const struct sim_mem *m, struct sim_mem_bp *out, size_t cap);

#endif
