/* test_monitor_modules.c: the PsLoadedModuleList walk. */
#include "check.h"
#include "fake_world.c"
#include "kd_status.h"
#include "modules.h"

static void build(struct fake_world *w)
{
    struct fake_world_layout lay;
    fake_world_layout_19041(&lay);
    CHECK(fake_world_build(w, &lay, 1, 2) == 0);
}

static void test_walk(void)
{
    struct fake_world w;
    build(&w);
    struct modules *m = modules_new();
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_OK);
    CHECK(m->complete);
    CHECK_EQ(m->n, 3);
    CHECK_STR(m->v[0].name, "ntoskrnl.exe");
    CHECK_STR(m->v[0].path, "\\SystemRoot\\system32\\ntoskrnl.exe");
    CHECK_EQ(m->v[0].base, w.nt_base);
    CHECK_EQ(m->v[0].size, FAKE_NT_SIZE);
    CHECK_STR(m->v[1].name, "hal.dll");
    CHECK_EQ(m->v[1].base, w.hal_base);
    CHECK_EQ(m->v[1].size, 0x20000);
    CHECK_STR(m->v[2].name, "CLASSPNP.SYS");
    CHECK_EQ(m->v[2].base, w.drv_base);
    CHECK_EQ(m->v[2].size, 0x10000);
    CHECK(modules_find(m, w.drv_base + 0xFFFF) == &m->v[2]);
    CHECK(modules_find(m, w.drv_base + 0x10000) == NULL);
    CHECK(modules_find(m, w.nt_base) == &m->v[0]);
    CHECK(modules_find_name(m, "classpnp.sys") == &m->v[2]);
    CHECK(modules_find_name(m, "classpnp") == NULL);
    modules_free(m);
    fake_world_free(&w);
}

static void test_loop_terminates(void)
{
    struct fake_world w;
    build(&w);
    struct modules *m = modules_new();
    uint64_t e1, e2;
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_OK);
    e1 = m->v[1].entry;
    e2 = m->v[2].entry;
    /* e2 -> e1 instead of -> head: a cycle that never returns to the head
     * (e1's Blink is e0, so the walk must stop on the repeat, whatever). */
    fake_target_put64(w.ft, e2, e1);
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_ERR_FORMAT);
    CHECK(!m->complete);
    CHECK_EQ(m->n, 3);
    /* A self-loop with a consistent Blink is caught by the seen-set. */
    fake_target_put64(w.ft, e2, e2);
    fake_target_put64(w.ft, e2 + 8, e2);
    fake_target_put64(w.ft, e1, e2);
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_ERR_FORMAT);
    CHECK_EQ(m->n, 2); /* e2's Blink is not e1: refused at e2 */
    modules_free(m);
    fake_world_free(&w);
}

static void test_bogus_pointer(void)
{
    struct fake_world w;
    build(&w);
    struct modules *m = modules_new();
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_OK);
    uint64_t e1 = m->v[1].entry;
    /* Flink to a user address: stop with an error, keep what was read. */
    fake_target_put64(w.ft, e1, 0x0000000012345678ull);
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_ERR_FORMAT);
    CHECK_EQ(m->n, 2);
    CHECK_STR(m->v[1].name, "hal.dll");
    /* Flink to unmapped kernel memory: the read error. */
    fake_target_put64(w.ft, e1, 0xFFFFF8FF00000000ull);
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_ERR_TARGET);
    CHECK_EQ(m->n, 2);
    /* Misaligned Flink. */
    fake_target_put64(w.ft, e1, m->v[0].entry + 3);
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_ERR_FORMAT);
    modules_free(m);
    fake_world_free(&w);
}

static void test_bad_name_kept(void)
{
    struct fake_world w;
    build(&w);
    struct modules *m = modules_new();
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_OK);
    uint64_t e1 = m->v[1].entry;
    /* BaseDllName.Buffer unmapped, FullDllName odd length: names empty, walk goes on. */
    fake_target_put64(w.ft, e1 + 0x60, 0xFFFFF8FF00000000ull);
    fake_target_put16(w.ft, e1 + 0x48, 7);
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_OK);
    CHECK_EQ(m->n, 3);
    CHECK_STR(m->v[1].name, "");
    CHECK_STR(m->v[1].path, "");
    CHECK_STR(m->v[2].name, "CLASSPNP.SYS");
    modules_free(m);
    fake_world_free(&w);
}

