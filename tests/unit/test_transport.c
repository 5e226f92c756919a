/* test_transport.c: URI parsing with exact messages, and real byte
 * exchanges over TCP (127.0.0.1, ephemeral port), a Unix socket in a temp
 * dir and a pseudo-terminal opened as serial:PATH. USB: the errors a host
 * without the device gives. */
#define _GNU_SOURCE /* posix_openpt, ptsname, memmem */
#include "check.h"
#include "transport_testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static char tmpdir[64];

struct uri_case {
    const char *uri;
    int status;
    const char *message;
};

static const struct uri_case uri_cases[] = {
    {"", KD_ERR_ARG,
     "transport URI has no scheme (expected e.g. serial:/dev/ttyS0 or tcp:HOST:PORT)"},
    {"/dev/ttyS0", KD_ERR_ARG,
     "transport URI has no scheme (expected e.g. serial:/dev/ttyS0 or tcp:HOST:PORT)"},
    {"bogus:thing", KD_ERR_ARG,
     "unknown transport 'bogus' (known: serial, tcp, tcp-listen, unix, unix-listen, kdnet, usb, "
     "capture)"},
    {"serial:", KD_ERR_ARG, "serial: missing device path (expected serial:/dev/ttyS0?baud=115200)"},
    {"serial:/dev/ttyS0?baud=1234", KD_ERR_ARG,
     "serial: unsupported baud rate '1234' (use 9600, 19200, 38400, 57600, 115200, 230400, "
     "460800 or 921600)"},
    {"serial:/dev/ttyS0?baud=fast", KD_ERR_ARG,
     "serial: unsupported baud rate 'fast' (use 9600, 19200, 38400, 57600, 115200, 230400, "
     "460800 or 921600)"},
    {"serial:/dev/ttyS0?parity=none", KD_ERR_ARG, "serial: unknown option 'parity' (only baud=N)"},
    {"serial:/nonexistent/ttyKD9", KD_ERR_IO, "serial /nonexistent/ttyKD9: no such device"},
    {"serial:/tmp", KD_ERR_IO, "serial /tmp: not a serial device"},
    {"serial:/dev/null", KD_ERR_IO, "serial /dev/null: not a serial device"},
    {"tcp:127.0.0.1", KD_ERR_ARG, "tcp: missing port (expected tcp:HOST:PORT)"},
    {"tcp:127.0.0.1:", KD_ERR_ARG, "tcp: missing port (expected tcp:HOST:PORT)"},
    {"tcp::5555", KD_ERR_ARG, "tcp: missing host (expected tcp:HOST:PORT)"},
    {"tcp:127.0.0.1:99999", KD_ERR_ARG, "tcp: bad port '99999' (expected 1..65535)"},
    {"tcp:127.0.0.1:0", KD_ERR_ARG, "tcp: bad port '0' (expected 1..65535)"},
    {"tcp:listen:5555", KD_ERR_ARG, "tcp: to wait for the VM, write tcp-listen:PORT"},
    {"tcp-listen:", KD_ERR_ARG, "tcp-listen: missing port (expected tcp-listen:PORT)"},
    {"tcp-listen:http", KD_ERR_ARG, "tcp-listen: bad port 'http' (expected 0..65535)"},
    {"unix:", KD_ERR_ARG, "unix: missing socket path (expected unix:/path)"},
    {"unix-listen:", KD_ERR_ARG, "unix-listen: missing socket path (expected unix-listen:/path)"},
    {"unix:/nonexistent/kd.sock", KD_ERR_IO,
     "unix /nonexistent/kd.sock: No such file or directory (is the VM running with this socket?)"},
    {"kdnet:key=1.2.3.4", KD_ERR_ARG,
     "kdnet: missing port= (expected kdnet:port=50000,key=a.b.c.d[,target=IP][,bind=IP])"},
    {"kdnet:port=50000", KD_ERR_ARG,
     "kdnet: missing key= (expected kdnet:port=50000,key=a.b.c.d[,target=IP][,bind=IP])"},
    {"kdnet:port=5x,key=1.2.3.4", KD_ERR_ARG, "kdnet: bad port '5x' (expected 0..65535)"},
    {"kdnet:port=50000,key=s3cr3t.2.3", KD_ERR_KEY, "kdnet: bad key: wrong number of parts"},
    {"kdnet:port=50000,key=s3cr3t.2.3.x$y", KD_ERR_KEY, "kdnet: bad key: part 4: bad character"},
    {"kdnet:port=50000,key=1.2.3.4,target=nowhere", KD_ERR_ARG,
     "kdnet: bad target address 'nowhere' (expected an IPv4 or IPv6 address)"},
    {"kdnet:port=50000,key=1.2.3.4,bind=256.1.1.1", KD_ERR_ARG,
     "kdnet: bad bind address '256.1.1.1' (expected an IPv4 or IPv6 address)"},
    {"kdnet:port=50000,key=1.2.3.4,speed=9", KD_ERR_ARG,
     "kdnet: unknown option 'speed' (known: port, key, target, bind)"},
    {"usb:zz", KD_ERR_ARG,
     "usb: bad device 'zz' (expected usb:VID:PID[,if=N] in hex, e.g. usb:0403:6001)"},
    {"usb:0403", KD_ERR_ARG,
     "usb: bad device '0403' (expected usb:VID:PID[,if=N] in hex, e.g. usb:0403:6001)"},
    {"usb:0403:60011", KD_ERR_ARG,
     "usb: bad device '0403:60011' (expected usb:VID:PID[,if=N] in hex, e.g. usb:0403:6001)"},
    {"usb:0403:6001,if=300", KD_ERR_ARG, "usb: bad interface '300' (expected if=0..255)"},
    {"usb:0403:6001,speed=1", KD_ERR_ARG, "usb: unknown option 'speed' (only if=N)"},
    {"usb:ffff:ffff", KD_ERR_NOTFOUND,
     "usb ffff:ffff: no such device (is it plugged in? kdwatch ports lists them)"},
    {"capture:", KD_ERR_ARG, "capture: missing file name (expected capture:FILE)"},
};

