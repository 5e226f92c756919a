/* capture_packets.c: recording -> ordered KD packets. */
#include "capture_packets.h"
#include "capture.h"
#include "kd_framer.h"
#include "kd_status.h"
#include "kdnet.h"
#include "kdnet_passive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct capture_packets {
    struct capture_reader *r;
    struct kdnet_passive kdnet;
    bool have_key;
    struct capture_record rec; /* the record being split into packets */
    bool in_rec;
    size_t off;
    struct kd_framer framer[2];
    uint8_t plain[KDNET_MAX_DATAGRAM];
    uint8_t pkt_buf[KD_HEADER_SIZE + KD_PACKET_MAX + 1];
    struct capture_packets_stats st;
    char error[300];
};

int capture_packets_open(const char *path, const char *key, struct capture_packets **out,
                         char err[256])
{
    *out = NULL;
    struct capture_packets *cp = calloc(1, sizeof *cp);
    if (!cp) {
        snprintf(err, 256, "out of memory");
        return KD_ERR_NOMEM;
    }
    if (key) {
        uint8_t k[32];
        int part = 0;
        const char *why = NULL;
        if (kdnet_key_parse(key, k, &part, &why) != KD_OK) {
            snprintf(err, 256, "bad KDNET key: part %d %s", part, why ? why : "");
            free(cp);
            return KD_ERR_KEY;
        }
        kdnet_passive_init(&cp->kdnet, k);
        memset(k, 0, sizeof k);
        cp->have_key = true;
    }
    int rc = capture_reader_open(path, &cp->r, err);
    if (rc != KD_OK) {
        free(cp);
        return rc;
    }
    kd_framer_init(&cp->framer[0]);
    kd_framer_init(&cp->framer[1]);
    *out = cp;
    return KD_OK;
}

void capture_packets_free(struct capture_packets *cp)
{
    if (!cp)
        return;
    capture_reader_free(cp->r);
    free(cp);
}

const char *capture_packets_error(const struct capture_packets *cp)
{
    return cp->error;
}
void capture_packets_stats(const struct capture_packets *cp, struct capture_packets_stats *s)
{
    *s = cp->st;
}

static void fill(struct capture_packets *cp, struct capture_packet *p, bool h2t)
{
    p->frame = cp->rec.frame;
    p->time = cp->rec.time;
    p->host_to_target = h2t;
    p->breakin = false;
}

/* A KDNET datagram: at most one packet. 1 = *p filled, 0 = nothing. */
static int from_datagram(struct capture_packets *cp, struct capture_packet *p)
{
    if (!cp->have_key) {
        cp->st.undecryptable++;
        return 0;
    }
    struct kdnet_passive_out po;
    int rc =
        kdnet_passive_feed(&cp->kdnet, cp->rec.data, cp->rec.len, cp->plain, sizeof cp->plain, &po);
    if (rc == KD_ERR_FORMAT)
        return 0; /* not KDNET */
    if (rc != KD_OK) {
        cp->st.undecryptable++;
        return 0;
    }
    if (po.dg.channel != KDNET_CHANNEL_DATA)
        return 0;
    fill(cp, p, po.dg.host_to_target);
    if (po.dg.body_len == 1 && po.dg.body[0] == KD_BREAKIN_BYTE) {
        p->breakin = true;
        cp->st.breakins++;
        return 1;
    }
    size_t used;
    if (kd_wire_parse(po.dg.body, po.dg.body_len, false, &p->pkt, &used) != KD_OK) {
        cp->st.bad++;
        return 0;
    }
    memcpy(cp->pkt_buf, p->pkt.payload ? p->pkt.payload : cp->pkt_buf,
           p->pkt.payload ? p->pkt.count : 0);
    p->pkt.payload = cp->pkt_buf;
    cp->st.packets++;
    return 1;
}

/* Stream chunk: continue framing from cp->off. 1 = *p filled, 0 = chunk done. */
static int from_stream(struct capture_packets *cp, struct capture_packet *p)
{
    int dir = cp->rec.direction ? 1 : 0;
    while (cp->off < cp->rec.len) {
        size_t used = 0;
        struct kd_framer_event ev;
        int got = kd_framer_next(&cp->framer[dir], cp->rec.data + cp->off, cp->rec.len - cp->off,
                                 &used, &ev);
        cp->off += used;
        if (got != 1)
            break;
        if (ev.kind == KD_FRAMER_PACKET) {
            fill(cp, p, dir == 0);
            p->pkt = ev.packet;
            memcpy(cp->pkt_buf, ev.packet.payload, ev.packet.count);
            p->pkt.payload = cp->pkt_buf;
            cp->st.packets++;
            return 1;
        }
        if (ev.kind == KD_FRAMER_BREAKIN) {
            fill(cp, p, dir == 0);
            p->breakin = true;
            cp->st.breakins++;
            return 1;
        }
        if (ev.kind == KD_FRAMER_ERROR)
            cp->st.bad++;
    }
    return 0;
}

int capture_packets_next(struct capture_packets *cp, struct capture_packet *p)
{
    for (;;) {
        if (cp->in_rec && cp->rec.kind == CAPTURE_STREAM) {
            if (from_stream(cp, p))
                return 1;
            cp->in_rec = false;
        }
        int rc = capture_reader_next(cp->r, &cp->rec);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            snprintf(cp->error, sizeof cp->error, "%s", capture_reader_error(cp->r));
            return rc;
        }
        cp->st.frames++;
        cp->off = 0;
        if (cp->rec.kind == CAPTURE_UDP) {
            if (from_datagram(cp, p))
                return 1;
        } else if (cp->rec.kind == CAPTURE_STREAM) {
            cp->in_rec = true;
        }
    }
}
