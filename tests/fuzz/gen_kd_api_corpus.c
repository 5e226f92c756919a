/* gen_kd_api_corpus.c: writes the synthetic DBGKD seeds of
 * tests/fuzz/corpus/kd_api/ (no capture bytes: the real captures stay in
 * ../shared/captures). Every field value and string below is made up; the
 * seeds only keep the structure types, API numbers and lengths real traffic
 * has, so fuzz_kd_api.c (which hands every input to every decoder) reaches
 * the same decoders with them:
 *   manip_getversion_reply  STATE_MANIPULATE GetVersion reply, 0x38 bytes:
 *                           build 19041 AMD64, made-up kernel addresses,
 *                           garbage in the pad (decodes as manipulate,
 *                           debug I/O and version; too short for file I/O)
 *   state_loadsym_mydriver  LoadSymbols state change for "mydriver.sys" at a
 *                           made-up base, AMD64 control report
 *   state_exception_bp      first-chance STATUS_BREAKPOINT state change at a
 *                           made-up address, AMD64 control report
 *   debugio_print           PrintString "kdwatch fuzz seed (synthetic)\n"
 *                           (24..39 text bytes keep it long enough for the
 *                           version decoder, too short for manipulate)
 *   fileio_create           CreateFile of "\Windows\kdwatch.sys" in UTF-16LE,
 *                           followed by an unpaired high surrogate and the
 *                           NUL (exercises the '?' replacement)
 * The other seeds in that folder (manip_continue2, manip_readvirt_reply,
 * manip_unknown, state_command, debugio_getstring) are hand-written and not
 * produced here. Output is deterministic.
 * Not built by make; to rerun, from the repository root:
 *   cc -std=c11 -Wall -Wextra -Werror -pedantic -Ikdproto tests/fuzz/gen_kd_api_corpus.c \
 *      kdproto/kd_api*.c kdproto/kd_status.c -o /tmp/gen_kd_api_corpus
 *   /tmp/gen_kd_api_corpus tests/fuzz/corpus/kd_api
 * It decodes every seed again (and checks it re-encodes byte for byte) before
 * writing it, and exits non-zero on any failure. */
#include "kd_api.h"
#include "kd_status.h"
#include "kd_wire.h"

#include <stdio.h>
#include <string.h>

static const char *out_dir;

/* Writes buf[len] to out_dir/name. 0 on success. */
static int write_seed(const char *name, const uint8_t *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return perror(path), 1;
    int bad = fwrite(buf, 1, len, f) != len;
    bad |= fclose(f) != 0;
    if (bad)
        return perror(path), 1;
    printf("%s: %zu bytes\n", path, len);
    return 0;
}

static int fail(const char *name, const char *what)
{
    fprintf(stderr, "%s: %s\n", name, what);
    return 1;
}

/* Encodes m, checks it decodes to the same API and re-encodes identically. */
static int seed_manip(const char *name, const struct kd_manip *m)
{
    static uint8_t buf[KD_PACKET_MAX], again[KD_PACKET_MAX];
    struct kd_manip d;
    size_t used = 0, used2 = 0;
    if (kd_api_manip_encode(m, buf, sizeof buf, &used) != KD_OK)
        return fail(name, "encode failed");
    if (kd_api_manip_decode(buf, used, &d) != KD_OK || d.api != m->api || !d.known ||
        kd_api_manip_encode(&d, again, sizeof again, &used2) != KD_OK || used2 != used ||
        memcmp(buf, again, used) != 0)
        return fail(name, "does not round-trip");
    return write_seed(name, buf, used);
}

static int seed_state(const char *name, const struct kd_state_change *sc)
{
    static uint8_t buf[KD_PACKET_MAX], again[KD_PACKET_MAX];
    struct kd_state_change d;
    size_t used = 0, used2 = 0;
    if (kd_api_state_encode(sc, buf, sizeof buf, &used) != KD_OK)
        return fail(name, "encode failed");
    if (kd_api_state_decode(buf, used, &d) != KD_OK || d.new_state != sc->new_state || !d.known ||
        kd_api_state_encode(&d, again, sizeof again, &used2) != KD_OK || used2 != used ||
        memcmp(buf, again, used) != 0)
        return fail(name, "does not round-trip");
    return write_seed(name, buf, used);
}

static int seed_debug_io(const char *name, const struct kd_debug_io *io)
{
    static uint8_t buf[KD_PACKET_MAX], again[KD_PACKET_MAX];
    struct kd_debug_io d;
    size_t used = 0, used2 = 0;
    if (kd_api_io_debug_encode(io, buf, sizeof buf, &used) != KD_OK)
        return fail(name, "encode failed");
    if (kd_api_io_debug_decode(buf, used, &d) != KD_OK || d.api != io->api || !d.known ||
        d.text_len != io->text_len ||
        kd_api_io_debug_encode(&d, again, sizeof again, &used2) != KD_OK || used2 != used ||
        memcmp(buf, again, used) != 0)
        return fail(name, "does not round-trip");
    return write_seed(name, buf, used);
}

static int seed_file_io(const char *name, const struct kd_file_io *f, const char *want_path)
{
    static uint8_t buf[KD_PACKET_MAX], again[KD_PACKET_MAX];
    struct kd_file_io d;
    size_t used = 0, used2 = 0;
    if (kd_api_io_file_encode(f, buf, sizeof buf, &used) != KD_OK)
        return fail(name, "encode failed");
    if (kd_api_io_file_decode(buf, used, &d) != KD_OK || d.api != f->api || !d.known ||
        strcmp(d.path, want_path) != 0 ||
        kd_api_io_file_encode(&d, again, sizeof again, &used2) != KD_OK || used2 != used ||
        memcmp(buf, again, used) != 0)
        return fail(name, "does not round-trip");
    return write_seed(name, buf, used);
}

