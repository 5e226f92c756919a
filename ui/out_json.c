/* out_json.c: JSON lines. The field list lives in docs/json-output.md; keep
 * the two in step. */
#include "out_json.h"

#include "analyze_out.h"
#include "kd_status.h"
#include "out_text.h"

#include <inttypes.h>
#include <string.h>

void out_json_init(struct out_json *j, FILE *out, bool frames)
{
    j->out = out;
    j->frames = frames;
}

/* Length of a valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4  ? 4
               : s[0] >= 0xE0 && s[0] < 0xF0 ? 3
               : s[0] >= 0xC2 && s[0] < 0xE0 ? 2
                                             : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

void out_json_string(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', out);
    while (*s) {
        size_t n;
        if (*s == '"' || *s == '\\') {
            fprintf(out, "\\%c", *s++);
        } else if (*s < 0x20 || *s == 0x7f) {
            fprintf(out, "\\u%04x", *s++);
        } else if (*s < 0x80) {
            fputc(*s++, out);
        } else if ((n = utf8_len(s)) != 0) {
            fwrite(s, 1, n, out);
            s += n;
        } else {
            fputs("\\ufffd", out); /* EPROCESS names are bytes in the target's code page */
            s++;
        }
    }
    fputc('"', out);
}

static void hex(FILE *out, const char *key, uint64_t v)
{
    fprintf(out, "\"%s\":\"0x%" PRIx64 "\"", key, v);
}

static const char *bool_str(bool b)
{
    return b ? "true" : "false";
}

void out_json_thread(FILE *out, const struct mon_thread *r, bool frames)
{
    fputc('{', out);
    hex(out, "kthread", r->kthread);
    fprintf(out, ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32 ",\"process\":", r->pid, r->tid);
    out_json_string(out, r->process);
    fputs(",\"start\":", out);
    out_json_string(out, r->start);
    fputc(',', out);
    hex(out, "stack_base", r->stack_base);
    fputc(',', out);
    hex(out, "initial_stack", r->initial_stack);
    fputc(',', out);
    hex(out, "stack_limit", r->stack_limit);
    fputc(',', out);
    hex(out, "sp", r->sp);
    fprintf(out,
            ",\"size\":%" PRIu32 ",\"used\":%" PRIu32 ",\"headroom\":%" PRIu32
            ",\"headroom_percent\":%u,\"min_headroom\":%" PRIu32 ",\"peak_used\":%" PRIu32
            ",\"painted\":%s,\"running\":%s,\"cpu\":%d,\"samples\":%" PRIu64 ",\"last_ms\":%" PRIu64
            ",\"top_driver\":",
            r->size, r->used, r->headroom, out_text_percent(r->headroom, r->size), r->min_headroom,
            r->peak_used, bool_str(r->painted), bool_str(r->running), r->running ? r->cpu : -1,
            r->samples, r->last_ms);
    out_json_string(out, r->top_driver);
    if (frames) {
        fputs(",\"frames\":[", out);
        for (size_t i = 0; i < r->nframes && i < MON_THREAD_FRAMES; i++) {
            const struct mon_frame *f = &r->frames[i];
            fprintf(out, "%s{", i ? "," : "");
            hex(out, "sp", f->sp);
            fputc(',', out);
            hex(out, "ret", f->ret);
            fprintf(out, ",\"size\":%" PRIu32 ",\"symbol\":", f->size);
            out_json_string(out, f->symbol);
            fputc('}', out);
        }
        fputc(']', out);
    }
    fputc('}', out);
}

void out_json_target(FILE *out, const struct mon_target_info *t)
{
    fprintf(out, "{\"build\":%u,\"machine\":\"0x%04x\",\"cpus\":%" PRIu32 ",\"kernel\":",
            (unsigned)t->build, (unsigned)t->machine, t->cpus);
    out_json_string(out, t->kernel);
    fputc(',', out);
    hex(out, "kern_base", t->kern_base);
    fprintf(out, ",\"modules\":%zu,\"offsets_source\":", t->modules);
    out_json_string(out, t->offsets_source);
    fprintf(out, ",\"kdbg_encoded\":%s,\"breakpoints\":{\"double_fault\":{\"armed\":%s,",
            bool_str(t->kdbg_encoded), bool_str(t->bp_double_fault));
    hex(out, "address", t->double_fault_addr);
    fputs(",\"symbol\":", out);
    out_json_string(out, t->double_fault_sym);
    fprintf(out, "},\"bugcheck\":{\"armed\":%s,", bool_str(t->bp_bugcheck));
    hex(out, "address", t->bugcheck_addr);
    fputs(",\"symbol\":\"KeBugCheckEx\"}}}", out);
}

static const char *const stop_keys[] = {"none", "double_fault", "kebugcheckex", "bugcheck"};

