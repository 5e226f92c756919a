/* recorder_pcapng.c: pcapng recordings through Wireshark's wiretap (4.0 API).
 * One encapsulation per file, so wiretap writes the one interface block
 * itself; every packet is flushed at once (a killed kdwatch loses nothing
 * already seen). KDNET datagrams get synthesized IPv4/IPv6 + UDP headers
 * with their real endpoints, so Wireshark and KDNET dissectors see UDP. */
#include "capture.h"
#include "kd_le.h"
#include "kd_status.h"
#include "recorder.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wiretap/wtap.h>
#include <wiretap/wtap_opttypes.h>
#include <wsutil/wslog.h>

#define STREAM_CHUNK_MAX 65535 /* per record: stays under every reader's snapshot length */
#define UDP_PAYLOAD_MAX (65535 - 40 - 8)

struct recorder {
    wtap_dumper *d;
    GArray *shb_hdrs;
    enum recorder_layout layout;
    uint16_t ip_id;
    uint64_t count;
    int status;
    char error[TRANSPORT_ERR_SIZE];
    uint8_t frame[STREAM_CHUNK_MAX + 64];
};

/* wtap_init() registers wiretap's block types and aborts when called twice,
 * so it runs once per process; this flag is the only global here. */
static pthread_once_t recorder_wtap_once = PTHREAD_ONCE_INIT;

static void init_wiretap(void)
{
    ws_log_set_level(LOG_LEVEL_CRITICAL); /* wiretap logs debug lines by default; we never print */
    wtap_init(FALSE);
}

enum recorder_layout recorder_layout_for(enum transport_kind kind)
{
    return kind == TRANSPORT_MESSAGES ? RECORDER_UDP : RECORDER_STREAM;
}

static void wtap_message(char *buf, size_t len, const char *what, int err, gchar *err_info)
{
    snprintf(buf, len, "%s: %s%s%s", what, wtap_strerror(err), err_info ? ": " : "",
             err_info ? err_info : "");
    g_free(err_info);
}

int recorder_open(const char *path, enum recorder_layout layout, struct recorder **out,
                  char err[TRANSPORT_ERR_SIZE])
{
    *out = NULL;
    if (layout != RECORDER_STREAM && layout != RECORDER_UDP) {
        snprintf(err, TRANSPORT_ERR_SIZE, "recorder: unknown layout");
        return KD_ERR_ARG;
    }
    pthread_once(&recorder_wtap_once, init_wiretap);
    struct recorder *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, TRANSPORT_ERR_SIZE, "out of memory");
        return KD_ERR_NOMEM;
    }
    r->layout = layout;
    wtap_block_t shb = wtap_block_create(WTAP_BLOCK_SECTION);
    wtap_block_add_string_option(shb, OPT_SHB_USERAPPL, "kdwatch", strlen("kdwatch"));
    r->shb_hdrs = g_array_new(FALSE, FALSE, sizeof(wtap_block_t));
    g_array_append_val(r->shb_hdrs, shb);
    wtap_dump_params params = WTAP_DUMP_PARAMS_INIT;
    params.encap = layout == RECORDER_STREAM ? WTAP_ENCAP_USER0 : WTAP_ENCAP_RAW_IP;
    params.snaplen = WTAP_MAX_PACKET_SIZE_STANDARD;
    params.tsprec = WTAP_TSPREC_USEC;
    params.shb_hdrs = r->shb_hdrs;
    int e = 0;
    gchar *info = NULL;
    r->d = wtap_dump_open(path, wtap_pcapng_file_type_subtype(), WTAP_UNCOMPRESSED, &params, &e,
                          &info);
    if (!r->d) {
        char what[200];
        snprintf(what, sizeof what, "cannot create %.150s", path);
        wtap_message(err, TRANSPORT_ERR_SIZE, what, e, info);
        wtap_block_array_free(r->shb_hdrs);
        free(r);
        return KD_ERR_IO;
    }
    /* The header blocks reach the disk now, not with the first packet. */
    wtap_dump_flush(r->d, &e);
    *out = r;
    return KD_OK;
}

static int fail(struct recorder *r, int status, const char *what, int err, gchar *info)
{
    if (r->status == KD_OK) {
        r->status = status;
        wtap_message(r->error, sizeof r->error, what, err, info);
    } else {
        g_free(info);
    }
    return status;
}

static int dump(struct recorder *r, enum transport_dir dir, const struct timespec *time,
                const uint8_t *data, size_t len)
{
    wtap_rec rec;
    struct timespec now;
    int e = 0;
    gchar *info = NULL;
    if (!time) {
        clock_gettime(CLOCK_REALTIME, &now);
        time = &now;
    }
    wtap_rec_init(&rec);
    rec.rec_type = REC_TYPE_PACKET;
    rec.presence_flags = WTAP_HAS_TS | WTAP_HAS_CAP_LEN | WTAP_HAS_INTERFACE_ID;
    rec.ts.secs = time->tv_sec;
    rec.ts.nsecs = (int)time->tv_nsec;
    rec.tsprec = WTAP_TSPREC_USEC;
    rec.rec_header.packet_header.caplen = (guint32)len;
    rec.rec_header.packet_header.len = (guint32)len;
    rec.rec_header.packet_header.pkt_encap =
        r->layout == RECORDER_STREAM ? WTAP_ENCAP_USER0 : WTAP_ENCAP_RAW_IP;
    rec.rec_header.packet_header.interface_id = 0;
    rec.block = wtap_block_create(WTAP_BLOCK_PACKET);
    wtap_block_add_uint32_option(rec.block, OPT_PKT_FLAGS,
                                 dir == TRANSPORT_HOST_TO_TARGET ? PACK_FLAGS_DIRECTION_OUTBOUND
                                                                 : PACK_FLAGS_DIRECTION_INBOUND);
    bool ok = wtap_dump(r->d, &rec, data, &e, &info);
    wtap_rec_cleanup(&rec);
    if (!ok)
        return fail(r, KD_ERR_IO, "recorder: write", e, info);
    if (!wtap_dump_flush(r->d, &e))
        return fail(r, KD_ERR_IO, "recorder: flush", e, NULL);
    r->count++;
    return KD_OK;
}