static void test_cap(void)
{
    struct fake_world w;
    build(&w);
    /* A list of MODULES_MAX + 1 entries: refused with KD_ERR_LENGTH. */
    size_t n = MODULES_MAX + 1;
    uint64_t base = fake_world_alloc(&w, n * 0x70);
    for (size_t i = 0; i < n; i++) {
        uint64_t e = base + i * 0x70;
        fake_target_put64(w.ft, e, i + 1 < n ? e + 0x70 : w.module_head);
        fake_target_put64(w.ft, e + 8, i ? e - 0x70 : w.module_head);
    }
    fake_target_put64(w.ft, w.module_head, base);
    struct modules *m = modules_new();
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_ERR_LENGTH);
    CHECK_EQ(m->n, MODULES_MAX);
    modules_free(m);
    fake_world_free(&w);
}

static void test_lazy_pe_cached(void)
{
    struct fake_world w;
    struct pe_image *pe, *pe2;
    build(&w);
    struct modules *m = modules_new();
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_OK);
    CHECK(m->v[0].pe == NULL);
    CHECK_EQ(modules_pe(&w.t, &m->v[0], &pe), KD_OK);
    CHECK(pe != NULL && pe->size_of_image == FAKE_NT_SIZE);
    fake_target_reset_stats(w.ft);
    CHECK_EQ(modules_pe(&w.t, &m->v[0], &pe2), KD_OK);
    CHECK(pe2 == pe);
    CHECK_EQ(fake_target_stats(w.ft)->reads, 0);
    /* hal has no image mapped: the failure is cached too. */
    CHECK_EQ(modules_pe(&w.t, &m->v[1], &pe2), KD_ERR_TARGET);
    CHECK(pe2 == NULL);
    fake_target_reset_stats(w.ft);
    CHECK_EQ(modules_pe(&w.t, &m->v[1], &pe2), KD_ERR_TARGET);
    CHECK_EQ(fake_target_stats(w.ft)->reads, 0);
    /* Re-walk after a module load: the unchanged nt keeps its image. */
    CHECK_EQ(modules_walk(&w.t, w.module_head, m), KD_OK);
    CHECK(m->v[0].pe == pe);
    modules_forget_pe(&m->v[0]);
    CHECK(m->v[0].pe == NULL);
    CHECK_EQ(modules_pe(&w.t, &m->v[0], &pe), KD_OK);
    modules_free(m);
    modules_free(NULL);
    fake_world_free(&w);
}

static void test_utf16(void)
{
    char out[16];
    /* "aé" U+1F600 "z" */
    const uint8_t s[] = {'a', 0, 0xE9, 0, 0x3D, 0xD8, 0x00, 0xDE, 'z', 0};
    CHECK_EQ(modules_utf16_to_utf8(s, sizeof s, out, sizeof out), 8);
    CHECK_STR(out, "a\xC3\xA9\xF0\x9F\x98\x80z");
    /* Unpaired surrogate and a control character become '?'. */
    const uint8_t bad[] = {0x00, 0xD8, 'x', 0, 0x07, 0};
    modules_utf16_to_utf8(bad, sizeof bad, out, sizeof out);
    CHECK_STR(out, "?x?");
    /* Cut on a character boundary. */
    CHECK_EQ(modules_utf16_to_utf8(s, sizeof s, out, 4), 3);
    CHECK_STR(out, "a\xC3\xA9");
    CHECK_EQ(modules_utf16_to_utf8(s, 3, out, sizeof out), 1); /* odd length */
}

int main(void)
{
    RUN(test_walk);
    RUN(test_loop_terminates);
    RUN(test_bogus_pointer);
    RUN(test_bad_name_kept);
    RUN(test_cap);
    RUN(test_lazy_pe_cached);
    RUN(test_utf16);
    return check_summary("test_monitor_modules");
}
