/* transport_sock.c: stream sockets with deadlines, shared by tcp and unix.
 * Listeners accept inside reads and writes, so opening never blocks on the
 * VM, and a VM that reconnects (reboot) is accepted again. */
#include "transport_sock.h"
#include "kd_status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void transport_sock_init(struct transport_sock *s)
{
    memset(s, 0, sizeof *s);
    s->listen_fd = -1;
    s->fd = -1;
}

void transport_sock_fini(struct transport_sock *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->fd = s->listen_fd = -1;
}

static void set_nodelay(int fd, int family)
{
    int one = 1;
    /* KD sends small request/reply packets: Nagle would add latency to each. */
    if (family == AF_INET || family == AF_INET6)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int transport_sock_connect(struct transport_sock *s, const struct sockaddr *addr,
                           socklen_t addr_len, int *err_no)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err_no = errno;
        return KD_ERR_IO;
    }
    if (connect(fd, addr, addr_len) < 0) {
        if (errno != EINPROGRESS) {
            *err_no = errno;
            goto close_fd;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int64_t deadline = transport_now_ms() + TRANSPORT_SOCK_CONNECT_MS;
        int n;
        do
            n = poll(&p, 1, transport_remaining_ms(deadline));
        while (n < 0 && errno == EINTR);
        if (n == 0) {
            *err_no = ETIMEDOUT;
            close(fd);
            return KD_ERR_TIMEOUT;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
            *err_no = n < 0 ? errno : soerr ? soerr : errno;
            goto close_fd;
        }
    }
    set_nodelay(fd, addr->sa_family);
    s->fd = fd;
    return KD_OK;
close_fd:
    close(fd);
    return KD_ERR_IO;
}

int transport_sock_listen(struct transport_sock *s, const struct sockaddr *addr, socklen_t addr_len,
                          int *err_no)
{
    int one = 1;
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err_no = errno;
        return KD_ERR_IO;
    }
    if (addr->sa_family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, addr, addr_len) < 0 || listen(fd, 1) < 0) {
        *err_no = errno;
        close(fd);
        return KD_ERR_IO;
    }
    s->listen_fd = fd;
    return KD_OK;
}

int transport_sock_fd(const struct transport_sock *s)
{
    return s->fd >= 0 ? s->fd : s->listen_fd;
}

int transport_sock_port(const struct transport_sock *s)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (s->listen_fd < 0 || getsockname(s->listen_fd, (struct sockaddr *)&ss, &sl) < 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

void transport_sock_format(const struct sockaddr *sa, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, "local peer");
    }
}

/* Listeners: waits for the VM until the deadline and takes its connection. */
static int ensure_peer(struct transport *t, struct transport_sock *s, int64_t deadline)
{
    if (s->fd >= 0)
        return KD_OK;
    if (s->listen_fd < 0)
        return transport_fail(t, KD_ERR_CLOSED, "the connection is closed");
    for (;;) {
        int rc = transport_wait_fd(t, s->listen_fd, POLLIN, deadline);
        if (rc == KD_ERR_TIMEOUT)
            return transport_fail(t, rc, "no VM has connected yet");
        if (rc < 0)
            return rc;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept(s->listen_fd, (struct sockaddr *)&ss, &sl);
        if (fd >= 0) {
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            fcntl(fd, F_SETFD, FD_CLOEXEC);
            set_nodelay(fd, ss.ss_family);
            transport_sock_format((struct sockaddr *)&ss, s->peer, sizeof s->peer);
            s->fd = fd;
            return KD_OK;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
            t->stats.errors++;
            return transport_fail(t, KD_ERR_IO, "accept: %s", strerror(errno));
        }
    }
}

static int peer_gone(struct transport *t, struct transport_sock *s, const char *why)
{
    close(s->fd);
    s->fd = -1;
    if (s->listen_fd < 0)
        s->closed = true;
    return transport_fail(t, KD_ERR_CLOSED, "%s%s", why,
                          s->listen_fd >= 0 ? " (waiting for the VM to connect again)" : "");
}

int transport_sock_read(struct transport *t, struct transport_sock *s, uint8_t *buf, size_t cap,
                        int64_t deadline, size_t *got)
{
    int rc = ensure_peer(t, s, deadline);
    if (rc < 0)
        return rc;
    for (;;) {
        ssize_t n = recv(s->fd, buf, cap, MSG_DONTWAIT);
        if (n > 0) {
            struct timespec when;
            transport_note_io(t, TRANSPORT_TARGET_TO_HOST, buf, (size_t)n, NULL, NULL, NULL, &when);
            transport_note_delivery(t, TRANSPORT_TARGET_TO_HOST, &when, NULL, NULL);
            *got = (size_t)n;
            return KD_OK;
        }
        if (n == 0)
            return peer_gone(t, s, "the peer closed the connection");
        if (errno == ECONNRESET)
            return peer_gone(t, s, "the peer reset the connection");
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            t->stats.errors++;
            return transport_fail(t, KD_ERR_IO, "recv: %s", strerror(errno));
        }
        rc = transport_wait_fd(t, s->fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
    }
}

int transport_sock_write(struct transport *t, struct transport_sock *s, const uint8_t *buf,
                         size_t len, int64_t deadline)
{
    int rc = ensure_peer(t, s, deadline);
    if (rc < 0)
        return rc;
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(s->fd, buf + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            transport_note_io(t, TRANSPORT_HOST_TO_TARGET, buf + done, (size_t)n, NULL, NULL, NULL,
                              NULL);
            done += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return peer_gone(t, s, "the peer closed the connection");
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            t->stats.errors++;
            return transport_fail(t, KD_ERR_IO, "send: %s", strerror(errno));
        }
        rc = transport_wait_fd(t, s->fd, POLLOUT, deadline);
        if (rc == KD_ERR_TIMEOUT)
            return transport_fail(t, rc, "send: %zu of %zu bytes sent before the deadline", done,
                                  len);
        if (rc < 0)
            return rc;
    }
    return KD_OK;
}
