/* test_dash_model.c: the dashboard model and views, read back as exact
 * screen text at 80x24 and 120x40: sorting, filtering, the sort cycle, the
 * details, the crash view, pausing, truncation, empty and tiny screens.
 * Whole screens are in tests/golden/dash_*.txt; DASH_DUMP=1 prints every
 * screen rendered (to review a layout change and update them). */
#include "check.h"
#include "dash_grid.h"
#include "dash_model.h"
#include "dash_view.h"
#include "fake_events.h"
#include "kd_status.h"

#include <stdbool.h>

static struct mon_thread fx[6];
static size_t nfx;

static struct mon_thread thread(const char *proc, uint32_t pid, uint32_t tid, const char *start,
                                uint32_t size, uint32_t used, uint32_t min, const char *drv)
{
    struct mon_thread r;
    memset(&r, 0, sizeof r);
    snprintf(r.process, sizeof r.process, "%s", proc);
    snprintf(r.start, sizeof r.start, "%s", start);
    snprintf(r.top_driver, sizeof r.top_driver, "%s", drv);
    r.pid = pid;
    r.tid = tid;
    r.kthread = 0xffffb60c1a000000ull + tid;
    r.size = size;
    r.used = used;
    r.headroom = size - used;
    r.min_headroom = min;
    r.peak_used = size - min;
    r.stack_limit = 0xfffff88002400000ull + (uint64_t)tid * 0x10000;
    r.stack_base = r.initial_stack = r.stack_limit + size;
    r.sp = r.initial_stack - used;
    r.samples = 3;
    r.last_ms = 3000;
    r.cpu = -1;
    return r;
}

/* Five threads; by headroom: 5012, 5016, 2300, 8, 3468; by minimum: 5012, 8, 5016, 2300, 3468. */
static void fixture(void)
{
    nfx = 0;
    fx[nfx++] = thread("System", 4, 8, "nt!ExpWorkerThread", 24576, 4096, 3000, "");
    fx[nfx++] = thread("diskstress.exe", 4120, 5012, "diskstress!WriterThread", 24576, 22624, 1952,
                       "rosempio");
    fx[nfx++] = thread("diskstress.exe", 4120, 5016, "diskstress!WriterThread", 24576, 18960, 4224,
                       "rosempio");
    fx[nfx++] =
        thread("MsMpEng.exe", 2284, 2300, "mpengine!ScanWorker", 24576, 12000, 12000, "WdFilter");
    fx[nfx++] =
        thread("explorer.exe", 3412, 3468, "shcore!WorkThreadManager", 61440, 30000, 30000, "");
    struct mon_thread *b = &fx[1];
    const char *syms[] = {"storport!RaidStartIoPacket+0x3f1", "rosempio!DsmWriteEvent+0x118cb",
                          "CLASSPNP!ServiceTransferRequest+0x355"};
    unsigned sizes[] = {0, 0x80, 0xc0};
    uint64_t sp = b->sp;
    for (size_t i = 0; i < 3; i++) {
        sp += sizes[i];
        b->frames[i].sp = sp;
        b->frames[i].size = sizes[i];
        snprintf(b->frames[i].symbol, sizeof b->frames[i].symbol, "%s", syms[i]);
    }
    b->nframes = 3;
    b->running = true;
    b->cpu = 2;
}

static struct mon_snapshot snapshot(uint64_t seq, uint64_t time_ms)
{
    struct mon_snapshot s;
    memset(&s, 0, sizeof s);
    s.seq = s.samples = seq;
    s.time_ms = time_ms;
    s.target.build = 19041;
    s.target.machine = 0x8664;
    s.target.cpus = 4;
    s.target.bp_double_fault = s.target.bp_bugcheck = true;
    s.threads = fx;
    s.nthreads = nfx;
    s.stall_ms = 2.5;
    s.stall_max_ms = 4.0;
    return s;
}

