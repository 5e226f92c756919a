/* ports.c: `kdwatch ports` lists serial ports and USB devices. Nothing here
 * needs root: a device we may not open is listed from its descriptors
 * alone (libusb reads those from sysfs), with a note instead of strings. */
#include "ports.h"

#include <libserialport.h>
#include <libusb.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static const char *serial_kind(enum sp_transport t)
{
    return t == SP_TRANSPORT_USB ? "usb" : t == SP_TRANSPORT_BLUETOOTH ? "bluetooth" : "native";
}

static int list_serial(FILE *out)
{
    struct sp_port **ports = NULL;
    fprintf(out, "Serial ports (serial:PATH?baud=115200):\n");
    if (sp_list_ports(&ports) != SP_OK) {
        char *m = sp_last_error_message();
        fprintf(out, "  cannot list serial ports: %s\n", m ? m : "unknown error");
        sp_free_error_message(m);
        return -1;
    }
    int n = 0;
    for (; ports[n]; n++) {
        struct sp_port *p = ports[n];
        const char *desc = sp_get_port_description(p);
        fprintf(out, "  %-16s %-8s %s", sp_get_port_name(p), serial_kind(sp_get_port_transport(p)),
                desc ? desc : "");
        int vid, pid;
        if (sp_get_port_transport(p) == SP_TRANSPORT_USB &&
            sp_get_port_usb_vid_pid(p, &vid, &pid) == SP_OK) {
            const char *man = sp_get_port_usb_manufacturer(p);
            fprintf(out, "  usb %04x:%04x%s%s", vid, pid, man ? " " : "", man ? man : "");
        }
        fputc('\n', out);
    }
    sp_free_port_list(ports);
    if (n == 0)
        fprintf(out, "  none found%s\n",
                geteuid() ? " (ports you may not open are not listed: is your user in 'dialout'?)"
                          : "");
    fprintf(out, "  pseudo-terminals (QEMU -serial pty) work too: serial:/dev/pts/N\n");
    return n;
}

static const char *usb_class(uint8_t c)
{
    switch (c) {
    case 0x00: return "per-interface";
    case 0x02: return "communications";
    case 0x03: return "HID";
    case 0x08: return "mass storage";
    case 0x09: return "hub";
    case 0x0a: return "CDC data";
    case 0xdc: return "diagnostic";
    case 0xe0: return "wireless";
    case 0xef: return "miscellaneous";
    case 0xff: return "vendor";
    default: return "other";
    }
}

/* Interfaces with a bulk IN and a bulk OUT endpoint: candidates for usb:VID:PID,if=N. */
static void print_bulk_interfaces(FILE *out, libusb_device *dev)
{
    struct libusb_config_descriptor *cfg;
    bool any = false;
    if (libusb_get_active_config_descriptor(dev, &cfg) < 0)
        return;
    for (int i = 0; i < cfg->bNumInterfaces; i++) {
        if (cfg->interface[i].num_altsetting < 1)
            continue;
        const struct libusb_interface_descriptor *alt = &cfg->interface[i].altsetting[0];
        bool in = false, outp = false;
        for (int k = 0; k < alt->bNumEndpoints; k++) {
            const struct libusb_endpoint_descriptor *ep = &alt->endpoint[k];
            if ((ep->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK)
                continue;
            if (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN)
                in = true;
            else
                outp = true;
        }
        if (in && outp) {
            fprintf(out, "%s%d", any ? "," : "  bulk pair on if=", alt->bInterfaceNumber);
            any = true;
        }
    }
    libusb_free_config_descriptor(cfg);
}

static void print_strings(FILE *out, libusb_device *dev, const struct libusb_device_descriptor *d)
{
    libusb_device_handle *h;
    unsigned char man[128] = "", prod[128] = "";
    int e = libusb_open(dev, &h);
    if (e < 0) {
        fprintf(out, "  (%s)",
                e == LIBUSB_ERROR_ACCESS ? "no permission to read its strings"
                                         : libusb_error_name(e));
        return;
    }
    if (d->iManufacturer)
        libusb_get_string_descriptor_ascii(h, d->iManufacturer, man, sizeof man);
    if (d->iProduct)
        libusb_get_string_descriptor_ascii(h, d->iProduct, prod, sizeof prod);
    libusb_close(h);
    if (man[0] || prod[0])
        fprintf(out, "  %s%s%s", (char *)man, man[0] && prod[0] ? " " : "", (char *)prod);
}

static int list_usb(FILE *out)
{
    libusb_context *ctx;
    libusb_device **list;
    fprintf(out, "USB devices (usb:VID:PID[,if=N]):\n");
    int e = libusb_init(&ctx);
    if (e < 0) {
        fprintf(out, "  cannot use libusb: %s\n", libusb_strerror(e));
        return -1;
    }
    ssize_t n = libusb_get_device_list(ctx, &list);
    if (n < 0) {
        fprintf(out, "  cannot list USB devices: %s\n", libusb_strerror((int)n));
        libusb_exit(ctx);
        return -1;
    }
    for (ssize_t i = 0; i < n; i++) {
        struct libusb_device_descriptor d;
        if (libusb_get_device_descriptor(list[i], &d) < 0)
            continue;
        fprintf(out, "  bus %03u device %03u  %04x:%04x  class 0x%02x %s",
                libusb_get_bus_number(list[i]), libusb_get_device_address(list[i]), d.idVendor,
                d.idProduct, d.bDeviceClass, usb_class(d.bDeviceClass));
        print_strings(out, list[i], &d);
        print_bulk_interfaces(out, list[i]);
        fputc('\n', out);
    }
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
    if (n == 0)
        fprintf(out, "  none found (none attached, or /dev/bus/usb is not visible here, "
                     "e.g. inside a container)\n");
    return (int)n;
}

int ports_run(FILE *out)
{
    int serial = list_serial(out);
    fputc('\n', out);
    int usb = list_usb(out);
    return serial < 0 && usb < 0 ? 1 : 0;
}
