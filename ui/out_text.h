/* out_text.h: `--text`: one line per monitor event, a short summary per
 * sample (the threads nearest their limit), and the crash report, whose
 * stack breakdown is analyze_out's. Also the wording every output shares:
 * bugcheck names and how far past its limit the stack went. */
#ifndef OUT_TEXT_H
#define OUT_TEXT_H

#include "monitor.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct out_text {
    FILE *out;
    unsigned top; /* threads listed under each sample line */
    bool have_t0; /* times print relative to the first event */
    uint64_t t0;
};

/* out is not owned; top = threads listed per sample (nearest first). */
void out_text_init(struct out_text *t, FILE *out, unsigned top);

/* One event: "00:00:05 sample 5: ..." (+ top thread lines), "00:00:07
 * threshold: ...", a one-line summary for MON_EV_CRASH (the full report is
 * out_text_crash, printed once at the end). 0 or KD_ERR_IO. */
int out_text_event(struct out_text *t, const struct mon_event *ev);

/* A message from the caller (an error, the link description) in the same
 * layout: "00:00:09 kind: text"; kind e.g. "error". 0 or KD_ERR_IO. */
int out_text_message(struct out_text *t, const char *kind, uint64_t time_ms, const char *text);

/* The crash report: bugcheck, thread, stops, how far past the limit, then
 * analyze_out_breakdown_text of the faulting stack. 0 or KD_ERR_IO. */
int out_text_crash(const struct mon_crash *c, FILE *out);

/* "00:01:23" (hours grow past 99 as needed). */
void out_text_elapsed(uint64_t ms, char *buf, size_t size);

/* "UNEXPECTED_KERNEL_MODE_TRAP" for 0x7F ...; NULL when not in the table. */
const char *out_text_bugcheck_name(uint32_t code);

/* "0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)", "0xD1
 * DRIVER_IRQL_NOT_LESS_OR_EQUAL", "0x12345 (unknown bugcheck)", or "no
 * bugcheck code yet" when !c->have_code. Always NUL-terminated. */
void out_text_bugcheck(const struct mon_crash *c, char *buf, size_t size);

/* How the faulting stack ended against its StackLimit, from the breakdown
 * (else the faulting RSP): true when known, with *over = bytes past the
 * limit (> 0) or minus the bytes still left (<= 0). */
bool out_text_overflow(const struct mon_crash *c, int64_t *over);

/* Percent of size left by headroom, rounded down (0 when size is 0). */
unsigned out_text_percent(uint32_t headroom, uint32_t size);

#endif
