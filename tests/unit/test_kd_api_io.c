/* test_kd_api_io.c: DBGKD_DEBUG_IO and DBGKD_FILE_IO against bytes written by
 * hand from the fact sheet (§3.4), and the UTF-16 path conversion. */
#include "check.h"
#include "kd_api.h"
#include "kd_status.h"

static void debug_roundtrip(const uint8_t *vec, size_t n, struct kd_debug_io *d)
{
    uint8_t *in = check_dup(vec, n), out[4096];
    size_t used = 0;
    CHECK_EQ(kd_api_io_debug_decode(in, n, d), KD_OK);
    CHECK_EQ(kd_api_io_debug_encode(d, out, sizeof out, &used), KD_OK);
    CHECK_EQ(used, n);
    CHECK_BYTES(out, vec, n);
    if (n > KD_API_DEBUG_IO_SIZE)
        CHECK(d->data == in + KD_API_DEBUG_IO_SIZE);
    free(in);
}

static void debug_expect(const struct kd_debug_io *d, const uint8_t *vec, size_t n)
{
    uint8_t out[4096];
    size_t used = 0;
    CHECK_EQ(kd_api_io_debug_encode(d, out, sizeof out, &used), KD_OK);
    CHECK_EQ(used, n);
    CHECK_BYTES(out, vec, n);
}

static void file_roundtrip(const uint8_t *vec, size_t n, struct kd_file_io *f)
{
    uint8_t *in = check_dup(vec, n), out[4096];
    size_t used = 0;
    CHECK_EQ(kd_api_io_file_decode(in, n, f), KD_OK);
    CHECK_EQ(kd_api_io_file_encode(f, out, sizeof out, &used), KD_OK);
    CHECK_EQ(used, n);
    CHECK_BYTES(out, vec, n);
    free(in);
}

/* ---- DEBUG_IO -------------------------------------------------------------------- */

static const char bd_text[] = "BD: Boot Debugger Initialized";

static void test_print_string(void)
{
    uint8_t v[128];
    size_t n;
    struct kd_debug_io d;
    check_hex(v, 0, "30 32 00 00 00 00 00 00 1d 00 00 00 00 00 00 00");
    memcpy(v + 0x10, bd_text, 29);
    n = 0x10 + 29;
    CHECK_EQ(kd_api_io_print_string(&d, 0, bd_text, 29), KD_OK);
    debug_expect(&d, v, n);
    debug_roundtrip(v, n, &d);
    CHECK(d.known);
    CHECK_EQ(d.u.print.length, 29);
    CHECK_EQ(d.text_len, 29);
    CHECK_EQ(kd_api_io_debug_decode(v, n, &d), KD_OK); /* data points into v */
    CHECK(d.data == v + 0x10);
    CHECK_STR(kd_api_name(d.api), "PrintString");
    /* Junk at 0x0C and a processor survive. */
    check_hex(v, 0, "30 32 00 00 06 00 01 00 1d 00 00 00 ef be ad de");
    debug_roundtrip(v, n, &d);
    CHECK_EQ(d.processor, 1);
    CHECK_EQ(d.processor_level, 6);
}

static void test_print_string_bounded(void)
{
    /* LengthOfString 100 but 5 bytes in the packet. */
    uint8_t v[32];
    size_t n = check_hex(v, 0, "30 32 00 00 00 00 00 00 64 00 00 00 00 00 00 00 68 65 6c 6c 6f");
    struct kd_debug_io d;
    debug_roundtrip(v, n, &d);
    CHECK_EQ(d.u.print.length, 100);
    CHECK_EQ(d.text_len, 5);
    /* And a shorter length than the payload. */
    check_hex(v, 8, "02");
    debug_roundtrip(v, n, &d);
    CHECK_EQ(d.text_len, 2);
    CHECK_EQ(d.data_len, 5);
}

static void test_get_string(void)
{
    uint8_t v[64];
    size_t n = check_hex(v, 0, "31 32 00 00 00 00 00 00 04 00 00 00 00 01 00 00 6b 64 3e 20");
    struct kd_debug_io req, rep;
    CHECK_EQ(kd_api_io_get_string(&req, 0, "kd> ", 4, 0x100), KD_OK);
    debug_expect(&req, v, n);
    debug_roundtrip(v, n, &req);
    CHECK_EQ(req.u.get.prompt_length, 4);
    CHECK_EQ(req.u.get.read_length, 0x100);
    CHECK_EQ(req.text_len, 4);
    /* Host reply: LengthOfStringRead = 2, text "g\n". */
    n = check_hex(v, 0, "31 32 00 00 00 00 00 00 04 00 00 00 02 00 00 00 67 0a");
    CHECK_EQ(kd_api_io_get_string_reply(&rep, &req, "g\n", 2), KD_OK);
    debug_expect(&rep, v, n);
    CHECK_EQ(kd_api_io_get_string_reply(&rep, &req, "x", 0x101), KD_ERR_LENGTH);
}

