/* test_unwind_x64_walk.c: whole walks: the fact sheet's worked example
 * (kd-protocol.md §8.3), leaf frames, a marked scan, a machine frame that
 * switches stacks, and corrupted stacks that must end with a reason. */
#include "check.h"
#include "fake_target.c"
#include "unwind_fixture.h"
#include "unwind_x64.h"

#define MB 0xFFFFF80000100000ull
#define SL 0xFFFFD00000010000ull
#define SB 0xFFFFD00000016000ull /* a 24 KiB thread stack */
#define IL 0xFFFFD00000100000ull /* IST stack */
#define IB 0xFFFFD00000102000ull
#define S (SL + 0x1000)
#define RSP UNWIND_X64_RSP

static struct fx X;
static struct unwind_trace T;

/* Functions: A [0x1000,0x1100) sub rsp,28h; R [0x7000,0x7100) sub rsp,18h;
 * H [0x6000,0x6100) a trap handler (machine frame with error code, push rbp,
 * sub rsp,40h); G [0x6200,0x6300) a bare machine frame; V [0x6400,0x6500)
 * version 3 (malformed); P [0x6600,0x6700) frame pointer RBP. Leaves (no
 * .pdata) live at 0x5000. */
static const uint8_t info_a[] = {0x01, 0x04, 0x01, 0x00, 0x04, 0x42};
static const uint8_t info_r[] = {0x01, 0x04, 0x01, 0x00, 0x04, 0x22};
static const uint8_t info_h[] = {0x01, 0x08, 0x03, 0x00, 0x08, 0x72, 0x01, 0x50, 0x00, 0x1A};
static const uint8_t info_g[] = {0x01, 0x00, 0x01, 0x00, 0x00, 0x0A};
static const uint8_t info_v[] = {0x03, 0x00, 0x00, 0x00};
static const uint8_t info_p[] = {0x01, 0x04, 0x02, 0x05, 0x04, 0x03, 0x01, 0x50};

static void setup(void)
{
    fx_init(&X);
    fx_module(&X, MB, 0x20000, 0x1000, 0x10000);
    fake_target_map(X.ft, SL, SB - SL);
    fake_target_map(X.ft, IL, IB - IL);
    unwind_params_add_stack(&X.p, SL, SB);
    unwind_params_add_stack(&X.p, IL, IB);
    fx_func(&X, MB, 0x1000, 0x1100, 0x18000, info_a, sizeof info_a);
    fx_func(&X, MB, 0x7000, 0x7100, 0x18040, info_r, sizeof info_r);
    fx_func(&X, MB, 0x6000, 0x6100, 0x18080, info_h, sizeof info_h);
    fx_func(&X, MB, 0x6200, 0x6300, 0x180C0, info_g, sizeof info_g);
    fx_func(&X, MB, 0x6400, 0x6500, 0x18100, info_v, sizeof info_v);
    fx_func(&X, MB, 0x6600, 0x6700, 0x18140, info_p, sizeof info_p);
    unwind_trace_init(&T, 0);
}

static void teardown(void)
{
    unwind_trace_fini(&T);
    fx_fini(&X);
}

static int walk(uint64_t rsp, uint64_t rip)
{
    struct unwind_x64_regs r;
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = rsp;
    r.rip = rip;
    return unwind_x64_walk(&X.p, &r, &T);
}

