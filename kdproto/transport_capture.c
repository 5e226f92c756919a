/* transport_capture.c: capture:FILE, a recording as a read-only source.
 * A stream recording (link type 147) is a STREAM: reads return its chunks
 * in order, both directions; a KDNET capture carries MESSAGES: reads return
 * its UDP payloads that start with "MDBG", still encrypted, both
 * directions. transport_last_rx() tells the direction and the recorded time
 * of each. Reads never wait: pacing by the timestamps is the caller's
 * choice. Writes fail: a recording cannot answer. */
#include "capture.h"
#include "kd_le.h"
#include "kd_status.h"
#include "kdnet.h"
#include "transport_impl.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct capture_link {
    struct capture_reader *r;
    int evfd; /* always readable: a file never makes a reader wait */
    bool ended;
    int end_status; /* KD_ERR_CLOSED at the end, KD_ERR_FORMAT for damage */
    char end_text[200];
    uint64_t records;
    bool have_target; /* KDNET: who the target is (see read_message) */
    bool target_from_poke;
    struct transport_endpoint target;
    uint8_t *pending; /* stream: the rest of a chunk larger than the caller's buffer */
    size_t pend_len, pend_off, pend_cap;
    enum transport_dir pend_dir;
    struct timespec pend_time;
    char path[PATH_MAX];
};

static int capture_open(struct transport *t, const char *rest, char err[TRANSPORT_ERR_SIZE])
{
    char why[256];
    if (rest[0] == 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "capture: missing file name (expected capture:FILE)");
        return KD_ERR_ARG;
    }
    struct capture_link *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, TRANSPORT_ERR_SIZE, "out of memory");
        return KD_ERR_NOMEM;
    }
    snprintf(l->path, sizeof l->path, "%s", rest);
    int rc = capture_reader_open(rest, &l->r, why);
    if (rc < 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "capture %.100s: %.140s", rest, why);
        goto free_link;
    }
    l->evfd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->evfd < 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "capture: eventfd: %s", strerror(errno));
        rc = KD_ERR_IO;
        goto free_reader;
    }
    t->priv = l;
    return KD_OK;
free_reader:
    capture_reader_free(l->r);
free_link:
    free(l);
    return rc;
}

static bool is_stream(const struct capture_link *l)
{
    return capture_reader_linktype(l->r) == CAPTURE_DLT_KDSTREAM;
}

static void to_timespec(double t, struct timespec *ts)
{
    double sec = floor(t);
    long usec = lround((t - sec) * 1e6); /* recordings keep microseconds */
    ts->tv_sec = (time_t)sec + usec / 1000000;
    ts->tv_nsec = (usec % 1000000) * 1000;
}

static void rec_endpoint(int ipv, const uint8_t ip[16], uint16_t port,
                         struct transport_endpoint *ep)
{
    memset(ep, 0, sizeof *ep);
    ep->ip_version = ipv;
    memcpy(ep->ip, ip, ipv == 4 ? 4 : 16);
    ep->port = port;
}

static bool same_endpoint(const struct transport_endpoint *a, const struct transport_endpoint *b)
{
    return a->ip_version == b->ip_version && a->port == b->port && !memcmp(a->ip, b->ip, 16);
}

/* The next record worth delivering: 1, or a status at the end or on damage. */
static int next_record(struct transport *t, struct capture_link *l, struct capture_record *rec)
{
    if (l->ended)
        return transport_fail(t, l->end_status, "%s", l->end_text);
    for (;;) {
        int rc = capture_reader_next(l->r, rec);
        if (rc <= 0) {
            l->ended = true;
            l->end_status = rc == 0 ? KD_ERR_CLOSED : KD_ERR_FORMAT;
            snprintf(l->end_text, sizeof l->end_text, "capture: %s%.170s",
                     rc == 0 ? "end of recording" : "damaged: ",
                     rc == 0 ? "" : capture_reader_error(l->r));
            if (rc < 0)
                t->stats.errors++;
            return transport_fail(t, l->end_status, "%s", l->end_text);
        }
        if (rec->kind == CAPTURE_BAD) {
            t->stats.errors++;
            continue;
        }
        if (rec->kind == CAPTURE_STREAM && rec->len > 0)
            return 1;
        if (rec->kind == CAPTURE_UDP && rec->len >= 6 && kd_be32(rec->data) == KDNET_MAGIC)
            return 1;
        t->stats.dropped++; /* other traffic in a network capture */
    }
}

static void deliver(struct transport *t, struct capture_link *l, uint8_t *buf, size_t *got)
{
    size_t n = l->pend_len - l->pend_off;
    memcpy(buf, l->pending + l->pend_off, n > *got ? *got : n);
    n = n > *got ? *got : n;
    l->pend_off += n;
    *got = n;
    transport_note_delivery(t, l->pend_dir, &l->pend_time, NULL, NULL);
}

