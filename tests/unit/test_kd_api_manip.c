/* test_kd_api_manip.c: DBGKD_MANIPULATE_STATE64 edge cases: builder limits,
 * encode errors, truncation, unknown and junk-filled packets, every union
 * layout against the fact sheet's offsets (§3.2), and the name tables. */
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

static const char readvirt_req_hex[] =
    /* ReadVirtualMemory, cpu 0, STATUS_PENDING, addr 0xad5e60, count 0x10 */
    "30 31 00 00 00 00 00 00 03 01 00 00 00 00 00 00"
    "60 5e ad 00 00 00 00 00 10 00 00 00 00 00 00 00"
    "00000000000000000000000000000000"
    "0000000000000000";

static void test_manip_builder_limits(void)
{
    static uint8_t big[KD_API_MANIP_DATA_MAX + 1];
    struct kd_manip m;
    m.api = 0xdeadbeef;
    CHECK_EQ(kd_api_manip_req_read_virtual(&m, 0, 3945), KD_ERR_LENGTH);
    CHECK_EQ(kd_api_manip_req_read_control(&m, 0, 2, 3945), KD_ERR_LENGTH);
    CHECK_EQ(kd_api_manip_req_read_physical(&m, 0, 3945, 0), KD_ERR_LENGTH);
    CHECK_EQ(kd_api_manip_req_get_context_ex(&m, 0, 0, 3945), KD_ERR_LENGTH);
    CHECK_EQ(kd_api_manip_req_write_virtual(&m, 0, big, 3945), KD_ERR_LENGTH);
    CHECK_EQ(kd_api_manip_req_write_control(&m, 0, 2, big, 3945), KD_ERR_LENGTH);
    CHECK_EQ(kd_api_manip_req_set_context(&m, 0, big, 3945), KD_ERR_LENGTH);
    CHECK_EQ(m.api, 0xdeadbeef); /* untouched on error */
    CHECK_EQ(kd_api_manip_req_read_virtual(&m, 0, 3944), KD_OK);
    CHECK_EQ(m.u.memory.count, 3944);
    CHECK_EQ(kd_api_manip_req_write_virtual(&m, 0, big, 3944), KD_OK);
    CHECK_EQ(kd_api_manip_req_read_physical(&m, 0x1000, 8, DBGKD_CACHING_UNCACHED), KD_OK);
    CHECK_EQ(m.u.memory.actual, DBGKD_CACHING_UNCACHED);
}

static void test_manip_encode_errors(void)
{
    static uint8_t big[KD_API_MANIP_DATA_MAX + 1];
    uint8_t out[4096];
    size_t used = 7;
    struct kd_manip m;
    CHECK_EQ(kd_api_manip_req_write_virtual(&m, 0, big, 16), KD_OK);
    memset(out, 0x5a, sizeof out);
    CHECK_EQ(kd_api_manip_encode(&m, out, 0x38 + 15, &used), KD_ERR_NOSPACE);
    CHECK_EQ(used, 0);
    CHECK_EQ(out[0], 0x5a);
    CHECK_EQ(kd_api_manip_encode(&m, out, 0x38 + 16, &used), KD_OK);
    m.data_len = sizeof big;
    m.data = big;
    CHECK_EQ(kd_api_manip_encode(&m, out, sizeof out, &used), KD_ERR_LENGTH);
    m.data = NULL;
    m.data_len = 1;
    CHECK_EQ(kd_api_manip_encode(&m, out, sizeof out, &used), KD_ERR_ARG);
    kd_api_manip_req_get_version(&m);
    CHECK_EQ(kd_api_manip_encode(&m, out, 0x37, &used), KD_ERR_NOSPACE);
}

static void test_manip_truncated_and_oversize(void)
{
    uint8_t vec[4001] = {0};
    struct kd_manip m;
    check_unhex(readvirt_req_hex, vec, sizeof vec);
    for (size_t len = 0; len < KD_API_MANIP_SIZE; len++) {
        uint8_t *in = check_dup(vec, len);
        CHECK_EQ(kd_api_manip_decode(in, len, &m), KD_ERR_TRUNCATED);
        free(in);
    }
    CHECK_EQ(kd_api_manip_decode(vec, 4000, &m), KD_OK);
    CHECK_EQ(m.data_len, KD_API_MANIP_DATA_MAX);
    CHECK_EQ(kd_api_manip_decode(vec, 4001, &m), KD_ERR_LENGTH);
}