static void test_debug_io_truncated_unknown(void)
{
    uint8_t v[4001] = {0};
    struct kd_debug_io d;
    size_t n = check_hex(v, 0, "30 32 00 00 00 00 00 00 1d 00 00 00 00 00 00 00");
    for (size_t len = 0; len < n; len++) {
        uint8_t *in = check_dup(v, len);
        CHECK_EQ(kd_api_io_debug_decode(in, len, &d), KD_ERR_TRUNCATED);
        free(in);
    }
    CHECK_EQ(kd_api_io_debug_decode(v, 4000, &d), KD_OK);
    CHECK_EQ(kd_api_io_debug_decode(v, 4001, &d), KD_ERR_LENGTH);
    n = check_hex(v, 0, "99 32 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d");
    debug_roundtrip(v, n, &d);
    CHECK(!d.known);
    CHECK_EQ(d.text_len, 0);
    CHECK_EQ(kd_api_io_print_string(&d, 0, NULL, 1), KD_ERR_ARG);
    CHECK_EQ(kd_api_io_print_string(&d, 0, (const char *)v, 4000 - 0x10 + 1), KD_ERR_LENGTH);
}

/* ---- FILE_IO --------------------------------------------------------------------- */

/* CreateFile of "\hal.chk" (header values illustrative). */
static size_t create_vec(uint8_t *v)
{
    memset(v, 0, 0x60);
    check_hex(v, 0x00, "30 34 00 00 00 00 00 00");
    check_hex(v, 0x08, "00 00 00 80 80 00 00 00"); /* DesiredAccess GENERIC_READ, attributes */
    check_hex(v, 0x10, "01 00 00 00 01 00 00 00"); /* ShareAccess, CreateDisposition */
    check_hex(v, 0x18, "20 00 00 00");             /* CreateOptions */
    return check_hex(v, 0x40, "5c 00 68 00 61 00 6c 00 2e 00 63 00 68 00 6b 00 00 00");
}

static void test_create_file_and_reply(void)
{
    uint8_t v[0x60], name16[18];
    size_t n = create_vec(v);
    struct kd_file_io f, rep, built;
    uint8_t out[0x100];
    size_t used;
    file_roundtrip(v, n, &f);
    CHECK(f.known);
    CHECK_STR(kd_api_name(f.api), "CreateFile");
    CHECK_EQ(f.u.create.desired_access, 0x80000000);
    CHECK_EQ(f.u.create.file_attributes, 0x80);
    CHECK_EQ(f.u.create.share_access, 1);
    CHECK_EQ(f.u.create.create_disposition, 1);
    CHECK_EQ(f.u.create.create_options, 0x20);
    CHECK_STR(f.path, "\\hal.chk");
    CHECK_EQ(f.data_len, 18);
    /* The host's answer: same header, 0xC000000F, no data. */
    kd_api_io_file_reply(&rep, &f, STATUS_NO_SUCH_FILE);
    CHECK_EQ(kd_api_io_file_encode(&rep, out, sizeof out, &used), KD_OK);
    CHECK_EQ(used, 0x40);
    check_hex(v, 0x04, "0f 00 00 c0");
    CHECK_BYTES(out, v, 0x40);
    /* The target-side builder. */
    memcpy(name16, v + 0x40, sizeof name16);
    CHECK_EQ(kd_api_io_create_file(&built, 0x80000000, 1, 1, 0x20, name16, sizeof name16), KD_OK);
    built.u.create.file_attributes = 0x80;
    CHECK_EQ(kd_api_io_file_encode(&built, out, sizeof out, &used), KD_OK);
    check_hex(v, 0x04, "00 00 00 00");
    CHECK_EQ(used, n);
    CHECK_BYTES(out, v, n);
    CHECK_STR(built.path, "\\hal.chk");
    CHECK_EQ(kd_api_io_file_encode(&built, out, n - 1, &used), KD_ERR_NOSPACE);
}

/* Decodes a CreateFile whose name is the given UTF-16 bytes (exact heap copy). */
static void path_of(const char *hex16, char *got, size_t cap)
{
    uint8_t v[0x40 + 1024];
    size_t n;
    struct kd_file_io f;
    memset(v, 0, 0x40);
    check_hex(v, 0, "30 34 00 00");
    n = check_hex(v, 0x40, hex16);
    file_roundtrip(v, n, &f);
    snprintf(got, cap, "%s", f.path);
}

