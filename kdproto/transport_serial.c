/* transport_serial.c: serial:/dev/ttyS0?baud=115200, 8N1, no flow control.
 * Real ports go through libserialport. Pseudo-terminals (QEMU -serial pty,
 * socat) go through plain termios, because libserialport 0.1.1 cannot open
 * them: it looks every name up under /sys/class/tty (ptys have no entry)
 * and its sp_open() asks for modem lines (TIOCMGET), which a pty refuses.
 * Both paths take an exclusive flock() so two debuggers never share a port. */
#include "kd_status.h"
#include "transport_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

struct serial_link {
    struct sp_port *port; /* libserialport path; NULL on the termios path */
    int fd;
    bool pty;
    bool closed;
    unsigned long baud;
    char path[PATH_MAX];
};

static const struct {
    unsigned long rate;
    speed_t speed;
} bauds[] = {
    {9600, B9600},     {19200, B19200},   {38400, B38400},   {57600, B57600},
    {115200, B115200}, {230400, B230400}, {460800, B460800}, {921600, B921600},
};
#define BAUD_HELP "use 9600, 19200, 38400, 57600, 115200, 230400, 460800 or 921600"

static int parse_uri(const char *rest, char *path, size_t pcap, unsigned long *baud,
                     char err[TRANSPORT_ERR_SIZE])
{
    const char *q = strchr(rest, '?');
    size_t plen = q ? (size_t)(q - rest) : strlen(rest);
    *baud = 115200;
    if (plen == 0) {
        snprintf(err, TRANSPORT_ERR_SIZE,
                 "serial: missing device path (expected serial:/dev/ttyS0?baud=115200)");
        return KD_ERR_ARG;
    }
    if (plen >= pcap) {
        snprintf(err, TRANSPORT_ERR_SIZE, "serial: device path too long");
        return KD_ERR_ARG;
    }
    memcpy(path, rest, plen);
    path[plen] = 0;
    if (!q)
        return KD_OK;
    const char *opt = q + 1;
    while (*opt) {
        size_t olen = strcspn(opt, "&");
        if (olen > 5 && !strncmp(opt, "baud=", 5)) {
            unsigned long v = 0;
            bool ok = transport_parse_uint(opt + 5, olen - 5, 1, ULONG_MAX, &v);
            size_t i = 0;
            while (ok && i < sizeof bauds / sizeof bauds[0] && bauds[i].rate != v)
                i++;
            if (!ok || i == sizeof bauds / sizeof bauds[0]) {
                snprintf(err, TRANSPORT_ERR_SIZE, "serial: unsupported baud rate '%.*s' (%s)",
                         (int)(olen - 5 > 20 ? 20 : olen - 5), opt + 5, BAUD_HELP);
                return KD_ERR_ARG;
            }
            *baud = v;
        } else {
            size_t nlen = strcspn(opt, "=&");
            snprintf(err, TRANSPORT_ERR_SIZE, "serial: unknown option '%.*s' (only baud=N)",
                     (int)(nlen > 32 ? 32 : nlen), opt);
            return KD_ERR_ARG;
        }
        opt += olen + (opt[olen] == '&');
    }
    return KD_OK;
}

static void errno_message(const char *path, int e, char err[TRANSPORT_ERR_SIZE])
{
    if (e == ENOENT || e == ENODEV || e == ENXIO)
        snprintf(err, TRANSPORT_ERR_SIZE, "serial %.150s: no such device", path);
    else if (e == EACCES || e == EPERM)
        snprintf(err, TRANSPORT_ERR_SIZE,
                 "serial %.150s: permission denied (add your user to the 'dialout' group)", path);
    else if (e == ENOTTY)
        snprintf(err, TRANSPORT_ERR_SIZE, "serial %.150s: not a serial device", path);
    else if (e == EBUSY || e == EWOULDBLOCK)
        snprintf(err, TRANSPORT_ERR_SIZE,
                 "serial %.150s: port is busy (another program has it open)", path);
    else
        snprintf(err, TRANSPORT_ERR_SIZE, "serial %.150s: %s", path, strerror(e));
}

/* Keeps other openers out: flock() for cooperating programs, TIOCEXCL for the rest. */
static int lock_port(int fd)
{
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return errno == EWOULDBLOCK ? EBUSY : errno;
    ioctl(fd, TIOCEXCL);
    return 0;
}