static int read_stream(struct transport *t, struct capture_link *l, uint8_t *buf, size_t cap,
                       size_t *got)
{
    struct capture_record rec;
    if (l->pend_off < l->pend_len) {
        *got = cap;
        deliver(t, l, buf, got);
        return KD_OK;
    }
    int rc = next_record(t, l, &rec);
    if (rc < 0)
        return rc;
    if (rec.len > l->pend_cap) {
        uint8_t *p = realloc(l->pending, rec.len);
        if (!p)
            return transport_fail(t, KD_ERR_NOMEM, "capture: out of memory");
        l->pending = p;
        l->pend_cap = rec.len;
    }
    memcpy(l->pending, rec.data, rec.len);
    l->pend_len = rec.len;
    l->pend_off = 0;
    l->pend_dir = rec.direction == CAPTURE_KDSTREAM_HOST_TO_TARGET ? TRANSPORT_HOST_TO_TARGET
                                                                   : TRANSPORT_TARGET_TO_HOST;
    to_timespec(rec.time, &l->pend_time);
    l->records++;
    transport_note_io(t, l->pend_dir, rec.data, rec.len, &l->pend_time, NULL, NULL, NULL);
    *got = cap;
    deliver(t, l, buf, got);
    return KD_OK;
}

static int read_message(struct transport *t, struct capture_link *l, uint8_t *buf, size_t cap,
                        size_t *got)
{
    struct capture_record rec;
    struct transport_endpoint src, dst;
    struct timespec when;
    int rc = next_record(t, l, &rec);
    if (rc < 0)
        return rc;
    rec_endpoint(rec.ip_version, rec.src_ip, rec.src_port, &src);
    rec_endpoint(rec.ip_version, rec.dst_ip, rec.dst_port, &dst);
    /* The poke opens a session and comes from the target; before one is
     * seen, the first datagram's sender is taken for the target. */
    if (!l->have_target || (!l->target_from_poke && rec.data[5] == KDNET_CHANNEL_CONTROL)) {
        l->target_from_poke = rec.data[5] == KDNET_CHANNEL_CONTROL;
        l->target = src;
        l->have_target = true;
    }
    enum transport_dir dir =
        same_endpoint(&src, &l->target) ? TRANSPORT_TARGET_TO_HOST : TRANSPORT_HOST_TO_TARGET;
    to_timespec(rec.time, &when);
    l->records++;
    transport_note_io(t, dir, rec.data, rec.len, &when, &src, &dst, NULL);
    if (rec.len > cap) {
        t->stats.dropped++;
        return transport_fail(t, KD_ERR_NOSPACE, "capture: a %zu-byte datagram does not fit in %zu",
                              rec.len, cap);
    }
    memcpy(buf, rec.data, rec.len);
    *got = rec.len;
    transport_note_delivery(t, dir, &when, &src, &dst);
    return KD_OK;
}

static int capture_read(struct transport *t, uint8_t *buf, size_t cap, int64_t deadline,
                        size_t *got)
{
    struct capture_link *l = t->priv;
    (void)deadline; /* a file answers at once */
    return is_stream(l) ? read_stream(t, l, buf, cap, got) : read_message(t, l, buf, cap, got);
}

static int capture_write(struct transport *t, const uint8_t *buf, size_t len, int64_t deadline)
{
    (void)buf;
    (void)len;
    (void)deadline;
    return transport_fail(t, KD_ERR_UNSUPPORTED, "capture: is a recording, cannot send");
}

static int capture_fd(const struct transport *t)
{
    const struct capture_link *l = t->priv;
    return l->evfd;
}

static void capture_describe(const struct transport *t, char *buf, size_t len)
{
    const struct capture_link *l = t->priv;
    snprintf(buf, len, "capture %s (%s, %llu read%s)", l->path,
             is_stream(l) ? "stream recording" : "KDNET datagrams", (unsigned long long)l->records,
             !l->ended                        ? ""
             : l->end_status == KD_ERR_CLOSED ? ", ended"
                                              : ", damaged");
}

static void capture_close(struct transport *t)
{
    struct capture_link *l = t->priv;
    if (!l)
        return;
    capture_reader_free(l->r);
    if (l->evfd >= 0)
        close(l->evfd);
    free(l->pending);
    free(l);
    t->priv = NULL;
}

/* Stream or messages is known only once the file is open. */
static enum transport_kind capture_kind(const struct transport *t)
{
    return is_stream(t->priv) ? TRANSPORT_STREAM : TRANSPORT_MESSAGES;
}

const struct transport_ops transport_capture_ops = {
    .scheme = "capture",
    .kind = TRANSPORT_STREAM,
    .kind_of = capture_kind,
    .open = capture_open,
    .fd = capture_fd,
    .read = capture_read,
    .write = capture_write,
    .describe = capture_describe,
    .close = capture_close,
};
