/* breakdown.h: explains who ate a kernel stack. Shared by the live crash
 * analysis and `kdwatch analyze` (stack text read by stack_text.h).
 *
 * Input: frames innermost first (line 0 = top of stack, most recent call), as
 * WinDbg lists them. Output: WinDbg `kf` sizes (the size on a line is that
 * line's stack pointer minus the previous line's), stack switches instead of
 * bogus sizes, the faulting stack's total and overflow, usage per module, the
 * repeating cycle that covers most of the stack, and driver re-entrancy
 * through a system call or paging I/O. Pure computation: no I/O, no globals. */
#ifndef BREAKDOWN_H
#define BREAKDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BREAKDOWN_MAX_FRAMES 4096
#define BREAKDOWN_MODULE_LEN 64
#define BREAKDOWN_FUNCTION_LEN 192
#define BREAKDOWN_MAX_RANGES 16
#define BREAKDOWN_MAX_STACKS 64 /* segments between switches; more are merged into the last */
#define BREAKDOWN_MAX_REENTRIES 32
/* Call-site text as breakdown_frame_format() writes it. */
#define BREAKDOWN_CALLSITE_LEN (BREAKDOWN_MODULE_LEN + BREAKDOWN_FUNCTION_LEN + 24)

enum breakdown_frame_flag {
    BREAKDOWN_FRAME_SCANNED = 1u << 0, /* SP found by scanning, or after "frames may be wrong" */
    BREAKDOWN_FRAME_TRAP = 1u << 1,    /* trap frame line ("TrapFrame @", KiTrap*) */
    BREAKDOWN_FRAME_MACHINE = 1u << 2, /* machine frame: next line is the interrupted stack */
    BREAKDOWN_FRAME_NO_SP = 1u << 3,   /* no stack pointer (kc/kcf text, inline frame) */
    BREAKDOWN_FRAME_MEMORY = 1u << 4,  /* `memory` holds a kf Memory value read from text */
};

struct breakdown_frame {
    uint64_t sp;     /* Child-SP (x64) / ChildEBP (x86) */
    uint64_t ret;    /* RetAddr */
    uint64_t offset; /* call-site offset; for a bare address ("0x7c82ed54") the address */
    uint64_t memory; /* kf Memory column, when BREAKDOWN_FRAME_MEMORY */
    unsigned flags;  /* enum breakdown_frame_flag */
    bool has_offset;
    char module[BREAKDOWN_MODULE_LEN];     /* "" for a bare address */
    char function[BREAKDOWN_FUNCTION_LEN]; /* "" when there is no symbol */
};

enum breakdown_kind {
    BREAKDOWN_STACK_THREAD, /* the faulting thread's StackLimit..StackBase */
    BREAKDOWN_STACK_IST,    /* x64 interrupt stack (double fault, NMI, machine check) */
    BREAKDOWN_STACK_DPC,
    BREAKDOWN_STACK_ISR,
    BREAKDOWN_STACK_OTHER,  /* another known range */
    BREAKDOWN_STACK_USER,   /* user-mode addresses */
    BREAKDOWN_STACK_DF,     /* x86 double-fault task stack */
    BREAKDOWN_STACK_KERNEL, /* kernel addresses in no known range */
};

struct breakdown_range {
    uint64_t limit; /* lowest valid address */
    uint64_t base;  /* highest address (exclusive top) */
    enum breakdown_kind kind;
};

struct breakdown_input {
    const struct breakdown_frame *frames; /* innermost first; copied */
    size_t count;                         /* at most BREAKDOWN_MAX_FRAMES */
    unsigned ptr_size;                    /* 4 or 8 */
    const struct breakdown_range *ranges; /* may be NULL; at most BREAKDOWN_MAX_RANGES */
    size_t range_count;
    bool has_fault_sp; /* SP at the fault (.trap/.tss, machine frame), if known */
    uint64_t fault_sp;
};

enum breakdown_edge {
    BREAKDOWN_EDGE_NONE,      /* first line, or no size can be known */
    BREAKDOWN_EDGE_SIZE,      /* `size` bytes between this SP and the previous one */
    BREAKDOWN_EDGE_MEMORY,    /* no SPs: `size` taken from the kf Memory column */
    BREAKDOWN_EDGE_SWITCH,    /* another stack: no size */
    BREAKDOWN_EDGE_BACKWARDS, /* same stack but SP went down: bad unwind, no size */
};

