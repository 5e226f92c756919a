/* recorder.h: --record FILE. Writes what a transport moves to a pcapng file
 * through Wireshark's wiretap library, flushing after every packet so a
 * kdwatch that dies leaves a readable file (all records up to the last
 * flush). docs/recording.md describes the two layouts:
 *   RECORDER_STREAM: link type 147 (DLT_USER0): 1 direction byte + chunk;
 *   RECORDER_UDP:    raw IP (IPv4/IPv6 + UDP headers we synthesize around
 *                    each real KDNET datagram, with its real endpoints).
 * The EPB flags carry the direction too (outbound = host to target).
 * Nothing secret is written: no comments, no options beyond the direction
 * and the application name. One file holds one layout (libpcap, which
 * capture.h reads with, wants one link type per file). */
#ifndef RECORDER_H
#define RECORDER_H

#include "transport.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum recorder_layout {
    RECORDER_STREAM = 1,
    RECORDER_UDP = 2,
};

struct recorder;

/* The layout for a transport of this kind. */
enum recorder_layout recorder_layout_for(enum transport_kind kind);

/* Creates (truncates) path. On failure: negative status, *out = NULL, err
 * holds the reason. */
int recorder_open(const char *path, enum recorder_layout layout, struct recorder **out,
                  char err[TRANSPORT_ERR_SIZE]);

/* One stream chunk (RECORDER_STREAM only). Chunks over 65535 bytes are
 * split into several records. time NULL = now. */
int recorder_write_stream(struct recorder *r, enum transport_dir dir, const struct timespec *time,
                          const uint8_t *data, size_t len);

/* One UDP datagram (RECORDER_UDP only); src and dst must be the same IP
 * version. time NULL = now. */
int recorder_write_udp(struct recorder *r, enum transport_dir dir, const struct timespec *time,
                       const struct transport_endpoint *src, const struct transport_endpoint *dst,
                       const uint8_t *data, size_t len);

/* A transport_tap_fn: transport_set_tap(t, recorder_tap, r). A failed
 * write is kept (recorder_status) and later ones are skipped. */
void recorder_tap(void *user, enum transport_dir dir, const uint8_t *bytes, size_t len,
                  const struct timespec *time, const struct transport_endpoint *src,
                  const struct transport_endpoint *dst);

/* KD_OK, or the first failure of a write through the tap. */
int recorder_status(const struct recorder *r);

/* Text of the first failure, "" when none. */
const char *recorder_error(const struct recorder *r);

/* Records written so far. */
uint64_t recorder_count(const struct recorder *r);

/* Closes the file (everything is already flushed); NULL is harmless. */
void recorder_free(struct recorder *r);

#endif
