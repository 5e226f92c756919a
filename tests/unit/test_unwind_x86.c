/* test_unwind_x86.c: EBP chains on the seeds' own stacks (seed 003's kb,
 * seed 002's broken chain recovered by a scan), the TSS decode with the
 * values of seed 003's `.tss 0x28`, GDT descriptors, corrupted chains. */
#include "check.h"
#include "fake_target.c"
#include "unwind_fixture.h"
#include "unwind_x86.h"

#define SX(a) ((uint64_t)(int64_t)(int32_t)(uint32_t)(a)) /* KD's x86 addresses */

static struct fx X;
static struct unwind_trace T;

static void put32(uint32_t a, uint32_t v)
{
    fake_target_put32(X.ft, SX(a), v);
}

static void setup(uint32_t limit, uint32_t base)
{
    fx_init(&X);
    fx_module(&X, SX(0x80800000), 0x200000, 0, 0x200000); /* nt */
    fx_module(&X, SX(0xF7150000), 0x80000, 0, 0x80000);   /* Ntfs */
    fx_module(&X, SX(0xF7210000), 0x10000, 0, 0x10000);   /* fltmgr (seed 003) */
    fx_module(&X, SX(0xF7A20000), 0x10000, 0, 0x10000);   /* fltmgr (seed 002) */
    fx_module(&X, SX(0xB9580000), 0x20000, 0, 0x20000);   /* BabyHog */
    fake_target_map(X.ft, SX(limit), base - limit);
    unwind_params_add_stack(&X.p, SX(limit), SX(base));
    unwind_trace_init(&T, 0);
}

static void teardown(void)
{
    unwind_trace_fini(&T);
    fx_fini(&X);
}

static void check_frame(uint32_t i, uint32_t sp, uint32_t pc, uint32_t fp, uint32_t ret,
                        uint32_t size, uint32_t flags)
{
    CHECK(i < T.count);
    if (i >= T.count)
        return;
    CHECK_EQ(T.frames[i].sp, SX(sp));
    CHECK_EQ(T.frames[i].pc, SX(pc));
    CHECK_EQ(T.frames[i].fp, SX(fp));
    CHECK_EQ(T.frames[i].ret, SX(ret));
    CHECK_EQ(T.frames[i].size, size);
    CHECK_EQ(T.frames[i].flags, flags);
}

/* Seed 003: .tss 0x28 gave eip f7159c53 esp b8cb7000 ebp b8cb7010; kb's
 * first ChildEBP/RetAddr pairs, ending here in a user-mode return. */
static void seed003_stack(void)
{
    setup(0xB8CB7000, 0xB8CBA000);
    put32(0xB8CB7010, 0xB8CB71BC);
    put32(0xB8CB7014, 0xF7158867);
    put32(0xB8CB71BC, 0xB8CB71D0);
    put32(0xB8CB71C0, 0x8083F9C0);
    put32(0xB8CB71D0, 0xB8CB71F8);
    put32(0xB8CB71D4, 0xF7212C53);
    put32(0xB8CB71F8, 0xB8CB720C);
    put32(0xB8CB71FC, 0x8083F9C0);
    put32(0xB8CB720C, 0x0015FDB0);
    put32(0xB8CB7210, 0x7C82ED54);
}

static void check_seed003_frames(void)
{
    CHECK_EQ(T.count, 5);
    check_frame(0, 0xB8CB7000, 0xF7159C53, 0xB8CB7010, 0xF7158867, 0x18, UNWIND_FRAME_EBP);
    check_frame(1, 0xB8CB7018, 0xF7158867, 0xB8CB71BC, 0x8083F9C0, 0x1AC, UNWIND_FRAME_EBP);
    check_frame(2, 0xB8CB71C4, 0x8083F9C0, 0xB8CB71D0, 0xF7212C53, 0x14, UNWIND_FRAME_EBP);
    check_frame(3, 0xB8CB71D8, 0xF7212C53, 0xB8CB71F8, 0x8083F9C0, 0x28, UNWIND_FRAME_EBP);
    check_frame(4, 0xB8CB7200, 0x8083F9C0, 0xB8CB720C, 0x7C82ED54, 0x14, 0);
    CHECK_EQ(T.stop, UNWIND_STOP_USER);
}

