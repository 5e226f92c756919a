/* test_kd_api_state.c: DBGKD_ANY_WAIT_STATE_CHANGE against bytes placed by
 * hand at the fact sheet's offsets (§3.3), using the capture's values (§9). */
#include "check.h"
#include "kd_api.h"
#include "kd_status.h"

static void state_roundtrip(const uint8_t *vec, size_t n, struct kd_state_change *sc)
{
    uint8_t *in = check_dup(vec, n), out[4096];
    size_t used = 0;
    CHECK_EQ(kd_api_state_decode(in, n, sc), KD_OK);
    CHECK_EQ(kd_api_state_encode(sc, out, sizeof out, &used), KD_OK);
    CHECK_EQ(used, n);
    CHECK_BYTES(out, vec, n);
    if (n > KD_API_STATE_SIZE)
        CHECK(sc->extra == in + KD_API_STATE_SIZE);
    free(in);
}

static void state_expect(const struct kd_state_change *sc, const uint8_t *vec, size_t n)
{
    uint8_t out[4096];
    size_t used = 0;
    CHECK_EQ(kd_api_state_encode(sc, out, sizeof out, &used), KD_OK);
    CHECK_EQ(used, n);
    CHECK_BYTES(out, vec, n);
}

/* AMD64 control report used by the vectors below (values illustrative except
 * Dr7 0x400 and ReportFlags 1, which the boot debugger sends). */
static void report_amd64_at(uint8_t *v)
{
    check_hex(v, 0xC0, "f0 0f fe ff 00 00 00 00"); /* Dr6 0xfffe0ff0 */
    check_hex(v, 0xC8, "00 04 00 00 00 00 00 00"); /* Dr7 0x400 */
    check_hex(v, 0xD0, "86 00 00 00 10 00 01 00"); /* EFlags 0x86, count 16, flags 1 */
    check_hex(v, 0xD8, "cc 48 83 ec 28 e8 00 00 00 00 90 90 90 90 90 c3");
    check_hex(v, 0xE8, "10 00 18 00 18 00 53 00"); /* Cs Ds Es Fs */
}

static void report_amd64_struct(struct kd_report_amd64 *r)
{
    static const uint8_t stream[16] = {0xcc, 0x48, 0x83, 0xec, 0x28, 0xe8, 0,    0,
                                       0,    0,    0x90, 0x90, 0x90, 0x90, 0x90, 0xc3};
    memset(r, 0, sizeof *r);
    r->dr6 = 0xfffe0ff0;
    r->dr7 = 0x400;
    r->eflags = 0x86;
    r->instruction_count = 16;
    r->report_flags = AMD64_REPORT_INCLUDES_SEGS;
    memcpy(r->instruction_stream, stream, 16);
    r->seg_cs = 0x10;
    r->seg_ds = 0x18;
    r->seg_es = 0x18;
    r->seg_fs = 0x53;
}

/* The capture's first stop: LoadSymbols winload.efi. */
static size_t winload_vec(uint8_t *v)
{
    memset(v, 0, 0x100);
    check_hex(v, 0x00, "31 30 00 00 00 00 00 00 01 00 00 00 00 00 00 00");
    check_hex(v, 0x18, "85 96 a7 00 00 00 00 00"); /* PC 0xa79685 */
    check_hex(v, 0x20, "0c 00 00 00");             /* PathNameLength 12 */
    check_hex(v, 0x28, "00 f0 96 00 00 00 00 00"); /* BaseOfDll */
    check_hex(v, 0x30, "ff ff ff ff ff ff ff ff"); /* ProcessId -1 */
    check_hex(v, 0x38, "3f 9e 14 00 00 d0 17 00"); /* CheckSum, SizeOfImage */
    report_amd64_at(v);
    return check_hex(v, 0xF0, "77 69 6e 6c 6f 61 64 2e 65 66 69 00"); /* "winload.efi" */
}

