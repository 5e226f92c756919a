/* report.c: the final report, --fail-below, and the output choice. */
#include "report.h"

#include "kd_status.h"
#include "out_json.h"
#include "out_text.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int report_threshold_parse(const char *s, struct report_threshold *t)
{
    memset(t, 0, sizeof *t);
    if (!s || !*s || strlen(s) >= sizeof t->text)
        return KD_ERR_ARG;
    size_t n = strlen(s);
    if (s[n - 1] != '%') {
        char *end;
        if (!isdigit((unsigned char)s[0]))
            return KD_ERR_ARG;
        bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
        errno = 0;
        unsigned long long v = strtoull(s, &end, hex ? 16 : 10); /* never octal */
        if (*end || errno)
            return KD_ERR_ARG;
        t->bytes = v;
    } else {
        /* decimal percent with up to 4 decimals, as an exact integer */
        uint64_t whole = 0, frac = 0, scale = 10000;
        size_t i = 0;
        for (; isdigit((unsigned char)s[i]) && whole <= 100; i++)
            whole = whole * 10 + (uint64_t)(s[i] - '0');
        if (!i)
            return KD_ERR_ARG;
        if (s[i] == '.') {
            size_t d = 0;
            for (i++; isdigit((unsigned char)s[i]); i++, d++) {
                if (d >= 4)
                    return KD_ERR_ARG;
                scale /= 10;
                frac += (uint64_t)(s[i] - '0') * scale;
            }
            if (!d)
                return KD_ERR_ARG;
        }
        uint64_t ppm = whole * 10000 + frac;
        if (i != n - 1 || ppm == 0 || ppm > 1000000)
            return KD_ERR_ARG;
        t->percent = true;
        t->ppm = (uint32_t)ppm;
    }
    snprintf(t->text, sizeof t->text, "%s", s);
    return KD_OK;
}

/* Headroom of r scaled for comparison with t: bytes * 1e6 or ppm * size. */
static bool under(const struct mon_thread *r, const struct report_threshold *t)
{
    if (!r->samples || !r->size)
        return false; /* never read: nothing known about it */
    if (!t->percent)
        return r->min_headroom < t->bytes;
    return (uint64_t)r->min_headroom * 1000000 < (uint64_t)t->ppm * r->size;
}

/* a's headroom is smaller than b's (relative to the stack for percentages) */
static bool worse(const struct mon_thread *a, const struct mon_thread *b,
                  const struct report_threshold *t)
{
    if (!t->percent)
        return a->min_headroom < b->min_headroom;
    return (uint64_t)a->min_headroom * b->size < (uint64_t)b->min_headroom * a->size;
}

bool report_fail_below(const struct mon_snapshot *s, const struct report_threshold *t,
                       size_t *worst)
{
    bool found = false;
    size_t w = 0;
    for (size_t i = 0; s && t && i < s->nthreads; i++) {
        if (!under(&s->threads[i], t))
            continue;
        if (!found || worse(&s->threads[i], &s->threads[w], t))
            w = i;
        found = true;
    }
    if (found && worst)
        *worst = w;
    return found;
}

size_t report_fail_count(const struct mon_snapshot *s, const struct report_threshold *t)
{
    size_t n = 0;
    for (size_t i = 0; s && t && i < s->nthreads; i++)
        n += under(&s->threads[i], t);
    return n;
}

int report_output_choose(bool text, bool json, bool stdout_tty, const char *term,
                         enum report_output *out)
{
    *out = REPORT_OUTPUT_TEXT;
    if (text && json)
        return KD_ERR_ARG;
    if (json)
        *out = REPORT_OUTPUT_JSON;
    else if (!text && stdout_tty && term && *term && strcmp(term, "dumb") != 0)
        *out = REPORT_OUTPUT_DASHBOARD;
    return KD_OK;
}

