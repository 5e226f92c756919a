/* unwind.h: what the x64 and x86 stack walkers share: the frame list they
 * produce, why a walk stopped, the module lookup they consult (so they run on
 * pe_image's cache or on a test fake), their limits, and a small read cache
 * over kd_target so one walk costs few KD round trips.
 *
 * Addresses are 64-bit. x86 addresses are sign-extended like KD carries them
 * (0x80042000 travels as 0xFFFFFFFF80042000), so x86 frames compare directly
 * with module bases taken from the target. */
#ifndef UNWIND_H
#define UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "kd_target.h"

#define UNWIND_MAX_FRAMES 1024 /* default and ceiling of one walk */
#define UNWIND_MAX_STACKS 8

enum unwind_frame_flag {
    UNWIND_FRAME_UNWOUND = 1 << 0, /* caller found through .pdata unwind info */
    UNWIND_FRAME_LEAF = 1 << 1,    /* no unwind data: return address taken at [SP] */
    UNWIND_FRAME_SCANNED = 1 << 2, /* this frame was found by scanning the stack */
    UNWIND_FRAME_MACHINE = 1 << 3, /* caller state came from a machine frame (trap/interrupt) */
    UNWIND_FRAME_SWITCH = 1 << 4,  /* caller runs on another stack: the distance is no size */
    UNWIND_FRAME_EPILOG = 1 << 5,  /* pc was inside an epilog: unwound by emulating it */
    UNWIND_FRAME_FPREG = 1 << 6,   /* RSP recovered from the frame register (alloca) */
    UNWIND_FRAME_EBP = 1 << 7,     /* x86: caller found through the saved-EBP chain */
};

/* One frame, innermost first. `size` follows WinDbg `kf`: the distance from
 * this frame's sp to its caller's sp (kf prints it on the caller's line). */
struct unwind_frame {
    uint64_t sp;    /* stack pointer in this frame (Child-SP) */
    uint64_t pc;    /* instruction pointer in this frame (Call Site) */
    uint64_t ret;   /* return address = the caller's pc; 0 when none was found */
    uint64_t fp;    /* x86: EBP in this frame (ChildEBP); x64: 0 */
    uint64_t func;  /* start of pc's function when unwind data named it, else 0 */
    uint64_t size;  /* bytes to the caller's sp on the same stack; 0: unknown or a switch */
    uint32_t flags; /* enum unwind_frame_flag */
};

/* Why a walk ended. Every walk ends with exactly one reason. */
enum unwind_stop {
    UNWIND_STOP_NONE = 0,     /* not walked */
    UNWIND_STOP_ZERO_RET,     /* return address (or x86 saved EBP) 0: the chain's end */
    UNWIND_STOP_USER,         /* the caller is in user mode */
    UNWIND_STOP_BASE,         /* reached the stack base */
    UNWIND_STOP_SP_BACKWARDS, /* the caller's SP is not above this one on the same stack */
    UNWIND_STOP_LOOP,         /* a stack switch led back into a stretch already walked */
    UNWIND_STOP_READ,         /* target memory could not be read (stop_addr) */
    UNWIND_STOP_BAD_INFO,     /* malformed unwind data and no scan candidate */
    UNWIND_STOP_NO_CALLER,    /* no valid return address, none found by scanning either */
    UNWIND_STOP_MAX_FRAMES,   /* frame limit reached */
    UNWIND_STOP_BUDGET,       /* target read budget spent */
};

struct unwind_trace {
    struct unwind_frame *frames; /* owned; `count` valid entries */
    uint32_t count;
    uint32_t cap;
    enum unwind_stop stop;
    int stop_status;    /* kd_status behind a READ or BAD_INFO stop, else KD_OK */
    uint64_t stop_addr; /* what ended it: the unreadable address or the rejected return address */
    uint32_t reads;     /* target reads the walk issued */
};

