/* fake_events.c: a scripted session. Everything derives from the seed
 * through one xorshift generator, so a test can name exact values. */
#include "fake_events.h"

#include "kd_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_MAX_PENDING 32
#define STACK_SIZE 0x6000u
#define VICTIM_LIMIT 0xfffff8800b9c1000ull /* seed 000's thread */
#define IST_BASE 0xfffff88002176000ull

enum role { ROLE_IDLE, ROLE_WORKER, ROLE_HOT, ROLE_NEAR, ROLE_VICTIM };

struct fake_thread {
    enum role role;
    double base;               /* usual fraction of the stack in use */
    const char *const *frames; /* template: innermost first */
    size_t nframes;
};

struct fake_events {
    struct fake_events_config cfg;
    uint32_t rng;
    unsigned step; /* 0 attach, 1..samples, then the crash stops */
    unsigned stop; /* crash stops done */
    size_t n;
    struct mon_thread *rows;   /* by creation; threshold events point here */
    struct mon_thread *sorted; /* the snapshot's order */
    struct fake_thread *roles;
    struct mon_snapshot snap;
    struct mon_crash crash;
    bool crashed;
    struct mon_event pending[FAKE_MAX_PENDING];
    size_t npending, next;
};

static uint32_t rnd(struct fake_events *f)
{
    uint32_t x = f->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return f->rng = x;
}

/* A fraction in [-0.5, 0.5). */
static double jitter(struct fake_events *f)
{
    return (double)(rnd(f) % 1000) / 1000.0 - 0.5;
}

/* "symbol size" templates, innermost first. */
static const char *const wait_frames[] = {
    "nt!KiSwapContext+0x76 0",
    "nt!KiSwapThread+0x500 0x140",
    "nt!KiCommitThreadWait+0x14f 0xa0",
    "nt!KeWaitForSingleObject+0x377 0xa0",
    "nt!NtWaitForSingleObject+0x6a 0x90",
    "nt!KiSystemServiceCopyEnd+0x25 0x70",
};
static const char *const worker_frames[] = {
    "nt!KiSwapContext+0x76 0",          "nt!KiSwapThread+0x500 0x140",
    "nt!KiCommitThreadWait+0x14f 0xa0", "nt!KeRemoveQueueEx+0x263 0xa0",
    "nt!ExpWorkerThread+0x105 0xa0",    "nt!PspSystemThreadStartup+0x55 0x90",
    "nt!KiStartSystemThread+0x28 0x50",
};
static const char *const filter_frames[] = {
    "nt!KiSwapContext+0x76 0",
    "nt!KiSwapThread+0x500 0x140",
    "nt!KeWaitForSingleObject+0x377 0xa0",
    "WdFilter!MpWaitForScanResult+0x8e 0xa0",
    "FLTMGR!FltpPerformPreCallbacks+0x2f6 0x120",
    "FLTMGR!FltpDispatch+0xe9 0x110",
    "nt!IofCallDriver+0x55 0x60",
    "nt!NtReadFile+0x6c4 0x40",
    "nt!KiSystemServiceCopyEnd+0x25 0x1a0",
};
static const char *const deep_frames[] = {
    "storport!RaidStartIoPacket+0x3f1 0",
    "storport!RaUnitScsiIrp+0x397 0x80",
    "rosempio!DsmWriteEvent+0x118cb 0xc0",
    "CLASSPNP!ServiceTransferRequest+0x355 0x40",
    "CLASSPNP!ClasspServiceIdleRequest+0x26 0xa0",
    "nt!IopfCompleteRequest+0x341 0x80",
    "rosempio!DsmWriteEvent+0x317f1 0xf0",
    "rosempio!DsmWriteEvent+0x220a8 0x90",
    "rosempio!DsmWriteEvent+0x21f75 0x60",
    "rosempio!DsmWriteEvent+0x118cb 0x60",
    "CLASSPNP!ServiceTransferRequest+0x355 0x40",
    "CLASSPNP!ClassReadWrite+0x132 0xa0",
    "FLTMGR!FltpDispatch+0xe9 0x110",
    "Ntfs!NtfsFsdWrite+0x1f4 0x250",
    "nt!IofCallDriver+0x55 0x60",
    "nt!NtWriteFile+0x6c4 0x40",
    "nt!KiSystemServiceCopyEnd+0x25 0x1a0",
};

