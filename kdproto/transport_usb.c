/* transport_usb.c: usb:VID:PID[,if=N], the bulk IN/OUT endpoint pair of one
 * interface moved as a raw byte STREAM through libusb (docs/transports.md
 * says which devices that serves, and what Windows USB debugging is not).
 * One IN transfer is always in flight; its completion is the data a read
 * returns. transport_fd() is an epoll descriptor holding every descriptor
 * libusb asks to watch (kept current through its pollfd notifiers), so one
 * poll() serves USB like any other link. */
#include "kd_status.h"
#include "transport_impl.h"

#include <errno.h>
#include <libusb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define USB_IN_SIZE 4096

struct usb_link {
    libusb_context *ctx;
    libusb_device_handle *h;
    struct libusb_transfer *in;
    unsigned vid, pid;
    int iface;
    bool claimed;
    uint8_t ep_in, ep_out, bus, addr;
    int epfd;
    bool in_flight;        /* the IN transfer is submitted */
    bool completed;        /* set by the callback, consumed by the event loop */
    int in_status;         /* enum libusb_transfer_status of the last completion */
    size_t in_len, in_off; /* completed bytes not yet returned */
    bool gone;
    uint8_t in_buf[USB_IN_SIZE];
};

static void pollfd_added(int fd, short events, void *user)
{
    struct usb_link *l = user;
    struct epoll_event ev = {.events = ((events & POLLIN) ? EPOLLIN : 0u) |
                                       ((events & POLLOUT) ? EPOLLOUT : 0u),
                             .data.fd = fd};
    epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void pollfd_removed(int fd, void *user)
{
    struct usb_link *l = user;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int parse_uri(const char *rest, struct usb_link *l, char err[TRANSPORT_ERR_SIZE])
{
    char *end;
    const char *p = rest;
    unsigned long v[2];
    for (int i = 0; i < 2; i++) {
        size_t n = strspn(p, "0123456789abcdefABCDEF");
        v[i] = n >= 1 && n <= 4 ? strtoul(p, &end, 16) : 0;
        if (n < 1 || n > 4 || (i == 0 && p[n] != ':') || (i == 1 && p[n] != 0 && p[n] != ',')) {
            snprintf(err, TRANSPORT_ERR_SIZE,
                     "usb: bad device '%.40s' (expected usb:VID:PID[,if=N] in hex, e.g. "
                     "usb:0403:6001)",
                     rest);
            return KD_ERR_ARG;
        }
        p += n + (i == 0);
    }
    l->vid = (unsigned)v[0];
    l->pid = (unsigned)v[1];
    l->iface = 0;
    while (*p == ',') {
        p++;
        size_t n = strcspn(p, ",");
        unsigned long ifn;
        if (n > 3 && !strncmp(p, "if=", 3)) {
            if (!transport_parse_uint(p + 3, n - 3, 0, 255, &ifn)) {
                snprintf(err, TRANSPORT_ERR_SIZE, "usb: bad interface '%.*s' (expected if=0..255)",
                         (int)(n - 3 > 20 ? 20 : n - 3), p + 3);
                return KD_ERR_ARG;
            }
            l->iface = (int)ifn;
        } else {
            size_t nl = strcspn(p, "=,");
            snprintf(err, TRANSPORT_ERR_SIZE, "usb: unknown option '%.*s' (only if=N)",
                     (int)(nl > 32 ? 32 : nl), p);
            return KD_ERR_ARG;
        }
        p += n;
    }
    return KD_OK;
}

static void usb_message(const struct usb_link *l, int e, const char *what,
                        char err[TRANSPORT_ERR_SIZE])
{
    if (e == LIBUSB_ERROR_ACCESS)
        snprintf(
            err, TRANSPORT_ERR_SIZE,
            "usb %04x:%04x: permission denied (add a udev rule for the device, or run as root)",
            l->vid, l->pid);
    else if (e == LIBUSB_ERROR_BUSY)
        snprintf(err, TRANSPORT_ERR_SIZE,
                 "usb %04x:%04x: interface %d is busy (claimed by another program or driver)",
                 l->vid, l->pid, l->iface);
    else if (e == LIBUSB_ERROR_NO_DEVICE)
        snprintf(err, TRANSPORT_ERR_SIZE, "usb %04x:%04x: the device went away", l->vid, l->pid);
    else if (e == LIBUSB_ERROR_NOT_FOUND)
        snprintf(err, TRANSPORT_ERR_SIZE, "usb %04x:%04x: %s: not found", l->vid, l->pid, what);
    else
        snprintf(err, TRANSPORT_ERR_SIZE, "usb %04x:%04x: %s: %s", l->vid, l->pid, what,
                 libusb_strerror(e));
}

/* Finds the device; KD_ERR_NOTFOUND when no device has these ids. */
static int find_and_open(struct usb_link *l, char err[TRANSPORT_ERR_SIZE])
{
    libusb_device **list;
    ssize_t n = libusb_get_device_list(l->ctx, &list);
    int e = LIBUSB_ERROR_NOT_FOUND;
    if (n < 0) {
        usb_message(l, (int)n, "listing devices", err);
        return KD_ERR_IO;
    }
    for (ssize_t i = 0; i < n && e != 0; i++) {
        struct libusb_device_descriptor d;
        if (libusb_get_device_descriptor(list[i], &d) < 0 || d.idVendor != l->vid ||
            d.idProduct != l->pid)
            continue;
        e = libusb_open(list[i], &l->h);
        l->bus = libusb_get_bus_number(list[i]);
        l->addr = libusb_get_device_address(list[i]);
    }
    libusb_free_device_list(list, 1);
    if (e == LIBUSB_ERROR_NOT_FOUND) {
        snprintf(err, TRANSPORT_ERR_SIZE,
                 "usb %04x:%04x: no such device (is it plugged in? kdwatch ports lists them)",
                 l->vid, l->pid);
        return KD_ERR_NOTFOUND;
    }
    if (e < 0) {
        l->h = NULL;
        usb_message(l, e, "open", err);
        return KD_ERR_IO;
    }
    return KD_OK;
}

static int find_endpoints(struct usb_link *l, char err[TRANSPORT_ERR_SIZE])
{
    struct libusb_config_descriptor *cfg;
    int e = libusb_get_active_config_descriptor(libusb_get_device(l->h), &cfg);
    if (e < 0) {
        usb_message(l, e, "reading the configuration", err);
        return KD_ERR_IO;
    }
    for (int i = 0; i < cfg->bNumInterfaces; i++) {
        if (cfg->interface[i].num_altsetting < 1)
            continue;
        const struct libusb_interface_descriptor *alt = &cfg->interface[i].altsetting[0];
        if (alt->bInterfaceNumber != l->iface)
            continue;
        for (int k = 0; k < alt->bNumEndpoints; k++) {
            const struct libusb_endpoint_descriptor *ep = &alt->endpoint[k];
            if ((ep->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK)
                continue;
            if ((ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) && !l->ep_in)
                l->ep_in = ep->bEndpointAddress;
            else if (!(ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) && !l->ep_out)
                l->ep_out = ep->bEndpointAddress;
        }
    }
    libusb_free_config_descriptor(cfg);
    if (!l->ep_in || !l->ep_out) {
        snprintf(err, TRANSPORT_ERR_SIZE,
                 "usb %04x:%04x: interface %d has no bulk IN and OUT endpoints (try another if=N)",
                 l->vid, l->pid, l->iface);
        return KD_ERR_UNSUPPORTED;
    }
    return KD_OK;
}

static void LIBUSB_CALL in_done(struct libusb_transfer *x)
{
    struct usb_link *l = x->user_data;
    l->in_flight = false;
    l->completed = true;
    l->in_status = x->status;
    l->in_len = x->status == LIBUSB_TRANSFER_COMPLETED ? (size_t)x->actual_length : 0;
    l->in_off = 0;
    if (x->status == LIBUSB_TRANSFER_NO_DEVICE)
        l->gone = true;
}

static int submit_in(struct transport *t, struct usb_link *l)
{
    libusb_fill_bulk_transfer(l->in, l->h, l->ep_in, l->in_buf, sizeof l->in_buf, in_done, l, 0);
    int e = libusb_submit_transfer(l->in);
    if (e == LIBUSB_ERROR_NO_DEVICE)
        l->gone = true;
    if (e < 0) {
        t->stats.errors++;
        return transport_fail(t, l->gone ? KD_ERR_CLOSED : KD_ERR_IO, "usb: %s",
                              libusb_strerror(e));
    }
    l->in_flight = true;
    return KD_OK;
}

static void usb_close(struct transport *t);

static int usb_open(struct transport *t, const char *rest, char err[TRANSPORT_ERR_SIZE])
{
    struct usb_link *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, TRANSPORT_ERR_SIZE, "out of memory");
        return KD_ERR_NOMEM;
    }
    l->epfd = -1;
    t->priv = l; /* usb_close() below frees whatever was made */
    int rc = parse_uri(rest, l, err);
    if (rc < 0)
        goto fail;
    rc = KD_ERR_IO;
    int e = libusb_init(&l->ctx);
    if (e < 0) {
        l->ctx = NULL;
        snprintf(err, TRANSPORT_ERR_SIZE, "usb: cannot start libusb: %s", libusb_strerror(e));
        goto fail;
    }
    if ((rc = find_and_open(l, err)) < 0 || (rc = find_endpoints(l, err)) < 0)
        goto fail;
    rc = KD_ERR_IO;
    libusb_set_auto_detach_kernel_driver(l->h, 1); /* e.g. cdc_acm; given back at release */
    if ((e = libusb_claim_interface(l->h, l->iface)) < 0) {
        usb_message(l, e, "claiming the interface", err);
        goto fail;
    }
    l->claimed = true;
    l->in = libusb_alloc_transfer(0);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!l->in || l->epfd < 0) {
        snprintf(err, TRANSPORT_ERR_SIZE, "usb: out of resources");
        goto fail;
    }
    const struct libusb_pollfd **fds = libusb_get_pollfds(l->ctx);
    for (size_t i = 0; fds && fds[i]; i++)
        pollfd_added(fds[i]->fd, fds[i]->events, l);
    libusb_free_pollfds(fds);
    libusb_set_pollfd_notifiers(l->ctx, pollfd_added, pollfd_removed, l);
    if (submit_in(t, l) < 0) {
        usb_message(l, LIBUSB_ERROR_IO, "starting the bulk IN transfer", err);
        goto fail;
    }
    return KD_OK;
fail:
    usb_close(t);
    return rc;
}