static void event(struct dash_model *m, enum mon_event_kind kind, uint64_t t, const char *text,
                  const struct mon_snapshot *s)
{
    struct mon_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time_ms = t;
    snprintf(ev.text, sizeof ev.text, "%s", text);
    ev.snap = s;
    CHECK_EQ(dash_model_event(m, &ev), KD_OK);
}

/* A model that attached at t=1000 and sampled at 2000 and 3000. */
static struct dash_model *session(int w, int h, bool ascii)
{
    struct dash_model_config cfg = {.ascii = ascii, .interval_ms = 1000};
    struct dash_model *m = NULL;
    fixture();
    CHECK_EQ(dash_model_new(&cfg, &m), KD_OK);
    dash_model_resize(m, w, h);
    dash_model_set_clock(m, "14:03:12");
    dash_model_set_link(m, "tcp:127.0.0.1:50001");
    struct mon_snapshot s0 = snapshot(0, 1000), s1 = snapshot(2, 2000), s2 = snapshot(3, 3000);
    event(m, MON_EV_ATTACH, 1000, "attached: Windows build 19041 x64, 4 processors", &s0);
    event(m, MON_EV_SAMPLE, 2000, "", &s1);
    event(m, MON_EV_THRESHOLD, 2500, "diskstress.exe (pid 4120) thread 5012 under 10% headroom",
          NULL);
    event(m, MON_EV_SAMPLE, 3000, "", &s2);
    return m;
}

/* An expected screen from tests/golden/ (tests run from the repository root). */
static char *golden(const char *name)
{
    char path[128], *buf = malloc(65536);
    snprintf(path, sizeof path, "tests/golden/%s", name);
    FILE *f = fopen(path, "r");
    size_t n = f && buf ? fread(buf, 1, 65535, f) : 0;
    if (f)
        fclose(f);
    if (buf)
        buf[n] = 0;
    CHECK(n > 0);
    return buf;
}

static char *screen(struct dash_model *m, int w, int h)
{
    struct dash_grid g;
    if (dash_grid_init(&g, w, h) != KD_OK)
        return NULL;
    dash_view_render(m, &g);
    char *t = dash_grid_text(&g);
    dash_grid_fini(&g);
    if (t && getenv("DASH_DUMP"))
        printf("----- %dx%d\n%s", w, h, t);
    return t;
}

/* Line n (0-based) of a screen, without its newline. */
static const char *row(const char *text, int n, char *buf, size_t size)
{
    for (; n > 0 && text; n--) {
        text = strchr(text, '\n');
        text = text ? text + 1 : NULL;
    }
    size_t len = text ? strcspn(text, "\n") : 0;
    snprintf(buf, size, "%.*s", (int)len, text ? text : "");
    return buf;
}

static struct mon_crash crash_fixture(struct breakdown *bd)
{
    struct mon_crash c;
    memset(&c, 0, sizeof c);
    c.stops = 1u << MON_STOP_DOUBLE_FAULT | 1u << MON_STOP_KEBUGCHECKEX;
    c.have_code = true;
    c.code = 0x7F;
    c.args[0] = 8;
    c.args[1] = 0x80050033;
    c.args[2] = 0x406f8;
    c.args[3] = 0xfffff88001482416ull;
    c.have_fault = true;
    c.fault_rsp = 0xfffff8800b9c0f10ull;
    snprintf(c.process, sizeof c.process, "diskstress.exe");
    c.pid = 4120;
    c.tid = 5012;
    c.stack_limit = 0xfffff8800b9c1000ull;
    c.stack_base = c.initial_stack = 0xfffff8800b9c7000ull;
    c.bd = bd;
    return c;
}

static void crash_event(struct dash_model *m, const struct mon_crash *c)
{
    struct mon_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MON_EV_CRASH;
    ev.time_ms = 3400;
    ev.crash = c;
    CHECK_EQ(dash_model_event(m, &ev), KD_OK);
}