static void test_worked_example(void)
{
    /* winload.efi at 0x96f000, RIP 0x9cf07e, RSP 0x1a66f0: UNWIND_INFO
     * 01 19 0a 00, SAVE_NONVOL RDI/RSI/RBP/RBX at +58/+50/+48/+40,
     * ALLOC_SMALL 0x30, PUSH_NONVOL R14 -> fixed size 0x38. */
    static const uint8_t info[] = {0x01, 0x19, 0x0A, 0x00, 0x19, 0x74, 0x0B, 0x00,
                                   0x14, 0x64, 0x0A, 0x00, 0x0F, 0x54, 0x09, 0x00,
                                   0x0A, 0x34, 0x08, 0x00, 0x06, 0x52, 0x02, 0xE0};
    static const uint8_t caller[] = {0x01, 0x04, 0x01, 0x00, 0x04, 0x42};
    struct unwind_x64_regs r;
    uint32_t fl;
    fx_init(&X);
    unwind_trace_init(&T, 0);
    X.p.kernel_start = 0; /* boot loader addresses */
    fx_module(&X, 0x96f000, 0x17d000, 0x1000, 0x100000);
    fake_target_map(X.ft, 0x1a6000, 0x2000);
    fx_func(&X, 0x96f000, 0x5fffc, 0x6009a, 0x12b1c4, info, sizeof info);
    fx_func(&X, 0x96f000, 0x13a00, 0x13b00, 0x12b200, caller, sizeof caller);
    fx_put(&X, 0x1a6720, 0xE14E14); /* R14 */
    fx_put(&X, 0x1a6728, 0x982a59); /* return address */
    fx_put(&X, 0x1a6730, 0xB8B8B8); /* RBX .. RDI in the caller's home area */
    fx_put(&X, 0x1a6738, 0xB9B9B9);
    fx_put(&X, 0x1a6740, 0x515151);
    fx_put(&X, 0x1a6748, 0xD1D1D1);
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = 0x1a66f0;
    r.rip = 0x9cf07e;
    CHECK_EQ(unwind_x64_step(&X.p, 1, &r, &fl), KD_OK);
    CHECK_EQ(r.rip, 0x982a59);
    CHECK_EQ(r.gpr[RSP], 0x1a6730); /* the caller's Child-SP */
    CHECK_EQ(r.gpr[UNWIND_X64_R14], 0xE14E14);
    CHECK_EQ(r.gpr[UNWIND_X64_RBX], 0xB8B8B8);
    CHECK_EQ(r.gpr[UNWIND_X64_RBP], 0xB9B9B9);
    CHECK_EQ(r.gpr[UNWIND_X64_RSI], 0x515151);
    CHECK_EQ(r.gpr[UNWIND_X64_RDI], 0xD1D1D1);
    /* The walk: 0x40 bytes for the frame, then the caller's 0x30 and a zero return. */
    CHECK_EQ(walk(0x1a66f0, 0x9cf07e), KD_OK);
    CHECK_EQ(T.count, 2);
    CHECK_EQ(T.frames[0].sp, 0x1a66f0);
    CHECK_EQ(T.frames[0].ret, 0x982a59);
    CHECK_EQ(T.frames[0].size, 0x40);
    CHECK_EQ(T.frames[0].func, 0x96f000 + 0x5fffc);
    CHECK_EQ(T.frames[1].sp, 0x1a6730);
    CHECK_EQ(T.frames[1].pc, 0x982a59);
    CHECK_EQ(T.frames[1].size, 0x30);
    CHECK_EQ(T.stop, UNWIND_STOP_ZERO_RET);
    teardown();
}

static void test_leaf_then_unwound(void)
{
    setup();
    fx_put(&X, S, MB + 0x1080); /* leaf at 0x5000 returns into A */
    fx_call_before(&X, MB + 0x1080);
    fx_put(&X, S + 8 + 0x28, 0); /* A returns to 0: the chain's end */
    CHECK_EQ(walk(S, MB + 0x5000), KD_OK);
    CHECK_EQ(T.count, 2);
    CHECK_EQ(T.frames[0].flags, UNWIND_FRAME_LEAF);
    CHECK_EQ(T.frames[0].size, 8);
    CHECK_EQ(T.frames[0].func, 0);
    CHECK_EQ(T.frames[1].flags, UNWIND_FRAME_UNWOUND);
    CHECK_EQ(T.frames[1].sp, S + 8);
    CHECK_EQ(T.frames[1].size, 0x30); /* known for the last frame too */
    CHECK_EQ(T.stop, UNWIND_STOP_ZERO_RET);
    teardown();
}

