/* test_crash.c: the three crash stops of an x64 double fault on a fake
 * target laid out like seed 000 (a driver overflows its 24 KiB stack into
 * the guard page, KiDoubleFaultAbort runs on IST1, KiBugCheckDispatch calls
 * KeBugCheckEx, the kernel breaks in with KiBugcheckData filled). */
#include "check.h"
#include "crash.h"
#include "fake_target.c"
#include "unwind_fixture.h"
#include "unwind_x64.h"

#define NT 0xFFFFF80000100000ull
#define DRV 0xFFFFF80000200000ull
#define L 0xFFFFD00000010000ull /* thread StackLimit; the guard page below is unmapped */
#define B (L + 0x6000)          /* StackBase */
#define IL 0xFFFFD00000100000ull
#define IB (IL + 0x2000)
#define KT 0xFFFFE00000001000ull /* KTHREAD */
#define PRCB 0xFFFFE00000002000ull
#define BCDATA (NT + 0x9000) /* KiBugcheckData */

#define H (NT + 0x6000) /* KiDoubleFaultAbort */
#define K (NT + 0x6800) /* KeBugCheckEx */
#define D (NT + 0x6A00) /* KiBugCheckDispatch */
#define FAULT_RIP (DRV + 0x1050)
#define FAULT_RSP (L - 0x10) /* the overflow: 0x10 bytes into the guard page */
#define IST_RSP (IB - 0x30)  /* the hardware frame */
#define H_SP (IST_RSP - 0x48)
#define D_SP (H_SP - 0x140)
#define K_SP (D_SP - 8)

static struct fx X;
static struct crash_record R;
static struct crash_env E;
static int no_current_thread; /* setup() leaves control space 3 unanswered */

static void set_context(uint64_t rsp, uint64_t rip, uint64_t rcx, uint64_t rdx, uint64_t r8,
                        uint64_t r9)
{
    uint8_t ctx[UNWIND_X64_CONTEXT_SIZE] = {0};
    kd_put64(ctx + 0x78 + 8 * UNWIND_X64_RCX, rcx);
    kd_put64(ctx + 0x78 + 8 * UNWIND_X64_RDX, rdx);
    kd_put64(ctx + 0x78 + 8 * UNWIND_X64_RBX, 0xB0B0B0);
    kd_put64(ctx + 0x78 + 8 * UNWIND_X64_RSP, rsp);
    kd_put64(ctx + 0x78 + 8 * UNWIND_X64_R8, r8);
    kd_put64(ctx + 0x78 + 8 * UNWIND_X64_R9, r9);
    kd_put64(ctx + 0xF8, rip);
    fake_target_set_context(X.ft, 0, ctx, sizeof ctx);
}

