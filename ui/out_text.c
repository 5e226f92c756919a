/* out_text.c: plain-text lines for logs and CI, and the crash report. The
 * stack breakdown itself is analyze_out's text, so `kdwatch analyze` and a
 * live crash read the same. */
#include "out_text.h"

#include "analyze_out.h"
#include "kd_status.h"

#include <inttypes.h>
#include <string.h>

void out_text_init(struct out_text *t, FILE *out, unsigned top)
{
    memset(t, 0, sizeof *t);
    t->out = out;
    t->top = top;
}

void out_text_elapsed(uint64_t ms, char *buf, size_t size)
{
    uint64_t s = ms / 1000;
    snprintf(buf, size, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s / 60 % 60, s % 60);
}

unsigned out_text_percent(uint32_t headroom, uint32_t size)
{
    return size ? (unsigned)((uint64_t)headroom * 100 / size) : 0;
}

static const struct {
    uint32_t code;
    const char *name;
} bugchecks[] = {
    {0x0A, "IRQL_NOT_LESS_OR_EQUAL"},
    {0x1E, "KMODE_EXCEPTION_NOT_HANDLED"},
    {0x2B, "PANIC_STACK_SWITCH"},
    {0x3B, "SYSTEM_SERVICE_EXCEPTION"},
    {0x50, "PAGE_FAULT_IN_NONPAGED_AREA"},
    {0x77, "KERNEL_STACK_INPAGE_ERROR"},
    {0x7A, "KERNEL_DATA_INPAGE_ERROR"},
    {0x7E, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED"},
    {0x7F, "UNEXPECTED_KERNEL_MODE_TRAP"},
    {0x8E, "KERNEL_MODE_EXCEPTION_NOT_HANDLED"},
    {0x9F, "DRIVER_POWER_STATE_FAILURE"},
    {0xC2, "BAD_POOL_CALLER"},
    {0xC4, "DRIVER_VERIFIER_DETECTED_VIOLATION"},
    {0xD1, "DRIVER_IRQL_NOT_LESS_OR_EQUAL"},
    {0xE2, "MANUALLY_INITIATED_CRASH"},
    {0xEF, "CRITICAL_PROCESS_DIED"},
    {0x101, "CLOCK_WATCHDOG_TIMEOUT"},
    {0x133, "DPC_WATCHDOG_VIOLATION"},
    {0x139, "KERNEL_SECURITY_CHECK_FAILURE"},
    {0x1000007E, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M"},
    {0x1000008E, "KERNEL_MODE_EXCEPTION_NOT_HANDLED_M"},
};

/* Bugcheck 0x7F's first argument is the trap number (Intel vector). */
static const char *const traps[] = {
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound",
    "invalid opcode",
    "no coprocessor",
    "double fault",
    "coprocessor overrun",
    "invalid TSS",
    "segment not present",
    "stack fault",
    "general protection",
    "page fault",
};

const char *out_text_bugcheck_name(uint32_t code)
{
    for (size_t i = 0; i < sizeof bugchecks / sizeof bugchecks[0]; i++)
        if (bugchecks[i].code == code)
            return bugchecks[i].name;
    return NULL;
}

void out_text_bugcheck(const struct mon_crash *c, char *buf, size_t size)
{
    if (!c->have_code) {
        snprintf(buf, size, "no bugcheck code yet");
        return;
    }
    const char *name = out_text_bugcheck_name(c->code);
    if (c->code == 0x7F && c->args[0] < sizeof traps / sizeof traps[0])
        snprintf(buf, size, "0x%" PRIX32 " %s (%" PRIu64 " = %s)", c->code, name, c->args[0],
                 traps[c->args[0]]);
    else
        snprintf(buf, size, "0x%" PRIX32 " %s", c->code, name ? name : "(unknown bugcheck)");
}

bool out_text_overflow(const struct mon_crash *c, int64_t *over)
{
    const struct breakdown *bd = c->bd;
    *over = 0;
    if (bd && bd->has_thread_range && bd->has_lowest_sp) {
        *over = bd->past_limit ? (int64_t)bd->past : -(int64_t)bd->headroom;
        return true;
    }
    if (c->have_fault && c->stack_limit && c->fault_rsp) {
        *over = (int64_t)(c->stack_limit - c->fault_rsp);
        return true;
    }
    return false;
}

static void stamp(struct out_text *t, uint64_t time_ms, char *buf, size_t size)
{
    if (!t->have_t0) {
        t->have_t0 = true;
        t->t0 = time_ms;
    }
    out_text_elapsed(time_ms >= t->t0 ? time_ms - t->t0 : 0, buf, size);
}

static void thread_line(FILE *out, const struct mon_thread *r)
{
    fprintf(out,
            "    %-15.15s pid %-5" PRIu32 " tid %-6" PRIu32 " used %6" PRIu32 " of %6" PRIu32
            "  left %6" PRIu32 " (%2u%%)  min %6" PRIu32 "%s%s\n",
            r->process, r->pid, r->tid, r->used, r->size, r->headroom,
            out_text_percent(r->headroom, r->size), r->min_headroom, r->top_driver[0] ? "  " : "",
            r->top_driver);
}

static void sample(struct out_text *t, const char *ts, const struct mon_snapshot *s)
{
    fprintf(t->out, "%s sample %" PRIu64 ": %zu threads (%zu read), stall %.1f ms (max %.1f ms)",
            ts, s->seq, s->nthreads, s->sampled, s->stall_ms, s->stall_max_ms);
    /* the snapshot is sorted by headroom: the first sampled thread is the nearest */
    bool any = false;
    for (size_t i = 0, shown = 0; i < s->nthreads && shown <= t->top; i++) {
        const struct mon_thread *r = &s->threads[i];
        if (!r->samples)
            continue;
        if (!any)
            fprintf(t->out, "; nearest %s tid %" PRIu32 " %" PRIu32 " bytes left (%u%%)\n",
                    r->process, r->tid, r->headroom, out_text_percent(r->headroom, r->size));
        any = true;
        if (shown++ < t->top)
            thread_line(t->out, r);
    }
    if (!any)
        fputs("; no thread sampled\n", t->out);
}

static const char *const kind_names[] = {"attach", "module", "sample",  "threshold", "stop",
                                         "crash",  "print",  "warning", "detach"};

int out_text_event(struct out_text *t, const struct mon_event *ev)
{
    char ts[32];
    stamp(t, ev->time_ms, ts, sizeof ts);
    const char *kind =
        (size_t)ev->kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[ev->kind] : "?";
    if (ev->kind == MON_EV_SAMPLE && ev->snap) {
        sample(t, ts, ev->snap);
    } else if (ev->kind == MON_EV_CRASH && ev->crash) {
        char bc[128];
        int64_t over;
        out_text_bugcheck(ev->crash, bc, sizeof bc);
        fprintf(t->out, "%s crash: %s; thread %s tid %" PRIu32, ts, bc, ev->crash->process,
                ev->crash->tid);
        if (out_text_overflow(ev->crash, &over) && over > 0)
            fprintf(t->out, ", %" PRId64 " bytes past StackLimit", over);
        fputc('\n', t->out);
    } else {
        fprintf(t->out, "%s %s: %s\n", ts, kind, ev->text);
    }
    fflush(t->out);
    return ferror(t->out) ? KD_ERR_IO : KD_OK;
}

int out_text_message(struct out_text *t, const char *kind, uint64_t time_ms, const char *text)
{
    char ts[32];
    stamp(t, time_ms, ts, sizeof ts);
    fprintf(t->out, "%s %s: %s\n", ts, kind, text);
    fflush(t->out);
    return ferror(t->out) ? KD_ERR_IO : KD_OK;
}

static const char *const stop_names[] = {"none", "double fault (KiDoubleFaultAbort)",
                                         "KeBugCheckEx", "the kernel's bugcheck break"};

int out_text_crash(const struct mon_crash *c, FILE *out)
{
    char bc[128];
    int64_t over;
    if (!c || !out)
        return KD_ERR_ARG;
    out_text_bugcheck(c, bc, sizeof bc);
    fprintf(out, "=== crash: %s\n", bc);
    if (c->have_code)
        fprintf(out, "  arguments: 0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 "\n",
                c->args[0], c->args[1], c->args[2], c->args[3]);
    fputs("  stops seen:", out);
    for (unsigned k = MON_STOP_DOUBLE_FAULT; k <= MON_STOP_BUGCHECK; k++)
        if (c->stops & (1u << k))
            fprintf(out, " %s%s", stop_names[k], c->stops >> (k + 1) ? "," : "");
    fputc('\n', out);
    fprintf(out,
            "  thread: %s pid %" PRIu32 " tid %" PRIu32 " (KTHREAD 0x%" PRIx64 "), stack 0x%" PRIx64
            "-0x%" PRIx64 "\n",
            c->process[0] ? c->process : "?", c->pid, c->tid, c->thread, c->stack_limit,
            c->stack_base);
    if (c->have_fault)
        fprintf(out, "  fault: rsp 0x%" PRIx64 " rip 0x%" PRIx64 "\n", c->fault_rsp, c->fault_rip);
    if (out_text_overflow(c, &over)) {
        if (over > 0)
            fprintf(out, "  overflow: 0x%" PRIx64 " (%" PRId64 ") bytes past StackLimit\n",
                    (uint64_t)over, over);
        else
            fprintf(out, "  no overflow: 0x%" PRIx64 " (%" PRId64 ") bytes left above StackLimit\n",
                    (uint64_t)-over, -over);
    }
    if (!c->bd) {
        fprintf(out, "  no stack could be unwound%s%s%s\n", c->reason[0] ? " (" : "", c->reason,
                c->reason[0] ? ")" : "");
        return ferror(out) ? KD_ERR_IO : KD_OK;
    }
    if (c->reason[0])
        fprintf(out, "  unwind ended: %s\n", c->reason);
    fputc('\n', out);
    return analyze_out_breakdown_text(c->bd, out);
}