/* Indices of the sampled threads, lowest minimum headroom first (ties: tid). */
static size_t *by_min(const struct mon_snapshot *s, size_t *count)
{
    size_t *ix = malloc((s->nthreads ? s->nthreads : 1) * sizeof *ix), n = 0;
    if (!ix)
        return NULL;
    for (size_t i = 0; i < s->nthreads; i++)
        if (s->threads[i].samples)
            ix[n++] = i;
    /* insertion sort: stable, and n is a few thousand at most */
    for (size_t i = 1; i < n; i++) {
        size_t v = ix[i], j = i;
        const struct mon_thread *a = &s->threads[v];
        while (j > 0) {
            const struct mon_thread *b = &s->threads[ix[j - 1]];
            if (b->min_headroom < a->min_headroom ||
                (b->min_headroom == a->min_headroom && b->tid <= a->tid))
                break;
            ix[j] = ix[j - 1];
            j--;
        }
        ix[j] = v;
    }
    *count = n;
    return ix;
}

static void text_target(FILE *out, const struct mon_snapshot *s, const struct report_info *info)
{
    const struct mon_target_info *t = &s->target;
    fprintf(out,
            "  target:   Windows build %u, machine 0x%04x, %" PRIu32
            " processor%s, %s at 0x%" PRIx64 ", %zu modules\n",
            (unsigned)t->build, (unsigned)t->machine, t->cpus, t->cpus == 1 ? "" : "s",
            t->kernel[0] ? t->kernel : "kernel", t->kern_base, t->modules);
    fprintf(out, "  offsets:  %s%s\n", t->offsets_source[0] ? t->offsets_source : "?",
            t->kdbg_encoded ? " (KDDEBUGGER_DATA64 was encoded)" : "");
    fprintf(out, "  armed:    KiDoubleFaultAbort %s, KeBugCheckEx %s\n",
            t->bp_double_fault ? "yes" : "no", t->bp_bugcheck ? "yes" : "no");
    if (info->link)
        fprintf(out, "  link:     %s\n", info->link);
    char dur[32];
    out_text_elapsed(info->duration_ms, dur, sizeof dur);
    fprintf(out,
            "  session:  %" PRIu64 " samples%s%s, %zu threads; stall last %.1f ms, max %.1f ms",
            s->samples, info->duration_ms ? " in " : "", info->duration_ms ? dur : "", s->nthreads,
            s->stall_ms, s->stall_max_ms);
    fprintf(out, "%s%s\n", info->ended ? "; ended: " : "", info->ended ? info->ended : "");
}

static void text_verdict(FILE *out, const struct mon_snapshot *s, const struct report_threshold *t)
{
    size_t w = 0;
    if (!report_fail_below(s, t, &w)) {
        fprintf(out, "  fail-below %s: passed (no thread's minimum headroom fell under it)\n",
                t->text);
        return;
    }
    const struct mon_thread *r = &s->threads[w];
    fprintf(out,
            "  fail-below %s: FAILED: %zu thread%s under it; lowest %s pid %" PRIu32 " tid %" PRIu32
            " with %" PRIu32 " bytes (%u%%) at its minimum\n",
            t->text, report_fail_count(s, t), report_fail_count(s, t) == 1 ? "" : "s", r->process,
            r->pid, r->tid, r->min_headroom, out_text_percent(r->min_headroom, r->size));
}

int report_write_text(FILE *out, const struct mon_snapshot *s, const struct mon_crash *c,
                      const struct report_info *info_in)
{
    struct report_info info = {0};
    if (info_in)
        info = *info_in;
    unsigned top = info.top ? info.top : 10;
    fputs("kdwatch report\n", out);
    if (s) {
        text_target(out, s, &info);
        if (info.fail_below)
            text_verdict(out, s, info.fail_below);
        size_t n = 0, *ix = by_min(s, &n);
        if (!ix)
            return KD_ERR_NOMEM;
        fprintf(out, "\n  Threads nearest their limit (by minimum headroom, %zu of %zu sampled):\n",
                n < top ? n : (size_t)top, n);
        if (n)
            fprintf(out, "    %-15s %6s %6s %6s %8s %5s %9s  %s\n", "PROCESS", "PID", "TID", "SIZE",
                    "MIN LEFT", "MIN%", "PEAK USED", "START / DRIVER");
        for (size_t k = 0; k < n && k < top; k++) {
            const struct mon_thread *r = &s->threads[ix[k]];
            fprintf(out,
                    "    %-15.15s %6" PRIu32 " %6" PRIu32 " %6" PRIu32 " %8" PRIu32
                    " %4u%% %9" PRIu32 "  %s%s%s\n",
                    r->process, r->pid, r->tid, r->size, r->min_headroom,
                    out_text_percent(r->min_headroom, r->size), r->peak_used,
                    r->start[0] ? r->start : "?", r->top_driver[0] ? " / " : "", r->top_driver);
        }
        free(ix);
    }
    fputc('\n', out);
    int rc = KD_OK;
    if (c)
        rc = out_text_crash(c, out);
    else
        fputs("  no crash\n", out);
    if (rc == KD_OK && ferror(out))
        rc = KD_ERR_IO;
    return rc;
}