static void setup(void)
{
    /* nt: H = machine frame with error code @0, push rbp @1, sub rsp,40h @8;
     * K = sub rsp,28h @4; D = sub rsp,138h @7. */
    static const uint8_t info_h[] = {0x01, 0x08, 0x03, 0x00, 0x08, 0x72, 0x01, 0x50, 0x00, 0x1A};
    static const uint8_t info_k[] = {0x01, 0x04, 0x01, 0x00, 0x04, 0x42};
    static const uint8_t info_d[] = {0x01, 0x07, 0x02, 0x00, 0x07, 0x01, 0x27, 0x00};
    /* The driver: F1 sub rsp,130h; F2 push rbx, sub rsp,70h; F3 sub rsp,28h. */
    static const uint8_t info_f1[] = {0x01, 0x07, 0x02, 0x00, 0x07, 0x01, 0x26, 0x00};
    static const uint8_t info_f2[] = {0x01, 0x05, 0x02, 0x00, 0x05, 0xD2, 0x01, 0x30};
    static const uint8_t info_f3[] = {0x01, 0x04, 0x01, 0x00, 0x04, 0x42};
    fx_init(&X);
    crash_record_init(&R);
    fx_module(&X, NT, 0x20000, 0x1000, 0x8000);
    fx_module(&X, DRV, 0x10000, 0x1000, 0x8000);
    fake_target_map(X.ft, L, B - L);
    fake_target_map(X.ft, IL, IB - IL);
    fake_target_map(X.ft, KT, 0x100);
    fake_target_map(X.ft, PRCB, 0x100);
    fx_func(&X, NT, 0x6000, 0x6100, 0x18000, info_h, sizeof info_h);
    fx_func(&X, NT, 0x6800, 0x6900, 0x18040, info_k, sizeof info_k);
    fx_func(&X, NT, 0x6A00, 0x6B00, 0x18080, info_d, sizeof info_d);
    fx_func(&X, DRV, 0x1000, 0x1100, 0x9000, info_f1, sizeof info_f1);
    fx_func(&X, DRV, 0x2000, 0x2100, 0x9040, info_f2, sizeof info_f2);
    fx_func(&X, DRV, 0x3000, 0x3100, 0x9080, info_f3, sizeof info_f3);
    /* The faulting thread's stack: F1 <- F2 <- F3 <- 0. */
    fx_put(&X, FAULT_RSP + 0x130, DRV + 0x2040);
    fx_put(&X, FAULT_RSP + 0x138 + 0x70, 0xB8B8);
    fx_put(&X, FAULT_RSP + 0x138 + 0x78, DRV + 0x3040);
    fx_put(&X, FAULT_RSP + 0x1B8 + 0x28, 0);
    /* IST1: the CPU's frame, then H's, D's and K's. */
    fx_put(&X, IST_RSP + 0x08, FAULT_RIP);
    fx_put(&X, IST_RSP + 0x10, 0x10);
    fx_put(&X, IST_RSP + 0x18, 0x10286);
    fx_put(&X, IST_RSP + 0x20, FAULT_RSP);
    fx_put(&X, IST_RSP + 0x28, 0x18);
    fx_put(&X, D_SP + 0x138, H + 0x50);
    fx_put(&X, K_SP, D + 0x40);
    fx_put(&X, K_SP + 0x28, 0xFFFFF80000201234ull); /* P4 */
    /* The thread, its stack fields, and KiBugcheckData. */
    uint64_t kt = KT;
    if (!no_current_thread)
        fake_target_set_control(X.ft, 0, 3, &kt, 8);
    fx_put(&X, KT + 0x30, L);
    fx_put(&X, KT + 0x38, B);
    fx_put(&X, BCDATA, 0x7F);
    fx_put(&X, BCDATA + 8, 8);
    fx_put(&X, BCDATA + 16, 0x80050033);
    fx_put(&X, BCDATA + 24, 0x406F8);
    fx_put(&X, BCDATA + 32, FAULT_RIP);
    memset(&E, 0, sizeof E);
    E.target = &X.t;
    E.lookup = &X.lookup;
    E.kthread_stack_limit = 0x30;
    E.kthread_stack_base = 0x38;
    E.ist_limit = IL;
    E.ist_base = IB;
    E.bugcheck_data = BCDATA;
}

static void teardown(void)
{
    crash_record_fini(&R);
    fx_fini(&X);
}

static void check_frame(uint32_t i, uint64_t sp, uint64_t pc, uint64_t ret, uint64_t size,
                        uint32_t flags)
{
    CHECK(i < R.trace.count);
    if (i >= R.trace.count)
        return;
    CHECK_EQ(R.trace.frames[i].sp, sp);
    CHECK_EQ(R.trace.frames[i].pc, pc);
    CHECK_EQ(R.trace.frames[i].ret, ret);
    CHECK_EQ(R.trace.frames[i].size, size);
    CHECK_EQ(R.trace.frames[i].flags, flags);
}

/* The faulting thread's frames, starting at trace index i. */
static void check_thread_frames(uint32_t i)
{
    check_frame(i, FAULT_RSP, FAULT_RIP, DRV + 0x2040, 0x138, UNWIND_FRAME_UNWOUND);
    check_frame(i + 1, FAULT_RSP + 0x138, DRV + 0x2040, DRV + 0x3040, 0x80, UNWIND_FRAME_UNWOUND);
    check_frame(i + 2, FAULT_RSP + 0x1B8, DRV + 0x3040, 0, 0x30, UNWIND_FRAME_UNWOUND);
    CHECK_EQ(R.trace.count, i + 3);
    CHECK_EQ(R.trace.stop, UNWIND_STOP_ZERO_RET);
}

static void test_double_fault(void)
{
    setup();
    set_context(IST_RSP, H, 1, 2, 3, 4);
    CHECK_EQ(crash_on_double_fault(&R, &E), KD_OK);
    CHECK_EQ(R.seen, CRASH_SEEN_DOUBLE_FAULT);
    CHECK_EQ(R.have_fault, 1);
    CHECK_EQ(R.fault_rip, FAULT_RIP);
    CHECK_EQ(R.fault_rsp, FAULT_RSP);
    CHECK_EQ(R.ist_rsp, IST_RSP);
    CHECK_EQ(R.thread, KT);
    CHECK_EQ(R.stack_limit, L);
    CHECK_EQ(R.stack_base, B);
    CHECK_EQ(R.have_code, 0);
    CHECK_EQ(R.trace_from, CRASH_SEEN_DOUBLE_FAULT);
    check_frame(0, IST_RSP, H, FAULT_RIP, 0, UNWIND_FRAME_MACHINE | UNWIND_FRAME_SWITCH);
    check_thread_frames(1);
    teardown();
}

