/* test_kd_api.c: DBGKD_GET_VERSION64 and DBGKD_MANIPULATE_STATE64 requests and
 * replies against bytes written out by hand from the fact sheet (§3.1, §3.2,
 * §9). Edge cases: test_kd_api_manip.c; state: _state.c; I/O: _io.c. */
#include "check.h"
#include "kd_api.h"
#include "kd_status.h"

/* Decodes vec (hex) from an exact heap copy, re-encodes, compares bytes. */
static void manip_roundtrip(const uint8_t *vec, size_t n, struct kd_manip *m)
{
    uint8_t *in = check_dup(vec, n), out[4096];
    size_t used = 99;
    CHECK_EQ(kd_api_manip_decode(in, n, m), KD_OK);
    CHECK_EQ(kd_api_manip_encode(m, out, sizeof out, &used), KD_OK);
    CHECK_EQ(used, n);
    CHECK_BYTES(out, vec, n);
    if (n > KD_API_MANIP_SIZE)
        CHECK(m->data == in + KD_API_MANIP_SIZE);
    free(in);
}

/* Encodes m and compares with the hand-written vector. */
static void manip_expect(const struct kd_manip *m, const uint8_t *vec, size_t n)
{
    uint8_t out[4096];
    size_t used = 0;
    CHECK_EQ(kd_api_manip_encode(m, out, sizeof out, &used), KD_OK);
    CHECK_EQ(used, n);
    CHECK_BYTES(out, vec, n);
}

/* ---- GetVersion ------------------------------------------------------------------ */

static const char boot_version_hex[] =
    /* 00 major 0x040F, minor 10586, proto 6, sec 2, flags 2 */
    "0f 04 5a 29 06 02 02 00"
    /* 08 machine 8664, maxpkt 12, maxstate 32, maxmanip 59 */ "64 86 0c 32 59 00 00 00"
    /* 10 KernBase 0x96f000 */ "00 f0 96 00 00 00 00 00"
    /* 18 PsLoadedModuleList 0xad5e60 */ "60 5e ad 00 00 00 00 00"
    /* 20 DebuggerDataList 0 */ "00 00 00 00 00 00 00 00";

static void test_version_boot_debugger(void)
{
    uint8_t vec[64], out[KD_API_VERSION_SIZE];
    size_t n = check_unhex(boot_version_hex, vec, sizeof vec);
    struct kd_version v;
    uint8_t *in = check_dup(vec, n);
    CHECK_EQ(n, 0x28);
    CHECK_EQ(kd_api_version_decode(in, n, &v), KD_OK);
    CHECK_EQ(v.major, 0x040F);
    CHECK_EQ(v.major >> 8, DBGKD_MAJOR_NTBD);
    CHECK_EQ(v.minor, 10586);
    CHECK_EQ(v.protocol, DBGKD_64BIT_PROTOCOL_VERSION2);
    CHECK_EQ(v.secondary, 2);
    CHECK_EQ(v.flags, DBGKD_VERS_FLAG_DATA);
    CHECK_EQ(v.machine, IMAGE_FILE_MACHINE_AMD64);
    CHECK_EQ(v.max_packet_type, 12);
    CHECK_EQ(v.max_state_change, 0x32);
    CHECK_EQ(v.max_manipulate, 0x59);
    CHECK_EQ(v.simulation, 0);
    CHECK_EQ(v.kern_base, 0x96f000);
    CHECK_EQ(v.ps_loaded_module_list, 0xad5e60);
    CHECK_EQ(v.debugger_data_list, 0);
    CHECK_EQ(kd_api_version_encode(&v, out, sizeof out), KD_OK);
    CHECK_BYTES(out, vec, n);
    free(in);
}

