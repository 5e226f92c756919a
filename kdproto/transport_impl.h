/* transport_impl.h: what a backend implements, and the helpers transport.c
 * gives every backend. Private to kdproto/transport*.c. */
#ifndef TRANSPORT_IMPL_H
#define TRANSPORT_IMPL_H

#include "transport.h"

#include <stdarg.h>

struct transport_ops {
    const char *scheme;
    enum transport_kind kind;
    enum transport_kind (*kind_of)(const struct transport *t); /* NULL: kind is fixed */
    /* rest = the URI after "scheme:". On failure: writes err, frees what it
     * made and leaves t->priv NULL. */
    int (*open)(struct transport *t, const char *rest, char err[TRANSPORT_ERR_SIZE]);
    int (*fd)(const struct transport *t);
    /* deadline: transport_now_ms() value; read: cap >= 1. */
    int (*read)(struct transport *t, uint8_t *buf, size_t cap, int64_t deadline, size_t *got);
    int (*write)(struct transport *t, const uint8_t *buf, size_t len, int64_t deadline);
    void (*describe)(const struct transport *t, char *buf, size_t len);
    int (*local_port)(const struct transport *t); /* may be NULL: -1 */
    void (*close)(struct transport *t);           /* frees t->priv; priv may be NULL */
};

struct transport {
    const struct transport_ops *ops;
    void *priv;
    transport_tap_fn tap;
    void *tap_user;
    struct transport_stats stats;
    struct transport_rx_info last_rx;
    char error[TRANSPORT_ERR_SIZE];
};

extern const struct transport_ops transport_serial_ops;
extern const struct transport_ops transport_tcp_ops;
extern const struct transport_ops transport_tcp_listen_ops;
extern const struct transport_ops transport_unix_ops;
extern const struct transport_ops transport_unix_listen_ops;
extern const struct transport_ops transport_kdnet_ops;
extern const struct transport_ops transport_usb_ops;
extern const struct transport_ops transport_capture_ops;

/* Monotonic milliseconds. */
int64_t transport_now_ms(void);

/* Milliseconds left until deadline, clamped to 0..INT_MAX, for poll(). */
int transport_remaining_ms(int64_t deadline);

/* poll() one descriptor until it shows one of events or the deadline passes:
 * KD_OK, KD_ERR_TIMEOUT, or KD_ERR_IO (error text in t). Retries EINTR. */
int transport_wait_fd(struct transport *t, int fd, short events, int64_t deadline);

/* Sets t->error (printf-style) and returns status. */
int transport_fail(struct transport *t, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Counts what the link moved (bytes; datagrams when src != NULL) and
 * passes it to the tap. time NULL = now; *stamp (may be NULL) gets the
 * time used. */
void transport_note_io(struct transport *t, enum transport_dir dir, const uint8_t *bytes,
                       size_t len, const struct timespec *time,
                       const struct transport_endpoint *src, const struct transport_endpoint *dst,
                       struct timespec *stamp);

/* Sets what transport_last_rx() reports. src/dst may be NULL (streams). */
void transport_note_delivery(struct transport *t, enum transport_dir dir,
                             const struct timespec *time, const struct transport_endpoint *src,
                             const struct transport_endpoint *dst);

/* Parses a decimal number in [min, max] from s[0..len). */
bool transport_parse_uint(const char *s, size_t len, unsigned long min, unsigned long max,
                          unsigned long *out);

#endif