struct proc {
    const char *name;
    uint32_t pid;
    unsigned share; /* threads per 200 */
    const char *start;
};

static const struct proc procs[] = {
    {"System", 4, 64, NULL},
    {"smss.exe", 376, 2, "ntdll!TppWorkerThread"},
    {"csrss.exe", 512, 12, "csrss!CsrApiRequestThread"},
    {"wininit.exe", 588, 3, "ntdll!TppWorkerThread"},
    {"services.exe", 660, 8, "services!ScServiceMain"},
    {"lsass.exe", 676, 10, "lsasrv!LsapRpcThread"},
    {"svchost.exe", 812, 24, "ntdll!TppWorkerThread"},
    {"svchost.exe", 1020, 14, "rpcrt4!ThreadStartRoutine"},
    {"MsMpEng.exe", 2284, 16, "mpengine!ScanWorker"},
    {"explorer.exe", 3412, 22, "shcore!WorkThreadManager"},
    {"SearchIndexer.", 2916, 9, "tquery!CWorkThread::Run"},
    {"diskstress.exe", 4120, 16, "diskstress!WriterThread"},
};

static const char *const system_starts[] = {
    "nt!ExpWorkerThread",        "nt!KeBalanceSetManager", "nt!MiModifiedPageWriter",
    "rosempio!DsmpWorkerThread", "nt!PopIrpWorkerControl", "storport!RaidpAdapterWorker",
};

/* Truncating copy (snprintf would make GCC warn about the truncation we want). */
static void copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* The thread's frames from its template, top at its sp; top_driver is the
 * first module on it that is not Windows' own. */
static void fill_frames(struct mon_thread *r, const struct fake_thread *ft)
{
    uint64_t sp = r->sp;
    r->nframes = 0;
    r->top_driver[0] = 0;
    for (size_t i = 0; i < ft->nframes && i < MON_THREAD_FRAMES; i++) {
        struct mon_frame *fr = &r->frames[r->nframes++];
        char sym[MON_SYMBOL_LEN];
        unsigned size = 0;
        copy(sym, sizeof sym, ft->frames[i]);
        char *space = strrchr(sym, ' ');
        if (space) {
            size = (unsigned)strtoul(space + 1, NULL, 0);
            *space = 0;
        }
        sp += size;
        fr->sp = sp;
        fr->size = size;
        fr->ret = 0xfffff80001c00000ull + (sp & 0xffff);
        copy(fr->symbol, sizeof fr->symbol, sym);
        char *bang = strchr(sym, '!');
        if (bang && !r->top_driver[0]) {
            *bang = 0;
            if (!breakdown_is_system_module(sym))
                copy(r->top_driver, sizeof r->top_driver, sym);
        }
    }
}

