/* test_unwind.c: the pieces the walkers share: the call-site test for every
 * call encoding, the read cache (lines, odd mappings, budget), stack ranges. */
#include "check.h"
#include "fake_target.c"
#include "unwind.h"

#define CODE 0xFFFFF80000100000ull

static struct fake_target *ft;
static struct kd_target kt;
static struct unwind_mem mem;

static void setup(void)
{
    ft = fake_target_new();
    kt = fake_target_target(ft);
    fake_target_map(ft, CODE, 0x1000);
    unwind_mem_init(&mem, &kt, 100);
}

/* Writes insn so that it ends at CODE + 0x800 and asks whether that is a call site. */
static int after(const uint8_t *insn, size_t n)
{
    uint8_t zero[16] = {0};
    fake_target_write(ft, CODE + 0x800 - 16, zero, sizeof zero);
    fake_target_write(ft, CODE + 0x800 - n, insn, n);
    unwind_mem_init(&mem, &kt, 100);
    return unwind_is_after_call(&mem, CODE + 0x800);
}

static void test_after_call(void)
{
    static const struct {
        uint8_t b[8];
        uint8_t n;
    } calls[] = {
        {{0xE8, 1, 2, 3, 4}, 5},             /* call rel32 */
        {{0xFF, 0xD0}, 2},                   /* call rax */
        {{0x41, 0xFF, 0xD3}, 3},             /* call r11 */
        {{0xFF, 0x10}, 2},                   /* call [rax] */
        {{0xFF, 0x14, 0x24}, 3},             /* call [rsp] */
        {{0xFF, 0x15, 1, 2, 3, 4}, 6},       /* call [rip+disp32] */
        {{0x48, 0xFF, 0x15, 1, 2, 3, 4}, 7}, /* rex.w call [rip+disp32] */
        {{0xFF, 0x14, 0x25, 1, 2, 3, 4}, 7}, /* call [disp32] through a SIB */
        {{0xFF, 0x50, 0x08}, 3},             /* call [rax+8] */
        {{0xFF, 0x54, 0x24, 0x08}, 4},       /* call [rsp+8] */
        {{0xFF, 0x90, 1, 2, 3, 4}, 6},       /* call [rax+disp32] */
        {{0xFF, 0x94, 0x24, 1, 2, 3, 4}, 7}, /* call [rsp+disp32] */
    };
    static const struct {
        uint8_t b[8];
        uint8_t n;
    } not_calls[] = {
        {{0xFF, 0xE0}, 2},             /* jmp rax */
        {{0xFF, 0x25, 1, 2, 3, 4}, 6}, /* jmp [rip+disp32] */
        {{0x48, 0x89, 0xC3}, 3},       /* mov rbx, rax */
        {{0xFF, 0x15}, 2},             /* a ModRM that needs a displacement */
        {{0x90}, 1},
    };
    setup();
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        if (!after(calls[i].b, calls[i].n))
            fprintf(stderr, "  call encoding %zu not recognised\n", i);
        CHECK(after(calls[i].b, calls[i].n));
    }
    for (size_t i = 0; i < sizeof not_calls / sizeof not_calls[0]; i++)
        CHECK(!after(not_calls[i].b, not_calls[i].n));
    CHECK(!unwind_is_after_call(&mem, 4));
    CHECK(!unwind_is_after_call(&mem, CODE + 0x100000)); /* unmapped */
    fake_target_free(ft);
}

static void test_after_call_line_start(void)
{
    /* Code mapped from a line boundary: only the bytes of ret's line exist. */
    static const uint8_t e8[] = {0xE8, 0, 0, 0, 0};
    static const uint8_t ffd0[] = {0x90, 0xFF, 0xD0};
    setup();
    fake_target_map(ft, CODE + 0x10000, 0x200);
    fake_target_write(ft, CODE + 0x10000, e8, sizeof e8);
    CHECK(unwind_is_after_call(&mem, CODE + 0x10005));
    fake_target_write(ft, CODE + 0x10000, ffd0, sizeof ffd0);
    unwind_mem_init(&mem, &kt, 100);
    CHECK(unwind_is_after_call(&mem, CODE + 0x10003));
    CHECK(!unwind_is_after_call(&mem, CODE + 0x10001));
    fake_target_free(ft);
}