void out_json_crash(FILE *out, const struct mon_crash *c)
{
    char bc[128];
    int64_t over;
    fputs("{\"stops\":[", out);
    bool first = true;
    for (unsigned k = MON_STOP_DOUBLE_FAULT; k <= MON_STOP_BUGCHECK; k++)
        if (c->stops & (1u << k)) {
            fprintf(out, "%s\"%s\"", first ? "" : ",", stop_keys[k]);
            first = false;
        }
    fputs("],\"code\":", out);
    if (c->have_code) {
        const char *name = out_text_bugcheck_name(c->code);
        out_text_bugcheck(c, bc, sizeof bc);
        fprintf(out, "\"0x%" PRIx32 "\",\"name\":", c->code);
        if (name)
            out_json_string(out, name);
        else
            fputs("null", out);
        fputs(",\"description\":", out);
        out_json_string(out, bc);
        fprintf(out,
                ",\"args\":[\"0x%" PRIx64 "\",\"0x%" PRIx64 "\",\"0x%" PRIx64 "\",\"0x%" PRIx64
                "\"]",
                c->args[0], c->args[1], c->args[2], c->args[3]);
    } else {
        fputs("null,\"name\":null,\"description\":null,\"args\":null", out);
    }
    if (c->have_fault) {
        fputc(',', out);
        hex(out, "fault_rsp", c->fault_rsp);
        fputc(',', out);
        hex(out, "fault_rip", c->fault_rip);
    } else {
        fputs(",\"fault_rsp\":null,\"fault_rip\":null", out);
    }
    fputc(',', out);
    hex(out, "thread", c->thread);
    fputs(",\"process\":", out);
    out_json_string(out, c->process);
    fprintf(out, ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32 ",", c->pid, c->tid);
    hex(out, "stack_limit", c->stack_limit);
    fputc(',', out);
    hex(out, "stack_base", c->stack_base);
    fputc(',', out);
    hex(out, "initial_stack", c->initial_stack);
    /* the same pair as analyze_out's breakdown: one of them is null */
    bool known = out_text_overflow(c, &over);
    if (known && over > 0)
        fprintf(out, ",\"past_limit\":%" PRId64 ",\"headroom\":null", over);
    else if (known)
        fprintf(out, ",\"past_limit\":null,\"headroom\":%" PRId64, -over);
    else
        fputs(",\"past_limit\":null,\"headroom\":null", out);
    fputs(",\"reason\":", out);
    out_json_string(out, c->reason);
    fputs(",\"breakdown\":", out);
    if (!c->bd || analyze_out_breakdown_json(c->bd, out) != KD_OK)
        fputs("null", out);
    fputc('}', out);
}

static const char *const event_names[] = {"attach", "module", "sample",  "threshold", "stop",
                                          "crash",  "print",  "warning", "detach"};

static void snapshot(struct out_json *j, const struct mon_snapshot *s)
{
    fprintf(j->out,
            ",\"seq\":%" PRIu64 ",\"samples\":%" PRIu64 ",\"snapshot_ms\":%" PRIu64
            ",\"stall_ms\":%.3f,\"stall_max_ms\":%.3f,\"sampled\":%zu,\"nthreads\":%zu,\"target\":",
            s->seq, s->samples, s->time_ms, s->stall_ms, s->stall_max_ms, s->sampled, s->nthreads);
    out_json_target(j->out, &s->target);
    fputs(",\"threads\":[", j->out);
    for (size_t i = 0; i < s->nthreads; i++) {
        if (i)
            fputc(',', j->out);
        out_json_thread(j->out, &s->threads[i], j->frames);
    }
    fputc(']', j->out);
}

int out_json_event(struct out_json *j, const struct mon_event *ev)
{
    const char *name =
        (size_t)ev->kind < sizeof event_names / sizeof event_names[0] ? event_names[ev->kind] : "?";
    fprintf(j->out, "{\"event\":\"%s\",\"time_ms\":%" PRIu64 ",\"text\":", name, ev->time_ms);
    out_json_string(j->out, ev->text);
    if ((ev->kind == MON_EV_SAMPLE || ev->kind == MON_EV_ATTACH) && ev->snap)
        snapshot(j, ev->snap);
    if (ev->kind == MON_EV_THRESHOLD && ev->thread) {
        fputs(",\"thread\":", j->out);
        out_json_thread(j->out, ev->thread, true);
    }
    if (ev->kind == MON_EV_CRASH && ev->crash) {
        fputs(",\"crash\":", j->out);
        out_json_crash(j->out, ev->crash);
    }
    fputs("}\n", j->out);
    fflush(j->out);
    return ferror(j->out) ? KD_ERR_IO : KD_OK;
}

int out_json_message(struct out_json *j, const char *event, uint64_t time_ms, const char *text)
{
    fputs("{\"event\":", j->out);
    out_json_string(j->out, event);
    fprintf(j->out, ",\"time_ms\":%" PRIu64 ",\"text\":", time_ms);
    out_json_string(j->out, text);
    fputs("}\n", j->out);
    fflush(j->out);
    return ferror(j->out) ? KD_ERR_IO : KD_OK;
}
