/* test_kd_wire.c: single-packet build and parse against exact bytes. */
#include "check.h"
#include "kd_status.h"
#include "kd_wire.h"

#include <stdbool.h>

/* Copies bytes into an exactly sized heap block, so ASan catches any read
 * past the end. */
static void type_names(void)
{
    CHECK_STR(kd_wire_type_name(2), "STATE_MANIPULATE");
    CHECK_STR(kd_wire_type_name(4), "ACK");
    CHECK_STR(kd_wire_type_name(5), "RESEND");
    CHECK_STR(kd_wire_type_name(6), "RESET");
    CHECK_STR(kd_wire_type_name(7), "STATE_CHANGE64");
    CHECK_STR(kd_wire_type_name(11), "FILE_IO");
    CHECK_STR(kd_wire_type_name(12), "UNKNOWN");
    CHECK_STR(kd_wire_type_name(0xFFFF), "UNKNOWN");
    CHECK(kd_wire_is_control(4) && kd_wire_is_control(5) && kd_wire_is_control(6));
    CHECK(!kd_wire_is_control(2) && !kd_wire_is_control(0) && !kd_wire_is_control(7));
    const bool data[13] = {0, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1, 0};
    for (uint16_t t = 0; t < 13; t++)
        CHECK_EQ(kd_wire_is_data_type(t), data[t]);
}

static void checksum_sum_and_wrap(void)
{
    const uint8_t p[] = {0x01, 0x02, 0xFF};
    CHECK_EQ(kd_wire_checksum(p, 3), 0x102);
    CHECK_EQ(kd_wire_checksum(NULL, 0), 0);
    uint8_t big[KD_PACKET_MAX];
    memset(big, 0xFF, sizeof big);
    CHECK_EQ(kd_wire_checksum(big, sizeof big), 4000u * 255u); /* 0xF9060 */
    /* 0x01010101 bytes of 0xFF sum to exactly 0xFFFFFFFF; two more wrap to 1. */
    size_t n = 0x01010101u + 1;
    uint8_t *huge = malloc(n);
    CHECK(huge != NULL);
    if (!huge)
        return;
    memset(huge, 0xFF, n - 1);
    CHECK_EQ(kd_wire_checksum(huge, n - 1), 0xFFFFFFFFu);
    huge[n - 1] = 0x02;
    CHECK_EQ(kd_wire_checksum(huge, n), 1);
    free(huge);
}

