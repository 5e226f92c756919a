/* transport_kdnet.c: the HOST side of KDNET on a UDP port.
 *   kdnet:port=50000,key=a.b.c.d[,target=IP][,bind=IP]
 * port=0 binds any free port (tests). The target's poke (control channel,
 * control key) is answered with a response carrying a random host nonce;
 * that response fixes the data key. Then each read returns one decrypted
 * KD packet body and each write seals one packet into one datagram. The
 * target may send from any port: we answer to the port it used.
 *
 * When a poke is answered (re-key rule, docs/transports.md):
 *   - no data key yet, or the current key was never confirmed by a target
 *     data datagram (our response was lost, or the target restarted before
 *     sending data);
 *   - or a target data datagram failed to verify with the current key since
 *     the last good one (the target runs with another key: it restarted);
 *   - or the host sent something that asks for an answer and the target
 *     sent two pokes and no data since (it no longer hears our key).
 * Any other poke is the keep-alive a broken-in target sends every ~3 s and
 * is ignored. The key before the last re-key is kept: if the target's data
 * still verifies with it, the re-key was needless and it is restored.
 *
 * Datagrams that fail the HMAC are counted and dropped. The key is never
 * copied into text. */
#define _GNU_SOURCE /* struct in6_pktinfo */
#include "kd_le.h"
#include "kd_status.h"
#include "kd_wire.h"
#include "kdnet.h"
#include "transport_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct key_state {
    struct kdnet_keys keys;
    uint64_t tx_seq; /* last host data seq sent */
    uint64_t rx_seq; /* last target data seq accepted */
};

struct kdnet_link {
    int fd;
    int family;
    uint16_t port;                        /* bound */
    char bind_text[INET6_ADDRSTRLEN + 2]; /* "" (any), "10.0.0.1" or "[::1]" */
    bool filter;                          /* target=IP given */
    struct transport_endpoint want;       /* its address */
    uint8_t control_key[32];
    struct kdnet_keys control;
    struct key_state cur, prev;
    bool keyed, have_prev, confirmed;
    bool data_failed;        /* target data failed with cur since the last good one */
    bool awaiting;           /* host sent something that asks for an answer */
    unsigned pokes_awaiting; /* pokes since then */
    uint8_t version;         /* the target's protocol version byte, echoed */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    struct transport_endpoint peer_ep, local_ep;
    uint8_t dgram[8192];
    uint8_t plain[8192];
};

static void sa_to_ep(const struct sockaddr *sa, struct transport_endpoint *ep)
{
    memset(ep, 0, sizeof *ep);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        ep->ip_version = 4;
        memcpy(ep->ip, &in->sin_addr, 4);
        ep->port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        ep->ip_version = 6;
        memcpy(ep->ip, &in6->sin6_addr, 16);
        ep->port = ntohs(in6->sin6_port);
    }
}

static bool parse_ip(const char *s, size_t n, struct transport_endpoint *ep)
{
    char text[INET6_ADDRSTRLEN];
    memset(ep, 0, sizeof *ep);
    if (n == 0 || n >= sizeof text)
        return false;
    memcpy(text, s, n);
    text[n] = 0;
    if (inet_pton(AF_INET, text, ep->ip) == 1)
        ep->ip_version = 4;
    else if (inet_pton(AF_INET6, text, ep->ip) == 1)
        ep->ip_version = 6;
    return ep->ip_version != 0;
}

#define KDNET_USAGE "expected kdnet:port=50000,key=a.b.c.d[,target=IP][,bind=IP]"

