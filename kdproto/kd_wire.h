/* kd_wire.h: the KD packet as it travels: 16-byte header, payload, and on
 * serial links the 0xAA trailer. Pure functions on caller buffers. */
#ifndef KD_WIRE_H
#define KD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KD_LEADER_DATA 0x30303030u    /* "0000" */
#define KD_LEADER_CONTROL 0x69696969u /* "iiii" */
#define KD_BREAKIN_BYTE 0x62          /* 'b' */
#define KD_TRAILER_BYTE 0xAA
#define KD_HEADER_SIZE 16
#define KD_PACKET_MAX 4000 /* PACKET_MAX_SIZE: largest payload a target accepts */
#define KD_INITIAL_PACKET_ID 0x80800000u
#define KD_SYNC_PACKET_ID 0x00000800u
#define KD_CONNCHECK_SIZE 12 /* KDNET connection check: leader 0, type 0, no checksum */

enum kd_packet_type {
    KD_PACKET_TYPE_UNUSED = 0,
    KD_PACKET_TYPE_KD_STATE_CHANGE32 = 1,
    KD_PACKET_TYPE_KD_STATE_MANIPULATE = 2,
    KD_PACKET_TYPE_KD_DEBUG_IO = 3,
    KD_PACKET_TYPE_KD_ACKNOWLEDGE = 4,
    KD_PACKET_TYPE_KD_RESEND = 5,
    KD_PACKET_TYPE_KD_RESET = 6,
    KD_PACKET_TYPE_KD_STATE_CHANGE64 = 7,
    KD_PACKET_TYPE_KD_POLL_BREAKIN = 8,
    KD_PACKET_TYPE_KD_TRACE_IO = 9,
    KD_PACKET_TYPE_KD_CONTROL_REQUEST = 10,
    KD_PACKET_TYPE_KD_FILE_IO = 11,
    KD_PACKET_TYPE_MAX = 12,
};

/* A parsed packet. payload points into the buffer that was parsed (or into
 * the framer's buffer) and stays valid until that buffer changes. */
struct kd_packet {
    uint32_t leader; /* KD_LEADER_DATA, KD_LEADER_CONTROL, or 0 (KDNET connection check) */
    uint16_t type;
    uint16_t count; /* ByteCount as on the wire */
    uint32_t id;
    uint32_t checksum; /* as on the wire (0 for a connection check) */
    const uint8_t *payload;
};

/* Short name of a packet type ("STATE_MANIPULATE", "ACK", ...); "UNKNOWN" beyond the table. */
const char *kd_wire_type_name(uint16_t type);

/* True for types sent as control packets (ACK, RESEND, RESET). */
bool kd_wire_is_control(uint16_t type);

/* True for types a data packet ("0000" leader) may carry: 1-3, 7, 9-11. */
bool kd_wire_is_data_type(uint16_t type);

/* Sum of payload bytes as u32, wrapping: the KD checksum. */
uint32_t kd_wire_checksum(const uint8_t *payload, size_t len);

/* Writes a data packet (header, payload, and the trailer when `trailer`) into
 * out[cap]. *used = bytes written. KD_ERR_LENGTH if len > KD_PACKET_MAX,
 * KD_ERR_NOSPACE if cap is too small (nothing written), KD_ERR_ARG if type is
 * not a data type (kd_wire_is_data_type) or payload is NULL with len > 0.
 * On error *used = 0. */
int kd_wire_build_data(uint8_t *out, size_t cap, uint16_t type, uint32_t id, const uint8_t *payload,
                       size_t len, bool trailer, size_t *used);

/* Writes a 16-byte control packet (ACK/RESEND/RESET: count 0, checksum 0).
 * KD_ERR_ARG for any other type, KD_ERR_NOSPACE if cap < 16. */
int kd_wire_build_control(uint8_t *out, size_t cap, uint16_t type, uint32_t id, size_t *used);

/* Writes the 12-byte KDNET connection check (leader 0, type 0, count 0, id,
 * no checksum); the target puts the host's IPv4 address in id (§2.7). */
int kd_wire_build_conncheck(uint8_t *out, size_t cap, uint32_t id, size_t *used);

/* Decodes and checks the 16-byte header at buf[len] into *pkt (payload NULL):
 * leader "0000" or "iiii", a type that fits the leader, ByteCount 0 for
 * control packets and <= KD_PACKET_MAX for data. Returns KD_ERR_TRUNCATED
 * (len < 16), KD_ERR_FORMAT (leader, type or control count) or KD_ERR_LENGTH
 * (count > KD_PACKET_MAX); the fields are filled whenever 16 bytes were there.
 * The checksum field of a control packet is not checked (receivers ignore it). */
int kd_wire_parse_header(const uint8_t *buf, size_t len, struct kd_packet *pkt);

/* Parses one whole packet at the start of buf[len] (a KDNET body, or a
 * complete serial packet when `trailer`). Accepts the KDNET connection check
 * (12 bytes, leader 0). Checks leader, type range, ByteCount <= KD_PACKET_MAX,
 * that the payload is present, its checksum, and the trailer when asked.
 * *used = bytes the packet occupies (also set on KD_ERR_CHECKSUM and
 * KD_ERR_TRAILER so a caller can skip it, else 0 on error). Once the header
 * was read, *pkt holds its fields even on error. The trailer is checked
 * before the checksum. A connection check is KD_ERR_FORMAT when `trailer`
 * (it only exists on KDNET). Never reads past buf[len]. */
int kd_wire_parse(const uint8_t *buf, size_t len, bool trailer, struct kd_packet *pkt,
                  size_t *used);

#endif
