/* sim_world.c: processes, threads and their call chains (sim_world.h). */
#include "sim_world.h"

#include <stdlib.h>
#include <string.h>

#include "kd_status.h"
#include "sim_threads.h"

#define TMPL_MAX 64            /* calls in one resolved template part */
#define VICTIM_STEP 11         /* frames the doublefault victim pushes per tick (one cycle) */
#define MF_STEP 6              /* frames the minifilter victim pushes per tick */
#define DF_TERMINAL_ROOM 0xA00 /* below this much room the cycle turns into the miniport */
#define STRESS_JUMP 10         /* 1 in N ticks a stress worker goes as deep as it can */

/* A chain template: outer frames (first one is how the thread entered the
 * kernel), a pattern repeated `depth` times, and the wait tail of a
 * switched-out thread. Names are "module!function". */
struct tmpl_def {
    const char *start; /* ETHREAD.StartAddress / Win32StartAddress */
    bool user;
    const char *outer[TMPL_MAX];
    const char *pattern[8];
    const char *tail[6];
    uint32_t max_depth;
};

struct sim_tmpl {
    uint64_t start;
    bool user;
    struct sim_call outer[TMPL_MAX], pattern[8], tail[6];
    uint32_t nouter, npattern, ntail, max_depth;
};

#define WAIT_TAIL "nt!KiCommitThreadWait", "nt!KiSwapThread", "nt!KiSwapContext"
#define SYS_START "nt!KiStartSystemThread", "nt!PspSystemThreadStartup"
#define USER_ENTRY "nt!KiSystemServiceCopyEnd"
#define QL_PATTERN                                                                                 \
    {                                                                                              \
        "ql2300!Ql2xProcessQueue", "ql2300!Ql2xDispatchRequest", "storport!StorPortNotification",  \
            "ql2300!Ql2xCompleteIo", "ql2300!Ql2xHandleResponse"                                   \
    }

enum {
    T_SYS_WORKER,
    T_SYS_NTFS,
    T_SYS_QL2300,
    T_SYS_MYDRV,
    T_USER_WAIT,
    T_USER_WAITN,
    T_USER_DELAY,
    T_USER_IOCP,
    T_USER_IOCTL,
    T_STRESS,
    T_DF_VICTIM,
    T_MF_VICTIM,
    T_BC_VICTIM,
    T_DF_CYCLE,
    T_DF_TERMINAL,
    T_COUNT
};