static void test_manip_unknown_api(void)
{
    /* 0x3199 is no DbgKd API: kept raw, data kept, not an error. */
    uint8_t vec[128];
    size_t n = check_unhex("99 31 00 00 11 22 33 44 55 66 77 88 99 aa bb cc"
                           "01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10"
                           "11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20"
                           "21 22 23 24 25 26 27 28 de ad be ef 42",
                           vec, sizeof vec);
    struct kd_manip m;
    manip_roundtrip(vec, n, &m);
    CHECK(!m.known);
    CHECK_EQ(m.api, 0x3199);
    CHECK_EQ(m.processor_level, 0x2211);
    CHECK_EQ(m.processor, 0x4433);
    CHECK_EQ(m.return_status, 0x88776655);
    CHECK_EQ(m.pad, 0xccbbaa99);
    CHECK_EQ(m.data_len, 5);
    CHECK(kd_api_name(m.api) == NULL);
}

/* Every API number, known or not, with junk in every byte: exact round trip. */
static void test_manip_junk_roundtrip_all_apis(void)
{
    uint8_t vec[0x40];
    struct kd_manip m;
    uint32_t x = 0x12345678;
    for (uint32_t api = 0x3120; api <= 0x3170; api++) {
        for (size_t i = 0; i < sizeof vec; i++) {
            x = x * 1103515245u + 12345u;
            vec[i] = (uint8_t)(x >> 16);
        }
        vec[0] = (uint8_t)api;
        vec[1] = (uint8_t)(api >> 8);
        vec[2] = vec[3] = 0;
        manip_roundtrip(vec, sizeof vec, &m);
        CHECK_EQ(m.known, kd_api_name(api) != NULL);
    }
}

/* Union byte at header offset k holds k: each field's value shows where it
 * was read from. Expected values written from the fact sheet's offsets. */
static void pattern(struct kd_manip *m, uint32_t api)
{
    uint8_t b[0x38] = {0};
    b[0] = (uint8_t)api;
    b[1] = (uint8_t)(api >> 8);
    for (int k = 0x10; k < 0x38; k++)
        b[k] = (uint8_t)k;
    CHECK_EQ(kd_api_manip_decode(b, sizeof b, m), KD_OK);
    CHECK(m->known);
}