/* Parses the options; the key goes straight into l->control_key. */
static int parse_options(struct kdnet_link *l, const char *rest, unsigned long *port,
                         struct transport_endpoint *bind_ep, char err[TRANSPORT_ERR_SIZE])
{
    bool have_port = false, have_key = false;
    char keytext[128];
    int rc = KD_ERR_ARG;
    for (const char *o = rest; *o;) {
        size_t n = strcspn(o, ","), nl = strcspn(o, "=,");
        const char *v = o + nl + 1;
        size_t vn = nl < n ? n - nl - 1 : 0;
        if (nl == 4 && !strncmp(o, "port", 4) && nl < n) {
            if (!transport_parse_uint(v, vn, 0, 65535, port)) {
                snprintf(err, TRANSPORT_ERR_SIZE, "kdnet: bad port '%.*s' (expected 0..65535)",
                         (int)(vn > 20 ? 20 : vn), v);
                goto wipe;
            }
            have_port = true;
        } else if (nl == 3 && !strncmp(o, "key", 3) && nl < n) {
            int part = 0;
            const char *why = "too long";
            if (vn < sizeof keytext) {
                memcpy(keytext, v, vn);
                keytext[vn] = 0;
            }
            if (vn >= sizeof keytext || kdnet_key_parse(keytext, l->control_key, &part, &why) < 0) {
                if (part > 0)
                    snprintf(err, TRANSPORT_ERR_SIZE, "kdnet: bad key: part %d: %s", part, why);
                else
                    snprintf(err, TRANSPORT_ERR_SIZE, "kdnet: bad key: %s", why);
                rc = KD_ERR_KEY;
                goto wipe;
            }
            have_key = true;
        } else if (nl == 6 && !strncmp(o, "target", 6) && nl < n) {
            if (!parse_ip(v, vn, &l->want)) {
                snprintf(err, TRANSPORT_ERR_SIZE,
                         "kdnet: bad target address '%.*s' (expected an IPv4 or IPv6 address)",
                         (int)(vn > 46 ? 46 : vn), v);
                goto wipe;
            }
            l->filter = true;
        } else if (nl == 4 && !strncmp(o, "bind", 4) && nl < n) {
            if (!parse_ip(v, vn, bind_ep)) {
                snprintf(err, TRANSPORT_ERR_SIZE,
                         "kdnet: bad bind address '%.*s' (expected an IPv4 or IPv6 address)",
                         (int)(vn > 46 ? 46 : vn), v);
                goto wipe;
            }
        } else {
            snprintf(err, TRANSPORT_ERR_SIZE,
                     "kdnet: unknown option '%.*s' (known: port, key, target, bind)",
                     (int)(nl > 32 ? 32 : nl), o);
            goto wipe;
        }
        o += n + (o[n] == ',');
    }
    if (!have_port)
        snprintf(err, TRANSPORT_ERR_SIZE, "kdnet: missing port= (%s)", KDNET_USAGE);
    else if (!have_key)
        snprintf(err, TRANSPORT_ERR_SIZE, "kdnet: missing key= (%s)", KDNET_USAGE);
    else if (bind_ep->ip_version && l->filter && bind_ep->ip_version != l->want.ip_version)
        snprintf(err, TRANSPORT_ERR_SIZE, "kdnet: target and bind addresses differ in IP version");
    else
        rc = KD_OK;
wipe:
    OPENSSL_cleanse(keytext, sizeof keytext);
    return rc;
}

static int kdnet_open_link(struct transport *t, const char *rest, char err[TRANSPORT_ERR_SIZE])
{
    struct transport_endpoint bind_ep = {0};
    unsigned long port = 0;
    struct sockaddr_storage ss;
    socklen_t sl;
    int one = 1;
    struct kdnet_link *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, TRANSPORT_ERR_SIZE, "out of memory");
        return KD_ERR_NOMEM;
    }
    l->fd = -1;
    int rc = parse_options(l, rest, &port, &bind_ep, err);
    if (rc < 0)
        goto free_link;
    kdnet_keys_control(l->control_key, &l->control);
    int ver = bind_ep.ip_version ? bind_ep.ip_version : l->filter ? l->want.ip_version : 4;
    l->family = ver == 6 ? AF_INET6 : AF_INET;
    memset(&ss, 0, sizeof ss);
    if (l->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        memcpy(&in->sin_addr, bind_ep.ip, 4); /* zero = any */
        sl = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        memcpy(&in6->sin6_addr, bind_ep.ip, 16);
        sl = sizeof *in6;
    }
    if (bind_ep.ip_version) {
        char ip[INET6_ADDRSTRLEN] = "?";
        inet_ntop(l->family, bind_ep.ip, ip, sizeof ip);
        snprintf(l->bind_text, sizeof l->bind_text, ver == 6 ? "[%s]" : "%s", ip);
    }
    rc = KD_ERR_IO;
    l->fd = socket(l->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "kdnet: socket: %s", strerror(errno));
        goto free_link;
    }
    /* The destination address of each datagram is the host end in recordings. */
    if (l->family == AF_INET)
        setsockopt(l->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    else
        setsockopt(l->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    if (bind(l->fd, (struct sockaddr *)&ss, sl) < 0) {
        int e = errno;
        snprintf(err, TRANSPORT_ERR_SIZE, "kdnet udp %s:%lu: %s%s", l->bind_text, port, strerror(e),
                 e == EADDRINUSE ? " (is WinDbg or another kdwatch on this port?)" : "");
        goto close_fd;
    }
    sl = sizeof ss;
    if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) == 0) {
        struct transport_endpoint ep;
        sa_to_ep((struct sockaddr *)&ss, &ep);
        l->port = ep.port;
    }
    t->priv = l;
    return KD_OK;