static void keys(struct dash_model *m, const char *s)
{
    for (; *s; s++)
        dash_model_key(m, (unsigned char)*s);
}

TEST(list_sorted_by_headroom_80x24)
{
    struct dash_model *m = session(80, 24, false);
    char *t = screen(m, 80, 24);
    char *want_list_80x24 = golden("dash_list_80x24.txt");
    CHECK_STR(t, want_list_80x24);
    free(want_list_80x24);
    free(t);
    dash_model_free(m);
}

TEST(list_layout_120x40)
{
    struct dash_model *m = session(120, 40, false);
    char *t = screen(m, 120, 40);
    char *want_list_120x40 = golden("dash_list_120x40.txt");
    CHECK_STR(t, want_list_120x40);
    free(want_list_120x40);
    free(t);
    dash_model_free(m);
}

/* The first column of each thread row: which threads, in which order. */
static void check_order(struct dash_model *m, const char *const *want, size_t n)
{
    char *t = screen(m, 80, 24), buf[512];
    for (size_t i = 0; i < n; i++) {
        row(t, 4 + (int)i, buf, sizeof buf);
        buf[22] = 0; /* process and tid */
        CHECK_STR(buf, want[i]);
    }
    free(t);
}

TEST(sort_cycles)
{
    struct dash_model *m = session(80, 24, false);
    char *t, buf[256];
    CHECK_EQ(dash_model_key(m, 's'), DASH_ACTION_NONE);
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 2, buf, sizeof buf),
              " 5 threads, 2 under 25% · sort min · bp KiDoubleFaultAbort, KeBugCheckEx");
    free(t);
    const char *by_min[] = {" diskstress.exe   5012", " System              8",
                            " diskstress.exe   5016", " MsMpEng.exe      2300",
                            " explorer.exe     3468"};
    check_order(m, by_min, 5);
    keys(m, "s");
    const char *by_process[] = {" diskstress.exe   5012", " diskstress.exe   5016",
                                " explorer.exe     3468", " MsMpEng.exe      2300",
                                " System              8"};
    check_order(m, by_process, 5);
    keys(m, "s");
    const char *by_tid[] = {" System              8", " MsMpEng.exe      2300",
                            " explorer.exe     3468", " diskstress.exe   5012",
                            " diskstress.exe   5016"};
    check_order(m, by_tid, 5);
    keys(m, "s");
    const char *by_headroom[] = {" diskstress.exe   5012", " diskstress.exe   5016",
                                 " MsMpEng.exe      2300", " System              8",
                                 " explorer.exe     3468"};
    check_order(m, by_headroom, 5);
    dash_model_free(m);
}

TEST(filter_applied_and_cleared)
{
    struct dash_model *m = session(80, 24, false);
    char *t, buf[256];
    keys(m, "/ros");
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 23, buf, sizeof buf),
              " filter: ros   Enter applies, Esc clears (process, module or thread id)");
    free(t);
    dash_model_key(m, DASH_KEY_BACKSPACE);
    keys(m, "s"); /* typed, not a sort */
    dash_model_key(m, DASH_KEY_ENTER);
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 2, buf, sizeof buf),
              " 5 threads, 2 under 25% · filter \"ros\": 2 shown · sort "
              "headroom · bp KiDoubleFa…");
    CHECK_STR(row(t, 4, buf, sizeof buf),
              " diskstress.exe   5012 diskstress!Wri… ██████████░│   1952   7%   1952 rosempio");
    CHECK_STR(row(t, 5, buf, sizeof buf),
              " diskstress.exe   5016 diskstress!Wri… ████████▒░░│   5616  22%   4224 rosempio");
    CHECK_STR(row(t, 6, buf, sizeof buf), "");
    free(t);
    /* a thread id, then a filter nothing matches */
    keys(m, "/");
    for (int i = 0; i < 3; i++)
        dash_model_key(m, DASH_KEY_BACKSPACE);
    keys(m, "2300");
    dash_model_key(m, DASH_KEY_ENTER);
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 4, buf, sizeof buf),
              " MsMpEng.exe      2300 mpengine!ScanW… █████▒░░░░░│  12576  51%  12000 WdFilter");
    CHECK_STR(row(t, 5, buf, sizeof buf), "");
    free(t);
    keys(m, "/");
    dash_model_key(m, DASH_KEY_BACKSPACE);
    keys(m, "zz");
    dash_model_key(m, DASH_KEY_ENTER);
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 5, buf, sizeof buf), "   no thread matches \"230zz\" (Esc clears the filter)");
    free(t);
    dash_model_key(m, DASH_KEY_ESC);
    t = screen(m, 80, 24);
    char *want_list_80x24 = golden("dash_list_80x24.txt");
    CHECK_STR(t, want_list_80x24);
    free(want_list_80x24);
    free(t);
    dash_model_free(m);
}