static void test_utf16_paths(void)
{
    char got[KD_API_STRING_MAX];
    path_of("41 00 e9 00", got, sizeof got); /* "Aé", no NUL */
    CHECK_STR(got, "A\xc3\xa9");
    path_of("3d d8 00 de 00 00 41 00", got, sizeof got); /* U+1F600, NUL stops */
    CHECK_STR(got, "\xf0\x9f\x98\x80");
    path_of("41 00 3d d8", got, sizeof got); /* high surrogate at the end */
    CHECK_STR(got, "A?");
    path_of("3d d8 41 00", got, sizeof got); /* high surrogate, then no low */
    CHECK_STR(got, "?A");
    path_of("00 de 42 00", got, sizeof got); /* lone low surrogate */
    CHECK_STR(got, "?B");
    path_of("01 00 85 00 7f 00 0a 00", got, sizeof got); /* C0, C1, DEL, LF */
    CHECK_STR(got, "????");
    path_of("41 00 42", got, sizeof got); /* odd trailing byte ignored */
    CHECK_STR(got, "A");
    path_of("", got, sizeof got);
    CHECK_STR(got, "");
    path_of("2d 4e 2d 4e", got, sizeof got); /* U+4E2D twice */
    CHECK_STR(got, "\xe4\xb8\xad\xe4\xb8\xad");
}

static void test_utf16_path_cut_on_boundary(void)
{
    uint8_t v[0x40 + 600];
    struct kd_file_io f;
    memset(v, 0, 0x40);
    check_hex(v, 0, "30 34 00 00");
    for (int i = 0; i < 300; i++) { /* 300 x U+4E2D = 900 bytes of UTF-8 */
        v[0x40 + 2 * i] = 0x2d;
        v[0x40 + 2 * i + 1] = 0x4e;
    }
    file_roundtrip(v, sizeof v, &f);
    CHECK_EQ(strlen(f.path), 510); /* 170 whole characters fit in 511 */
    CHECK_EQ((uint8_t)f.path[507], 0xe4);
}

static void test_file_io_layouts(void)
{
    uint8_t v[0x40];
    struct kd_file_io f;
    for (int k = 0; k < 0x40; k++)
        v[k] = (uint8_t)k;
    check_hex(v, 0, "31 34 00 00"); /* ReadFile */
    file_roundtrip(v, sizeof v, &f);
    CHECK_EQ(f.status, 0x07060504);
    CHECK_EQ(f.u.rw.handle, 0x0F0E0D0C0B0A0908);
    CHECK_EQ(f.u.rw.offset, 0x1716151413121110);
    CHECK_EQ(f.u.rw.length, 0x1B1A1918);
    check_hex(v, 0, "32 34 00 00"); /* WriteFile */
    file_roundtrip(v, sizeof v, &f);
    CHECK_EQ(f.u.rw.length, 0x1B1A1918);
    check_hex(v, 0, "33 34 00 00"); /* CloseFile */
    file_roundtrip(v, sizeof v, &f);
    CHECK_EQ(f.u.close.handle, 0x0F0E0D0C0B0A0908);
    check_hex(v, 0, "30 34 00 00"); /* CreateFile */
    file_roundtrip(v, sizeof v, &f);
    CHECK_EQ(f.u.create.desired_access, 0x0B0A0908);
    CHECK_EQ(f.u.create.file_attributes, 0x0F0E0D0C);
    CHECK_EQ(f.u.create.share_access, 0x13121110);
    CHECK_EQ(f.u.create.create_disposition, 0x17161514);
    CHECK_EQ(f.u.create.create_options, 0x1B1A1918);
    CHECK_EQ(f.u.create.handle, 0x2726252423222120);
    CHECK_EQ(f.u.create.length, 0x2F2E2D2C2B2A2928);
    check_hex(v, 0, "99 34 00 00"); /* unknown */
    file_roundtrip(v, sizeof v, &f);
    CHECK(!f.known);
}

static void test_file_io_truncated(void)
{
    uint8_t v[4001] = {0};
    struct kd_file_io f;
    create_vec(v);
    for (size_t len = 0; len < KD_API_FILE_IO_SIZE; len++) {
        uint8_t *in = check_dup(v, len);
        CHECK_EQ(kd_api_io_file_decode(in, len, &f), KD_ERR_TRUNCATED);
        free(in);
    }
    CHECK_EQ(kd_api_io_file_decode(v, 4000, &f), KD_OK);
    CHECK_EQ(kd_api_io_file_decode(v, 4001, &f), KD_ERR_LENGTH);
    CHECK_EQ(kd_api_io_create_file(&f, 0, 0, 0, 0, v, 4000 - 0x40 + 1), KD_ERR_LENGTH);
}

int main(void)
{
    RUN(test_print_string);
    RUN(test_print_string_bounded);
    RUN(test_get_string);
    RUN(test_debug_io_truncated_unknown);
    RUN(test_create_file_and_reply);
    RUN(test_utf16_paths);
    RUN(test_utf16_path_cut_on_boundary);
    RUN(test_file_io_layouts);
    RUN(test_file_io_truncated);
    return check_summary("test_kd_api_io");
}