static void test_manip_layouts(void)
{
    struct kd_manip m;
    struct kd_control_set_x86 x86;
    pattern(&m, DbgKdWritePhysicalMemoryApi);
    CHECK_EQ(m.u.memory.address, 0x1716151413121110);
    CHECK_EQ(m.u.memory.count, 0x1B1A1918);
    CHECK_EQ(m.u.memory.actual, 0x1F1E1D1C);
    pattern(&m, DbgKdSetContextApi);
    CHECK_EQ(m.u.context.flags, 0x13121110);
    pattern(&m, DbgKdSetContextExApi);
    CHECK_EQ(m.u.context_ex.offset, 0x13121110);
    CHECK_EQ(m.u.context_ex.count, 0x17161514);
    CHECK_EQ(m.u.context_ex.copied, 0x1B1A1918);
    pattern(&m, DbgKdContinueApi2);
    CHECK_EQ(m.u.cont2.status, 0x13121110);
    CHECK_EQ(m.u.cont2.set.trace_flag, 0x17161514);
    CHECK_EQ(m.u.cont2.set.dr7, 0x1F1E1D1C1B1A1918);
    CHECK_EQ(m.u.cont2.set.symbol_start, 0x2726252423222120);
    CHECK_EQ(m.u.cont2.set.symbol_end, 0x2F2E2D2C2B2A2928);
    kd_api_manip_continue2_x86(&m, &x86);
    CHECK_EQ(x86.trace_flag, 0x17161514);
    CHECK_EQ(x86.dr7, 0x1B1A1918);
    CHECK_EQ(x86.symbol_start, 0x1F1E1D1C);
    CHECK_EQ(x86.symbol_end, 0x23222120);
    pattern(&m, DbgKdWriteIoSpaceApi);
    CHECK_EQ(m.u.io.address, 0x1716151413121110);
    CHECK_EQ(m.u.io.size, 0x1B1A1918);
    CHECK_EQ(m.u.io.value, 0x1F1E1D1C);
    pattern(&m, DbgKdReadIoSpaceExtendedApi);
    CHECK_EQ(m.u.io_ex.size, 0x13121110);
    CHECK_EQ(m.u.io_ex.interface_type, 0x17161514);
    CHECK_EQ(m.u.io_ex.bus, 0x1B1A1918);
    CHECK_EQ(m.u.io_ex.address_space, 0x1F1E1D1C);
    CHECK_EQ(m.u.io_ex.address, 0x2726252423222120);
    CHECK_EQ(m.u.io_ex.value, 0x2B2A2928);
    pattern(&m, DbgKdReadMachineSpecificRegister);
    CHECK_EQ(m.u.msr.msr, 0x13121110);
    CHECK_EQ(m.u.msr.low, 0x17161514);
    CHECK_EQ(m.u.msr.high, 0x1B1A1918);
    pattern(&m, DbgKdQueryMemoryApi);
    CHECK_EQ(m.u.query_memory.address, 0x1716151413121110);
    CHECK_EQ(m.u.query_memory.reserved, 0x1F1E1D1C1B1A1918);
    CHECK_EQ(m.u.query_memory.address_space, 0x23222120);
    CHECK_EQ(m.u.query_memory.flags, 0x27262524);
    pattern(&m, DbgKdSearchMemoryApi);
    CHECK_EQ(m.u.search_memory.address, 0x1716151413121110);
    CHECK_EQ(m.u.search_memory.length, 0x1F1E1D1C1B1A1918);
    CHECK_EQ(m.u.search_memory.pattern_length, 0x23222120);
    pattern(&m, DbgKdFillMemoryApi);
    CHECK_EQ(m.u.fill_memory.address, 0x1716151413121110);
    CHECK_EQ(m.u.fill_memory.length, 0x1B1A1918);
    CHECK_EQ(m.u.fill_memory.flags, 0x1D1C);
    CHECK_EQ(m.u.fill_memory.pattern_length, 0x1F1E);
    pattern(&m, DbgKdSetBusDataApi);
    CHECK_EQ(m.u.bus_data.type, 0x13121110);
    CHECK_EQ(m.u.bus_data.bus, 0x17161514);
    CHECK_EQ(m.u.bus_data.slot, 0x1B1A1918);
    CHECK_EQ(m.u.bus_data.offset, 0x1F1E1D1C);
    CHECK_EQ(m.u.bus_data.length, 0x23222120);
    pattern(&m, DbgKdGetInternalBreakPointApi);
    CHECK_EQ(m.u.internal_bp.address, 0x1716151413121110);
    CHECK_EQ(m.u.internal_bp.flags, 0x1B1A1918);
    CHECK_EQ(m.u.internal_bp.calls, 0x1F1E1D1C);
    CHECK_EQ(m.u.internal_bp.max_calls_per_period, 0x23222120);
    CHECK_EQ(m.u.internal_bp.min_instructions, 0x27262524);
    CHECK_EQ(m.u.internal_bp.max_instructions, 0x2B2A2928);
    CHECK_EQ(m.u.internal_bp.total_instructions, 0x2F2E2D2C);
    pattern(&m, DbgKdRestoreBreakPointExApi);
    CHECK_EQ(m.u.bp_ex.count, 0x13121110);
    CHECK_EQ(m.u.bp_ex.status, 0x17161514);
    pattern(&m, DbgKdQuerySpecialCallsApi);
    CHECK_EQ(m.u.query_special.count, 0x13121110);
    pattern(&m, DbgKdSetSpecialCallApi);
    CHECK_EQ(m.u.set_special.address, 0x1716151413121110);
    pattern(&m, DbgKdSwitchPartition);
    CHECK_EQ(m.u.partition.partition, 0x13121110);
    pattern(&m, DbgKdWriteCustomBreakpointApi);
    CHECK_EQ(m.u.custom_bp.address, 0x1716151413121110);
    CHECK_EQ(m.u.custom_bp.instruction, 0x1F1E1D1C1B1A1918);
    CHECK_EQ(m.u.custom_bp.handle, 0x23222120);
    CHECK_EQ(m.u.custom_bp.size, 0x24);
    CHECK_EQ(m.u.custom_bp.alignment, 0x25);
    pattern(&m, DbgKdGetVersionApi);
    CHECK_EQ(m.u.version.major, 0x1110);
    CHECK_EQ(m.u.version.machine, 0x1918);
    CHECK_EQ(m.u.version.simulation, 0x1D);
    CHECK_EQ(m.u.version.unused, 0x1F1E);
    CHECK_EQ(m.u.version.debugger_data_list, 0x3736353433323130);
}

