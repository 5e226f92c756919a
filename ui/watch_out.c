/* watch_out.c: plain text and JSON lines for a watch/replay session. */
#include "watch_out.h"
#include "analyze_out.h"
#include "kd_describe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct watch_out {
    struct watch_options o;
    FILE *out;
    char link[160];
    bool quit;
    bool hold;
    struct mon_event held[8]; /* text events only: their pointers are not kept */
    size_t nheld;
};

int watch_out_new(const struct watch_options *o, struct watch_out **out)
{
    struct watch_out *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->o = *o;
    w->out = stdout;
    *out = w;
    return 0;
}

void watch_out_free(struct watch_out *w) { free(w); }

static void json_text_event(struct watch_out *w, const char *kind, uint64_t t, const char *text)
{
    fprintf(w->out, "{\"event\":\"%s\",\"time_ms\":%llu,\"text\":", kind, (unsigned long long)t);
    kd_json_string(w->out, text);
    fputs("}\n", w->out);
}

static void text_sample(struct watch_out *w, const struct mon_snapshot *s)
{
    fprintf(w->out, "sample %llu: %zu threads (%zu read, stall %.0f ms)\n",
            (unsigned long long)s->seq, s->nthreads, s->sampled, s->stall_ms);
    size_t show = s->nthreads < 5 ? s->nthreads : 5;
    for (size_t i = 0; i < show; i++) {
        const struct mon_thread *r = &s->threads[i];
        if (!r->samples)
            continue;
        unsigned pct = r->size ? (unsigned)((uint64_t)r->headroom * 100 / r->size) : 0;
        fprintf(w->out, "  %-15s pid %-5u tid %-5u used %6u of %6u  headroom %6u (%2u%%)  min %6u  %s%s\n",
                r->process, r->pid, r->tid, r->used, r->size, r->headroom, pct, r->min_headroom,
                r->top_driver[0] ? "driver " : "", r->top_driver);
    }
}

static void json_sample(struct watch_out *w, const struct mon_snapshot *s)
{
    fprintf(w->out, "{\"event\":\"sample\",\"seq\":%llu,\"time_ms\":%llu,\"stall_ms\":%.1f,"
                    "\"sampled\":%zu,\"threads\":[",
            (unsigned long long)s->seq, (unsigned long long)s->time_ms, s->stall_ms, s->sampled);
    for (size_t i = 0; i < s->nthreads; i++) {
        const struct mon_thread *r = &s->threads[i];
        fprintf(w->out, "%s{\"pid\":%u,\"tid\":%u,\"process\":", i ? "," : "", r->pid, r->tid);
        kd_json_string(w->out, r->process);
        fprintf(w->out, ",\"kthread\":\"0x%llx\",\"used\":%u,\"size\":%u,\"headroom\":%u,"
                        "\"min_headroom\":%u,\"running\":%s,\"sampled\":%s}",
                (unsigned long long)r->kthread, r->used, r->size, r->headroom, r->min_headroom,
                r->running ? "true" : "false", r->samples ? "true" : "false");
    }
    fputs("]}\n", w->out);
}

static void print_crash(struct watch_out *w, const struct mon_crash *c)
{
    if (w->o.json) {
        fprintf(w->out, "{\"event\":\"crash\",\"code\":\"0x%x\",\"args\":[\"0x%llx\",\"0x%llx\","
                        "\"0x%llx\",\"0x%llx\"],\"pid\":%u,\"tid\":%u,\"breakdown\":",
                c->code, (unsigned long long)c->args[0], (unsigned long long)c->args[1],
                (unsigned long long)c->args[2], (unsigned long long)c->args[3], c->pid, c->tid);
        if (c->bd)
            analyze_out_breakdown_json(c->bd, w->out);
        else
            fputs("null", w->out);
        fputs("}\n", w->out);
        return;
    }
    fprintf(w->out, "\n=== crash: bugcheck 0x%X (0x%llx, 0x%llx, 0x%llx, 0x%llx)%s\n", c->code,
            (unsigned long long)c->args[0], (unsigned long long)c->args[1],
            (unsigned long long)c->args[2], (unsigned long long)c->args[3],
            c->code == 0x7F && c->args[0] == 8 ? "  UNEXPECTED_KERNEL_MODE_TRAP: double fault" : "");
    fprintf(w->out, "    thread %s pid %u tid %u, stack 0x%llx..0x%llx\n", c->process, c->pid,
            c->tid, (unsigned long long)c->stack_limit, (unsigned long long)c->stack_base);
    if (c->bd)
        analyze_out_breakdown_text(c->bd, w->out);
    else
        fprintf(w->out, "    no stack could be unwound (%s)\n", c->reason);
}