static void test_version_win81(void)
{
    uint8_t vec[64], out[KD_API_VERSION_SIZE];
    size_t n = check_unhex("0f 00 80 25 06 02 07 00"
                           "64 86 0c 03 31 00 00 00"
                           "00 80 c1 6b 02 f8 ff ff"
                           "d0 22 ee 6b 02 f8 ff ff"
                           "f0 91 ef 6b 02 f8 ff ff",
                           vec, sizeof vec);
    struct kd_version v;
    CHECK_EQ(kd_api_version_decode(vec, n, &v), KD_OK);
    CHECK_EQ(v.major, 0x000F);
    CHECK_EQ(v.minor, 9600);
    CHECK_EQ(v.flags, DBGKD_VERS_FLAG_MP | DBGKD_VERS_FLAG_DATA | DBGKD_VERS_FLAG_PTR64);
    CHECK_EQ(v.max_state_change, 3);
    CHECK_EQ(v.max_manipulate, 0x31);
    CHECK_EQ(v.kern_base, 0xfffff8026bc18000);
    CHECK_EQ(v.ps_loaded_module_list, 0xfffff8026bee22d0);
    CHECK_EQ(v.debugger_data_list, 0xfffff8026bef91f0);
    CHECK_EQ(kd_api_version_encode(&v, out, sizeof out), KD_OK);
    CHECK_BYTES(out, vec, n);
    CHECK_EQ(kd_api_version_encode(&v, out, KD_API_VERSION_SIZE - 1), KD_ERR_NOSPACE);
}

static void test_version_truncated(void)
{
    uint8_t vec[64];
    size_t n = check_unhex(boot_version_hex, vec, sizeof vec);
    struct kd_version v;
    for (size_t len = 0; len < n; len++) {
        uint8_t *in = check_dup(vec, len);
        CHECK_EQ(kd_api_version_decode(in, len, &v), KD_ERR_TRUNCATED);
        free(in);
    }
}

/* ---- manipulate: the requests the monitor sends --------------------------------- */

static const char getversion_req_hex[] =
    /* 00 GetVersion, level ffff, processor ffff, STATUS_PENDING, pad junk */
    "46 31 00 00 ff ff ff ff 03 01 00 00 78 56 34 12"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "0000000000000000";

static void test_manip_get_version(void)
{
    uint8_t req_vec[64], rep_vec[64];
    size_t nq = check_unhex(getversion_req_hex, req_vec, sizeof req_vec);
    size_t nr =
        check_unhex("46 31 00 00 ff ff ff ff 00 00 00 00 78 56 34 12", rep_vec, sizeof rep_vec);
    struct kd_manip req, rep, built;
    struct kd_version v;
    nr += check_unhex(boot_version_hex, rep_vec + nr, sizeof rep_vec - nr);
    CHECK_EQ(nq, 0x38);
    CHECK_EQ(nr, 0x38);
    manip_roundtrip(req_vec, nq, &req);
    CHECK(req.known);
    CHECK_EQ(req.api, DbgKdGetVersionApi);
    CHECK_EQ(req.processor, 0xFFFF);
    CHECK_EQ(req.processor_level, 0xFFFF);
    CHECK_EQ(req.return_status, STATUS_PENDING);
    CHECK_EQ(req.pad, 0x12345678);
    CHECK_EQ(req.data_len, 0);
    manip_roundtrip(rep_vec, nr, &rep);
    CHECK_EQ(rep.return_status, STATUS_SUCCESS);
    CHECK_EQ(rep.u.version.minor, 10586);
    CHECK_EQ(rep.u.version.kern_base, 0x96f000);
    /* The target's reply builder echoes the request's junk. */
    CHECK_EQ(kd_api_version_decode(rep_vec + 0x10, 0x28, &v), KD_OK);
    kd_api_manip_reply_version(&built, &req, &v);
    manip_expect(&built, rep_vec, nr);
    /* The host's builder: clean header. */
    kd_api_manip_req_get_version(&built);
    check_unhex("46 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00", req_vec, 16);
    manip_expect(&built, req_vec, nq);
}

static const char readvirt_req_hex[] =
    /* ReadVirtualMemory, cpu 0, STATUS_PENDING, addr 0xad5e60, count 0x10 */
    "30 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00"
    "60 5e ad 00 00 00 00 00 10 00 00 00 00 00 00 00"
    "00000000000000000000000000000000"
    "0000000000000000";