static void make_threads(struct fake_events *f)
{
    size_t k = 0;
    unsigned total = 0;
    for (size_t p = 0; p < sizeof procs / sizeof procs[0]; p++)
        total += procs[p].share;
    for (size_t p = 0; p < sizeof procs / sizeof procs[0] && k < f->n; p++) {
        size_t count = (size_t)procs[p].share * f->n / total;
        if (p == sizeof procs / sizeof procs[0] - 1)
            count = f->n - k; /* the stress test takes the rest */
        for (size_t i = 0; i < count && k < f->n; i++, k++) {
            struct mon_thread *r = &f->rows[k];
            struct fake_thread *ft = &f->roles[k];
            bool system = procs[p].pid == 4, stress = procs[p].pid == 4120;
            copy(r->process, sizeof r->process, procs[p].name);
            r->pid = procs[p].pid;
            r->tid = system ? 8 + 4 * (uint32_t)i : procs[p].pid + 4 + 4 * (uint32_t)i;
            copy(r->start, sizeof r->start,
                 system ? system_starts[i % (sizeof system_starts / sizeof system_starts[0])]
                        : procs[p].start);
            r->kthread = 0xffffb60c1a000080ull + (uint64_t)k * 0x680;
            r->stack_limit = 0xfffff88002400000ull + (uint64_t)k * 0x8000;
            r->cpu = -1;
            ft->role = ROLE_IDLE;
            ft->base = 0.08 + (double)(rnd(f) % 300) / 1000.0;
            ft->frames = system ? worker_frames : wait_frames;
            ft->nframes = system ? sizeof worker_frames / sizeof worker_frames[0]
                                 : sizeof wait_frames / sizeof wait_frames[0];
            if (procs[p].pid == 2284) {
                ft->frames = filter_frames;
                ft->nframes = sizeof filter_frames / sizeof filter_frames[0];
            }
            if (system && i == 3) { /* a rosempio worker that runs deep */
                ft->role = ROLE_HOT;
                ft->base = 0.80;
            }
            if (stress) {
                ft->role = i == 0 ? ROLE_VICTIM : i < 3 ? ROLE_NEAR : ROLE_WORKER;
                ft->base = i == 0 ? 0.40 : i < 3 ? 0.79 : 0.45;
                ft->frames = deep_frames;
                ft->nframes = sizeof deep_frames / sizeof deep_frames[0];
                r->tid = 5012 + 4 * (uint32_t)i;
            }
            if (ft->role == ROLE_HOT || ft->role == ROLE_NEAR || ft->role == ROLE_VICTIM) {
                ft->frames = deep_frames;
                ft->nframes = sizeof deep_frames / sizeof deep_frames[0];
            }
            if (ft->role == ROLE_VICTIM)
                r->stack_limit = VICTIM_LIMIT;
            r->stack_base = r->initial_stack = r->stack_limit + STACK_SIZE;
            r->size = STACK_SIZE;
            r->headroom = r->min_headroom = STACK_SIZE;
            r->sp = r->initial_stack;
        }
    }
}

static unsigned pct(const struct mon_thread *r)
{
    return r->size ? (unsigned)((uint64_t)r->headroom * 100 / r->size) : 100;
}

static void push(struct fake_events *f, const struct mon_event *ev)
{
    if (f->npending < FAKE_MAX_PENDING)
        f->pending[f->npending++] = *ev;
}

static void push_text(struct fake_events *f, enum mon_event_kind kind, uint64_t t, const char *text)
{
    struct mon_event ev = {.kind = kind, .time_ms = t};
    copy(ev.text, sizeof ev.text, text);
    if (kind == MON_EV_ATTACH)
        ev.snap = &f->snap;
    if (kind == MON_EV_CRASH)
        ev.crash = &f->crash;
    push(f, &ev);
}