static void test_chain(void)
{
    struct unwind_x86_regs r = {0xF7159C53, 0xB8CB7000, 0xB8CB7010};
    seed003_stack();
    CHECK_EQ(unwind_x86_walk(&X.p, &r, &T), KD_OK);
    check_seed003_frames();
    X.p.max_frames = 2;
    CHECK_EQ(unwind_x86_walk(&X.p, &r, &T), KD_OK);
    CHECK_EQ(T.count, 2);
    CHECK_EQ(T.stop, UNWIND_STOP_MAX_FRAMES);
    teardown();
}

/* Seed 002: nothing usable at the top; dps found b8ae60ec -> b8ae6100 with
 * nt!IofCallDriver+0x45 (8081df65) after it; kf resumed from there. */
static void seed002_stack(void)
{
    static const uint8_t call[] = {0xE8, 0x00, 0x01, 0x00, 0x00};
    setup(0xB8AE6000, 0xB8AE9000);
    put32(0xB8AE6010, 0xB8AE6020); /* decoy: code after it, but no call before that */
    put32(0xB8AE6014, 0x8084CFF9);
    put32(0xB8AE6030, 0xB8AE6100); /* decoy: a "return address" in no module */
    put32(0xB8AE6034, 0x12345678);
    put32(0xB8AE60EC, 0xB8AE6100);
    put32(0xB8AE60F0, 0x8081DF65);
    put32(0xB8AE6100, 0xB8AE6128);
    put32(0xB8AE6104, 0xF7A2EC45);
    put32(0xB8AE6128, 0xB8AE613C);
    put32(0xB8AE612C, 0x8081DF65);
    put32(0xB8AE613C, 0);
    put32(0xB8AE6140, 0xB958E196);
    fake_target_write(X.ft, SX(0x8081DF65 - 5), call, sizeof call);
}

static void test_scan_recovery(void)
{
    struct unwind_x86_regs r = {0x808B64A6, 0xB8AE6000, 0x00000001};
    seed002_stack();
    CHECK_EQ(unwind_x86_walk(&X.p, &r, &T), KD_OK);
    CHECK_EQ(T.count, 5);
    check_frame(0, 0xB8AE6000, 0x808B64A6, 0x00000001, 0x8081DF65, 0xF4, 0);
    check_frame(1, 0xB8AE60F4, 0x8081DF65, 0xB8AE6100, 0xF7A2EC45, 0x14,
                UNWIND_FRAME_SCANNED | UNWIND_FRAME_EBP);
    check_frame(2, 0xB8AE6108, 0xF7A2EC45, 0xB8AE6128, 0x8081DF65, 0x28, UNWIND_FRAME_EBP);
    check_frame(3, 0xB8AE6130, 0x8081DF65, 0xB8AE613C, 0xB958E196, 0x14, UNWIND_FRAME_EBP);
    check_frame(4, 0xB8AE6144, 0xB958E196, 0, 0, 0, 0);
    CHECK_EQ(T.stop, UNWIND_STOP_ZERO_RET);
    teardown();
}

static void test_break_mid_chain(void)
{
    static const uint8_t call[] = {0xFF, 0x15, 0x90, 0x60, 0x59, 0xB9}; /* call [b9596090] */
    struct unwind_x86_regs r = {0xF7159C53, 0xB8CB7000, 0xB8CB7010};
    seed003_stack();
    put32(0xB8CB71BC, 0x41414141); /* an FPO function used EBP for data */
    put32(0xB8CB7300, 0xB8CB7400);
    put32(0xB8CB7304, 0xB958ECDF);
    put32(0xB8CB7400, 0);
    put32(0xB8CB7404, 0x7C800000);
    fake_target_write(X.ft, SX(0xB958ECDF - 6), call, sizeof call);
    CHECK_EQ(unwind_x86_walk(&X.p, &r, &T), KD_OK);
    CHECK_EQ(T.count, 4);
    check_frame(1, 0xB8CB7018, 0xF7158867, 0xB8CB71BC, 0x8083F9C0, 0x1AC, UNWIND_FRAME_EBP);
    check_frame(2, 0xB8CB71C4, 0x8083F9C0, 0x41414141, 0xB958ECDF, 0x308 - 0x1C4, 0);
    check_frame(3, 0xB8CB7308, 0xB958ECDF, 0xB8CB7400, 0x7C800000, 0x100, UNWIND_FRAME_SCANNED);
    CHECK_EQ(T.stop, UNWIND_STOP_USER);
    teardown();
}

