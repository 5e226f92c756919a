/* test_breakdown.c: the breakdown engine on constructed frame lists and on the
 * seed write-ups (read from ../shared/seeds/). Numbers were worked out by hand
 * from the Child-SP/ChildEBP columns; comments say how. */
#include "breakdown.h"
#include "check.h"
#include "kd_status.h"
#include "stack_text.h"

#define SEED_000 "000_07951b967ddabba6.txt"
#define SEED_001 "001_1cce4849ee296daf.txt"
#define SEED_002 "002_0042dcef320ede7c.txt"
#define SEED_003 "003_9f0fbda8e85e3cdb.txt"

/* ---- helpers ------------------------------------------------------------------ */

static struct breakdown_frame fr(uint64_t sp, const char *module, const char *function,
                                 uint64_t offset)
{
    struct breakdown_frame f;
    memset(&f, 0, sizeof f);
    f.sp = sp;
    f.ret = 0x1000;
    snprintf(f.module, sizeof f.module, "%s", module);
    snprintf(f.function, sizeof f.function, "%s", function);
    f.offset = offset;
    f.has_offset = offset != 0;
    return f;
}

static struct breakdown *run(const struct breakdown_frame *f, size_t n, unsigned ptr,
                             const struct breakdown_range *r, size_t nr)
{
    struct breakdown_input in = {f, n, ptr, r, nr, false, 0};
    struct breakdown *bd = NULL;
    CHECK_EQ(breakdown_new(&in, &bd), KD_OK);
    return bd;
}

