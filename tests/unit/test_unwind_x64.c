/* test_unwind_x64.c: one virtual unwind per case (unwind_x64_step) with
 * UNWIND_INFO bytes written by hand: every UWOP code, partial prologs,
 * chained and indirect entries, epilogs, malformed data. Walks are in
 * test_unwind_x64_walk.c. */
#include "check.h"
#include "fake_target.c"
#include "unwind_fixture.h"
#include "unwind_x64.h"

#define MB 0xFFFFF80000100000ull /* module base */
#define SL 0xFFFFD00000010000ull /* stack limit */
#define SB 0xFFFFD00000050000ull /* stack base */
#define S (SL + 0x1000)          /* RSP in the function body */
#define F 0x1000u                /* the function under test: [F, F + 0x100) */
#define INFO 0x18000u
#define RET (MB + 0x2345)
#define RSP UNWIND_X64_RSP

static struct fx X;

static void setup(void)
{
    fx_init(&X);
    fx_module(&X, MB, 0x20000, 0x1000, 0x10000);
    fake_target_map(X.ft, SL, SB - SL);
    unwind_params_add_stack(&X.p, SL, SB);
}

/* Unwinds one frame of F at pc_off with RSP = rsp. */
static int step(const uint8_t *info, size_t len, uint64_t rsp, uint32_t pc_off,
                struct unwind_x64_regs *r, uint32_t *flags)
{
    if (info)
        fx_func(&X, MB, F, F + 0x100, INFO, info, len);
    memset(r, 0, sizeof *r);
    r->gpr[RSP] = rsp;
    r->rip = MB + F + pc_off;
    r->known = 1u << RSP;
    return unwind_x64_step(&X.p, 1, r, flags);
}

