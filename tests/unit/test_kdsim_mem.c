/* test_kdsim_mem.c: kdsim's sparse memory, breakpoint patching and PE reader. */
#include "check.h"

#include "kd_le.h"
#include "kd_status.h"
#include "tests/kdsim/sim_images.h"
#include "tests/kdsim/sim_mem.h"
#include "tests/kdsim/sim_pe.h"
#include "tests/kdsim/sim_profile.h"

#define BASE 0xfffff80000000000ull

static struct sim_mem *mem_with_two_regions(void)
{
    struct sim_mem *m;
    if (sim_mem_new(&m) != KD_OK)
        return NULL;
    uint8_t *a, *b;
    sim_mem_map(m, BASE + 0x2000, 0x1000, &b); /* mapped out of order on purpose */
    sim_mem_map(m, BASE, 0x2000, &a);
    for (int i = 0; i < 0x3000; i++)
        *(i < 0x2000 ? &a[i] : &b[i - 0x2000]) = (uint8_t)i;
    return m;
}

static void test_map_rules(void)
{
    struct sim_mem *m = mem_with_two_regions();
    CHECK(m != NULL);
    CHECK_EQ(sim_mem_map(m, BASE + 0x1000, 0x10, NULL), KD_ERR_ARG); /* overlap */
    CHECK_EQ(sim_mem_map(m, BASE - 0x10, 0x20, NULL), KD_ERR_ARG);   /* overlaps the start */
    CHECK_EQ(sim_mem_map(m, BASE + 0x5000, 0, NULL), KD_ERR_ARG);
    CHECK_EQ(sim_mem_map(m, UINT64_MAX - 0x10, 0x100, NULL), KD_ERR_ARG);
    CHECK_EQ(sim_mem_map(m, BASE + 0x3000, 0x10, NULL), KD_OK); /* adjacent is fine */
    CHECK(sim_mem_mapped(m, BASE, 0x3010));
    CHECK(!sim_mem_mapped(m, BASE, 0x3011));
    CHECK(sim_mem_ptr(m, BASE + 0x1ff0, 0x20) == NULL); /* spans two regions */
    CHECK(sim_mem_ptr(m, BASE + 0x1ff0, 0x10) != NULL);
    sim_mem_free(m);
    sim_mem_free(NULL);
}

static void test_reads_stop_at_unmapped(void)
{
    struct sim_mem *m = mem_with_two_regions();
    uint8_t buf[0x40];
    uint32_t got = 99;
    /* Across the two adjacent regions: whole. */
    CHECK_EQ(sim_mem_read(m, BASE + 0x1ff8, buf, 0x10, &got), KD_OK);
    CHECK_EQ(got, 0x10);
    CHECK_EQ(buf[0], 0xF8);
    CHECK_EQ(buf[8], 0x00); /* first byte of the second region: (0x2000 & 0xff) */
    /* Runs off the end: short, still KD_OK. */
    CHECK_EQ(sim_mem_read(m, BASE + 0x2ff0, buf, 0x40, &got), KD_OK);
    CHECK_EQ(got, 0x10);
    /* Starts unmapped: nothing, KD_ERR_TARGET. */
    CHECK_EQ(sim_mem_read(m, BASE + 0x3000, buf, 4, &got), KD_ERR_TARGET);
    CHECK_EQ(got, 0);
    CHECK_EQ(sim_mem_read(m, BASE - 1, buf, 4, &got), KD_ERR_TARGET);
    /* Zero length is not an error. */
    CHECK_EQ(sim_mem_read(m, BASE + 0x9000, buf, 0, &got), KD_OK);
    /* Writes stop the same way. */
    uint8_t w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint32_t done;
    CHECK_EQ(sim_mem_write(m, BASE + 0x2ffc, w, 8, &done), KD_OK);
    CHECK_EQ(done, 4);
    CHECK_EQ(sim_mem_write(m, BASE + 0x4000, w, 8, &done), KD_ERR_TARGET);
    CHECK_EQ(sim_mem_put64(m, BASE + 0x2ffc, 1), KD_ERR_TARGET);
    CHECK_EQ(sim_mem_get64(m, BASE + 0x2ffc), 0); /* partial read gives 0 */
    sim_mem_free(m);
}