TEST(details_of_selected_thread)
{
    struct dash_model *m = session(80, 24, false);
    char *t, buf[256];
    CHECK_EQ(dash_model_key(m, DASH_KEY_ENTER), DASH_ACTION_NONE);
    CHECK_EQ(dash_model_view(m), DASH_VIEW_DETAILS);
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 1, buf, sizeof buf),
              " thread 5012 of diskstress.exe (pid 4120), KTHREAD ffffb60c`1a001394");
    CHECK_STR(row(t, 2, buf, sizeof buf),
              " start diskstress!WriterThread, running, 3 samples (last 00:00:02)");
    CHECK_STR(row(t, 4, buf, sizeof buf),
              " used 22624 of 24576, left 1952 (7%), min left 1952 (7%), peak used 22624");
    CHECK_STR(row(t, 7, buf, sizeof buf), "  #    SIZE  CALL SITE (last sample, innermost first)");
    CHECK_STR(row(t, 8, buf, sizeof buf), "  00         storport!RaidStartIoPacket+0x3f1");
    CHECK_STR(row(t, 9, buf, sizeof buf), "  01     80  rosempio!DsmWriteEvent+0x118cb");
    CHECK_STR(row(t, 10, buf, sizeof buf), "  02     c0  CLASSPNP!ServiceTransferRequest+0x355");
    free(t);
    dash_model_key(m, DASH_KEY_ESC);
    CHECK_EQ(dash_model_view(m), DASH_VIEW_LIST);
    /* the second row, by arrow */
    dash_model_key(m, DASH_KEY_DOWN);
    dash_model_key(m, DASH_KEY_ENTER);
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 1, buf, sizeof buf),
              " thread 5016 of diskstress.exe (pid 4120), KTHREAD ffffb60c`1a001398");
    CHECK_STR(row(t, 8, buf, sizeof buf), "  no frames sampled for this thread");
    free(t);
    dash_model_free(m);
}

TEST(crash_view_80x24)
{
    struct dash_model *m = session(80, 24, false);
    struct breakdown *bd = NULL;
    CHECK_EQ(fake_events_breakdown(&bd), KD_OK);
    struct mon_crash c = crash_fixture(bd);
    crash_event(m, &c);
    breakdown_free(bd); /* the model keeps nothing of it */
    CHECK_EQ(dash_model_view(m), DASH_VIEW_CRASH);
    char *t = screen(m, 80, 24), buf[256];
    char *want_crash_80x24 = golden("dash_crash_80x24.txt");
    CHECK_STR(t, want_crash_80x24);
    free(want_crash_80x24);
    free(t);
    /* Esc back to the list, whose events now name the crash; c brings it back */
    dash_model_key(m, DASH_KEY_ESC);
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 0, buf, sizeof buf),
              " kdwatch  Windows build 19041 x64, 4 CPUs                       CRASH  14:03:12");
    CHECK_STR(row(t, 22, buf, sizeof buf),
              " 00:00:02 crash     0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)");
    CHECK_STR(row(t, 23, buf, sizeof buf),
              " q quit  / filter  s sort  ⏎ details  ↑↓ select  p freeze  c crash");
    free(t);
    keys(m, "c");
    CHECK_EQ(dash_model_view(m), DASH_VIEW_CRASH);
    dash_model_key(m, DASH_KEY_PGDN);
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 4, buf, sizeof buf),
              "  05     80  storport!RaidpAdapterContinueScatterGather+0xc3");
    free(t);
    dash_model_key(m, DASH_KEY_END);
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 22, buf, sizeof buf), "  cc    1a0  nt!KiSystemServiceCopyEnd+0x25");
    free(t);
    dash_model_free(m);
}

