/* transport.c: the scheme table, URI dispatch, and the bookkeeping every
 * backend shares (deadlines, statistics, the tap, error text). */
#include "kd_status.h"
#include "transport_impl.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A new transport is one backend file and one line here. */
static const struct transport_ops *const backends[] = {
    &transport_serial_ops, &transport_tcp_ops,         &transport_tcp_listen_ops,
    &transport_unix_ops,   &transport_unix_listen_ops, &transport_kdnet_ops,
    &transport_usb_ops,    &transport_capture_ops,
};
#define BACKEND_COUNT (sizeof backends / sizeof backends[0])

const char *transport_usage(void)
{
    return "serial:/dev/ttyS0[?baud=115200]   serial port or pty (9600..921600 baud, 8N1)\n"
           "tcp:HOST:PORT                     connect to a VM's serial port served over TCP\n"
           "tcp-listen:[ADDR:]PORT            wait for a VM's serial port to connect\n"
           "unix:/path                        connect to a VM's serial port on a Unix socket\n"
           "unix-listen:/path                 create the socket and wait for the VM\n"
           "kdnet:port=N,key=a.b.c.d[,target=IP][,bind=IP]   KDNET host on UDP port N\n"
           "usb:VID:PID[,if=N]                raw bulk endpoints of a USB device\n"
           "capture:FILE                      replay a recording (read-only)\n";
}

int transport_open(const char *uri, struct transport **out, char err[TRANSPORT_ERR_SIZE])
{
    *out = NULL;
    err[0] = 0;
    if (!uri) {
        snprintf(err, TRANSPORT_ERR_SIZE, "no transport URI given");
        return KD_ERR_ARG;
    }
    const char *colon = strchr(uri, ':');
    size_t slen = colon ? (size_t)(colon - uri) : 0;
    /* The URI may carry a key: error texts quote only the scheme. */
    if (!colon || slen == 0) {
        snprintf(err, TRANSPORT_ERR_SIZE,
                 "transport URI has no scheme (expected e.g. serial:/dev/ttyS0 or tcp:HOST:PORT)");
        return KD_ERR_ARG;
    }
    const struct transport_ops *ops = NULL;
    for (size_t i = 0; i < BACKEND_COUNT; i++)
        if (strlen(backends[i]->scheme) == slen && !strncmp(backends[i]->scheme, uri, slen))
            ops = backends[i];
    if (!ops) {
        char scheme[33];
        size_t n = slen < sizeof scheme - 1 ? slen : sizeof scheme - 1;
        for (size_t i = 0; i < n; i++)
            scheme[i] = isprint((unsigned char)uri[i]) ? uri[i] : '?';
        scheme[n] = 0;
        snprintf(err, TRANSPORT_ERR_SIZE,
                 "unknown transport '%s' (known: serial, tcp, tcp-listen, unix, unix-listen, "
                 "kdnet, usb, capture)",
                 scheme);
        return KD_ERR_ARG;
    }
    struct transport *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, TRANSPORT_ERR_SIZE, "out of memory");
        return KD_ERR_NOMEM;
    }
    t->ops = ops;
    int rc = ops->open(t, colon + 1, err);
    if (rc < 0) {
        free(t);
        return rc;
    }
    *out = t;
    return KD_OK;
}

void transport_free(struct transport *t)
{
    if (!t)
        return;
    t->ops->close(t);
    free(t);
}

enum transport_kind transport_kind(const struct transport *t)
{
    return t->ops->kind_of ? t->ops->kind_of(t) : t->ops->kind;
}

const char *transport_scheme(const struct transport *t)
{
    return t->ops->scheme;
}

int transport_fd(const struct transport *t)
{
    return t->ops->fd(t);
}

int transport_read(struct transport *t, uint8_t *buf, size_t cap, int timeout_ms, size_t *got)
{
    *got = 0;
    t->error[0] = 0;
    if (!buf || cap == 0 || timeout_ms < 0 || timeout_ms > TRANSPORT_TIMEOUT_MAX)
        return transport_fail(t, KD_ERR_ARG, "read: bad buffer or timeout");
    return t->ops->read(t, buf, cap, transport_now_ms() + timeout_ms, got);
}

int transport_write(struct transport *t, const uint8_t *buf, size_t len, int timeout_ms)
{
    t->error[0] = 0;
    if (!buf || len == 0 || timeout_ms < 0 || timeout_ms > TRANSPORT_TIMEOUT_MAX)
        return transport_fail(t, KD_ERR_ARG, "write: bad buffer or timeout");
    return t->ops->write(t, buf, len, transport_now_ms() + timeout_ms);
}

void transport_last_rx(const struct transport *t, struct transport_rx_info *info)
{
    *info = t->last_rx;
}

void transport_describe(const struct transport *t, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = 0;
    t->ops->describe(t, buf, len);
}

void transport_stats(const struct transport *t, struct transport_stats *out)
{
    *out = t->stats;
}

const char *transport_error(const struct transport *t)
{
    return t->error;
}

void transport_set_tap(struct transport *t, transport_tap_fn fn, void *user)
{
    t->tap = fn;
    t->tap_user = fn ? user : NULL;
}

int transport_local_port(const struct transport *t)
{
    return t->ops->local_port ? t->ops->local_port(t) : -1;
}

/* ---- helpers for the backends ---- */

int64_t transport_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int transport_remaining_ms(int64_t deadline)
{
    int64_t left = deadline - transport_now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

int transport_wait_fd(struct transport *t, int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, transport_remaining_ms(deadline));
        if (n > 0)
            return KD_OK; /* errors and hang-ups surface in the read/write that follows */
        if (n == 0)
            return KD_ERR_TIMEOUT;
        if (errno != EINTR) {
            t->stats.errors++;
            return transport_fail(t, KD_ERR_IO, "poll: %s", strerror(errno));
        }
    }
}

int transport_fail(struct transport *t, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->error, sizeof t->error, fmt, ap);
    va_end(ap);
    return status;
}

void transport_note_io(struct transport *t, enum transport_dir dir, const uint8_t *bytes,
                       size_t len, const struct timespec *time,
                       const struct transport_endpoint *src, const struct transport_endpoint *dst,
                       struct timespec *stamp)
{
    struct timespec now;
    if (!time) {
        clock_gettime(CLOCK_REALTIME, &now);
        time = &now;
    }
    if (stamp)
        *stamp = *time;
    if (dir == TRANSPORT_TARGET_TO_HOST) {
        t->stats.bytes_in += len;
        t->stats.datagrams_in += src != NULL;
    } else {
        t->stats.bytes_out += len;
        t->stats.datagrams_out += src != NULL;
    }
    if (t->tap)
        t->tap(t->tap_user, dir, bytes, len, time, src, dst);
}

void transport_note_delivery(struct transport *t, enum transport_dir dir,
                             const struct timespec *time, const struct transport_endpoint *src,
                             const struct transport_endpoint *dst)
{
    memset(&t->last_rx, 0, sizeof t->last_rx);
    t->last_rx.dir = dir;
    t->last_rx.time = *time;
    if (src)
        t->last_rx.src = *src;
    if (dst)
        t->last_rx.dst = *dst;
}

bool transport_parse_uint(const char *s, size_t len, unsigned long min, unsigned long max,
                          unsigned long *out)
{
    unsigned long v = 0;
    if (len == 0 || len > 10)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}
