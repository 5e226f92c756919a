/* test_out_json.c: every line of --json parses (strict validator), and the
 * fields hold the values given, for every event kind of a fake session. */
#include "check.h"
#include "fake_events.h"
#include "json_check.h"
#include "kd_status.h"
#include "out_json.h"
#include "report.h"

#include <stdbool.h>

/* The output of a whole fake session (and its report line), malloc'd. */
static char *session_json(size_t *lines)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct fake_events *fe = NULL;
    struct fake_events_config cfg = {.samples = 12, .threads = 40};
    struct out_json j;
    struct mon_event ev;
    out_json_init(&j, f, false);
    CHECK_EQ(fake_events_new(&cfg, &fe), KD_OK);
    *lines = 0;
    while (fake_events_next(fe, &ev)) {
        CHECK_EQ(out_json_event(&j, &ev), KD_OK);
        ++*lines;
    }
    CHECK_EQ(out_json_message(&j, "error", 99, "link lost: \"x\"\n"), KD_OK);
    struct report_threshold t;
    CHECK_EQ(report_threshold_parse("10%", &t), KD_OK);
    struct report_info info = {.link = "tcp:h:1", .ended = "quit", .fail_below = &t};
    CHECK_EQ(report_write_json(f, fake_events_snapshot(fe), fake_events_crash(fe), &info), KD_OK);
    *lines += 2;
    fake_events_free(fe);
    fclose(f);
    return buf;
}