static void test_uri_errors(void)
{
    for (size_t i = 0; i < sizeof uri_cases / sizeof uri_cases[0]; i++) {
        struct transport *t = (struct transport *)1;
        char err[TRANSPORT_ERR_SIZE];
        int rc = transport_open(uri_cases[i].uri, &t, err);
        CHECK_EQ(rc, uri_cases[i].status);
        CHECK(t == NULL);
        CHECK_STR(err, uri_cases[i].message);
        if (rc != uri_cases[i].status || strcmp(err, uri_cases[i].message))
            fprintf(stderr, "    for URI \"%s\"\n", uri_cases[i].uri);
        CHECK(strstr(err, "s3cr3t") == NULL); /* key text never quoted */
    }
    struct transport *t = NULL;
    char err[TRANSPORT_ERR_SIZE];
    CHECK_EQ(transport_open(NULL, &t, err), KD_ERR_ARG);
    CHECK_EQ(transport_open("capture:/nonexistent/x.pcapng", &t, err), KD_ERR_IO);
    CHECK(!strncmp(err, "capture /nonexistent/x.pcapng: ", 31));
    /* a mistyped scheme must not echo a key that follows it */
    CHECK_EQ(transport_open("kdnte:port=1,key=s3cr3t.1.1.1", &t, err), KD_ERR_ARG);
    CHECK(strstr(err, "s3cr3t") == NULL);
    CHECK(strstr(transport_usage(), "tcp-listen:") != NULL);
}

/* The tap's view: every byte in order, per direction. */
struct tap_log {
    uint8_t bytes[2][4096];
    size_t len[2];
    unsigned calls;
};

static void tap_collect(void *user, enum transport_dir dir, const uint8_t *bytes, size_t len,
                        const struct timespec *time, const struct transport_endpoint *src,
                        const struct transport_endpoint *dst)
{
    struct tap_log *log = user;
    (void)time;
    if (src || dst || len > sizeof log->bytes[dir] - log->len[dir])
        return;
    memcpy(log->bytes[dir] + log->len[dir], bytes, len);
    log->len[dir] += len;
    log->calls++;
}

/* Moves distinct bytes both ways between a connected pair and checks them. */
static void exchange(struct transport *a, struct transport *b)
{
    uint8_t out1[1000], out2[256], in[1000];
    for (size_t i = 0; i < sizeof out1; i++)
        out1[i] = (uint8_t)(i * 31 + 7);
    for (size_t i = 0; i < sizeof out2; i++)
        out2[i] = (uint8_t)i; /* every byte value: nothing may be translated */
    CHECK_EQ(transport_write(a, out1, sizeof out1, TU_WAIT_MS), KD_OK);
    CHECK_EQ(tu_read_exact(b, in, sizeof out1), KD_OK);
    CHECK_BYTES(in, out1, sizeof out1);
    CHECK_EQ(transport_write(b, out2, sizeof out2, TU_WAIT_MS), KD_OK);
    CHECK_EQ(tu_read_exact(a, in, sizeof out2), KD_OK);
    CHECK_BYTES(in, out2, sizeof out2);
    size_t got = 99;
    CHECK_EQ(transport_read(a, in, sizeof in, 0, &got), KD_ERR_TIMEOUT);
    CHECK_EQ(got, 0);
}

