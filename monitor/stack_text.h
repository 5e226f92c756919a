/* stack_text.h: reads WinDbg stack text as users paste it (k, kb, kv, kp, kn,
 * kf, kc, kcf; Child-SP or ChildEBP; with or without frame numbers, Memory,
 * args, backticks, notes; inside !analyze -v or !thread output; markdown
 * tables; a whole stack flattened onto one line) into frame lists for
 * breakdown.h. The same frames pasted twice count once. Also picks up the
 * stack bounds ("Stack Init X Current Y", "Base X Limit Y", StackBase/StackLimit)
 * and register SPs (rsp=/esp= from r, .trap, .tss). Pure: text in, structs out. */
#ifndef STACK_TEXT_H
#define STACK_TEXT_H

#include "breakdown.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STACK_TEXT_MAX_INPUT (16u << 20) /* bytes */
#define STACK_TEXT_MAX_STACKS 64         /* listings kept per text */
#define STACK_TEXT_MAX_DUPS 8

struct stack_text_stack {
    struct breakdown_frame *frames; /* innermost first */
    size_t count;                   /* 2 .. BREAKDOWN_MAX_FRAMES */
    unsigned ptr_size;              /* 4 or 8, from the address width (8 for kc text) */
    bool truncated;                 /* the listing had more frames than kept */
    size_t first_line, last_line;   /* 1-based lines of the first and last frame */
    bool has_bounds;                /* StackBase/StackLimit that contain these frames */
    uint64_t base, limit;
    size_t bounds_line;
    bool has_init; /* !thread "Stack Init X Current Y" */
    uint64_t init, current;
    bool has_fault_sp; /* lowest rsp=/esp= that lies on this stack */
    uint64_t fault_sp;
    size_t fault_sp_line;
    size_t dup_count;                      /* other listings of the same frames, dropped */
    size_t dup_lines[STACK_TEXT_MAX_DUPS]; /* their first lines (first STACK_TEXT_MAX_DUPS) */
};

struct stack_text {
    struct stack_text_stack *stacks; /* distinct stacks in the order of the text */
    size_t count;
    size_t lines; /* lines read */
};

/* Parses text[0..len) (need not be NUL-terminated, may hold any bytes). On
 * success *out is a new object for stack_text_free(), possibly with count 0;
 * on error (KD_ERR_ARG, KD_ERR_LENGTH above STACK_TEXT_MAX_INPUT, KD_ERR_NOMEM)
 * *out is NULL. */
int stack_text_parse(const char *text, size_t len, struct stack_text **out);
void stack_text_free(struct stack_text *st);

/* Breakdown input for one stack. *range (caller's) receives the thread range
 * when the stack has bounds; in points into s and range, so both must outlive it. */
void stack_text_input(const struct stack_text_stack *s, struct breakdown_range *range,
                      struct breakdown_input *in);

#endif
