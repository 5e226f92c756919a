/* test_monitor_pe.c: PE headers, exports and .pdata read from target memory. */
#include "check.h"
#include "fake_world.c"
#include "kd_status.h"
#include "pe_image.h"

static struct fake_world w;
static struct pe_image *img;

static int setup(void)
{
    struct fake_world_layout lay;
    fake_world_layout_19041(&lay);
    if (fake_world_build(&w, &lay, 1, 2) != 0)
        return -1;
    return pe_image_read(&w.t, w.nt_base, FAKE_NT_SIZE, &img);
}

static void teardown(void)
{
    pe_image_free(img);
    img = NULL;
    fake_world_free(&w);
}

static void test_headers(void)
{
    CHECK_EQ(setup(), KD_OK);
    CHECK(img != NULL);
    if (!img) {
        teardown();
        return;
    }
    CHECK_EQ(img->base, w.nt_base);
    CHECK_EQ(img->size_of_image, FAKE_NT_SIZE);
    CHECK_EQ(img->machine, 0x8664);
    CHECK(img->pe32plus);
    CHECK_EQ(img->image_base, 0x140000000ull);
    CHECK_EQ(img->entry_rva, 0x1000);
    CHECK_EQ(img->timestamp, 0x5F000000);
    CHECK_EQ(img->checksum, 0x9A3F1);
    CHECK_EQ(img->nsections, 4);
    CHECK_STR(img->sections[1].name, "KVASCODE");
    CHECK_EQ(img->sections[2].va, 0x20000);
    CHECK_EQ(img->ndirs, 16);
    CHECK_EQ(img->dirs[PE_DIR_EXPORT].rva, 0x20000);
    CHECK_EQ(img->dirs[PE_DIR_EXCEPTION].size, 96);
    const struct pe_section *s = pe_image_section(img, 0x5010);
    CHECK(s && strcmp(s->name, "KVASCODE") == 0);
    CHECK(pe_image_section(img, 0x10) == NULL);
    teardown();
}

static void test_exports(void)
{
    const struct pe_export *e;
    CHECK_EQ(setup(), KD_OK);
    if (!img) {
        teardown();
        return;
    }
    fake_target_reset_stats(w.ft);
    CHECK_EQ(pe_image_load_exports(&w.t, img), KD_OK);
    /* Names live inside the directory: one window read (+ nothing else). */
    CHECK_EQ(fake_target_stats(w.ft)->reads, 1);
    CHECK_EQ(img->nexports, 8); /* 7 named + 1 by ordinal; the empty slot dropped */
    CHECK_EQ(img->nnamed, 7);
    CHECK_EQ(pe_image_export_by_name(img, "KeBugCheckEx", &e), KD_OK);
    CHECK_EQ(img->base + e->rva, w.nt_base + FAKE_NT_KEBUGCHECKEX);
    CHECK_EQ(e->ordinal, 1);
    CHECK(!e->forwarder);
    CHECK_EQ(pe_image_export_by_name(img, "ExForwarded", &e), KD_OK);
    CHECK(e->forwarder);
    CHECK_EQ(pe_image_export_by_name(img, "PsInitialSystemProcess", &e), KD_OK);
    CHECK_EQ(e->rva, FAKE_NT_PSINITIALSYSTEMPROCESS);
    CHECK_EQ(pe_image_export_by_name(img, "KeBugCheck", &e), KD_ERR_NOTFOUND);
    CHECK_EQ(pe_image_export_by_name(img, "kebugcheckex", &e), KD_ERR_NOTFOUND);
    /* Nearest below: exact, inside, below the first, and by ordinal only. */
    CHECK_EQ(pe_image_export_below(img, FAKE_NT_KEWAIT + 0x20, &e), KD_OK);
    CHECK_STR(e->name, "KeWaitForSingleObject");
    CHECK_EQ(pe_image_export_below(img, FAKE_NT_KEBUGCHECKEX, &e), KD_OK);
    CHECK_STR(e->name, "KeBugCheckEx");
    CHECK_EQ(pe_image_export_below(img, 0x11FF, &e), KD_ERR_NOTFOUND);
    CHECK_EQ(pe_image_export_below(img, FAKE_NT_ORDINAL_ONLY + 4, &e), KD_OK);
    CHECK(e->name == NULL);
    CHECK_EQ(e->ordinal, 7);
    /* The forwarder (rva 0x20300) is never "the function below". */
    CHECK_EQ(pe_image_export_below(img, 0x20310, &e), KD_OK);
    CHECK_STR(e->name, "KeChainedParent");
    /* Cached: no second read. */
    fake_target_reset_stats(w.ft);
    CHECK_EQ(pe_image_load_exports(&w.t, img), KD_OK);
    CHECK_EQ(fake_target_stats(w.ft)->reads, 0);
    teardown();
}