static int usb_fd(const struct transport *t)
{
    const struct usb_link *l = t->priv;
    return l->epfd;
}

/* Runs libusb's events until the IN transfer completes or the deadline passes. */
static int pump(struct transport *t, struct usb_link *l, int64_t deadline)
{
    l->completed = false;
    for (;;) {
        int ms = transport_remaining_ms(deadline);
        struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
        int comp = 0;
        int e = libusb_handle_events_timeout_completed(l->ctx, &tv, &comp);
        if (e < 0 && e != LIBUSB_ERROR_INTERRUPTED) {
            t->stats.errors++;
            return transport_fail(t, KD_ERR_IO, "usb: %s", libusb_strerror(e));
        }
        if (l->completed)
            return KD_OK;
        if (ms == 0)
            return KD_ERR_TIMEOUT;
    }
}

static int usb_read(struct transport *t, uint8_t *buf, size_t cap, int64_t deadline, size_t *got)
{
    struct usb_link *l = t->priv;
    for (;;) {
        if (l->in_off < l->in_len) {
            size_t n = l->in_len - l->in_off < cap ? l->in_len - l->in_off : cap;
            struct timespec when;
            memcpy(buf, l->in_buf + l->in_off, n);
            l->in_off += n;
            transport_note_io(t, TRANSPORT_TARGET_TO_HOST, buf, n, NULL, NULL, NULL, &when);
            transport_note_delivery(t, TRANSPORT_TARGET_TO_HOST, &when, NULL, NULL);
            *got = n;
            if (l->in_off == l->in_len && !l->gone)
                submit_in(t, l); /* a failure shows in the next read */
            return KD_OK;
        }
        if (l->gone)
            return transport_fail(t, KD_ERR_CLOSED, "usb %04x:%04x: the device went away", l->vid,
                                  l->pid);
        if (l->completed && l->in_status != LIBUSB_TRANSFER_COMPLETED) {
            int status = l->in_status;
            l->completed = false;
            t->stats.errors++;
            if (status == LIBUSB_TRANSFER_STALL)
                libusb_clear_halt(l->h, l->ep_in);
            submit_in(t, l);
            return transport_fail(t, KD_ERR_IO, "usb: bulk IN transfer failed (%s)",
                                  libusb_error_name(status));
        }
        if (!l->in_flight) {
            int rc = submit_in(t, l);
            if (rc < 0)
                return rc;
        }
        int rc = pump(t, l, deadline);
        if (rc < 0)
            return rc;
    }
}

