/* crash_report.c: the three stops of a crash (our KiDoubleFaultAbort and
 * KeBugCheckEx breakpoints, then the kernel's own bugcheck break), each
 * folded into one crash record, and the faulting stack turned into the
 * breakdown the UI shows. */
#include "kd_le.h"
#include "kd_status.h"
#include "monitor_impl.h"
#include "symbols.h"
#include "target_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void monitor_crash_free(struct monitor *m)
{
    breakdown_free(m->crash.bd);
    m->crash.bd = NULL;
}

/* The break status the kernel passed to DbgBreakPointWithStatus (RCX). */
static bool break_status(struct monitor *m, uint16_t cpu, uint64_t *status)
{
    uint8_t ctx[KD_API_CONTEXT_AMD64_SIZE];
    uint32_t got = 0;
    if (m->t.ops->get_context(m->t.ctx, cpu, ctx, KD_API_CONTEXT_AMD64_RCX + 8, &got) != KD_OK ||
        got < KD_API_CONTEXT_AMD64_RCX + 8)
        return false;
    *status = kd_le64(ctx + KD_API_CONTEXT_AMD64_RCX);
    return true;
}

/* Break-ins and the bugcheck both stop at DbgBreakPointWithStatus: the
 * status in RCX tells them apart (1 CONTROL_C, 3/4 BUGCHECK_FIRST/SECOND).
 * The answer to our own break-in is taken as such without asking. */
static enum mon_stop_kind classify(struct monitor *m, const struct kd_state_change *sc,
                                   bool answering_breakin)
{
    if ((sc->new_state & ~DbgKdAlternateStateChange) != DbgKdExceptionStateChange)
        return MON_STOP_NONE;
    uint64_t pc = sc->program_counter, at = sc->u.exception.address;
    if (m->bp_df.armed && (pc == m->bp_df.addr || at == m->bp_df.addr))
        return MON_STOP_DOUBLE_FAULT;
    if (m->bp_bc.armed && (pc == m->bp_bc.addr || at == m->bp_bc.addr))
        return MON_STOP_KEBUGCHECKEX;
    uint64_t bws = kdbg_get(&m->kdbg, KDBG_BREAKPOINT_WITH_STATUS);
    if (sc->u.exception.code != STATUS_BREAKPOINT || !bws || (pc != bws && at != bws))
        return MON_STOP_NONE;
    /* Once KeBugCheckEx or the double fault was seen, the bugcheck break may
     * come as the answer to a sampling break-in (both stop here): ask RCX.
     * Before that, an answer to our break-in is one, without the cost. */
    unsigned crashing = (1u << MON_STOP_DOUBLE_FAULT) | (1u << MON_STOP_KEBUGCHECKEX);
    if (answering_breakin && !(m->crash.stops & crashing))
        return MON_STOP_NONE;
    uint64_t status;
    if (!break_status(m, sc->processor, &status))
        return MON_STOP_BUGCHECK; /* a stop there that we did not ask for */
    return status == DBG_STATUS_BUGCHECK_FIRST || status == DBG_STATUS_BUGCHECK_SECOND
               ? MON_STOP_BUGCHECK
               : MON_STOP_NONE;
}

static void frame_from(struct monitor *m, const struct unwind_frame *uf, struct breakdown_frame *bf)
{
    memset(bf, 0, sizeof *bf);
    bf->sp = uf->sp;
    bf->ret = uf->ret;
    if (uf->flags & UNWIND_FRAME_SCANNED)
        bf->flags |= BREAKDOWN_FRAME_SCANNED;
    if (uf->flags & (UNWIND_FRAME_MACHINE | UNWIND_FRAME_SWITCH))
        bf->flags |= BREAKDOWN_FRAME_MACHINE;
    struct symbols_hit hit;
    if (symbols_resolve(&m->t, m->mods, m->ver.kern_base, uf->pc, &hit) == KD_OK && hit.module) {
        symbols_module_name(m->mods, hit.module, m->ver.kern_base, bf->module, sizeof bf->module);
        if (hit.export_name)
            monitor_copy(bf->function, sizeof bf->function, hit.export_name);
        bf->offset = hit.offset;
        bf->has_offset = true;
    } else {
        bf->offset = uf->pc; /* a bare address */
        bf->has_offset = true;
    }
}

/* The double-fault stack of cpu: TSS.Ist[1] is its top (KPCR.TssBase at
 * KPCR+8, Ist[1] at TSS+0x24); the handler's frames live just below it. */
static bool ist1_top(struct monitor *m, uint16_t cpu, uint64_t *top)
{
    uint8_t b[8];
    uint32_t got = 0;
    uint64_t kpcr, tss;
    if (m->t.ops->read_control(m->t.ctx, cpu, 0, b, 8, &got) != KD_OK || got != 8)
        return false;
    kpcr = kd_le64(b);
    if (target_read_kptr(&m->t, kpcr + 8, &tss) != KD_OK)
        return false;
    return target_read_kptr(&m->t, tss + 0x24, top) == KD_OK && *top;
}

