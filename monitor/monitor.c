/* monitor.c: attach, detach and events. The order at attach follows what
 * the target can tell us, most trustworthy first: GetVersion, then
 * KDDEBUGGER_DATA64, the module list, the offsets (KDBG, ISF, calibration,
 * table), the threads, and last the breakpoints. */
#include "kd_status.h"
#include "monitor_impl.h"
#include "symbols.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Milliseconds since the monitor was made (or the injected clock). */
uint64_t monitor_now(const struct monitor *m)
{
    if (m->cfg.now_ms)
        return m->cfg.now_ms(m->cfg.clock_user);
    return mono_ms() - m->t0_ms;
}

static void emit_event(struct monitor *m, struct mon_event *ev)
{
    ev->time_ms = monitor_now(m);
    if (m->cfg.on_event)
        m->cfg.on_event(m->cfg.user, ev);
}

void monitor_emit(struct monitor *m, enum mon_event_kind kind, const char *fmt, ...)
{
    struct mon_event ev = {.kind = kind};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev.text, sizeof ev.text, fmt, ap);
    va_end(ap);
    if (kind == MON_EV_ATTACH || kind == MON_EV_SAMPLE)
        ev.snap = &m->snap;
    if (kind == MON_EV_CRASH)
        ev.crash = &m->crash;
    emit_event(m, &ev);
}

int monitor_new(const struct kd_target *t, const struct monitor_config *cfg, struct monitor **out)
{
    *out = NULL;
    if (!t || !t->ops)
        return KD_ERR_ARG;
    struct monitor *m = calloc(1, sizeof *m);
    if (!m)
        return KD_ERR_NOMEM;
    m->t = *t;
    if (cfg)
        m->cfg = *cfg;
    if (m->cfg.interval_ms <= 0)
        m->cfg.interval_ms = 1000;
    if (m->cfg.max_stall_ms <= 0)
        m->cfg.max_stall_ms = 20;
    if (m->cfg.near_percent <= 0)
        m->cfg.near_percent = 25;
    m->mods = modules_new();
    m->threads = threads_new();
    if (!m->mods || !m->threads || crash_record_init(&m->cr) != KD_OK) {
        monitor_free(m);
        return KD_ERR_NOMEM;
    }
    m->cr_init = true;
    m->t0_ms = mono_ms();
    m->um.target = &m->t;
    m->um.modules = m->mods;
    unwind_modules_lookup(&m->um, &m->lookup);
    *out = m;
    return KD_OK;
}

void monitor_free(struct monitor *m)
{
    if (!m)
        return;
    monitor_crash_free(m);
    if (m->cr_init)
        crash_record_fini(&m->cr);
    modules_free(m->mods);
    threads_free(m->threads);
    free(m->rows);
    free(m->sorted);
    free(m);
}

bool monitor_stopped(const struct monitor *m)
{
    return m->stopped;
}

void monitor_retarget(struct monitor *m, const struct kd_target *t, bool stopped)
{
    m->t = *t; /* m->um and every reader point at m->t */
    m->stopped = stopped;
}
const struct mon_snapshot *monitor_snapshot(const struct monitor *m)
{
    return &m->snap;
}
const struct mon_crash *monitor_crash(const struct monitor *m)
{
    return m->crashed ? &m->crash : NULL;
}

int monitor_walk_threads(struct monitor *m)
{
    uint64_t head = kdbg_get(&m->kdbg, KDBG_PS_ACTIVE_PROCESS_HEAD);
    int rc = threads_enumerate(&m->t, &m->off, head, m->threads);
    size_t n = m->threads->n;
    struct mon_thread *old = m->rows;
    size_t oldn = m->nrows;
    struct mon_thread *rows = calloc(n ? n : 1, sizeof *rows);
    struct mon_thread *sorted = calloc(n ? n : 1, sizeof *sorted);
    if (!rows || !sorted) {
        free(rows);
        free(sorted);
        return KD_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const struct threads_thread *th = &m->threads->v[i];
        const struct threads_process *p = &m->threads->procs[th->process];
        struct mon_thread *r = &rows[i];
        r->kthread = th->kthread;
        r->pid = p->pid;
        r->tid = th->tid;
        monitor_copy(r->process, sizeof r->process, p->name);
        r->cpu = -1;
        r->min_headroom = UINT32_MAX;
        if (th->start)
            symbols_format(&m->t, m->mods, m->ver.kern_base, th->start, r->start, sizeof r->start);
        /* Keep what was learnt about a thread that is still there. */
        for (size_t j = 0; j < oldn; j++)
            if (old[j].kthread == th->kthread && old[j].tid == th->tid) {
                *r = old[j]; /* the same thread: its history and last numbers */
                break;
            }
    }
    free(m->rows);
    free(m->sorted);
    m->rows = rows;
    m->sorted = sorted;
    m->nrows = n;
    m->rotor = 0;
    m->since_walk = 0;
    m->need_walk = false;
    return rc;
}