static int usb_write(struct transport *t, const uint8_t *buf, size_t len, int64_t deadline)
{
    struct usb_link *l = t->priv;
    size_t done = 0;
    while (done < len) {
        int sent = 0;
        int ms = transport_remaining_ms(deadline);
        /* libusb reads a timeout of 0 as "wait forever" */
        int e = libusb_bulk_transfer(l->h, l->ep_out, (uint8_t *)buf + done, (int)(len - done),
                                     &sent, ms > 0 ? (unsigned)ms : 1u);
        if (sent > 0)
            transport_note_io(t, TRANSPORT_HOST_TO_TARGET, buf + done, (size_t)sent, NULL, NULL,
                              NULL, NULL);
        done += (size_t)sent;
        if (e == LIBUSB_ERROR_TIMEOUT)
            return transport_fail(t, KD_ERR_TIMEOUT,
                                  "usb: %zu of %zu bytes sent before the deadline", done, len);
        if (e == LIBUSB_ERROR_NO_DEVICE) {
            l->gone = true;
            return transport_fail(t, KD_ERR_CLOSED, "usb %04x:%04x: the device went away", l->vid,
                                  l->pid);
        }
        if (e < 0) {
            t->stats.errors++;
            return transport_fail(t, KD_ERR_IO, "usb write: %s", libusb_strerror(e));
        }
    }
    return KD_OK;
}

