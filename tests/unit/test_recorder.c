/* test_recorder.c: pcapng recordings written through wiretap and read back
 * with capture_reader (libpcap) and the capture: transport: every chunk and
 * datagram, direction, time and order exactly; files cut at random offsets
 * give every complete record and then an error; the KDNET key never reaches
 * the file. With "--write-samples DIR" it writes the recordings the e2e
 * tshark test opens (tests/e2e/t_recording_tshark.sh). */
#define _GNU_SOURCE /* memmem */
#include "capture.h"
#include "check.h"
#include "recorder.h"
#include "transport_testutil.h"

#include <fcntl.h>
#include <math.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <sys/stat.h>

#define KEY "k3yw4tch.s3cr3t.9z.x1"
#define MAX_LOG 64

static char tmpdir[64];

/* What the tap saw, to compare with what the file gives back. */
struct seen {
    enum transport_dir dir;
    struct timespec time;
    bool udp;
    struct transport_endpoint src, dst;
    size_t len;
    uint8_t data[4200];
};
struct seen_log {
    struct recorder *rec;
    struct seen items[MAX_LOG];
    size_t n;
};

static void tap_both(void *user, enum transport_dir dir, const uint8_t *bytes, size_t len,
                     const struct timespec *time, const struct transport_endpoint *src,
                     const struct transport_endpoint *dst)
{
    struct seen_log *log = user;
    recorder_tap(log->rec, dir, bytes, len, time, src, dst);
    if (log->n == MAX_LOG || len > sizeof log->items[0].data)
        return;
    struct seen *s = &log->items[log->n++];
    s->dir = dir;
    s->time = *time;
    s->udp = src != NULL;
    if (src)
        s->src = *src, s->dst = *dst;
    s->len = len;
    memcpy(s->data, bytes, len);
}

static bool same_time(double t, const struct timespec *ts)
{
    long long want = (long long)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
    long long got = llround(t * 1e6);
    return want == got;
}

/* Reads path back and compares it with the log, record by record. */
static void compare_file(const char *path, const struct seen_log *log, int linktype)
{
    struct capture_reader *r = NULL;
    struct capture_record rec;
    char err[256];
    CHECK_EQ(capture_reader_open(path, &r, err), KD_OK);
    if (!r)
        return;
    CHECK_EQ(capture_reader_linktype(r), linktype);
    for (size_t i = 0; i < log->n; i++) {
        const struct seen *s = &log->items[i];
        CHECK_EQ(capture_reader_next(r, &rec), 1);
        CHECK_EQ(rec.kind, s->udp ? CAPTURE_UDP : CAPTURE_STREAM);
        CHECK_EQ(rec.len, s->len);
        if (rec.len == s->len)
            CHECK_BYTES(rec.data, s->data, s->len);
        CHECK(same_time(rec.time, &s->time));
        CHECK(!rec.cut);
        if (s->udp) {
            CHECK_EQ(rec.ip_version, s->src.ip_version);
            CHECK_BYTES(rec.src_ip, s->src.ip, s->src.ip_version == 4 ? 4 : 16);
            CHECK_BYTES(rec.dst_ip, s->dst.ip, s->dst.ip_version == 4 ? 4 : 16);
            CHECK_EQ(rec.src_port, s->src.port);
            CHECK_EQ(rec.dst_port, s->dst.port);
        } else {
            CHECK_EQ(rec.direction, s->dir);
        }
    }
    CHECK_EQ(capture_reader_next(r, &rec), 0);
    capture_reader_free(r);
}

static void add_stream(struct seen_log *log, enum transport_dir dir, long sec, long usec,
                       const uint8_t *data, size_t len)
{
    struct timespec ts = {.tv_sec = sec, .tv_nsec = usec * 1000 + 999}; /* ns below a µs drop */
    CHECK_EQ(recorder_write_stream(log->rec, dir, &ts, data, len), KD_OK);
    struct seen *s = &log->items[log->n++];
    memset(s, 0, sizeof *s);
    s->dir = dir;
    s->time = ts;
    s->len = len;
    memcpy(s->data, data, len);
}

