/* test_out_text.c: --text lines, the bugcheck wording and the crash report
 * (whose breakdown is analyze_out's table, reused as is). */
#include "analyze_out.h"
#include "check.h"
#include "fake_events.h"
#include "kd_status.h"
#include "out_text.h"

#include <stdbool.h>

struct capture {
    char *buf;
    size_t len;
    FILE *f;
};

static void cap_open(struct capture *c)
{
    c->buf = NULL;
    c->f = open_memstream(&c->buf, &c->len);
}

static char *cap_close(struct capture *c)
{
    fclose(c->f);
    return c->buf;
}

TEST(bugcheck_wording)
{
    struct mon_crash c;
    char buf[128];
    memset(&c, 0, sizeof c);
    out_text_bugcheck(&c, buf, sizeof buf);
    CHECK_STR(buf, "no bugcheck code yet");
    c.have_code = true;
    c.code = 0x7F;
    c.args[0] = 8;
    out_text_bugcheck(&c, buf, sizeof buf);
    CHECK_STR(buf, "0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)");
    c.args[0] = 0x99;
    out_text_bugcheck(&c, buf, sizeof buf);
    CHECK_STR(buf, "0x7F UNEXPECTED_KERNEL_MODE_TRAP");
    c.code = 0xD1;
    out_text_bugcheck(&c, buf, sizeof buf);
    CHECK_STR(buf, "0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL");
    c.code = 0x12345;
    out_text_bugcheck(&c, buf, sizeof buf);
    CHECK_STR(buf, "0x12345 (unknown bugcheck)");
    CHECK_STR(out_text_bugcheck_name(0x2B), "PANIC_STACK_SWITCH");
    CHECK(out_text_bugcheck_name(0x4242) == NULL);
    out_text_elapsed(3723456, buf, sizeof buf);
    CHECK_STR(buf, "01:02:03");
    CHECK_EQ(out_text_percent(1952, 24576), 7);
    CHECK_EQ(out_text_percent(5, 0), 0);
}

TEST(overflow_from_breakdown_or_register)
{
    struct mon_crash c;
    int64_t over = 1;
    memset(&c, 0, sizeof c);
    CHECK(!out_text_overflow(&c, &over));
    CHECK_EQ(over, 0);
    c.have_fault = true;
    c.stack_limit = 0x10000;
    c.fault_rsp = 0x10040; /* 0x40 left */
    CHECK(out_text_overflow(&c, &over));
    CHECK_EQ(over, (uint64_t)(int64_t)-0x40);
    CHECK_EQ(fake_events_breakdown(&c.bd), KD_OK);
    CHECK(out_text_overflow(&c, &over)); /* the breakdown wins */
    CHECK_EQ(over, 0xf0);
    breakdown_free(c.bd);
}