static void test_cache(void)
{
    uint8_t b[16];
    uint64_t v;
    setup();
    fake_target_put64(ft, CODE + 0x10, 0x1122334455667788ull);
    fake_target_reset_stats(ft);
    CHECK_EQ(unwind_mem_u64(&mem, CODE + 0x10, &v), KD_OK);
    CHECK_EQ(v, 0x1122334455667788ull);
    CHECK_EQ(unwind_mem_read(&mem, CODE + 0x20, b, 16), KD_OK);
    CHECK_EQ(fake_target_stats(ft)->reads, 1); /* one line serves both */
    CHECK_EQ(fake_target_stats(ft)->max_len, UNWIND_MEM_LINE);
    CHECK_EQ(unwind_mem_read(&mem, CODE + UNWIND_MEM_LINE - 8, b, 16), KD_OK);
    CHECK_EQ(mem.reads, 2); /* the read crossed into the next line */
    CHECK_EQ(unwind_mem_read(&mem, CODE + 0xFF8, b, 16), KD_ERR_TARGET); /* runs off the map */
    CHECK_EQ(unwind_mem_read(&mem, UINT64_MAX - 4, b, 8), KD_ERR_ARG);
    CHECK_EQ(unwind_mem_read(&mem, CODE, b, 0), KD_OK);
    /* Unreadable lines are remembered, not read again. */
    unsigned before = fake_target_stats(ft)->reads;
    CHECK_EQ(unwind_mem_u64(&mem, CODE + 0x5000, &v), KD_ERR_TARGET);
    CHECK_EQ(unwind_mem_u64(&mem, CODE + 0x5000, &v), KD_ERR_TARGET);
    CHECK_EQ(fake_target_stats(ft)->reads - before, 1);
    fake_target_free(ft);
}

static void test_cache_odd_mapping(void)
{
    const uint64_t r = CODE + 0x20000;
    uint32_t w;
    setup();
    fake_target_map(ft, r + 0x100, 0x80); /* starts and ends inside a line */
    fake_target_put32(ft, r + 0x110, 0xAABBCCDD);
    fake_target_put32(ft, r + 0x100, 0x01020304);
    CHECK_EQ(unwind_mem_u32(&mem, r + 0x110, &w), KD_OK);
    CHECK_EQ(w, 0xAABBCCDD);
    CHECK_EQ(unwind_mem_u32(&mem, r + 0x100, &w), KD_OK); /* below the cached span */
    CHECK_EQ(w, 0x01020304);
    CHECK_EQ(unwind_mem_u32(&mem, r + 0x17E, &w), KD_ERR_TARGET);
    CHECK_EQ(unwind_mem_u32(&mem, r + 0x0F0, &w), KD_ERR_TARGET);
    fake_target_free(ft);
}

static void test_budget(void)
{
    uint64_t v;
    setup();
    unwind_mem_init(&mem, &kt, 1);
    CHECK_EQ(unwind_mem_u64(&mem, CODE, &v), KD_OK);
    CHECK_EQ(mem.spent, 0);
    CHECK_EQ(unwind_mem_u64(&mem, CODE + 0x800, &v), KD_ERR_TARGET);
    CHECK_EQ(mem.spent, 1);
    CHECK_EQ(unwind_mem_u64(&mem, CODE + 8, &v), KD_OK); /* cached lines still serve */
    unwind_mem_init(&mem, NULL, 10);
    CHECK_EQ(unwind_mem_u64(&mem, CODE, &v), KD_ERR_TARGET);
    fake_target_free(ft);
}

static void test_params(void)
{
    struct unwind_params p;
    unwind_params_init(&p, NULL, NULL);
    CHECK_EQ(p.kernel_start, 0xFFFF800000000000ull);
    CHECK_EQ(unwind_params_add_stack(&p, 0x2000, 0x1000), KD_ERR_ARG);
    CHECK_EQ(unwind_params_add_stack(&p, 0x10000, 0x16000), KD_OK);
    CHECK_EQ(unwind_params_add_stack(&p, 0x100000, 0x102000), KD_OK);
    CHECK_EQ(unwind_params_stack_of(&p, 0x15FF8), 0);
    CHECK_EQ(unwind_params_stack_of(&p, 0x16000), -1);
    CHECK_EQ(unwind_params_stack_of(&p, 0x10000 - 0x3000), 0); /* the guard slack */
    CHECK_EQ(unwind_params_stack_of(&p, 0x10000 - 0x3001), -1);
    CHECK_EQ(unwind_params_stack_of(&p, 0x101000), 1);
    for (int i = 2; i < UNWIND_MAX_STACKS; i++)
        CHECK_EQ(unwind_params_add_stack(&p, 0x200000u * (unsigned)i, 0x200000u * (unsigned)i + 1),
                 KD_OK);
    CHECK_EQ(unwind_params_add_stack(&p, 0x9000000, 0x9001000), KD_ERR_NOSPACE);
    struct unwind_trace t;
    CHECK_EQ(unwind_trace_init(&t, 4), KD_OK);
    CHECK_EQ(t.cap, 4);
    t.count = 2;
    t.stop = UNWIND_STOP_USER;
    unwind_trace_reset(&t);
    CHECK_EQ(t.count, 0);
    CHECK_EQ(t.stop, UNWIND_STOP_NONE);
    unwind_trace_fini(&t);
    CHECK(t.frames == NULL);
}

int main(void)
{
    RUN(test_after_call);
    RUN(test_after_call_line_start);
    RUN(test_cache);
    RUN(test_cache_odd_mapping);
    RUN(test_budget);
    RUN(test_params);
    return check_summary("test_unwind");
}