static void test_stream_file(void)
{
    char path[128], err[TRANSPORT_ERR_SIZE];
    static struct seen_log log;
    uint8_t buf[4200], payload[0x38];
    snprintf(path, sizeof path, "%s/stream.pcapng", tmpdir);
    memset(&log, 0, sizeof log);
    CHECK_EQ(recorder_open(path, RECORDER_STREAM, &log.rec, err), KD_OK);
    if (!log.rec)
        return;
    add_stream(&log, TRANSPORT_HOST_TO_TARGET, 1700000000, 1, (const uint8_t *)"b", 1);
    size_t n = tu_kd_packet(buf, 2, 0x80800000u, payload,
                            tu_read_memory_request(payload, 0xfffff80000001000ull, 0x38), true);
    add_stream(&log, TRANSPORT_TARGET_TO_HOST, 1700000000, 500000, buf, n);
    static uint8_t body[4000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i * 13);
    n = tu_kd_packet(buf, 2, 0x80800001u, body, sizeof body, true);
    add_stream(&log, TRANSPORT_HOST_TO_TARGET, 1700000001, 999999, buf, n);
    add_stream(&log, TRANSPORT_TARGET_TO_HOST, 1700000002, 0, buf + 100, 7);
    CHECK_EQ(recorder_count(log.rec), 4);
    CHECK_EQ(recorder_status(log.rec), KD_OK);
    /* the file is complete before close: a killed kdwatch loses nothing */
    compare_file(path, &log, CAPTURE_DLT_KDSTREAM);
    /* a chunk over 65535 bytes becomes two records */
    static uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i >> 3);
    struct timespec ts = {.tv_sec = 1700000003};
    CHECK_EQ(recorder_write_stream(log.rec, TRANSPORT_TARGET_TO_HOST, &ts, big, sizeof big), KD_OK);
    CHECK_EQ(recorder_count(log.rec), 6);
    CHECK_EQ(recorder_write_udp(log.rec, TRANSPORT_TARGET_TO_HOST, &ts, NULL, NULL, big, 1),
             KD_ERR_ARG);
    recorder_free(log.rec);
    struct capture_reader *r = NULL;
    struct capture_record rec;
    CHECK_EQ(capture_reader_open(path, &r, err), KD_OK);
    for (int i = 0; r && i < 4; i++)
        capture_reader_next(r, &rec);
    CHECK_EQ(r ? capture_reader_next(r, &rec) : 0, 1);
    CHECK_EQ(rec.len, 65535);
    CHECK_BYTES(rec.data, big, 65535);
    CHECK_EQ(r ? capture_reader_next(r, &rec) : 0, 1);
    CHECK_EQ(rec.len, sizeof big - 65535);
    CHECK_BYTES(rec.data, big + 65535, sizeof big - 65535);
    capture_reader_free(r);
}

/* A real KDNET session through the transport, recorded by its tap. */
static void record_kdnet_session(const char *path, struct seen_log *log)
{
    char err[TRANSPORT_ERR_SIZE];
    struct transport *t = NULL;
    struct tu_target tt;
    uint8_t buf[TRANSPORT_MESSAGE_MAX], pkt[256], payload[0x38];
    size_t got, n;
    uint64_t seq;
    memset(log, 0, sizeof *log);
    CHECK_EQ(recorder_open(path, RECORDER_UDP, &log->rec, err), KD_OK);
    CHECK_EQ(transport_open("kdnet:port=0,key=" KEY ",bind=127.0.0.1", &t, err), KD_OK);
    if (!t || !log->rec)
        goto done;
    transport_set_tap(t, tap_both, log);
    CHECK_EQ(tu_target_init(&tt, KEY, (uint16_t)transport_local_port(t)), KD_OK);
    CHECK_EQ(tu_target_handshake(&tt, t), KD_OK);
    static const uint8_t conncheck[12] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x7f};
    CHECK_EQ(tu_target_send(&tt, conncheck, sizeof conncheck), KD_OK);
    CHECK(tu_wait_fd(transport_fd(t), TU_WAIT_MS));
    CHECK_EQ(transport_read(t, buf, sizeof buf, TU_WAIT_MS, &got), KD_OK);
    n = tu_kd_packet(pkt, 2, 0x80000000u, payload,
                     tu_read_memory_request(payload, 0xfffff80000001000ull, 0x38), false);
    CHECK_EQ(transport_write(t, pkt, n, TU_WAIT_MS), KD_OK);
    CHECK_EQ(tu_target_recv(&tt, &tt.data, buf, sizeof buf, &got, &seq), KD_OK);
    CHECK_EQ(tu_target_send(&tt, pkt, n), KD_OK);
    CHECK(tu_wait_fd(transport_fd(t), TU_WAIT_MS));
    CHECK_EQ(transport_read(t, buf, sizeof buf, TU_WAIT_MS, &got), KD_OK);
    tu_target_fini(&tt);