static void test_corrupted(void)
{
    struct unwind_x86_regs r = {0xF7159C53, 0xB8CB7000, 0xB8CB7010};
    seed003_stack();
    put32(0xB8CB71BC, 0xB8CB71BC); /* saved EBP pointing at itself */
    CHECK_EQ(unwind_x86_walk(&X.p, &r, &T), KD_OK);
    CHECK_EQ(T.count, 3);
    CHECK_EQ(T.stop, UNWIND_STOP_NO_CALLER);
    put32(0xB8CB71BC, 0xB8CB7100); /* ... or below itself */
    CHECK_EQ(unwind_x86_walk(&X.p, &r, &T), KD_OK);
    CHECK_EQ(T.stop, UNWIND_STOP_NO_CALLER);
    r.ebp = 0xB8CB7011; /* misaligned: straight to the scan, which finds nothing */
    CHECK_EQ(unwind_x86_walk(&X.p, &r, &T), KD_OK);
    CHECK_EQ(T.count, 1);
    CHECK_EQ(T.stop, UNWIND_STOP_NO_CALLER);
    X.p.max_reads = 0;
    r.ebp = 0xB8CB7010;
    CHECK_EQ(unwind_x86_walk(&X.p, &r, &T), KD_OK);
    CHECK_EQ(T.stop, UNWIND_STOP_BUDGET);
    teardown();
    /* A stack nobody mapped. */
    setup(0xB8CB7000, 0xB8CBA000);
    r = (struct unwind_x86_regs){0xF7159C53, 0xA0000000, 0xA0000010};
    CHECK_EQ(unwind_x86_walk(&X.p, &r, &T), KD_OK);
    CHECK_EQ(T.stop, UNWIND_STOP_READ);
    CHECK_EQ(T.stop_addr, SX(0xA0000014));
    CHECK_EQ(unwind_x86_walk(NULL, &r, &T), KD_ERR_ARG);
    teardown();
}

/* Seed 003's `.tss 0x28` as the bytes of a 32-bit TSS. */
static void seed003_tss(uint8_t b[UNWIND_X86_TSS_SIZE], uint32_t eip)
{
    static const uint32_t gpr[8] = {0x87B90328, 0x8AA3D8C0, 0x87B90328, 0x87B90328,
                                    0xB8CB7000, 0xB8CB7010, 0xB8CB7138, 0x8084266A};
    static const uint16_t seg[7] = {0x23, 0x08, 0x10, 0x23, 0x30, 0x00, 0x00};
    memset(b, 0, UNWIND_X86_TSS_SIZE);
    kd_put32(b + 0x1C, 0x0A5C0000); /* CR3 */
    kd_put32(b + 0x20, eip);
    kd_put32(b + 0x24, 0x00010202);
    for (int i = 0; i < 8; i++)
        kd_put32(b + 0x28 + 4 * i, gpr[i]);
    for (int i = 0; i < 7; i++)
        kd_put32(b + 0x48 + 4 * i, seg[i]);
}

static void test_tss_decode(void)
{
    uint8_t b[UNWIND_X86_TSS_SIZE];
    struct unwind_x86_tss t;
    seed003_tss(b, 0xF7159C53);
    CHECK_EQ(unwind_x86_tss_decode(b, sizeof b, &t), KD_OK);
    CHECK_EQ(t.eip, 0xF7159C53);
    CHECK_EQ(t.esp, 0xB8CB7000);
    CHECK_EQ(t.ebp, 0xB8CB7010);
    CHECK_EQ(t.eax, 0x87B90328);
    CHECK_EQ(t.ecx, 0x8AA3D8C0);
    CHECK_EQ(t.edx, 0x87B90328);
    CHECK_EQ(t.ebx, 0x87B90328);
    CHECK_EQ(t.esi, 0xB8CB7138);
    CHECK_EQ(t.edi, 0x8084266A);
    CHECK_EQ(t.eflags, 0x10202);
    CHECK_EQ(t.cr3, 0x0A5C0000);
    CHECK_EQ(t.cs, 0x08);
    CHECK_EQ(t.ss, 0x10);
    CHECK_EQ(t.ds, 0x23);
    CHECK_EQ(t.es, 0x23);
    CHECK_EQ(t.fs, 0x30);
    CHECK_EQ(t.gs, 0);
    CHECK_EQ(t.backlink, 0);
    CHECK_EQ(unwind_x86_tss_decode(b, sizeof b - 1, &t), KD_ERR_TRUNCATED);
}

