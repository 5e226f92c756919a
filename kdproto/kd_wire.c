/* kd_wire.c: build and parse single KD packets (kd_wire.h). No state: every
 * function works on the caller's buffers and never reads past their length. */
#include "kd_wire.h"
#include "kd_le.h"
#include "kd_status.h"

#include <string.h>

_Static_assert(KD_HEADER_SIZE == 16, "KD_PACKET header is 16 bytes on the wire");
_Static_assert(KD_CONNCHECK_SIZE == 12, "KDNET connection check has no checksum field");
_Static_assert(KD_PACKET_MAX == 0xFA0, "PACKET_MAX_SIZE");

/* Header field offsets (§1.1). */
enum { OFF_LEADER = 0, OFF_TYPE = 4, OFF_COUNT = 6, OFF_ID = 8, OFF_CHECKSUM = 12 };

static const char *const type_names[KD_PACKET_TYPE_MAX] = {
    [KD_PACKET_TYPE_UNUSED] = "UNUSED",
    [KD_PACKET_TYPE_KD_STATE_CHANGE32] = "STATE_CHANGE32",
    [KD_PACKET_TYPE_KD_STATE_MANIPULATE] = "STATE_MANIPULATE",
    [KD_PACKET_TYPE_KD_DEBUG_IO] = "DEBUG_IO",
    [KD_PACKET_TYPE_KD_ACKNOWLEDGE] = "ACK",
    [KD_PACKET_TYPE_KD_RESEND] = "RESEND",
    [KD_PACKET_TYPE_KD_RESET] = "RESET",
    [KD_PACKET_TYPE_KD_STATE_CHANGE64] = "STATE_CHANGE64",
    [KD_PACKET_TYPE_KD_POLL_BREAKIN] = "POLL_BREAKIN",
    [KD_PACKET_TYPE_KD_TRACE_IO] = "TRACE_IO",
    [KD_PACKET_TYPE_KD_CONTROL_REQUEST] = "CONTROL_REQUEST",
    [KD_PACKET_TYPE_KD_FILE_IO] = "FILE_IO",
};

const char *kd_wire_type_name(uint16_t type)
{
    return type < KD_PACKET_TYPE_MAX ? type_names[type] : "UNKNOWN";
}

bool kd_wire_is_control(uint16_t type)
{
    return type == KD_PACKET_TYPE_KD_ACKNOWLEDGE || type == KD_PACKET_TYPE_KD_RESEND ||
           type == KD_PACKET_TYPE_KD_RESET;
}

bool kd_wire_is_data_type(uint16_t type)
{
    /* UNUSED only appears as the KDNET connection check; POLL_BREAKIN never
     * travels; MAX and beyond are out of the table. */
    return type != KD_PACKET_TYPE_UNUSED && type != KD_PACKET_TYPE_KD_POLL_BREAKIN &&
           type < KD_PACKET_TYPE_MAX && !kd_wire_is_control(type);
}

uint32_t kd_wire_checksum(const uint8_t *payload, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += payload[i];
    return sum;
}

static void put_header(uint8_t *out, uint32_t leader, uint16_t type, uint16_t count, uint32_t id,
                       uint32_t checksum)
{
    kd_put32(out + OFF_LEADER, leader);
    kd_put16(out + OFF_TYPE, type);
    kd_put16(out + OFF_COUNT, count);
    kd_put32(out + OFF_ID, id);
    kd_put32(out + OFF_CHECKSUM, checksum);
}

int kd_wire_build_data(uint8_t *out, size_t cap, uint16_t type, uint32_t id, const uint8_t *payload,
                       size_t len, bool trailer, size_t *used)
{
    if (used)
        *used = 0;
    if (!out || !used || (len && !payload) || !kd_wire_is_data_type(type))
        return KD_ERR_ARG;
    if (len > KD_PACKET_MAX)
        return KD_ERR_LENGTH;
    size_t total = KD_HEADER_SIZE + len + (trailer ? 1 : 0);
    if (cap < total)
        return KD_ERR_NOSPACE;
    put_header(out, KD_LEADER_DATA, type, (uint16_t)len, id, kd_wire_checksum(payload, len));
    if (len)
        memcpy(out + KD_HEADER_SIZE, payload, len);
    if (trailer)
        out[KD_HEADER_SIZE + len] = KD_TRAILER_BYTE;
    *used = total;
    return KD_OK;
}