static void test_load_symbols_winload(void)
{
    uint8_t v[0x100];
    size_t n = winload_vec(v);
    struct kd_state_change sc;
    struct kd_report_amd64 r, want;
    state_roundtrip(v, n, &sc);
    CHECK(sc.known);
    CHECK_EQ(sc.new_state, DbgKdLoadSymbolsStateChange);
    CHECK_EQ(sc.number_processors, 1);
    CHECK_EQ(sc.program_counter, 0xa79685);
    CHECK_EQ(sc.u.load.path_length, 12);
    CHECK_EQ(sc.u.load.base, 0x96f000);
    CHECK_EQ(sc.u.load.process_id, UINT64_MAX);
    CHECK_EQ(sc.u.load.checksum, 0x149e3f);
    CHECK_EQ(sc.u.load.size, 0x17d000);
    CHECK_EQ(sc.u.load.unload, 0);
    CHECK_STR(sc.u.load.path, "winload.efi");
    CHECK_EQ(sc.extra_len, 12);
    kd_api_state_report_amd64(&sc, &r);
    report_amd64_struct(&want);
    CHECK_EQ(r.dr6, want.dr6);
    CHECK_EQ(r.dr7, 0x400);
    CHECK_EQ(r.eflags, 0x86);
    CHECK_EQ(r.instruction_count, 16);
    CHECK_EQ(r.stream_len, 16);
    CHECK_EQ(r.report_flags, 1);
    CHECK_BYTES(r.instruction_stream, want.instruction_stream, 16);
    CHECK_EQ(r.seg_cs, 0x10);
    CHECK_EQ(r.seg_fs, 0x53);
    /* The target-side builder produces the same bytes. */
    kd_api_state_init(&sc, DbgKdLoadSymbolsStateChange, 0, 1, 0, 0xa79685);
    CHECK_EQ(kd_api_state_load_symbols(&sc, "winload.efi", 0x96f000, 0x17d000, 0x149e3f, false),
             KD_OK);
    kd_api_state_set_report_amd64(&sc, &want);
    state_expect(&sc, v, n);
    CHECK_STR(sc.u.load.path, "winload.efi");
}

static void test_load_symbols_unload_all(void)
{
    /* The capture's last stop: UnloadSymbols = 1, BaseOfDll -1, no path. */
    uint8_t v[0x100];
    size_t n = KD_API_STATE_SIZE;
    struct kd_state_change sc;
    struct kd_report_amd64 r;
    memset(v, 0, sizeof v);
    check_hex(v, 0x00, "31 30 00 00 00 00 00 00 01 00 00 00 00 00 00 00");
    check_hex(v, 0x18, "7f f0 9c 00 00 00 00 00");
    check_hex(v, 0x28, "ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff");
    check_hex(v, 0x40, "01");
    report_amd64_at(v);
    state_roundtrip(v, n, &sc);
    CHECK_EQ(sc.u.load.unload, 1);
    CHECK_EQ(sc.u.load.base, UINT64_MAX);
    CHECK_STR(sc.u.load.path, "");
    CHECK(sc.extra == NULL);
    kd_api_state_init(&sc, DbgKdLoadSymbolsStateChange, 0, 1, 0, 0x9cf07f);
    CHECK_EQ(kd_api_state_load_symbols(&sc, NULL, UINT64_MAX, 0, 0, true), KD_OK);
    report_amd64_struct(&r);
    kd_api_state_set_report_amd64(&sc, &r);
    state_expect(&sc, v, n);
}

/* The capture's breakpoint: int3 at 0x9cf07d, PC 0x9cf07e, first chance. */
static void test_exception_breakpoint(void)
{
    uint8_t v[0x100];
    struct kd_state_change sc;
    struct kd_report_amd64 r;
    uint64_t zero = 0;
    memset(v, 0, sizeof v);
    check_hex(v, 0x00, "30 30 00 00 00 00 00 00 01 00 00 00 00 00 00 00");
    check_hex(v, 0x18, "7e f0 9c 00 00 00 00 00"); /* PC */
    check_hex(v, 0x20, "03 00 00 80 00 00 00 00"); /* STATUS_BREAKPOINT, flags 0 */
    check_hex(v, 0x30, "7d f0 9c 00 00 00 00 00"); /* ExceptionAddress */
    check_hex(v, 0x38, "01 00 00 00");             /* NumberParameters */
    check_hex(v, 0xB8, "01 00 00 00");             /* FirstChance */
    report_amd64_at(v);
    kd_api_state_init(&sc, DbgKdExceptionStateChange, 0, 1, 0, 0x9cf07e);
    CHECK_EQ(kd_api_state_exception(&sc, STATUS_BREAKPOINT, 0x9cf07d, true, 1, &zero), KD_OK);
    report_amd64_struct(&r);
    kd_api_state_set_report_amd64(&sc, &r);
    state_expect(&sc, v, KD_API_STATE_SIZE);
    /* Junk past NumberParameters and in the pad, as the capture has. */
    check_hex(v, 0x3C, "ef be ad de");
    check_hex(v, 0x48, "11 22 33 44 55 66 77 88");
    check_hex(v, 0xB0, "99 aa bb cc dd ee ff 00");
    check_hex(v, 0xBC, "12 34 56 78");
    state_roundtrip(v, KD_API_STATE_SIZE, &sc);
    CHECK(sc.known);
    CHECK_STR(kd_api_state_name(sc.new_state), "Exception");
    CHECK_EQ(sc.u.exception.code, STATUS_BREAKPOINT);
    CHECK_EQ(sc.u.exception.flags, 0);
    CHECK_EQ(sc.u.exception.address, 0x9cf07d);
    CHECK_EQ(sc.u.exception.nparams, 1);
    CHECK_EQ(sc.u.exception.info[0], 0);
    CHECK_EQ(sc.u.exception.info[1], 0x8877665544332211);
    CHECK_EQ(sc.u.exception.info[14], 0x00ffeeddccbbaa99);
    CHECK_EQ(sc.u.exception.first_chance, 1);
    CHECK_EQ(sc.program_counter - sc.u.exception.address, 1);
    CHECK_EQ(kd_api_state_exception(&sc, 0, 0, false, 16, &zero), KD_ERR_ARG);
    CHECK_EQ(kd_api_state_exception(&sc, 0, 0, false, 1, NULL), KD_ERR_ARG);
}