static void test_scan(void)
{
    setup();
    fx_put(&X, S, 0xFFFFF80000FFFFF0ull); /* [RSP] of a "leaf": no module */
    fx_put(&X, S + 0x10, MB + 0x2000);    /* code, but not after a call */
    fx_put(&X, S + 0x28, MB + 0x1080);    /* after a call: taken */
    fx_call_before(&X, MB + 0x1080);
    fx_put(&X, S + 0x30 + 0x28, 0);
    CHECK_EQ(walk(S, MB + 0x5000), KD_OK);
    CHECK_EQ(T.count, 2);
    CHECK_EQ(T.frames[0].ret, MB + 0x1080);
    CHECK_EQ(T.frames[0].size, 0x30);
    CHECK_EQ(T.frames[0].flags, 0);
    CHECK_EQ(T.frames[1].sp, S + 0x30);
    CHECK_EQ(T.frames[1].flags, UNWIND_FRAME_SCANNED | UNWIND_FRAME_UNWOUND);
    CHECK_EQ(T.stop, UNWIND_STOP_ZERO_RET);
    /* An indirect call (FF 15 disp32) counts too. */
    static const uint8_t ff15[] = {0xFF, 0x15, 0x00, 0x10, 0x00, 0x00};
    fake_target_write(X.ft, MB + 0x2000 - 6, ff15, sizeof ff15);
    CHECK_EQ(walk(S, MB + 0x5000), KD_OK);
    CHECK_EQ(T.frames[0].ret, MB + 0x2000);
    CHECK_EQ(T.frames[1].sp, S + 0x18);
    CHECK(T.frames[1].flags & UNWIND_FRAME_SCANNED);
    teardown();
}

static void test_machine_frame_switch(void)
{
    const uint64_t ist = IB - 0x30, t = SL + 0x2000, fault = MB + 0x1050;
    setup();
    fx_put(&X, ist + 8, fault); /* error code, RIP, CS, RFLAGS, RSP, SS */
    fx_put(&X, ist + 0x10, 0x10);
    fx_put(&X, ist + 0x18, 0x10282);
    fx_put(&X, ist + 0x20, t);
    fx_put(&X, ist + 0x28, 0x18);
    fx_put(&X, t + 0x28, 0);
    CHECK_EQ(walk(ist, MB + 0x6000), KD_OK); /* at the handler's first instruction */
    CHECK_EQ(T.count, 2);
    CHECK_EQ(T.frames[0].sp, ist);
    CHECK_EQ(T.frames[0].ret, fault);
    CHECK_EQ(T.frames[0].size, 0); /* a switch is never a size */
    CHECK_EQ(T.frames[0].flags, UNWIND_FRAME_UNWOUND | UNWIND_FRAME_MACHINE | UNWIND_FRAME_SWITCH);
    CHECK_EQ(T.frames[1].sp, t);
    CHECK_EQ(T.frames[1].pc, fault);
    CHECK_EQ(T.frames[1].size, 0x30);
    CHECK_EQ(T.stop, UNWIND_STOP_ZERO_RET);
    /* The same handler interrupting user mode: CS 0x33 ends the walk. */
    fx_put(&X, ist + 8, 0x00007FF712340000ull);
    fx_put(&X, ist + 0x10, 0x33);
    fx_put(&X, ist + 0x20, 0x000000E1234FF000ull);
    CHECK_EQ(walk(ist, MB + 0x6000), KD_OK);
    CHECK_EQ(T.count, 1);
    CHECK_EQ(T.frames[0].ret, 0x00007FF712340000ull);
    CHECK(T.frames[0].flags & UNWIND_FRAME_SWITCH);
    CHECK_EQ(T.frames[0].size, 0);
    CHECK_EQ(T.stop, UNWIND_STOP_USER);
    teardown();
}

static void test_trap_frame_same_stack(void)
{
    /* A page fault taken on the same stack: the machine frame is a size. */
    const uint64_t tf = S, back = S + 0x200;
    setup();
    fx_put(&X, tf + 0x40, 0xBB);
    fx_put(&X, tf + 0x50, MB + 0x1050);
    fx_put(&X, tf + 0x58, 0x10);
    fx_put(&X, tf + 0x68, back);
    fx_put(&X, back + 0x28, 0);
    CHECK_EQ(walk(tf, MB + 0x6050), KD_OK);
    CHECK_EQ(T.count, 2);
    CHECK_EQ(T.frames[0].flags, UNWIND_FRAME_UNWOUND | UNWIND_FRAME_MACHINE);
    CHECK_EQ(T.frames[0].size, 0x200);
    CHECK_EQ(T.frames[1].sp, back);
    teardown();
}

