/* kd_link.h: the KD link layer: packet ids, ACK, RESEND and RESET, for either
 * end (HOST = kdwatch, TARGET = the simulated kernel) on either flavour
 * (SERIAL = KDCOM framing, KDNET = one KD packet per datagram). Pure: it never
 * sends anything, it returns the packets to send (struct kd_link_out) and the
 * caller writes them, in order, each one as one datagram on KDNET. Only one
 * data packet is in flight at a time; the caller runs the timer and calls
 * kd_link_timeout when the ACK is late.
 *
 * Ownership: every kd_link_out points into the struct kd_link. Control bytes
 * (ACK/RESEND/RESET) stay valid until the next kd_link_receive, kd_link_reset
 * or kd_link_bad_packet; data bytes until the next kd_link_send_data or a
 * RESET received. kd_link_send_data and kd_link_timeout leave control bytes
 * alone, so "ACK the reply, then send the next request" can be written out
 * back to back. Packets passed in are only read during the call. */
#ifndef KD_LINK_H
#define KD_LINK_H

#include "kd_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KD_LINK_PACKET_MAX (KD_HEADER_SIZE + KD_PACKET_MAX + 1)
#define KD_LINK_MAX_OUT 2                       /* at most a control packet then a data packet */
#define KD_LINK_KDNET_HOST_FIRST_ID 0x80000000u /* WinDbg's first id on KDNET */
#define KD_LINK_KDNET_TARGET_FIRST_ID 0u        /* boot debugger's first id on KDNET */

enum kd_link_role { KD_LINK_HOST, KD_LINK_TARGET };

/* SERIAL: ids 0x80800000 ^ bit 0, sync bit 0x800, 0xAA trailers, RESET resets ids.
 * KDNET: ids advance by 2, ACK echoes the id, no trailer, RESET keeps ids. */
enum kd_link_flavour { KD_LINK_SERIAL, KD_LINK_KDNET };

/* What an incoming packet was. */
enum kd_link_event {
    KD_LINK_EV_NONE,      /* nothing for the caller (stray ACK, unknown control type,
                             a connection check this end ignores) */
    KD_LINK_EV_DATA,      /* new data packet: ACK queued; deliver the caller's packet */
    KD_LINK_EV_DUPLICATE, /* data packet accepted before: ACK queued, drop it */
    KD_LINK_EV_CROSSED,   /* TARGET only: a new data packet arrived while ours awaited
                             its ACK (§1.4): RESEND queued, the packet is dropped (the
                             peer sends it again) and ours counts as delivered */
    KD_LINK_EV_ACK,       /* ACK of our pending data packet */
    KD_LINK_EV_RESEND,    /* peer asked for our last data packet again (queued if any) */
    KD_LINK_EV_RESET,     /* peer reset: ids resynchronised; TARGET queued a RESET
                             answer; a pending data packet is queued again */
    KD_LINK_EV_CONNCHECK, /* KDNET connection check; HOST queued RESEND(0) */
};

/* One packet to send: data[len] (serial: write the bytes; KDNET: one datagram). */
struct kd_link_out {
    const uint8_t *data;
    size_t len;
};

struct kd_link_result {
    enum kd_link_event event;
    bool acked; /* our pending data packet completed during this call */
    size_t nout;
    struct kd_link_out out[KD_LINK_MAX_OUT]; /* send out[0..nout) in order */
};

/* Embed it anywhere (about 4 KiB); fields are private to kd_link.c. */
struct kd_link {
    enum kd_link_role role;
    enum kd_link_flavour flavour;
    uint32_t next_id;   /* id our next new data packet gets */
    uint32_t expect_id; /* SERIAL: id of the peer's next new data packet */
    bool expect_known;  /* SERIAL HOST: false until the first data packet */
    uint32_t last_id;   /* id of the last data packet accepted (duplicate filter) */
    bool have_last;
    bool pending;   /* sent[] awaits its ACK */
    bool have_sent; /* sent[] holds our last data packet (for RESEND) */
    uint32_t sent_id;
    size_t sent_len;
    uint8_t ctl[KD_HEADER_SIZE];
    uint8_t sent[KD_LINK_PACKET_MAX];
};