done:
    transport_free(t);
}

static void test_kdnet_file(void)
{
    char path[128], err[TRANSPORT_ERR_SIZE];
    static struct seen_log log;
    static uint8_t file[1 << 16];
    snprintf(path, sizeof path, "%s/kdnet.pcapng", tmpdir);
    record_kdnet_session(path, &log);
    CHECK_EQ(log.n, 5); /* poke, response, connection check, request, reply */
    if (log.n >= 2) {
        CHECK(log.items[0].udp && log.items[0].dir == TRANSPORT_TARGET_TO_HOST);
        CHECK_EQ(log.items[0].len, 374); /* the poke as on the wire */
        CHECK_EQ(log.items[1].len, 358); /* our response */
        CHECK_EQ(log.items[1].dir, TRANSPORT_HOST_TO_TARGET);
        CHECK_EQ(log.items[1].src.port, log.items[0].dst.port);
        CHECK_EQ(log.items[1].dst.port, log.items[0].src.port);
    }
    CHECK_EQ(recorder_status(log.rec), KD_OK);
    compare_file(path, &log, DLT_RAW); /* libpcap's name for LINKTYPE_RAW */
    recorder_free(log.rec);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, file, sizeof file) : -1;
    close(fd);
    CHECK(n > 1000);
    CHECK(memmem(file, (size_t)n, "s3cr3t", 6) == NULL);
    CHECK(memmem(file, (size_t)n, KEY, strlen(KEY)) == NULL);

    /* the capture: transport replays it: MESSAGES, in order, directions known */
    struct transport *t = NULL;
    char uri[160], desc[200], want[220];
    uint8_t buf[TRANSPORT_MESSAGE_MAX];
    size_t got;
    snprintf(uri, sizeof uri, "capture:%s", path);
    CHECK_EQ(transport_open(uri, &t, err), KD_OK);
    if (!t)
        return;
    CHECK_EQ(transport_kind(t), TRANSPORT_MESSAGES);
    for (size_t i = 0; i < log.n; i++) {
        struct transport_rx_info rx;
        CHECK_EQ(transport_read(t, buf, sizeof buf, 0, &got), KD_OK);
        CHECK_EQ(got, log.items[i].len);
        CHECK_BYTES(buf, log.items[i].data, got);
        transport_last_rx(t, &rx);
        CHECK_EQ(rx.dir, log.items[i].dir);
        CHECK_EQ(rx.src.port, log.items[i].src.port);
        CHECK_EQ(rx.time.tv_sec, log.items[i].time.tv_sec);
        CHECK_EQ(rx.time.tv_nsec / 1000, log.items[i].time.tv_nsec / 1000);
    }
    CHECK_EQ(transport_read(t, buf, sizeof buf, 0, &got), KD_ERR_CLOSED);
    CHECK_STR(transport_error(t), "capture: end of recording");
    CHECK_EQ(transport_write(t, buf, 1, 0), KD_ERR_UNSUPPORTED);
    CHECK_STR(transport_error(t), "capture: is a recording, cannot send");
    transport_describe(t, desc, sizeof desc);
    snprintf(want, sizeof want, "capture %s (KDNET datagrams, %zu read, ended)", path, log.n);
    CHECK_STR(desc, want);
    transport_free(t);
}