static void usb_describe(const struct transport *t, char *buf, size_t len)
{
    const struct usb_link *l = t->priv;
    snprintf(buf, len, "usb %04x:%04x if %d (bus %u device %u, bulk in 0x%02x out 0x%02x)%s",
             l->vid, l->pid, l->iface, l->bus, l->addr, l->ep_in, l->ep_out,
             l->gone ? " (gone)" : "");
}

static void usb_close(struct transport *t)
{
    struct usb_link *l = t->priv;
    if (!l)
        return;
    if (l->in && l->in_flight && libusb_cancel_transfer(l->in) == 0) {
        /* the transfer must finish before it is freed */
        for (int i = 0; i < 100 && l->in_flight; i++) {
            struct timeval tv = {.tv_sec = 0, .tv_usec = 10000};
            libusb_handle_events_timeout_completed(l->ctx, &tv, NULL);
        }
    }
    if (l->ctx)
        libusb_set_pollfd_notifiers(l->ctx, NULL, NULL, NULL);
    if (l->in && !l->in_flight)
        libusb_free_transfer(l->in);
    if (l->claimed)
        libusb_release_interface(l->h, l->iface);
    if (l->h)
        libusb_close(l->h);
    if (l->ctx)
        libusb_exit(l->ctx);
    if (l->epfd >= 0)
        close(l->epfd);
    free(l);
    t->priv = NULL;
}

const struct transport_ops transport_usb_ops = {
    .scheme = "usb",
    .kind = TRANSPORT_STREAM,
    .open = usb_open,
    .fd = usb_fd,
    .read = usb_read,
    .write = usb_write,
    .describe = usb_describe,
    .close = usb_close,
};