TEST(crash_view_120x40)
{
    struct dash_model *m = session(120, 40, false);
    struct breakdown *bd = NULL;
    CHECK_EQ(fake_events_breakdown(&bd), KD_OK);
    struct mon_crash c = crash_fixture(bd);
    crash_event(m, &c);
    breakdown_free(bd);
    char *t = screen(m, 120, 40), buf[256];
    CHECK_STR(row(t, 1, buf, sizeof buf), " 0x7F UNEXPECTED_KERNEL_MODE_TRAP (8 = double fault)");
    CHECK_STR(row(t, 2, buf, sizeof buf),
              " 240 (0xf0) bytes past StackLimit, 24816 bytes deep in a 24576-byte stack");
    CHECK_STR(
        row(t, 3, buf, sizeof buf),
        " diskstress.exe pid 4120 tid 5012 | args 0x8 0x80050033 0x406f8 0xfffff88001482416 | "
        "seen: double fault, KeBugCheckEx");
    CHECK_STR(row(t, 5, buf, sizeof buf), "  rosempio     █████████████████████████████████████    "
                                          "                     61%    14400");
    CHECK_STR(row(t, 10, buf, sizeof buf), "  3 others     ██                                      "
                                           "                       3%      704");
    CHECK_STR(row(t, 11, buf, sizeof buf),
              " cycle of 11 frames (rosempio (6 frames) -> CLASSPNP (3 frames) -> "
              "nt!IopfCompleteRequest+0x341 ->");
    CHECK_STR(row(t, 17, buf, sizeof buf),
              "  02    140  fffff880`021748b0  nt!KiDoubleFaultAbort+0x28b");
    CHECK_STR(row(t, 18, buf, sizeof buf), "  ─── stack switch (IST stack -> thread stack) ───");
    CHECK_STR(row(t, 19, buf, sizeof buf), "  03         fffff880`0b9c0f10  ql2300+0x69416");
    CHECK_STR(row(t, 20, buf, sizeof buf),
              "  ─── StackLimit fffff880`0b9c1000: the frames above are past it ───");
    free(t);
    dash_model_free(m);
}

TEST(long_names_truncated)
{
    struct dash_model *m = session(80, 24, false);
    fx[0] = thread("AVeryLongImageN", 77, 9, "averyverylongdrivername!AVeryLongFunctionName+0x1234",
                   24576, 24000, 500, "averyverylongdrivername");
    struct mon_snapshot s = snapshot(4, 4000);
    event(m, MON_EV_SAMPLE, 4000, "", &s);
    char *t = screen(m, 80, 24), buf[256];
    CHECK_STR(row(t, 4, buf, sizeof buf),
              " AVeryLongImag…      9 averyverylongd… ███████████│    576   2%    500 averyver…");
    free(t);
    t = screen(m, 120, 40);
    dash_model_resize(m, 120, 40);
    free(t);
    t = screen(m, 120, 40);
    CHECK_STR(row(t, 4, buf, sizeof buf),
              " AVeryLongImageN      9 averyverylongdrivername!AVeryLong… "
              "█████████████████████████░│    576   2%    500 averyverylong…");
    free(t);
    dash_model_free(m);
}

