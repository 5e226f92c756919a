/* test_monitor_symbols.c: symbolization, KeBugCheckEx, IDT vector 8. */
#include "check.h"
#include "fake_world.c"
#include "kd_status.h"
#include "symbols.h"

static struct fake_world w;
static struct modules *mods;

static void setup(void)
{
    struct fake_world_layout lay;
    fake_world_layout_19041(&lay);
    CHECK(fake_world_build(&w, &lay, 1, 2) == 0);
    mods = modules_new();
    CHECK_EQ(modules_walk(&w.t, w.module_head, mods), KD_OK);
}

static void teardown(void)
{
    modules_free(mods);
    fake_world_free(&w);
}

static const char *sym(uint64_t va)
{
    static char buf[SYMBOLS_TEXT_MAX];
    symbols_format(&w.t, mods, w.nt_base, va, buf, sizeof buf);
    return buf;
}

static void test_format(void)
{
    setup();
    CHECK_STR(sym(w.nt_base + FAKE_NT_KEBUGCHECKEX), "nt!KeBugCheckEx");
    CHECK_STR(sym(w.nt_base + FAKE_NT_KEBUGCHECKEX + 0x10), "nt!KeBugCheckEx+0x10");
    CHECK_STR(sym(w.nt_base + FAKE_NT_KEWAIT + 0xFF), "nt!KeWaitForSingleObject+0xff");
    /* .pdata puts 0x1650 in a function starting at 0x1600, above the nearest export. */
    CHECK_STR(sym(w.nt_base + FAKE_NT_HIDDEN + 0x50), "nt+0x1650");
    /* No .pdata (a leaf): the nearest export below. */
    CHECK_STR(sym(w.nt_base + FAKE_NT_LEAF + 0x10), "nt!KeLeafFunction+0x10");
    /* Nearest export below is by ordinal only: module+offset. */
    CHECK_STR(sym(w.nt_base + FAKE_NT_ORDINAL_ONLY + 5), "nt+0x1905");
    /* Indirect .pdata entry followed to the function at 0x1A00. */
    CHECK_STR(sym(w.nt_base + FAKE_NT_INDIRECT + 0x10), "nt!KeIndirectThing+0x10");
    /* A fragment chained to its parent at 0x2000: the parent's export. */
    CHECK_STR(sym(w.nt_base + FAKE_NT_CHAINED + 0x10), "nt!KeChainedParent+0x410");
    /* Below the first export. */
    CHECK_STR(sym(w.nt_base + 0x10), "nt+0x10");
    /* Modules without a readable image, and no module at all. */
    CHECK_STR(sym(w.drv_base + 0x1a2b), "CLASSPNP+0x1a2b");
    CHECK_STR(sym(w.hal_base + 0x10), "hal+0x10");
    CHECK_STR(sym(0xFFFFF80100000000ull), "0xfffff80100000000");
    char small[8];
    symbols_format(&w.t, mods, w.nt_base, w.nt_base + FAKE_NT_KEBUGCHECKEX, small, sizeof small);
    CHECK_STR(small, "nt!KeBu");
    struct symbols_hit h;
    CHECK_EQ(symbols_resolve(&w.t, mods, w.nt_base, w.nt_base + FAKE_NT_HIDDEN, &h), KD_OK);
    CHECK(h.pdata);
    CHECK_EQ(h.func_begin, 0x1600);
    CHECK_EQ(h.func_end, 0x1700);
    CHECK(h.export_name == NULL);
    CHECK_EQ(symbols_resolve(&w.t, mods, w.nt_base, 0x1000, &h), KD_ERR_NOTFOUND);
    teardown();
}

static void test_kebugcheckex(void)
{
    uint64_t va;
    setup();
    CHECK_EQ(symbols_kebugcheckex(&w.t, mods, w.nt_base, &va), KD_OK);
    CHECK_EQ(va, w.nt_base + FAKE_NT_KEBUGCHECKEX);
    CHECK(symbols_kernel(mods, w.nt_base) == &mods->v[0]);
    CHECK(symbols_kernel(mods, 0) == &mods->v[0]);
    CHECK(symbols_kernel(mods, 0xFFFFF80012340000ull) == NULL);
    CHECK_EQ(symbols_kebugcheckex(&w.t, mods, 0xFFFFF80012340000ull, &va), KD_ERR_NOTFOUND);
    /* A forwarder has no code in the image. */
    CHECK_EQ(symbols_export(&w.t, &mods->v[0], "ExForwarded", &va), KD_ERR_NOTFOUND);
    CHECK_EQ(symbols_export(&w.t, &mods->v[1], "HalFoo", &va), KD_ERR_TARGET);
    teardown();
}

static void test_idt_vector8(void)
{
    struct symbols_idt_gate g;
    struct symbols_double_fault df;
    setup();
    CHECK_EQ(symbols_idt_gate(&w.t, 0, 8, &g), KD_OK);
    CHECK_EQ(g.idtr_base, w.idt);
    CHECK_EQ(g.idtr_limit, 0xFFF);
    CHECK_EQ(g.handler, w.nt_base + FAKE_NT_DF_HANDLER);
    CHECK_EQ(g.ist, 1);
    CHECK_EQ(g.selector, 0x10);
    CHECK_EQ(g.type, 0xE);
    CHECK_EQ(g.dpl, 0);
    CHECK(g.present);
    CHECK_EQ(symbols_double_fault(&w.t, mods, w.nt_base, 1, &df), KD_OK);
    CHECK_EQ(df.gate.handler, w.nt_base + FAKE_NT_DF_HANDLER);
    CHECK_EQ(df.gate.ist, 1);
    CHECK_STR(df.symbol, "nt+0x5000");
    CHECK_STR(df.section, "KVASCODE");
    CHECK(df.shadow);
    /* Vector past the IDT limit; unreadable special registers. */
    uint8_t sr[0xF0] = {0};
    kd_put16(sr + 0x66, 0x7F); /* 8 gates */
    kd_put64(sr + 0x68, w.idt);
    fake_target_set_control(w.ft, 0, 2, sr, sizeof sr);
    CHECK_EQ(symbols_idt_gate(&w.t, 0, 8, &g), KD_ERR_FORMAT);
    CHECK_EQ(symbols_idt_gate(&w.t, 0, 7, &g), KD_OK);
    CHECK_EQ(symbols_idt_gate(&w.t, 0, 256, &g), KD_ERR_ARG);
    fake_target_set_control(w.ft, 0, 2, sr, 0x60);
    CHECK_EQ(symbols_idt_gate(&w.t, 0, 8, &g), KD_ERR_TRUNCATED);
    CHECK_EQ(symbols_idt_gate(&w.t, 7, 8, &g), KD_ERR_TARGET);
    teardown();
}

static void test_module_names(void)
{
    char b[32];
    setup();
    symbols_module_name(mods, &mods->v[0], w.nt_base, b, sizeof b);
    CHECK_STR(b, "nt");
    symbols_module_name(mods, &mods->v[2], w.nt_base, b, sizeof b);
    CHECK_STR(b, "CLASSPNP");
    mods->v[2].name[0] = 0;
    symbols_module_name(mods, &mods->v[2], w.nt_base, b, sizeof b);
    CHECK_STR(b, "?");
    teardown();
}

int main(void)
{
    RUN(test_format);
    RUN(test_kebugcheckex);
    RUN(test_idt_vector8);
    RUN(test_module_names);
    return check_summary("test_monitor_symbols");
}
