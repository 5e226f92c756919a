/* test_stack_text.c: the WinDbg stack-text reader on constructed snippets of
 * each `k` variant and on the seed write-ups (read from ../shared/seeds/). */
#include "check.h"
#include "kd_status.h"
#include "stack_text.h"

#define SEED_000 "000_07951b967ddabba6.txt"
#define SEED_001 "001_1cce4849ee296daf.txt"
#define SEED_002 "002_0042dcef320ede7c.txt"
#define SEED_003 "003_9f0fbda8e85e3cdb.txt"
#define SEED_004 "004_2017ce1464c3e2e7.txt"

static struct stack_text *parse(const char *text)
{
    struct stack_text *st = NULL;
    CHECK_EQ(stack_text_parse(text, strlen(text), &st), KD_OK);
    return st;
}

static struct stack_text *parse_seed(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/seeds/%s", check_shared_dir(), name);
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 20);
    size_t len = f && buf ? fread(buf, 1, 1 << 20, f) : 0;
    struct stack_text *st = NULL;
    if (f)
        fclose(f);
    CHECK(len > 0);
    if (len)
        CHECK_EQ(stack_text_parse(buf, len, &st), KD_OK);
    free(buf);
    return st;
}

static void check_frame(const struct breakdown_frame *f, uint64_t sp, const char *module,
                        const char *function, uint64_t offset)
{
    CHECK_EQ(f->sp, sp);
    CHECK_STR(f->module, module);
    CHECK_STR(f->function, function);
    CHECK_EQ(f->has_offset, offset != 0);
    CHECK_EQ(f->offset, offset);
}

/* ---- each listing format ------------------------------------------------------ */

static void test_x64_kfn(void)
{
    struct stack_text *st =
        parse(" # Memory  Child-SP          RetAddr           Call Site\n"
              "00           fffff880`02174768 fffff800`01cf2f69 nt!KeBugCheckEx\n"
              "01         8 fffff880`02174770 fffff800`01cefa4b nt!KiBugCheckDispatch+0x69\n"
              "02       140 fffff880`021748b0 fffff880`01482416 nt!KiDoubleFaultAbort+0x28b\n");
    if (!st)
        return;
    CHECK_EQ(st->count, 1);
    const struct stack_text_stack *s = &st->stacks[0];
    CHECK_EQ(s->count, 3);
    CHECK_EQ(s->ptr_size, 8);
    CHECK_EQ(s->first_line, 2);
    check_frame(&s->frames[0], 0xfffff88002174768, "nt", "KeBugCheckEx", 0);
    CHECK_EQ(s->frames[0].ret, 0xfffff80001cf2f69);
    CHECK(!(s->frames[0].flags & BREAKDOWN_FRAME_MEMORY)); /* "00" is the frame number */
    CHECK(s->frames[1].flags & BREAKDOWN_FRAME_MEMORY);
    CHECK_EQ(s->frames[1].memory, 8);
    CHECK_EQ(s->frames[2].memory, 0x140);
    check_frame(&s->frames[2], 0xfffff880021748b0, "nt", "KiDoubleFaultAbort", 0x28b);
    stack_text_free(st);
}

/* kb/kv x64 with " : args : ", notes after the call site, no header. */
static void test_x64_kv_args(void)
{
    struct stack_text *st =
        parse("fffff880`02174770 fffff800`01cefa4b : 00000000`00000000 00000000`00000001 "
              "00000000`00000002 "
              "00000000`00000003 : nt!KiBugCheckDispatch+0x69\n"
              "fffff880`021748b0 fffff880`01482416 : 00000000`00000000 00000000`00000000 "
              "00000000`00000000 "
              "00000000`00000000 : nt!KiDoubleFaultAbort+0x28b (TrapFrame @ fffff880`021748b0)\n"
              "fffff880`0b9c0f10 fffff880`01486c7a : fffffab0`f6061008 fffffab0`227bea10 "
              "00000000`00000000 "
              "00000000`00000000 : drv+0x69416 <- the fault\n");
    if (!st)
        return;
    CHECK_EQ(st->count, 1);
    const struct stack_text_stack *s = &st->stacks[0];
    CHECK_EQ(s->count, 3);
    CHECK(!(s->frames[0].flags & BREAKDOWN_FRAME_TRAP));
    CHECK(s->frames[1].flags & BREAKDOWN_FRAME_TRAP);
    check_frame(&s->frames[2], 0xfffff8800b9c0f10, "drv", "", 0x69416);
    stack_text_free(st);
}

