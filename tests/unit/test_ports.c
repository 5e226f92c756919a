/* test_ports.c: `kdwatch ports` enumerates on whatever this host has: both
 * sections are always there, every USB device libusb sees gets a line, and
 * a host with none says so. */
#include "check.h"
#include "ports.h"

#include <libserialport.h>
#include <libusb.h>

static size_t count_lines(const char *text, const char *prefix)
{
    size_t n = 0, plen = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        n += !strncmp(p, prefix, plen);
    return n;
}

static void test_listing(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK(out != NULL);
    if (!out)
        return;
    CHECK_EQ(ports_run(out), 0);
    fclose(out);
    CHECK(strstr(text, "Serial ports (serial:PATH?baud=115200):\n") == text);
    CHECK(strstr(text, "\nUSB devices (usb:VID:PID[,if=N]):\n") != NULL);

    /* as many USB lines as libusb has devices, or the "none" line */
    libusb_context *ctx;
    libusb_device **list;
    CHECK_EQ(libusb_init(&ctx), 0);
    ssize_t n = libusb_get_device_list(ctx, &list);
    CHECK(n >= 0);
    if (n >= 0)
        libusb_free_device_list(list, 1);
    libusb_exit(ctx);
    CHECK_EQ(count_lines(text, "  bus "), (size_t)n);
    if (n == 0)
        CHECK(strstr(text, "USB devices (usb:VID:PID[,if=N]):\n  none found (") != NULL);

    /* the same for serial ports */
    struct sp_port **ports;
    size_t ns = 0;
    CHECK_EQ(sp_list_ports(&ports), SP_OK);
    while (ports && ports[ns])
        ns++;
    sp_free_port_list(ports);
    CHECK_EQ(count_lines(text, "  /dev/"), ns);
    if (ns == 0)
        CHECK(strstr(text, "):\n  none found") != NULL);
    free(text);
}

int main(void)
{
    RUN(test_listing);
    return check_summary("test_ports");
}
