/* test_report.c: --fail-below parsing and its verdict both ways (bytes and
 * percent), the output choice, and the final report in text and JSON. */
#include "check.h"
#include "fake_events.h"
#include "json_check.h"
#include "kd_status.h"
#include "report.h"

#include <stdbool.h>
#include <unistd.h>

static struct mon_thread rows[4];

static struct mon_snapshot snap(void)
{
    struct mon_snapshot s;
    memset(&s, 0, sizeof s);
    memset(rows, 0, sizeof rows);
    /* min headroom: 2000 of 24576 (8.1%), 6000 of 24576 (24.4%), 9000 of 61440 (14.6%); the
     * last was never sampled and must not count */
    uint32_t size[] = {24576, 24576, 61440, 24576}, min[] = {2000, 6000, 9000, 0};
    for (int i = 0; i < 4; i++) {
        rows[i].tid = 100 + (uint32_t)i;
        rows[i].size = size[i];
        rows[i].min_headroom = rows[i].headroom = min[i];
        rows[i].samples = i < 3;
        memcpy(rows[i].process, "p0.exe", 7);
        rows[i].process[1] = (char)('0' + i);
    }
    s.threads = rows;
    s.nthreads = 4;
    s.samples = 7;
    return s;
}

TEST(threshold_parsing)
{
    struct report_threshold t;
    CHECK_EQ(report_threshold_parse("4096", &t), KD_OK);
    CHECK(!t.percent);
    CHECK_EQ(t.bytes, 4096);
    CHECK_STR(t.text, "4096");
    CHECK_EQ(report_threshold_parse("0x1000", &t), KD_OK);
    CHECK_EQ(t.bytes, 4096);
    CHECK_EQ(report_threshold_parse("010", &t), KD_OK); /* decimal, never octal */
    CHECK_EQ(t.bytes, 10);
    CHECK_EQ(report_threshold_parse("10%", &t), KD_OK);
    CHECK(t.percent);
    CHECK_EQ(t.ppm, 100000);
    CHECK_EQ(report_threshold_parse("12.5%", &t), KD_OK);
    CHECK_EQ(t.ppm, 125000);
    CHECK_EQ(report_threshold_parse("100%", &t), KD_OK);
    CHECK_EQ(t.ppm, 1000000);
    const char *bad[] = {"",   "abc",       "10%%", "0%", "101%",
                         "-5", "12.34567%", "1.%",  "%",  "99999999999999999999",
                         "0x", "4k",        "10 %"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(report_threshold_parse(bad[i], &t), KD_ERR_ARG);
        CHECK(!t.percent && t.bytes == 0 && t.text[0] == 0);
    }
    CHECK_EQ(report_threshold_parse(NULL, &t), KD_ERR_ARG);
}

TEST(fail_below_bytes_both_ways)
{
    struct mon_snapshot s = snap();
    struct report_threshold t;
    size_t worst = 99;
    CHECK_EQ(report_threshold_parse("2000", &t), KD_OK);
    CHECK(!report_fail_below(&s, &t, &worst)); /* equal is not under */
    CHECK_EQ(worst, 99);
    CHECK_EQ(report_threshold_parse("2001", &t), KD_OK);
    CHECK(report_fail_below(&s, &t, &worst));
    CHECK_EQ(worst, 0);
    CHECK_EQ(report_fail_count(&s, &t), 1);
    CHECK_EQ(report_threshold_parse("8192", &t), KD_OK);
    CHECK(report_fail_below(&s, &t, NULL));
    CHECK_EQ(report_fail_count(&s, &t), 2); /* the unsampled thread's 0 does not count */
    CHECK_EQ(report_threshold_parse("1", &t), KD_OK);
    CHECK(!report_fail_below(&s, &t, NULL));
    CHECK(!report_fail_below(NULL, &t, NULL));
}

TEST(fail_below_percent_both_ways)
{
    struct mon_snapshot s = snap();
    struct report_threshold t;
    size_t worst = 99;
    CHECK_EQ(report_threshold_parse("8%", &t), KD_OK);
    CHECK(!report_fail_below(&s, &t, &worst)); /* 8.14% is not under 8% */
    CHECK_EQ(report_threshold_parse("8.2%", &t), KD_OK);
    CHECK(report_fail_below(&s, &t, &worst));
    CHECK_EQ(worst, 0);
    CHECK_EQ(report_threshold_parse("15%", &t), KD_OK);
    CHECK_EQ(report_fail_count(&s, &t), 2); /* 8.1% and 14.6%, not 24.4% */
    CHECK(report_fail_below(&s, &t, &worst));
    CHECK_EQ(worst, 0); /* the smaller share, though 9000 bytes is more than 2000 */
    /* exact integer arithmetic: 25% of 24000 is 6000, which is not under */
    rows[1].size = 24000;
    CHECK_EQ(report_threshold_parse("25%", &t), KD_OK);
    CHECK_EQ(report_fail_count(&s, &t), 2);
    rows[1].min_headroom = 5999;
    CHECK_EQ(report_fail_count(&s, &t), 3);
}

