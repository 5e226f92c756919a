/* transport_unix.c: a VM's serial port on a Unix socket (QEMU -serial
 * unix:/path,server / -chardev socket,path=..., VMware's named pipe on a
 * Linux host). unix:/path connects; unix-listen:/path creates the socket
 * and waits for the VM, removing a stale socket file first and its own at
 * close. */
#include "kd_status.h"
#include "transport_sock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct unix_link {
    struct transport_sock sock;
    struct sockaddr_un addr;
    bool created; /* we made the socket file: remove it at close */
    dev_t dev;    /* and only if it is still ours */
    ino_t ino;
};

static int make_addr(const char *scheme, const char *path, struct sockaddr_un *sa,
                     char err[TRANSPORT_ERR_SIZE])
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (path[0] == 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "%s: missing socket path (expected %s:/path)", scheme,
                 scheme);
        return KD_ERR_ARG;
    }
    if (strlen(path) >= sizeof sa->sun_path) {
        snprintf(err, TRANSPORT_ERR_SIZE, "%s: socket path longer than %zu bytes", scheme,
                 sizeof sa->sun_path - 1);
        return KD_ERR_ARG;
    }
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return KD_OK;
}

static int unix_open(struct transport *t, const char *rest, char err[TRANSPORT_ERR_SIZE])
{
    struct unix_link *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, TRANSPORT_ERR_SIZE, "out of memory");
        return KD_ERR_NOMEM;
    }
    transport_sock_init(&l->sock);
    int rc = make_addr("unix", rest, &l->addr, err);
    if (rc < 0)
        goto free_link;
    int err_no = 0;
    rc = transport_sock_connect(&l->sock, (struct sockaddr *)&l->addr, sizeof l->addr, &err_no);
    if (rc < 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "unix %.200s: %s%s", rest, strerror(err_no),
                 err_no == ENOENT         ? " (is the VM running with this socket?)"
                 : err_no == ECONNREFUSED ? " (nobody listens: stale socket?)"
                                          : "");
        goto free_link;
    }
    t->priv = l;
    return KD_OK;
free_link:
    free(l);
    return rc;
}

/* A socket file nobody listens on is left over from a previous run. */
static bool stale_socket(const struct sockaddr_un *sa)
{
    struct transport_sock probe;
    int err_no = 0;
    transport_sock_init(&probe);
    int rc = transport_sock_connect(&probe, (const struct sockaddr *)sa, sizeof *sa, &err_no);
    transport_sock_fini(&probe);
    return rc < 0 && err_no == ECONNREFUSED;
}

static int unix_listen_open(struct transport *t, const char *rest, char err[TRANSPORT_ERR_SIZE])
{
    struct stat st;
    struct unix_link *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, TRANSPORT_ERR_SIZE, "out of memory");
        return KD_ERR_NOMEM;
    }
    transport_sock_init(&l->sock);
    int rc = make_addr("unix-listen", rest, &l->addr, err);
    if (rc < 0)
        goto free_link;
    if (lstat(rest, &st) == 0) {
        rc = KD_ERR_IO;
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, TRANSPORT_ERR_SIZE, "unix-listen %.200s: exists and is not a socket",
                     rest);
            goto free_link;
        }
        if (!stale_socket(&l->addr)) {
            snprintf(err, TRANSPORT_ERR_SIZE, "unix-listen %.200s: another program listens there",
                     rest);
            goto free_link;
        }
        unlink(rest);
    }
    int err_no = 0;
    rc = transport_sock_listen(&l->sock, (struct sockaddr *)&l->addr, sizeof l->addr, &err_no);
    if (rc < 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "unix-listen %.200s: %s", rest, strerror(err_no));
        goto free_link;
    }
    if (stat(rest, &st) == 0) {
        l->created = true;
        l->dev = st.st_dev;
        l->ino = st.st_ino;
    }
    t->priv = l;
    return KD_OK;
free_link:
    free(l);
    return rc;
}

static int unix_fd(const struct transport *t)
{
    const struct unix_link *l = t->priv;
    return transport_sock_fd(&l->sock);
}

static int unix_read(struct transport *t, uint8_t *buf, size_t cap, int64_t deadline, size_t *got)
{
    struct unix_link *l = t->priv;
    return transport_sock_read(t, &l->sock, buf, cap, deadline, got);
}

static int unix_write(struct transport *t, const uint8_t *buf, size_t len, int64_t deadline)
{
    struct unix_link *l = t->priv;
    return transport_sock_write(t, &l->sock, buf, len, deadline);
}

static void unix_describe(const struct transport *t, char *buf, size_t len)
{
    const struct unix_link *l = t->priv;
    if (l->sock.listen_fd < 0)
        snprintf(buf, len, "unix %s%s", l->addr.sun_path, l->sock.closed ? " (closed)" : "");
    else
        snprintf(buf, len, "unix listen %s (%s)", l->addr.sun_path,
                 l->sock.fd >= 0 ? "VM connected" : "waiting for the VM");
}

static void unix_close(struct transport *t)
{
    struct unix_link *l = t->priv;
    struct stat st;
    if (!l)
        return;
    if (l->created && stat(l->addr.sun_path, &st) == 0 && st.st_dev == l->dev &&
        st.st_ino == l->ino)
        unlink(l->addr.sun_path);
    transport_sock_fini(&l->sock);
    free(l);
    t->priv = NULL;
}

const struct transport_ops transport_unix_ops = {
    .scheme = "unix",
    .kind = TRANSPORT_STREAM,
    .open = unix_open,
    .fd = unix_fd,
    .read = unix_read,
    .write = unix_write,
    .describe = unix_describe,
    .close = unix_close,
};

const struct transport_ops transport_unix_listen_ops = {
    .scheme = "unix-listen",
    .kind = TRANSPORT_STREAM,
    .open = unix_listen_open,
    .fd = unix_fd,
    .read = unix_read,
    .write = unix_write,
    .describe = unix_describe,
    .close = unix_close,
};
