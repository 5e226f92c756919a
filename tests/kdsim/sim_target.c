/* sim_target.c: the kd_target_ops of the simulated machine (sim_target.h). */
#include "sim_target.h"

#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"
#include "sim_kernel.h"

#define PROCESSOR_LEVEL 6 /* CPU family, as the Win 8.1 kernel reports it [VEC] */

struct sim_target {
    struct sim_target_config cfg;
    struct sim_scenario *s;
    struct sim_kernel *k;
    bool stopped;       /* stopped and its state change already delivered or pending */
    bool have_event;    /* a stop waits for wait_event */
    bool break_pending; /* break_in asked while running */
    struct sim_event ev;
};

int sim_target_new(const struct sim_target_config *cfg, struct sim_target **out)
{
    if (!cfg || !out)
        return KD_ERR_ARG;
    *out = NULL;
    struct sim_target *t = calloc(1, sizeof(*t));
    if (!t)
        return KD_ERR_NOMEM;
    t->cfg = *cfg;
    if (!t->cfg.ticks_per_resume)
        t->cfg.ticks_per_resume = 1;
    if (!t->cfg.ms_per_tick)
        t->cfg.ms_per_tick = 16;
    int st = sim_scenario_new(&cfg->scenario, &t->s);
    if (st != KD_OK) {
        free(t);
        return st;
    }
    t->k = sim_scenario_kernel(t->s);
    *out = t;
    return KD_OK;
}

void sim_target_free(struct sim_target *t)
{
    if (!t)
        return;
    sim_scenario_free(t->s);
    free(t);
}

struct sim_scenario *sim_target_scenario(struct sim_target *t)
{
    return t ? t->s : NULL;
}
bool sim_target_stopped(const struct sim_target *t)
{
    return t && t->stopped;
}

size_t sim_target_take_print(struct sim_target *t, char *buf, size_t cap)
{
    return t ? sim_scenario_take_print(t->s, buf, cap) : 0;
}

static int op_get_version(void *ctx, struct kd_version *v)
{
    struct sim_target *t = ctx;
    uint8_t b[SIM_VERSION_SIZE];
    if (!t->stopped)
        return KD_ERR_STATE;
    sim_kernel_version(t->k, b);
    return kd_api_version_decode(b, sizeof(b), v);
}

static int op_read_virtual(void *ctx, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got)
{
    struct sim_target *t = ctx;
    if (!t->stopped)
        return KD_ERR_STATE;
    /* The kernel clamps one read to what a packet carries. */
    uint32_t n = len < KD_API_MANIP_DATA_MAX ? len : KD_API_MANIP_DATA_MAX;
    return sim_mem_read(t->k->mem, addr, buf, n, got);
}

static int op_write_virtual(void *ctx, uint64_t addr, const uint8_t *buf, uint32_t len,
                            uint32_t *done)
{
    struct sim_target *t = ctx;
    if (!t->stopped)
        return KD_ERR_STATE;
    uint32_t n = len < KD_API_MANIP_DATA_MAX ? len : KD_API_MANIP_DATA_MAX;
    return sim_mem_write(t->k->mem, addr, buf, n, done);
}

static int op_read_control(void *ctx, uint16_t cpu, uint64_t selector, uint8_t *buf, uint32_t len,
                           uint32_t *got)
{
    struct sim_target *t = ctx;
    *got = 0;
    if (!t->stopped)
        return KD_ERR_STATE;
    if (cpu >= t->k->ncpus)
        return KD_ERR_TARGET;
    const struct sim_cpu *c = &t->k->cpu[cpu];
    uint8_t ptr[8];
    switch (selector) {
    case AMD64_DEBUG_CONTROL_SPACE_KPCR: kd_put64(ptr, c->kpcr); break;
    case AMD64_DEBUG_CONTROL_SPACE_KPRCB: kd_put64(ptr, c->kprcb); break;
    case AMD64_DEBUG_CONTROL_SPACE_KTHREAD: kd_put64(ptr, t->k->threads[c->thread].ethread); break;
    case AMD64_DEBUG_CONTROL_SPACE_KSPECIAL: {
        uint32_t n = len < SIM_KSPECIAL_SIZE ? len : SIM_KSPECIAL_SIZE;
        return sim_mem_read(t->k->mem, c->kprcb + SIM_KPRCB_PROC_STATE, buf, n, got);
    }
    default: return KD_ERR_TARGET;
    }
    *got = len < 8 ? len : 8;
    memcpy(buf, ptr, *got);
    return KD_OK;
}

int sim_target_write_control(struct sim_target *t, uint16_t cpu, uint64_t selector,
                             const uint8_t *buf, uint32_t len, uint32_t *done)
{
    if (!t || !done)
        return KD_ERR_ARG;
    *done = 0;
    if (!t->stopped)
        return KD_ERR_STATE;
    if (cpu >= t->k->ncpus || selector != AMD64_DEBUG_CONTROL_SPACE_KSPECIAL)
        return KD_ERR_TARGET;
    uint32_t n = len < SIM_KSPECIAL_SIZE ? len : SIM_KSPECIAL_SIZE;
    return sim_mem_write(t->k->mem, t->k->cpu[cpu].kprcb + SIM_KPRCB_PROC_STATE, buf, n, done);
}

static int op_get_context(void *ctx, uint16_t cpu, uint8_t *buf, uint32_t len, uint32_t *got)
{
    struct sim_target *t = ctx;
    *got = 0;
    if (!t->stopped)
        return KD_ERR_STATE;
    if (cpu >= t->k->ncpus)
        return KD_ERR_TARGET;
    uint32_t n = len < SIM_CONTEXT_SIZE ? len : SIM_CONTEXT_SIZE;
    return sim_mem_read(t->k->mem, sim_kernel_context_addr(t->k, cpu), buf, n, got);
}

