/* monitor.h: the target model as the UI sees it. The monitor attaches to a
 * stopped target (kd_target.h), samples every thread's kernel-stack
 * headroom while the target runs (break in, read, continue), catches the
 * crash (KiDoubleFaultAbort, KeBugCheckEx, the kernel's bugcheck break) and
 * publishes snapshots and events. It never prints: the UI renders what it
 * publishes, live or in replay alike. */
#ifndef MONITOR_H
#define MONITOR_H

#include "breakdown.h"
#include "kd_target.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MON_PROCESS_LEN 16 /* EPROCESS.ImageFileName is 15 chars + NUL */
#define MON_SYMBOL_LEN 96
#define MON_MODULE_LEN 32
#define MON_TEXT_LEN 256
#define MON_THREAD_FRAMES 32

/* One frame of a thread's last sampled stack (details view). */
struct mon_frame {
    uint64_t sp, ret;
    uint32_t size; /* kf-style, 0 for the first */
    char symbol[MON_SYMBOL_LEN];
};

struct mon_thread {
    uint64_t kthread;
    uint32_t pid, tid;
    char process[MON_PROCESS_LEN];
    char start[MON_SYMBOL_LEN]; /* start address symbol, "" if unknown */
    uint64_t initial_stack, stack_limit, stack_base;
    uint64_t sp;                     /* last sampled stack pointer */
    bool running;                    /* on a processor at the last sample (sp from its context) */
    int cpu;                         /* that processor, or -1 */
    uint32_t size;                   /* InitialStack - StackLimit: the usable stack */
    uint32_t used;                   /* InitialStack - sp */
    uint32_t headroom;               /* sp - StackLimit (0 when past it) */
    uint32_t min_headroom;           /* lowest headroom seen since attach */
    uint32_t peak_used;              /* deepest use seen (painting finds more than samples) */
    bool painted;                    /* peak_used comes from the stack paint */
    uint64_t samples;                /* times sampled */
    uint64_t last_ms;                /* time of the last sample */
    char top_driver[MON_MODULE_LEN]; /* nearest third-party module on the stack top, "" */
    size_t nframes;                  /* last frames seen near the top (for details) */
    struct mon_frame frames[MON_THREAD_FRAMES];
};

struct mon_target_info {
    uint16_t build;
    uint16_t machine; /* IMAGE_FILE_MACHINE_* */
    uint32_t cpus;
    uint64_t kern_base;
    char kernel[MON_MODULE_LEN]; /* "ntoskrnl.exe" */
    size_t modules;
    char offsets_source[64]; /* "KDDEBUGGER_DATA64 + calibration" ... */
    bool kdbg_encoded;
    /* breakpoints armed by kdwatch */
    bool bp_double_fault, bp_bugcheck;
    uint64_t double_fault_addr, bugcheck_addr;
    char double_fault_sym[MON_SYMBOL_LEN];
};

struct mon_snapshot {
    uint64_t seq;     /* increments per published sample */
    uint64_t time_ms; /* monitor clock at the sample */
    struct mon_target_info target;
    const struct mon_thread *threads; /* sorted by headroom, ascending */
    size_t nthreads;
    double stall_ms; /* how long the last sample kept the target stopped */
    double stall_max_ms;
    size_t sampled;   /* threads read in the last sample (the rest in turns) */
    uint64_t samples; /* samples taken since attach */
};

enum mon_stop_kind {
    MON_STOP_NONE,
    MON_STOP_DOUBLE_FAULT, /* our breakpoint at KiDoubleFaultAbort */
    MON_STOP_KEBUGCHECKEX, /* our breakpoint at KeBugCheckEx */
    MON_STOP_BUGCHECK,     /* the kernel's own bugcheck break */
};

/* The crash as understood: bugcheck, the faulting stack, its breakdown. */
struct mon_crash {
    unsigned stops; /* bit (1 << enum mon_stop_kind) for each stop seen */
    bool have_code;
    uint32_t code; /* bugcheck code */
    uint64_t args[4];
    uint64_t fault_rsp, fault_rip;
    bool have_fault;
    uint64_t thread; /* KTHREAD of the faulting thread */
    char process[MON_PROCESS_LEN];
    uint32_t pid, tid;
    uint64_t stack_limit, stack_base, initial_stack;
    struct breakdown *bd;      /* owned by the monitor; NULL when nothing could be unwound */
    char reason[MON_TEXT_LEN]; /* why the unwind stopped, or "" */
};