static void test_loop(void)
{
    /* IST -> thread stack -> a machine frame pointing back into the IST part. */
    const uint64_t ist = IB - 0x30, t = SL + 0x2000;
    setup();
    fx_put(&X, ist + 8, MB + 0x6210);
    fx_put(&X, ist + 0x10, 0x10);
    fx_put(&X, ist + 0x20, t);
    fx_put(&X, t, MB + 0x6000);
    fx_put(&X, t + 8, 0x10);
    fx_put(&X, t + 0x18, ist);
    CHECK_EQ(walk(ist, MB + 0x6000), KD_OK);
    CHECK_EQ(T.count, 2);
    CHECK_EQ(T.stop, UNWIND_STOP_LOOP);
    CHECK_EQ(T.stop_addr, ist);
    teardown();
}

static void test_sp_backwards(void)
{
    struct unwind_x64_regs r;
    setup();
    /* A machine frame whose RSP points down the same stack. */
    fx_put(&X, S, MB + 0x1050);
    fx_put(&X, S + 8, 0x10);
    fx_put(&X, S + 0x18, S - 0x100);
    CHECK_EQ(walk(S, MB + 0x6210), KD_OK);
    CHECK_EQ(T.count, 1);
    CHECK_EQ(T.stop, UNWIND_STOP_SP_BACKWARDS);
    CHECK_EQ(T.stop_addr, S - 0x100);
    /* A garbage frame pointer below RSP is ignored: the fixed sizes hold. */
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = S;
    r.gpr[UNWIND_X64_RBP] = S - 0x200;
    r.known = 1u << UNWIND_X64_RBP;
    r.rip = MB + 0x6650;
    fx_put(&X, S + 8, MB + 0x1080);
    fx_put(&X, S + 0x10 + 0x28, 0);
    CHECK_EQ(unwind_x64_walk(&X.p, &r, &T), KD_OK);
    CHECK_EQ(T.count, 2);
    CHECK_EQ(T.frames[0].flags, UNWIND_FRAME_UNWOUND);
    CHECK_EQ(T.frames[0].size, 0x10);
    CHECK_EQ(T.stop, UNWIND_STOP_ZERO_RET);
    /* ... and so is one far above the stack. */
    r.gpr[UNWIND_X64_RBP] = S + 0x100000;
    CHECK_EQ(unwind_x64_walk(&X.p, &r, &T), KD_OK);
    CHECK_EQ(T.frames[0].size, 0x10);
    teardown();
}

static void test_garbage(void)
{
    setup();
    for (uint64_t a = S; a < SB; a += 8)
        fx_put(&X, a, 0x4141414141414141ull);
    CHECK_EQ(walk(S, MB + 0x5000), KD_OK);
    CHECK_EQ(T.count, 1);
    CHECK_EQ(T.stop, UNWIND_STOP_NO_CALLER);
    CHECK_EQ(T.stop_addr, 0x4141414141414141ull);
    /* Code addresses everywhere, none after a call. */
    for (uint64_t a = S; a < SB; a += 8)
        fx_put(&X, a, MB + 0x3000);
    CHECK_EQ(walk(S, MB + 0x5000), KD_OK);
    CHECK_EQ(T.stop, UNWIND_STOP_NO_CALLER);
    /* Malformed unwind data with nothing to scan for. */
    CHECK_EQ(walk(S, MB + 0x6410), KD_OK);
    CHECK_EQ(T.stop, UNWIND_STOP_BAD_INFO);
    CHECK_EQ(T.stop_status, KD_ERR_FORMAT);
    /* ... and with a return address to find. */
    fx_put(&X, S + 0x40, MB + 0x1080);
    fx_call_before(&X, MB + 0x1080);
    fx_put(&X, S + 0x48 + 0x28, 0);
    CHECK_EQ(walk(S, MB + 0x6410), KD_OK);
    CHECK_EQ(T.count, 2);
    CHECK_EQ(T.frames[1].flags, UNWIND_FRAME_SCANNED | UNWIND_FRAME_UNWOUND);
    teardown();
}