static void test_push_nonvol(void)
{
    /* push rbx @1, push rbp @2, push r12 @4: codes in reverse order. */
    static const uint8_t info[] = {0x01, 0x04, 0x03, 0x00, 0x04, 0xC0, 0x02, 0x50, 0x01, 0x30};
    struct unwind_x64_regs r;
    uint32_t fl;
    setup();
    fx_put(&X, S, 0x1212);
    fx_put(&X, S + 8, 0x5555);
    fx_put(&X, S + 16, 0x3333);
    fx_put(&X, S + 24, RET);
    CHECK_EQ(step(info, sizeof info, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.rip, RET);
    CHECK_EQ(r.gpr[RSP], S + 32);
    CHECK_EQ(r.gpr[UNWIND_X64_R12], 0x1212);
    CHECK_EQ(r.gpr[UNWIND_X64_RBP], 0x5555);
    CHECK_EQ(r.gpr[UNWIND_X64_RBX], 0x3333);
    CHECK_EQ(r.known, (1u << 12) | (1u << 5) | (1u << 3) | (1u << RSP));
    CHECK_EQ(fl, UNWIND_FRAME_UNWOUND);
    fx_fini(&X);
}

/* Fixed-size frames: only RSP moves; the return address sits at RSP + size. */
static void check_alloc(const uint8_t *info, size_t len, uint64_t size)
{
    struct unwind_x64_regs r;
    uint32_t fl;
    setup();
    fx_put(&X, S + size, RET);
    CHECK_EQ(step(info, len, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.rip, RET);
    CHECK_EQ(r.gpr[RSP], S + size + 8);
    fx_fini(&X);
}

static void test_alloc(void)
{
    static const uint8_t large0[] = {0x01, 0x07, 0x02, 0x00, 0x07, 0x01, 0x00, 0x02};
    static const uint8_t large1[] = {0x01, 0x0B, 0x03, 0x00, 0x0B, 0x11, 0x48, 0x23, 0x01, 0x00};
    static const uint8_t small[] = {0x01, 0x04, 0x01, 0x00, 0x04, 0xF2};
    static const uint8_t small_min[] = {0x01, 0x04, 0x01, 0x00, 0x04, 0x02};
    check_alloc(large0, sizeof large0, 0x200 * 8); /* OpInfo 0: u16 scaled by 8 */
    check_alloc(large1, sizeof large1, 0x12348);   /* OpInfo 1: u32 unscaled */
    check_alloc(small, sizeof small, 0x80);        /* OpInfo 15: 15 * 8 + 8 */
    check_alloc(small_min, sizeof small_min, 0x8);
}

static void test_set_fpreg(void)
{
    /* push rbp @1; sub rsp,40h @5; lea rbp,[rsp+20h] @10; FrameRegister RBP, offset 2 (0x20). */
    static const uint8_t info[] = {0x01, 0x0A, 0x03, 0x25, 0x0A, 0x03, 0x05, 0x72, 0x01, 0x50};
    struct unwind_x64_regs r;
    uint32_t fl;
    setup();
    fx_put(&X, S + 0x40, 0xB0B0);
    fx_put(&X, S + 0x48, RET);
    fx_func(&X, MB, F, F + 0x100, INFO, info, sizeof info);
    /* alloca moved RSP 0x100 below the fixed frame: only RBP finds it. */
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = S - 0x100;
    r.gpr[UNWIND_X64_RBP] = S + 0x20;
    r.known = (1u << RSP) | (1u << UNWIND_X64_RBP);
    r.rip = MB + F + 0x50;
    CHECK_EQ(unwind_x64_step(&X.p, 1, &r, &fl), KD_OK);
    CHECK_EQ(r.rip, RET);
    CHECK_EQ(r.gpr[RSP], S + 0x50);
    CHECK_EQ(r.gpr[UNWIND_X64_RBP], 0xB0B0);
    CHECK_EQ(fl, UNWIND_FRAME_UNWOUND | UNWIND_FRAME_FPREG);
    /* RBP unknown: the fixed sizes still hold when nothing moved RSP. */
    CHECK_EQ(step(NULL, 0, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.gpr[RSP], S + 0x50);
    CHECK_EQ(fl, UNWIND_FRAME_UNWOUND);
    /* Inside the prolog before the lea: RBP is not the frame yet. */
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = S;
    r.gpr[UNWIND_X64_RBP] = 0xDEAD;
    r.known = (1u << RSP) | (1u << UNWIND_X64_RBP);
    r.rip = MB + F + 5; /* after sub, before lea */
    CHECK_EQ(unwind_x64_step(&X.p, 1, &r, &fl), KD_OK);
    CHECK_EQ(r.gpr[RSP], S + 0x50);
    CHECK_EQ(r.gpr[UNWIND_X64_RBP], 0xB0B0);
    fx_fini(&X);
}

static void test_save_nonvol(void)
{
    /* sub rsp,28h @4; mov [rsp+30h],rbx @9 (into the caller's home area). */
    static const uint8_t near_[] = {0x01, 0x09, 0x03, 0x00, 0x09, 0x34, 0x06, 0x00, 0x04, 0x42};
    /* mov [rsp+40h],rdi as SAVE_NONVOL_FAR (u32 unscaled). */
    static const uint8_t far_[] = {0x01, 0x0C, 0x04, 0x00, 0x0C, 0x75,
                                   0x40, 0x00, 0x00, 0x00, 0x04, 0x42};
    struct unwind_x64_regs r;
    uint32_t fl;
    setup();
    fx_put(&X, S + 0x28, RET);
    fx_put(&X, S + 0x30, 0xB8B8);
    fx_put(&X, S + 0x40, 0xD1D1);
    CHECK_EQ(step(near_, sizeof near_, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.gpr[UNWIND_X64_RBX], 0xB8B8);
    CHECK_EQ(r.gpr[RSP], S + 0x30); /* saves add nothing to the frame */
    CHECK_EQ(r.rip, RET);
    fx_fini(&X);
    setup();
    fx_put(&X, S + 0x28, RET);
    fx_put(&X, S + 0x40, 0xD1D1);
    CHECK_EQ(step(far_, sizeof far_, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.gpr[UNWIND_X64_RDI], 0xD1D1);
    CHECK_EQ(r.gpr[RSP], S + 0x30);
    fx_fini(&X);
}

static void test_save_xmm(void)
{
    /* sub rsp,48h; movaps [rsp+20h],xmm6 (u16 scaled by 16); xmm7 far at +30h. */
    static const uint8_t x128[] = {0x01, 0x0E, 0x03, 0x00, 0x0E, 0x68, 0x02, 0x00, 0x04, 0x82};
    static const uint8_t x128f[] = {0x01, 0x0E, 0x04, 0x00, 0x0E, 0x79,
                                    0x30, 0x00, 0x00, 0x00, 0x04, 0x82};
    /* Version 1 SAVE_XMM (2 slots, u16 scaled by 8) and SAVE_XMM_FAR (3 slots). */
    static const uint8_t v1[] = {0x01, 0x0E, 0x03, 0x00, 0x0E, 0x66, 0x04, 0x00, 0x04, 0x82};
    static const uint8_t v1f[] = {0x01, 0x0E, 0x04, 0x00, 0x0E, 0x77,
                                  0x38, 0x00, 0x00, 0x00, 0x04, 0x82};
    struct unwind_x64_regs r;
    uint32_t fl;
    setup();
    fx_put(&X, S + 0x20, 0x1111);
    fx_put(&X, S + 0x28, 0x2222);
    fx_put(&X, S + 0x30, 0x3333);
    fx_put(&X, S + 0x38, 0x4444);
    fx_put(&X, S + 0x48, RET);
    CHECK_EQ(step(x128, sizeof x128, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.xmm[6][0], 0x1111);
    CHECK_EQ(r.xmm[6][1], 0x2222);
    CHECK_EQ(r.xmm_known, 1u << 6);
    CHECK_EQ(r.gpr[RSP], S + 0x50);
    X.nfuncs = 0;
    CHECK_EQ(step(x128f, sizeof x128f, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.xmm[7][0], 0x3333);
    CHECK_EQ(r.xmm[7][1], 0x4444);
    CHECK_EQ(r.gpr[RSP], S + 0x50);
    X.nfuncs = 0;
    CHECK_EQ(step(v1, sizeof v1, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.xmm[6][0], 0x1111);
    CHECK_EQ(r.xmm[6][1], 0);
    CHECK_EQ(r.gpr[RSP], S + 0x50);
    X.nfuncs = 0;
    CHECK_EQ(step(v1f, sizeof v1f, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.xmm[7][0], 0x4444);
    CHECK_EQ(r.gpr[RSP], S + 0x50);
    fx_fini(&X);
}

static void test_v2_epilog_codes(void)
{
    /* llvm-mc's encodings: EPILOG codes first, padded to an even count. */
    static const uint8_t one[] = {0x02, 0x04, 0x03, 0x00, 0x01, 0x16, 0x00, 0x06, 0x04, 0x42};
    static const uint8_t three[] = {0x02, 0x04, 0x05, 0x00, 0x01, 0x06, 0x05,
                                    0x06, 0x0F, 0x06, 0x00, 0x06, 0x04, 0x42};
    static const uint8_t odd[] = {0x02, 0x04, 0x03, 0x00, 0x01, 0x16, 0x0B, 0x06, 0x04, 0x42};
    static const uint8_t spare[] = {0x02, 0x04, 0x04, 0x00, 0x00, 0x07,
                                    0x00, 0x00, 0x00, 0x00, 0x04, 0x42};
    check_alloc(one, sizeof one, 0x28);
    check_alloc(three, sizeof three, 0x28);
    check_alloc(odd, sizeof odd, 0x28);
    check_alloc(spare, sizeof spare, 0x28);
}

static void test_push_machframe(void)
{
    static const uint8_t mf0[] = {0x01, 0x00, 0x01, 0x00, 0x00, 0x0A};
    static const uint8_t mf1[] = {0x01, 0x00, 0x01, 0x00, 0x00, 0x1A};
    /* A trap handler: machine frame with error code @0, push rbp @1, sub rsp,40h @8. */
    static const uint8_t trap[] = {0x01, 0x08, 0x03, 0x00, 0x08, 0x72, 0x01, 0x50, 0x00, 0x1A};
    const uint64_t other = SL + 0x8000;
    struct unwind_x64_regs r;
    uint32_t fl;
    setup();
    fx_put(&X, S, RET); /* RIP, CS, RFLAGS, RSP, SS */
    fx_put(&X, S + 8, 0x10);
    fx_put(&X, S + 0x18, other);
    CHECK_EQ(step(mf0, sizeof mf0, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.rip, RET);
    CHECK_EQ(r.gpr[RSP], other);
    CHECK_EQ(fl, UNWIND_FRAME_UNWOUND | UNWIND_FRAME_MACHINE);
    fx_fini(&X);
    setup();
    fx_put(&X, S + 8, RET); /* error code first */
    fx_put(&X, S + 0x10, 0x10);
    fx_put(&X, S + 0x20, other);
    CHECK_EQ(step(mf1, sizeof mf1, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.rip, RET);
    CHECK_EQ(r.gpr[RSP], other);
    /* At the handler's first instruction only the machine frame is in effect. */
    X.nfuncs = 0;
    CHECK_EQ(step(trap, sizeof trap, S, 0, &r, &fl), KD_OK);
    CHECK_EQ(r.rip, RET);
    CHECK_EQ(r.gpr[RSP], other);
    fx_fini(&X);
    setup();
    fx_put(&X, S + 0x40, 0xBBBB);
    fx_put(&X, S + 0x50, RET);
    fx_put(&X, S + 0x58, 0x10);
    fx_put(&X, S + 0x68, other);
    CHECK_EQ(step(trap, sizeof trap, S, 0x50, &r, &fl), KD_OK);
    CHECK_EQ(r.rip, RET);
    CHECK_EQ(r.gpr[RSP], other);
    CHECK_EQ(r.gpr[UNWIND_X64_RBP], 0xBBBB);
    fx_fini(&X);
}

static void test_partial_prolog(void)
{
    /* push rbx @1, push rsi @2, sub rsp,20h @6 (prolog 6 bytes). */
    static const uint8_t info[] = {0x01, 0x06, 0x03, 0x00, 0x06, 0x32, 0x02, 0x60, 0x01, 0x30};
    static const struct {
        uint32_t off, size;
    } cases[] = {{0, 0}, {1, 8}, {2, 16}, {5, 16}, {6, 0x30}, {0x40, 0x30}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct unwind_x64_regs r;
        uint32_t fl;
        setup();
        fx_put(&X, S + cases[i].size, RET);
        CHECK_EQ(step(info, sizeof info, S, cases[i].off, &r, &fl), KD_OK);
        CHECK_EQ(r.rip, RET);
        CHECK_EQ(r.gpr[RSP] - S, cases[i].size + 8);
        fx_fini(&X);
    }
}

static void test_chained(void)
{
    /* Parent [0x1000, 0x1100): push rbx @1, sub rsp,20h @5. */
    static const uint8_t parent[] = {0x01, 0x05, 0x02, 0x00, 0x05, 0x32, 0x01, 0x30};
    /* Fragment [0x3000, 0x3040): no codes, CHAININFO to the parent. */
    static const uint8_t frag[] = {0x21, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
                                   0x00, 0x11, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00};
    /* A fragment with one code of its own (push r12), padded to an even slot count. */
    static const uint8_t own[] = {0x21, 0x00, 0x01, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x10,
                                  0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00};
    /* A fragment chained to itself. */
    static const uint8_t loop[] = {0x21, 0x00, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00,
                                   0x40, 0x50, 0x00, 0x00, 0x00, 0x83, 0x01, 0x00};
    static const uint8_t indirect[] = {0x00, 0x10, 0x00, 0x00, 0x00, 0x11,
                                       0x00, 0x00, 0x00, 0x80, 0x01, 0x00};
    struct unwind_x64_regs r;
    uint32_t fl;
    setup();
    fx_func(&X, MB, 0x1000, 0x1100, 0x18000, parent, sizeof parent);
    fx_func(&X, MB, 0x3000, 0x3040, 0x18100, frag, sizeof frag);
    fx_func(&X, MB, 0x4000, 0x4040, 0x18200, own, sizeof own);
    fx_func(&X, MB, 0x5000, 0x5040, 0x18300, loop, sizeof loop);
    fx_func(&X, MB, 0x6000, 0x6040, 0x18401, NULL, 0);
    fake_target_write(X.ft, MB + 0x18400, indirect, sizeof indirect);
    fx_put(&X, S, 0xC12C12);
    fx_put(&X, S + 0x20, 0xB0B);
    fx_put(&X, S + 0x28, RET);
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = S;
    r.rip = MB + 0x3010;
    CHECK_EQ(unwind_x64_step(&X.p, 1, &r, &fl), KD_OK);
    CHECK_EQ(r.gpr[RSP], S + 0x30); /* the parent's whole prolog applies */
    CHECK_EQ(r.rip, RET);
    CHECK_EQ(r.gpr[UNWIND_X64_RBX], 0xB0B);
    fx_put(&X, S + 0x28, 0xB0B);
    fx_put(&X, S + 0x30, RET);
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = S;
    r.rip = MB + 0x4010;
    CHECK_EQ(unwind_x64_step(&X.p, 1, &r, &fl), KD_OK);
    CHECK_EQ(r.gpr[RSP], S + 0x38);
    CHECK_EQ(r.gpr[UNWIND_X64_R12], 0xC12C12);
    CHECK_EQ(r.gpr[UNWIND_X64_RBX], 0xB0B);
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = S;
    r.rip = MB + 0x5010;
    CHECK_EQ(unwind_x64_step(&X.p, 1, &r, &fl), KD_ERR_FORMAT);
    CHECK_EQ(r.rip, MB + 0x5010); /* unchanged on error */
    /* Indirect entry (bit 0): the named RUNTIME_FUNCTION is the parent. */
    fx_put(&X, S + 0x28, RET);
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = S;
    r.rip = MB + 0x6010;
    CHECK_EQ(unwind_x64_step(&X.p, 1, &r, &fl), KD_OK);
    CHECK_EQ(r.gpr[RSP], S + 0x30);
    CHECK_EQ(r.rip, RET);
    fx_fini(&X);
}

static void test_epilog(void)
{
    /* push rbx @1, sub rsp,28h @5; body; at +0x20: add rsp,28h; pop rbx; ret;
     * at +0x30: add rsp,28h; pop rbx; jmp rel32 out of the function. */
    static const uint8_t info[] = {0x01, 0x05, 0x02, 0x00, 0x05, 0x42, 0x01, 0x30};
    static const uint8_t ep1[] = {0x48, 0x83, 0xC4, 0x28, 0x5B, 0xC3};
    static const uint8_t ep2[] = {0x48, 0x83, 0xC4, 0x28, 0x5B, 0xE9, 0x00, 0x10, 0x00, 0x00};
    struct unwind_x64_regs r;
    uint32_t fl;
    setup();
    fake_target_write(X.ft, MB + F + 0x20, ep1, sizeof ep1);
    fake_target_write(X.ft, MB + F + 0x30, ep2, sizeof ep2);
    fx_put(&X, S, 0xB1);
    fx_put(&X, S + 8, RET);
    fx_put(&X, S + 0x28, 0xB2);
    fx_put(&X, S + 0x30, RET);
    CHECK_EQ(step(info, sizeof info, S, 0x20, &r, &fl), KD_OK); /* at add: same either way */
    CHECK_EQ(r.gpr[RSP], S + 0x38);
    CHECK_EQ(r.gpr[UNWIND_X64_RBX], 0xB2);
    CHECK_EQ(fl, UNWIND_FRAME_EPILOG);
    CHECK_EQ(step(NULL, 0, S, 0x24, &r, &fl), KD_OK); /* at pop rbx */
    CHECK_EQ(r.gpr[RSP], S + 0x10);
    CHECK_EQ(r.gpr[UNWIND_X64_RBX], 0xB1);
    CHECK_EQ(r.rip, RET);
    CHECK_EQ(step(NULL, 0, S, 0x34, &r, &fl), KD_OK); /* pop rbx; jmp away */
    CHECK_EQ(r.gpr[RSP], S + 0x10);
    CHECK_EQ(fl, UNWIND_FRAME_EPILOG);
    fx_put(&X, S, RET);
    CHECK_EQ(step(NULL, 0, S, 0x25, &r, &fl), KD_OK); /* at ret */
    CHECK_EQ(r.gpr[RSP], S + 8);
    /* A return address (not exact) is never taken for an epilog. */
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = S;
    r.rip = MB + F + 0x24;
    CHECK_EQ(unwind_x64_step(&X.p, 0, &r, &fl), KD_OK);
    CHECK_EQ(r.gpr[RSP], S + 0x38);
    CHECK_EQ(fl, UNWIND_FRAME_UNWOUND);
    fx_fini(&X);
}

static void test_lea_epilog(void)
{
    /* Frame pointer RBP (offset 0): at the epilog lea rsp,[rbp-10h]; pop rbp; ret. */
    static const uint8_t info[] = {0x01, 0x04, 0x02, 0x05, 0x04, 0x03, 0x01, 0x50};
    static const uint8_t ep[] = {0x48, 0x8D, 0x65, 0xF0, 0x5D, 0xC3};
    struct unwind_x64_regs r;
    uint32_t fl;
    setup();
    fx_func(&X, MB, F, F + 0x100, INFO, info, sizeof info);
    fake_target_write(X.ft, MB + F + 0x40, ep, sizeof ep);
    fx_put(&X, S, 0xBEEF);
    fx_put(&X, S + 8, RET);
    memset(&r, 0, sizeof r);
    r.gpr[RSP] = S - 0x80;
    r.gpr[UNWIND_X64_RBP] = S + 0x10;
    r.known = (1u << RSP) | (1u << UNWIND_X64_RBP);
    r.rip = MB + F + 0x40;
    CHECK_EQ(unwind_x64_step(&X.p, 1, &r, &fl), KD_OK);
    CHECK_EQ(fl, UNWIND_FRAME_EPILOG);
    CHECK_EQ(r.gpr[UNWIND_X64_RBP], 0xBEEF);
    CHECK_EQ(r.gpr[RSP], S + 0x10);
    CHECK_EQ(r.rip, RET);
    fx_fini(&X);
}

static void test_malformed(void)
{
    static const uint8_t bad_op[] = {0x01, 0x00, 0x01, 0x00, 0x00, 0x0B};
    static const uint8_t short_large[] = {0x01, 0x00, 0x01, 0x00, 0x00, 0x01};
    static const uint8_t bad_large[] = {0x01, 0x00, 0x02, 0x00, 0x00, 0x21, 0x00, 0x00};
    static const uint8_t bad_version[] = {0x03, 0x00, 0x01, 0x00, 0x00, 0x02};
    static const uint8_t bad_mf[] = {0x01, 0x00, 0x01, 0x00, 0x00, 0x2A};
    static const uint8_t no_freg[] = {0x01, 0x00, 0x01, 0x00, 0x00, 0x03};
    const struct {
        const uint8_t *b;
        size_t n;
    } v[] = {{bad_op, sizeof bad_op},       {short_large, sizeof short_large},
             {bad_large, sizeof bad_large}, {bad_version, sizeof bad_version},
             {bad_mf, sizeof bad_mf},       {no_freg, sizeof no_freg}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct unwind_x64_regs r;
        uint32_t fl;
        setup();
        fx_put(&X, S + 8, RET);
        CHECK_EQ(step(v[i].b, v[i].n, S, 0x50, &r, &fl), KD_ERR_FORMAT);
        CHECK_EQ(r.gpr[RSP], S);
        fx_fini(&X);
    }
    /* Unwind info outside readable memory: malformed as far as we can tell. */
    struct unwind_x64_regs r;
    uint32_t fl;
    setup();
    fx_func(&X, MB, F, F + 0x100, 0x7FFF0000, NULL, 0);
    CHECK_EQ(step(NULL, 0, S, 0x50, &r, &fl), KD_ERR_FORMAT);
    /* A stack that cannot be read. */
    X.nfuncs = 0;
    CHECK_EQ(step(NULL, 0, SB + 0x100000, 0x50, &r, &fl), KD_ERR_TARGET);
    fx_fini(&X);
}

static void test_regs_from_context(void)
{
    uint8_t ctx[UNWIND_X64_CONTEXT_SIZE] = {0};
    struct unwind_x64_regs r;
    for (int i = 0; i < 16; i++)
        kd_put64(ctx + 0x78 + 8 * i, 0x1000u + (unsigned)i);
    kd_put64(ctx + 0xF8, 0xFFFFF80012345678ull);
    CHECK_EQ(unwind_x64_regs_from_context(ctx, sizeof ctx, &r), KD_OK);
    CHECK_EQ(r.gpr[UNWIND_X64_RAX], 0x1000);
    CHECK_EQ(r.gpr[RSP], 0x1004); /* Rsp at 0x98 */
    CHECK_EQ(r.gpr[UNWIND_X64_R15], 0x100F);
    CHECK_EQ(r.rip, 0xFFFFF80012345678ull);
    CHECK_EQ(r.known, 0xFFFF);
    CHECK_EQ(unwind_x64_regs_from_context(ctx, 0xFF, &r), KD_ERR_TRUNCATED);
}

int main(void)
{
    RUN(test_push_nonvol);
    RUN(test_alloc);
    RUN(test_set_fpreg);
    RUN(test_save_nonvol);
    RUN(test_save_xmm);
    RUN(test_v2_epilog_codes);
    RUN(test_push_machframe);
    RUN(test_partial_prolog);
    RUN(test_chained);
    RUN(test_epilog);
    RUN(test_lea_epilog);
    RUN(test_malformed);
    RUN(test_regs_from_context);
    return check_summary("test_unwind_x64");
}