static int open_termios(struct serial_link *l, const char *real, char err[TRANSPORT_ERR_SIZE])
{
    struct termios tio;
    speed_t speed = B115200;
    for (size_t i = 0; i < sizeof bauds / sizeof bauds[0]; i++)
        if (bauds[i].rate == l->baud)
            speed = bauds[i].speed;
    int fd = open(real, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        errno_message(l->path, errno, err);
        return KD_ERR_IO;
    }
    int e = lock_port(fd);
    if (e == 0 && tcgetattr(fd, &tio) < 0)
        e = errno;
    if (e == 0) {
        cfmakeraw(&tio);
        tio.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB | CRTSCTS | CSIZE);
        tio.c_cflag |= CS8 | CLOCAL | CREAD;
        tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
        tio.c_cc[VMIN] = 0;
        tio.c_cc[VTIME] = 0;
        if (cfsetispeed(&tio, speed) < 0 || cfsetospeed(&tio, speed) < 0 ||
            tcsetattr(fd, TCSANOW, &tio) < 0)
            e = errno;
    }
    if (e) {
        errno_message(l->path, e, err);
        close(fd);
        return KD_ERR_IO;
    }
    l->fd = fd;
    return KD_OK;
}

static int open_libserialport(struct serial_link *l, const char *real, char err[TRANSPORT_ERR_SIZE])
{
    if (sp_get_port_by_name(real, &l->port) != SP_OK) {
        l->port = NULL;
        return open_termios(l, real, err); /* a tty libserialport does not know */
    }
    if (sp_open(l->port, SP_MODE_READ_WRITE) != SP_OK) {
        errno_message(l->path, sp_last_error_code(), err);
        sp_close(l->port); /* some libserialport versions keep the descriptor after a failed open */
        goto free_port;
    }
    int e = 0;
    if (sp_get_port_handle(l->port, &l->fd) != SP_OK)
        e = EBADF;
    if (e == 0)
        e = lock_port(l->fd);
    if (e) {
        errno_message(l->path, e, err);
        goto close_port;
    }
    if (sp_set_baudrate(l->port, (int)l->baud) != SP_OK || sp_set_bits(l->port, 8) != SP_OK ||
        sp_set_parity(l->port, SP_PARITY_NONE) != SP_OK || sp_set_stopbits(l->port, 1) != SP_OK ||
        sp_set_flowcontrol(l->port, SP_FLOWCONTROL_NONE) != SP_OK) {
        char *m = sp_last_error_message();
        snprintf(err, TRANSPORT_ERR_SIZE, "serial %.150s: cannot set %lu 8N1: %s", l->path, l->baud,
                 m ? m : "?");
        sp_free_error_message(m);
        goto close_port;
    }
    return KD_OK;
close_port:
    sp_close(l->port);
free_port:
    sp_free_port(l->port);
    l->port = NULL;
    l->fd = -1;
    return KD_ERR_IO;
}

static int serial_open(struct transport *t, const char *rest, char err[TRANSPORT_ERR_SIZE])
{
    struct stat st;
    char real[PATH_MAX];
    struct serial_link *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, TRANSPORT_ERR_SIZE, "out of memory");
        return KD_ERR_NOMEM;
    }
    l->fd = -1;
    int rc = parse_uri(rest, l->path, sizeof l->path, &l->baud, err);
    if (rc < 0)
        goto free_link;
    rc = KD_ERR_IO;
    /* libserialport finds ports by their /dev name: resolve /dev/serial/by-id links. */
    if (!realpath(l->path, real) || stat(real, &st) < 0) {
        errno_message(l->path, errno, err);
        goto free_link;
    }
    if (!S_ISCHR(st.st_mode)) {
        snprintf(err, TRANSPORT_ERR_SIZE, "serial %.150s: not a serial device", l->path);
        goto free_link;
    }
    l->pty = major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143; /* UNIX98 pty slaves */
    rc = l->pty ? open_termios(l, real, err) : open_libserialport(l, real, err);
    if (rc < 0)
        goto free_link;
    t->priv = l;
    return KD_OK;
free_link:
    free(l);
    return rc;
}