static void test_all_three_stops(void)
{
    setup();
    set_context(IST_RSP, H, 1, 2, 3, 4);
    CHECK_EQ(crash_on_double_fault(&R, &E), KD_OK);
    set_context(K_SP, K, 0x7F, 8, 0x80050033, 0x406F8);
    CHECK_EQ(crash_on_kebugcheckex(&R, &E), KD_OK);
    CHECK_EQ(R.have_code, 1);
    CHECK_EQ(R.code, 0x7F);
    CHECK_EQ(R.args[0], 8);
    CHECK_EQ(R.args[1], 0x80050033);
    CHECK_EQ(R.args[2], 0x406F8);
    CHECK_EQ(R.args[3], 0xFFFFF80000201234ull); /* [RSP+0x28] */
    CHECK(crash_record_is_double_fault(&R));
    set_context(D_SP - 8, NT + 0x7000, 3, 0, 0, 0);
    CHECK_EQ(crash_on_bugcheck_break(&R, &E), KD_OK);
    CHECK_EQ(R.seen, CRASH_SEEN_DOUBLE_FAULT | CRASH_SEEN_KEBUGCHECKEX | CRASH_SEEN_BUGCHECK_BREAK);
    CHECK_EQ(R.args[3], FAULT_RIP);                  /* the kernel's own copy wins */
    CHECK_EQ(R.trace_from, CRASH_SEEN_DOUBLE_FAULT); /* the first-hand frame list stays */
    check_frame(0, IST_RSP, H, FAULT_RIP, 0, UNWIND_FRAME_MACHINE | UNWIND_FRAME_SWITCH);
    check_thread_frames(1);
    teardown();
}

static void test_kebugcheckex_alone(void)
{
    setup();
    set_context(K_SP, K, 0x7F, 8, 0x80050033, 0x406F8);
    CHECK_EQ(crash_on_kebugcheckex(&R, &E), KD_OK);
    CHECK_EQ(R.trace_from, CRASH_SEEN_KEBUGCHECKEX);
    check_frame(0, K_SP, K, D + 0x40, 8, UNWIND_FRAME_UNWOUND);
    check_frame(1, D_SP, D + 0x40, H + 0x50, 0x140, UNWIND_FRAME_UNWOUND);
    check_frame(2, H_SP, H + 0x50, FAULT_RIP, 0,
                UNWIND_FRAME_UNWOUND | UNWIND_FRAME_MACHINE | UNWIND_FRAME_SWITCH);
    check_thread_frames(3);
    /* The faulting state comes out of KiDoubleFaultAbort's machine frame. */
    CHECK_EQ(R.have_fault, 1);
    CHECK_EQ(R.fault_rip, FAULT_RIP);
    CHECK_EQ(R.fault_rsp, FAULT_RSP);
    teardown();
}

static void test_bugcheck_break_alone(void)
{
    static const uint8_t call[] = {0xE8, 0x00, 0x01, 0x00, 0x00};
    setup();
    /* DbgBreakPointWithStatus (a leaf: no .pdata) called from D. */
    fx_put(&X, D_SP - 8, D + 0x40);
    fake_target_write(X.ft, D + 0x40 - 5, call, sizeof call);
    set_context(D_SP - 8, NT + 0x7000, 3, 0, 0, 0);
    CHECK_EQ(crash_on_bugcheck_break(&R, &E), KD_OK);
    CHECK_EQ(R.seen, CRASH_SEEN_BUGCHECK_BREAK);
    CHECK(crash_record_is_double_fault(&R));
    CHECK_EQ(R.args[1], 0x80050033);
    CHECK_EQ(R.trace_from, CRASH_SEEN_BUGCHECK_BREAK);
    check_frame(0, D_SP - 8, NT + 0x7000, D + 0x40, 8, UNWIND_FRAME_LEAF);
    check_frame(1, D_SP, D + 0x40, H + 0x50, 0x140, UNWIND_FRAME_UNWOUND);
    check_thread_frames(3);
    CHECK_EQ(R.fault_rsp, FAULT_RSP);
    /* Before the kernel fills KiBugcheckData there is no code to report. */
    crash_record_fini(&R);
    crash_record_init(&R);
    fx_put(&X, BCDATA, 0);
    CHECK_EQ(crash_on_bugcheck_break(&R, &E), KD_OK);
    CHECK_EQ(R.have_code, 0);
    E.bugcheck_data = 0xFFFF900000000000ull; /* unreadable */
    CHECK_EQ(crash_on_bugcheck_break(&R, &E), KD_ERR_TARGET);
    teardown();
}

