/* transport_tcp.c: a VM's serial port carried over TCP (QEMU -serial tcp:...,
 * VMware network serial port). tcp:HOST:PORT connects to a VM that serves
 * the port; tcp-listen:[ADDR:]PORT waits for a VM that connects out
 * (ADDR defaults to 127.0.0.1: a debugger port is not for the network). */
#include "kd_status.h"
#include "transport_sock.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tcp_link {
    struct transport_sock sock;
    char where[300]; /* "HOST:PORT" as given / as bound */
};

/* Splits "HOST:PORT" or "[V6]:PORT"; host may come out empty. */
static int split_host_port(const char *s, char *host, size_t hcap, const char **port)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        if ((size_t)(close - s - 1) >= hcap)
            return -1;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = 0;
        *port = close + 2;
        return 0;
    }
    colon = strrchr(s, ':');
    if (!colon) {
        host[0] = 0;
        *port = s;
        return 1; /* no host part */
    }
    if ((size_t)(colon - s) >= hcap)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    *port = colon + 1;
    return 0;
}

static int resolve(const char *host, const char *port, bool passive, struct addrinfo **res,
                   char err[TRANSPORT_ERR_SIZE], const char *scheme)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    if (passive)
        hints.ai_flags |= AI_PASSIVE;
    int g = getaddrinfo(host, port, &hints, res);
    if (g) {
        snprintf(err, TRANSPORT_ERR_SIZE, "%s: cannot resolve '%.200s': %s", scheme, host,
                 gai_strerror(g));
        return KD_ERR_NOTFOUND;
    }
    return KD_OK;
}

static int tcp_open(struct transport *t, const char *rest, char err[TRANSPORT_ERR_SIZE])
{
    char host[256];
    const char *port;
    unsigned long pv;
    int split = split_host_port(rest, host, sizeof host, &port);
    if (split < 0 || (split == 0 && host[0] == 0)) {
        snprintf(err, TRANSPORT_ERR_SIZE, "tcp: missing host (expected tcp:HOST:PORT)");
        return KD_ERR_ARG;
    }
    if (split == 1 || port[0] == 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "tcp: missing port (expected tcp:HOST:PORT)");
        return KD_ERR_ARG;
    }
    if (!strcmp(host, "listen")) {
        snprintf(err, TRANSPORT_ERR_SIZE, "tcp: to wait for the VM, write tcp-listen:PORT");
        return KD_ERR_ARG;
    }
    if (!transport_parse_uint(port, strlen(port), 1, 65535, &pv)) {
        snprintf(err, TRANSPORT_ERR_SIZE, "tcp: bad port '%.20s' (expected 1..65535)", port);
        return KD_ERR_ARG;
    }
    struct tcp_link *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, TRANSPORT_ERR_SIZE, "out of memory");
        return KD_ERR_NOMEM;
    }
    transport_sock_init(&l->sock);
    snprintf(l->where, sizeof l->where, "%s%s%s:%lu", strchr(host, ':') ? "[" : "", host,
             strchr(host, ':') ? "]" : "", pv);
    struct addrinfo *res;
    int rc = resolve(host, port, false, &res, err, "tcp");
    if (rc < 0)
        goto free_link;
    int err_no = 0;
    rc = KD_ERR_IO;
    for (struct addrinfo *ai = res; ai && rc < 0; ai = ai->ai_next)
        rc = transport_sock_connect(&l->sock, ai->ai_addr, ai->ai_addrlen, &err_no);
    freeaddrinfo(res);
    if (rc < 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "tcp %.150s: %s%s", l->where, strerror(err_no),
                 err_no == ECONNREFUSED ? " (is the VM running, its serial port a TCP server?)"
                                        : "");
        goto free_link;
    }
    t->priv = l;
    return KD_OK;
free_link:
    free(l);
    return rc;
}