static void test_pdata(void)
{
    struct pe_runtime_function f;
    bool ind;
    CHECK_EQ(setup(), KD_OK);
    if (!img) {
        teardown();
        return;
    }
    CHECK_EQ(pe_image_pdata_lookup(&w.t, img, 0x1210, &f, &ind), KD_ERR_STATE);
    CHECK_EQ(pe_image_load_pdata(&w.t, img), KD_OK);
    CHECK_EQ(img->npdata, 7);
    CHECK_EQ(img->pdata_dropped, 1); /* begin >= end */
    CHECK_EQ(pe_image_pdata_lookup(&w.t, img, 0x1210, &f, &ind), KD_OK);
    CHECK_EQ(f.begin, 0x1200);
    CHECK_EQ(f.end, 0x1280);
    CHECK_EQ(f.unwind, 0x32100);
    CHECK(!ind);
    CHECK_EQ(pe_image_pdata_lookup(&w.t, img, 0x127F, &f, &ind), KD_OK);
    CHECK_EQ(pe_image_pdata_lookup(&w.t, img, 0x1280, &f, &ind), KD_ERR_NOTFOUND);
    CHECK_EQ(pe_image_pdata_lookup(&w.t, img, 0x11FF, &f, &ind), KD_ERR_NOTFOUND);
    CHECK_EQ(pe_image_pdata_lookup(&w.t, img, FAKE_NT_LEAF, &f, &ind), KD_ERR_NOTFOUND);
    CHECK_EQ(pe_image_pdata_lookup(&w.t, img, 0x5000, &f, &ind), KD_OK);
    CHECK_EQ(f.begin, 0x5000);
    /* Indirect entry: followed once to the entry at 0x31000. */
    CHECK_EQ(pe_image_pdata_lookup(&w.t, img, 0x1A40, &f, &ind), KD_OK);
    CHECK(ind);
    CHECK_EQ(f.begin, 0x1A00);
    CHECK_EQ(f.unwind, 0x32100);
    /* A second indirection is refused. */
    put_rf(w.ft, w.nt_base + 0x31000, 0x1A00, 0x1A80, 0x31001);
    CHECK_EQ(pe_image_pdata_lookup(&w.t, img, 0x1A40, &f, &ind), KD_ERR_FORMAT);
    teardown();
}