static void test_manip_read_virtual(void)
{
    uint8_t vec[128], data[16];
    size_t n = check_unhex(readvirt_req_hex, vec, sizeof vec);
    struct kd_manip m, req, rep;
    CHECK_EQ(kd_api_manip_req_read_virtual(&m, 0xad5e60, 16), KD_OK);
    manip_expect(&m, vec, n);
    manip_roundtrip(vec, n, &req);
    CHECK_EQ(req.u.memory.address, 0xad5e60);
    CHECK_EQ(req.u.memory.count, 16);
    /* Reply: status 0, actual 16, then the LIST_ENTRY64 read. */
    n = check_unhex("30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                    "60 5e ad 00 00 00 00 00 10 00 00 00 10 00 00 00"
                    "00000000000000000000000000000000"
                    "0000000000000000"
                    "a0 5e ad 00 00 00 00 00 a0 5e ad 00 00 00 00 00",
                    vec, sizeof vec);
    for (int i = 0; i < 16; i++)
        data[i] = vec[0x38 + i];
    CHECK_EQ(kd_api_manip_reply_read(&rep, &req, STATUS_SUCCESS, data, 16), KD_OK);
    manip_expect(&rep, vec, n);
    manip_roundtrip(vec, n, &rep);
    CHECK_EQ(rep.u.memory.actual, 16);
    CHECK_EQ(rep.data_len, 16);
    CHECK_EQ(kd_api_manip_reply_read(&rep, &req, STATUS_SUCCESS, data, 17), KD_ERR_LENGTH);
}

static void test_manip_read_failure(void)
{
    /* The capture's failed read: 0xfffff780000003d8 -> 0xC0000001, no data. */
    uint8_t vec[64];
    size_t n = check_unhex("30 31 00 00 00 00 00 00 01 00 00 c0 00 00 00 00"
                           "d8 03 00 00 80 f7 ff ff 04 00 00 00 00 00 00 00"
                           "00000000000000000000000000000000"
                           "0000000000000000",
                           vec, sizeof vec);
    struct kd_manip req, rep;
    CHECK_EQ(kd_api_manip_req_read_virtual(&req, 0xfffff780000003d8, 4), KD_OK);
    CHECK_EQ(kd_api_manip_reply_read(&rep, &req, STATUS_UNSUCCESSFUL, NULL, 0), KD_OK);
    manip_expect(&rep, vec, n);
    manip_roundtrip(vec, n, &rep);
    CHECK(rep.data == NULL);
    CHECK_STR(kd_api_status_name(rep.return_status), "STATUS_UNSUCCESSFUL");
}

static void test_manip_control_space(void)
{
    /* ReadControlSpace cpu 0, selector 2 (KSPECIAL_REGISTERS), 0xE0 bytes. */
    uint8_t vec[64], regs[0xE0] = {0};
    size_t n = check_unhex("37 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00"
                           "02 00 00 00 00 00 00 00 e0 00 00 00 00 00 00 00"
                           "00000000000000000000000000000000"
                           "0000000000000000",
                           vec, sizeof vec);
    struct kd_manip m;
    uint8_t out[512];
    size_t used;
    CHECK_EQ(kd_api_manip_req_read_control(&m, 0, AMD64_DEBUG_CONTROL_SPACE_KSPECIAL, 0xE0), KD_OK);
    manip_expect(&m, vec, n);
    /* WriteControlSpace carries the block as data; cpu 1 goes to 0x06. */
    regs[KD_API_KSPECIAL_AMD64_CR3] = 0xb0;
    CHECK_EQ(kd_api_manip_req_write_control(&m, 1, 2, regs, sizeof regs), KD_OK);
    CHECK_EQ(kd_api_manip_encode(&m, out, sizeof out, &used), KD_OK);
    CHECK_EQ(used, 0x38 + 0xE0);
    check_unhex("38 31 00 00 00 00 01 00 03 01 00 00 00 00 00 00"
                "02 00 00 00 00 00 00 00 e0 00 00 00 00 00 00 00",
                vec, 32);
    CHECK_BYTES(out, vec, 32);
    CHECK_EQ(out[0x38 + 0x10], 0xb0);
}