/* A changed field reaches the wire; every other byte stays as decoded. */
static void test_manip_field_overlay(void)
{
    struct kd_manip m;
    uint8_t out[0x38], want[0x38];
    size_t used;
    pattern(&m, DbgKdReadControlSpaceApi);
    m.u.memory.actual = 0xAABBCCDD;
    m.processor = 3;
    CHECK_EQ(kd_api_manip_encode(&m, out, sizeof out, &used), KD_OK);
    memset(want, 0, sizeof want);
    want[0] = 0x37;
    want[1] = 0x31;
    want[6] = 3;
    for (int k = 0x10; k < 0x38; k++)
        want[k] = (uint8_t)k;
    want[0x1C] = 0xDD;
    want[0x1D] = 0xCC;
    want[0x1E] = 0xBB;
    want[0x1F] = 0xAA;
    CHECK_BYTES(out, want, sizeof want);
}

static void test_names(void)
{
    int named = 0;
    CHECK_STR(kd_api_name(DbgKdReadVirtualMemoryApi), "ReadVirtualMemory");
    CHECK_STR(kd_api_name(0x313C), "Continue2");
    CHECK_STR(kd_api_name(0x3160), "SetContextEx");
    CHECK_STR(kd_api_name(0x3150), "SwitchProcessor");
    CHECK_STR(kd_api_name(0x3230), "PrintString");
    CHECK_STR(kd_api_name(0x3231), "GetString");
    CHECK_STR(kd_api_name(0x3430), "CreateFile");
    CHECK_STR(kd_api_name(0x3433), "CloseFile");
    CHECK(kd_api_name(0x3161) == NULL);
    CHECK(kd_api_name(0x314A) == NULL);
    for (uint32_t api = DbgKdMinimumManipulate; api < DbgKdMaximumManipulate; api++)
        named += kd_api_name(api) != NULL;
    CHECK_EQ(named, 43); /* 0x3130-0x3149 and 0x3150-0x3160 */
    CHECK_STR(kd_api_state_name(0x3030), "Exception");
    CHECK_STR(kd_api_state_name(0x3031), "LoadSymbols");
    CHECK_STR(kd_api_state_name(0x3032), "CommandString");
    CHECK_STR(kd_api_state_name(0x13031), "LoadSymbols");
    CHECK(kd_api_state_name(0x3033) == NULL);
    CHECK_STR(kd_api_status_name(0), "STATUS_SUCCESS");
    CHECK_STR(kd_api_status_name(0x10002), "DBG_CONTINUE");
    CHECK_STR(kd_api_status_name(0x10001), "DBG_EXCEPTION_HANDLED");
    CHECK_STR(kd_api_status_name(0x80000003), "STATUS_BREAKPOINT");
    CHECK_STR(kd_api_status_name(0x80000004), "STATUS_SINGLE_STEP");
    CHECK_STR(kd_api_status_name(0xC000000F), "STATUS_NO_SUCH_FILE");
    CHECK_STR(kd_api_status_name(0x103), "STATUS_PENDING");
    CHECK(kd_api_status_name(0xC0430007) == NULL);
    CHECK_STR(kd_api_machine_name(0x8664), "AMD64");
    CHECK_STR(kd_api_machine_name(0x014C), "x86");
    CHECK(kd_api_machine_name(0x1234) == NULL);
}

int main(void)
{
    RUN(test_manip_builder_limits);
    RUN(test_manip_encode_errors);
    RUN(test_manip_truncated_and_oversize);
    RUN(test_manip_unknown_api);
    RUN(test_manip_junk_roundtrip_all_apis);
    RUN(test_manip_layouts);
    RUN(test_manip_field_overlay);
    RUN(test_names);
    return check_summary("test_kd_api_manip");
}
