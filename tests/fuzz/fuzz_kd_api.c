/* fuzz_kd_api.c: the input goes to every kd_api decoder (manipulate, state
 * change, debug I/O, file I/O, version). Whatever decodes must re-encode to
 * exactly the input bytes and decode again to the same fields; decoded
 * strings must stay bounded and printable. A violation aborts. */
#include <stdlib.h>
#include <string.h>

#include "kd_api.h"
#include "kd_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
    if (!cond)
        abort();
}

/* A decoded string: terminated within cap; printable ASCII when ascii. */
static void check_string(const char *s, size_t cap, int ascii)
{
    size_t n = strnlen(s, cap);
    require(n < cap);
    for (size_t i = 0; ascii && i < n; i++)
        require(s[i] >= 0x20 && s[i] < 0x7F);
}

static void fuzz_manip(const uint8_t *data, size_t size, uint8_t *out)
{
    struct kd_manip a, b, reply;
    struct kd_control_set_x86 x86;
    size_t used;
    if (kd_api_manip_decode(data, size, &a) != KD_OK)
        return;
    require(kd_api_manip_encode(&a, out, KD_PACKET_MAX, &used) == KD_OK);
    require(used == size && memcmp(out, data, size) == 0);
    require(kd_api_manip_decode(out, used, &b) == KD_OK);
    require(a.api == b.api && a.known == b.known && a.pad == b.pad);
    require(memcmp(&a.u, &b.u, sizeof a.u) == 0 && a.data_len == b.data_len);
    require(a.known == (kd_api_name(a.api) != NULL && a.api < DbgKdMaximumManipulate));
    kd_api_manip_continue2_x86(&a, &x86);
    kd_api_manip_reply_init(&reply, &a, STATUS_UNSUCCESSFUL);
    require(kd_api_manip_encode(&reply, out, KD_PACKET_MAX, &used) == KD_OK);
    require(used == KD_API_MANIP_SIZE);
    (void)kd_api_status_name(a.return_status);
}

static void fuzz_state(const uint8_t *data, size_t size, uint8_t *out)
{
    struct kd_state_change a, b;
    struct kd_report_amd64 r64;
    struct kd_report_x86 r32;
    uint8_t report[KD_API_STATE_REPORT_SIZE];
    size_t used;
    if (kd_api_state_decode(data, size, &a) != KD_OK)
        return;
    require(kd_api_state_encode(&a, out, KD_PACKET_MAX, &used) == KD_OK);
    require(used == size && memcmp(out, data, size) == 0);
    require(kd_api_state_decode(out, used, &b) == KD_OK);
    require(a.new_state == b.new_state && a.known == b.known);
    require(memcmp(&a.u, &b.u, sizeof a.u) == 0);
    switch (a.known ? a.new_state & ~DbgKdAlternateStateChange : 0) {
    case DbgKdExceptionStateChange:
        require(a.u.exception.nparams <= EXCEPTION_MAXIMUM_PARAMETERS);
        break;
    case DbgKdLoadSymbolsStateChange: check_string(a.u.load.path, sizeof a.u.load.path, 1); break;
    case DbgKdCommandStringStateChange:
        check_string(a.u.command.name, sizeof a.u.command.name, 1);
        check_string(a.u.command.command, sizeof a.u.command.command, 1);
        break;
    }
    /* Both report views write back exactly what they read. */
    memcpy(report, a.report, sizeof report);
    kd_api_state_report_amd64(&a, &r64);
    require(r64.stream_len <= DBGKD_MAXSTREAM);
    kd_api_state_set_report_amd64(&a, &r64);
    require(memcmp(report, a.report, sizeof report) == 0);
    kd_api_state_report_x86(&a, &r32);
    require(r32.stream_len <= DBGKD_MAXSTREAM);
    kd_api_state_set_report_x86(&a, &r32);
    require(memcmp(report, a.report, sizeof report) == 0);
    (void)kd_api_state_name(a.new_state);
}

static void fuzz_debug_io(const uint8_t *data, size_t size, uint8_t *out)
{
    struct kd_debug_io a, b;
    size_t used;
    if (kd_api_io_debug_decode(data, size, &a) != KD_OK)
        return;
    require(a.text_len <= a.data_len);
    require(kd_api_io_debug_encode(&a, out, KD_PACKET_MAX, &used) == KD_OK);
    require(used == size && memcmp(out, data, size) == 0);
    require(kd_api_io_debug_decode(out, used, &b) == KD_OK);
    require(a.api == b.api && a.text_len == b.text_len);
    require(memcmp(&a.u, &b.u, sizeof a.u) == 0);
}

static void fuzz_file_io(const uint8_t *data, size_t size, uint8_t *out)
{
    struct kd_file_io a, b, reply;
    size_t used;
    if (kd_api_io_file_decode(data, size, &a) != KD_OK)
        return;
    check_string(a.path, sizeof a.path, 0);
    require(kd_api_io_file_encode(&a, out, KD_PACKET_MAX, &used) == KD_OK);
    require(used == size && memcmp(out, data, size) == 0);
    require(kd_api_io_file_decode(out, used, &b) == KD_OK);
    require(a.api == b.api && strcmp(a.path, b.path) == 0);
    require(memcmp(&a.u, &b.u, sizeof a.u) == 0);
    kd_api_io_file_reply(&reply, &a, STATUS_NO_SUCH_FILE);
    require(kd_api_io_file_encode(&reply, out, KD_PACKET_MAX, &used) == KD_OK);
    require(used == KD_API_FILE_IO_SIZE);
}

static void fuzz_version(const uint8_t *data, size_t size, uint8_t *out)
{
    struct kd_version v;
    if (kd_api_version_decode(data, size, &v) != KD_OK)
        return;
    require(kd_api_version_encode(&v, out, KD_API_VERSION_SIZE) == KD_OK);
    require(memcmp(out, data, KD_API_VERSION_SIZE) == 0);
    (void)kd_api_machine_name(v.machine);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *out = malloc(KD_PACKET_MAX);
    if (!out)
        return 0;
    fuzz_manip(data, size, out);
    fuzz_state(data, size, out);
    fuzz_debug_io(data, size, out);
    fuzz_file_io(data, size, out);
    fuzz_version(data, size, out);
    free(out);
    return 0;
}
