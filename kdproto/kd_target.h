/* kd_target.h: the one narrow seam between the monitor and a target. A live
 * KD session, kdsim in-process, a replayed capture and a unit-test fake all
 * fill this table; the monitor calls nothing else. Every call is synchronous
 * and returns an enum kd_status; the target must be stopped (after
 * break_in or a state change) for memory, control space and context. */
#ifndef KD_TARGET_H
#define KD_TARGET_H

#include <stdint.h>

struct kd_state_change; /* kd_api.h */
struct kd_version;      /* kd_api.h */

/* A replayed recording answers KD_ERR_NOTFOUND to a read the recorded
 * session did not make at that point: the monitor then ends the current
 * sample there, as the live session's stall budget did. Live targets never
 * return it for a read. */

struct kd_target_ops {
    /* DBGKD_GET_VERSION64 of the stopped target. */
    int (*get_version)(void *ctx, struct kd_version *v);
    /* Reads up to len bytes of virtual memory; *got = bytes read (may be
     * short: a partial read is KD_OK with *got < len, nothing readable is
     * KD_ERR_TARGET). len <= 3944 per call on a KD link; callers split. */
    int (*read_virtual)(void *ctx, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got);
    /* Writes len bytes; *done = bytes written. */
    int (*write_virtual)(void *ctx, uint64_t addr, const uint8_t *buf, uint32_t len,
                         uint32_t *done);
    /* ReadControlSpace on processor cpu: selector 0 KPCR, 1 KPRCB, 2 special
     * registers, 3 current KTHREAD (AMD64). */
    int (*read_control)(void *ctx, uint16_t cpu, uint64_t selector, uint8_t *buf, uint32_t len,
                        uint32_t *got);
    /* The first len bytes of cpu's processor context (x64 CONTEXT, 0x4D0
     * bytes): asking for less (e.g. up to Rsp) is cheaper on slow links. */
    int (*get_context)(void *ctx, uint16_t cpu, uint8_t *buf, uint32_t len, uint32_t *got);
    /* Software breakpoint at addr; *handle identifies it for restore. */
    int (*write_breakpoint)(void *ctx, uint64_t addr, uint32_t *handle);
    int (*restore_breakpoint)(void *ctx, uint32_t handle);
    /* Resume the stopped target with a continue status (DBG_CONTINUE ...). */
    int (*resume)(void *ctx, uint32_t continue_status);
    /* Ask a running target to stop; the stop is reported by wait_event. */
    int (*break_in)(void *ctx);
    /* Waits up to timeout_ms for the next state change (the target stopped):
     * KD_OK and *sc filled, or KD_ERR_TIMEOUT. */
    int (*wait_event)(void *ctx, int timeout_ms, struct kd_state_change *sc);
};

struct kd_target {
    const struct kd_target_ops *ops;
    void *ctx;
};

#endif
