/* sim_listen.c: kdsim's endpoints (sim_listen.h). */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 600 /* posix_openpt, grantpt, ptsname */
#endif
#include "sim_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "kd_status.h"

static int fail(char *err, size_t cap, int st, const char *what)
{
    snprintf(err, cap, "%s: %s", what, errno ? strerror(errno) : "invalid");
    return st;
}

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int open_pty(struct sim_listen *l, char *err, size_t cap)
{
    l->fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (l->fd < 0 || grantpt(l->fd) != 0 || unlockpt(l->fd) != 0)
        return fail(err, cap, KD_ERR_IO, "pty");
    struct termios tio;
    if (tcgetattr(l->fd, &tio) == 0) {
        cfmakeraw(&tio); /* bytes as they are, both ways */
        tcsetattr(l->fd, TCSANOW, &tio);
    }
    nonblock(l->fd);
    l->hup = true;
    snprintf(l->where, sizeof(l->where), "pty:%s", ptsname(l->fd));
    return KD_OK;
}

static int open_stream(struct sim_listen *l, const char *rest, char *err, size_t cap)
{
    int fam = l->kind == SIM_LISTEN_UNIX ? AF_UNIX : AF_INET;
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    if (fam == AF_UNIX) {
        struct sockaddr_un *un = (struct sockaddr_un *)&ss;
        if (!*rest || strlen(rest) >= sizeof(un->sun_path))
            return fail(err, cap, KD_ERR_ARG, "unix: path");
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, rest);
        snprintf(l->unix_path, sizeof(l->unix_path), "%s", rest);
        unlink(rest); /* a stale socket of an earlier run */
        len = sizeof(*un);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        char host[64] = "127.0.0.1";
        const char *colon = strrchr(rest, ':');
        if (colon && (size_t)(colon - rest) < sizeof(host))
            snprintf(host, sizeof(host), "%.*s", (int)(colon - rest), rest);
        char *end;
        long port = strtol(colon ? colon + 1 : rest, &end, 10);
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &in->sin_addr) != 1)
            return fail(err, cap, KD_ERR_ARG, "tcp: HOST:PORT");
        len = sizeof(*in);
    }
    int one = 1;
    l->lfd = socket(fam, SOCK_STREAM, 0);
    if (l->lfd < 0)
        return fail(err, cap, KD_ERR_IO, "socket");
    setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(l->lfd, (struct sockaddr *)&ss, len) != 0 || listen(l->lfd, 1) != 0)
        return fail(err, cap, KD_ERR_IO, "listen");
    nonblock(l->lfd);
    if (fam == AF_UNIX) {
        snprintf(l->where, sizeof(l->where), "unix:%s", l->unix_path);
    } else {
        struct sockaddr_in bound;
        socklen_t bl = sizeof(bound);
        getsockname(l->lfd, (struct sockaddr *)&bound, &bl);
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &bound.sin_addr, ip, sizeof(ip));
        snprintf(l->where, sizeof(l->where), "tcp:%s:%u", ip, ntohs(bound.sin_port));
    }
    return KD_OK;
}

/* kdnet:host=IP,port=P,key=K[,tport=Q] */
static int open_kdnet(struct sim_listen *l, const char *rest, char *err, size_t cap)
{
    char copy[256], host[64] = "";
    long port = -1, tport = 0;
    snprintf(copy, sizeof(copy), "%s", rest);
    for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        if (strncmp(kv, "host=", 5) == 0)
            snprintf(host, sizeof(host), "%s", kv + 5);
        else if (strncmp(kv, "port=", 5) == 0)
            port = strtol(kv + 5, NULL, 10);
        else if (strncmp(kv, "tport=", 6) == 0)
            tport = strtol(kv + 6, NULL, 10);
        else if (strncmp(kv, "key=", 4) == 0)
            snprintf(l->key, sizeof(l->key), "%s", kv + 4);
        else
            return fail(err, cap, KD_ERR_ARG, "kdnet: unknown option");
    }
    memset(copy, 0, sizeof(copy));
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)tport)};
    if (!l->key[0] || port <= 0 || port > 65535 || tport < 0 || tport > 65535 ||
        inet_pton(AF_INET, host, &to.sin_addr) != 1)
        return fail(err, cap, KD_ERR_ARG, "kdnet: host=IP,port=P,key=K[,tport=Q]");
    l->fd = socket(AF_INET, SOCK_DGRAM, 0);
    socklen_t ml = sizeof(me);
    if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&me, sizeof(me)) != 0 ||
        connect(l->fd, (struct sockaddr *)&to, sizeof(to)) != 0 ||
        getsockname(l->fd, (struct sockaddr *)&me, &ml) != 0)
        return fail(err, cap, KD_ERR_IO, "kdnet socket");
    nonblock(l->fd);
    memcpy(l->host_ip, &to.sin_addr, 4);
    memcpy(l->local_ip, &me.sin_addr, 4);
    l->host_port = (uint16_t)port;
    l->local_port = ntohs(me.sin_port);
    snprintf(l->where, sizeof(l->where), "kdnet:%s:%ld from port %u", host, port, l->local_port);
    return KD_OK;
}