static int by_headroom(const void *a, const void *b)
{
    const struct mon_thread *x = a, *y = b;
    if (x->headroom != y->headroom)
        return x->headroom < y->headroom ? -1 : 1;
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void sample(struct fake_events *f, unsigned k, uint64_t t)
{
    double progress = (double)k / f->cfg.samples;
    for (size_t i = 0; i < f->n; i++) {
        struct mon_thread *r = &f->rows[i];
        const struct fake_thread *ft = &f->roles[i];
        double used = ft->base + 0.06 * jitter(f);
        if (ft->role == ROLE_VICTIM)
            used = ft->base + 0.52 * progress;
        else if (ft->role == ROLE_HOT || ft->role == ROLE_NEAR)
            used = ft->base + 0.08 * jitter(f);
        if (used > 0.97)
            used = 0.97;
        unsigned before = pct(r);
        r->used = ((uint32_t)(used * STACK_SIZE) + 15) & ~15u;
        r->headroom = r->size - r->used;
        r->sp = r->initial_stack - r->used;
        if (r->headroom < r->min_headroom)
            r->min_headroom = r->headroom;
        if (r->used > r->peak_used)
            r->peak_used = r->used;
        r->samples++;
        r->last_ms = t;
        r->running = ft->role == ROLE_VICTIM || (i % 61 == 7);
        r->cpu = r->running ? (int)(i % 4) : -1;
        fill_frames(r, ft);
        unsigned after = pct(r);
        static const unsigned marks[] = {25, 10};
        for (size_t m = 0; m < 2; m++)
            if (before >= marks[m] && after < marks[m]) {
                struct mon_event ev = {.kind = MON_EV_THRESHOLD, .time_ms = t, .thread = r};
                snprintf(ev.text, sizeof ev.text,
                         "%s (pid %u) thread %u under %u%% headroom: %u bytes left of %u",
                         r->process, r->pid, r->tid, marks[m], r->headroom, r->size);
                push(f, &ev);
                break;
            }
    }
    memcpy(f->sorted, f->rows, f->n * sizeof *f->rows);
    qsort(f->sorted, f->n, sizeof *f->sorted, by_headroom);
    f->snap.seq++;
    f->snap.samples++;
    f->snap.time_ms = t;
    f->snap.stall_ms = 2.0 + (double)(rnd(f) % 30) / 10.0;
    if (f->snap.stall_ms > f->snap.stall_max_ms)
        f->snap.stall_max_ms = f->snap.stall_ms;
    f->snap.sampled = f->n;
    struct mon_event ev = {.kind = MON_EV_SAMPLE, .time_ms = t, .snap = &f->snap};
    push(f, &ev);
}

/* ---- the crash: seed 000's shape ------------------------------------------ */

struct crash_frame {
    const char *site; /* module!function+0xoff or module+0xoff */
    unsigned size;    /* kf size on this line */
};

static const struct crash_frame ist_frames[] = {
    {"nt!KeBugCheckEx", 0},
    {"nt!KiBugCheckDispatch+0x69", 0x8},
    {"nt!KiDoubleFaultAbort+0x28b", 0x140},
};
static const struct crash_frame inner_frames[] = {
    {"ql2300+0x69416", 0},
    {"ql2300+0x6dc7a", 0x140},
    {"storport!RaidpAdapterContinueScatterGather+0xc3", 0x80},
    {"hal!HalBuildScatterGatherList+0x203", 0x70},
    {"storport!RaUnitStartIo+0x28a", 0x70},
    {"storport!RaUnitScsiIrp+0x397", 0x80},
    {"storport!RaDriverScsiIrp+0x5d", 0xc0},
    {"rosempio!DsmWriteEvent+0x3e3f3", 0x40},
    {"rosempio!DsmWriteEvent+0x3c4f4", 0xc0},
};
static const struct crash_frame turn_frames[] = {
    /* 0x4d0 bytes per turn */
    {"rosempio!DsmWriteEvent+0x220a8", 0x90},
    {"rosempio!DsmWriteEvent+0x21f75", 0x60},
    {"rosempio!DsmWriteEvent+0x221d9", 0x60},
    {"rosempio!DsmWriteEvent+0x20f93", 0x50},
    {"rosempio!DsmWriteEvent+0x20943", 0x50},
    {"rosempio!DsmWriteEvent+0x118cb", 0x60},
    {"CLASSPNP!ServiceTransferRequest+0x355", 0x40},
    {"CLASSPNP!ClasspServiceIdleRequest+0x26", 0xa0},
    {"CLASSPNP!ClassCompletionRoutine+0x4bb3", 0x30},
    {"nt!IopfCompleteRequest+0x341", 0x80},
    {"rosempio!DsmWriteEvent+0x317f1", 0xf0},
};
static const struct crash_frame outer_frames[] = {
    {"CLASSPNP!ClassReadWrite+0x132", 0x60}, {"FLTMGR!FltpDispatch+0xe9", 0x110},
    {"Ntfs!NtfsFsdWrite+0x1f4", 0x250},      {"nt!IofCallDriver+0x55", 0x60},
    {"nt!NtWriteFile+0x6c4", 0x40},          {"nt!KiSystemServiceCopyEnd+0x25", 0x1a0},
};
#define CRASH_TURNS 17
#define CRASH_PAST 0xf0u

static void site_to_frame(const char *site, uint64_t sp, struct breakdown_frame *bf)
{
    memset(bf, 0, sizeof *bf);
    bf->sp = sp;
    const char *bang = strchr(site, '!'), *plus = strrchr(site, '+');
    size_t mlen = bang ? (size_t)(bang - site) : plus ? (size_t)(plus - site) : strlen(site);
    snprintf(bf->module, sizeof bf->module, "%.*s", (int)mlen, site);
    if (bang)
        snprintf(bf->function, sizeof bf->function, "%.*s",
                 (int)((plus && plus > bang ? plus : bang + strlen(bang)) - bang - 1), bang + 1);
    if (plus) {
        bf->offset = strtoull(plus + 1, NULL, 16);
        bf->has_offset = true;
    }
}

int fake_events_breakdown(struct breakdown **out)
{
    size_t n = 3 + 9 + 11 * CRASH_TURNS + 6, k = 0; /* 205 frames */
    struct breakdown_frame *fr = calloc(n, sizeof *fr);
    *out = NULL;
    if (!fr)
        return KD_ERR_NOMEM;
    uint64_t sp = IST_BASE - 0x1898; /* seed 000: fffff880`02174768 */
    for (size_t i = 0; i < 3; i++)
        site_to_frame(ist_frames[i].site, sp += ist_frames[i].size, &fr[k++]);
    fr[2].flags |= BREAKDOWN_FRAME_TRAP;
    sp = VICTIM_LIMIT - CRASH_PAST;
    for (size_t i = 0; i < 9; i++)
        site_to_frame(inner_frames[i].site, sp += inner_frames[i].size, &fr[k++]);
    for (size_t t = 0; t < CRASH_TURNS; t++)
        for (size_t i = 0; i < 11; i++)
            site_to_frame(turn_frames[i].site, sp += turn_frames[i].size, &fr[k++]);
    for (size_t i = 0; i < 6; i++)
        site_to_frame(outer_frames[i].site, sp += outer_frames[i].size, &fr[k++]);
    for (size_t i = 0; i + 1 < n; i++) /* RetAddr: where the caller resumes */
        fr[i].ret = 0xfffff88000c00000ull + (fr[i + 1].offset & 0xfffff);
    struct breakdown_range ranges[] = {
        {VICTIM_LIMIT, VICTIM_LIMIT + STACK_SIZE, BREAKDOWN_STACK_THREAD},
        {IST_BASE - 0x6000, IST_BASE, BREAKDOWN_STACK_IST},
    };
    struct breakdown_input in = {
        .frames = fr,
        .count = n,
        .ptr_size = 8,
        .ranges = ranges,
        .range_count = 2,
        .has_fault_sp = true,
        .fault_sp = VICTIM_LIMIT - CRASH_PAST,
    };
    int rc = breakdown_new(&in, out);
    free(fr);
    return rc;
}

static void crash_stop(struct fake_events *f, uint64_t t)
{
    static const char *const what[] = {
        "double fault: the CPU entered the double-fault handler on cpu 2",
        "KeBugCheckEx called on cpu 2 (bugcheck 0x7F, 0x8, 0x80050033, 0x406f8, "
        "0xfffff88001482416)",
        ("the kernel stopped for the bugcheck on cpu 2 (bugcheck 0x7F, 0x8, 0x80050033, 0x406f8, "
         "0xfffff88001482416)"),
    };
    struct mon_crash *c = &f->crash;
    const struct mon_thread *v = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (f->roles[i].role == ROLE_VICTIM)
            v = &f->rows[i];
    c->stops |= 1u << (MON_STOP_DOUBLE_FAULT + f->stop);
    if (!c->bd && fake_events_breakdown(&c->bd) != KD_OK)
        copy(c->reason, sizeof c->reason, "out of memory");
    c->have_fault = true;
    c->fault_rsp = VICTIM_LIMIT - CRASH_PAST;
    c->fault_rip = 0xfffff88001482416ull; /* ql2300+0x69416 */
    if (f->stop >= 1) {                   /* the code is known from KeBugCheckEx on */
        c->have_code = true;
        c->code = 0x7F;
        c->args[0] = 8;
        c->args[1] = 0x80050033;
        c->args[2] = 0x406f8;
        c->args[3] = 0xfffff88001482416ull;
    }
    if (v) {
        c->thread = v->kthread;
        copy(c->process, sizeof c->process, v->process);
        c->pid = v->pid;
        c->tid = v->tid;
        c->stack_limit = v->stack_limit;
        c->stack_base = v->stack_base;
        c->initial_stack = v->initial_stack;
    }
    f->crashed = true;
    push_text(f, MON_EV_STOP, t, what[f->stop]);
    push_text(f, MON_EV_CRASH, t, "crash report updated");
    f->stop++;
}

/* Queues the events of the next step; false when there is none. */
static bool step(struct fake_events *f)
{
    uint64_t t = 1000 + (uint64_t)f->step * f->cfg.interval_ms;
    char text[MON_TEXT_LEN];
    if (f->step == 0) {
        snprintf(text, sizeof text,
                 "attached: Windows build 19041 x64, 4 processors, 187 modules, %zu processes, "
                 "%zu threads; offsets from KDDEBUGGER_DATA64 + calibration",
                 sizeof procs / sizeof procs[0], f->n);
        memcpy(f->sorted, f->rows, f->n * sizeof *f->rows);
        push_text(f, MON_EV_ATTACH, t, text);
    } else if (f->cfg.no_crash || f->step <= f->cfg.samples) {
        if (f->step == 3)
            push_text(f, MON_EV_MODULE, t,
                      "module loaded: \\SystemRoot\\System32\\drivers\\rosempio.sys at "
                      "0xfffff88000c00000");
        if (f->step == 5)
            push_text(f, MON_EV_PRINT, t, "diskstress: pass 2 of 10, 4096 files of 64 KiB");
        sample(f, f->step, t);
    } else if (f->stop < 3) {
        t = 1000 + (uint64_t)f->cfg.samples * f->cfg.interval_ms + 400 + 50 * f->stop;
        crash_stop(f, t);
    } else {
        return false;
    }
    f->step++;
    return true;
}

int fake_events_new(const struct fake_events_config *cfg, struct fake_events **out)
{
    *out = NULL;
    struct fake_events *f = calloc(1, sizeof *f);
    if (!f)
        return KD_ERR_NOMEM;
    if (cfg)
        f->cfg = *cfg;
    if (!f->cfg.threads)
        f->cfg.threads = 200;
    if (!f->cfg.samples)
        f->cfg.samples = 30;
    if (!f->cfg.interval_ms)
        f->cfg.interval_ms = 1000;
    if (f->cfg.threads < 8 || f->cfg.threads > 4096) {
        free(f);
        return KD_ERR_ARG;
    }
    f->rng = f->cfg.seed ? f->cfg.seed : 1;
    f->n = f->cfg.threads;
    f->rows = calloc(f->n, sizeof *f->rows);
    f->sorted = calloc(f->n, sizeof *f->sorted);
    f->roles = calloc(f->n, sizeof *f->roles);
    if (!f->rows || !f->sorted || !f->roles) {
        fake_events_free(f);
        return KD_ERR_NOMEM;
    }
    make_threads(f);
    struct mon_target_info *ti = &f->snap.target;
    ti->build = 19041;
    ti->machine = 0x8664;
    ti->cpus = 4;
    ti->kern_base = 0xfffff80001c00000ull;
    copy(ti->kernel, sizeof ti->kernel, "ntoskrnl.exe");
    ti->modules = 187;
    copy(ti->offsets_source, sizeof ti->offsets_source, "KDDEBUGGER_DATA64 + calibration");
    ti->bp_double_fault = ti->bp_bugcheck = true;
    ti->double_fault_addr = 0xfffff80001cef7c0ull;
    ti->bugcheck_addr = 0xfffff80001ce4ba0ull;
    copy(ti->double_fault_sym, sizeof ti->double_fault_sym, "nt!KiDoubleFaultAbort");
    f->snap.threads = f->sorted;
    f->snap.nthreads = f->n;
    *out = f;
    return KD_OK;
}

void fake_events_free(struct fake_events *f)
{
    if (!f)
        return;
    breakdown_free(f->crash.bd);
    free(f->rows);
    free(f->sorted);
    free(f->roles);
    free(f);
}

bool fake_events_next(struct fake_events *f, struct mon_event *ev)
{
    while (f->next >= f->npending) {
        f->next = f->npending = 0;
        if (!step(f))
            return false;
    }
    *ev = f->pending[f->next++];
    return true;
}

const struct mon_snapshot *fake_events_snapshot(const struct fake_events *f)
{
    return &f->snap;
}

const struct mon_crash *fake_events_crash(const struct fake_events *f)
{
    return f->crashed ? &f->crash : NULL;
}