/* Starts a link with nothing in flight. SERIAL TARGET sends 0x80800800 first
 * (sync bit) and expects 0x80800000; SERIAL HOST sends 0x80800000 and accepts
 * whatever data id comes first (it may attach mid-session). KDNET HOST sends
 * 0x80000000, 0x80000002, ...; KDNET TARGET 0, 2, ... KD_ERR_ARG on NULL or
 * an unknown role/flavour. */
int kd_link_init(struct kd_link *link, enum kd_link_role role, enum kd_link_flavour flavour);

/* Builds a data packet of `type` with the next id and keeps it as pending
 * until ACKed; *out = its bytes (with the 0xAA trailer on SERIAL).
 * KD_ERR_STATE if a packet is still pending, KD_ERR_LENGTH if len >
 * KD_PACKET_MAX, KD_ERR_ARG for a non-data type or NULL payload with len > 0.
 * On error *out = {NULL, 0} and nothing changes. */
int kd_link_send_data(struct kd_link *link, uint16_t type, const uint8_t *payload, size_t len,
                      struct kd_link_out *out);

/* Handles one good packet from the peer (from kd_framer on SERIAL, from
 * kd_wire_parse on KDNET) and fills *res: what it was and what to send back.
 *   data, new:        ACK (SERIAL: id & ~0x800; KDNET: id), DATA.
 *   data, duplicate:  ACK, DUPLICATE. SERIAL: id != expected, or the same
 *                     sync-bit id as the last accepted; KDNET: id == last
 *                     accepted. A packet with the sync bit resynchronises.
 *   data while ours awaits its ACK: a duplicate is ACKed and dropped and ours
 *                     stays pending. A new one: TARGET does as §1.4 (RESEND,
 *                     CROSSED, ours delivered); HOST takes it as proof that
 *                     ours arrived (acked) and ACKs and delivers it (DATA).
 *   ACK of pending:   ACK, acked; the next id advances. Other ACKs: NONE.
 *   RESEND:           our last data packet again (even when already ACKed;
 *                     the peer drops it as a duplicate then), RESEND.
 *   RESET:            duplicate filter cleared; SERIAL ids back to 0x80800000
 *                     (TARGET sends 0x80800800 next); TARGET answers RESET
 *                     (SERIAL id 0, KDNET its pending or next id); a pending
 *                     packet is sent again (with the new id on SERIAL).
 *   connection check: KDNET HOST clears its duplicate filter and answers
 *                     RESEND id 0 (§2.7), CONNCHECK; others NONE.
 * KD_ERR_ARG if an argument is NULL. */
int kd_link_receive(struct kd_link *link, const struct kd_packet *pkt, struct kd_link_result *res);

/* The ACK is late: *out = the pending packet again, same id. KD_ERR_STATE
 * (and *out = {NULL, 0}) when nothing is pending. */
int kd_link_timeout(struct kd_link *link, struct kd_link_out *out);

/* Starts a resynchronisation (the host's connect sequence: repeat about once
 * a second until a RESET comes back through kd_link_receive). *out = RESET
 * (SERIAL id 0; KDNET our pending or next id). State changes only when the
 * answer arrives. */
int kd_link_reset(struct kd_link *link, struct kd_link_out *out);

/* The framer or parser rejected a packet: *out = RESEND id 0 (§1.4). */
int kd_link_bad_packet(struct kd_link *link, struct kd_link_out *out);

/* True while a data packet awaits its ACK. */
bool kd_link_busy(const struct kd_link *link);

/* Id of the pending data packet while busy, else the id the next
 * kd_link_send_data will use. */
uint32_t kd_link_next_id(const struct kd_link *link);

/* Short name of an event ("DATA", "ACK", ...). */
const char *kd_link_event_name(enum kd_link_event event);

#endif