static void test_unreadable(void)
{
    setup();
    CHECK_EQ(walk(SB + 0x100000, MB + 0x5000), KD_OK);
    CHECK_EQ(T.count, 1);
    CHECK_EQ(T.stop, UNWIND_STOP_READ);
    CHECK_EQ(T.stop_addr, SB + 0x100000);
    /* The return slot of a framed function on an unreadable page. */
    fake_target_fail_at(X.ft, S + 0x28);
    CHECK_EQ(walk(S, MB + 0x1010), KD_OK);
    CHECK_EQ(T.stop, UNWIND_STOP_READ);
    CHECK_EQ(T.stop_addr, S + 0x28);
    teardown();
}

static void test_limits(void)
{
    setup();
    /* R calls itself: every 0x20 bytes a return address into R. */
    for (uint64_t a = S + 0x18; a + 8 <= SB; a += 0x20)
        fx_put(&X, a, MB + 0x7040);
    X.p.max_frames = 10;
    CHECK_EQ(walk(S, MB + 0x7010), KD_OK);
    CHECK_EQ(T.count, 10);
    CHECK_EQ(T.stop, UNWIND_STOP_MAX_FRAMES);
    for (uint32_t i = 0; i < T.count; i++)
        CHECK_EQ(T.frames[i].size, 0x20);
    /* Without a frame limit it runs into the stack base. */
    X.p.max_frames = 0;
    CHECK_EQ(walk(S, MB + 0x7010), KD_OK);
    CHECK_EQ(T.count, (SB - S) / 0x20);
    CHECK_EQ(T.stop, UNWIND_STOP_BASE);
    /* A trace smaller than the walk. */
    struct unwind_trace small;
    CHECK_EQ(unwind_trace_init(&small, 3), KD_OK);
    CHECK_EQ(
        unwind_x64_walk(&X.p, &(struct unwind_x64_regs){.gpr[RSP] = S, .rip = MB + 0x7010}, &small),
        KD_OK);
    CHECK_EQ(small.count, 3);
    CHECK_EQ(small.stop, UNWIND_STOP_MAX_FRAMES);
    unwind_trace_fini(&small);
    /* A read budget. */
    X.p.max_reads = 1;
    CHECK_EQ(walk(S, MB + 0x7010), KD_OK);
    CHECK_EQ(T.stop, UNWIND_STOP_BUDGET);
    CHECK(T.reads <= 1);
    teardown();
}

static void test_args(void)
{
    struct unwind_trace t;
    CHECK_EQ(unwind_trace_init(&t, UNWIND_MAX_FRAMES + 1), KD_ERR_ARG);
    unwind_trace_fini(&t);
    unwind_trace_fini(NULL);
    setup();
    CHECK_EQ(unwind_x64_walk(NULL, NULL, &T), KD_ERR_ARG);
    /* No module knowledge at all: the leaf rule only, stopping at zero. */
    X.p.lookup = NULL;
    fx_put(&X, S, MB + 0x1080);
    fx_put(&X, S + 8, 0);
    CHECK_EQ(walk(S, MB + 0x5000), KD_OK);
    CHECK_EQ(T.count, 2);
    CHECK_EQ(T.stop, UNWIND_STOP_ZERO_RET);
    for (int s = UNWIND_STOP_NONE; s <= UNWIND_STOP_BUDGET; s++)
        CHECK(strcmp(unwind_stop_str((enum unwind_stop)s), "unknown") != 0);
    teardown();
}

int main(void)
{
    RUN(test_worked_example);
    RUN(test_leaf_then_unwound);
    RUN(test_scan);
    RUN(test_machine_frame_switch);
    RUN(test_trap_frame_same_stack);
    RUN(test_loop);
    RUN(test_sp_backwards);
    RUN(test_garbage);
    RUN(test_unreadable);
    RUN(test_limits);
    RUN(test_args);
    return check_summary("test_unwind_x64_walk");
}