static int tcp_listen_open(struct transport *t, const char *rest, char err[TRANSPORT_ERR_SIZE])
{
    char host[256];
    const char *port;
    unsigned long pv;
    int split = split_host_port(rest, host, sizeof host, &port);
    if (split < 0) {
        snprintf(err, TRANSPORT_ERR_SIZE,
                 "tcp-listen: bad address (expected tcp-listen:PORT or tcp-listen:ADDR:PORT)");
        return KD_ERR_ARG;
    }
    if (port[0] == 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "tcp-listen: missing port (expected tcp-listen:PORT)");
        return KD_ERR_ARG;
    }
    if (!transport_parse_uint(port, strlen(port), 0, 65535, &pv)) {
        snprintf(err, TRANSPORT_ERR_SIZE, "tcp-listen: bad port '%.20s' (expected 0..65535)", port);
        return KD_ERR_ARG;
    }
    if (host[0] == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    struct tcp_link *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, TRANSPORT_ERR_SIZE, "out of memory");
        return KD_ERR_NOMEM;
    }
    transport_sock_init(&l->sock);
    struct addrinfo *res;
    int rc = resolve(host, port, true, &res, err, "tcp-listen");
    if (rc < 0)
        goto free_link;
    int err_no = 0;
    rc = transport_sock_listen(&l->sock, res->ai_addr, res->ai_addrlen, &err_no);
    if (rc == KD_OK)
        transport_sock_format(res->ai_addr, l->where, sizeof l->where);
    freeaddrinfo(res);
    if (rc < 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "tcp-listen %.200s:%lu: %s", host, pv, strerror(err_no));
        goto free_link;
    }
    if (pv == 0) { /* show the port the system chose */
        char *c = strrchr(l->where, ':');
        if (c)
            snprintf(c + 1, sizeof l->where - (size_t)(c + 1 - l->where), "%d",
                     transport_sock_port(&l->sock));
    }
    t->priv = l;
    return KD_OK;
free_link:
    free(l);
    return rc;
}

static int tcp_fd(const struct transport *t)
{
    const struct tcp_link *l = t->priv;
    return transport_sock_fd(&l->sock);
}

static int tcp_read(struct transport *t, uint8_t *buf, size_t cap, int64_t deadline, size_t *got)
{
    struct tcp_link *l = t->priv;
    return transport_sock_read(t, &l->sock, buf, cap, deadline, got);
}

static int tcp_write(struct transport *t, const uint8_t *buf, size_t len, int64_t deadline)
{
    struct tcp_link *l = t->priv;
    return transport_sock_write(t, &l->sock, buf, len, deadline);
}

static void tcp_describe(const struct transport *t, char *buf, size_t len)
{
    const struct tcp_link *l = t->priv;
    if (l->sock.listen_fd < 0)
        snprintf(buf, len, "tcp %s%s", l->where, l->sock.closed ? " (closed)" : "");
    else if (l->sock.fd >= 0)
        snprintf(buf, len, "tcp listen %s (VM connected from %s)", l->where, l->sock.peer);
    else
        snprintf(buf, len, "tcp listen %s (waiting for the VM)", l->where);
}

static int tcp_local_port(const struct transport *t)
{
    const struct tcp_link *l = t->priv;
    return transport_sock_port(&l->sock);
}

static void tcp_close(struct transport *t)
{
    struct tcp_link *l = t->priv;
    if (!l)
        return;
    transport_sock_fini(&l->sock);
    free(l);
    t->priv = NULL;
}

const struct transport_ops transport_tcp_ops = {
    .scheme = "tcp",
    .kind = TRANSPORT_STREAM,
    .open = tcp_open,
    .fd = tcp_fd,
    .read = tcp_read,
    .write = tcp_write,
    .describe = tcp_describe,
    .local_port = tcp_local_port,
    .close = tcp_close,
};

const struct transport_ops transport_tcp_listen_ops = {
    .scheme = "tcp-listen",
    .kind = TRANSPORT_STREAM,
    .open = tcp_listen_open,
    .fd = tcp_fd,
    .read = tcp_read,
    .write = tcp_write,
    .describe = tcp_describe,
    .local_port = tcp_local_port,
    .close = tcp_close,
};
