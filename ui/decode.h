/* decode.h: `kdwatch decode`: dissect a capture packet by packet. */
#ifndef DECODE_H
#define DECODE_H

#include <stdbool.h>
#include <stdio.h>

struct decode_options {
    const char *path;
    const char *key; /* KDNET key text, or NULL */
    bool json;
    bool quiet; /* summary only */
};

/* Counts gathered while decoding (also what tests assert). */
struct decode_stats {
    unsigned long frames, udp, other, bad_frames, cut_frames, not_kdnet;
    unsigned long datagrams, dir_t2h, dir_h2t, control_dg, data_dg, duplicates;
    unsigned long opened, auth_failed, nokey, handshakes;
    unsigned long conn_checks, data_packets, checksum_ok, checksum_bad, control_packets;
    unsigned long packet_bad; /* bodies that are not a KD packet */
    unsigned long by_type[16];
    unsigned long api_req[0x40], api_rep[0x40]; /* DbgKd 0x3130 + n */
    unsigned long api_unknown;
    unsigned long state[3], state_unknown; /* exception, load symbols, command string */
    unsigned long print_strings, file_io;
    unsigned long stream_chunks, stream_bytes, breakins, framing_errors;
    int file_error; /* the capture itself is damaged after the last good frame */
};

/* Decodes opt->path, printing one line (or JSON object) per KD packet and a
 * summary to out, messages to err. Returns the process exit status:
 * 0 decoded, 1 bad input (unreadable file, wrong key, damaged capture),
 * 2 usage error. stats may be NULL. */
int decode_run(const struct decode_options *opt, FILE *out, FILE *err, struct decode_stats *stats);

#endif
