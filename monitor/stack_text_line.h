/* stack_text_line.h: one line of pasted WinDbg text, normalised and split into
 * tokens, and the frames found on it. Private to stack_text.c. */
#ifndef STACK_TEXT_LINE_H
#define STACK_TEXT_LINE_H

#include "breakdown.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STACK_TEXT_LINE_MAX 65536 /* bytes of one line looked at; the rest is ignored */
#define STACK_TEXT_LINE_TOKENS 4096

struct stack_text_line {
    char buf[STACK_TEXT_LINE_MAX + 1]; /* normalised copy, NUL-terminated */
    size_t len;
    size_t ntok;
    size_t tok_at[STACK_TEXT_LINE_TOKENS];
    size_t tok_len[STACK_TEXT_LINE_TOKENS];
    bool blank; /* only spaces, or a markdown table separator row */
};

/* What the listing's header said about its leading columns. */
struct stack_text_line_cols {
    bool number;  /* "#" column (kn) */
    bool memory;  /* "Memory" column (kf) */
    bool next_ok; /* next_no holds the expected next frame number */
    uint64_t next_no;
};

/* Copies line p[0..n) into l: NBSP/tabs become spaces, markdown table cells
 * and their HTML tags are unwrapped, then tokens are split on spaces. */
void stack_text_line_load(struct stack_text_line *l, const char *p, size_t n);

/* Token i as a NUL-free view: pointer into l->buf and its length. */
bool stack_text_line_tok_is(const struct stack_text_line *l, size_t i, const char *s);

/* Hex value of "fffff880`0b9c0f10", "0x1f", "b8ae6100"; trailing non-alphanumerics
 * ("1000__") allowed when loose. Returns the number of hex digits, 0 if none. */
size_t stack_text_line_hex(const char *s, size_t n, bool loose, uint64_t *v);

/* Frames with Child-SP/ChildEBP and RetAddr columns on this line (one, or
 * several when a stack was flattened onto one line). Returns how many were
 * written to out (at most max); *ptr_size gets 4 or 8 from the address width;
 * *open_paren is set when a kP argument list continues on the next lines. */
size_t stack_text_line_frames(const struct stack_text_line *l, struct stack_text_line_cols *cols,
                              struct breakdown_frame *out, size_t max, unsigned *ptr_size,
                              bool *open_paren);

/* A `kc`/`kcf` line: [#] [Memory] call site. Returns true and fills *out. */
bool stack_text_line_kc(const struct stack_text_line *l, struct stack_text_line_cols *cols,
                        struct breakdown_frame *out);

#endif
