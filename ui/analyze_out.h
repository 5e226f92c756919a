/* analyze_out.h: renders stack breakdowns (monitor/breakdown.h) as text or JSON;
 * `kdwatch analyze FILE [--json]` is analyze_out_file(). The live crash report
 * uses analyze_out_breakdown_text/json for the stack it unwound itself.
 * Every function returns 0 or a negative enum kd_status: KD_ERR_IO when out
 * fails (or the file cannot be read), KD_ERR_NOTFOUND when the text holds no
 * stack (the output then says so), KD_ERR_LENGTH for an oversized file. */
#ifndef ANALYZE_OUT_H
#define ANALYZE_OUT_H

#include "breakdown.h"
#include "stack_text.h"

#include <stdbool.h>
#include <stdio.h>

/* The kf-like table (Memory, Child-SP, RetAddr, Call Site; stack switches as
 * "--- stack switch (A -> B) ---" lines), then the faulting stack's total and
 * overflow, usage per module, the cycle and re-entrancy findings. */
int analyze_out_breakdown_text(const struct breakdown *bd, FILE *out);

/* One JSON object (no trailing newline); fields documented in analyze_out.c. */
int analyze_out_breakdown_json(const struct breakdown *bd, FILE *out);

/* Every stack of parsed text; source names the input in the header (may be NULL). */
int analyze_out_text(const struct stack_text *st, const char *source, FILE *out);
int analyze_out_json(const struct stack_text *st, const char *source, FILE *out);

/* Parse text[0..len), break down each stack and render it. */
int analyze_out_buffer(const char *text, size_t len, const char *source, bool json, FILE *out);

/* The whole of `kdwatch analyze`: read path, "-" for stdin (at most
 * STACK_TEXT_MAX_INPUT bytes), and render every stack in it. */
int analyze_out_file(const char *path, bool json, FILE *out);

#endif