/* Module knowledge. find and read are x64 only; x86 uses is_code alone. */
struct unwind_lookup {
    void *user;
    /* The RUNTIME_FUNCTION covering pc: KD_OK with the image base and the
     * entry's RVAs (unwind_rva may have bit 0 set: an indirect entry);
     * KD_ERR_NOTFOUND when pc has none (a leaf, or no module at all). */
    int (*find)(void *user, uint64_t pc, uint64_t *image_base, uint32_t *begin, uint32_t *end,
                uint32_t *unwind_rva);
    /* 1 when addr lies in an executable section of a loaded module. NULL:
     * no module knowledge, so return addresses are not checked nor scanned for. */
    int (*is_code)(void *user, uint64_t addr);
    /* Optional cache for unwind data (UNWIND_INFO, chained and indirect
     * entries), same contract as kd_target read_virtual; NULL reads the target. */
    int (*read)(void *user, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got);
};

struct unwind_stack {
    uint64_t limit; /* lowest valid address (StackLimit) */
    uint64_t base;  /* one past the highest (StackBase) */
};

struct unwind_params {
    const struct kd_target *target;
    const struct unwind_lookup *lookup;            /* may be NULL: no modules known */
    struct unwind_stack stacks[UNWIND_MAX_STACKS]; /* known stacks; [0] the thread's */
    uint32_t nstacks;
    uint32_t max_frames;   /* 0: the trace's capacity */
    uint64_t guard_slack;  /* an overflowed SP may sit this far below a limit */
    uint64_t scan_max;     /* bytes scanned when the stack's base is unknown */
    uint64_t kernel_start; /* return addresses below it are user mode; 0: no such check */
    uint32_t max_reads;    /* target reads one walk may issue */
};

/* Defaults: no stacks, guard slack 0x3000, scan 0x2000, kernel start
 * 0xFFFF800000000000 (right for x64 and sign-extended x86), 8192 reads. */
void unwind_params_init(struct unwind_params *p, const struct kd_target *target,
                        const struct unwind_lookup *lookup);
/* Adds [limit, base); KD_ERR_NOSPACE when full, KD_ERR_ARG when limit >= base. */
int unwind_params_add_stack(struct unwind_params *p, uint64_t limit, uint64_t base);
/* Index of the known stack holding sp (guard slack included), or -1. */
int unwind_params_stack_of(const struct unwind_params *p, uint64_t sp);

/* cap 0 means UNWIND_MAX_FRAMES; more than UNWIND_MAX_FRAMES is KD_ERR_ARG.
 * On failure the trace is left empty and _fini is still harmless. */
int unwind_trace_init(struct unwind_trace *t, uint32_t cap);
void unwind_trace_fini(struct unwind_trace *t);
/* Empties the trace for a new walk (keeps the storage). */
void unwind_trace_reset(struct unwind_trace *t);
const char *unwind_stop_str(enum unwind_stop stop);

/* ---- read cache (used by the walkers; exposed for them and for tests) ---- */
#define UNWIND_MEM_LINE 512 /* divides a page, so a line never spans two */
#define UNWIND_MEM_LINES 24

struct unwind_mem {
    const struct kd_target *target;
    uint32_t reads;     /* target reads issued */
    uint32_t max_reads; /* after this many, reads fail and `spent` is set */
    int spent;
    uint32_t next; /* round-robin victim */
    uint64_t tag[UNWIND_MEM_LINES];
    uint16_t lo[UNWIND_MEM_LINES], hi[UNWIND_MEM_LINES]; /* readable span in the line */
    uint8_t used[UNWIND_MEM_LINES];
    uint8_t data[UNWIND_MEM_LINES][UNWIND_MEM_LINE];
};

void unwind_mem_init(struct unwind_mem *m, const struct kd_target *target, uint32_t max_reads);
/* All len bytes or an error (KD_ERR_TARGET when any byte is unreadable). */
int unwind_mem_read(struct unwind_mem *m, uint64_t addr, uint8_t *buf, uint32_t len);
int unwind_mem_u64(struct unwind_mem *m, uint64_t addr, uint64_t *v);
int unwind_mem_u32(struct unwind_mem *m, uint64_t addr, uint32_t *v);
/* 1 when the bytes before ret decode as a call that returns to ret (E8
 * rel32 or an FF /2 form, any ModRM/SIB/displacement), else 0. */
int unwind_is_after_call(struct unwind_mem *m, uint64_t ret);

#endif