/* x86 kv: three args without separators, FPO notes; then the user frame. */
static void test_x86_kv(void)
{
    struct stack_text *st =
        parse("0: kd> kv\n"
              "ChildEBP RetAddr  Args to Child\n"
              "b1a16d00 80637e9d 000000f4 00000003 82103020 nt!KeBugCheckEx+0x1b (FPO: [5,0,0])\n"
              "b1a16d54 7c93e514 82103268 ffffffff 0012f3e4 nt!KiFastCallEntry+0xfc (FPO: [0,0] "
              "TrapFrame "
              "@ b1a16d64)\r\n"
              "WARNING: Frame IP not in any known module. Following frames may be wrong.\n"
              "0012f3e4 00000000 00000000 00000000 00000000 0x7c93e514\n");
    if (!st)
        return;
    CHECK_EQ(st->count, 1);
    const struct stack_text_stack *s = &st->stacks[0];
    CHECK_EQ(s->count, 3);
    CHECK_EQ(s->ptr_size, 4);
    check_frame(&s->frames[0], 0xb1a16d00, "nt", "KeBugCheckEx", 0x1b);
    CHECK(s->frames[1].flags & BREAKDOWN_FRAME_TRAP);
    CHECK(!(s->frames[1].flags & BREAKDOWN_FRAME_SCANNED));
    check_frame(&s->frames[2], 0x0012f3e4, "", "", 0x7c93e514);
    CHECK(s->frames[2].flags & BREAKDOWN_FRAME_SCANNED);
    stack_text_free(st);
}

/* kp argument lists, C++ names with spaces, inline frames. */
static void test_kp_and_names(void)
{
    struct stack_text *st =
        parse("Child-SP          RetAddr           Call Site\n"
              "ffffd000`20a17a10 fffff801`1234abcd drv!Tree<int, Node>::Walk(struct _NODE * n = "
              "0x0)+0x2a\n"
              "(Inline Function) --------`-------- drv!Inlined+0x5\n"
              "ffffd000`20a17b00 fffff801`1234abce CLASSPNP! ?? ::FNODOBFM::`string'+0x4bb3\n"
              "ffffd000`20a17c00 fffff801`1234abcf nt!KeWait(\n"
              "        void * Object = 0x1,\n"
              "        int Mode = 0n0)+0x13a\n"
              "ffffd000`20a17d00 fffff801`1234abd0 nt!KiStart\n");
    if (!st)
        return;
    CHECK_EQ(st->count, 1);
    const struct stack_text_stack *s = &st->stacks[0];
    CHECK_EQ(s->count, 5);
    check_frame(&s->frames[0], 0xffffd00020a17a10, "drv", "Tree<int, Node>::Walk", 0x2a);
    CHECK(s->frames[1].flags & BREAKDOWN_FRAME_NO_SP);
    CHECK_STR(s->frames[1].function, "Inlined");
    check_frame(&s->frames[2], 0xffffd00020a17b00, "CLASSPNP", "?? ::FNODOBFM::`string'", 0x4bb3);
    char cs[BREAKDOWN_CALLSITE_LEN];
    breakdown_frame_format(&s->frames[2], cs, sizeof cs);
    CHECK_STR(cs, "CLASSPNP! ?? ::FNODOBFM::`string'+0x4bb3");
    CHECK_STR(s->frames[3].function, "KeWait");
    CHECK_EQ(s->frames[3].offset, 0x13a); /* after the kP argument lines */
    check_frame(&s->frames[4], 0xffffd00020a17d00, "nt", "KiStart", 0);
    stack_text_free(st);
}

