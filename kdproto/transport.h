/* transport.h: one interface over every KD link. A URI picks the backend
 * from a table by its scheme (docs/transports.md lists them):
 *
 *   serial:/dev/ttyS0?baud=115200     tcp:HOST:PORT        tcp-listen:[ADDR:]PORT
 *   unix:/path                         unix-listen:/path    usb:VID:PID[,if=N]
 *   kdnet:port=50000,key=a.b.c.d[,target=IP][,bind=IP]    capture:FILE
 *
 * A backend is a STREAM (bytes: serial, TCP, Unix, USB bulk, stream
 * recordings) or carries MESSAGES (KDNET: one KD packet per datagram). The
 * framing layer above turns stream bytes into packets, so nothing above it
 * asks which transport it is on.
 *
 * Every receive has a deadline; nothing here sleeps without one. Errors are
 * enum kd_status values; the detail of the last failure is in
 * transport_error(). No function prints. The KDNET key never appears in an
 * error, a description or a tap record (the tap sees the encrypted datagram). */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum transport_kind {
    TRANSPORT_STREAM = 1,   /* bytes; reads return whatever arrived */
    TRANSPORT_MESSAGES = 2, /* each read returns exactly one KD packet body */
};

/* Values match the direction byte of stream recordings (capture.h). */
enum transport_dir {
    TRANSPORT_HOST_TO_TARGET = 0,
    TRANSPORT_TARGET_TO_HOST = 1,
};

#define TRANSPORT_ERR_SIZE 256
/* A MESSAGES read needs a buffer this large to be sure to hold any packet. */
#define TRANSPORT_MESSAGE_MAX 4096
/* Longest accepted deadline (one day): guards against unit mistakes. */
#define TRANSPORT_TIMEOUT_MAX (24 * 3600 * 1000)

/* A UDP endpoint. ip_version 0 = none; IPv4 uses the first 4 bytes of ip. */
struct transport_endpoint {
    int ip_version;
    uint8_t ip[16];
    uint16_t port;
};

/* Link counters since open. For KDNET, bytes and datagrams count the UDP
 * payloads on the wire (encrypted), including dropped ones. */
struct transport_stats {
    uint64_t bytes_in, bytes_out;
    uint64_t datagrams_in, datagrams_out; /* MESSAGES transports only */
    uint64_t errors;                      /* failed system calls, damaged capture frames */
    uint64_t auth_failures;               /* KDNET datagrams whose HMAC did not verify: dropped */
    uint64_t dropped;    /* other input not delivered: not KDNET, wrong direction, replayed seq */
    uint64_t handshakes; /* KDNET responses sent (each one sets a new data key) */
};

/* What the last successful read delivered. Live links report the receive
 * time and TRANSPORT_TARGET_TO_HOST; a capture: the recorded time and
 * direction (both directions come out of a capture, in order). src/dst are
 * set for MESSAGES transports. */
struct transport_rx_info {
    enum transport_dir dir;
    struct timespec time; /* CLOCK_REALTIME */
    struct transport_endpoint src, dst;
};

/* Called for everything the link moves, in order, after it moved: stream
 * chunks as read or written; for KDNET the real UDP datagrams (encrypted,
 * control channel included, bad ones included) with both endpoints. src and
 * dst are NULL on streams. The bytes are valid only during the call. */
typedef void (*transport_tap_fn)(void *user, enum transport_dir dir, const uint8_t *bytes,
                                 size_t len, const struct timespec *time,
                                 const struct transport_endpoint *src,
                                 const struct transport_endpoint *dst);

struct transport;

/* Opens the link a URI names. Listening URIs (tcp-listen, unix-listen)
 * return at once: the peer is accepted by a later read or write. KDNET
 * returns once the UDP port is bound: the handshake happens inside reads.
 * On failure returns a negative status, *out = NULL and err holds one line
 * for the user. */
int transport_open(const char *uri, struct transport **out, char err[TRANSPORT_ERR_SIZE]);

/* Closes the link and frees everything; NULL is harmless. */
void transport_free(struct transport *t);

enum transport_kind transport_kind(const struct transport *t);

/* The URI scheme the link was opened with ("serial", "kdnet", ...). */
const char *transport_scheme(const struct transport *t);

/* A descriptor that polls readable (POLLIN) when a read may make progress.
 * It can change when a listener accepts or loses its peer: fetch it again
 * before every poll(). For USB it is an epoll descriptor that gathers
 * libusb's descriptors (docs/transports.md). */
int transport_fd(const struct transport *t);

/* Receives into buf[cap], waiting at most timeout_ms (0 = only what is
 * already there; 0..TRANSPORT_TIMEOUT_MAX). KD_OK with *got >= 1;
 * KD_ERR_TIMEOUT with *got = 0 when nothing came in time; KD_ERR_CLOSED
 * when the peer went away (a listener then waits for the next peer) or a
 * capture ended. MESSAGES: one whole packet per call; KD_ERR_NOSPACE (and
 * the packet dropped) if cap is smaller than it. */
int transport_read(struct transport *t, uint8_t *buf, size_t cap, int timeout_ms, size_t *got);

/* Sends all len bytes (MESSAGES: one KD packet, or the 1-byte break-in)
 * within timeout_ms. KD_ERR_TIMEOUT if the deadline passed first (a stream
 * may then have sent a prefix; it was counted and tapped).
 * KD_ERR_UNSUPPORTED on a capture; KD_ERR_NOKEY on KDNET before a target
 * has shaken hands. */
int transport_write(struct transport *t, const uint8_t *buf, size_t len, int timeout_ms);

/* Direction, time and endpoints of what the last successful read returned. */
void transport_last_rx(const struct transport *t, struct transport_rx_info *info);

/* One short line for the UI, e.g. "serial /dev/ttyS0 115200 8N1". */
void transport_describe(const struct transport *t, char *buf, size_t len);

void transport_stats(const struct transport *t, struct transport_stats *out);

/* Detail of the last failed call, "" if none. Valid until the next call. */
const char *transport_error(const struct transport *t);

/* Installs (fn != NULL) or removes the tap. */
void transport_set_tap(struct transport *t, transport_tap_fn fn, void *user);

/* The local TCP/UDP port a listener or KDNET is bound to (useful with port
 * 0 = any free port), or -1. */
int transport_local_port(const struct transport *t);

/* The URI forms, one per line, for usage texts. Static. */
const char *transport_usage(void);

#endif