static void test_breakpoint_patch_and_restore(void)
{
    struct sim_mem *m = mem_with_two_regions();
    uint64_t a = BASE + 0x123;
    uint8_t b[4];
    uint32_t got, h, h2;
    CHECK_EQ(sim_mem_bp_write(m, a, &h), KD_OK);
    CHECK_EQ(h, 1);
    sim_mem_read(m, a - 1, b, 3, &got);
    const uint8_t patched[3] = {0x22, 0xCC, 0x24};
    CHECK_BYTES(b, patched, 3);
    CHECK(sim_mem_bp_at(m, a));
    /* The state-change instruction stream hides it. */
    sim_mem_read_clean(m, a - 1, b, 3, &got);
    const uint8_t clean[3] = {0x22, 0x23, 0x24};
    CHECK_BYTES(b, clean, 3);
    /* Same address again: same handle, original kept. */
    CHECK_EQ(sim_mem_bp_write(m, a, &h2), KD_OK);
    CHECK_EQ(h2, h);
    /* A write over it changes the saved byte, the int3 stays. */
    uint8_t v = 0x77;
    uint32_t done;
    sim_mem_write(m, a, &v, 1, &done);
    sim_mem_read(m, a, b, 1, &got);
    CHECK_EQ(b[0], 0xCC);
    struct sim_mem_bp list[4];
    CHECK_EQ(sim_mem_bp_list(m, list, 4), 1);
    CHECK_EQ(list[0].addr, a);
    CHECK_EQ(list[0].original, 0x77);
    CHECK_EQ(sim_mem_bp_restore(m, h), KD_OK);
    sim_mem_read(m, a, b, 1, &got);
    CHECK_EQ(b[0], 0x77);
    CHECK(!sim_mem_bp_at(m, a));
    CHECK_EQ(sim_mem_bp_list(m, list, 4), 0);
    /* Restoring what is not there fails as a kernel answers WinDbg's 1..32 sweep. */
    CHECK_EQ(sim_mem_bp_restore(m, h), KD_ERR_TARGET);
    CHECK_EQ(sim_mem_bp_restore(m, 0), KD_ERR_TARGET);
    CHECK_EQ(sim_mem_bp_restore(m, 33), KD_ERR_TARGET);
    CHECK_EQ(sim_mem_bp_write(m, BASE + 0x8000, &h), KD_ERR_TARGET); /* unmapped */
    sim_mem_free(m);
}

static void test_breakpoint_table_full(void)
{
    struct sim_mem *m = mem_with_two_regions();
    uint32_t h;
    for (int i = 0; i < SIM_MEM_BP_MAX; i++)
        CHECK_EQ(sim_mem_bp_write(m, BASE + 0x10 * (unsigned)i, &h), KD_OK);
    CHECK_EQ(h, SIM_MEM_BP_MAX);
    CHECK_EQ(sim_mem_bp_write(m, BASE + 0x1000, &h), KD_ERR_NOSPACE);
    CHECK_EQ(sim_mem_bp_restore(m, 5), KD_OK);
    CHECK_EQ(sim_mem_bp_write(m, BASE + 0x1000, &h), KD_OK);
    CHECK_EQ(h, 5); /* the freed handle is reused */
    sim_mem_free(m);
}

/* The embedded images are real mingw PE32+ files with what kdsim relies on. */
static void test_images_parse(void)
{
    struct sim_images im;
    CHECK_EQ(sim_images_init(&im), KD_OK);
    CHECK_EQ(im.nmods, 9);
    CHECK_STR(im.mods[0].name, "nt");
    CHECK_STR(im.mods[0].file, "ntoskrnl.exe");
    CHECK_EQ(im.mods[0].base, 0xfffff80535a00000ull);
    uint32_t rva;
    CHECK_EQ(sim_pe_export(&im.mods[0].pe, "KeBugCheckEx", &rva), KD_OK);
    CHECK_EQ(im.mods[0].base + rva, sim_images_addr(&im, "nt", "KeBugCheckEx"));
    CHECK_EQ(sim_pe_export(&im.mods[0].pe, "KiDoubleFaultAbort", &rva), KD_ERR_NOTFOUND);
    /* Every function with .pdata has one marked call inside it. */
    for (size_t i = 0; i < im.nfns; i++) {
        const struct sim_fn *f = &im.fns[i];
        if (f->data || !f->unwind)
            continue;
        CHECK(f->callsite > f->addr && f->callsite < f->addr + (f->end - f->rva));
        CHECK(sim_images_fn_at(&im, f->callsite) == f);
        CHECK_EQ(f->full.size, f->full.full_size);
    }
    /* Trap entries carry a machine frame; #DF's with the error code. */
    uint32_t df, sys;
    CHECK_EQ(sim_images_find(&im, "nt", "KiDoubleFaultAbort", &df), KD_OK);
    CHECK_EQ(sim_images_find(&im, "nt", "KiSystemServiceCopyEnd", &sys), KD_OK);
    CHECK(im.fns[df].full.machframe && im.fns[df].full.mf_errcode == 1);
    CHECK(im.fns[sys].full.machframe && im.fns[sys].full.mf_errcode == 0);
    CHECK_EQ(im.fns[df].full.frame_reg, 5);
    CHECK_EQ(im.fns[df].full.full_size, 0x160);
    /* At the entry only the machine frame applies. */
    struct sim_pe_unwind u;
    CHECK_EQ(sim_images_unwind_at(&im, df, im.fns[df].addr, &u), KD_OK);
    CHECK(u.machframe);
    CHECK_EQ(u.size, 0);
    /* Ntfs is built with a frame pointer: RBP-based frames. */
    uint32_t ntfs;
    CHECK_EQ(sim_images_find(&im, "Ntfs", "NtfsCommonWrite", &ntfs), KD_OK);
    CHECK_EQ(im.fns[ntfs].full.frame_reg, 5);
    CHECK(!im.fns[ntfs].exported);
    /* Prolog steps in execution order add up to the frame. */
    struct sim_pe_step steps[16];
    size_t n;
    const struct sim_fn *f = &im.fns[ntfs];
    CHECK_EQ(sim_pe_prolog(&im.mods[f->module].pe, f->unwind, steps, 16, &n), KD_OK);
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += steps[i].size;
        if (i)
            CHECK(steps[i].end >= steps[i - 1].end);
    }
    CHECK_EQ(sum, f->full.full_size);
    CHECK_EQ(steps[0].op, 0); /* push rbp first */
    sim_images_fini(&im);
}