static void test_manip_context(void)
{
    uint8_t vec[64], ctx[KD_API_CONTEXT_AMD64_SIZE] = {0}, out[0x600];
    size_t n, used;
    struct kd_manip m, req, rep;
    /* GetContext cpu 1; WinDbg's junk 0x4D0 at 0x14 survives a round trip. */
    n = check_unhex("32 31 00 00 00 00 01 00 03 01 00 00 00 00 00 00"
                    "00 00 00 00 d0 04 00 00 00 00 00 00 00 00 00 00"
                    "00000000000000000000000000000000"
                    "0000000000000000",
                    vec, sizeof vec);
    manip_roundtrip(vec, n, &req);
    CHECK_EQ(req.processor, 1);
    kd_api_manip_req_get_context(&m, 1);
    vec[0x14] = vec[0x15] = 0;
    manip_expect(&m, vec, n);
    /* Reply: the 0x4D0-byte CONTEXT -> packet 0x508. */
    ctx[KD_API_CONTEXT_AMD64_RIP] = 0x7e;
    ctx[KD_API_CONTEXT_AMD64_RIP + 1] = 0xf0;
    ctx[KD_API_CONTEXT_AMD64_RIP + 2] = 0x9c;
    CHECK_EQ(kd_api_manip_reply_context(&rep, &req, STATUS_SUCCESS, ctx, sizeof ctx), KD_OK);
    CHECK_EQ(kd_api_manip_encode(&rep, out, sizeof out, &used), KD_OK);
    CHECK_EQ(used, 0x508);
    CHECK_EQ(out[0x38 + 0xF8], 0x7e);
    CHECK_EQ(out[0x14], 0xd0); /* junk echoed */
    /* SetContext: ContextFlags junk at 0x10, CONTEXT as data. */
    CHECK_EQ(kd_api_manip_req_set_context(&m, 0, ctx, sizeof ctx), KD_OK);
    m.u.context.flags = 0x58c;
    CHECK_EQ(kd_api_manip_encode(&m, out, sizeof out, &used), KD_OK);
    check_unhex("33 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00 8c 05 00 00", vec, 20);
    CHECK_BYTES(out, vec, 20);
    CHECK_EQ(used, 0x508);
}

static void test_manip_context_ex(void)
{
    uint8_t vec[64], ctx[0x4D0] = {0};
    size_t n = check_unhex("5f 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00"
                           "00 00 00 00 d0 04 00 00 00 00 00 00 00 00 00 00"
                           "00000000000000000000000000000000"
                           "0000000000000000",
                           vec, sizeof vec);
    struct kd_manip m, rep;
    CHECK_EQ(kd_api_manip_req_get_context_ex(&m, 0, 0, 0x4D0), KD_OK);
    manip_expect(&m, vec, n);
    CHECK_EQ(kd_api_manip_reply_context(&rep, &m, STATUS_SUCCESS, ctx, 0x4D0), KD_OK);
    CHECK_EQ(rep.u.context_ex.copied, 0x4D0);
    CHECK_EQ(kd_api_manip_reply_context(&rep, &m, STATUS_SUCCESS, ctx, 0x4D1), KD_ERR_LENGTH);
    /* The boot debugger's answer: 0xC0000001, nothing copied. */
    n = check_unhex("5f 31 00 00 00 00 00 00 01 00 00 c0 00 00 00 00"
                    "00 00 00 00 d0 04 00 00 00 00 00 00 00 00 00 00"
                    "00000000000000000000000000000000"
                    "0000000000000000",
                    vec, sizeof vec);
    CHECK_EQ(kd_api_manip_reply_context(&rep, &m, STATUS_UNSUCCESSFUL, NULL, 0), KD_OK);
    manip_expect(&rep, vec, n);
}

static void test_manip_breakpoints(void)
{
    uint8_t vec[64];
    size_t n = check_unhex("34 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00"
                           "7e f0 9c 00 00 00 00 00 00 00 00 00 00 00 00 00"
                           "00000000000000000000000000000000"
                           "0000000000000000",
                           vec, sizeof vec);
    struct kd_manip m, rep;
    kd_api_manip_req_write_breakpoint(&m, 0x9cf07e);
    manip_expect(&m, vec, n);
    kd_api_manip_reply_write_breakpoint(&rep, &m, STATUS_SUCCESS, 1);
    vec[0x08] = vec[0x09] = 0;
    vec[0x18] = 1;
    manip_expect(&rep, vec, n);
    manip_roundtrip(vec, n, &rep);
    CHECK_EQ(rep.u.write_bp.handle, 1);
    /* RestoreBreakPoint(handle 32), as WinDbg does for 1..32 at connect. */
    n = check_unhex("35 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00"
                    "20 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                    "00000000000000000000000000000000"
                    "0000000000000000",
                    vec, sizeof vec);
    kd_api_manip_req_restore_breakpoint(&m, 32);
    manip_expect(&m, vec, n);
}

