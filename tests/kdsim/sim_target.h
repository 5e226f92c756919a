/* sim_target.h: kdsim in-process, behind struct kd_target (kd_target.h), so
 * monitor tests run against the simulated machine without any wire. Time is
 * scenario ticks, never real time: resume runs ticks_per_resume ticks (a stop
 * during them is kept for wait_event), wait_event(timeout_ms) runs up to
 * timeout_ms / ms_per_tick more ticks, a break-in is taken at the end of the
 * current tick. Deterministic for a seed.
 *
 * Like a real kernel, a stop leaves RIP on the int3 (KDP §2.9): resuming with
 * our breakpoint still in memory stops there again (restore it first), and
 * so does the hard-coded int3 of DbgBreakPointWithStatus unless RIP is moved
 * past it (WinDbg's SetContext(Rip + 1)). kd_target_ops has no SetContext, so
 * by default this target does that step for the host on resume; with
 * strict_int3 it does not (the KD wire server runs strict: the host must). */
#ifndef SIM_TARGET_H
#define SIM_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kd_api.h"
#include "kd_target.h"
#include "sim_scenario.h"

struct sim_target_config {
    struct sim_scenario_config scenario;
    uint32_t ticks_per_resume; /* default 1 */
    uint32_t ms_per_tick;      /* virtual milliseconds per tick (default 16) */
    bool strict_int3;          /* see above */
};

struct sim_target;

int sim_target_new(const struct sim_target_config *cfg, struct sim_target **out);
void sim_target_free(struct sim_target *t);

/* The kd_target view (ctx = t); valid while t lives. */
struct kd_target sim_target_target(struct sim_target *t);

struct sim_scenario *sim_target_scenario(struct sim_target *t);
bool sim_target_stopped(const struct sim_target *t);

/* SetContext / SetContextEx: writes len bytes at offset into cpu's CONTEXT. */
int sim_target_set_context(struct sim_target *t, uint16_t cpu, uint32_t offset, const uint8_t *ctx,
                           uint32_t len);

/* WriteControlSpace: only selector 2 (the special registers) is writable. */
int sim_target_write_control(struct sim_target *t, uint16_t cpu, uint64_t selector,
                             const uint8_t *buf, uint32_t len, uint32_t *done);

/* DbgPrint text printed since the last call (see sim_scenario_take_print). */
size_t sim_target_take_print(struct sim_target *t, char *buf, size_t cap);

/* Fills a STATE_CHANGE64 exception report for a stop (also used by the wire
 * server): header, DBGKM_EXCEPTION64 and the AMD64 control report with the
 * instruction stream at the PC (our breakpoints hidden). */
int sim_target_state_change(struct sim_target *t, const struct sim_event *ev,
                            struct kd_state_change *sc);

#endif