/* Rebuilds m->crash.bd from the record's frame list. */
static void build_breakdown(struct monitor *m)
{
    const struct unwind_trace *tr = &m->cr.trace;
    monitor_crash_free(m);
    if (!tr->count)
        return;
    struct breakdown_frame *frames = calloc(tr->count, sizeof *frames);
    if (!frames)
        return;
    for (uint32_t i = 0; i < tr->count; i++)
        frame_from(m, &tr->frames[i], &frames[i]);
    struct breakdown_range ranges[2];
    struct breakdown_input in = {
        .frames = frames, .count = tr->count, .ptr_size = 8, .ranges = ranges};
    if (m->crash.stack_limit && m->crash.stack_base > m->crash.stack_limit) {
        ranges[in.range_count].limit = m->crash.stack_limit;
        ranges[in.range_count].base = m->crash.stack_base;
        ranges[in.range_count++].kind = BREAKDOWN_STACK_THREAD;
    }
    if (m->ist_top) {
        ranges[in.range_count].limit = m->ist_top - MONITOR_IST_SIZE;
        ranges[in.range_count].base = m->ist_top;
        ranges[in.range_count++].kind = BREAKDOWN_STACK_IST;
    }
    if (m->cr.have_fault) {
        in.has_fault_sp = true;
        in.fault_sp = m->cr.fault_rsp;
    }
    breakdown_new(&in, &m->crash.bd);
    free(frames);
    monitor_copy(m->crash.reason, sizeof m->crash.reason, unwind_stop_str(tr->stop));
}

/* true when the faulting thread's row now shows the fault */
static bool fill_crash(struct monitor *m, enum mon_stop_kind kind)
{
    bool moved = false;
    struct mon_crash *c = &m->crash;
    c->stops |= 1u << kind;
    c->have_code = m->cr.have_code;
    c->code = m->cr.code;
    memcpy(c->args, m->cr.args, sizeof c->args);
    c->have_fault = m->cr.have_fault;
    c->fault_rsp = m->cr.fault_rsp;
    c->fault_rip = m->cr.fault_rip;
    c->thread = m->cr.thread;
    c->stack_limit = m->cr.stack_limit;
    c->stack_base = m->cr.stack_base;
    for (size_t i = 0; i < m->nrows; i++)
        if (m->rows[i].kthread == c->thread) {
            struct mon_thread *r = &m->rows[i];
            monitor_copy(c->process, sizeof c->process, r->process);
            c->pid = r->pid;
            c->tid = r->tid;
            c->initial_stack = r->initial_stack;
            /* the thread's row shows where the fault took it, not the last sample */
            if (kind == MON_STOP_DOUBLE_FAULT && c->have_fault && r->initial_stack > c->fault_rsp &&
                r->stack_limit) {
                r->sp = c->fault_rsp;
                r->used = (uint32_t)(r->initial_stack - c->fault_rsp);
                r->headroom =
                    c->fault_rsp > r->stack_limit ? (uint32_t)(c->fault_rsp - r->stack_limit) : 0;
                r->min_headroom = r->headroom < r->min_headroom ? r->headroom : r->min_headroom;
                if (r->used > r->peak_used)
                    r->peak_used = r->used;
                moved = true;
            }
        }
    build_breakdown(m);
    return moved;
}

static void disarm(struct monitor *m, struct monitor_bp *bp)
{
    /* One-shot: continuing from it would hit it again (the kernel backs RIP
     * up onto the int3), so it goes before the target may continue. */
    if (bp->armed && m->t.ops->restore_breakpoint(m->t.ctx, bp->handle) == KD_OK)
        bp->armed = false;
    m->snap.target.bp_double_fault = m->bp_df.armed;
    m->snap.target.bp_bugcheck = m->bp_bc.armed;
}

int monitor_crash_stop(struct monitor *m, const struct kd_state_change *sc, bool answering_breakin,
                       enum mon_stop_kind *kind_out)
{
    enum mon_stop_kind kind = classify(m, sc, answering_breakin);
    *kind_out = kind;
    if (kind == MON_STOP_NONE)
        return KD_OK;
    struct crash_env env = {
        .target = &m->t,
        .lookup = &m->lookup,
        .cpu = sc->processor,
        .kthread_stack_limit = m->off.value[OFFSETS_KTHREAD_STACK_LIMIT],
        .kthread_stack_base = m->off.value[OFFSETS_KTHREAD_STACK_BASE],
        .prcb_current_thread = m->off.value[OFFSETS_KPRCB_CURRENT_THREAD],
        .bugcheck_data = kdbg_get(&m->kdbg, KDBG_KI_BUGCHECK_DATA),
    };
    if (sc->thread) {
        for (size_t i = 0; i < m->nrows; i++)
            if (m->rows[i].kthread == sc->thread && m->rows[i].stack_base) {
                env.stack_limit = m->rows[i].stack_limit;
                env.stack_base = m->rows[i].stack_base;
            }
    }
    int rc;
    const char *what;
    switch (kind) {
    case MON_STOP_DOUBLE_FAULT:
        if (ist1_top(m, sc->processor, &m->ist_top)) {
            env.ist_base = m->ist_top;
            env.ist_limit = m->ist_top - MONITOR_IST_SIZE;
        }
        rc = crash_on_double_fault(&m->cr, &env);
        disarm(m, &m->bp_df);
        what = "double fault: the CPU entered the double-fault handler";
        break;
    case MON_STOP_KEBUGCHECKEX:
        rc = crash_on_kebugcheckex(&m->cr, &env);
        disarm(m, &m->bp_bc);
        what = "KeBugCheckEx called";
        break;
    default:
        rc = crash_on_bugcheck_break(&m->cr, &env);
        what = "the kernel stopped for the bugcheck";
        break;
    }
    m->crashed = true;
    if (fill_crash(m, kind))
        monitor_publish(m);
    if (m->crash.have_code)
        monitor_emit(m, MON_EV_STOP, "%s on cpu %u (bugcheck 0x%X, 0x%llx, 0x%llx, 0x%llx, 0x%llx)",
                     what, sc->processor, m->crash.code, (unsigned long long)m->crash.args[0],
                     (unsigned long long)m->crash.args[1], (unsigned long long)m->crash.args[2],
                     (unsigned long long)m->crash.args[3]);
    else
        monitor_emit(m, MON_EV_STOP, "%s on cpu %u", what, sc->processor);
    monitor_emit(m, MON_EV_CRASH, "crash report updated");
    return rc;
}