static const struct tmpl_def defs[T_COUNT] = {
    [T_SYS_WORKER] = {"nt!ExpWorkerThread",
                      false,
                      {SYS_START, "nt!ExpWorkerThread"},
                      {NULL},
                      {"nt!KeRemovePriQueue", WAIT_TAIL},
                      0},
    [T_SYS_NTFS] = {"nt!ExpWorkerThread",
                    false,
                    {SYS_START, "nt!ExpWorkerThread", "Ntfs!NtfsFspDispatch"},
                    {NULL},
                    {"nt!KeWaitForSingleObject", WAIT_TAIL},
                    0},
    [T_SYS_QL2300] = {"ql2300!Ql2xWorkerThread",
                      false,
                      {SYS_START, "ql2300!Ql2xWorkerThread"},
                      QL_PATTERN,
                      {"nt!KeWaitForSingleObject", WAIT_TAIL},
                      6},
    [T_SYS_MYDRV] = {"MyDrv!MyDrvWorkerThread",
                     false,
                     {SYS_START, "MyDrv!MyDrvWorkerThread"},
                     {"MyDrv!MyDrvProcessItem", "MyDrv!MyDrvValidateState"},
                     {"nt!KeDelayExecutionThread", WAIT_TAIL},
                     4},
    [T_USER_WAIT] = {NULL,
                     true,
                     {USER_ENTRY, "nt!NtWaitForSingleObject"},
                     {NULL},
                     {"nt!KeWaitForSingleObject", WAIT_TAIL},
                     0},
    [T_USER_WAITN] = {NULL,
                      true,
                      {USER_ENTRY, "nt!NtWaitForMultipleObjects"},
                      {NULL},
                      {"nt!KeWaitForMultipleObjects", WAIT_TAIL},
                      0},
    [T_USER_DELAY] = {NULL,
                      true,
                      {USER_ENTRY, "nt!NtDelayExecution"},
                      {NULL},
                      {"nt!KeDelayExecutionThread", WAIT_TAIL},
                      0},
    [T_USER_IOCP] = {NULL,
                     true,
                     {USER_ENTRY, "nt!NtRemoveIoCompletion"},
                     {NULL},
                     {"nt!KeRemoveQueueEx", WAIT_TAIL},
                     0},
    [T_USER_IOCTL] = {NULL,
                      true,
                      {USER_ENTRY, "nt!NtDeviceIoControlFile", "nt!IopXxxControlFile",
                       "nt!IofCallDriver", "FLTMGR!FltpDispatch"},
                      {NULL},
                      {"nt!KeWaitForSingleObject", WAIT_TAIL},
                      0},
    [T_STRESS] = {"ql2300!Ql2xWorkerThread",
                  false,
                  {SYS_START, "ql2300!Ql2xWorkerThread"},
                  QL_PATTERN,
                  {"nt!KeWaitForSingleObject", WAIT_TAIL},
                  0},
    [T_DF_VICTIM] = {"nt!ExpWorkerThread",
                     false,
                     {SYS_START, "nt!ExpWorkerThread", "storport!RaidpAdapterDpcRoutine",
                      "storport!RaidUnitCompleteRequest", "CLASSPNP!TransferPktComplete",
                      "nt!IopfCompleteRequest"},
                     {NULL},
                     {NULL},
                     0},
    [T_MF_VICTIM] = {NULL,
                     true,
                     {USER_ENTRY,
                      "nt!NtCreateFile",
                      "nt!IopCreateFile",
                      "nt!ObOpenObjectByNameEx",
                      "nt!ObpLookupObjectName",
                      "nt!IopParseDevice",
                      "nt!IofCallDriver",
                      "FLTMGR!FltpCreateInternal",
                      "FLTMGR!FltpCreate",
                      "FLTMGR!FltpPassThrough",
                      "FLTMGR!FltpPassThroughInternal",
                      "FLTMGR!FltpPerformPreCallbacks",
                      "MyDrv!PreCreateCallback",
                      "MyDrv!PreCreate",
                      "MyDrv!RTBackupFile",
                      "MyDrv!RTCopyFileContents",
                      USER_ENTRY,
                      "nt!NtWriteFile",
                      "nt!IopWriteFile",
                      "nt!IopSynchronousServiceTail",
                      "nt!IofCallDriver",
                      "FLTMGR!FltpPassThrough",
                      "FLTMGR!FltpPassThroughInternal",
                      "FLTMGR!FltpPerformPreCallbacks",
                      "Ntfs!NtfsFsdWrite",
                      "Ntfs!NtfsCommonWrite",
                      "Ntfs!NtfsAddAllocation",
                      "Ntfs!NtfsSetEndOfFileRecord",
                      "Ntfs!NtfsSetEndOfFileRecordInformation",
                      "Ntfs!NtfsWriteLog",
                      "Ntfs!NtfsCheckForLargeLogFile",
                      "Ntfs!NtfsCheckpointForLogFileFull",
                      "Ntfs!NtfsCheckpointVolumeUntilDone",
                      "Ntfs!NtfsCheckpointVolume",
                      "Ntfs!NtfsCommonFlushBuffers",
                      "Ntfs!NtfsFlushVolume",
                      "Ntfs!NtfsFlushUserStream",
                      "nt!CcFlushCache",
                      "nt!CcFlushCachePriv",
                      "nt!MmFlushSection",
                      "nt!MiFlushSectionInternal",
                      "nt!IoSynchronousPageWrite",
                      "FLTMGR!FltpPassThrough",
                      "FLTMGR!FltpPassThroughInternal",
                      "FLTMGR!FltpPerformPreCallbacks",
                      "MyDrv!PreWriteCallback",
                      "MyDrv!PreWrite",
                      "MyDrv!RTSendIoEvent",
                      "MyDrv!RTSendEventWithQueue",
                      "FLTMGR!FltSendMessage",
                      "FLTMGR!FltpSendMessage",
                      "FLTMGR!FltpSendMessageWaiter",
                      "FLTMGR!FltpSetCancelRoutine",
                      "FLTMGR!TreeUnlink",
                      "nt!RtlDecompressBufferEx"},
                     {NULL},
                     {NULL},
                     0},
    [T_BC_VICTIM] = {"MyDrv!MyDrvWorkerThread",
                     false,
                     {SYS_START, "MyDrv!MyDrvWorkerThread", "MyDrv!MyDrvProcessItem",
                      "MyDrv!MyDrvValidateState"},
                     {NULL},
                     {NULL},
                     0},
    /* seed 000's turn: IopfCompleteRequest -> rosempio x7 -> CLASSPNP x3 -> again */
    [T_DF_CYCLE] = {NULL,
                    false,
                    {"rosempio!DsmpCompletionRoutine", "rosempio!DsmpRequestComplete",
                     "rosempio!DsmpProcessCompletion", "rosempio!DsmpCompletePendingIo",
                     "rosempio!DsmpRouteRequest", "rosempio!DsmpSrbDispatch",
                     "rosempio!DsmpSendToPath", "CLASSPNP!ServiceTransferRequest",
                     "CLASSPNP!ClasspServiceIdleRequest", "CLASSPNP!ClasspStartNextPacket",
                     "nt!IopfCompleteRequest"},
                    {NULL},
                    {NULL},
                    0},
    [T_DF_TERMINAL] = {NULL,
                       false,
                       {"storport!RaUnitStartIo", "ql2300!Ql2xStartIo", "ql2300!Ql2xBuildIocb"},
                       {NULL},
                       {NULL},
                       0},
};