int sim_target_set_context(struct sim_target *t, uint16_t cpu, uint32_t offset, const uint8_t *ctx,
                           uint32_t len)
{
    if (!t || (!ctx && len))
        return KD_ERR_ARG;
    if (!t->stopped)
        return KD_ERR_STATE;
    if (cpu >= t->k->ncpus || offset > SIM_CONTEXT_SIZE || len > SIM_CONTEXT_SIZE - offset)
        return KD_ERR_TARGET;
    uint32_t done;
    return sim_mem_write(t->k->mem, sim_kernel_context_addr(t->k, cpu) + offset, ctx, len, &done);
}

static int op_write_breakpoint(void *ctx, uint64_t addr, uint32_t *handle)
{
    struct sim_target *t = ctx;
    return t->stopped ? sim_mem_bp_write(t->k->mem, addr, handle) : KD_ERR_STATE;
}

static int op_restore_breakpoint(void *ctx, uint32_t handle)
{
    struct sim_target *t = ctx;
    return t->stopped ? sim_mem_bp_restore(t->k->mem, handle) : KD_ERR_STATE;
}

/* Keeps a stop for wait_event. */
static void take(struct sim_target *t, const struct sim_event *ev)
{
    t->ev = *ev;
    t->have_event = true;
    t->stopped = true;
    t->break_pending = false;
}

static int op_resume(void *ctx, uint32_t status)
{
    struct sim_target *t = ctx;
    (void)status; /* every stop is a breakpoint: handled or not, the CPU resumes at RIP */
    if (!t->stopped)
        return KD_ERR_STATE;
    const struct sim_event *last = &t->ev;
    uint64_t rip_at = sim_kernel_context_addr(t->k, last->cpu) + SIM_CONTEXT_RIP;
    bool hard = last->why == SIM_STOP_BREAKIN || last->why == SIM_STOP_BUGCHECK;
    if (!t->cfg.strict_int3 && hard && sim_mem_get64(t->k->mem, rip_at) == last->pc)
        sim_mem_put64(t->k->mem, rip_at, last->pc + 1); /* step over the hard-coded int3 */
    int st = sim_scenario_resume(t->s);
    if (st != KD_OK)
        return st;
    t->stopped = false;
    t->have_event = false;
    struct sim_event ev;
    uint32_t ran;
    st = sim_scenario_run(t->s, t->cfg.ticks_per_resume, &ev, &ran);
    if (st == 1)
        take(t, &ev);
    return st < 0 ? st : KD_OK;
}

static int op_break_in(void *ctx)
{
    struct sim_target *t = ctx;
    if (!t->stopped)
        t->break_pending = true;
    return KD_OK;
}

int sim_target_state_change(struct sim_target *t, const struct sim_event *ev,
                            struct kd_state_change *sc)
{
    if (!t || !ev || !sc)
        return KD_ERR_ARG;
    kd_api_state_init(sc, DbgKdExceptionStateChange, ev->cpu, ev->ncpus, ev->thread, ev->pc);
    sc->processor_level = PROCESSOR_LEVEL;
    const uint64_t params[1] = {0}; /* BREAKPOINT_BREAK */
    int st = kd_api_state_exception(sc, ev->code, ev->pc, ev->first_chance, ev->nparams, params);
    if (st != KD_OK)
        return st;
    struct kd_report_amd64 r = {
        .dr6 = 0xFFFF0FF0,
        .dr7 = 0x400,
        .eflags =
            sim_mem_get32(t->k->mem, sim_kernel_context_addr(t->k, ev->cpu) + SIM_CONTEXT_EFLAGS),
        .report_flags = AMD64_REPORT_INCLUDES_SEGS | AMD64_REPORT_STANDARD_CS,
        .seg_cs = SIM_SEL_R0_CODE,
        .seg_ds = SIM_SEL_R3_DATA,
        .seg_es = SIM_SEL_R3_DATA,
        .seg_fs = SIM_SEL_R3_TEB};
    uint32_t got = 0;
    sim_mem_read_clean(t->k->mem, ev->pc, r.instruction_stream, DBGKD_MAXSTREAM, &got);
    r.instruction_count = (uint16_t)got;
    kd_api_state_set_report_amd64(sc, &r);
    return KD_OK;
}

static int op_wait_event(void *ctx, int timeout_ms, struct kd_state_change *sc)
{
    struct sim_target *t = ctx;
    struct sim_event ev;
    if (!t->have_event && !t->stopped) {
        int st;
        uint32_t ran;
        if (t->break_pending)
            st = sim_scenario_break_in(t->s, &ev);
        else
            st = sim_scenario_run(
                t->s, timeout_ms > 0 ? (uint32_t)timeout_ms / t->cfg.ms_per_tick : 0, &ev, &ran);
        if (st < 0)
            return st;
        if (st == 1)
            take(t, &ev);
    }
    if (!t->have_event)
        return KD_ERR_TIMEOUT;
    t->have_event = false;
    return sim_target_state_change(t, &t->ev, sc);
}

static const struct kd_target_ops sim_target_ops = {
    .get_version = op_get_version,
    .read_virtual = op_read_virtual,
    .write_virtual = op_write_virtual,
    .read_control = op_read_control,
    .get_context = op_get_context,
    .write_breakpoint = op_write_breakpoint,
    .restore_breakpoint = op_restore_breakpoint,
    .resume = op_resume,
    .break_in = op_break_in,
    .wait_event = op_wait_event,
};

struct kd_target sim_target_target(struct sim_target *t)
{
    return (struct kd_target){&sim_target_ops, t};
}