TEST(event_lines)
{
    struct capture cap;
    struct out_text t;
    struct fake_events *f = NULL;
    struct fake_events_config cfg = {.samples = 3, .threads = 20};
    struct mon_event ev;
    cap_open(&cap);
    out_text_init(&t, cap.f, 2);
    CHECK_EQ(fake_events_new(&cfg, &f), KD_OK);
    while (fake_events_next(f, &ev))
        CHECK_EQ(out_text_event(&t, &ev), KD_OK);
    CHECK_EQ(out_text_message(&t, "error", 5000, "link lost"), KD_OK);
    fake_events_free(f);
    char *out = cap_close(&cap);
    static const char want[] = "00:00:00 attach: attached: Windows build 19041 x64, 4 processors, "
                               "187 modules, 12 processes, "
                               "20 threads; offsets from KDDEBUGGER_DATA64 + calibration\n"
                               "00:00:01 threshold: System (pid 4) thread 20 under 25% headroom: "
                               "4288 bytes left of 24576\n"
                               "00:00:01 threshold: diskstress.exe (pid 4120) thread 5016 under "
                               "25% headroom: 5040 bytes left "
                               "of 24576\n"
                               "00:00:01 threshold: diskstress.exe (pid 4120) thread 5020 under "
                               "25% headroom: 6016 bytes left "
                               "of 24576\n"
                               "00:00:01 sample 1: 20 threads (20 read), stall 2.9 ms (max 2.9 "
                               "ms); nearest System tid 20 4288 "
                               "bytes left (17%)\n"
                               "    System          pid 4     tid 20     used  20288 of  24576  "
                               "left   4288 (17%)  min   4288"
                               "  rosempio\n"
                               "    diskstress.exe  pid 4120  tid 5016   used  19536 of  24576  "
                               "left   5040 (20%)  min   5040"
                               "  rosempio\n";
    CHECK(strncmp(out, want, strlen(want)) == 0);
    if (strncmp(out, want, strlen(want)))
        fprintf(stderr, "got:\n%.1200s\n", out);
    CHECK(strstr(out,
                 "00:00:03 module: module loaded: \\SystemRoot\\System32\\drivers\\rosempio.sys") !=
          NULL);
    CHECK(strstr(out, "00:00:03 crash: no bugcheck code yet; thread diskstress.exe tid 5012, 240 "
                      "bytes past StackLimit\n") != NULL);
    CHECK(strstr(out, "00:00:03 crash: 0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault); thread "
                      "diskstress.exe tid 5012, 240 bytes past StackLimit\n") != NULL);
    CHECK(strstr(out, "00:00:04 error: link lost\n") != NULL);
    free(out);
}

TEST(crash_report_reuses_analyze_out)
{
    struct capture a, b;
    struct fake_events *f = NULL;
    struct fake_events_config cfg = {.samples = 2, .threads = 10};
    struct mon_event ev;
    CHECK_EQ(fake_events_new(&cfg, &f), KD_OK);
    while (fake_events_next(f, &ev))
        ;
    const struct mon_crash *c = fake_events_crash(f);
    cap_open(&a);
    CHECK_EQ(out_text_crash(c, a.f), KD_OK);
    char *report = cap_close(&a);
    cap_open(&b);
    CHECK_EQ(analyze_out_breakdown_text(c->bd, b.f), KD_OK);
    char *table = cap_close(&b);
    static const char head[] =
        "=== crash: 0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)\n"
        "  arguments: 0x8, 0x80050033, 0x406f8, 0xfffff88001482416\n"
        "  stops seen: double fault (KiDoubleFaultAbort), KeBugCheckEx, the kernel's bugcheck "
        "break\n"
        "  thread: diskstress.exe pid 4120 tid 5012 (KTHREAD 0xffffb60c1a002100), stack "
        "0xfffff8800b9c1000-0xfffff8800b9c7000\n"
        "  fault: rsp 0xfffff8800b9c0f10 rip 0xfffff88001482416\n"
        "  overflow: 0xf0 (240) bytes past StackLimit\n"
        "\n";
    CHECK(strncmp(report, head, strlen(head)) == 0);
    if (strncmp(report, head, strlen(head)))
        fprintf(stderr, "got:\n%.900s\n", report);
    CHECK_STR(report + strlen(head), table); /* the rest is analyze_out's, byte for byte */
    CHECK(strstr(table, "           --- stack switch (IST stack -> thread stack) ---\n") != NULL);
    free(report);
    free(table);
    /* no breakdown: says so */
    struct mon_crash bare;
    memset(&bare, 0, sizeof bare);
    snprintf(bare.reason, sizeof bare.reason, "no context");
    cap_open(&a);
    CHECK_EQ(out_text_crash(&bare, a.f), KD_OK);
    report = cap_close(&a);
    CHECK(strstr(report, "  no stack could be unwound (no context)\n") != NULL);
    free(report);
    fake_events_free(f);
}

int main(void)
{
    RUN(bugcheck_wording);
    RUN(overflow_from_breakdown_or_register);
    RUN(event_lines);
    RUN(crash_report_reuses_analyze_out);
    return check_summary("test_out_text");
}