close_fd:
    close(l->fd);
free_link:
    OPENSSL_cleanse(l, sizeof *l);
    free(l);
    return rc;
}

/* One datagram from the socket: its length, 0 when none is waiting, or a status. */
static ssize_t receive(struct transport *t, struct kdnet_link *l, struct sockaddr_storage *from,
                       socklen_t *from_len, struct transport_endpoint *src,
                       struct transport_endpoint *dst)
{
    struct iovec iov = {.iov_base = l->dgram, .iov_len = sizeof l->dgram};
    union {
        struct cmsghdr align;
        uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
    } control;
    struct msghdr msg = {.msg_name = from,
                         .msg_namelen = sizeof *from,
                         .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    ssize_t n = recvmsg(l->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNREFUSED)
            return 0; /* ECONNREFUSED: ICMP after an earlier send; the target may come back */
        t->stats.errors++;
        return transport_fail(t, KD_ERR_IO, "kdnet recv: %s", strerror(errno));
    }
    *from_len = msg.msg_namelen;
    sa_to_ep((struct sockaddr *)from, src);
    *dst =
        (struct transport_endpoint){.ip_version = l->family == AF_INET6 ? 6 : 4, .port = l->port};
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
            memcpy(dst->ip, &((struct in_pktinfo *)CMSG_DATA(c))->ipi_addr, 4);
        else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)
            memcpy(dst->ip, &((struct in6_pktinfo *)CMSG_DATA(c))->ipi6_addr, 16);
    }
    if (msg.msg_flags & MSG_TRUNC) {
        t->stats.datagrams_in++;
        t->stats.dropped++; /* larger than any KDNET datagram */
        return 0;
    }
    if (n == 0) {
        t->stats.datagrams_in++;
        t->stats.dropped++;
    }
    return n;
}

static bool same_ip(const struct transport_endpoint *a, const struct transport_endpoint *b)
{
    return a->ip_version == b->ip_version && !memcmp(a->ip, b->ip, a->ip_version == 4 ? 4 : 16);
}

/* Sends one sealed datagram to the target, waiting for buffer space until the deadline. */
static int send_datagram(struct transport *t, struct kdnet_link *l, const uint8_t *d, size_t n,
                         int64_t deadline)
{
    for (;;) {
        ssize_t s = sendto(l->fd, d, n, MSG_DONTWAIT, (struct sockaddr *)&l->peer, l->peer_len);
        if (s == (ssize_t)n) {
            transport_note_io(t, TRANSPORT_HOST_TO_TARGET, d, n, NULL, &l->local_ep, &l->peer_ep,
                              NULL);
            return KD_OK;
        }
        if (s >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            t->stats.errors++;
            return transport_fail(t, KD_ERR_IO, "kdnet send: %s",
                                  s >= 0 ? "short datagram" : strerror(errno));
        }
        int rc = transport_wait_fd(t, l->fd, POLLOUT, deadline);
        if (rc < 0)
            return rc;
    }
}

/* Answers a poke: new host nonce, new data key, fresh sequence numbers. */
static int answer_poke(struct transport *t, struct kdnet_link *l, const struct kdnet_datagram *dg,
                       const struct kdnet_poke *poke, const struct sockaddr_storage *from,
                       socklen_t from_len, const struct transport_endpoint *src,
                       const struct transport_endpoint *dst)
{
    struct kdnet_response resp;
    uint8_t body[KDNET_RESPONSE_BODY], out[KDNET_MAX_DATAGRAM];
    struct key_state next = {0};
    size_t used;
    int rc = KD_ERR_CRYPTO;
    memcpy(resp.target_nonce, poke->nonce, sizeof resp.target_nonce);
    if (RAND_bytes(resp.host_nonce, sizeof resp.host_nonce) != 1) {
        transport_fail(t, rc, "kdnet: no random numbers for the host nonce");
        goto wipe;
    }
    if ((rc = kdnet_response_build(&resp, body)) < 0 ||
        (rc = kdnet_keys_data(l->control_key, body, &next.keys)) < 0 ||
        (rc = kdnet_seal(&l->control, dg->version, KDNET_CHANNEL_CONTROL, dg->seq, true, body,
                         sizeof body, out, sizeof out, &used)) < 0) {
        transport_fail(t, rc, "kdnet: cannot build the handshake response");
        goto wipe;
    }
    l->peer = *from;
    l->peer_len = from_len;
    l->peer_ep = *src;
    l->local_ep = *dst;
    /* No waiting for socket space here: the target pokes again if this is lost. */
    rc = send_datagram(t, l, out, used, transport_now_ms());
    if (rc < 0)
        goto wipe;
    if (l->keyed && l->confirmed) {
        l->prev = l->cur;
        l->have_prev = true;
    }
    l->cur = next;
    l->keyed = true;
    l->confirmed = l->data_failed = l->awaiting = false;
    l->pokes_awaiting = 0;
    l->version = dg->version;
    t->stats.handshakes++;
wipe:
    OPENSSL_cleanse(&next, sizeof next);
    OPENSSL_cleanse(body, sizeof body);
    OPENSSL_cleanse(&resp, sizeof resp);
    return rc;
}