static void test_stream_session(void)
{
    char path[128], err[TRANSPORT_ERR_SIZE], uri[200];
    static struct seen_log log;
    struct transport *srv = NULL, *cli = NULL, *cap = NULL;
    uint8_t buf[600], in[600];
    snprintf(path, sizeof path, "%s/tcp.pcapng", tmpdir);
    memset(&log, 0, sizeof log);
    CHECK_EQ(recorder_open(path, recorder_layout_for(TRANSPORT_STREAM), &log.rec, err), KD_OK);
    CHECK_EQ(transport_open("tcp-listen:127.0.0.1:0", &srv, err), KD_OK);
    if (!srv || !log.rec)
        goto done;
    snprintf(uri, sizeof uri, "tcp:127.0.0.1:%d", transport_local_port(srv));
    CHECK_EQ(transport_open(uri, &cli, err), KD_OK);
    if (!cli)
        goto done;
    transport_set_tap(cli, tap_both, &log);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 3);
    for (int round = 0; round < 3; round++) {
        CHECK_EQ(transport_write(cli, buf, 100 + 100 * (size_t)round, TU_WAIT_MS), KD_OK);
        CHECK_EQ(tu_read_exact(srv, in, 100 + 100 * (size_t)round), KD_OK);
        CHECK_EQ(transport_write(srv, buf + round, 50, TU_WAIT_MS), KD_OK);
        CHECK_EQ(tu_read_exact(cli, in, 50), KD_OK);
    }
    compare_file(path, &log, CAPTURE_DLT_KDSTREAM);
    /* the capture: transport gives the same bytes, even through a small buffer */
    snprintf(uri, sizeof uri, "capture:%s", path);
    CHECK_EQ(transport_open(uri, &cap, err), KD_OK);
    if (!cap)
        goto done;
    CHECK_EQ(transport_kind(cap), TRANSPORT_STREAM);
    for (size_t i = 0; i < log.n; i++) {
        size_t have = 0, got;
        while (have < log.items[i].len) {
            struct transport_rx_info rx;
            CHECK_EQ(transport_read(cap, in + have, 7, 0, &got), KD_OK);
            transport_last_rx(cap, &rx);
            CHECK_EQ(rx.dir, log.items[i].dir);
            if (got == 0)
                break;
            have += got;
        }
        CHECK_EQ(have, log.items[i].len);
        CHECK_BYTES(in, log.items[i].data, log.items[i].len);
    }
    size_t got;
    CHECK_EQ(transport_read(cap, in, sizeof in, 0, &got), KD_ERR_CLOSED);
done:
    transport_free(cap);
    transport_free(cli);
    transport_free(srv);
    recorder_free(log.rec);
}

/* End offsets of the records in a pcapng file we wrote (little-endian host). */
static size_t record_ends(const uint8_t *f, size_t n, size_t *ends, size_t max, size_t *head_end)
{
    size_t off = 0, k = 0;
    *head_end = 0;
    while (off + 12 <= n) {
        uint32_t type = kd_le32(f + off), len = kd_le32(f + off + 4);
        if (len < 12 || off + len > n)
            break;
        off += len;
        if (type == 6 && k < max)
            ends[k++] = off;
        else if (k == 0)
            *head_end = off;
    }
    return k;
}

static void test_truncated(void)
{
    static uint8_t file[1 << 17];
    char path[128], cut[140], err[256];
    size_t ends[64], head_end;
    snprintf(path, sizeof path, "%s/stream.pcapng", tmpdir);
    snprintf(cut, sizeof cut, "%s/cut.pcapng", tmpdir);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, file, sizeof file) : -1;
    close(fd);
    CHECK(n > 0);
    if (n <= 0)
        return;
    size_t nrec = record_ends(file, (size_t)n, ends, 64, &head_end);
    CHECK_EQ(nrec, 6);
    CHECK_EQ(ends[nrec - 1], (size_t)n);
    uint32_t seed = 12345;
    for (int round = 0; round < 60; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t at = round < 4 ? ends[round] - (size_t)round : (seed >> 8) % (size_t)n;
        fd = open(cut, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        CHECK(write(fd, file, at) == (ssize_t)at);
        close(fd);
        size_t complete = 0;
        while (complete < nrec && ends[complete] <= at)
            complete++;
        struct capture_reader *r = NULL;
        struct capture_record rec;
        int rc = capture_reader_open(cut, &r, err);
        if (at < head_end) { /* not even the header: refusing the file is right */
            if (rc == KD_OK)
                CHECK(capture_reader_next(r, &rec) <= 0);
            capture_reader_free(r);
            continue;
        }
        CHECK_EQ(rc, KD_OK);
        size_t got = 0;
        while (r && (rc = capture_reader_next(r, &rec)) == 1 && got <= nrec)
            got++;
        CHECK_EQ(got, complete);
        bool boundary = at == head_end || (complete > 0 && ends[complete - 1] == at);
        CHECK(boundary ? rc == 0 : rc < 0);
        if (got != complete || (boundary ? rc != 0 : rc >= 0))
            fprintf(stderr, "    cut at %zu of %zd: %zu records, rc %d\n", at, n, got, rc);
        capture_reader_free(r);
        /* the capture: transport: the same records, then the same verdict */
        char uri[160];
        struct transport *t = NULL;
        static uint8_t buf[1 << 17]; /* a whole record per read */
        size_t chunks = 0, n_read;
        snprintf(uri, sizeof uri, "capture:%s", cut);
        CHECK_EQ(transport_open(uri, &t, err), KD_OK);
        while (t && chunks <= nrec &&
               (rc = transport_read(t, buf, sizeof buf, 0, &n_read)) == KD_OK)
            chunks++;
        CHECK_EQ(chunks, complete);
        CHECK_EQ(rc, boundary ? KD_ERR_CLOSED : KD_ERR_FORMAT);
        transport_free(t);
    }
    unlink(cut);
}