static char *read_seed(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/seeds/%s", check_shared_dir(), name);
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 20);
    *len = f && buf ? fread(buf, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    if (!*len) {
        fprintf(stderr, "  cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Stack `which` of a seed, broken down with its bounds and register SP. */
static struct breakdown *seed_breakdown(const char *name, size_t which, bool bounds)
{
    size_t len;
    char *text = read_seed(name, &len);
    struct stack_text *st = NULL;
    struct breakdown *bd = NULL;
    CHECK(text != NULL);
    if (!text || stack_text_parse(text, len, &st) != KD_OK || which >= st->count) {
        CHECK(false); /* seed parsed */
        goto out;
    }
    struct breakdown_range range;
    struct breakdown_input in;
    stack_text_input(&st->stacks[which], &range, &in);
    if (!bounds) {
        in.range_count = 0;
        in.has_fault_sp = false;
    }
    CHECK_EQ(breakdown_new(&in, &bd), KD_OK);
out:
    stack_text_free(st);
    free(text);
    return bd;
}

static const struct breakdown_module *module(const struct breakdown *bd, const char *name)
{
    for (size_t m = 0; m < bd->module_count; m++)
        if (!strcmp(bd->modules[m].name, name))
            return &bd->modules[m];
    fprintf(stderr, "  module %s not in the table\n", name);
    return NULL;
}

#define CHECK_MODULE(bd_, name_, bytes_, pct_)                                                     \
    do {                                                                                           \
        const struct breakdown_module *m_ = module(bd_, name_);                                    \
        CHECK(m_ != NULL);                                                                         \
        if (m_) {                                                                                  \
            CHECK_EQ(m_->bytes, bytes_);                                                           \
            CHECK_EQ(m_->percent, pct_);                                                           \
        }                                                                                          \
    } while (0)

/* ---- synthetic ------------------------------------------------------------------ */

/* Known ranges decide: a 0x100 step from the IST range into the thread range is
 * a switch even though it would be a plausible frame size. */
static void test_switch_known_bounds(void)
{
    struct breakdown_range r[3] = {{0x10000, 0x16000, BREAKDOWN_STACK_THREAD},
                                   {0xff00, 0x10000, BREAKDOWN_STACK_IST},
                                   {0x20000, 0x26000, BREAKDOWN_STACK_DPC}};
    struct breakdown_frame f[] = {fr(0xff10, "nt", "KeBugCheckEx", 0),
                                  fr(0xff80, "nt", "KiDoubleFaultAbort", 0x28b),
                                  fr(0x10080, "drv", "Deep", 0x10),
                                  fr(0x10200, "drv", "Outer", 0x20),
                                  fr(0x20100, "nt", "KiExecuteAllDpcs", 0x30),
                                  fr(0x20180, "nt", "KiRetireDpcList", 0x40)};
    struct breakdown *bd = run(f, 6, 8, r, 3);
    if (!bd)
        return;
    CHECK_EQ(bd->lines[0].edge, BREAKDOWN_EDGE_NONE);
    CHECK_EQ(bd->lines[1].edge, BREAKDOWN_EDGE_SIZE);
    CHECK_EQ(bd->lines[1].size, 0x70);
    CHECK_EQ(bd->lines[2].edge, BREAKDOWN_EDGE_SWITCH);
    CHECK_EQ(bd->lines[3].edge, BREAKDOWN_EDGE_SIZE);
    CHECK_EQ(bd->lines[3].size, 0x180);
    CHECK_EQ(bd->lines[4].edge, BREAKDOWN_EDGE_SWITCH);
    CHECK_EQ(bd->lines[5].size, 0x80);
    CHECK_EQ(bd->stack_count, 3);
    CHECK_EQ(bd->stacks[0].kind, BREAKDOWN_STACK_IST);
    CHECK_EQ(bd->stacks[1].kind, BREAKDOWN_STACK_THREAD);
    CHECK_EQ(bd->stacks[2].kind, BREAKDOWN_STACK_DPC);
    CHECK_EQ(bd->fault_stack, 1);
    CHECK_EQ(bd->total_bytes, 0x180);
    CHECK_EQ(bd->headroom, 0x80);
    CHECK(!bd->past_limit);
    CHECK_EQ(bd->depth, 0x16000 - 0x10080);
    CHECK_EQ(bd->module_count, 1); /* only the thread stack's lines count */
    CHECK_MODULE(bd, "drv", 0x180, 100);
    breakdown_free(bd);
}

/* Without bounds: a drop, a jump over 64 KiB, and a page-plus jump after a
 * trap line are switches; user addresses are a stack of their own. */
static void test_switch_heuristics(void)
{
    struct breakdown_frame f[] = {fr(0xfffff80000100000, "nt", "KiDoubleFaultAbort", 0x10),
                                  fr(0xfffff80000102000, "drv", "A", 0x10),
                                  fr(0xfffff80000102100, "drv", "B", 0x10),
                                  fr(0xfffff80000202100, "drv", "C", 0x10),
                                  fr(0xfffff80000202000, "drv", "D", 0x10),
                                  fr(0xfffff80000202400, "nt", "KiSystemCall64", 0x10),
                                  fr(0x000000000012f000, "", "", 0x7ff612340000)};
    struct breakdown *bd = run(f, 7, 8, NULL, 0);
    if (!bd)
        return;
    CHECK_EQ(bd->lines[1].edge, BREAKDOWN_EDGE_SWITCH); /* 0x2000 after a trap line */
    CHECK_EQ(bd->lines[2].size, 0x100);
    CHECK_EQ(bd->lines[3].edge, BREAKDOWN_EDGE_SWITCH); /* 0x100000 */
    CHECK_EQ(bd->lines[4].edge, BREAKDOWN_EDGE_SWITCH); /* went down */
    CHECK_EQ(bd->lines[5].size, 0x400);
    CHECK_EQ(bd->lines[6].edge, BREAKDOWN_EDGE_SWITCH);
    CHECK_EQ(bd->stacks[0].kind, BREAKDOWN_STACK_IST);
    CHECK_EQ(bd->stacks[4].kind, BREAKDOWN_STACK_USER);
    CHECK_EQ(bd->fault_stack, 3); /* the kernel stack with most bytes (0x400) */
    CHECK(!bd->has_depth);
    breakdown_free(bd);
}

static void test_past_limit_and_fault_sp(void)
{
    struct breakdown_range r = {0x80000, 0x86000, BREAKDOWN_STACK_THREAD};
    struct breakdown_frame f[] = {fr(0x7ff40, "drv", "Leaf", 0x10), fr(0x80100, "drv", "Mid", 0x10),
                                  fr(0x85f00, "nt", "KiStartSystemThread", 0x10)};
    struct breakdown_input in = {f, 3, 8, &r, 1, true, 0x7ff00};
    struct breakdown *bd = NULL;
    CHECK_EQ(breakdown_new(&in, &bd), KD_OK);
    if (!bd)
        return;
    CHECK_EQ(bd->stack_count, 1); /* 0xc0 below the limit is the overflow, not another stack */
    CHECK_EQ(bd->lines[1].size, 0x1c0);
    CHECK(bd->used_fault_sp);
    CHECK(bd->past_limit);
    CHECK_EQ(bd->past, 0x100);
    CHECK_EQ(bd->depth, 0x6100);
    CHECK_EQ(bd->total_bytes, 0x5fc0);
    breakdown_free(bd);
}

static void test_no_cycle(void)
{
    struct breakdown_frame f[] = {fr(0x1000, "a", "A", 1), fr(0x1100, "b", "B", 1),
                                  fr(0x1200, "c", "C", 1), fr(0x1300, "b", "B", 1),
                                  fr(0x1400, "d", "D", 1), fr(0x1500, "e", "E", 1)};
    struct breakdown *bd = run(f, 6, 8, NULL, 0);
    if (!bd)
        return;
    CHECK(!bd->has_cycle);
    CHECK_EQ(bd->reentry_count, 0);
    breakdown_free(bd);
}

/* Direct recursion: the same function four times; sizes 0x40, 0x40, 0x40, 0x48. */
static void test_cycle_direct_recursion(void)
{
    struct breakdown_frame f[] = {fr(0x1000, "drv", "Leaf", 0x5),  fr(0x1040, "drv", "Walk", 0x2a),
                                  fr(0x1080, "drv", "Walk", 0x2a), fr(0x10c0, "drv", "Walk", 0x2a),
                                  fr(0x1108, "drv", "Walk", 0x90), fr(0x1200, "nt", "Caller", 0x1)};
    struct breakdown *bd = run(f, 6, 8, NULL, 0);
    if (!bd)
        return;
    CHECK(bd->has_cycle);
    CHECK_EQ(bd->cycle.period, 1);
    CHECK_EQ(bd->cycle.turns, 4);
    CHECK_EQ(bd->cycle.start, 1);
    CHECK_EQ(bd->cycle.bytes, 0x40 + 0x40 + 0x40 + 0x48);
    CHECK_EQ(bd->cycle.turn_min, 0x40);
    CHECK_EQ(bd->cycle.turn_max, 0x48);
    breakdown_free(bd);
}

/* Two equal neighbours (often a nearest-export symbol) are not yet a cycle;
 * a period of two repeated twice is. */
static void test_cycle_thresholds(void)
{
    struct breakdown_frame f[] = {fr(0x1000, "x", "A", 1), fr(0x1010, "drv", "F", 0x10),
                                  fr(0x1020, "drv", "F", 0x20), fr(0x1030, "y", "B", 1)};
    struct breakdown *bd = run(f, 4, 8, NULL, 0);
    if (bd)
        CHECK(!bd->has_cycle);
    breakdown_free(bd);
    struct breakdown_frame g[] = {fr(0x1000, "x", "A", 1), fr(0x1010, "p", "P", 1),
                                  fr(0x1030, "q", "Q", 1), fr(0x1040, "p", "P", 1),
                                  fr(0x1060, "q", "Q", 1), fr(0x1100, "y", "B", 1)};
    bd = run(g, 6, 8, NULL, 0);
    if (bd) {
        CHECK(bd->has_cycle);
        CHECK_EQ(bd->cycle.period, 2);
        CHECK_EQ(bd->cycle.turns, 2);
        CHECK_EQ(bd->cycle.bytes, 0x60); /* lines 1..4: 0x10 + 0x20 + 0x10 + 0x20 */
    }
    breakdown_free(bd);
}

/* x86: 4-byte pointers, the user stack starts below 0x80000000. */
static void test_x86(void)
{
    struct breakdown_range r = {0xb8cb7000, 0xb8cba000, BREAKDOWN_STACK_THREAD};
    struct breakdown_frame f[] = {fr(0xb8cb7010, "Ntfs", "NtfsInitializeIrpContext", 0xc),
                                  fr(0xb8cb71bc, "Ntfs", "NtfsFsdRead", 0xb7),
                                  fr(0xb8cb9d50, "nt", "KiFastCallEntry", 0xfc),
                                  fr(0x0015fdb0, "", "", 0x7c82ed54)};
    struct breakdown *bd = run(f, 4, 4, &r, 1);
    if (!bd)
        return;
    CHECK_EQ(bd->lines[1].size, 0x1ac);
    CHECK_EQ(bd->lines[2].size, 0x2b94);
    CHECK_EQ(bd->lines[3].edge, BREAKDOWN_EDGE_SWITCH);
    CHECK_EQ(bd->stacks[1].kind, BREAKDOWN_STACK_USER);
    CHECK_EQ(bd->headroom, 0x10);
    CHECK_MODULE(bd, "nt", 0x2b94, 96); /* 11156 of 11584 */
    CHECK_MODULE(bd, "Ntfs", 0x1ac, 4);
    char cs[BREAKDOWN_CALLSITE_LEN];
    breakdown_frame_format(&bd->frames[3], cs, sizeof cs);
    CHECK_STR(cs, "0x7c82ed54");
    breakdown_free(bd);
}

static void test_backwards_and_memory(void)
{
    struct breakdown_range r = {0x10000, 0x16000, BREAKDOWN_STACK_THREAD};
    struct breakdown_frame f[] = {fr(0x10100, "a", "A", 1), fr(0x10080, "b", "B", 1),
                                  fr(0x10200, "c", "C", 1)};
    struct breakdown *bd = run(f, 3, 8, &r, 1);
    if (bd) {
        CHECK_EQ(bd->lines[1].edge, BREAKDOWN_EDGE_BACKWARDS);
        CHECK_EQ(bd->lines[1].size, 0);
        CHECK_EQ(bd->lines[2].size, 0x180);
        CHECK_EQ(bd->stack_count, 1);
    }
    breakdown_free(bd);
    /* kcf text: no SPs, sizes from the Memory column; a huge one is a switch. */
    struct breakdown_frame g[] = {fr(0, "nt", "KiSwapContext", 0), fr(0, "nt", "Wait", 0),
                                  fr(0, "drv", "Work", 0), fr(0, "nt", "Start", 0)};
    uint64_t mem[] = {0, 0x140, 0x984c660, 0x30};
    for (size_t i = 0; i < 4; i++) {
        g[i].flags = BREAKDOWN_FRAME_NO_SP | (i ? BREAKDOWN_FRAME_MEMORY : 0);
        g[i].memory = mem[i];
    }
    bd = run(g, 4, 8, NULL, 0);
    if (bd) {
        CHECK_EQ(bd->lines[1].edge, BREAKDOWN_EDGE_MEMORY);
        CHECK_EQ(bd->lines[1].size, 0x140);
        CHECK_EQ(bd->lines[2].edge, BREAKDOWN_EDGE_SWITCH);
        CHECK_EQ(bd->lines[3].size, 0x30);
        CHECK_EQ(bd->fault_stack, 0);
        CHECK_EQ(bd->total_bytes, 0x140);
    }
    breakdown_free(bd);
}

/* Re-entry needs a third-party module and a system call or paging frame between. */
static void test_reentry_rules(void)
{
    struct breakdown_frame f[] = {
        fr(0x1000, "drv", "PreWrite", 0x10),    fr(0x1100, "Ntfs", "NtfsFsdWrite", 0x1),
        fr(0x1200, "nt", "_KiTrap0E", 0xdc),    fr(0x1300, "Ntfs", "NtfsCommonRead", 0x1),
        fr(0x1400, "other", "Filter", 0x10),    fr(0x1500, "drv", "Helper", 0x10),
        fr(0x1600, "drv", "PreCreate", 0x10),   fr(0x1700, "nt", "NtfsLike", 0x1),
        fr(0x1800, "FLTMGR", "FltpCreate", 0x1)};
    struct breakdown *bd = run(f, 9, 8, NULL, 0);
    if (!bd)
        return;
    CHECK_EQ(bd->reentry_count, 1); /* drv: 6 -> 5 (no path) -> 0 (after _KiTrap0E) */
    CHECK_STR(bd->reentries[0].module, "drv");
    CHECK_EQ(bd->reentries[0].outer_entry, 6);
    CHECK_EQ(bd->reentries[0].outer_exit, 5);
    CHECK_EQ(bd->reentries[0].inner_entry, 0);
    CHECK_EQ(bd->reentries[0].paths, BREAKDOWN_PATH_PAGING);
    CHECK_EQ(bd->reentries[0].paging_frame, 2);
    CHECK_EQ(bd->reentries[0].bytes, 0x600);
    CHECK(breakdown_is_system_module("fltmgr"));
    CHECK(!breakdown_is_system_module("rosempio"));
    breakdown_free(bd);
}

static void test_bad_input(void)
{
    struct breakdown *bd = (struct breakdown *)1;
    struct breakdown_frame f = fr(0x1000, "a", "A", 1);
    struct breakdown_input in = {&f, 1, 3, NULL, 0, false, 0};
    CHECK_EQ(breakdown_new(&in, &bd), KD_ERR_ARG);
    CHECK(bd == NULL);
    in.ptr_size = 8;
    in.count = BREAKDOWN_MAX_FRAMES + 1;
    CHECK_EQ(breakdown_new(&in, &bd), KD_ERR_ARG);
    in.count = 0;
    CHECK_EQ(breakdown_new(&in, &bd), KD_OK);
    if (bd)
        CHECK_EQ(bd->stack_count, 0);
    breakdown_free(bd);
    breakdown_free(NULL);
    /* Unterminated strings from a caller are cut, not overrun. */
    memset(f.module, 'm', sizeof f.module);
    memset(f.function, 'f', sizeof f.function);
    in.count = 1;
    CHECK_EQ(breakdown_new(&in, &bd), KD_OK);
    if (bd)
        CHECK_EQ(strlen(bd->frames[0].module), BREAKDOWN_MODULE_LEN - 1);
    breakdown_free(bd);
}

/* ---- seeds ------------------------------------------------------------------- */

/* Seed 000 (x64 Win7, !analyze + !thread + kf table): frames 0-2 are on the
 * double-fault IST stack; kf printed 0x984c660 for frame 3, which is the jump
 * fffff880`021748b0 -> fffff880`0b9c0f10 onto the thread stack. */
static void test_seed000(void)
{
    struct breakdown *bd = seed_breakdown(SEED_000, 0, true);
    if (!bd)
        return;
    CHECK_EQ(bd->count, 75);
    CHECK_EQ(bd->lines[1].size, 8);     /* 2174770 - 2174768 */
    CHECK_EQ(bd->lines[2].size, 0x140); /* after KiBugCheckDispatch+0x69: 21748b0 - 2174770 */
    CHECK_EQ(bd->lines[3].edge, BREAKDOWN_EDGE_SWITCH);
    CHECK_EQ(bd->lines[3].size, 0);
    CHECK_EQ(bd->lines[4].size, 0x140); /* b9c1050 - b9c0f10, as kf shows */
    CHECK_EQ(bd->stack_count, 2);
    CHECK_EQ(bd->stacks[0].kind, BREAKDOWN_STACK_IST);
    CHECK_EQ(bd->stacks[1].kind, BREAKDOWN_STACK_THREAD);
    CHECK_EQ(bd->fault_stack, 1);
    /* Frames 3..74 span fffff880`0b9c0f10 .. fffff880`0b9c3190 = 0x2280. */
    CHECK_EQ(bd->total_bytes, 0x2280);
    /* Base fffff880`0b9c7000 - rsp fffff880`0b9c0f10; Limit b9c1000 - b9c0f10 = 0xf0. */
    CHECK_EQ(bd->depth, 0x60f0);
    CHECK(bd->past_limit);
    CHECK_EQ(bd->past, 0xf0);
    CHECK_EQ(bd->module_count, 6);
    CHECK_STR(bd->modules[0].name, "rosempio");
    CHECK_EQ(bd->modules[0].bytes, 5840);
    CHECK_EQ(bd->modules[0].percent, 66);
    CHECK_STR(bd->modules[1].name, "CLASSPNP");
    CHECK_EQ(bd->modules[1].bytes, 1360);
    CHECK_EQ(bd->modules[1].percent, 15);
    CHECK_STR(bd->modules[2].name, "nt"); /* 8 + 0x140 on the IST stack are not counted */
    CHECK_EQ(bd->modules[2].bytes, 640);
    CHECK_EQ(bd->modules[2].percent, 7);
    CHECK_MODULE(bd, "storport", 560, 6);
    CHECK_MODULE(bd, "ql2300", 320, 4);
    CHECK_MODULE(bd, "hal", 112, 1);
    /* rosempio x6 -> CLASSPNP x3 -> nt!IopfCompleteRequest -> rosempio+0x317f1:
     * frames 17..27 first, then every 11 frames; each turn is e.g. Child-SP
     * b9c1d00 (frame 27) - b9c1830 (frame 16) = 0x4d0; five whole turns reach
     * frame 71, frames 72-74 start a sixth. Frame 16 (+0x3175b) is not 27's twin. */
    CHECK(bd->has_cycle);
    CHECK_EQ(bd->cycle.period, 11);
    CHECK_EQ(bd->cycle.turns, 5);
    CHECK_EQ(bd->cycle.start, 17);
    CHECK_EQ(bd->cycle.start + bd->cycle.period * bd->cycle.turns - 1, 71);
    CHECK_EQ(bd->cycle.turn_min, 0x4d0);
    CHECK_EQ(bd->cycle.turn_max, 0x4d0);
    CHECK_EQ(bd->cycle.bytes, 5 * 0x4d0);
    CHECK_STR(bd->frames[17].module, "rosempio");
    CHECK_EQ(bd->frames[17].offset, 0x220a8);
    CHECK_STR(bd->frames[23].function, "ServiceTransferRequest");
    CHECK_STR(bd->frames[26].function, "IopfCompleteRequest");
    CHECK_EQ(bd->frames[27].offset, 0x317f1);
    CHECK_EQ(bd->reentry_count, 0); /* CLASSPNP completes back into rosempio: no syscall/paging */
    breakdown_free(bd);

    /* Without the !thread bounds the jump alone (> 64 KiB) still marks the switch. */
    bd = seed_breakdown(SEED_000, 0, false);
    if (!bd)
        return;
    CHECK_EQ(bd->lines[3].edge, BREAKDOWN_EDGE_SWITCH);
    CHECK_EQ(bd->stacks[0].kind, BREAKDOWN_STACK_IST);
    CHECK_EQ(bd->stacks[1].kind, BREAKDOWN_STACK_KERNEL);
    CHECK_EQ(bd->fault_stack, 1);
    CHECK_EQ(bd->total_bytes, 0x2280);
    CHECK(!bd->has_depth);
    breakdown_free(bd);
}

/* Seed 001 (x64, minifilter): MyDrv!PreCreateCallback (46) backs up a file
 * with NtWriteFile (40); an NTFS checkpoint flushes through MmFlushSection and
 * IoSynchronousPageWrite (16) into FLTMGR and MyDrv!PreWriteCallback (12). */
static void test_seed001(void)
{
    struct breakdown *bd = seed_breakdown(SEED_001, 0, true);
    if (!bd)
        return;
    CHECK_EQ(bd->count, 59);
    CHECK_EQ(bd->stack_count, 1); /* KiDoubleFaultAbort -> KiPageFault is 0xa0: same stack */
    CHECK_EQ(bd->lines[1].size, 0x30);
    CHECK_EQ(bd->total_bytes, 0x3a70); /* 6b2fead0 - 6b2fb060 */
    CHECK_STR(bd->modules[0].name, "nt");
    CHECK_EQ(bd->modules[0].bytes, 6064);
    CHECK_EQ(bd->modules[0].percent, 41);
    CHECK_STR(bd->modules[1].name, "MyDrv");
    CHECK_EQ(bd->modules[1].bytes, 4072);
    CHECK_EQ(bd->modules[1].percent, 27);
    CHECK_STR(bd->modules[2].name, "Ntfs");
    CHECK_EQ(bd->modules[2].bytes, 2624);
    CHECK_EQ(bd->modules[2].percent, 18);
    CHECK_MODULE(bd, "FLTMGR", 2200, 15);
    CHECK(!bd->has_cycle);
    CHECK_EQ(bd->reentry_count, 1);
    const struct breakdown_reentry *r = &bd->reentries[0];
    CHECK_STR(r->module, "MyDrv");
    CHECK_EQ(r->outer_entry, 46);
    CHECK_STR(bd->frames[46].function, "PreCreateCallback");
    CHECK_EQ(r->outer_exit, 43); /* RTBackupFile+0x2f4 */
    CHECK_EQ(r->inner_entry, 12);
    CHECK_STR(bd->frames[12].function, "PreWriteCallback");
    CHECK_EQ(r->paths, BREAKDOWN_PATH_SYSCALL | BREAKDOWN_PATH_PAGING);
    CHECK_EQ(r->syscall_frame, 40);
    CHECK_STR(bd->frames[40].function, "NtWriteFile");
    CHECK_EQ(r->paging_frame, 16);
    CHECK_STR(bd->frames[16].function, "IoSynchronousPageWrite");
    CHECK_EQ(r->bytes, 0x2710); /* 6b2fe0e0 - 6b2fb9d0 */
    breakdown_free(bd);
}

/* Seed 002 (x86, kf output): every Memory value kf printed equals our size. */
static void test_seed002(void)
{
    struct breakdown *bd = seed_breakdown(SEED_002, 0, true);
    if (!bd)
        return;
    size_t compared = 0, hogs = 0;
    CHECK_EQ(bd->count, 118);
    for (size_t i = 0; i < bd->count; i++) {
        const struct breakdown_frame *f = &bd->frames[i];
        if (!(f->flags & BREAKDOWN_FRAME_MEMORY))
            continue;
        compared++;
        CHECK_EQ(bd->lines[i].edge, BREAKDOWN_EDGE_SIZE);
        CHECK_EQ(bd->lines[i].size, f->memory);
    }
    CHECK_EQ(compared, 116); /* all but the first line and the user-mode line */
    CHECK_EQ(bd->lines[117].edge, BREAKDOWN_EDGE_SWITCH);
    CHECK_EQ(bd->stacks[1].kind, BREAKDOWN_STACK_USER);
    CHECK_EQ(bd->total_bytes, 0x2c34); /* b8ae8d34 - b8ae6100 */
    CHECK_EQ(bd->headroom, 0x100);
    CHECK_STR(bd->modules[0].name, "Ntfs");
    CHECK_EQ(bd->modules[0].bytes, 4004);
    CHECK_EQ(bd->modules[0].percent, 35);
    CHECK_STR(bd->modules[1].name, "nt");
    CHECK_EQ(bd->modules[1].bytes, 2652);
    CHECK_STR(bd->modules[2].name, "BossHog01");
    CHECK_EQ(bd->modules[2].bytes, 1684);
    /* The write-up adds 45 Hog lines to 4176 bytes; the listing has 50 Hog
     * lines: it skipped 0x28, 0x28, 0x10, 0x94 and 0x4c (320 bytes). */
    for (size_t m = 0; m < bd->module_count; m++)
        if (strstr(bd->modules[m].name, "Hog") || strstr(bd->modules[m].name, "hog"))
            hogs += bd->modules[m].bytes;
    CHECK_EQ(hogs, 4496);
    CHECK(!bd->has_cycle);
    /* Hogs re-entered through NtClose (73) and twice through IoPageRead (42, 14). */
    CHECK_EQ(bd->reentry_count, 9);
    CHECK_STR(bd->reentries[0].module, "BossHog01");
    CHECK_EQ(bd->reentries[0].outer_entry, 113);
    CHECK_EQ(bd->reentries[0].inner_entry, 67);
    CHECK_EQ(bd->reentries[0].paths, BREAKDOWN_PATH_SYSCALL);
    CHECK_STR(bd->frames[bd->reentries[0].syscall_frame].function, "NtClose");
    CHECK_STR(bd->reentries[8].module, "BabyHog");
    CHECK_EQ(bd->reentries[8].inner_entry, 4);
    CHECK_EQ(bd->reentries[8].paging_frame, 14);
    CHECK_STR(bd->frames[14].function, "IoPageRead");
    breakdown_free(bd);
}

/* Seed 003 (x86, kb + the write-up's table). Ntfs, win32k, nt, fltmgr and
 * tmpreflt match the table; DRIVER_A and DRIVER_B are swapped there. Per pass
 * DRIVER_A's lines show b8cb7430-b8cb7228 = 0x208 and b8cb7450-b8cb7430 = 0x20
 * (552 bytes, 3 passes = 1656) and DRIVER_B's b8cb763c-b8cb7450 = 0x1ec and
 * 0x20 (524, x3 = 1572); the table says DRIVER_A 1572, DRIVER_B 1656. */
static void test_seed003(void)
{
    struct breakdown *bd = seed_breakdown(SEED_003, 0, true);
    if (!bd)
        return;
    CHECK_EQ(bd->count, 74);
    CHECK_EQ(bd->total_bytes, 11584); /* = b8cb9d50 - b8cb7010, as the table's sum */
    CHECK_STR(bd->modules[0].name, "Ntfs");
    CHECK_MODULE(bd, "Ntfs", 4152, 36);
    CHECK_MODULE(bd, "win32k", 2592, 22);
    CHECK_MODULE(bd, "DRIVER_A", 1656, 14);
    CHECK_MODULE(bd, "DRIVER_B", 1572, 14);
    CHECK_MODULE(bd, "nt", 1420, 12);
    CHECK_MODULE(bd, "fltmgr", 120, 1);
    CHECK_MODULE(bd, "tmpreflt", 72, 1);
    CHECK_EQ(bd->lines[73].edge, BREAKDOWN_EDGE_SWITCH);
    /* .tss esp=b8cb7000 is exactly StackLimit: the push that faulted. */
    CHECK(bd->used_fault_sp);
    CHECK(!bd->past_limit);
    CHECK_EQ(bd->headroom, 0);
    CHECK_EQ(bd->depth, 0x3000);
    CHECK(!bd->has_cycle);
    CHECK_EQ(bd->reentry_count, 6);
    CHECK_STR(bd->reentries[0].module, "DRIVER_B");
    CHECK_EQ(bd->reentries[0].outer_entry, 54);
    CHECK_EQ(bd->reentries[0].inner_entry, 33);
    CHECK_EQ(bd->reentries[0].paging_frame, 34);
    CHECK_STR(bd->frames[34].function, "IoPageRead");
    breakdown_free(bd);

    /* The kcf in the comments: sizes only from Memory; ClusDisk 0x310+0x8, fltmgr 0x90+0x90. */
    bd = seed_breakdown(SEED_003, 1, true);
    if (!bd)
        return;
    CHECK_EQ(bd->count, 22);
    CHECK_EQ(bd->lines[1].edge, BREAKDOWN_EDGE_MEMORY);
    CHECK_MODULE(bd, "ClusDisk", 0x318, 21);
    CHECK_MODULE(bd, "fltmgr", 0x120, 8);
    CHECK_MODULE(bd, "Ntfs", 0x220, 14);
    CHECK_MODULE(bd, "nt", 0x888, 57);
    CHECK_EQ(bd->total_bytes, 0xee0);
    CHECK(!bd->has_depth);
    breakdown_free(bd);
}

int main(void)
{
    RUN(test_switch_known_bounds);
    RUN(test_switch_heuristics);
    RUN(test_past_limit_and_fault_sp);
    RUN(test_no_cycle);
    RUN(test_cycle_direct_recursion);
    RUN(test_cycle_thresholds);
    RUN(test_x86);
    RUN(test_backwards_and_memory);
    RUN(test_reentry_rules);
    RUN(test_bad_input);
    RUN(test_seed000);
    RUN(test_seed001);
    RUN(test_seed002);
    RUN(test_seed003);
    return check_summary("test_breakdown");
}