static void test_hostile_headers(void)
{
    struct pe_image *p = NULL;
    CHECK_EQ(setup(), KD_OK);
    pe_image_free(img);
    img = NULL;
    uint64_t opt = w.nt_base + 0x98;
    /* SizeOfImage disagreeing with the loader's. */
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0x20000, &p), KD_ERR_FORMAT);
    CHECK(p == NULL);
    /* Over the 64 MiB cap. */
    fake_target_put32(w.ft, opt + 0x38, PE_IMAGE_MAX_SIZE + 0x1000);
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0, &p), KD_ERR_LENGTH);
    fake_target_put32(w.ft, opt + 0x38, FAKE_NT_SIZE);
    /* e_lfanew far away, too many sections, not PE, not MZ. */
    fake_target_put32(w.ft, w.nt_base + 0x3C, 0x7FFFFFF0);
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0, &p), KD_ERR_FORMAT);
    fake_target_put32(w.ft, w.nt_base + 0x3C, 0x80);
    fake_target_put16(w.ft, w.nt_base + 0x86, 200);
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0, &p), KD_ERR_LENGTH);
    fake_target_put16(w.ft, w.nt_base + 0x86, 4);
    fake_target_write(w.ft, w.nt_base + 0x80, "PX", 2);
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0, &p), KD_ERR_FORMAT);
    fake_target_write(w.ft, w.nt_base + 0x80, "PE", 2);
    fake_target_write(w.ft, w.nt_base, "ZM", 2);
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0, &p), KD_ERR_FORMAT);
    fake_target_write(w.ft, w.nt_base, "MZ", 2);
    CHECK_EQ(pe_image_read(&w.t, 0x1000, 0, &p), KD_ERR_ARG);
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0, &p), KD_OK);

    /* Export counts over the cap, and arrays pointing outside the image. */
    fake_target_put32(w.ft, w.nt_base + 0x20014, PE_IMAGE_MAX_EXPORTS + 1);
    CHECK_EQ(pe_image_load_exports(&w.t, p), KD_ERR_LENGTH);
    CHECK_EQ(pe_image_load_exports(&w.t, p), KD_ERR_LENGTH); /* cached */
    pe_image_free(p);
    fake_target_put32(w.ft, w.nt_base + 0x20014, 9);
    fake_target_put32(w.ft, w.nt_base + 0x2001C, FAKE_NT_SIZE - 8);
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0, &p), KD_OK);
    CHECK_EQ(pe_image_load_exports(&w.t, p), KD_ERR_FORMAT);
    CHECK_EQ(p->nexports, 0);
    pe_image_free(p);
    /* .pdata larger than the image, and more entries than the cap. */
    fake_target_put32(w.ft, opt + 0x74 + 3 * 8, FAKE_NT_SIZE);
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0, &p), KD_OK);
    CHECK_EQ(pe_image_load_pdata(&w.t, p), KD_ERR_FORMAT);
    pe_image_free(p);
    fake_target_put32(w.ft, opt + 0x74 + 3 * 8, 12 * (PE_IMAGE_MAX_PDATA + 1));
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0, &p), KD_OK);
    CHECK_EQ(pe_image_load_pdata(&w.t, p), KD_ERR_LENGTH);
    pe_image_free(p);
    fake_world_free(&w);
}

/* Large reads are split at the KD limit. */
static void test_chunked_reads(void)
{
    struct pe_image *p = NULL;
    CHECK_EQ(setup(), KD_OK);
    pe_image_free(img);
    img = NULL;
    /* Grow the export directory to 10000 bytes (names stay inside). */
    fake_target_put32(w.ft, w.nt_base + 0x98 + 0x74, 10000);
    CHECK_EQ(pe_image_read(&w.t, w.nt_base, 0, &p), KD_OK);
    fake_target_reset_stats(w.ft);
    CHECK_EQ(pe_image_load_exports(&w.t, p), KD_OK);
    CHECK_EQ(fake_target_stats(w.ft)->reads, 3);
    CHECK_EQ(fake_target_stats(w.ft)->max_len, 3944);
    CHECK_EQ(fake_target_stats(w.ft)->bytes, 10000);
    pe_image_free(p);
    fake_world_free(&w);
}

static void test_parse_headers_truncated(void)
{
    uint8_t b[0x200] = {'M', 'Z'};
    struct pe_image *p = (struct pe_image *)1;
    CHECK_EQ(pe_image_parse_headers(b, 0x3F, 0, 0, &p), KD_ERR_TRUNCATED);
    CHECK(p == NULL);
    kd_put32(b + 0x3C, 0x1F0);
    CHECK_EQ(pe_image_parse_headers(b, sizeof b, 0, 0, &p), KD_ERR_TRUNCATED);
    kd_put32(b + 0x3C, 0x10);
    CHECK_EQ(pe_image_parse_headers(b, sizeof b, 0, 0, &p), KD_ERR_TRUNCATED);
}

int main(void)
{
    RUN(test_headers);
    RUN(test_exports);
    RUN(test_pdata);
    RUN(test_hostile_headers);
    RUN(test_chunked_reads);
    RUN(test_parse_headers_truncated);
    return check_summary("test_monitor_pe");
}
