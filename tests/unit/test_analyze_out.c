/* test_analyze_out.c: the text and JSON renderings of `kdwatch analyze`, with
 * exact strings for a constructed stack and key lines for the seeds. */
#include "analyze_out.h"
#include "check.h"
#include "kd_status.h"

#include <ctype.h>

#define SEED_000 "000_07951b967ddabba6.txt"
#define SEED_001 "001_1cce4849ee296daf.txt"
#define SEED_003 "003_9f0fbda8e85e3cdb.txt"

/* IST -> thread switch, 0xc0 past the limit, Walk recursing 3 times, drv
 * re-entered through NtWriteFile. */
static const char synthetic[] =
    "!thread\n"
    "Base fffff88000016000 Limit fffff88000010000 Call 0\n"
    " # Memory  Child-SP          RetAddr           Call Site\n"
    "00           fffff880`00002f00 fffff800`00000001 nt!KeBugCheckEx\n"
    "01        40 fffff880`00002f40 fffff800`00000002 nt!KiDoubleFaultAbort+0x28b\n"
    "02   fffd000 fffff880`0000ff40 fffff880`00000003 drv!Leaf+0x10\n"
    "03        c0 fffff880`00010000 fffff880`00000004 drv!Walk+0x20\n"
    "04       100 fffff880`00010100 fffff880`00000005 drv!Walk+0x20\n"
    "05       100 fffff880`00010200 fffff880`00000006 drv!Walk+0x20\n"
    "06       200 fffff880`00010400 fffff800`00000007 nt!NtWriteFile+0x55\n"
    "07       180 fffff880`00010580 fffff800`00000008 drv!Entry+0x1\n";

static const char synthetic_text[] =
    "kdwatch analyze: syn.txt: 1 stack in 11 lines\n"
    "\n"
    "== stack 1: 8 frames, x64, lines 4-11\n"
    "   StackBase fffff880`00016000  StackLimit fffff880`00010000 (line 2)\n"
    "\n"
    "  #     Memory  Child-SP          RetAddr           Call Site\n"
    "  00            fffff880`00002f00 fffff800`00000001 nt!KeBugCheckEx\n"
    "  01        40  fffff880`00002f40 fffff800`00000002 nt!KiDoubleFaultAbort+0x28b\n"
    "           --- stack switch (IST stack -> thread stack) ---\n"
    "  02            fffff880`0000ff40 fffff880`00000003 drv!Leaf+0x10\n"
    "  03        c0  fffff880`00010000 fffff880`00000004 drv!Walk+0x20\n"
    "  04       100  fffff880`00010100 fffff880`00000005 drv!Walk+0x20\n"
    "  05       100  fffff880`00010200 fffff880`00000006 drv!Walk+0x20\n"
    "  06       200  fffff880`00010400 fffff800`00000007 nt!NtWriteFile+0x55\n"
    "  07       180  fffff880`00010580 fffff800`00000008 drv!Entry+0x1\n"
    "\n"
    "  thread stack (frames 02-07): 0x640 (1600) bytes in frames; StackBase - lowest SP = "
    "0x60c0 (24768) bytes\n"
    "  0xc0 (192) bytes past StackLimit fffff880`00010000 (lowest SP fffff880`0000ff40)\n"
    "\n"
    "  Usage per module (thread stack):\n"
    "    Module                      Bytes       Hex  Percent  Frames\n"
    "    drv                          1088     0x440      68%       4\n"
    "    nt                            512     0x200      32%       1\n"
    "\n"
    "  cycle of 1 frame (drv!Walk+0x20) repeated 3 times, 0xc0-0x100 bytes per turn (frames "
    "03-05, 0x2c0 bytes)\n"
    "  re-entrancy: drv entered at #07 drv!Entry+0x1, entered again deeper at #05 drv!Walk+0x20 "
    "via system call (#06 nt!NtWriteFile+0x55); 0x380 bytes between the two entries\n";

/* Output of fn into a malloc'd string (caller frees). */
static char *render(const char *text, size_t len, const char *source, bool json, int *rc)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    *rc = analyze_out_buffer(text, len, source, json, f);
    fclose(f);
    return buf;
}