enum mon_event_kind {
    MON_EV_ATTACH,    /* text: target summary; snap valid */
    MON_EV_MODULE,    /* text: module loaded/unloaded */
    MON_EV_SAMPLE,    /* snap valid */
    MON_EV_THRESHOLD, /* thread crossed a threshold; thread + text */
    MON_EV_STOP,      /* the target stopped for a breakpoint/bugcheck; text */
    MON_EV_CRASH,     /* crash valid (updated at each of the three stops) */
    MON_EV_PRINT,     /* DbgPrint text from the target */
    MON_EV_WARNING,   /* something the user should know; text */
    MON_EV_DETACH,    /* text: how the session ended */
};

struct mon_event {
    enum mon_event_kind kind;
    uint64_t time_ms;
    char text[MON_TEXT_LEN];
    const struct mon_snapshot *snap; /* MON_EV_ATTACH, MON_EV_SAMPLE */
    const struct mon_thread *thread; /* MON_EV_THRESHOLD */
    const struct mon_crash *crash;   /* MON_EV_CRASH */
};

/* Receives every event; pointers are valid only during the call. */
typedef void (*mon_event_fn)(void *user, const struct mon_event *ev);

struct monitor_config {
    int interval_ms;     /* between samples (default 1000) */
    int max_stall_ms;    /* budget per sample (default 20) */
    int near_percent;    /* "near the limit" threshold, % headroom left (default 25) */
    bool paint;          /* paint unused stack of the nearest threads to find peaks */
    const char *symbols; /* ISF JSON path for list offsets, or NULL */
    mon_event_fn on_event;
    void *user;
    /* Monotonic clock in ms; NULL = CLOCK_MONOTONIC. Injected so tests never sleep. */
    uint64_t (*now_ms)(void *clock_user);
    void *clock_user;
};

struct monitor;

int monitor_new(const struct kd_target *t, const struct monitor_config *cfg, struct monitor **out);
void monitor_free(struct monitor *m);

/* With the target stopped (stop = the state change that stopped it, for
 * the processor count; may be NULL: one processor assumed): version,
 * KDDEBUGGER_DATA64, modules, offsets, threads; arms the breakpoints;
 * publishes MON_EV_ATTACH. The target stays stopped. */
int monitor_attach(struct monitor *m, const struct kd_state_change *stop);

/* Break in and wait (up to timeout_ms) for the stop; an unexpected stop
 * (a breakpoint, a bugcheck) is handled as monitor_on_stop does and
 * reported through *other = true. */
int monitor_break_in(struct monitor *m, int timeout_ms, bool *other);

/* The link came back (reconnected): go on with this target, which is
 * stopped (`stopped`) or running. Breakpoint handles stay valid: they live
 * in the target, not in the link. */
void monitor_retarget(struct monitor *m, const struct kd_target *t, bool stopped);

/* Let the stopped target run again. */
int monitor_resume(struct monitor *m);

/* True while the target is stopped by us or by an event. */
bool monitor_stopped(const struct monitor *m);

/* With the target stopped: one sample (within the stall budget), published
 * as MON_EV_SAMPLE. */
int monitor_sample(struct monitor *m);

/* The target stopped on its own (state change sc): a breakpoint of ours, a
 * bugcheck, a module load. Updates the crash record and publishes. *resume
 * says whether the caller should let the target continue: true except at
 * the kernel's bugcheck break, the crash's last stop. */
int monitor_on_stop(struct monitor *m, const struct kd_state_change *sc, bool *resume);

/* Restores every breakpoint of ours and resumes the target if stopped.
 * Safe to call more than once. */
int monitor_detach(struct monitor *m, const char *why);

const struct mon_snapshot *monitor_snapshot(const struct monitor *m);
const struct mon_crash *monitor_crash(const struct monitor *m); /* NULL before a crash */

#endif