uint64_t sim_world_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rnd(struct sim_world *w, uint32_t n)
{
    return (uint32_t)(sim_world_rand(&w->rng) % n);
}

static int resolve(const struct sim_kernel *k, const char *qname, uint32_t *fn)
{
    char mod[16];
    const char *bang = strchr(qname, '!');
    if (!bang || (size_t)(bang - qname) >= sizeof(mod))
        return KD_ERR_FORMAT;
    memcpy(mod, qname, (size_t)(bang - qname));
    mod[bang - qname] = 0;
    *fn = sim_kernel_fn(k, mod, bang + 1);
    return *fn == SIM_NO_FN ? KD_ERR_NOTFOUND : KD_OK;
}

/* Resolves names[]; the first outer call enters the kernel, a later
 * KiSystemServiceCopyEnd is a kernel-mode Zw call. */
static int resolve_part(const struct sim_kernel *k, const char *const *names, size_t max,
                        bool outer, bool user, struct sim_call *out, uint32_t *n)
{
    uint32_t entry = sim_kernel_fn(k, "nt", "KiSystemServiceCopyEnd");
    *n = 0;
    for (size_t i = 0; i < max && names[i]; i++) {
        int st = resolve(k, names[i], &out[i].fn);
        if (st != KD_OK)
            return st;
        out[i].via = SIM_VIA_CALL;
        if (outer && i == 0)
            out[i].via = user ? SIM_VIA_USER : SIM_VIA_START;
        else if (out[i].fn == entry)
            out[i].via = SIM_VIA_ZW;
        (*n)++;
    }
    return KD_OK;
}