static void control_exact_bytes(void)
{
    uint8_t out[16];
    size_t used = 99;
    CHECK_EQ(
        kd_wire_build_control(out, sizeof out, KD_PACKET_TYPE_KD_ACKNOWLEDGE, 0x80800001u, &used),
        KD_OK);
    const uint8_t ack[16] = {0x69, 0x69, 0x69, 0x69, 0x04, 0x00, 0x00, 0x00,
                             0x01, 0x00, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00};
    CHECK_EQ(used, 16);
    CHECK_BYTES(out, ack, 16);
    CHECK_EQ(kd_wire_build_control(out, sizeof out, KD_PACKET_TYPE_KD_RESEND, 0, &used), KD_OK);
    const uint8_t resend[16] = {0x69, 0x69, 0x69, 0x69, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_BYTES(out, resend, 16);
    CHECK_EQ(kd_wire_build_control(out, sizeof out, KD_PACKET_TYPE_KD_RESET, 0x80000060u, &used),
             KD_OK);
    const uint8_t reset[16] = {0x69, 0x69, 0x69, 0x69, 0x06, 0, 0, 0, 0x60, 0, 0, 0x80, 0, 0, 0, 0};
    CHECK_BYTES(out, reset, 16);

    /* Round trip, also with a trailing byte that is not part of the packet. */
    uint8_t two[17];
    memcpy(two, ack, 16);
    two[16] = 0x30;
    struct kd_packet pkt;
    CHECK_EQ(kd_wire_parse(two, 17, true, &pkt, &used), KD_OK);
    CHECK_EQ(used, 16);
    CHECK_EQ(pkt.leader, KD_LEADER_CONTROL);
    CHECK_EQ(pkt.type, 4);
    CHECK_EQ(pkt.count, 0);
    CHECK_EQ(pkt.id, 0x80800001u);
    CHECK_EQ(pkt.checksum, 0);

    CHECK_EQ(kd_wire_build_control(out, 15, KD_PACKET_TYPE_KD_ACKNOWLEDGE, 1, &used),
             KD_ERR_NOSPACE);
    CHECK_EQ(used, 0);
    CHECK_EQ(kd_wire_build_control(out, 16, KD_PACKET_TYPE_KD_STATE_MANIPULATE, 1, &used),
             KD_ERR_ARG);
}

/* A 3-byte DEBUG_IO packet as sent on serial and on KDNET. */
static const uint8_t DATA3[] = {0x30, 0x30, 0x30, 0x30, 0x03, 0x00, 0x03, 0x00, 0x00, 0x08,
                                0x80, 0x80, 0x02, 0x01, 0x00, 0x00, 0x01, 0x02, 0xFF, 0xAA};

static void data_round_trip_serial(void)
{
    const uint8_t payload[] = {0x01, 0x02, 0xFF};
    uint8_t out[64];
    size_t used = 0;
    CHECK_EQ(kd_wire_build_data(out, sizeof out, KD_PACKET_TYPE_KD_DEBUG_IO, 0x80800800u, payload,
                                3, true, &used),
             KD_OK);
    CHECK_EQ(used, sizeof DATA3);
    CHECK_BYTES(out, DATA3, sizeof DATA3);

    uint8_t *b = check_dup(DATA3, sizeof DATA3);
    struct kd_packet pkt;
    CHECK_EQ(kd_wire_parse(b, sizeof DATA3, true, &pkt, &used), KD_OK);
    CHECK_EQ(used, 20);
    CHECK_EQ(pkt.leader, KD_LEADER_DATA);
    CHECK_EQ(pkt.type, KD_PACKET_TYPE_KD_DEBUG_IO);
    CHECK_EQ(pkt.count, 3);
    CHECK_EQ(pkt.id, 0x80800800u);
    CHECK_EQ(pkt.checksum, 0x102);
    CHECK(pkt.payload == b + 16);
    CHECK_BYTES(pkt.payload, payload, 3);
    free(b);
}

static void data_round_trip_kdnet(void)
{
    const uint8_t payload[] = {0x01, 0x02, 0xFF};
    uint8_t out[64];
    size_t used = 0;
    CHECK_EQ(kd_wire_build_data(out, sizeof out, KD_PACKET_TYPE_KD_DEBUG_IO, 0x80800800u, payload,
                                3, false, &used),
             KD_OK);
    CHECK_EQ(used, 19);
    CHECK_BYTES(out, DATA3, 19);
    uint8_t *b = check_dup(out, 19);
    struct kd_packet pkt;
    CHECK_EQ(kd_wire_parse(b, 19, false, &pkt, &used), KD_OK);
    CHECK_EQ(used, 19);
    CHECK_EQ(pkt.checksum, 0x102);
    /* The same body parsed as serial lacks its trailer. */
    CHECK_EQ(kd_wire_parse(b, 19, true, &pkt, &used), KD_ERR_TRUNCATED);
    free(b);
}

static void data_max_size_and_limits(void)
{
    uint8_t payload[KD_PACKET_MAX + 1];
    uint8_t out[KD_HEADER_SIZE + KD_PACKET_MAX + 2];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    size_t used = 0;
    CHECK_EQ(
        kd_wire_build_data(out, sizeof out, 2, 0x80000002u, payload, KD_PACKET_MAX, true, &used),
        KD_OK);
    CHECK_EQ(used, 4017);
    const uint8_t hdr[8] = {0x30, 0x30, 0x30, 0x30, 0x02, 0x00, 0xA0, 0x0F};
    CHECK_BYTES(out, hdr, 8);
    CHECK_EQ(out[4016], 0xAA);
    struct kd_packet pkt;
    CHECK_EQ(kd_wire_parse(out, used, true, &pkt, &used), KD_OK);
    CHECK_EQ(pkt.count, 4000);

    CHECK_EQ(kd_wire_build_data(out, sizeof out, 2, 1, payload, KD_PACKET_MAX + 1, true, &used),
             KD_ERR_LENGTH);
    CHECK_EQ(used, 0);
    CHECK_EQ(kd_wire_build_data(out, 19, 2, 1, payload, 3, true, &used), KD_ERR_NOSPACE);
    CHECK_EQ(kd_wire_build_data(out, 19, 2, 1, payload, 3, false, &used), KD_OK);
    CHECK_EQ(kd_wire_build_data(out, sizeof out, 4, 1, payload, 3, true, &used), KD_ERR_ARG);
    CHECK_EQ(kd_wire_build_data(out, sizeof out, 2, 1, NULL, 3, true, &used), KD_ERR_ARG);
    CHECK_EQ(kd_wire_build_data(out, sizeof out, 2, 1, NULL, 0, true, &used), KD_OK);
    const uint8_t empty[17] = {0x30, 0x30, 0x30, 0x30, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xAA};
    CHECK_EQ(used, 17);
    CHECK_BYTES(out, empty, 17);
}

static void parse_truncated_everywhere(void)
{
    struct kd_packet pkt;
    size_t used = 7;
    for (size_t n = 0; n < sizeof DATA3; n++) {
        uint8_t *b = check_dup(DATA3, n);
        int rc = kd_wire_parse(b, n, true, &pkt, &used);
        if (rc != KD_ERR_TRUNCATED || used != 0) {
            fprintf(stderr, "  length %zu: rc %d used %zu\n", n, rc, used);
            CHECK(0);
        }
        free(b);
    }
    CHECK_EQ(kd_wire_parse_header(DATA3, 15, &pkt), KD_ERR_TRUNCATED);
}

static void parse_errors(void)
{
    uint8_t b[sizeof DATA3];
    struct kd_packet pkt;
    size_t used;

    memcpy(b, DATA3, sizeof b);
    b[17] ^= 0x01; /* payload byte */
    CHECK_EQ(kd_wire_parse(b, sizeof b, true, &pkt, &used), KD_ERR_CHECKSUM);
    CHECK_EQ(used, 20);
    CHECK_EQ(pkt.id, 0x80800800u);
    CHECK_EQ(pkt.checksum, 0x102);

    memcpy(b, DATA3, sizeof b);
    b[19] = 0xAB;
    CHECK_EQ(kd_wire_parse(b, sizeof b, true, &pkt, &used), KD_ERR_TRAILER);
    CHECK_EQ(used, 20);
    b[17] ^= 0x01; /* both wrong: the trailer is reported */
    CHECK_EQ(kd_wire_parse(b, sizeof b, true, &pkt, &used), KD_ERR_TRAILER);

    memcpy(b, DATA3, sizeof b);
    b[6] = 0xA1; /* ByteCount 0xFA1 = 4001 */
    b[7] = 0x0F;
    CHECK_EQ(kd_wire_parse(b, sizeof b, true, &pkt, &used), KD_ERR_LENGTH);
    CHECK_EQ(used, 0);
    CHECK_EQ(pkt.count, 4001);
    CHECK_EQ(pkt.id, 0x80800800u);

    const uint16_t bad_data_types[] = {0, 4, 5, 6, 8, 12, 0x3030};
    for (size_t i = 0; i < sizeof bad_data_types / sizeof bad_data_types[0]; i++) {
        memcpy(b, DATA3, sizeof b);
        b[4] = (uint8_t)bad_data_types[i];
        b[5] = (uint8_t)(bad_data_types[i] >> 8);
        CHECK_EQ(kd_wire_parse(b, sizeof b, true, &pkt, &used), KD_ERR_FORMAT);
    }
    memcpy(b, DATA3, sizeof b);
    b[3] = 0x69; /* "000i" */
    CHECK_EQ(kd_wire_parse(b, sizeof b, true, &pkt, &used), KD_ERR_FORMAT);

    uint8_t c[16] = {0x69, 0x69, 0x69, 0x69, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_EQ(kd_wire_parse(c, 16, true, &pkt, &used), KD_ERR_FORMAT); /* data type */
    c[4] = 4;
    c[6] = 1; /* control with a byte count */
    CHECK_EQ(kd_wire_parse(c, 16, true, &pkt, &used), KD_ERR_FORMAT);
    c[6] = 0;
    c[12] = 0x55; /* checksum field of a control packet is not checked */
    CHECK_EQ(kd_wire_parse(c, 16, true, &pkt, &used), KD_OK);
    CHECK_EQ(pkt.checksum, 0x55);
}

static void connection_check(void)
{
    const uint8_t cc[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0xa8, 0xc0};
    uint8_t out[12];
    size_t used = 0;
    CHECK_EQ(kd_wire_build_conncheck(out, sizeof out, 0xc0a80201u, &used), KD_OK);
    CHECK_EQ(used, 12);
    CHECK_BYTES(out, cc, 12);
    CHECK_EQ(kd_wire_build_conncheck(out, 11, 1, &used), KD_ERR_NOSPACE);

    uint8_t *b = check_dup(cc, 12);
    struct kd_packet pkt;
    CHECK_EQ(kd_wire_parse(b, 12, false, &pkt, &used), KD_OK);
    CHECK_EQ(used, 12);
    CHECK_EQ(pkt.leader, 0);
    CHECK_EQ(pkt.type, 0);
    CHECK_EQ(pkt.count, 0);
    CHECK_EQ(pkt.id, 0xc0a80201u);
    CHECK_EQ(pkt.checksum, 0);
    CHECK_EQ(kd_wire_parse(b, 11, false, &pkt, &used), KD_ERR_TRUNCATED);
    CHECK_EQ(kd_wire_parse(b, 12, true, &pkt, &used), KD_ERR_FORMAT);
    b[4] = 2;
    CHECK_EQ(kd_wire_parse(b, 12, false, &pkt, &used), KD_ERR_FORMAT);
    free(b);
    const uint8_t lib[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0x0b, 0x00, 0xa8, 0xc0};
    CHECK_EQ(kd_wire_parse(lib, 12, false, &pkt, &used), KD_OK);
    CHECK_EQ(pkt.id, 0xc0a8000bu); /* 192.168.0.11 */
}

static void null_arguments(void)
{
    struct kd_packet pkt;
    size_t used;
    uint8_t out[32];
    CHECK_EQ(kd_wire_parse(NULL, 4, true, &pkt, &used), KD_ERR_ARG);
    CHECK_EQ(kd_wire_parse(DATA3, sizeof DATA3, true, NULL, &used), KD_ERR_ARG);
    CHECK_EQ(kd_wire_build_control(NULL, 16, 4, 0, &used), KD_ERR_ARG);
    CHECK_EQ(kd_wire_build_data(out, sizeof out, 2, 0, NULL, 0, true, NULL), KD_ERR_ARG);
    CHECK_EQ(kd_wire_parse_header(NULL, 16, &pkt), KD_ERR_ARG);
}

int main(void)
{
    RUN(type_names);
    RUN(checksum_sum_and_wrap);
    RUN(control_exact_bytes);
    RUN(data_round_trip_serial);
    RUN(data_round_trip_kdnet);
    RUN(data_max_size_and_limits);
    RUN(parse_truncated_everywhere);
    RUN(parse_errors);
    RUN(connection_check);
    RUN(null_arguments);
    return check_summary("test_kd_wire");
}
