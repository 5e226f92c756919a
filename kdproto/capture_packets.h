/* capture_packets.h: the KD packets of a recording, in order, with their
 * direction and time: KDNET datagrams opened with the key (the handshake in
 * the capture gives the data key), stream recordings through the serial
 * framer (one per direction). What cannot be opened is counted and skipped. */
#ifndef CAPTURE_PACKETS_H
#define CAPTURE_PACKETS_H

#include "kd_wire.h"

#include <stdbool.h>
#include <stdint.h>

struct capture_packet {
    uint64_t frame; /* capture frame it came from */
    double time;    /* seconds since the epoch */
    bool host_to_target;
    bool breakin;         /* a break-in byte, not a packet */
    struct kd_packet pkt; /* payload valid until the next call */
};

struct capture_packets_stats {
    uint64_t frames, packets, breakins, undecryptable, bad;
};

struct capture_packets;

/* key: KDNET key text (NULL for stream recordings). On failure: negative
 * status, *out NULL, err says why. */
int capture_packets_open(const char *path, const char *key, struct capture_packets **out,
                         char err[256]);
/* 1 and *p filled, 0 at the end, negative when the file is damaged (every
 * packet before was delivered; capture_packets_error() says where). */
int capture_packets_next(struct capture_packets *cp, struct capture_packet *p);
const char *capture_packets_error(const struct capture_packets *cp);
void capture_packets_stats(const struct capture_packets *cp, struct capture_packets_stats *s);
void capture_packets_free(struct capture_packets *cp);

#endif
