/* capture.h: reading recorded traffic (pcap and pcapng, through libpcap):
 * KDNET as UDP datagrams over Ethernet, raw IP or Linux cooked captures, and
 * kdwatch's own stream recordings (serial/TCP/pipe bytes with a direction).
 * Malformed frames are reported per frame; reading goes on after them. */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link type of kdwatch's stream recordings: one of the user-reserved DLTs
 * (147..162). Each frame = 1 byte direction (0 host->target, 1 target->host)
 * followed by the chunk of stream bytes. docs/recording.md describes it. */
#define CAPTURE_DLT_KDSTREAM 147
#define CAPTURE_KDSTREAM_HOST_TO_TARGET 0
#define CAPTURE_KDSTREAM_TARGET_TO_HOST 1

enum capture_kind {
    CAPTURE_UDP = 1,    /* a UDP datagram (KDNET candidate) */
    CAPTURE_STREAM = 2, /* a chunk of KD stream bytes with a direction */
    CAPTURE_OTHER = 3,  /* any other frame (ARP, TCP, ...): skipped by decoders */
    CAPTURE_BAD = 4,    /* a frame whose headers are cut or malformed: see why */
};

struct capture_record {
    uint64_t frame; /* 1-based frame number, as Wireshark counts */
    double time;    /* seconds since the epoch */
    enum capture_kind kind;
    const char *why;                /* CAPTURE_BAD: static reason */
    int ip_version;                 /* 4 or 6 (UDP) */
    uint8_t src_ip[16], dst_ip[16]; /* IPv4 in the first 4 bytes */
    uint16_t src_port, dst_port;
    int direction;       /* CAPTURE_STREAM */
    const uint8_t *data; /* UDP payload or stream chunk; valid until the next call */
    size_t len;
    bool cut; /* the capture kept fewer bytes than the frame had */
};

struct capture_reader;

/* Opens a pcap or pcapng file. On failure returns KD_ERR_IO or
 * KD_ERR_FORMAT, *out = NULL and err holds libpcap's reason. */
int capture_reader_open(const char *path, struct capture_reader **out, char err[256]);

/* Next record: 1 and *rec filled, 0 at the end of the file, or a negative
 * status when the file itself is damaged (a truncated last frame, garbage
 * after the last frame); capture_reader_error() then says why, and every
 * record before it was already delivered. */
int capture_reader_next(struct capture_reader *r, struct capture_record *rec);

/* The libpcap link type of the capture (DLT_*). */
int capture_reader_linktype(const struct capture_reader *r);

/* Text of the last error; "" when none. */
const char *capture_reader_error(const struct capture_reader *r);

void capture_reader_free(struct capture_reader *r);

/* Formats an address of a record ("192.168.2.1" / IPv6) into buf. */
void capture_format_ip(int ip_version, const uint8_t ip[16], char *buf, size_t len);

#endif