/* Header-less kf: a leading number is Memory unless it counts 00, 01, ... */
static void test_headerless_columns(void)
{
    struct stack_text *st = parse("          b8ae6100 f7a2ec45 nt!IofCallDriver+0x45\n"
                                  "       28 b8ae6128 8081df65 fltmgr!FltpDispatch+0x6f\n"
                                  "       14 b8ae613c b958e196 nt!IofCallDriver+0x45\n"
                                  "\n"
                                  "prose in between\n"
                                  "00 b8ae7000 8081df65 a!A+0x1\n"
                                  "01 b8ae7010 8081df65 b!B+0x1\n"
                                  "02 10 b8ae7020 8081df65 c!C+0x1\n");
    if (!st)
        return;
    CHECK_EQ(st->count, 2);
    if (st->count == 2) {
        CHECK_EQ(st->stacks[0].frames[1].memory, 0x28);
        CHECK_EQ(st->stacks[0].frames[2].memory, 0x14);
        CHECK(!(st->stacks[1].frames[0].flags & BREAKDOWN_FRAME_MEMORY));
        CHECK(!(st->stacks[1].frames[1].flags & BREAKDOWN_FRAME_MEMORY));
        CHECK_EQ(st->stacks[1].frames[2].memory, 0x10);
        CHECK_EQ(st->stacks[1].first_line, 6);
    }
    stack_text_free(st);
}

static void test_flattened_and_table(void)
{
    struct stack_text *st = parse(
        "ffff8a00`00001000 fffff805`00000001 : a!One+0x1 ffff8a00`00001040 fffff805`00000002 : "
        "b!Two+0x2 ffff8a00`00001100 fffff805`00000003 : c!Three+0x3\xeb\xac\xb8 glued prose\n"
        "\n"
        "| Memory | Child-SP | RetAddr | Call Site |\n"
        "|:---:|:---:|:---:|:---:|\n"
        "|**<center> </center>** | <center>fffff88002174768</center> |*<center>fffff80001cf2f69"
        "</center>* |*<center>nt!KeBugCheckEx</center>* |\n"
        "|**<center>984c660</center>** | <center>fffff8800b9c0f10</center> |*<center>"
        "fffff88001486c7a</center>* |*<center>drv+0x69416</center>* |\n");
    if (!st)
        return;
    CHECK_EQ(st->count, 2);
    if (st->count == 2) {
        const struct stack_text_stack *a = &st->stacks[0], *b = &st->stacks[1];
        CHECK_EQ(a->count, 3);
        check_frame(&a->frames[1], 0xffff8a0000001040, "b", "Two", 0x2);
        check_frame(&a->frames[2], 0xffff8a0000001100, "c", "Three", 0x3);
        CHECK_EQ(b->count, 2);
        CHECK_EQ(b->frames[1].memory, 0x984c660);
        check_frame(&b->frames[1], 0xfffff8800b9c0f10, "drv", "", 0x69416);
    }
    stack_text_free(st);
}

/* kc/kcf: call sites only, after a "kd> kc" prompt or a "Call Site" header. */
static void test_kc(void)
{
    struct stack_text *st = parse("1: kd> kc\n"
                                  "nt!KiSwapContext\n"
                                  "nt!KiCommitThreadWait+0x1\n"
                                  "Hello! said the reader.\n"
                                  "  Memory  Call Site\n"
                                  "          nt!KiSwapContext\n"
                                  "      140 nt!KiCommitThreadWait\n"
                                  "       90 drv!Worker+0x10 ]\n");
    if (!st)
        return;
    CHECK_EQ(st->count, 2);
    if (st->count == 2) {
        CHECK_EQ(st->stacks[0].count, 2);
        CHECK(st->stacks[0].frames[0].flags & BREAKDOWN_FRAME_NO_SP);
        CHECK_EQ(st->stacks[1].count, 3);
        CHECK_EQ(st->stacks[1].frames[1].memory, 0x140);
        CHECK_EQ(st->stacks[1].frames[2].memory, 0x90);
        check_frame(&st->stacks[1].frames[2], 0, "drv", "Worker", 0x10);
    }
    stack_text_free(st);
}