int report_write_json(FILE *out, const struct mon_snapshot *s, const struct mon_crash *c,
                      const struct report_info *info_in)
{
    struct report_info info = {0};
    if (info_in)
        info = *info_in;
    unsigned top = info.top ? info.top : 10;
    fputs("{\"event\":\"report\",\"link\":", out);
    if (info.link)
        out_json_string(out, info.link);
    else
        fputs("null", out);
    fputs(",\"ended\":", out);
    if (info.ended)
        out_json_string(out, info.ended);
    else
        fputs("null", out);
    fprintf(out, ",\"duration_ms\":%" PRIu64, info.duration_ms);
    if (s) {
        fprintf(out,
                ",\"samples\":%" PRIu64 ",\"nthreads\":%zu,\"stall_ms\":%.3f,"
                "\"stall_max_ms\":%.3f,\"target\":",
                s->samples, s->nthreads, s->stall_ms, s->stall_max_ms);
        out_json_target(out, &s->target);
        size_t n = 0, *ix = by_min(s, &n);
        if (!ix)
            return KD_ERR_NOMEM;
        fputs(",\"nearest\":[", out);
        for (size_t k = 0; k < n && k < top; k++) {
            fputs(k ? "," : "", out);
            out_json_thread(out, &s->threads[ix[k]], false);
        }
        fputc(']', out);
        free(ix);
    } else {
        fputs(",\"samples\":0,\"nthreads\":0,\"stall_ms\":null,\"stall_max_ms\":null,"
              "\"target\":null,\"nearest\":[]",
              out);
    }
    fputs(",\"fail_below\":", out);
    if (info.fail_below) {
        const struct report_threshold *t = info.fail_below;
        size_t w = 0;
        bool failed = s && report_fail_below(s, t, &w);
        fputs("{\"threshold\":", out);
        out_json_string(out, t->text);
        if (t->percent)
            fprintf(out, ",\"percent\":%.4f,\"bytes\":null", t->ppm / 10000.0);
        else
            fprintf(out, ",\"percent\":null,\"bytes\":%" PRIu64, t->bytes);
        fprintf(out, ",\"failed\":%s,\"count\":%zu,\"worst\":", failed ? "true" : "false",
                s ? report_fail_count(s, t) : 0);
        if (failed)
            out_json_thread(out, &s->threads[w], false);
        else
            fputs("null", out);
        fputc('}', out);
    } else {
        fputs("null", out);
    }
    fputs(",\"crash\":", out);
    if (c)
        out_json_crash(out, c);
    else
        fputs("null", out);
    fputs("}\n", out);
    return ferror(out) ? KD_ERR_IO : KD_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int report_write_file(const char *path, const struct mon_snapshot *snap,
                      const struct mon_crash *crash, const struct report_info *info)
{
    if (!path)
        return KD_ERR_ARG;
    FILE *f = fopen(path, "w");
    if (!f)
        return KD_ERR_IO;
    int rc = ends_with(path, ".json") ? report_write_json(f, snap, crash, info)
                                      : report_write_text(f, snap, crash, info);
    if (fclose(f) != 0 && rc == KD_OK)
        rc = KD_ERR_IO;
    return rc;
}