static void test_tcp(void)
{
    struct transport *srv = NULL, *cli = NULL;
    char err[TRANSPORT_ERR_SIZE], uri[64], desc[160], want[160];
    struct tap_log log = {0};
    CHECK_EQ(transport_open("tcp-listen:127.0.0.1:0", &srv, err), KD_OK);
    if (!srv)
        return;
    int port = transport_local_port(srv);
    CHECK(port > 0);
    CHECK_EQ(transport_kind(srv), TRANSPORT_STREAM);
    CHECK_STR(transport_scheme(srv), "tcp-listen");
    transport_describe(srv, desc, sizeof desc);
    snprintf(want, sizeof want, "tcp listen 127.0.0.1:%d (waiting for the VM)", port);
    CHECK_STR(desc, want);
    uint8_t b[4];
    size_t got;
    CHECK_EQ(transport_write(srv, b, 1, 0), KD_ERR_TIMEOUT); /* nobody connected */
    CHECK_STR(transport_error(srv), "no VM has connected yet");
    snprintf(uri, sizeof uri, "tcp:127.0.0.1:%d", port);
    CHECK_EQ(transport_open(uri, &cli, err), KD_OK);
    if (!cli)
        goto free_srv;
    transport_set_tap(cli, tap_collect, &log);
    transport_describe(cli, desc, sizeof desc);
    snprintf(want, sizeof want, "tcp 127.0.0.1:%d", port);
    CHECK_STR(desc, want);
    exchange(cli, srv);
    transport_describe(srv, desc, sizeof desc);
    snprintf(want, sizeof want, "tcp listen 127.0.0.1:%d (VM connected from 127.0.0.1:", port);
    CHECK(!strncmp(desc, want, strlen(want)));
    struct transport_stats st;
    transport_stats(cli, &st);
    CHECK_EQ(st.bytes_out, 1000);
    CHECK_EQ(st.bytes_in, 256);
    CHECK_EQ(st.datagrams_in + st.datagrams_out, 0);
    CHECK_EQ(log.len[TRANSPORT_HOST_TO_TARGET], 1000);
    CHECK_EQ(log.len[TRANSPORT_TARGET_TO_HOST], 256);
    CHECK_EQ(log.bytes[TRANSPORT_TARGET_TO_HOST][255], 255);
    struct transport_rx_info rx;
    transport_last_rx(cli, &rx);
    CHECK_EQ(rx.dir, TRANSPORT_TARGET_TO_HOST);
    CHECK(rx.time.tv_sec > 1600000000);
    /* the VM goes away: the listener says so, then takes the next connection */
    transport_free(cli);
    cli = NULL;
    CHECK_EQ(transport_read(srv, b, sizeof b, TU_WAIT_MS, &got), KD_ERR_CLOSED);
    CHECK_EQ(transport_open(uri, &cli, err), KD_OK);
    if (cli)
        exchange(srv, cli);
    transport_free(cli);
free_srv:
    transport_free(srv);
    transport_free(NULL);
}

static void test_tcp_refused(void)
{
    struct transport *srv = NULL, *t = NULL;
    char err[TRANSPORT_ERR_SIZE], uri[64], want[160];
    /* a port that was just free: bind one, note it, close it */
    CHECK_EQ(transport_open("tcp-listen:127.0.0.1:0", &srv, err), KD_OK);
    int port = srv ? transport_local_port(srv) : 1;
    transport_free(srv);
    snprintf(uri, sizeof uri, "tcp:127.0.0.1:%d", port);
    CHECK_EQ(transport_open(uri, &t, err), KD_ERR_IO);
    snprintf(want, sizeof want,
             "tcp 127.0.0.1:%d: Connection refused (is the VM running, its serial port a TCP "
             "server?)",
             port);
    CHECK_STR(err, want);
    CHECK(t == NULL);
}