/* The same frames twice count once; dps output and lone frames are no stacks. */
static void test_repeats_and_dumps(void)
{
    const char *k = "b8cb7010 f7158867 Ntfs!NtfsInitializeIrpContext+0xc\n"
                    "b8cb71bc 8083f9c0 Ntfs!NtfsFsdRead+0xb7\n"
                    "b8cb71d0 f7212c53 nt!IofCallDriver+0x45\n";
    char text[1024];
    snprintf(text, sizeof text,
             "%s\nkd> kf\n  Memory  ChildEBP RetAddr\n          b8cb71bc 8083f9c0 "
             "Ntfs!NtfsFsdRead+0xb7\n       14 b8cb71d0 f7212c53 nt!IofCallDriver+0x45\n"
             "kd> dps esp\nb1a16ce4  805396ba nt!KeBugCheckEx+0x1b\nb1a16ce8  000000f4\n"
             "b1a16cf8  8060777e nt!PspTerminateThreadByPointer+0xfa\n"
             "b1a16cfc  8060777f nt!PspTerminateThreadByPointer+0xfb\n",
             k);
    struct stack_text *st = parse(text);
    if (!st)
        return;
    CHECK_EQ(st->count, 1);
    if (st->count == 1) {
        CHECK_EQ(st->stacks[0].count, 3);
        CHECK_EQ(st->stacks[0].dup_count, 1);
        CHECK_EQ(st->stacks[0].dup_lines[0], 7);
        CHECK_EQ(st->stacks[0].frames[2].memory, 0x14); /* taken from the kf copy */
    }
    stack_text_free(st);
}

static void test_bounds_and_registers(void)
{
    struct stack_text *st = parse("Stack Init fffff8800b9c6c70 Current fffff8800b9c1a50\n"
                                  "Base fffff8800b9c7000 Limit fffff8800b9c1000 Call 0\n"
                                  "rax=0000000000000002 rsp=fffff8800b9c0f10 rbp=0000000000000200\n"
                                  "rsp=0000000000001000\n"
                                  "fffff880`0b9c0f10 fffff880`01486c7a drv+0x69416\n"
                                  "fffff880`0b9c1050 fffff880`0136c113 drv+0x6dc7a\n"
                                  "NtTib.StackBase: b1a16df0\n"
                                  "NtTib.StackLimit: b1a13000\n"
                                  "b1a16d00 80637e9d nt!KeBugCheckEx+0x1b\n"
                                  "b1a16d24 8060773c nt!PspCatchCriticalBreak+0x75\n");
    if (!st)
        return;
    CHECK_EQ(st->count, 2);
    if (st->count == 2) {
        const struct stack_text_stack *a = &st->stacks[0], *b = &st->stacks[1];
        CHECK(a->has_bounds);
        CHECK_EQ(a->base, 0xfffff8800b9c7000);
        CHECK_EQ(a->limit, 0xfffff8800b9c1000);
        CHECK_EQ(a->bounds_line, 2);
        CHECK(a->has_init);
        CHECK_EQ(a->init, 0xfffff8800b9c6c70);
        CHECK_EQ(a->current, 0xfffff8800b9c1a50);
        CHECK(a->has_fault_sp);
        CHECK_EQ(a->fault_sp, 0xfffff8800b9c0f10);
        CHECK_EQ(a->fault_sp_line, 3);
        CHECK(b->has_bounds);
        CHECK_EQ(b->base, 0xb1a16df0);
        CHECK_EQ(b->limit, 0xb1a13000);
        CHECK(!b->has_fault_sp);
    }
    stack_text_free(st);
}

/* ---- robustness ------------------------------------------------------------- */

static void test_garbage(void)
{
    struct stack_text *st = NULL;
    CHECK_EQ(stack_text_parse(NULL, 1, &st), KD_ERR_ARG);
    CHECK_EQ(stack_text_parse("", 0, &st), KD_OK);
    if (st)
        CHECK_EQ(st->count, 0);
    stack_text_free(st);
    CHECK_EQ(stack_text_parse(NULL, STACK_TEXT_MAX_INPUT + 1, NULL), KD_ERR_ARG);

    size_t n = 300000;
    char *buf = malloc(n);
    if (!buf)
        return;
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) { /* random bytes, some NULs and newlines */
        x = x * 1103515245u + 12345u;
        buf[i] = (char)(x >> 16);
    }
    CHECK_EQ(stack_text_parse(buf, n, &st), KD_OK);
    stack_text_free(st);
    memset(buf, 'a', n); /* one line far over the line limit */
    CHECK_EQ(stack_text_parse(buf, n, &st), KD_OK);
    if (st)
        CHECK_EQ(st->count, 0);
    stack_text_free(st);
    free(buf);
}

