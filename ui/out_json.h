/* out_json.h: `--json`: JSON lines, one object per monitor event (and so one
 * per sample), for scripts and CI. Every field is documented in
 * docs/json-output.md; the crash's stack breakdown is analyze_out's object.
 * Strings are always valid UTF-8 JSON (bytes from the target that are not
 * UTF-8 become U+FFFD); 64-bit addresses are "0x..." strings. */
#ifndef OUT_JSON_H
#define OUT_JSON_H

#include "monitor.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct out_json {
    FILE *out;
    bool frames; /* include each thread's last frames in samples (large) */
};

/* out is not owned. */
void out_json_init(struct out_json *j, FILE *out, bool frames);

/* One line: {"event":"sample"|"attach"|...,"time_ms":...,...}\n. 0 or KD_ERR_IO. */
int out_json_event(struct out_json *j, const struct mon_event *ev);

/* A line from the caller: {"event":event,"time_ms":t,"text":text}\n (e.g.
 * "error", "link"). 0 or KD_ERR_IO. */
int out_json_message(struct out_json *j, const char *event, uint64_t time_ms, const char *text);

/* Building blocks shared with the report (report.c). Each writes one value. */
void out_json_string(FILE *out, const char *s);
void out_json_thread(FILE *out, const struct mon_thread *r, bool frames);
void out_json_target(FILE *out, const struct mon_target_info *t);
void out_json_crash(FILE *out, const struct mon_crash *c);

#endif