static int resolve_templates(struct sim_world *w, const struct sim_kernel *k)
{
    w->tmpls = calloc(T_COUNT, sizeof(*w->tmpls));
    if (!w->tmpls)
        return KD_ERR_NOMEM;
    w->ntmpls = T_COUNT;
    for (int i = 0; i < T_COUNT; i++) {
        const struct tmpl_def *d = &defs[i];
        struct sim_tmpl *t = &w->tmpls[i];
        bool first = i != T_DF_CYCLE && i != T_DF_TERMINAL;
        int st = resolve_part(k, d->outer, TMPL_MAX, first, d->user, t->outer, &t->nouter);
        if (st == KD_OK)
            st = resolve_part(k, d->pattern, 8, false, false, t->pattern, &t->npattern);
        if (st == KD_OK)
            st = resolve_part(k, d->tail, 6, false, false, t->tail, &t->ntail);
        if (st != KD_OK)
            return st;
        uint32_t fn;
        t->user = d->user;
        t->max_depth = d->max_depth;
        t->start = d->start && resolve(k, d->start, &fn) == KD_OK ? k->im.fns[fn].addr : 0;
    }
    return KD_OK;
}

/* outer + pattern x depth (+ tail when switched out) into out[cap]. */
static size_t build_chain(const struct sim_tmpl *t, uint32_t depth, bool tail, struct sim_call *out,
                          size_t cap)
{
    size_t n = 0;
    for (uint32_t i = 0; i < t->nouter && n < cap; i++)
        out[n++] = t->outer[i];
    for (uint32_t i = 0; t->npattern && i < depth && n < cap; i++)
        out[n++] = t->pattern[i % t->npattern];
    for (uint32_t i = 0; tail && i < t->ntail && n < cap; i++)
        out[n++] = t->tail[i];
    return n;
}

/* Stack bytes a chain needs below InitialStack (its frames' full sizes). */
static uint64_t chain_bytes(const struct sim_kernel *k, const struct sim_call *c, size_t n)
{
    uint64_t b = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t full = k->im.fns[c[i].fn].full.full_size;
        b += c[i].via == SIM_VIA_START  ? 0x38 + full
             : c[i].via == SIM_VIA_USER ? 0x28 + full
             : c[i].via == SIM_VIA_ZW   ? 0x38 + full
                                        : 8 + full;
    }
    return b;
}

static int relay_waiter(struct sim_world *w, struct sim_kernel *k, const struct sim_waiter *wt)
{
    struct sim_call chain[TMPL_MAX * 2];
    size_t n = build_chain(&w->tmpls[wt->tmpl], wt->depth, true, chain, TMPL_MAX * 2);
    return sim_threads_lay(k, wt->thread, chain, n);
}

static int add_waiter(struct sim_world *w, struct sim_kernel *k, uint32_t proc, uint32_t tid,
                      uint32_t tmpl, uint32_t max_depth)
{
    const struct sim_tmpl *t = &w->tmpls[tmpl];
    uint64_t start = t->start ? t->start : 0x00007ffd7a0b0000ull + 0x40ull * tmpl;
    uint32_t th;
    struct sim_waiter *n = realloc(w->waiters, (w->nwaiters + 1) * sizeof(*n));
    if (!n)
        return KD_ERR_NOMEM;
    w->waiters = n;
    int st = sim_threads_add(k, proc, tid, start, start, t->user, &th);
    if (st != KD_OK)
        return st;
    struct sim_waiter *wt = &w->waiters[w->nwaiters++];
    *wt = (struct sim_waiter){th, tmpl, max_depth ? rnd(w, max_depth + 1) : 0, max_depth};
    return relay_waiter(w, k, wt);
}