static void test_unix(void)
{
    struct transport *srv = NULL, *cli = NULL, *other = NULL;
    char err[TRANSPORT_ERR_SIZE], path[128], uri[160], desc[200], want[200];
    struct stat st;
    snprintf(path, sizeof path, "%s/kd.sock", tmpdir);
    snprintf(uri, sizeof uri, "unix-listen:%s", path);
    CHECK_EQ(transport_open(uri, &srv, err), KD_OK);
    if (!srv)
        return;
    transport_describe(srv, desc, sizeof desc);
    snprintf(want, sizeof want, "unix listen %s (waiting for the VM)", path);
    CHECK_STR(desc, want);
    CHECK_EQ(transport_local_port(srv), -1);
    snprintf(uri, sizeof uri, "unix:%s", path);
    CHECK_EQ(transport_open(uri, &cli, err), KD_OK);
    if (cli) {
        exchange(cli, srv);
        transport_describe(cli, desc, sizeof desc);
        snprintf(want, sizeof want, "unix %s", path);
        CHECK_STR(desc, want);
    }
    snprintf(uri, sizeof uri, "unix-listen:%s", path);
    CHECK_EQ(transport_open(uri, &other, err), KD_ERR_IO); /* it is in use */
    snprintf(want, sizeof want, "unix-listen %s: another program listens there", path);
    CHECK_STR(err, want);
    transport_free(cli);
    transport_free(srv);
    CHECK(stat(path, &st) < 0); /* the listener removed its socket */

    /* a stale socket file (nobody listens) is replaced; a plain file is not */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    close(fd);
    snprintf(uri, sizeof uri, "unix-listen:%s", path);
    CHECK_EQ(transport_open(uri, &srv, err), KD_OK);
    transport_free(srv);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    close(fd);
    CHECK_EQ(transport_open(uri, &srv, err), KD_ERR_IO);
    snprintf(want, sizeof want, "unix-listen %s: exists and is not a socket", path);
    CHECK_STR(err, want);
    unlink(path);
}

static void test_serial_pty(void)
{
    struct transport *t = NULL, *t2 = NULL;
    char err[TRANSPORT_ERR_SIZE], uri[128], desc[160], want[160];
    uint8_t out[256], in[256];
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0);
    const char *slave = m >= 0 ? ptsname(m) : NULL;
    CHECK(slave != NULL);
    if (!slave)
        return;
    snprintf(uri, sizeof uri, "serial:%s?baud=115200", slave);
    CHECK_EQ(transport_open(uri, &t, err), KD_OK);
    if (!t) {
        fprintf(stderr, "    %s\n", err);
        close(m);
        return;
    }
    transport_describe(t, desc, sizeof desc);
    snprintf(want, sizeof want, "serial %s 115200 8N1 (pty)", slave);
    CHECK_STR(desc, want);
    CHECK(transport_fd(t) >= 0);
    /* a second opener is refused: the port is locked */
    CHECK_EQ(transport_open(uri, &t2, err), KD_ERR_IO);
    snprintf(want, sizeof want, "serial %s: port is busy (another program has it open)", slave);
    CHECK_STR(err, want);
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(255 - i);
    /* host -> target: raw bytes, no CR/LF or flow-control translation */
    CHECK_EQ(transport_write(t, out, sizeof out, TU_WAIT_MS), KD_OK);
    size_t have = 0;
    while (have < sizeof out && tu_wait_fd(m, TU_WAIT_MS)) {
        ssize_t n = read(m, in + have, sizeof in - have);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    CHECK_EQ(have, sizeof out);
    CHECK_BYTES(in, out, sizeof out);
    /* target -> host */
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)i;
    CHECK_EQ(write(m, out, sizeof out), (ssize_t)sizeof out);
    CHECK_EQ(tu_read_exact(t, in, sizeof out), KD_OK);
    CHECK_BYTES(in, out, sizeof out);
    /* the other end closes: the link reports it instead of spinning */
    close(m);
    size_t got;
    CHECK_EQ(transport_read(t, in, sizeof in, TU_WAIT_MS, &got), KD_ERR_CLOSED);
    transport_free(t);
}

static void test_usb_missing(void)
{
    struct transport *t = NULL;
    char err[TRANSPORT_ERR_SIZE];
    CHECK_EQ(transport_open("usb:ffff:fffe,if=1", &t, err), KD_ERR_NOTFOUND);
    CHECK_STR(err, "usb ffff:fffe: no such device (is it plugged in? kdwatch ports lists them)");
    CHECK(t == NULL);
}

static void test_bad_calls(void)
{
    struct transport *srv = NULL;
    char err[TRANSPORT_ERR_SIZE];
    uint8_t b[4];
    size_t got;
    CHECK_EQ(transport_open("tcp-listen:127.0.0.1:0", &srv, err), KD_OK);
    if (!srv)
        return;
    CHECK_EQ(transport_read(srv, b, sizeof b, -1, &got), KD_ERR_ARG);
    CHECK_EQ(transport_read(srv, b, 0, 10, &got), KD_ERR_ARG);
    CHECK_EQ(transport_write(srv, b, 0, 10), KD_ERR_ARG);
    CHECK_EQ(transport_read(srv, b, sizeof b, TRANSPORT_TIMEOUT_MAX + 1, &got), KD_ERR_ARG);
    CHECK_STR(transport_error(srv), "read: bad buffer or timeout");
    transport_free(srv);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kdw-transport-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(test_uri_errors);
    RUN(test_tcp);
    RUN(test_tcp_refused);
    RUN(test_unix);
    RUN(test_serial_pty);
    RUN(test_usb_missing);
    RUN(test_bad_calls);
    rmdir(tmpdir);
    return check_summary("test_transport");
}