static void arm(struct monitor *m, struct monitor_bp *bp, uint64_t addr, const char *what)
{
    bp->addr = addr;
    int rc = m->t.ops->write_breakpoint(m->t.ctx, addr, &bp->handle);
    bp->armed = rc == KD_OK;
    if (!bp->armed)
        monitor_emit(m, MON_EV_WARNING, "cannot set a breakpoint on %s at 0x%llx: %s", what,
                     (unsigned long long)addr, kd_status_str(rc));
}

static void arm_breakpoints(struct monitor *m)
{
    struct mon_target_info *ti = &m->snap.target;
    uint64_t va;
    if (symbols_kebugcheckex(&m->t, m->mods, m->ver.kern_base, &va) == KD_OK) {
        arm(m, &m->bp_bc, va, "KeBugCheckEx");
        ti->bp_bugcheck = m->bp_bc.armed;
        ti->bugcheck_addr = va;
    } else {
        monitor_emit(m, MON_EV_WARNING, "KeBugCheckEx not found in the kernel's export table");
    }
    struct symbols_double_fault df;
    if (symbols_double_fault(&m->t, m->mods, m->ver.kern_base, 0, &df) == KD_OK) {
        arm(m, &m->bp_df, df.gate.handler, "the double-fault handler");
        ti->bp_double_fault = m->bp_df.armed;
        ti->double_fault_addr = df.gate.handler;
        monitor_copy(ti->double_fault_sym, sizeof ti->double_fault_sym, df.symbol);
        if (df.shadow)
            monitor_emit(m, MON_EV_WARNING,
                         "IDT vector 8 points to a KVA-shadow trampoline (%s): the double "
                         "fault is caught there",
                         df.symbol);
    } else {
        monitor_emit(m, MON_EV_WARNING,
                     "IDT vector 8 could not be read: no double-fault "
                     "breakpoint (KeBugCheckEx still catches the crash)");
    }
}

static void describe_offsets(struct monitor *m)
{
    bool src[8] = {0};
    for (int f = 0; f < OFFSETS_NFIELDS; f++)
        if (m->off.source[f] < 8)
            src[m->off.source[f]] = true;
    char *b = m->snap.target.offsets_source;
    size_t cap = sizeof m->snap.target.offsets_source, n = 0;
    b[0] = 0;
    for (int s = OFFSETS_SRC_KDBG; s <= OFFSETS_SRC_BUILTIN && n < cap; s++)
        if (src[s])
            n += (size_t)snprintf(b + n, cap - n, "%s%s", n ? " + " : "",
                                  offsets_source_name((enum offsets_source)s));
}

int monitor_attach(struct monitor *m, const struct kd_state_change *stop)
{
    m->stopped = true;
    int rc = m->t.ops->get_version(m->t.ctx, &m->ver);
    if (rc != KD_OK)
        return rc;
    struct mon_target_info *ti = &m->snap.target;
    ti->build = m->ver.minor;
    ti->machine = m->ver.machine;
    ti->kern_base = m->ver.kern_base;
    m->ncpus = stop && stop->number_processors ? stop->number_processors : 1;
    if (m->ncpus > THREADS_MAX_CPUS)
        m->ncpus = THREADS_MAX_CPUS;
    ti->cpus = m->ncpus;
    if (m->ver.machine != IMAGE_FILE_MACHINE_AMD64) {
        monitor_emit(m, MON_EV_WARNING,
                     "machine type 0x%04x: live sampling supports x64 "
                     "targets only",
                     m->ver.machine);
        return KD_ERR_UNSUPPORTED;
    }
    rc = kdbg_read(&m->t, &m->ver, &m->kdbg);
    m->have_kdbg = rc == KD_OK && !m->kdbg.encoded;
    ti->kdbg_encoded = m->kdbg.encoded;
    if (m->kdbg.encoded)
        monitor_emit(m, MON_EV_WARNING,
                     "KDDEBUGGER_DATA64 is encoded (the target booted without /debug): "
                     "offsets come from --symbols or the built-in table");
    else if (rc != KD_OK)
        monitor_emit(m, MON_EV_WARNING, "KDDEBUGGER_DATA64 not readable: %s", kd_status_str(rc));
    uint64_t list = m->ver.ps_loaded_module_list;
    rc = modules_walk(&m->t, list, m->mods);
    if (rc != KD_OK && m->mods->n == 0)
        return rc;
    ti->modules = m->mods->n;
    struct module *nt = symbols_kernel(m->mods, m->ver.kern_base);
    monitor_copy(ti->kernel, sizeof ti->kernel, nt ? nt->name : "?");
    char *isf = NULL;
    size_t isf_len = 0;
    if (m->cfg.symbols) {
        FILE *f = fopen(m->cfg.symbols, "rb");
        if (f) {
            isf = malloc(32u << 20);
            isf_len = isf ? fread(isf, 1, 32u << 20, f) : 0;
            fclose(f);
        } else {
            monitor_emit(m, MON_EV_WARNING, "cannot read --symbols %s", m->cfg.symbols);
        }
    }
    rc = offsets_resolve(&m->t, &m->ver, m->have_kdbg ? &m->kdbg : NULL, m->mods, isf, isf_len,
                         m->ncpus, &m->off, &m->off_report);
    free(isf);
    describe_offsets(m);
    if (rc == KD_ERR_FORMAT)
        monitor_emit(m, MON_EV_WARNING,
                     "structure offsets failed the stack invariant check "
                     "(%u of %u threads): samples may be wrong",
                     m->off.threads_failed, m->off.threads_checked);
    else if (rc != KD_OK)
        return rc;
    rc = monitor_walk_threads(m);
    if (rc != KD_OK && m->nrows == 0)
        return rc;
    arm_breakpoints(m);
    m->attached = true;
    monitor_emit(m, MON_EV_ATTACH,
                 "attached: Windows build %u %s, %u processor%s, %zu modules, %zu processes, "
                 "%zu threads; offsets from %s",
                 m->ver.minor,
                 kd_api_machine_name(m->ver.machine) ? kd_api_machine_name(m->ver.machine) : "?",
                 m->ncpus, m->ncpus == 1 ? "" : "s", m->mods->n, m->threads->nprocs, m->nrows,
                 ti->offsets_source);
    return KD_OK;
}