static int add_mover(struct sim_world *w, struct sim_kernel *k, uint32_t proc, uint32_t tid,
                     uint32_t tmpl, bool victim)
{
    const struct sim_tmpl *t = &w->tmpls[tmpl];
    uint16_t cpu = (uint16_t)w->nmovers;
    struct sim_mover *m = &w->movers[w->nmovers];
    memset(m, 0, sizeof(*m));
    uint64_t start = t->start ? t->start : t->user ? 0x00007ff6c2a41000ull : 0;
    int st = sim_threads_add(k, proc, tid, start, start, t->user, &m->thread);
    if (st != KD_OK)
        return st;
    w->nmovers++;
    m->cpu = cpu;
    m->victim = victim;
    m->tmpl = tmpl;
    k->threads[m->thread].cpu = cpu; /* laid as running: no switch frame */
    uint32_t outer = victim && tmpl == T_MF_VICTIM ? 1 : t->nouter;
    struct sim_call *c = calloc(t->nouter, sizeof(*c));
    if (!c)
        return KD_ERR_NOMEM;
    memcpy(c, t->outer, t->nouter * sizeof(*c));
    m->calls = c;
    m->ncalls = m->cap = t->nouter;
    m->target = m->laid = outer;
    if ((st = sim_threads_lay(k, m->thread, c, outer)) != KD_OK)
        return st;
    k->threads[m->thread].cpu = -1;
    if (victim)
        w->victim = (int)(w->nmovers - 1);
    return sim_threads_run(k, m->thread, cpu);
}

int sim_world_kind_of(const char *name, enum sim_world_kind *kind)
{
    static const char *const names[] = {"idle", "stress", "doublefault-recursion",
                                        "minifilter-reentrancy", "bugcheck"};
    for (int i = 0; name && i < 5; i++) {
        if (strcmp(name, names[i]) == 0) {
            *kind = (enum sim_world_kind)i;
            return KD_OK;
        }
    }
    return KD_ERR_NOTFOUND;
}

static const struct {
    const char *name;
    uint32_t pid, parent, weight;
} procs[] = {
    {"smss.exe", 388, 4, 1},          {"csrss.exe", 500, 488, 6},
    {"wininit.exe", 576, 488, 2},     {"services.exe", 700, 576, 5},
    {"lsass.exe", 716, 576, 8},       {"svchost.exe", 868, 700, 12},
    {"svchost.exe", 972, 700, 9},     {"svchost.exe", 1236, 700, 14},
    {"spoolsv.exe", 2124, 700, 6},    {"MsMpEng.exe", 3100, 700, 20},
    {"explorer.exe", 4120, 4088, 24}, {"SearchIndexer.exe", 5204, 700, 10},
    {"RtBackup.exe", 6412, 4120, 4},
};

static uint32_t next_tid(struct sim_world *w)
{
    w->next_tid += 4 * (1 + (rnd(w, 8) == 0 ? rnd(w, 16) : 0));
    return w->next_tid;
}