int kd_wire_build_control(uint8_t *out, size_t cap, uint16_t type, uint32_t id, size_t *used)
{
    if (used)
        *used = 0;
    if (!out || !used || !kd_wire_is_control(type))
        return KD_ERR_ARG;
    if (cap < KD_HEADER_SIZE)
        return KD_ERR_NOSPACE;
    put_header(out, KD_LEADER_CONTROL, type, 0, id, 0);
    *used = KD_HEADER_SIZE;
    return KD_OK;
}

int kd_wire_build_conncheck(uint8_t *out, size_t cap, uint32_t id, size_t *used)
{
    if (used)
        *used = 0;
    if (!out || !used)
        return KD_ERR_ARG;
    if (cap < KD_CONNCHECK_SIZE)
        return KD_ERR_NOSPACE;
    kd_put32(out + OFF_LEADER, 0);
    kd_put16(out + OFF_TYPE, KD_PACKET_TYPE_UNUSED);
    kd_put16(out + OFF_COUNT, 0);
    kd_put32(out + OFF_ID, id);
    *used = KD_CONNCHECK_SIZE;
    return KD_OK;
}

int kd_wire_parse_header(const uint8_t *buf, size_t len, struct kd_packet *pkt)
{
    if (!buf || !pkt)
        return KD_ERR_ARG;
    memset(pkt, 0, sizeof *pkt);
    if (len < KD_HEADER_SIZE)
        return KD_ERR_TRUNCATED;
    pkt->leader = kd_le32(buf + OFF_LEADER);
    pkt->type = kd_le16(buf + OFF_TYPE);
    pkt->count = kd_le16(buf + OFF_COUNT);
    pkt->id = kd_le32(buf + OFF_ID);
    pkt->checksum = kd_le32(buf + OFF_CHECKSUM);
    if (pkt->leader == KD_LEADER_CONTROL) {
        /* A control packet with a count would make the framing ambiguous. */
        if (!kd_wire_is_control(pkt->type) || pkt->count != 0)
            return KD_ERR_FORMAT;
        return KD_OK;
    }
    if (pkt->leader != KD_LEADER_DATA || !kd_wire_is_data_type(pkt->type))
        return KD_ERR_FORMAT;
    if (pkt->count > KD_PACKET_MAX)
        return KD_ERR_LENGTH;
    return KD_OK;
}

int kd_wire_parse(const uint8_t *buf, size_t len, bool trailer, struct kd_packet *pkt, size_t *used)
{
    if (used)
        *used = 0;
    if (!buf || !pkt || !used)
        return KD_ERR_ARG;
    memset(pkt, 0, sizeof *pkt);
    if (len < 4)
        return KD_ERR_TRUNCATED;
    if (kd_le32(buf + OFF_LEADER) == 0) {
        /* KDNET connection check: 12 bytes, never on a serial line. */
        if (trailer)
            return KD_ERR_FORMAT;
        if (len < KD_CONNCHECK_SIZE)
            return KD_ERR_TRUNCATED;
        pkt->type = kd_le16(buf + OFF_TYPE);
        pkt->count = kd_le16(buf + OFF_COUNT);
        pkt->id = kd_le32(buf + OFF_ID);
        if (pkt->type != KD_PACKET_TYPE_UNUSED || pkt->count != 0)
            return KD_ERR_FORMAT;
        pkt->payload = buf + KD_CONNCHECK_SIZE;
        *used = KD_CONNCHECK_SIZE;
        return KD_OK;
    }
    int rc = kd_wire_parse_header(buf, len, pkt);
    if (rc != KD_OK)
        return rc;
    pkt->payload = buf + KD_HEADER_SIZE;
    if (pkt->leader == KD_LEADER_CONTROL) {
        *used = KD_HEADER_SIZE;
        return KD_OK;
    }
    size_t total = KD_HEADER_SIZE + (size_t)pkt->count + (trailer ? 1 : 0);
    if (len < total)
        return KD_ERR_TRUNCATED;
    *used = total;
    /* Trailer before checksum: a wrong trailer says the framing is off, which
     * matters more than a damaged payload (newer ReactOS kddll does the same). */
    if (trailer && buf[total - 1] != KD_TRAILER_BYTE)
        return KD_ERR_TRAILER;
    if (kd_wire_checksum(pkt->payload, pkt->count) != pkt->checksum)
        return KD_ERR_CHECKSUM;
    return KD_OK;
}