/* More frames than BREAKDOWN_MAX_FRAMES: kept up to the limit, marked truncated. */
static void test_too_many_frames(void)
{
    size_t n = 5000, line = 48, at = 0;
    char *buf = malloc(n * line + 1);
    if (!buf)
        return;
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(buf + at, line + 1, "%08zx 8081df65 nt!IofCallDriver+0x45\n",
                               (size_t)0x80000000u + i * 0x20);
    struct stack_text *st = NULL;
    CHECK_EQ(stack_text_parse(buf, at, &st), KD_OK);
    if (st && st->count == 1) {
        CHECK_EQ(st->stacks[0].count, BREAKDOWN_MAX_FRAMES);
        CHECK(st->stacks[0].truncated);
    } else {
        CHECK(false); /* one stack */
    }
    stack_text_free(st);
    free(buf);
}

/* ---- seeds ------------------------------------------------------------------- */

/* Seed 000: STACK_TEXT (75 frames, line 57), the !thread copy (43 frames) and the
 * `kf 100` markdown table (5 frames) are one stack; bounds come from !thread. */
static void test_seed000(void)
{
    struct stack_text *st = parse_seed(SEED_000);
    if (!st)
        return;
    CHECK_EQ(st->count, 1);
    const struct stack_text_stack *s = &st->stacks[0];
    CHECK_EQ(s->count, 75);
    CHECK_EQ(s->ptr_size, 8);
    CHECK_EQ(s->first_line, 57);
    CHECK_EQ(s->last_line, 131);
    CHECK_EQ(s->dup_count, 2);
    CHECK_EQ(s->dup_lines[0], 181);
    CHECK_EQ(s->dup_lines[1], 261);
    CHECK(s->has_bounds);
    CHECK_EQ(s->base, 0xfffff8800b9c7000);
    CHECK_EQ(s->limit, 0xfffff8800b9c1000);
    CHECK(s->has_init);
    CHECK_EQ(s->init, 0xfffff8800b9c6c70);
    CHECK(s->has_fault_sp);
    CHECK_EQ(s->fault_sp, 0xfffff8800b9c0f10); /* .trap rsp= */
    check_frame(&s->frames[0], 0xfffff88002174768, "nt", "KeBugCheckEx", 0);
    check_frame(&s->frames[3], 0xfffff8800b9c0f10, "ql2300", "", 0x69416);
    check_frame(&s->frames[25], 0xfffff8800b9c1b90, "CLASSPNP", "?? ::FNODOBFM::string'", 0x4bb3);
    check_frame(&s->frames[74], 0xfffff8800b9c3190, "rosempio", "DsmWriteEvent", 0x221d9);
    CHECK_EQ(s->frames[74].ret, 0xfffff88000c41e13);
    CHECK(s->frames[2].flags & BREAKDOWN_FRAME_TRAP); /* "(TrapFrame @" of the !thread copy */
    CHECK_EQ(s->frames[3].memory, 0x984c660);         /* from the kf table */
    CHECK_EQ(s->frames[4].memory, 0x140);
    stack_text_free(st);
}

/* Seed 001: 59 frames flattened onto one line, the last glued to prose. */
static void test_seed001(void)
{
    struct stack_text *st = parse_seed(SEED_001);
    if (!st)
        return;
    CHECK_EQ(st->count, 1);
    const struct stack_text_stack *s = &st->stacks[0];
    CHECK_EQ(s->count, 59);
    CHECK_EQ(s->first_line, 13);
    CHECK_EQ(s->last_line, 13);
    CHECK(!s->has_bounds);
    check_frame(&s->frames[0], 0xfffffe8a6b2fb060, "nt", "ExExpandEnvironmentStrings", 0x16bb10);
    check_frame(&s->frames[42], 0xfffffe8a6b2fd628, "nt", "KiServiceLinkage", 0);
    check_frame(&s->frames[58], 0xfffffe8a6b2fead0, "nt", "KiSystemServiceCopyEnd", 0x43);
    CHECK_EQ(s->frames[58].ret, 0xfffff80535ae7fe0);
    stack_text_free(st);
}

