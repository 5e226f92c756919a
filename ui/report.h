/* report.h: the end of a session: the final report (`--report FILE`, text
 * or JSON), the `--fail-below N|N%` verdict that lets a CI stress job fail,
 * and the choice between the dashboard and headless output. */
#ifndef REPORT_H
#define REPORT_H

#include "monitor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* --fail-below: bytes ("4096", "0x1000") or a percentage of the stack
 * ("10%", "12.5%"). A thread fails when its minimum headroom is strictly
 * under it. */
struct report_threshold {
    bool percent;
    uint64_t bytes; /* when !percent */
    uint32_t ppm;   /* when percent: millionths of the stack size (10% = 100000) */
    char text[32];  /* as given, for messages */
};

/* Parses "N", "0xN" or "N%" (0 < N <= 100, up to 4 decimals). 0, or
 * KD_ERR_ARG (*t zeroed). Integers only, so "10%" of 1000 bytes is exactly 100. */
int report_threshold_parse(const char *s, struct report_threshold *t);

/* True when some sampled thread's minimum headroom fell under t. *worst
 * (may be NULL) gets the index in s->threads of the failing thread with
 * the least headroom relative to t (unchanged when false). */
bool report_fail_below(const struct mon_snapshot *s, const struct report_threshold *t,
                       size_t *worst);

/* Number of sampled threads under t. */
size_t report_fail_count(const struct mon_snapshot *s, const struct report_threshold *t);

/* What the report says beyond the snapshot and the crash; every pointer may be NULL. */
struct report_info {
    const char *link;  /* transport description */
    const char *ended; /* why the session ended */
    const struct report_threshold *fail_below;
    uint64_t duration_ms; /* 0 = unknown */
    unsigned top;         /* threads listed, 0 = 10 */
};

/* Human-readable report (the crash as out_text_crash). snap and crash may
 * be NULL. 0 or KD_ERR_IO. */
int report_write_text(FILE *out, const struct mon_snapshot *snap, const struct mon_crash *crash,
                      const struct report_info *info);

/* One JSON object and a newline: {"event":"report",...} (docs/json-output.md),
 * so it can also end a --json stream. 0 or KD_ERR_IO. */
int report_write_json(FILE *out, const struct mon_snapshot *snap, const struct mon_crash *crash,
                      const struct report_info *info);

/* Writes path: JSON when it ends in ".json", text otherwise. 0, KD_ERR_IO. */
int report_write_file(const char *path, const struct mon_snapshot *snap,
                      const struct mon_crash *crash, const struct report_info *info);

enum report_output {
    REPORT_OUTPUT_DASHBOARD,
    REPORT_OUTPUT_TEXT,
    REPORT_OUTPUT_JSON,
};

/* The dashboard by default on a terminal that can show it (stdout_tty and a
 * TERM other than NULL, "" or "dumb"); text otherwise. --text or --json
 * win; both together are KD_ERR_ARG. */
int report_output_choose(bool text, bool json, bool stdout_tty, const char *term,
                         enum report_output *out);

#endif