static void test_exception_nparams_bound(void)
{
    uint8_t v[0x100];
    struct kd_state_change sc;
    memset(v, 0xa5, sizeof v);
    check_hex(v, 0x00, "30 30 00 00");
    check_hex(v, 0x38, "20 00 00 00"); /* 32 parameters claimed */
    state_roundtrip(v, KD_API_STATE_SIZE, &sc);
    CHECK_EQ(sc.u.exception.number_parameters, 32);
    CHECK_EQ(sc.u.exception.nparams, 15);
}

static void test_alternate_and_unknown_state(void)
{
    uint8_t v[0x100];
    struct kd_state_change sc;
    memset(v, 0, sizeof v);
    check_hex(v, 0x00, "30 30 01 00"); /* Exception | DbgKdAlternateStateChange */
    check_hex(v, 0x20, "04 00 00 80"); /* STATUS_SINGLE_STEP */
    state_roundtrip(v, KD_API_STATE_SIZE, &sc);
    CHECK(sc.known);
    CHECK_EQ(sc.u.exception.code, STATUS_SINGLE_STEP);
    for (size_t i = 0; i < sizeof v; i++)
        v[i] = (uint8_t)(i * 7 + 3);
    check_hex(v, 0x00, "99 30 00 00"); /* no such state */
    state_roundtrip(v, sizeof v, &sc);
    CHECK(!sc.known);
    CHECK_EQ(sc.new_state, 0x3099);
    CHECK_EQ(sc.extra_len, 0x10);
}

static void test_command_string(void)
{
    uint8_t v[0x110], buf[64];
    size_t n;
    struct kd_state_change sc;
    memset(v, 0, sizeof v);
    check_hex(v, 0x00, "32 30 00 00 00 00 00 00 01 00 00 00 00 00 00 00");
    n = check_hex(v, 0xF0, "6e 74 00 2e 72 65 6c 6f 61 64 00"); /* "nt" ".reload" */
    state_roundtrip(v, n, &sc);
    CHECK(sc.known);
    CHECK_STR(sc.u.command.name, "nt");
    CHECK_STR(sc.u.command.command, ".reload");
    kd_api_state_init(&sc, DbgKdCommandStringStateChange, 0, 1, 0, 0);
    CHECK_EQ(kd_api_state_command_string(&sc, "nt", ".reload", buf, sizeof buf), KD_OK);
    state_expect(&sc, v, n);
    CHECK_STR(sc.u.command.command, ".reload");
    CHECK_EQ(kd_api_state_command_string(&sc, "nt", ".reload", buf, 10), KD_ERR_NOSPACE);
    /* Unterminated, with a control byte: bounded and made printable. */
    n = check_hex(v, 0xF0, "61 0a 62");
    state_roundtrip(v, n, &sc);
    CHECK_STR(sc.u.command.name, "a?b");
    CHECK_STR(sc.u.command.command, "");
}

static void test_load_symbols_path_bounds(void)
{
    uint8_t v[0x100 + 600];
    struct kd_state_change sc;
    size_t n;
    memset(v, 0, sizeof v);
    check_hex(v, 0x00, "31 30 00 00");
    /* PathNameLength 100 but only "abcde" (no NUL) in the packet. */
    check_hex(v, 0x20, "64 00 00 00");
    n = check_hex(v, 0xF0, "61 62 63 64 65");
    state_roundtrip(v, n, &sc);
    CHECK_STR(sc.u.load.path, "abcde");
    /* PathNameLength 3 cuts a longer string. */
    check_hex(v, 0x20, "03 00 00 00");
    state_roundtrip(v, n, &sc);
    CHECK_STR(sc.u.load.path, "abc");
    /* A 600-byte path is cut at KD_API_STRING_MAX - 1. */
    check_hex(v, 0x20, "58 02 00 00");
    memset(v + 0xF0, 'x', 600);
    state_roundtrip(v, 0xF0 + 600, &sc);
    CHECK_EQ(strlen(sc.u.load.path), KD_API_STRING_MAX - 1);
    memset(v + 0x100, 0, 600);
    {
        char longp[KD_API_STRING_MAX + 1];
        memset(longp, 'y', sizeof longp - 1);
        longp[KD_API_STRING_MAX] = 0;
        CHECK_EQ(kd_api_state_load_symbols(&sc, longp, 0, 0, 0, false), KD_ERR_LENGTH);
    }
}