void watch_out_hold(struct watch_out *w, bool hold, bool flush)
{
    w->hold = hold;
    if (hold)
        return;
    size_t n = w->nheld;
    w->nheld = 0;
    for (size_t i = 0; flush && i < n; i++)
        watch_out_event(w, &w->held[i]);
}

void watch_out_event(struct watch_out *w, const struct mon_event *ev)
{
    if (w->hold) {
        if (w->nheld < sizeof w->held / sizeof w->held[0]) {
            w->held[w->nheld] = *ev;
            w->held[w->nheld].snap = NULL;
            w->held[w->nheld].thread = NULL;
            w->held[w->nheld].crash = NULL;
            w->nheld++;
        }
        return;
    }
    static const char *const names[] = {"attach", "module", "sample", "threshold", "stop",
                                        "crash",  "print",  "warning", "detach"};
    const char *name = (size_t)ev->kind < sizeof names / sizeof names[0] ? names[ev->kind] : "?";
    switch (ev->kind) {
    case MON_EV_SAMPLE:
        if (w->o.json)
            json_sample(w, ev->snap);
        else
            text_sample(w, ev->snap);
        break;
    case MON_EV_CRASH:
        break; /* printed once, complete, at the end */
    default:
        if (w->o.json)
            json_text_event(w, name, ev->time_ms, ev->text);
        else
            fprintf(w->out, "%s: %s\n", name, ev->text);
    }
    fflush(w->out);
}

void watch_out_print(struct watch_out *w, const char *text, size_t len)
{
    char buf[512];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, text, n);
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    char *p = buf;
    while (*p == '\n' || *p == '\r')
        p++;
    if (w->o.json) {
        json_text_event(w, "print", 0, p);
        return;
    }
    for (char *line = strtok(p, "\n"); line; line = strtok(NULL, "\n"))
        fprintf(w->out, "target: %s\n", line);
}

void watch_out_error(struct watch_out *w, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "kdwatch: %s\n", buf);
    if (w->o.json)
        json_text_event(w, "error", 0, buf);
}

void watch_out_status(struct watch_out *w, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!w->o.json)
        fprintf(stderr, "kdwatch: %s\n", buf);
}

void watch_out_link(struct watch_out *w, const char *description)
{
    snprintf(w->link, sizeof w->link, "%s", description);
}

void watch_out_idle(struct watch_out *w, int ms)
{
    (void)w;
    (void)ms;
}

bool watch_out_quit(struct watch_out *w) { return w->quit; }
bool watch_out_wait_user(struct watch_out *w)
{
    (void)w;
    return false;
}

void watch_out_final(struct watch_out *w, const struct mon_snapshot *snap,
                     const struct mon_crash *crash)
{
    (void)snap;
    if (crash)
        print_crash(w, crash);
    fflush(w->out);
}

bool watch_out_failed_threshold(struct watch_out *w, const struct mon_snapshot *snap)
{
    if (!w->o.fail_below || !snap)
        return false;
    char *end;
    double v = strtod(w->o.fail_below, &end);
    bool pct = *end == '%';
    for (size_t i = 0; i < snap->nthreads; i++) {
        const struct mon_thread *r = &snap->threads[i];
        if (!r->samples)
            continue;
        double h = pct ? (r->size ? 100.0 * r->min_headroom / r->size : 100.0) : r->min_headroom;
        if (h < v)
            return true;
    }
    return false;
}