TEST(output_choice)
{
    enum report_output o;
    CHECK_EQ(report_output_choose(false, false, true, "xterm-256color", &o), KD_OK);
    CHECK_EQ(o, REPORT_OUTPUT_DASHBOARD);
    CHECK_EQ(report_output_choose(false, false, false, "xterm", &o), KD_OK);
    CHECK_EQ(o, REPORT_OUTPUT_TEXT);
    CHECK_EQ(report_output_choose(false, false, true, "dumb", &o), KD_OK);
    CHECK_EQ(o, REPORT_OUTPUT_TEXT);
    CHECK_EQ(report_output_choose(false, false, true, NULL, &o), KD_OK);
    CHECK_EQ(o, REPORT_OUTPUT_TEXT);
    CHECK_EQ(report_output_choose(false, true, true, "xterm", &o), KD_OK);
    CHECK_EQ(o, REPORT_OUTPUT_JSON);
    CHECK_EQ(report_output_choose(true, false, true, "xterm", &o), KD_OK);
    CHECK_EQ(o, REPORT_OUTPUT_TEXT);
    CHECK_EQ(report_output_choose(true, true, false, "xterm", &o), KD_ERR_ARG);
}

TEST(report_text_and_json_files)
{
    struct fake_events *f = NULL;
    struct fake_events_config cfg = {.samples = 5, .threads = 30};
    struct mon_event ev;
    CHECK_EQ(fake_events_new(&cfg, &f), KD_OK);
    while (fake_events_next(f, &ev))
        ;
    struct report_threshold t;
    CHECK_EQ(report_threshold_parse("4096", &t), KD_OK);
    struct report_info info = {.link = "kdnet:port=50000",
                               .ended = "crash captured",
                               .fail_below = &t,
                               .duration_ms = 6000,
                               .top = 3};
    char dir[] = "/tmp/kdw_report_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/r.txt", dir);
    CHECK_EQ(report_write_file(path, fake_events_snapshot(f), fake_events_crash(f), &info), KD_OK);
    char buf[65536];
    FILE *in = fopen(path, "r");
    size_t n = in ? fread(buf, 1, sizeof buf - 1, in) : 0;
    buf[n] = 0;
    if (in)
        fclose(in);
    CHECK(strstr(buf,
                 "kdwatch report\n  target:   Windows build 19041, machine 0x8664, 4 processors, "
                 "ntoskrnl.exe at 0xfffff80001c00000, 187 modules\n") != NULL);
    CHECK(strstr(buf,
                 "  link:     kdnet:port=50000\n  session:  5 samples in 00:00:06, 30 threads; "
                 "stall last ") != NULL);
    CHECK(strstr(buf,
                 "; ended: crash captured\n  fail-below 4096: FAILED: 1 thread under it; lowest "
                 "diskstress.exe pid 4120 tid 5012 with 1952 bytes (7%) at its minimum\n") != NULL);
    CHECK(strstr(buf, "Threads nearest their limit (by minimum headroom, 3 of 30 sampled):") !=
          NULL);
    CHECK(strstr(buf, "    diskstress.exe    4120   5012  24576     1952    7%     22624  "
                      "diskstress!WriterThread / rosempio\n") != NULL);
    CHECK(strstr(buf, "=== crash: 0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)\n") != NULL);
    CHECK(strstr(buf, "  cycle of 11 frames (") != NULL);
    unlink(path);
    snprintf(path, sizeof path, "%s/r.json", dir);
    CHECK_EQ(report_write_file(path, fake_events_snapshot(f), NULL, &info), KD_OK);
    in = fopen(path, "r");
    n = in ? fread(buf, 1, sizeof buf - 1, in) : 0;
    buf[n] = 0;
    if (in)
        fclose(in);
    CHECK(json_valid(buf));
    static const char start[] =
        "{\"event\":\"report\",\"link\":\"kdnet:port=50000\",\"ended\":"
        "\"crash captured\",\"duration_ms\":6000,\"samples\":5,\"nthreads\":30,";
    CHECK(strncmp(buf, start, strlen(start)) == 0);
    CHECK(strstr(buf, "\"fail_below\":{\"threshold\":\"4096\",\"percent\":null,\"bytes\":4096,"
                      "\"failed\":true,\"count\":1,") != NULL);
    CHECK(strstr(buf, ",\"crash\":null}\n") != NULL);
    unlink(path);
    rmdir(dir);
    CHECK_EQ(report_write_file("/nonexistent/dir/r.txt", NULL, NULL, NULL), KD_ERR_IO);
    fake_events_free(f);
}

int main(void)
{
    RUN(threshold_parsing);
    RUN(fail_below_bytes_both_ways);
    RUN(fail_below_percent_both_ways);
    RUN(output_choice);
    RUN(report_text_and_json_files);
    return check_summary("test_report");
}