/* A made-up AMD64 control report: int3; xor eax,eax; ret; then nops. */
static void report_amd64(struct kd_state_change *sc)
{
    static const uint8_t stream[DBGKD_MAXSTREAM] = {0xcc, 0x31, 0xc0, 0xc3, 0x90, 0x90, 0x90, 0x90,
                                                    0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90};
    struct kd_report_amd64 r;
    memset(&r, 0, sizeof r);
    r.dr6 = 0xFFFF0FF0u;
    r.dr7 = 0x400;
    r.eflags = 0x246;
    r.instruction_count = DBGKD_MAXSTREAM;
    r.report_flags = AMD64_REPORT_INCLUDES_SEGS | AMD64_REPORT_STANDARD_CS;
    memcpy(r.instruction_stream, stream, sizeof stream);
    r.seg_cs = 0x10;
    r.seg_ds = 0x2B;
    r.seg_es = 0x2B;
    r.seg_fs = 0x53;
    kd_api_state_set_report_amd64(sc, &r);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR (tests/fuzz/corpus/kd_api)\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    int bad = 0;

    /* GetVersion: the host's request, answered by the target. */
    struct kd_manip req, reply;
    struct kd_version v;
    memset(&v, 0, sizeof v);
    v.major = (DBGKD_MAJOR_NT << 8) | 0x0F;
    v.minor = 19041;
    v.protocol = DBGKD_64BIT_PROTOCOL_VERSION2;
    v.secondary = 2;
    v.flags = DBGKD_VERS_FLAG_MP | DBGKD_VERS_FLAG_DATA | DBGKD_VERS_FLAG_PTR64;
    v.machine = IMAGE_FILE_MACHINE_AMD64;
    v.max_packet_type = KD_PACKET_TYPE_MAX;
    v.max_state_change = (uint8_t)(DbgKdMaximumStateChange - DbgKdMinimumStateChange);
    v.max_manipulate = (uint8_t)(DbgKdMaximumManipulate - DbgKdMinimumManipulate);
    v.kern_base = 0xFFFFF80512400000u;
    v.ps_loaded_module_list = 0xFFFFF80512A2B3C0u;
    v.debugger_data_list = 0xFFFFF80512C0D4E0u;
    kd_api_manip_req_get_version(&req);
    req.pad = 0x5EED5EEDu; /* garbage, echoed by the reply */
    kd_api_manip_reply_version(&reply, &req, &v);
    bad |= seed_manip("manip_getversion_reply", &reply);

    /* LoadSymbols for a made-up driver. */
    struct kd_state_change sc;
    kd_api_state_init(&sc, DbgKdLoadSymbolsStateChange, 0, 1, 0xFFFFA00123456080u,
                      0xFFFFF80577A01234u);
    if (kd_api_state_load_symbols(&sc, "mydriver.sys", 0xFFFFF80577A00000u, 0x12000, 0x1A2B3,
                                  false) != KD_OK)
        bad |= fail("state_loadsym_mydriver", "build failed");
    report_amd64(&sc);
    bad |= seed_state("state_loadsym_mydriver", &sc);

    /* First-chance breakpoint (one parameter, BREAKPOINT_BREAK = 0). */
    static const uint64_t bp_params[1] = {0};
    kd_api_state_init(&sc, DbgKdExceptionStateChange, 0, 1, 0xFFFFA00123456080u,
                      0xFFFFF80577A01234u);
    if (kd_api_state_exception(&sc, STATUS_BREAKPOINT, 0xFFFFF80577A01234u, true, 1, bp_params) !=
        KD_OK)
        bad |= fail("state_exception_bp", "build failed");
    report_amd64(&sc);
    bad |= seed_state("state_exception_bp", &sc);

    /* PrintString. */
    static const char text[] = "kdwatch fuzz seed (synthetic)\n";
    struct kd_debug_io dio;
    if (kd_api_io_print_string(&dio, 0, text, sizeof text - 1) != KD_OK)
        bad |= fail("debugio_print", "build failed");
    bad |= seed_debug_io("debugio_print", &dio);

    /* CreateFile: GENERIC_READ | SYNCHRONIZE, FILE_SHARE_READ | FILE_SHARE_WRITE,
     * FILE_OPEN, FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE,
     * FILE_ATTRIBUTE_NORMAL. */
    static const char name[] = "\\Windows\\kdwatch.sys";
    uint8_t name16[2 * sizeof name + 2];
    size_t n16 = 0;
    for (size_t i = 0; i + 1 < sizeof name; i++, n16 += 2)
        name16[n16] = (uint8_t)name[i], name16[n16 + 1] = 0;
    name16[n16++] = 0x00, name16[n16++] = 0xDB; /* U+DB00: unpaired high surrogate */
    name16[n16++] = 0x00, name16[n16++] = 0x00; /* NUL */
    struct kd_file_io fio;
    if (kd_api_io_create_file(&fio, 0x80100000u, 0x3, 0x1, 0x60, name16, n16) != KD_OK)
        bad |= fail("fileio_create", "build failed");
    fio.u.create.file_attributes = 0x80;
    bad |= seed_file_io("fileio_create", &fio, "\\Windows\\kdwatch.sys?");
    return bad;
}