/* Seed 002: kf from a blog (no-break spaces); the 3-line excerpt repeats it. */
static void test_seed002(void)
{
    struct stack_text *st = parse_seed(SEED_002);
    if (!st)
        return;
    CHECK_EQ(st->count, 1);
    const struct stack_text_stack *s = &st->stacks[0];
    CHECK_EQ(s->count, 118);
    CHECK_EQ(s->ptr_size, 4);
    CHECK_EQ(s->first_line, 136);
    CHECK_EQ(s->dup_count, 1);
    CHECK_EQ(s->dup_lines[0], 400);
    CHECK(s->has_bounds);
    CHECK_EQ(s->base, 0xb8ae9000);
    CHECK_EQ(s->limit, 0xb8ae6000);
    CHECK(!(s->frames[0].flags & BREAKDOWN_FRAME_MEMORY));
    CHECK_EQ(s->frames[1].memory, 0x28);
    CHECK_EQ(s->frames[0x50].memory, 0x2c4); /* MamaHog+0x422a */
    CHECK_STR(s->frames[0x50].module, "MamaHog");
    CHECK(!(s->frames[2].flags & BREAKDOWN_FRAME_SCANNED));
    CHECK(s->frames[3].flags & BREAKDOWN_FRAME_SCANNED);
    check_frame(&s->frames[117], 0x0335e534, "", "", 0x7c8285ec);
    CHECK_STR(s->frames[0x3f].function, "DEVICEDISPATCH::LowerDevicePassThrough");
    stack_text_free(st);
}

/* Seed 003: kb (74 frames) and the kcf in the comments (22, no SPs). */
static void test_seed003(void)
{
    struct stack_text *st = parse_seed(SEED_003);
    if (!st)
        return;
    CHECK_EQ(st->count, 2);
    if (st->count != 2)
        goto out;
    const struct stack_text_stack *a = &st->stacks[0], *b = &st->stacks[1];
    CHECK_EQ(a->count, 74);
    CHECK_EQ(a->ptr_size, 4);
    CHECK_EQ(a->base, 0xb8cba000);
    CHECK_EQ(a->limit, 0xb8cb7000);
    CHECK_EQ(a->fault_sp, 0xb8cb7000); /* .tss esp=, not the .trap esp=b8cb8694 */
    check_frame(&a->frames[0], 0xb8cb7010, "Ntfs", "NtfsInitializeIrpContext", 0xc);
    check_frame(&a->frames[0x29], 0xb8cb8894, "Ntfs", "NtfsUpdateFileNameInIndex", 0x62);
    CHECK_EQ(b->count, 22);
    CHECK(!b->has_bounds);
    CHECK(b->frames[0].flags & BREAKDOWN_FRAME_NO_SP);
    CHECK(!(b->frames[0].flags & BREAKDOWN_FRAME_MEMORY));
    CHECK_EQ(b->frames[17].memory, 0x310);
    check_frame(&b->frames[17], 0, "ClusDisk", "ClusDskpHaltProcessignWorker", 0);
    check_frame(&b->frames[21], 0, "nt", "KxStartSystemThread", 0);
out:
    stack_text_free(st);
}

/* Seed 004: k and kv of one stack, dds lines around them. */
static void test_seed004(void)
{
    struct stack_text *st = parse_seed(SEED_004);
    if (!st)
        return;
    CHECK_EQ(st->count, 1);
    const struct stack_text_stack *s = &st->stacks[0];
    CHECK_EQ(s->count, 5);
    CHECK_EQ(s->dup_count, 1);
    CHECK_EQ(s->base, 0xb1a16df0);
    CHECK_EQ(s->fault_sp, 0xb1a16ce8);
    CHECK(s->frames[3].flags & BREAKDOWN_FRAME_TRAP); /* from the kv copy */
    stack_text_free(st);
}

int main(void)
{
    RUN(test_x64_kfn);
    RUN(test_x64_kv_args);
    RUN(test_x86_kv);
    RUN(test_kp_and_names);
    RUN(test_headerless_columns);
    RUN(test_flattened_and_table);
    RUN(test_kc);
    RUN(test_repeats_and_dumps);
    RUN(test_bounds_and_registers);
    RUN(test_garbage);
    RUN(test_too_many_frames);
    RUN(test_seed000);
    RUN(test_seed001);
    RUN(test_seed002);
    RUN(test_seed003);
    RUN(test_seed004);
    return check_summary("test_stack_text");
}