int recorder_write_stream(struct recorder *r, enum transport_dir dir, const struct timespec *time,
                          const uint8_t *data, size_t len)
{
    if (r->layout != RECORDER_STREAM)
        return KD_ERR_ARG;
    if (r->status < 0)
        return r->status;
    do {
        size_t n = len > STREAM_CHUNK_MAX ? STREAM_CHUNK_MAX : len;
        r->frame[0] = dir == TRANSPORT_HOST_TO_TARGET ? CAPTURE_KDSTREAM_HOST_TO_TARGET
                                                      : CAPTURE_KDSTREAM_TARGET_TO_HOST;
        if (n)
            memcpy(r->frame + 1, data, n);
        int rc = dump(r, dir, time, r->frame, n + 1);
        if (rc < 0)
            return rc;
        data += n;
        len -= n;
    } while (len > 0);
    return KD_OK;
}

static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += kd_be16(p + i);
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

int recorder_write_udp(struct recorder *r, enum transport_dir dir, const struct timespec *time,
                       const struct transport_endpoint *src, const struct transport_endpoint *dst,
                       const uint8_t *data, size_t len)
{
    if (r->layout != RECORDER_UDP || !src || !dst || src->ip_version != dst->ip_version ||
        (src->ip_version != 4 && src->ip_version != 6))
        return KD_ERR_ARG;
    if (len > UDP_PAYLOAD_MAX)
        return KD_ERR_LENGTH;
    if (r->status < 0)
        return r->status;
    bool v6 = src->ip_version == 6;
    size_t alen = v6 ? 16 : 4, iph = v6 ? 40 : 20, ulen = 8 + len;
    uint8_t *ip = r->frame, *udp = r->frame + iph;
    memset(ip, 0, iph + 8);
    if (v6) {
        ip[0] = 0x60;
        kd_putbe16(ip + 4, (uint16_t)ulen);
        ip[6] = 17; /* UDP */
        ip[7] = 64;
        memcpy(ip + 8, src->ip, 16);
        memcpy(ip + 24, dst->ip, 16);
    } else {
        ip[0] = 0x45;
        kd_putbe16(ip + 2, (uint16_t)(iph + ulen));
        kd_putbe16(ip + 4, r->ip_id++);
        ip[6] = 0x40; /* don't fragment */
        ip[8] = 64;
        ip[9] = 17;
        memcpy(ip + 12, src->ip, 4);
        memcpy(ip + 16, dst->ip, 4);
        kd_putbe16(ip + 10, fold(sum16(0, ip, 20)));
    }
    kd_putbe16(udp, src->port);
    kd_putbe16(udp + 2, dst->port);
    kd_putbe16(udp + 4, (uint16_t)ulen);
    memcpy(udp + 8, data, len);
    /* UDP checksum over the pseudo-header, so dissectors report it good. */
    uint32_t acc = sum16(0, src->ip, alen);
    acc = sum16(acc, dst->ip, alen);
    acc += 17 + (uint32_t)ulen;
    uint16_t ck = fold(sum16(acc, udp, ulen));
    kd_putbe16(udp + 6, ck ? ck : 0xffff);
    return dump(r, dir, time, r->frame, iph + ulen);
}

void recorder_tap(void *user, enum transport_dir dir, const uint8_t *bytes, size_t len,
                  const struct timespec *time, const struct transport_endpoint *src,
                  const struct transport_endpoint *dst)
{
    struct recorder *r = user;
    int rc;
    if (r->status < 0)
        return;
    if (r->layout == RECORDER_UDP)
        rc = src && dst ? recorder_write_udp(r, dir, time, src, dst, bytes, len) : KD_ERR_ARG;
    else
        rc = recorder_write_stream(r, dir, time, bytes, len);
    if (rc < 0 && r->status == KD_OK) {
        r->status = rc;
        snprintf(r->error, sizeof r->error, "recorder: %s does not fit this recording",
                 src ? "a datagram" : "a stream chunk");
    }
}

int recorder_status(const struct recorder *r)
{
    return r->status;
}

const char *recorder_error(const struct recorder *r)
{
    return r->error;
}

uint64_t recorder_count(const struct recorder *r)
{
    return r->count;
}

void recorder_free(struct recorder *r)
{
    int e = 0;
    gchar *info = NULL;
    if (!r)
        return;
    wtap_dump_close(r->d, NULL, &e, &info);
    g_free(info);
    wtap_block_array_free(r->shb_hdrs);
    free(r);
}