static int on_control(struct transport *t, struct kdnet_link *l, size_t n,
                      const struct sockaddr_storage *from, socklen_t from_len,
                      const struct transport_endpoint *src, const struct transport_endpoint *dst)
{
    struct kdnet_datagram dg;
    struct kdnet_poke poke;
    int rc = kdnet_open(&l->control, l->dgram, n, l->plain, sizeof l->plain, &dg);
    if (rc == KD_ERR_AUTH) {
        t->stats.auth_failures++;
        return 0;
    }
    if (rc < 0 || dg.host_to_target ||
        kdnet_control_kind(dg.body, dg.body_len) != KDNET_CTRL_POKE ||
        kdnet_poke_parse(dg.body, dg.body_len, &poke) < 0) {
        t->stats.dropped++; /* a response from some host, or damage */
        return 0;
    }
    if (l->awaiting)
        l->pokes_awaiting++;
    if (l->keyed && l->confirmed && !l->data_failed && l->pokes_awaiting < 2)
        return 0; /* the keep-alive poke of a target in a live session */
    rc = answer_poke(t, l, &dg, &poke, from, from_len, src, dst);
    OPENSSL_cleanse(&poke, sizeof poke);
    return rc < 0 ? rc : 0;
}

/* Opens a data datagram with the current key, or the one before it. */
static int open_data(struct transport *t, struct kdnet_link *l, size_t n, struct kdnet_datagram *dg)
{
    int rc = kdnet_open(&l->cur.keys, l->dgram, n, l->plain, sizeof l->plain, dg);
    if (rc == KD_ERR_AUTH && l->have_prev) {
        rc = kdnet_open(&l->prev.keys, l->dgram, n, l->plain, sizeof l->plain, dg);
        if (rc == KD_OK) { /* the target never left the old session: go back to it */
            l->cur = l->prev;
            l->confirmed = true;
        }
    }
    if (rc == KD_ERR_AUTH) {
        t->stats.auth_failures++;
        l->data_failed = true;
    } else if (rc < 0) {
        t->stats.dropped++;
    }
    return rc;
}

/* 1 and the packet in buf when a data datagram delivered one, 0 when the
 * datagram was consumed or dropped, or a status. */
static int on_datagram(struct transport *t, struct kdnet_link *l, size_t n,
                       const struct sockaddr_storage *from, socklen_t from_len, uint8_t *buf,
                       size_t cap, size_t *got, const struct transport_endpoint *src,
                       const struct transport_endpoint *dst)
{
    struct timespec when;
    uint8_t version, channel;
    struct kdnet_datagram dg;
    transport_note_io(t, TRANSPORT_TARGET_TO_HOST, l->dgram, n, NULL, src, dst, &when);
    if ((l->filter && !same_ip(src, &l->want)) || kdnet_peek(l->dgram, n, &version, &channel) < 0) {
        t->stats.dropped++;
        return 0;
    }
    if (channel == KDNET_CHANNEL_CONTROL)
        return on_control(t, l, n, from, from_len, src, dst);
    if (channel != KDNET_CHANNEL_DATA || !l->keyed) {
        t->stats.dropped++;
        return 0;
    }
    if (open_data(t, l, n, &dg) < 0)
        return 0;
    if (dg.host_to_target || dg.seq <= l->cur.rx_seq) {
        t->stats.dropped++; /* our own datagram reflected, or a replay */
        return 0;
    }
    l->cur.rx_seq = dg.seq;
    l->confirmed = true;
    l->have_prev = l->data_failed = l->awaiting = false;
    l->pokes_awaiting = 0;
    l->peer = *from; /* answer where the target now sends from */
    l->peer_len = from_len;
    l->peer_ep = *src;
    l->local_ep = *dst;
    if (dg.body_len > cap) {
        t->stats.dropped++;
        return transport_fail(t, KD_ERR_NOSPACE, "kdnet: a %zu-byte packet does not fit in %zu",
                              dg.body_len, cap);
    }
    memcpy(buf, dg.body, dg.body_len);
    *got = dg.body_len;
    transport_note_delivery(t, TRANSPORT_TARGET_TO_HOST, &when, src, dst);
    return 1;
}