static void test_manip_continue(void)
{
    uint8_t vec[64];
    size_t n = check_unhex("36 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00"
                           "02 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00"
                           "00000000000000000000000000000000"
                           "0000000000000000",
                           vec, sizeof vec);
    struct kd_manip m;
    kd_api_manip_req_continue(&m, DBG_CONTINUE);
    manip_expect(&m, vec, n);
    manip_roundtrip(vec, n, &m);
    CHECK_EQ(m.u.cont.status, DBG_CONTINUE);
    /* Reboot: nothing in the union. */
    n = check_unhex("3b 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00", vec, sizeof vec);
    memset(vec + n, 0, 0x28);
    kd_api_manip_req_reboot(&m);
    manip_expect(&m, vec, 0x38);
    CHECK(m.known);
}

static void test_manip_continue2(void)
{
    /* The capture's Continue2: 0x10002, TraceFlag 0, Dr7 0x400, start 1, end 0. */
    uint8_t vec[64];
    size_t n = check_unhex("3c 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00"
                           "02 00 01 00 00 00 00 00 00 04 00 00 00 00 00 00"
                           "01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                           "0000000000000000",
                           vec, sizeof vec);
    struct kd_control_set_amd64 set = {0, 0x400, 1, 0};
    struct kd_control_set_x86 x86 = {1, 0x400, 1, 0}, got;
    struct kd_manip m;
    kd_api_manip_req_continue2(&m, DBG_CONTINUE, &set);
    manip_expect(&m, vec, n);
    manip_roundtrip(vec, n, &m);
    CHECK_EQ(m.u.cont2.status, DBG_CONTINUE);
    CHECK_EQ(m.u.cont2.set.trace_flag, 0);
    CHECK_EQ(m.u.cont2.set.dr7, 0x400);
    CHECK_EQ(m.u.cont2.set.symbol_start, 1);
    CHECK_EQ(m.u.cont2.set.symbol_end, 0);
    /* x86 layout: four u32s from 0x14. */
    n = check_unhex("3c 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00"
                    "01 00 01 00 01 00 00 00 00 04 00 00 01 00 00 00"
                    "00000000000000000000000000000000"
                    "0000000000000000",
                    vec, sizeof vec);
    kd_api_manip_req_continue2_x86(&m, DBG_EXCEPTION_HANDLED, &x86);
    manip_expect(&m, vec, n);
    manip_roundtrip(vec, n, &m);
    kd_api_manip_continue2_x86(&m, &got);
    CHECK_EQ(got.trace_flag, 1);
    CHECK_EQ(got.dr7, 0x400);
    CHECK_EQ(got.symbol_start, 1);
    CHECK_EQ(got.symbol_end, 0);
}

static void test_manip_write_virtual(void)
{
    static const uint8_t data[] = {0xcc, 0x90, 0x90, 0xc3};
    uint8_t vec[64];
    size_t n = check_unhex("31 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00"
                           "00 10 00 00 00 f8 ff ff 04 00 00 00 00 00 00 00"
                           "00000000000000000000000000000000"
                           "0000000000000000 cc 90 90 c3",
                           vec, sizeof vec);
    struct kd_manip m, rep;
    CHECK_EQ(kd_api_manip_req_write_virtual(&m, 0xfffff80000001000, data, 4), KD_OK);
    manip_expect(&m, vec, n);
    kd_api_manip_reply_write(&rep, &m, STATUS_SUCCESS, 4);
    CHECK_EQ(rep.data_len, 0);
    CHECK_EQ(rep.u.memory.actual, 4);
    CHECK_EQ(kd_api_manip_req_write_virtual(&m, 0, NULL, 4), KD_ERR_ARG);
}

int main(void)
{
    RUN(test_version_boot_debugger);
    RUN(test_version_win81);
    RUN(test_version_truncated);
    RUN(test_manip_get_version);
    RUN(test_manip_read_virtual);
    RUN(test_manip_read_failure);
    RUN(test_manip_control_space);
    RUN(test_manip_context);
    RUN(test_manip_context_ex);
    RUN(test_manip_breakpoints);
    RUN(test_manip_continue);
    RUN(test_manip_continue2);
    RUN(test_manip_write_virtual);
    return check_summary("test_kd_api");
}
