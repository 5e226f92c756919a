/* kd_framer.h: streaming decoder for serial KD (KDCOM, also pipes and TCP).
 * Bytes go in as arbitrary chunks (down to one byte, garbage included); good
 * packets, break-in bytes, framing errors and skipped-byte counts come out
 * one event at a time. Pure: no I/O, no heap; the buffer is inside the struct.
 *
 *   size_t off = 0, used;
 *   struct kd_framer_event ev;
 *   while (kd_framer_next(&f, buf + off, len - off, &used, &ev) == 1) {
 *       off += used;
 *       handle(&ev);          // ev.packet.payload valid until the next call
 *   }                         // returned 0: all of buf consumed
 *
 * The event sequence depends only on the byte stream, never on how it was
 * split into chunks. */
#ifndef KD_FRAMER_H
#define KD_FRAMER_H

#include "kd_wire.h"

#include <stddef.h>
#include <stdint.h>

/* Largest serial packet: header, PACKET_MAX_SIZE payload, trailer. */
#define KD_FRAMER_BUF_SIZE (KD_HEADER_SIZE + KD_PACKET_MAX + 1)

enum kd_framer_kind {
    /* A good packet (checksum and trailer checked) in ev.packet. */
    KD_FRAMER_PACKET,
    /* A 0x62 byte seen outside a packet: one event per byte (a target treats
     * any of them as a break-in request). */
    KD_FRAMER_BREAKIN,
    /* A packet was rejected; ev.status says why:
     *   KD_ERR_FORMAT   type does not fit the leader, or a control packet with
     *                   a byte count;
     *   KD_ERR_LENGTH   byte count > KD_PACKET_MAX;
     *   KD_ERR_TRAILER  the byte after the payload is not 0xAA;
     *   KD_ERR_CHECKSUM payload sum differs from the header.
     * ev.packet holds the header as read (so ev.packet.id names the packet).
     * For TRAILER and CHECKSUM ev.packet.payload points at the payload, else
     * it is NULL. After CHECKSUM the packet's bytes are dropped (its framing
     * held); after the others the scan restarts at the byte after the false
     * leader's first byte, so a real packet hidden inside is still found.
     * A KD receiver answers every ERROR with RESEND (kd_link_bad_packet). */
    KD_FRAMER_ERROR,
    /* ev.garbage bytes were skipped before the next leader or break-in byte.
     * Reported just before that break-in, or when the leader is settled by
     * the byte after it (a run of more than four leader bytes counts its
     * first bytes as garbage). */
    KD_FRAMER_GARBAGE,
};

struct kd_framer_event {
    enum kd_framer_kind kind;
    int status;              /* ERROR: a negative enum kd_status; else KD_OK */
    struct kd_packet packet; /* PACKET, ERROR */
    size_t garbage;          /* GARBAGE: number of bytes skipped */
};

/* Embed it anywhere; all fields are private to kd_framer.c. */
struct kd_framer {
    int state;
    int after;         /* what the next call must do first with the buffer */
    size_t have;       /* bytes of the current candidate in buf[0..have) */
    size_t need;       /* length of the candidate once its header is known */
    size_t rpos, rlen; /* buf[rpos..rlen): bytes waiting to be scanned again */
    size_t garbage;    /* skipped bytes not reported yet */
    struct kd_packet hdr;
    uint8_t buf[KD_FRAMER_BUF_SIZE];
};

/* Starts (or restarts) the framer with nothing buffered. */
void kd_framer_init(struct kd_framer *f);

/* Consumes bytes of in[len] until one event is ready. Returns 1 with *ev
 * filled and *consumed = bytes of `in` taken (possibly 0 when the event came
 * from bytes already buffered; feed the rest again), or 0 when every byte was
 * consumed without completing an event (*consumed = len). Pointers in *ev
 * point into f and stay valid until the next call on f. in may be NULL when
 * len is 0. KD_ERR_ARG (negative) if f, consumed or ev is NULL. Never reads
 * past in[len]; holds at most KD_FRAMER_BUF_SIZE bytes. */
int kd_framer_next(struct kd_framer *f, const uint8_t *in, size_t len, size_t *consumed,
                   struct kd_framer_event *ev);

/* Bytes held for an incomplete leader or packet (0 between packets). */
size_t kd_framer_buffered(const struct kd_framer *f);

/* Short name of an event kind ("PACKET", "BREAKIN", "ERROR", "GARBAGE"). */
const char *kd_framer_kind_name(enum kd_framer_kind kind);

#endif