static void test_errors(void)
{
    char err[TRANSPORT_ERR_SIZE], path[128];
    struct recorder *r = (struct recorder *)1;
    CHECK(recorder_open("/nonexistent/dir/x.pcapng", RECORDER_STREAM, &r, err) < 0);
    CHECK(r == NULL);
    CHECK(!strncmp(err, "cannot create /nonexistent/dir/x.pcapng: ", 41));
    snprintf(path, sizeof path, "%s/udp.pcapng", tmpdir);
    CHECK_EQ(recorder_open(path, RECORDER_UDP, &r, err), KD_OK);
    if (!r)
        return;
    struct transport_endpoint a = {.ip_version = 6, .port = 1}, b = {.ip_version = 4, .port = 2};
    CHECK_EQ(recorder_write_stream(r, TRANSPORT_HOST_TO_TARGET, NULL, (const uint8_t *)"x", 1),
             KD_ERR_ARG);
    CHECK_EQ(recorder_write_udp(r, TRANSPORT_HOST_TO_TARGET, NULL, &a, &b, (const uint8_t *)"x", 1),
             KD_ERR_ARG);
    b.ip_version = 6;
    a.ip[15] = b.ip[15] = 1; /* ::1 both ends */
    CHECK_EQ(recorder_write_udp(r, TRANSPORT_HOST_TO_TARGET, NULL, &a, &b, (const uint8_t *)"x", 1),
             KD_OK);
    recorder_tap(r, TRANSPORT_HOST_TO_TARGET, (const uint8_t *)"x", 1, NULL, NULL, NULL);
    CHECK_EQ(recorder_status(r), KD_ERR_ARG);
    CHECK_STR(recorder_error(r), "recorder: a stream chunk does not fit this recording");
    recorder_free(r);
    recorder_free(NULL);
    struct capture_reader *cr = NULL;
    struct capture_record rec;
    CHECK_EQ(capture_reader_open(path, &cr, err), KD_OK);
    CHECK_EQ(cr ? capture_reader_next(cr, &rec) : 0, 1);
    CHECK_EQ(rec.kind, CAPTURE_UDP);
    CHECK_EQ(rec.ip_version, 6);
    CHECK_EQ(rec.src_port, 1);
    CHECK_EQ(rec.len, 1);
    capture_reader_free(cr);
}

/* Recordings for the e2e tshark test: a stream session and a KDNET one. */
static int write_samples(const char *dir)
{
    char path[512], err[TRANSPORT_ERR_SIZE];
    static struct seen_log log;
    uint8_t buf[512], payload[0x38];
    snprintf(path, sizeof path, "%s/stream.pcapng", dir);
    memset(&log, 0, sizeof log);
    if (recorder_open(path, RECORDER_STREAM, &log.rec, err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    add_stream(&log, TRANSPORT_HOST_TO_TARGET, 1700000000, 0, (const uint8_t *)"b", 1);
    uint8_t change[0xF0] = {0};
    kd_put32(change, 0x3030);             /* DbgKdExceptionStateChange */
    kd_put32(change + 0x20, 0x80000003u); /* breakpoint */
    size_t n = tu_kd_packet(buf, 7, 0x80800800u, change, sizeof change, true);
    add_stream(&log, TRANSPORT_TARGET_TO_HOST, 1700000000, 10, buf, n);
    n = tu_kd_packet(buf, 2, 0x80800000u, payload,
                     tu_read_memory_request(payload, 0xfffff80000001000ull, 0x38), true);
    kd_put32(buf + n, 0x69696969u); /* an ACK in the same chunk */
    kd_put16(buf + n + 4, 4);
    memset(buf + n + 6, 0, 10);
    add_stream(&log, TRANSPORT_HOST_TO_TARGET, 1700000000, 20, buf, n + 16);
    recorder_free(log.rec);
    snprintf(path, sizeof path, "%s/kdnet.pcapng", dir);
    record_kdnet_session(path, &log);
    recorder_free(log.rec);
    return check_failed_now ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-samples"))
        return write_samples(argv[2]);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kdw-recorder-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(test_stream_file);
    RUN(test_kdnet_file);
    RUN(test_stream_session);
    RUN(test_truncated);
    RUN(test_errors);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("test_recorder");
}