static void test_pe_rejects_garbage(void)
{
    struct sim_pe pe;
    uint8_t junk[0x200] = {'M', 'Z'};
    CHECK_EQ(sim_pe_load(junk, sizeof(junk), &pe), KD_ERR_FORMAT);
    kd_put32(junk + 0x3C, 0x1F0); /* NT headers past the end */
    CHECK_EQ(sim_pe_load(junk, sizeof(junk), &pe), KD_ERR_FORMAT);
    CHECK_EQ(sim_pe_load(NULL, 0, &pe), KD_ERR_FORMAT);
    /* A truncated copy of a real image fails cleanly. */
    const struct sim_images_blob *b = &sim_images_data_blobs[0];
    CHECK_EQ(sim_pe_load(b->data, 0x100, &pe), KD_ERR_FORMAT);
    CHECK_EQ(sim_pe_load(b->data, b->size / 2, &pe), KD_ERR_FORMAT);
    CHECK_EQ(sim_pe_load(b->data, b->size, &pe), KD_OK);
    sim_pe_fini(&pe);
}

static void test_profile_table(void)
{
    size_t n;
    const struct sim_profile_field *t = sim_profile_table(&n);
    CHECK(n > 50);
    for (size_t i = 0; i < n; i++) {
        CHECK(t[i].source && t[i].source[0]);
        for (size_t j = i + 1; j < n; j++)
            CHECK(strcmp(t[i].name, t[j].name) != 0);
    }
    /* The values the brief pins down. */
    static const struct {
        const char *name;
        uint32_t value;
    } want[] = {
        {"KDBG.OffsetKThreadInitialStack", 0x29E},
        {"KDBG.OffsetKThreadKernelStack", 0x29C},
        {"KDBG.OffsetKThreadStackLimit", 0x340},
        {"KDBG.OffsetKThreadStackBase", 0x344},
        {"KDBG.OffsetKThreadState", 0x2A2},
        {"KDBG.OffsetKThreadApcProcess", 0x2A0},
        {"KTHREAD.InitialStack", 0x28},
        {"KTHREAD.StackLimit", 0x30},
        {"KTHREAD.StackBase", 0x38},
        {"KTHREAD.KernelStack", 0x58},
        {"KTHREAD.State", 0x184},
        {"KTHREAD.Process", 0x220},
        {"KPCR.Prcb", 0x180},
        {"KPRCB.CurrentThread", 0x8},
        {"KPCR.TssBase", 0x8},
        {"KTSS64.Ist1", 0x24},
        {"KSPECIAL_REGISTERS.Idtr.Limit", 0x66},
        {"KSPECIAL_REGISTERS.Idtr.Base", 0x68},
        {"EPROCESS.ActiveProcessLinks", 0x448},
        {"EPROCESS.UniqueProcessId", 0x440},
        {"EPROCESS.ThreadListHead", 0x5E0},
        {"ETHREAD.ThreadListEntry", 0x4E8},
        {"ETHREAD.Cid", 0x478},
        {"Version.MinorVersion", 19041},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        uint32_t v = 0;
        CHECK_EQ(sim_profile_lookup(want[i].name, &v), KD_OK);
        CHECK_EQ(v, want[i].value);
    }
    CHECK_EQ(sim_profile_lookup("KTHREAD.NoSuchField", NULL), KD_ERR_NOTFOUND);
}

int main(void)
{
    RUN(test_map_rules);
    RUN(test_reads_stop_at_unmapped);
    RUN(test_breakpoint_patch_and_restore);
    RUN(test_breakpoint_table_full);
    RUN(test_images_parse);
    RUN(test_pe_rejects_garbage);
    RUN(test_profile_table);
    return check_summary("test_kdsim_mem");
}