static void test_report_x86(void)
{
    uint8_t v[0x100];
    struct kd_state_change sc;
    struct kd_report_x86 r;
    memset(v, 0, sizeof v);
    check_hex(v, 0x00, "30 30 00 00");
    check_hex(v, 0xC0, "f0 0f ff ff 00 04 00 00"); /* Dr6, Dr7 */
    check_hex(v, 0xC8, "02 00 03 00");             /* InstructionCount 2, ReportFlags 3 */
    check_hex(v, 0xCC, "cc c3");                   /* InstructionStream */
    check_hex(v, 0xDC, "08 00 23 00 23 00 30 00"); /* Cs Ds Es Fs */
    check_hex(v, 0xE4, "46 02 00 00");             /* EFlags */
    state_roundtrip(v, KD_API_STATE_SIZE, &sc);
    kd_api_state_report_x86(&sc, &r);
    CHECK_EQ(r.dr6, 0xffff0ff0);
    CHECK_EQ(r.dr7, 0x400);
    CHECK_EQ(r.instruction_count, 2);
    CHECK_EQ(r.stream_len, 2);
    CHECK_EQ(r.report_flags, X86_REPORT_INCLUDES_SEGS | X86_REPORT_STANDARD_CS);
    CHECK_EQ(r.instruction_stream[0], 0xcc);
    CHECK_EQ(r.instruction_stream[1], 0xc3);
    CHECK_EQ(r.seg_cs, 0x08);
    CHECK_EQ(r.seg_ds, 0x23);
    CHECK_EQ(r.seg_fs, 0x30);
    CHECK_EQ(r.eflags, 0x246);
    memset(sc.report, 0, sizeof sc.report);
    kd_api_state_set_report_x86(&sc, &r);
    state_expect(&sc, v, KD_API_STATE_SIZE);
    /* A count above 16 is kept but the usable stream is bounded. */
    check_hex(v, 0xC8, "40 00");
    state_roundtrip(v, KD_API_STATE_SIZE, &sc);
    kd_api_state_report_x86(&sc, &r);
    CHECK_EQ(r.instruction_count, 0x40);
    CHECK_EQ(r.stream_len, 16);
}

static void test_state_truncated_and_errors(void)
{
    uint8_t v[4001], out[0x200];
    struct kd_state_change sc;
    size_t used = 5;
    winload_vec(v);
    for (size_t len = 0; len < KD_API_STATE_SIZE; len++) {
        uint8_t *in = check_dup(v, len);
        CHECK_EQ(kd_api_state_decode(in, len, &sc), KD_ERR_TRUNCATED);
        free(in);
    }
    memset(v + 0x100, 0, sizeof v - 0x100);
    CHECK_EQ(kd_api_state_decode(v, 4000, &sc), KD_OK);
    CHECK_EQ(kd_api_state_decode(v, 4001, &sc), KD_ERR_LENGTH);
    CHECK_EQ(kd_api_state_decode(v, 0xF0 + 12, &sc), KD_OK);
    CHECK_EQ(kd_api_state_encode(&sc, out, 0xF0 + 11, &used), KD_ERR_NOSPACE);
    CHECK_EQ(used, 0);
    sc.extra = NULL;
    CHECK_EQ(kd_api_state_encode(&sc, out, sizeof out, &used), KD_ERR_ARG);
    sc.extra = v;
    sc.extra_len = 4000 - 0xF0 + 1;
    CHECK_EQ(kd_api_state_encode(&sc, out, sizeof out, &used), KD_ERR_LENGTH);
}

int main(void)
{
    RUN(test_load_symbols_winload);
    RUN(test_load_symbols_unload_all);
    RUN(test_exception_breakpoint);
    RUN(test_exception_nparams_bound);
    RUN(test_alternate_and_unknown_state);
    RUN(test_command_string);
    RUN(test_load_symbols_path_bounds);
    RUN(test_report_x86);
    RUN(test_state_truncated_and_errors);
    return check_summary("test_kd_api_state");
}