static char *render_seed(const char *name, bool json)
{
    char path[512];
    snprintf(path, sizeof path, "%s/seeds/%s", check_shared_dir(), name);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    CHECK_EQ(analyze_out_file(path, json, f), KD_OK);
    fclose(f);
    return buf;
}

/* ---- a small JSON checker: the output must parse ------------------------------ */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)p[i]))
                        return NULL;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p) || !*p) {
                return NULL;
            }
        }
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *json_list(const char *p, int depth, char close, bool keyed)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (keyed) {
            if (!(p = json_string(json_ws(p))) || *(p = json_ws(p)) != ':')
                return NULL;
            p++;
        }
        if (!(p = json_value(p, depth + 1)))
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *json_value(const char *p, int depth)
{
    p = json_ws(p);
    if (depth > 32)
        return NULL;
    if (*p == '{')
        return json_list(p, depth, '}', true);
    if (*p == '[')
        return json_list(p, depth, ']', false);
    if (*p == '"')
        return json_string(p);
    for (const char *w = "true\0false\0null\0"; *w; w += strlen(w) + 1)
        if (!strncmp(p, w, strlen(w)))
            return p + strlen(w);
    const char *s = p;
    while (isdigit((unsigned char)*p) || *p == '-')
        p++;
    return p > s ? p : NULL;
}

static bool json_ok(const char *s)
{
    const char *end = s ? json_value(s, 0) : NULL;
    return end && *json_ws(end) == '\0';
}

/* ---- tests ------------------------------------------------------------------- */

static void test_text_exact(void)
{
    int rc = -1;
    char *out = render(synthetic, strlen(synthetic), "syn.txt", false, &rc);
    CHECK_EQ(rc, KD_OK);
    CHECK_STR(out, synthetic_text);
    free(out);
}

static void test_json_fields(void)
{
    int rc = -1;
    char *out = render(synthetic, strlen(synthetic), "syn.txt", true, &rc);
    CHECK_EQ(rc, KD_OK);
    CHECK(json_ok(out));
    const char *want[] = {
        "{\"source\":\"syn.txt\",\"stacks\":[{\"lines\":[4,11],\"repeated_at\":[],",
        "{\"n\":2,\"child_sp\":\"0xfffff8800000ff40\",\"ret\":\"0xfffff88000000003\","
        "\"call_site\":\"drv!Leaf+0x10\",\"module\":\"drv\",\"function\":\"Leaf\",\"offset\":"
        "\"0x10\",\"size\":null,\"edge\":\"switch\",\"switch\":\"IST stack -> thread stack\","
        "\"stack\":1,\"kf_memory\":268423168,",
        "\"fault_stack\":1,\"total_bytes\":1600,\"stack_base\":\"0xfffff88000016000\","
        "\"stack_limit\":\"0xfffff88000010000\",\"lowest_sp\":\"0xfffff8800000ff40\","
        "\"lowest_sp_from_register\":false,\"depth\":24768,\"past_limit\":192,\"headroom\":null,",
        "\"modules\":[{\"module\":\"drv\",\"bytes\":1088,\"percent\":68,\"frames\":4},",
        "\"cycle\":{\"period\":1,\"turns\":3,\"start\":3,\"end\":5,\"bytes\":704,"
        "\"bytes_per_turn_min\":192,\"bytes_per_turn_max\":256,\"members\":[\"drv!Walk+0x20\"]}",
        "\"reentries\":[{\"module\":\"drv\",\"outer_entry\":7,\"outer_exit\":7,\"inner_entry\":5,"
        "\"paths\":[\"system call\"],\"system_call_frame\":6,\"paging_frame\":null,\"bytes\":896}]",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!out || !strstr(out, want[i])) {
            fprintf(stderr, "  missing: %s\n", want[i]);
            CHECK(false);
        }
    free(out);
}

