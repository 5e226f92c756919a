/* capture_pcap.c: pcap/pcapng reading through libpcap, down to UDP payloads
 * or kdwatch stream chunks. Every header length is checked against caplen. */
#include "capture.h"
#include "kd_le.h"
#include "kd_status.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct capture_reader {
    pcap_t *pcap;
    int linktype;
    uint64_t frame;
    char error[PCAP_ERRBUF_SIZE + 64];
};

int capture_reader_open(const char *path, struct capture_reader **out, char err[256])
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    *out = NULL;
    err[0] = 0;
    struct capture_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, 256, "out of memory");
        return KD_ERR_NOMEM;
    }
    r->pcap = pcap_open_offline(path, ebuf);
    if (!r->pcap) {
        snprintf(err, 256, "%s", ebuf[0] ? ebuf : "cannot open capture");
        free(r);
        return KD_ERR_IO;
    }
    r->linktype = pcap_datalink(r->pcap);
    *out = r;
    return KD_OK;
}

int capture_reader_linktype(const struct capture_reader *r)
{
    return r->linktype;
}

const char *capture_reader_error(const struct capture_reader *r)
{
    return r->error;
}

void capture_reader_free(struct capture_reader *r)
{
    if (!r)
        return;
    if (r->pcap)
        pcap_close(r->pcap);
    free(r);
}

void capture_format_ip(int ip_version, const uint8_t ip[16], char *buf, size_t len)
{
    if (!inet_ntop(ip_version == 6 ? AF_INET6 : AF_INET, ip, buf, (socklen_t)len))
        snprintf(buf, len, "?");
}

/* Returns 0 so the parsers can `return mark_bad(...)`. */
static int mark_bad(struct capture_record *rec, const char *why)
{
    rec->kind = CAPTURE_BAD;
    rec->why = why;
    return 0;
}

/* UDP inside an IP packet at p[n]. */
static int parse_ip(const uint8_t *p, size_t n, struct capture_record *rec)
{
    size_t hl;
    const uint8_t *l4;
    size_t l4len;
    if (n < 1)
        return mark_bad(rec, "frame ends before the IP header");
    int v = p[0] >> 4;
    if (v == 4) {
        if (n < 20)
            return mark_bad(rec, "frame ends inside the IPv4 header");
        hl = (size_t)(p[0] & 0x0f) * 4;
        size_t total = kd_be16(p + 2);
        if (hl < 20 || hl > n)
            return mark_bad(rec, "bad IPv4 header length");
        if (total < hl)
            return mark_bad(rec, "bad IPv4 total length");
        if (total > n) {
            rec->cut = true;
            total = n;
        }
        if ((kd_be16(p + 6) & 0x3fff) != 0) {
            rec->kind = CAPTURE_OTHER; /* a fragment: not reassembled */
            return 0;
        }
        if (p[9] != 17) {
            rec->kind = CAPTURE_OTHER;
            return 0;
        }
        rec->ip_version = 4;
        memcpy(rec->src_ip, p + 12, 4);
        memcpy(rec->dst_ip, p + 16, 4);
        l4 = p + hl;
        l4len = total - hl;
    } else if (v == 6) {
        if (n < 40)
            return mark_bad(rec, "frame ends inside the IPv6 header");
        if (p[6] != 17) { /* extension headers are not followed: not KDNET */
            rec->kind = CAPTURE_OTHER;
            return 0;
        }
        size_t plen = kd_be16(p + 4);
        if (plen > n - 40) {
            rec->cut = true;
            plen = n - 40;
        }
        rec->ip_version = 6;
        memcpy(rec->src_ip, p + 8, 16);
        memcpy(rec->dst_ip, p + 24, 16);
        l4 = p + 40;
        l4len = plen;
    } else {
        rec->kind = CAPTURE_OTHER;
        return 0;
    }
    if (l4len < 8)
        return mark_bad(rec, "frame ends inside the UDP header");
    size_t ulen = kd_be16(l4 + 4);
    if (ulen < 8)
        return mark_bad(rec, "bad UDP length");
    if (ulen > l4len) {
        rec->cut = true;
        ulen = l4len;
    }
    rec->src_port = kd_be16(l4);
    rec->dst_port = kd_be16(l4 + 2);
    rec->data = l4 + 8;
    rec->len = ulen - 8;
    rec->kind = CAPTURE_UDP;
    return 0;
}

static int parse_ethertype(uint16_t type, const uint8_t *p, size_t n, struct capture_record *rec)
{
    if (type == 0x0800 || type == 0x86DD)
        return parse_ip(p, n, rec);
    rec->kind = CAPTURE_OTHER;
    return 0;
}

static int parse_frame(int linktype, const uint8_t *p, size_t n, struct capture_record *rec)
{
    switch (linktype) {
    case DLT_EN10MB: {
        if (n < 14)
            return mark_bad(rec, "frame ends inside the Ethernet header");
        uint16_t type = kd_be16(p + 12);
        size_t off = 14;
        while ((type == 0x8100 || type == 0x88A8) && n >= off + 4) { /* VLAN tags */
            type = kd_be16(p + off + 2);
            off += 4;
        }
        return parse_ethertype(type, p + off, n - off, rec);
    }
    case DLT_RAW:
    case 228: /* LINKTYPE_IPV4 */
    case 229: /* LINKTYPE_IPV6 */ return parse_ip(p, n, rec);
    case DLT_NULL:
    case DLT_LOOP:
        if (n < 4)
            return mark_bad(rec, "frame ends inside the loopback header");
        return parse_ip(p + 4, n - 4, rec);
    case DLT_LINUX_SLL:
        if (n < 16)
            return mark_bad(rec, "frame ends inside the cooked header");
        return parse_ethertype(kd_be16(p + 14), p + 16, n - 16, rec);
    case 276: /* LINKTYPE_LINUX_SLL2 */
        if (n < 20)
            return mark_bad(rec, "frame ends inside the cooked header");
        return parse_ethertype(kd_be16(p), p + 20, n - 20, rec);
    case CAPTURE_DLT_KDSTREAM:
        if (n < 1 || p[0] > 1)
            return mark_bad(rec, "stream chunk without a valid direction byte");
        rec->kind = CAPTURE_STREAM;
        rec->direction = p[0];
        rec->data = p + 1;
        rec->len = n - 1;
        return 0;
    default: rec->kind = CAPTURE_OTHER; return 0;
    }
}

int capture_reader_next(struct capture_reader *r, struct capture_record *rec)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(r->pcap, &h, &data);
    if (rc == PCAP_ERROR_BREAK)
        return 0;
    if (rc != 1) {
        snprintf(r->error, sizeof r->error, "after frame %llu: %s", (unsigned long long)r->frame,
                 pcap_geterr(r->pcap));
        return KD_ERR_FORMAT;
    }
    memset(rec, 0, sizeof *rec);
    rec->frame = ++r->frame;
    rec->time = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;
    rec->cut = h->caplen < h->len;
    (void)parse_frame(r->linktype, data, h->caplen, rec);
    return 1;
}