TEST(zero_threads_and_tiny_terminal)
{
    struct dash_model *m = NULL;
    CHECK_EQ(dash_model_new(NULL, &m), KD_OK);
    char *t = screen(m, 80, 24), buf[256];
    CHECK_STR(row(t, 0, buf, sizeof buf), " kdwatch  waiting for the target");
    CHECK_STR(row(t, 5, buf, sizeof buf), "   no threads yet: waiting for the target");
    free(t);
    struct mon_snapshot s;
    memset(&s, 0, sizeof s);
    event(m, MON_EV_ATTACH, 10, "attached", &s);
    event(m, MON_EV_SAMPLE, 20, "", &s);
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 5, buf, sizeof buf), "   no threads: the target listed none yet");
    CHECK_STR(row(t, 2, buf, sizeof buf), " 0 threads, 0 under 25% · sort headroom · bp nothing");
    free(t);
    dash_model_resize(m, 40, 10);
    t = screen(m, 40, 10);
    CHECK_STR(row(t, 0, buf, sizeof buf), "terminal 40x10: kdwatch needs 50x12");
    free(t);
    CHECK_EQ(dash_model_key(m, DASH_KEY_ENTER), DASH_ACTION_NONE); /* nothing to open */
    dash_model_free(m);
}

TEST(freeze_keeps_rows_until_resumed)
{
    struct dash_model *m = session(80, 24, false);
    keys(m, "p");
    fx[1].used = 10000;
    fx[1].headroom = 14576;
    struct mon_snapshot s = snapshot(4, 4000);
    event(m, MON_EV_SAMPLE, 4000, "", &s);
    event(m, MON_EV_WARNING, 4100, "something", NULL);
    char *t = screen(m, 80, 24), buf[256];
    CHECK_STR(row(t, 0, buf, sizeof buf),
              " kdwatch  Windows build 19041 x64, 4 CPUs                      FROZEN  14:03:12");
    CHECK_STR(row(t, 4, buf, sizeof buf),
              " diskstress.exe   5012 diskstress!Wri… ██████████░│   1952   7%   1952 rosempio");
    CHECK_STR(row(t, 22, buf, sizeof buf),
              " 00:00:01 threshold diskstress.exe (pid 4120) thread 5012 under 10% headroom");
    free(t);
    keys(m, "p");
    t = screen(m, 80, 24);
    CHECK_STR(row(t, 4, buf, sizeof buf),
              " diskstress.exe   5016 diskstress!Wri… ████████▒░░│   5616  22%   4224 rosempio");
    CHECK_STR(row(t, 22, buf, sizeof buf), " 00:00:03 warning   something");
    free(t);
    dash_model_free(m);
}

TEST(actions_and_ascii)
{
    struct dash_model_config cfg = {.replay = true, .ascii = true};
    struct dash_model *m = NULL;
    CHECK_EQ(dash_model_new(&cfg, &m), KD_OK);
    fixture();
    struct mon_snapshot s = snapshot(1, 1000);
    event(m, MON_EV_ATTACH, 1000, "attached", &s);
    event(m, MON_EV_SAMPLE, 1000, "", &s);
    dash_model_set_replay(m, false, 2.0);
    CHECK_EQ(dash_model_key(m, ' '), DASH_ACTION_REPLAY_PAUSE);
    CHECK_EQ(dash_model_key(m, '+'), DASH_ACTION_REPLAY_FASTER);
    CHECK_EQ(dash_model_key(m, '-'), DASH_ACTION_REPLAY_SLOWER);
    CHECK_EQ(dash_model_key(m, 'n'), DASH_ACTION_REPLAY_NEXT);
    char *t = screen(m, 80, 24), buf[256];
    CHECK_STR(row(t, 0, buf, sizeof buf),
              " kdwatch  Windows build 19041 x64, 4 CPUs                           REPLAY x2");
    CHECK_STR(row(t, 4, buf, sizeof buf),
              " diskstress.exe   5012 diskstress!Wri~ ##########.|   1952   7%   1952 rosempio");
    CHECK_STR(row(t, 23, buf, sizeof buf), " q quit  / filter  s sort  Enter details  ^v select  p "
                                           "freeze  space pause  +/-");
    free(t);
    CHECK(!dash_model_quit_requested(m));
    CHECK_EQ(dash_model_key(m, 'q'), DASH_ACTION_QUIT);
    CHECK(dash_model_quit_requested(m));
    dash_model_free(m);
    /* live: the replay keys do nothing */
    m = session(80, 24, false);
    CHECK_EQ(dash_model_key(m, ' '), DASH_ACTION_NONE);
    CHECK_EQ(dash_model_key(m, 'n'), DASH_ACTION_NONE);
    dash_model_free(m);
}