static void test_bad_hardware_frame(void)
{
    setup();
    fx_put(&X, IST_RSP + 0x10, 0x33); /* CS of user mode: not a kernel #DF frame */
    set_context(IST_RSP, H, 0, 0, 0, 0);
    CHECK_EQ(crash_on_double_fault(&R, &E), KD_ERR_FORMAT);
    CHECK_EQ(R.seen, CRASH_SEEN_DOUBLE_FAULT);
    CHECK_EQ(R.have_fault, 0);
    CHECK_EQ(R.trace.count, 0);
    fx_put(&X, IST_RSP + 0x10, 0x10);
    fx_put(&X, IST_RSP + 0x20, 0x0001000000000000ull); /* not canonical */
    CHECK_EQ(crash_on_double_fault(&R, &E), KD_ERR_FORMAT);
    fx_put(&X, IST_RSP + 0x20, FAULT_RSP);
    fx_put(&X, IST_RSP + 0x28, 0); /* a null SS is fine in ring 0 */
    CHECK_EQ(crash_on_double_fault(&R, &E), KD_OK);
    CHECK_EQ(R.trace.count, 4);
    teardown();
}

static void test_thread_sources(void)
{
    uint64_t prcb = PRCB;
    /* No current-thread answer: KPRCB (control space 1), then CurrentThread. */
    no_current_thread = 1;
    setup();
    no_current_thread = 0;
    struct fake_target *ft = X.ft;
    fake_target_set_control(ft, 0, 1, &prcb, 8);
    fx_put(&X, PRCB + 8, KT);
    set_context(IST_RSP, H, 0, 0, 0, 0);
    CHECK_EQ(crash_on_double_fault(&R, &E), KD_OK);
    CHECK_EQ(R.thread, KT);
    CHECK_EQ(R.stack_base, B);
    teardown();
    /* Bounds from the caller win; with neither, the walk runs unbounded. */
    setup();
    E.stack_limit = L + 0x1000;
    E.stack_base = B - 0x1000;
    set_context(K_SP, K, 0xD1, 0, 0, 0);
    CHECK_EQ(crash_on_kebugcheckex(&R, &E), KD_OK);
    CHECK_EQ(R.stack_limit, L + 0x1000);
    CHECK_EQ(R.stack_base, B - 0x1000);
    CHECK_EQ(R.code, 0xD1);
    CHECK(!crash_record_is_double_fault(&R));
    CHECK_EQ(R.have_fault, 0);
    teardown();
    setup();
    E.kthread_stack_limit = E.kthread_stack_base = 0;
    set_context(IST_RSP, H, 0, 0, 0, 0);
    CHECK_EQ(crash_on_double_fault(&R, &E), KD_OK);
    CHECK_EQ(R.stack_base, 0);
    CHECK_EQ(R.trace.count, 4);
    CHECK_EQ(R.trace.stop, UNWIND_STOP_ZERO_RET);
    CHECK_EQ(crash_on_double_fault(NULL, &E), KD_ERR_ARG);
    teardown();
}

static void test_p4_unreadable(void)
{
    setup();
    set_context(IB - 0x10, K, 0x7F, 8, 0, 0); /* [RSP+0x28] past the IST stack */
    CHECK_EQ(crash_on_kebugcheckex(&R, &E), KD_ERR_TARGET);
    CHECK_EQ(R.have_code, 1);
    CHECK_EQ(R.args[3], 0);
    CHECK_EQ(R.seen, CRASH_SEEN_KEBUGCHECKEX);
    teardown();
}

int main(void)
{
    RUN(test_double_fault);
    RUN(test_all_three_stops);
    RUN(test_kebugcheckex_alone);
    RUN(test_bugcheck_break_alone);
    RUN(test_bad_hardware_frame);
    RUN(test_thread_sources);
    RUN(test_p4_unreadable);
    return check_summary("test_crash");
}