int sim_world_new(struct sim_kernel *k, enum sim_world_kind kind, uint64_t seed, uint32_t threads,
                  struct sim_world **out)
{
    if (!k || !out || k->ncpus < 2 || threads < 16 || threads > 4096)
        return KD_ERR_ARG;
    *out = NULL;
    struct sim_world *w = calloc(1, sizeof(*w));
    if (!w)
        return KD_ERR_NOMEM;
    w->kind = kind;
    w->rng = seed;
    w->victim = -1;
    w->next_tid = 0x10;
    int st = resolve_templates(w, k);
    uint32_t sys = k->system_process, nsys = threads * 3 / 8, made = 0;
    /* The victim, or stress workers, run on processors 0..ncpus-2. */
    if (st == KD_OK && (kind == SIM_WORLD_DOUBLEFAULT || kind == SIM_WORLD_BUGCHECK)) {
        uint32_t tm = kind == SIM_WORLD_BUGCHECK ? T_BC_VICTIM : T_DF_VICTIM;
        st = add_mover(w, k, sys, next_tid(w), tm, true);
        made++;
    }
    for (uint32_t i = 0; kind == SIM_WORLD_STRESS && st == KD_OK && i + 1 < k->ncpus; i++, made++)
        st = add_mover(w, k, sys, next_tid(w), T_STRESS, false);
    w->start_tick = 2 + rnd(w, 5);
    for (uint32_t i = 0; kind == SIM_WORLD_STRESS && st == KD_OK && i < threads / 16; i++, made++)
        st = add_waiter(w, k, sys, next_tid(w), T_STRESS, 0);
    for (; st == KD_OK && made < nsys; made++) {
        uint32_t r = rnd(w, 20);
        uint32_t tm = r < 10   ? T_SYS_WORKER
                      : r < 14 ? T_SYS_NTFS
                      : r < 17 ? T_SYS_QL2300
                               : T_SYS_MYDRV;
        st = add_waiter(w, k, sys, next_tid(w), tm, w->tmpls[tm].max_depth);
    }
    /* User processes share the rest by weight; the last takes what is left. */
    size_t nprocs = sizeof(procs) / sizeof(procs[0]);
    uint32_t weights = 0, nuser = threads - nsys;
    for (size_t i = 0; i < nprocs; i++)
        weights += procs[i].weight;
    for (size_t i = 0; st == KD_OK && i < nprocs; i++) {
        uint32_t p, share = nuser * procs[i].weight / weights;
        share = i + 1 == nprocs ? threads - made : share ? share : 1;
        st = sim_threads_add_process(k, procs[i].pid, procs[i].name, procs[i].parent, true, &p);
        if (st == KD_OK && kind == SIM_WORLD_MINIFILTER &&
            strcmp(procs[i].name, "RtBackup.exe") == 0) {
            st = add_mover(w, k, p, next_tid(w), T_MF_VICTIM, true);
            share--, made++;
        }
        for (uint32_t j = 0; st == KD_OK && j < share && made < threads; j++, made++)
            st = add_waiter(w, k, p, next_tid(w), T_USER_WAIT + rnd(w, 5), 0);
    }
    if (st != KD_OK) {
        sim_world_free(w);
        return st;
    }
    *out = w;
    return KD_OK;
}

void sim_world_free(struct sim_world *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nmovers; i++)
        free(w->movers[i].calls);
    free(w->waiters);
    free(w->tmpls);
    free(w);
}

/* Deepest pattern depth whose switched-out chain keeps `margin` bytes above StackLimit. */
static uint32_t deepest(const struct sim_world *w, const struct sim_kernel *k, uint32_t tmpl,
                        uint32_t thread, uint64_t margin)
{
    const struct sim_thread *th = &k->threads[thread];
    const struct sim_tmpl *t = &w->tmpls[tmpl];
    uint64_t room = th->initial_stack - th->stack_limit;
    uint64_t used = chain_bytes(k, t->outer, t->nouter) + chain_bytes(k, t->tail, t->ntail) +
                    SIM_KSWITCH_FRAME_SIZE + margin;
    uint32_t d = 0;
    while (t->npattern && d < 4096) {
        used += chain_bytes(k, &t->pattern[d % t->npattern], 1);
        if (used > room)
            break;
        d++;
    }
    return d;
}