/* The n-th line (0-based) of text whose "event" is kind, copied into a malloc'd string. */
static char *line_of(const char *text, const char *kind, int n)
{
    char key[64];
    snprintf(key, sizeof key, "{\"event\":\"%s\"", kind);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (!strncmp(p, key, strlen(key)) && n-- == 0) {
            char *s = malloc(len + 1);
            memcpy(s, p, len);
            s[len] = 0;
            return s;
        }
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

#define HAS(s, needle) CHECK((s) && strstr((s), (needle)) != NULL)

TEST(every_line_parses)
{
    size_t lines = 0, checked = 0;
    char *text = session_json(&lines);
    CHECK(text != NULL);
    for (char *p = text; p && *p; checked++) {
        char *nl = strchr(p, '\n');
        CHECK(nl != NULL);
        if (!nl)
            break;
        *nl = 0;
        if (!json_valid(p))
            fprintf(stderr, "  invalid JSON line %zu: %.200s\n", checked, p);
        CHECK(json_valid(p));
        p = nl + 1;
    }
    CHECK_EQ(checked, lines);
    free(text);
}

TEST(fields_by_value)
{
    size_t lines;
    char *text = session_json(&lines), *l;
    l = line_of(text, "attach", 0);
    HAS(l, "\"time_ms\":1000,\"text\":\"attached: Windows build 19041 x64");
    HAS(l, "\"target\":{\"build\":19041,\"machine\":\"0x8664\",\"cpus\":4,\"kernel\":\"ntoskrnl."
           "exe\"");
    HAS(l, "\"breakpoints\":{\"double_fault\":{\"armed\":true,\"address\":\"0xfffff80001cef7c0\","
           "\"symbol\":\"nt!KiDoubleFaultAbort\"},\"bugcheck\":{\"armed\":true");
    free(l);
    l = line_of(text, "sample", 11); /* the last sample: the victim at 7% */
    HAS(l, "\"seq\":12,\"samples\":12,\"snapshot_ms\":13000,");
    HAS(l, "\"nthreads\":40,");
    HAS(l, "\"pid\":4120,\"tid\":5012,\"process\":\"diskstress.exe\",\"start\":\"diskstress!"
           "WriterThread\","
           "\"stack_base\":\"0xfffff8800b9c7000\",\"initial_stack\":\"0xfffff8800b9c7000\","
           "\"stack_limit\":\"0xfffff8800b9c1000\",\"sp\":\"0xfffff8800b9c17a0\",\"size\":24576,"
           "\"used\":22624,\"headroom\":1952,\"headroom_percent\":7,\"min_headroom\":1952,"
           "\"peak_used\":22624,\"painted\":false,\"running\":true,\"cpu\":3,\"samples\":12,"
           "\"last_ms\":13000,\"top_driver\":\"rosempio\"}");
    CHECK(!strstr(l, "\"frames\"")); /* samples leave the frames out */
    free(l);
    l = line_of(text, "threshold", 0);
    HAS(l, "under 25% headroom");
    HAS(l, "\"thread\":{\"kthread\":");
    HAS(l, "\"frames\":[{\"sp\":");
    free(l);
    l = line_of(text, "module", 0);
    HAS(l, "\"text\":\"module loaded: \\\\SystemRoot\\\\System32\\\\drivers\\\\rosempio.sys at "
           "0xfffff88000c00000\"}");
    free(l);
    l = line_of(text, "crash", 0); /* the double fault alone: no code yet */
    HAS(l,
        "\"crash\":{\"stops\":[\"double_fault\"],\"code\":null,\"name\":null,\"description\":null,"
        "\"args\":null,\"fault_rsp\":\"0xfffff8800b9c0f10\"");
    free(l);
    l = line_of(text, "crash", 2);
    HAS(l, "\"stops\":[\"double_fault\",\"kebugcheckex\",\"bugcheck\"],\"code\":\"0x7f\","
           "\"name\":\"UNEXPECTED_KERNEL_MODE_TRAP\",\"description\":\"0x7F "
           "UNEXPECTED_KERNEL_MODE_TRAP "
           "(8 = double "
           "fault)\",\"args\":[\"0x8\",\"0x80050033\",\"0x406f8\",\"0xfffff88001482416\"]");
    HAS(l, "\"process\":\"diskstress.exe\",\"pid\":4120,\"tid\":5012,");
    HAS(l,
        "\"past_limit\":240,\"headroom\":null,\"reason\":\"\",\"breakdown\":{\"pointer_size\":8,");
    HAS(l, "\"modules\":[{\"module\":\"rosempio\",\"bytes\":14400,\"percent\":61,\"frames\":121}");
    HAS(l, "\"cycle\":{\"period\":11,\"turns\":17,");
    HAS(l, "\"edge\":\"switch\",\"switch\":\"IST stack -> thread stack\"");
    free(l);
    l = line_of(text, "error", 0);
    CHECK_STR(l, "{\"event\":\"error\",\"time_ms\":99,\"text\":\"link lost: \\\"x\\\"\\u000a\"}");
    free(l);
    l = line_of(text, "report", 0);
    HAS(l, "{\"event\":\"report\",\"link\":\"tcp:h:1\",\"ended\":\"quit\",\"duration_ms\":0,"
           "\"samples\":12,\"nthreads\":40,");
    HAS(l,
        "\"fail_below\":{\"threshold\":\"10%\",\"percent\":10.0000,\"bytes\":null,\"failed\":true,"
        "\"count\":1,\"worst\":{\"kthread\":");
    HAS(l, "\"nearest\":[{\"kthread\":");
    free(l);
    free(text);
}

TEST(untrusted_strings_stay_valid)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct mon_thread r;
    memset(&r, 0, sizeof r);
    memcpy(r.process, "a\xff\x1b\"\\\xc3\xa9", 8); /* Latin-1, ESC, quote, backslash, é */
    out_json_thread(f, &r, true);
    fclose(f);
    CHECK(json_valid(buf));
    HAS(buf, "\"process\":\"a\\ufffd\\u001b\\\"\\\\\xc3\xa9\"");
    free(buf);
    CHECK(!json_valid("{\"a\":1,}"));
    CHECK(!json_valid("{\"a\":01}"));
    CHECK(!json_valid("[\"\x01\"]"));
    CHECK(!json_valid("{\"a\":1} x"));
    CHECK(json_valid("{\"a\":[1.5e3,-0,true,null,\"\\u00e9\"]}"));
}

int main(void)
{
    RUN(every_line_parses);
    RUN(fields_by_value);
    RUN(untrusted_strings_stay_valid);
    return check_summary("test_out_json");
}