struct breakdown_line {
    enum breakdown_edge edge;
    uint64_t size;
    size_t stack; /* index into breakdown.stacks */
};

struct breakdown_stack {
    enum breakdown_kind kind;
    size_t first, last; /* frame indices */
    uint64_t bytes;     /* sum of sizes shown on its lines */
    bool has_sp;
    uint64_t min_sp, max_sp;
};

struct breakdown_module {
    char name[BREAKDOWN_MODULE_LEN]; /* "?" for frames without a module */
    uint64_t bytes;
    unsigned percent; /* of total_bytes, rounded half up */
    size_t frames;
};

struct breakdown_cycle {
    size_t start, period, turns; /* frames start .. start + period*turns - 1 */
    uint64_t bytes, turn_min, turn_max;
};

enum breakdown_path {
    BREAKDOWN_PATH_SYSCALL = 1u << 0, /* KiSystemServiceCopyEnd, KiFastCallEntry, Nt* ... */
    BREAKDOWN_PATH_PAGING = 1u << 1,  /* IoPageRead, IoSynchronousPageWrite, MmAccessFault ... */
};

struct breakdown_reentry {
    char module[BREAKDOWN_MODULE_LEN];
    size_t outer_entry;   /* outermost frame of the driver's first activation */
    size_t outer_exit;    /* innermost frame of that activation */
    size_t inner_entry;   /* outermost frame of the deeper activation */
    unsigned paths;       /* enum breakdown_path seen between outer_exit and inner_entry */
    size_t syscall_frame; /* innermost system-call frame between them (if SYSCALL) */
    size_t paging_frame;  /* innermost paging frame between them (if PAGING) */
    uint64_t bytes;       /* sizes shown on lines inner_entry+1 .. outer_entry */
};

struct breakdown {
    struct breakdown_frame *frames; /* copy of the input */
    struct breakdown_line *lines;   /* one per frame */
    size_t count;
    unsigned ptr_size;

    struct breakdown_stack stacks[BREAKDOWN_MAX_STACKS];
    size_t stack_count;
    bool has_thread_range; /* a BREAKDOWN_STACK_THREAD range was given */
    struct breakdown_range thread_range;

    size_t fault_stack;   /* index into stacks: the stack that overflowed */
    uint64_t total_bytes; /* sum of sizes on the faulting stack */
    bool has_lowest_sp;   /* lowest SP on the faulting stack (frames or fault_sp) */
    uint64_t lowest_sp;
    bool used_fault_sp; /* lowest_sp came from the input's fault_sp */
    bool has_depth;     /* thread range known: StackBase - lowest_sp */
    uint64_t depth;
    bool past_limit;   /* lowest_sp < StackLimit */
    uint64_t past;     /* StackLimit - lowest_sp when past_limit */
    uint64_t headroom; /* lowest_sp - StackLimit otherwise (thread range known) */

    struct breakdown_module *modules; /* faulting stack only, by bytes, descending */
    size_t module_count;

    bool has_cycle;
    struct breakdown_cycle cycle;

    struct breakdown_reentry reentries[BREAKDOWN_MAX_REENTRIES];
    size_t reentry_count;
};

/* Computes the breakdown of in->frames. On success *out is a new object the
 * caller frees with breakdown_free(); on error (KD_ERR_ARG for a NULL or
 * oversized input, KD_ERR_NOMEM) *out is NULL. A count of 0 is valid. */
int breakdown_new(const struct breakdown_input *in, struct breakdown **out);
void breakdown_free(struct breakdown *bd);

/* "module!function+0xoff", "module+0xoff" or "0xaddr"; always NUL-terminated. */
void breakdown_frame_format(const struct breakdown_frame *f, char *buf, size_t size);

/* Name of a stack kind: "thread stack", "IST stack", ... */
const char *breakdown_kind_str(enum breakdown_kind kind);

/* True for Windows' own modules (nt, hal, fltmgr, Ntfs, win32k, ...): those
 * are never reported as re-entered drivers. Case-insensitive. */
bool breakdown_is_system_module(const char *module);

#endif