static int serial_fd(const struct transport *t)
{
    const struct serial_link *l = t->priv;
    return l->closed ? -1 : l->fd;
}

static int serial_read(struct transport *t, uint8_t *buf, size_t cap, int64_t deadline, size_t *got)
{
    struct serial_link *l = t->priv;
    if (l->closed)
        return transport_fail(t, KD_ERR_CLOSED, "the serial device went away");
    bool hup = false;
    for (;;) {
        ssize_t n = l->port ? sp_nonblocking_read(l->port, buf, cap) : read(l->fd, buf, cap);
        int e = errno;
        if (l->port && n < 0) /* libserialport: a negative enum sp_return, errno kept by it */
            e = sp_last_error_code();
        if (n > 0) {
            struct timespec when;
            transport_note_io(t, TRANSPORT_TARGET_TO_HOST, buf, (size_t)n, NULL, NULL, NULL, &when);
            transport_note_delivery(t, TRANSPORT_TARGET_TO_HOST, &when, NULL, NULL);
            *got = (size_t)n;
            return KD_OK;
        }
        /* pty master closed or adapter unplugged: EIO, or nothing to read after a hang-up */
        if ((n < 0 && (e == EIO || e == ENXIO || e == ENODEV)) || (hup && e != EINTR)) {
            l->closed = true;
            return transport_fail(t, KD_ERR_CLOSED, "the serial device went away");
        }
        if (n < 0 && e != EAGAIN && e != EWOULDBLOCK && e != EINTR) {
            t->stats.errors++;
            return transport_fail(t, KD_ERR_IO, "serial read: %s", strerror(e));
        }
        struct pollfd p = {.fd = l->fd, .events = POLLIN};
        int r = poll(&p, 1, transport_remaining_ms(deadline));
        if (r == 0)
            return KD_ERR_TIMEOUT;
        if (r < 0 && errno != EINTR) {
            t->stats.errors++;
            return transport_fail(t, KD_ERR_IO, "poll: %s", strerror(errno));
        }
        hup = r > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
    }
}

static int serial_write(struct transport *t, const uint8_t *buf, size_t len, int64_t deadline)
{
    struct serial_link *l = t->priv;
    size_t done = 0;
    if (l->closed)
        return transport_fail(t, KD_ERR_CLOSED, "the serial device went away");
    while (done < len) {
        ssize_t n = l->port ? sp_nonblocking_write(l->port, buf + done, len - done)
                            : write(l->fd, buf + done, len - done);
        int e = l->port && n < 0 ? sp_last_error_code() : errno;
        if (n > 0) {
            transport_note_io(t, TRANSPORT_HOST_TO_TARGET, buf + done, (size_t)n, NULL, NULL, NULL,
                              NULL);
            done += (size_t)n;
            continue;
        }
        if (n < 0 && e != EAGAIN && e != EWOULDBLOCK && e != EINTR) {
            t->stats.errors++;
            return transport_fail(t, KD_ERR_IO, "serial write: %s", strerror(e));
        }
        int rc = transport_wait_fd(t, l->fd, POLLOUT, deadline);
        if (rc == KD_ERR_TIMEOUT)
            return transport_fail(t, rc, "serial write: %zu of %zu bytes sent before the deadline",
                                  done, len);
        if (rc < 0)
            return rc;
    }
    return KD_OK;
}

static void serial_describe(const struct transport *t, char *buf, size_t len)
{
    const struct serial_link *l = t->priv;
    snprintf(buf, len, "serial %s %lu 8N1%s%s", l->path, l->baud, l->pty ? " (pty)" : "",
             l->closed ? " (gone)" : "");
}

static void serial_close(struct transport *t)
{
    struct serial_link *l = t->priv;
    if (!l)
        return;
    if (l->port) {
        sp_close(l->port);
        sp_free_port(l->port);
    } else if (l->fd >= 0) {
        close(l->fd);
    }
    free(l);
    t->priv = NULL;
}

const struct transport_ops transport_serial_ops = {
    .scheme = "serial",
    .kind = TRANSPORT_STREAM,
    .open = serial_open,
    .fd = serial_fd,
    .read = serial_read,
    .write = serial_write,
    .describe = serial_describe,
    .close = serial_close,
};