int sim_world_plan(struct sim_world *w, struct sim_kernel *k, uint64_t tick)
{
    /* A few drifting waiters per tick (quiet), all stress waiters in `stress`. */
    size_t drift = w->kind == SIM_WORLD_STRESS ? w->nwaiters : 3;
    for (size_t i = 0; i < drift && w->nwaiters; i++) {
        struct sim_waiter *wt =
            &w->waiters[w->kind == SIM_WORLD_STRESS ? i : rnd(w, (uint32_t)w->nwaiters)];
        uint32_t old = wt->depth;
        if (wt->tmpl == T_STRESS) {
            uint32_t max = deepest(w, k, T_STRESS, wt->thread, 0x100 + rnd(w, 0x500));
            int32_t nd = (int32_t)wt->depth + (int32_t)rnd(w, 13) - 6;
            nd = rnd(w, STRESS_JUMP) == 0 ? (int32_t)max : nd;
            wt->depth = nd < 0 ? 0 : (uint32_t)nd > max ? max : (uint32_t)nd;
        } else if (wt->max_depth) {
            int32_t nd = (int32_t)wt->depth + (rnd(w, 2) ? 1 : -1);
            wt->depth = nd < 0 ? 0 : (uint32_t)nd > wt->max_depth ? wt->max_depth : (uint32_t)nd;
        }
        if (wt->depth != old) {
            int st = relay_waiter(w, k, wt);
            if (st != KD_OK)
                return st;
        }
    }
    for (size_t i = 0; i < w->nmovers; i++) {
        struct sim_mover *m = &w->movers[i];
        const struct sim_tmpl *t = &w->tmpls[m->tmpl];
        if (!m->victim) {
            uint32_t max = deepest(w, k, m->tmpl, m->thread, 0x100 + rnd(w, 0x500));
            int32_t d = (int32_t)(m->target - t->nouter) + (int32_t)rnd(w, 13) - 6;
            d = rnd(w, STRESS_JUMP) == 0 ? (int32_t)max : d;
            m->target = t->nouter + (d < 0 ? 0 : (uint32_t)d > max ? max : (uint32_t)d);
        } else if (tick >= w->start_tick && w->kind == SIM_WORLD_BUGCHECK) {
            w->bugcheck_now = tick == w->start_tick;
        } else if (tick >= w->start_tick) {
            m->target += w->kind == SIM_WORLD_MINIFILTER ? MF_STEP : VICTIM_STEP;
            if (w->kind == SIM_WORLD_MINIFILTER && m->target > t->nouter)
                m->target = t->nouter;
        }
    }
    if (w->kind == SIM_WORLD_BUGCHECK && w->bugcheck_now) {
        const struct sim_mover *m = &w->movers[w->victim];
        w->bugcheck_code = 0xD1; /* DRIVER_IRQL_NOT_LESS_OR_EQUAL */
        w->bugcheck_args[0] = 0x18 + 8ull * rnd(w, 0x200);
        w->bugcheck_args[1] = 2;
        w->bugcheck_args[2] = 0;
        w->bugcheck_args[3] = k->im.fns[m->calls[m->ncalls - 1].fn].callsite - 6;
    }
    return KD_OK;
}

static int append_call(struct sim_mover *m, struct sim_call c)
{
    if (m->ncalls == m->cap) {
        uint32_t ncap = m->cap ? m->cap * 2 : 32;
        struct sim_call *n = realloc(m->calls, ncap * sizeof(*n));
        if (!n)
            return KD_ERR_NOMEM;
        m->calls = n;
        m->cap = ncap;
    }
    m->calls[m->ncalls++] = c;
    return KD_OK;
}

int sim_world_call(struct sim_world *w, struct sim_kernel *k, struct sim_mover *m, uint32_t pos,
                   struct sim_call *out)
{
    const struct sim_tmpl *t = &w->tmpls[m->tmpl];
    while (m->ncalls <= pos) {
        struct sim_call c;
        if (!m->victim) {
            c = t->pattern[(m->ncalls - t->nouter) % t->npattern];
        } else if (w->kind == SIM_WORLD_DOUBLEFAULT) {
            const struct sim_tmpl *cy = &w->tmpls[T_DF_CYCLE], *te = &w->tmpls[T_DF_TERMINAL];
            uint32_t i = m->ncalls - t->nouter;
            const struct sim_thread *th = &k->threads[m->thread];
            const struct sim_frame *top = sim_stack_top(&th->stack);
            if (m->terminal_at) {
                uint32_t j = m->ncalls - m->terminal_at;
                c = te->outer[j < te->nouter ? j : te->nouter - 1];
            } else if (i % cy->nouter == 7 && top && top->sp - th->stack_limit < DF_TERMINAL_ROOM) {
                /* Right after the DSM's send routine with little room left: into the miniport. */
                m->terminal_at = m->ncalls;
                c = te->outer[0];
            } else {
                c = cy->outer[i % cy->nouter];
            }
        } else {
            return KD_ERR_STATE; /* fixed chains are fully decided at creation */
        }
        int st = append_call(m, c);
        if (st != KD_OK)
            return st;
    }
    *out = m->calls[pos];
    return KD_OK;
}