/* Sources and call sites are user text: quotes, controls and non-UTF-8 escaped. */
static void test_json_escaping(void)
{
    int rc = -1;
    char *out = render(synthetic, strlen(synthetic), "a\"b\\c\x01\xff\xc3\xa9.txt", true, &rc);
    CHECK(json_ok(out));
    CHECK(out && strstr(out, "\"source\":\"a\\\"b\\\\c\\u0001\\ufffd\xc3\xa9.txt\""));
    free(out);
}

static void test_nothing_found(void)
{
    int rc = 0;
    char *out = render("just prose\n", 11, NULL, false, &rc);
    CHECK_EQ(rc, KD_ERR_NOTFOUND);
    CHECK_STR(out, "kdwatch analyze: (input): 0 stacks in 1 lines\n"
                   "no WinDbg stack listing (k, kb, kv, kf, kc ... output) found\n");
    free(out);
    out = render("", 0, NULL, true, &rc);
    CHECK_EQ(rc, KD_ERR_NOTFOUND);
    CHECK_STR(out, "{\"source\":null,\"stacks\":[]}\n");
    free(out);
    CHECK_EQ(analyze_out_file("/nonexistent/kdwatch/stack.txt", false, stdout), KD_ERR_IO);
}

/* "-" reads standard input (kdwatch analyze - < stack.txt). */
static void test_stdin(void)
{
    char path[512], *buf = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/seeds/%s", check_shared_dir(), SEED_001);
    if (!freopen(path, "rb", stdin)) {
        CHECK(false);
        return;
    }
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return;
    CHECK_EQ(analyze_out_file("-", false, f), KD_OK);
    fclose(f);
    const char *head = "kdwatch analyze: (stdin): 1 stack in 44 lines\n";
    CHECK(buf && !strncmp(buf, head, strlen(head)));
    free(buf);
}

static void test_seed_lines(void)
{
    char *out = render_seed(SEED_000, false);
    CHECK(out && strstr(out, "  02       140  fffff880`021748b0 fffff880`01482416 "
                             "nt!KiDoubleFaultAbort+0x28b\n"
                             "           --- stack switch (IST stack -> thread stack) ---\n"
                             "  03            fffff880`0b9c0f10"));
    CHECK(out && strstr(out, "  0xf0 (240) bytes past StackLimit fffff880`0b9c1000 (lowest SP "
                             "fffff880`0b9c0f10)\n"));
    CHECK(out && strstr(out, "    rosempio                     5840    0x16d0      66%      45\n"));
    CHECK(out &&
          strstr(out, "  cycle of 11 frames (rosempio (6 frames) -> CLASSPNP (3 frames) -> "
                      "nt!IopfCompleteRequest+0x341 -> rosempio!DsmWriteEvent+0x317f1) "
                      "repeated 5 times, 0x4d0 bytes per turn (frames 11-47, 0x1810 bytes)\n"));
    free(out);
    out = render_seed(SEED_001, false);
    CHECK(out &&
          strstr(out, "  re-entrancy: MyDrv entered at #2e MyDrv!PreCreateCallback+0xf3 "
                      "(down to #2b MyDrv!RTBackupFile+0x2f4), entered again deeper at #0c "
                      "MyDrv!PreWriteCallback+0x69 via system call (#28 nt!NtWriteFile+0x6f) "
                      "and paging I/O (#10 nt!IoSynchronousPageWrite+0x1d5); 0x2710 bytes "
                      "between the two entries\n"));
    free(out);
    out = render_seed(SEED_003, false);
    CHECK(out && strstr(out, "  0x0 (0) bytes left above StackLimit b8cb7000 (lowest SP b8cb7000, "
                             "from the register context)\n"));
    free(out);
    const char *seeds[] = {SEED_000, SEED_001, SEED_003};
    for (size_t i = 0; i < 3; i++) {
        out = render_seed(seeds[i], true);
        CHECK(json_ok(out));
        free(out);
    }
}

int main(void)
{
    RUN(test_text_exact);
    RUN(test_json_fields);
    RUN(test_json_escaping);
    RUN(test_nothing_found);
    RUN(test_stdin);
    RUN(test_seed_lines);
    return check_summary("test_analyze_out");
}