int monitor_resume(struct monitor *m)
{
    if (!m->stopped)
        return KD_OK;
    int rc = m->t.ops->resume(m->t.ctx, DBG_CONTINUE);
    if (rc == KD_OK)
        m->stopped = false;
    return rc;
}

int monitor_break_in(struct monitor *m, int timeout_ms, bool *other)
{
    *other = false;
    if (m->stopped)
        return KD_OK;
    int rc = m->t.ops->break_in(m->t.ctx);
    if (rc != KD_OK)
        return rc;
    struct kd_state_change sc;
    rc = m->t.ops->wait_event(m->t.ctx, timeout_ms, &sc);
    if (rc != KD_OK)
        return rc;
    m->stopped = true;
    /* A break-in answers with a breakpoint exception outside our two
     * addresses; anything else is news (a crash racing the break-in). */
    enum mon_stop_kind kind;
    rc = monitor_crash_stop(m, &sc, true, &kind);
    if (kind != MON_STOP_NONE)
        *other = true;
    return rc;
}

int monitor_on_stop(struct monitor *m, const struct kd_state_change *sc, bool *resume)
{
    m->stopped = true;
    *resume = true;
    uint32_t state = sc->new_state & ~DbgKdAlternateStateChange;
    if (state == DbgKdLoadSymbolsStateChange) {
        if (sc->u.load.unload)
            monitor_emit(m, MON_EV_MODULE, "module unloaded at 0x%llx",
                         (unsigned long long)sc->u.load.base);
        else
            monitor_emit(m, MON_EV_MODULE, "module loaded: %s at 0x%llx", sc->u.load.path,
                         (unsigned long long)sc->u.load.base);
        modules_walk(&m->t, m->ver.ps_loaded_module_list, m->mods);
        m->snap.target.modules = m->mods->n;
        return KD_OK;
    }
    enum mon_stop_kind kind;
    int rc = monitor_crash_stop(m, sc, false, &kind);
    /* After our two breakpoints the crash goes on to the kernel's own
     * bugcheck break, which ends it: the target stays stopped there. */
    if (kind == MON_STOP_BUGCHECK)
        *resume = false;
    return rc;
}

int monitor_detach(struct monitor *m, const char *why)
{
    if (m->detached)
        return KD_OK;
    int first = KD_OK;
    struct monitor_bp *bps[2] = {&m->bp_df, &m->bp_bc};
    if (!m->stopped && (bps[0]->armed || bps[1]->armed)) {
        bool other;
        int rc = monitor_break_in(m, 2000, &other);
        if (rc != KD_OK)
            first = rc;
    }
    for (int i = 0; i < 2; i++) {
        if (!bps[i]->armed || !m->stopped)
            continue;
        int rc = m->t.ops->restore_breakpoint(m->t.ctx, bps[i]->handle);
        if (rc == KD_OK)
            bps[i]->armed = false;
        else if (first == KD_OK)
            first = rc;
    }
    int rc = monitor_resume(m);
    if (first == KD_OK)
        first = rc;
    m->detached = first == KD_OK;
    m->snap.target.bp_double_fault = m->bp_df.armed;
    m->snap.target.bp_bugcheck = m->bp_bc.armed;
    if (first == KD_OK)
        monitor_emit(m, MON_EV_DETACH, "detached (%s): breakpoints removed, target running",
                     why ? why : "done");
    else
        monitor_emit(m, MON_EV_DETACH, "detach incomplete (%s): %s", why ? why : "done",
                     kd_status_str(first));
    return first;
}

int monitor_sample(struct monitor *m)
{
    if (!m->attached)
        return KD_ERR_STATE;
    if (!m->stopped)
        return KD_ERR_STATE;
    return monitor_sample_threads(m);
}