TEST(grid_text_is_clean)
{
    struct dash_grid g;
    char buf[64];
    CHECK_EQ(dash_grid_init(&g, 10, 2), KD_OK);
    CHECK_EQ(dash_grid_put(&g, 0, 1, 20, 0, "a\x1b[2Jb\xff\xc3\xa9", 0), 8);
    CHECK_STR((dash_grid_row_text(&g, 0, buf, sizeof buf), buf), " a?[2Jb?\xc3\xa9");
    CHECK_EQ(dash_grid_put(&g, 1, 0, 5, 0, "abcdefgh", '~'), 5);
    CHECK_STR((dash_grid_row_text(&g, 1, buf, sizeof buf), buf), "abcd~");
    CHECK_EQ(dash_grid_put(&g, 1, 8, 5, 0, "xyz", 0), 2); /* clipped at the edge */
    CHECK_EQ(dash_grid_put(&g, 5, 0, 5, 0, "x", 0), 0);
    CHECK(dash_grid_at(&g, 2, 0) == NULL);
    dash_grid_fini(&g);
    CHECK_EQ(dash_grid_init(&g, 0, 5), KD_ERR_ARG);
}

TEST(fake_session_reaches_the_crash)
{
    struct fake_events *f = NULL;
    struct fake_events_config cfg = {.samples = 12};
    struct dash_model *m = NULL;
    struct mon_event ev;
    size_t n = 0, samples = 0, thresholds = 0, crashes = 0;
    CHECK_EQ(fake_events_new(&cfg, &f), KD_OK);
    CHECK_EQ(dash_model_new(NULL, &m), KD_OK);
    while (fake_events_next(f, &ev)) {
        n++;
        samples += ev.kind == MON_EV_SAMPLE;
        thresholds += ev.kind == MON_EV_THRESHOLD;
        crashes += ev.kind == MON_EV_CRASH;
        CHECK_EQ(dash_model_event(m, &ev), KD_OK);
    }
    CHECK_EQ(samples, 12);
    CHECK_EQ(crashes, 3);
    CHECK(thresholds >= 2);
    CHECK_EQ(fake_events_snapshot(f)->nthreads, 200);
    CHECK(fake_events_crash(f) && fake_events_crash(f)->bd);
    CHECK_EQ(fake_events_crash(f)->bd->past, 0xf0);
    CHECK_EQ(dash_model_view(m), DASH_VIEW_CRASH);
    dash_model_free(m);
    fake_events_free(f);
}

int main(void)
{
    RUN(list_sorted_by_headroom_80x24);
    RUN(list_layout_120x40);
    RUN(sort_cycles);
    RUN(filter_applied_and_cleared);
    RUN(details_of_selected_thread);
    RUN(crash_view_80x24);
    RUN(crash_view_120x40);
    RUN(long_names_truncated);
    RUN(zero_threads_and_tiny_terminal);
    RUN(freeze_keeps_rows_until_resumed);
    RUN(actions_and_ascii);
    RUN(grid_text_is_clean);
    RUN(fake_session_reaches_the_crash);
    return check_summary("test_dash_model");
}