int sim_listen_open(const char *uri, struct sim_listen *l, char *err, size_t cap)
{
    memset(l, 0, sizeof(*l));
    l->lfd = l->fd = -1;
    errno = 0;
    int st;
    if (strcmp(uri, "pty") == 0)
        l->kind = SIM_LISTEN_PTY, st = open_pty(l, err, cap);
    else if (strncmp(uri, "tcp:", 4) == 0)
        l->kind = SIM_LISTEN_TCP, st = open_stream(l, uri + 4, err, cap);
    else if (strncmp(uri, "unix:", 5) == 0)
        l->kind = SIM_LISTEN_UNIX, st = open_stream(l, uri + 5, err, cap);
    else if (strncmp(uri, "kdnet:", 6) == 0)
        l->kind = SIM_LISTEN_KDNET, st = open_kdnet(l, uri + 6, err, cap);
    else
        st = fail(err, cap, KD_ERR_ARG, "uri (pty, tcp:PORT, unix:PATH, kdnet:...)");
    if (st != KD_OK)
        sim_listen_close(l);
    return st;
}

int sim_listen_accept(struct sim_listen *l)
{
    if (l->lfd < 0 || l->fd >= 0)
        return 0;
    int fd = accept(l->lfd, NULL, NULL);
    if (fd < 0)
        return 0;
    int one = 1;
    if (l->kind == SIM_LISTEN_TCP)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    nonblock(fd);
    l->fd = fd;
    return 1;
}

int sim_listen_poll_fd(const struct sim_listen *l)
{
    if (l->kind == SIM_LISTEN_PTY && l->hup)
        return -1; /* a hung-up master polls ready forever: look again later */
    return l->fd >= 0 ? l->fd : l->lfd;
}

int sim_listen_recv(struct sim_listen *l, uint8_t *buf, size_t cap, size_t *n)
{
    *n = 0;
    if (l->kind == SIM_LISTEN_PTY && l->hup) {
        struct pollfd p = {l->fd, POLLIN, 0};
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
            return KD_OK;
        l->hup = false; /* someone opened the slave */
    }
    if (l->fd < 0)
        return KD_OK;
    ssize_t r = read(l->fd, buf, cap);
    if (r > 0) {
        *n = (size_t)r;
        return KD_OK;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return KD_OK;
    if (l->kind == SIM_LISTEN_KDNET)
        return KD_OK; /* ICMP refusals while no host listens */
    if (l->kind == SIM_LISTEN_PTY) {
        l->hup = true; /* EIO: the slave side closed */
    } else {
        close(l->fd);
        l->fd = -1;
    }
    return KD_ERR_CLOSED;
}

int sim_listen_send(struct sim_listen *l, const uint8_t *buf, size_t len)
{
    if (l->fd < 0)
        return KD_OK;
    size_t off = 0;
    for (int spins = 0; off < len && spins < 1000; spins++) {
        ssize_t w = write(l->fd, buf + off, len - off);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR) && l->kind != SIM_LISTEN_KDNET) {
            struct pollfd p = {l->fd, POLLOUT, 0};
            poll(&p, 1, 10);
        } else {
            break; /* lost, as bytes on a wire nobody listens to */
        }
    }
    return KD_OK;
}

void sim_listen_close(struct sim_listen *l)
{
    if (l->fd >= 0)
        close(l->fd);
    if (l->lfd >= 0)
        close(l->lfd);
    if (l->unix_path[0])
        unlink(l->unix_path);
    memset(l->key, 0, sizeof(l->key));
    l->fd = l->lfd = -1;
}