static void test_gdt_base(void)
{
    /* KPCR.TSS 0x80042000 (seeds 003/004) in a busy-TSS descriptor, limit 0x20ab. */
    static const uint8_t tss[8] = {0xAB, 0x20, 0x00, 0x20, 0x04, 0x8B, 0x00, 0x80};
    static const uint8_t other[8] = {0xFF, 0xFF, 0x78, 0x56, 0x34, 0x93, 0xCF, 0x12};
    CHECK_EQ(unwind_x86_gdt_base(tss), 0x80042000);
    CHECK_EQ(unwind_x86_gdt_base(other), 0x12345678);
}

static void test_double_fault_state(void)
{
    static const uint8_t d28[8] = {0x67, 0x00, 0x00, 0x20, 0x04, 0x8B, 0x00, 0x80};
    static const uint8_t d50[8] = {0x67, 0x00, 0x00, 0x80, 0x54, 0x89, 0x00, 0x80};
    static const uint8_t d60[8] = {0x67, 0x00, 0x00, 0x30, 0x04, 0x8B, 0x00, 0x80};
    static const uint8_t ldt[8] = {0x67, 0x00, 0x00, 0x20, 0x04, 0x82, 0x00, 0x80};
    const uint32_t gdt = 0x8003F000, kpcr = 0xFFDFF000;
    uint8_t b[UNWIND_X86_TSS_SIZE];
    struct unwind_x86_tss t;
    struct unwind_x86_regs r;
    seed003_stack();
    fake_target_map(X.ft, SX(gdt), 0x100);
    fake_target_map(X.ft, SX(0x80042000), 0x2000);
    fake_target_map(X.ft, SX(0x80548000), 0x100);
    fake_target_map(X.ft, SX(kpcr), 0x1000);
    fake_target_write(X.ft, SX(gdt + 0x28), d28, 8);
    fake_target_write(X.ft, SX(gdt + 0x50), d50, 8);
    fake_target_write(X.ft, SX(gdt + 0x60), d60, 8);
    seed003_tss(b, 0xF7159C53);
    fake_target_write(X.ft, SX(0x80042000), b, sizeof b);
    seed003_tss(b, 0xF7150000);
    fake_target_write(X.ft, SX(0x80043000), b, sizeof b);
    put32(0x80548000, 0x28); /* the double-fault TSS's Backlink */
    put32(kpcr + 0x40, 0x80042000);
    CHECK_EQ(unwind_x86_read_tss(&X.t, gdt, 0x28, &t), KD_OK);
    CHECK_EQ(t.eip, 0xF7159C53);
    CHECK_EQ(unwind_x86_double_fault_state(&X.t, gdt, 0, &t, &r), KD_OK);
    CHECK_EQ(r.eip, 0xF7159C53);
    CHECK_EQ(r.esp, 0xB8CB7000);
    CHECK_EQ(r.ebp, 0xB8CB7010);
    CHECK_EQ(unwind_x86_walk(&X.p, &r, &T), KD_OK);
    check_seed003_frames();
    put32(0x80548000, 0x60); /* a Backlink elsewhere is followed */
    CHECK_EQ(unwind_x86_double_fault_state(&X.t, gdt, 0, NULL, &r), KD_OK);
    CHECK_EQ(r.eip, 0xF7150000);
    fake_target_write(X.ft, SX(gdt + 0x60), ldt, 8); /* not a TSS */
    CHECK_EQ(unwind_x86_read_tss(&X.t, gdt, 0x60, &t), KD_ERR_FORMAT);
    CHECK_EQ(unwind_x86_double_fault_state(&X.t, gdt, 0, &t, &r), KD_ERR_FORMAT);
    CHECK_EQ(unwind_x86_double_fault_state(&X.t, gdt, kpcr, &t, &r), KD_OK); /* KPCR+0x40 */
    CHECK_EQ(r.eip, 0xF7159C53);
    CHECK_EQ(unwind_x86_double_fault_state(&X.t, 0, kpcr, &t, &r), KD_OK);
    CHECK_EQ(r.esp, 0xB8CB7000);
    CHECK_EQ(unwind_x86_double_fault_state(&X.t, 0, 0, &t, &r), KD_ERR_NOTFOUND);
    CHECK_EQ(unwind_x86_read_tss(&X.t, gdt, 0, &t), KD_ERR_ARG);
    teardown();
}

int main(void)
{
    RUN(test_chain);
    RUN(test_scan_recovery);
    RUN(test_break_mid_chain);
    RUN(test_corrupted);
    RUN(test_tss_decode);
    RUN(test_gdt_base);
    RUN(test_double_fault_state);
    return check_summary("test_unwind_x86");
}