static int kdnet_read(struct transport *t, uint8_t *buf, size_t cap, int64_t deadline, size_t *got)
{
    struct kdnet_link *l = t->priv;
    for (;;) {
        struct sockaddr_storage from;
        socklen_t from_len = 0;
        struct transport_endpoint src, dst;
        ssize_t n = receive(t, l, &from, &from_len, &src, &dst);
        if (n < 0)
            return (int)n;
        if (n > 0) {
            int rc = on_datagram(t, l, (size_t)n, &from, from_len, buf, cap, got, &src, &dst);
            if (rc != 0)
                return rc < 0 ? rc : KD_OK;
            continue;
        }
        int rc = transport_wait_fd(t, l->fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
    }
}

/* Does the target answer this packet? (An ACK gets no answer; a request,
 * a break-in, RESEND and RESET do.) */
static bool expects_answer(const uint8_t *p, size_t len)
{
    if (len == 1)
        return p[0] == KD_BREAKIN_BYTE;
    if (len < 6)
        return false;
    if (kd_le32(p) == KD_LEADER_DATA)
        return true;
    return kd_le32(p) == KD_LEADER_CONTROL && (kd_le16(p + 4) == KD_PACKET_TYPE_KD_RESEND ||
                                               kd_le16(p + 4) == KD_PACKET_TYPE_KD_RESET);
}

static int kdnet_write(struct transport *t, const uint8_t *buf, size_t len, int64_t deadline)
{
    struct kdnet_link *l = t->priv;
    uint8_t out[KDNET_MAX_DATAGRAM];
    size_t used;
    if (!l->keyed)
        return transport_fail(t, KD_ERR_NOKEY,
                              "kdnet: no target has connected yet (waiting for its poke)");
    if (len > KD_HEADER_SIZE + KD_PACKET_MAX)
        return transport_fail(t, KD_ERR_LENGTH, "kdnet: %zu bytes exceed one KD packet", len);
    int rc = kdnet_seal(&l->cur.keys, l->version, KDNET_CHANNEL_DATA, l->cur.tx_seq + 1, true, buf,
                        len, out, sizeof out, &used);
    if (rc < 0)
        return transport_fail(t, rc, "kdnet: cannot seal the datagram");
    rc = send_datagram(t, l, out, used, deadline);
    if (rc < 0)
        return rc;
    l->cur.tx_seq++;
    if (!l->awaiting && expects_answer(buf, len)) {
        l->awaiting = true;
        l->pokes_awaiting = 0;
    }
    return KD_OK;
}

static int kdnet_fd(const struct transport *t)
{
    const struct kdnet_link *l = t->priv;
    return l->fd;
}

static int kdnet_local_port(const struct transport *t)
{
    const struct kdnet_link *l = t->priv;
    return l->port;
}

static void kdnet_describe(const struct transport *t, char *buf, size_t len)
{
    const struct kdnet_link *l = t->priv;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = kdnet_local_port(t);
    if (l->keyed) {
        inet_ntop(l->peer_ep.ip_version == 6 ? AF_INET6 : AF_INET, l->peer_ep.ip, ip, sizeof ip);
        snprintf(buf, len, "kdnet udp %s:%d (target %s%s%s:%u, data key set)", l->bind_text, port,
                 l->peer_ep.ip_version == 6 ? "[" : "", ip, l->peer_ep.ip_version == 6 ? "]" : "",
                 l->peer_ep.port);
    } else if (l->filter) {
        inet_ntop(l->want.ip_version == 6 ? AF_INET6 : AF_INET, l->want.ip, ip, sizeof ip);
        snprintf(buf, len, "kdnet udp %s:%d (waiting for %s's poke)", l->bind_text, port, ip);
    } else {
        snprintf(buf, len, "kdnet udp %s:%d (waiting for the target's poke)", l->bind_text, port);
    }
}

static void kdnet_close(struct transport *t)
{
    struct kdnet_link *l = t->priv;
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    OPENSSL_cleanse(l, sizeof *l);
    free(l);
    t->priv = NULL;
}

const struct transport_ops transport_kdnet_ops = {
    .scheme = "kdnet",
    .kind = TRANSPORT_MESSAGES,
    .open = kdnet_open_link,
    .fd = kdnet_fd,
    .read = kdnet_read,
    .write = kdnet_write,
    .describe = kdnet_describe,
    .local_port = kdnet_local_port,
    .close = kdnet_close,
};
