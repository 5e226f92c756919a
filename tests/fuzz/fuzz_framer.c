/* fuzz_framer.c: the serial framer fed in chunks whose sizes come from the
 * first 4 input bytes, checked against the same stream fed whole (the events
 * must not depend on chunking); every packet goes to a HOST kd_link, and the
 * input is also tried as one KDNET body. Aborts on any broken invariant. */
#include "kd_framer.h"
#include "kd_link.h"
#include "kd_status.h"
#include "kd_wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATTERN 4

static void require(int ok)
{
    if (!ok)
        abort();
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (uint8_t)(v >> (8 * i));
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Everything that must come out the same however the bytes were chunked. */
static uint64_t event_hash(uint64_t h, const struct kd_framer_event *ev)
{
    h = mix(h, (uint64_t)ev->kind);
    h = mix(h, (uint64_t)(int64_t)ev->status);
    h = mix(h, ev->garbage);
    h = mix(h, ((uint64_t)ev->packet.type << 32) | ev->packet.count);
    h = mix(h, ((uint64_t)ev->packet.id << 32) | ev->packet.checksum);
    return h;
}

static void check_outputs(const struct kd_link_out *o, size_t n, int trailer)
{
    for (size_t i = 0; i < n; i++) {
        struct kd_packet p;
        size_t used;
        require(o[i].data && o[i].len <= KD_LINK_PACKET_MAX);
        require(kd_wire_parse(o[i].data, o[i].len, trailer, &p, &used) == KD_OK);
        require(used == o[i].len);
    }
}

static void check_event(const struct kd_framer *f, const struct kd_framer_event *ev)
{
    require(kd_framer_buffered(f) <= KD_FRAMER_BUF_SIZE);
    if (ev->kind == KD_FRAMER_PACKET) {
        const struct kd_packet *p = &ev->packet;
        require(p->leader == KD_LEADER_DATA || p->leader == KD_LEADER_CONTROL);
        require(p->count <= KD_PACKET_MAX && p->payload);
        /* A good data packet must survive build -> parse unchanged (control
         * packets' checksum field is not checked, so only their count is). */
        if (p->leader == KD_LEADER_CONTROL)
            require(p->count == 0 && kd_wire_is_control(p->type));
        if (p->leader == KD_LEADER_DATA) {
            require(kd_wire_checksum(p->payload, p->count) == p->checksum);
            uint8_t buf[KD_FRAMER_BUF_SIZE];
            size_t used, used2;
            struct kd_packet q;
            require(kd_wire_build_data(buf, sizeof buf, p->type, p->id, p->payload, p->count, 1,
                                       &used) == KD_OK);
            require(kd_wire_parse(buf, used, 1, &q, &used2) == KD_OK && used2 == used);
            require(q.id == p->id && q.checksum == p->checksum && q.type == p->type);
        }
    } else if (ev->kind == KD_FRAMER_ERROR) {
        require(ev->status == KD_ERR_FORMAT || ev->status == KD_ERR_LENGTH ||
                ev->status == KD_ERR_TRAILER || ev->status == KD_ERR_CHECKSUM);
    } else if (ev->kind == KD_FRAMER_GARBAGE) {
        require(ev->garbage > 0);
    }
}

/* Drives the host link from one framer event; choices come from the packet. */
static void drive_link(struct kd_link *l, const struct kd_framer_event *ev, int trailer)
{
    struct kd_link_out o;
    if (ev->kind == KD_FRAMER_ERROR) {
        require(kd_link_bad_packet(l, &o) == KD_OK);
        check_outputs(&o, 1, trailer);
        return;
    }
    if (ev->kind != KD_FRAMER_PACKET)
        return;
    struct kd_link_result res;
    require(kd_link_receive(l, &ev->packet, &res) == KD_OK);
    require(res.nout <= KD_LINK_MAX_OUT);
    check_outputs(res.out, res.nout, trailer);
    uint32_t id = ev->packet.id;
    if (res.event == KD_LINK_EV_DATA && !kd_link_busy(l) && (id & 2)) {
        uint8_t req[0x38] = {0x31, 0x31};
        require(kd_link_send_data(l, KD_PACKET_TYPE_KD_STATE_MANIPULATE, req, sizeof req, &o) ==
                KD_OK);
        check_outputs(&o, 1, trailer);
    }
    if (id & 4) {
        int rc = kd_link_timeout(l, &o);
        require(rc == (kd_link_busy(l) ? KD_OK : KD_ERR_STATE));
        if (rc == KD_OK)
            check_outputs(&o, 1, trailer);
    }
    if ((id & 0x18) == 0x18) {
        require(kd_link_reset(l, &o) == KD_OK);
        check_outputs(&o, 1, trailer);
    }
}

static uint64_t feed_all(struct kd_framer *f, struct kd_link *l, const uint8_t *s, size_t n,
                         const uint8_t *pattern, size_t npat)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t off = 0, k = 0;
    while (off < n) {
        size_t chunk = n - off;
        if (npat) {
            uint8_t b = pattern[k++ % npat];
            size_t want = b < 200 ? (size_t)(b % 50) + 1 : (size_t)(b - 199) * 100;
            if (want < chunk)
                chunk = want;
        }
        size_t pos = 0;
        for (;;) {
            size_t used = (size_t)-1;
            struct kd_framer_event ev;
            int got = kd_framer_next(f, s + off + pos, chunk - pos, &used, &ev);
            require(got == 0 || got == 1);
            require(used <= chunk - pos);
            pos += used;
            if (!got) {
                require(pos == chunk);
                break;
            }
            check_event(f, &ev);
            h = event_hash(h, &ev);
            if (l)
                drive_link(l, &ev, 1);
        }
        off += chunk;
    }
    return h;
}

static void try_kdnet_body(const uint8_t *s, size_t n)
{
    struct kd_packet p;
    size_t used;
    struct kd_link l;
    require(kd_link_init(&l, KD_LINK_HOST, KD_LINK_KDNET) == KD_OK);
    int rc = kd_wire_parse(s, n, 0, &p, &used);
    require(used <= n);
    if (rc == KD_OK) {
        struct kd_framer_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = KD_FRAMER_PACKET;
        ev.packet = p;
        drive_link(&l, &ev, 0);
    }
    (void)kd_wire_parse(s, n, 1, &p, &used);
    require(used <= n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t npat = size < PATTERN ? size : PATTERN;
    const uint8_t *s = data + npat;
    size_t n = size - npat;

    struct kd_framer *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    struct kd_link *l = malloc(sizeof *l);
    if (!a || !b || !l)
        goto free_all;
    kd_framer_init(a);
    kd_framer_init(b);
    require(kd_link_init(l, KD_LINK_HOST, KD_LINK_SERIAL) == KD_OK);
    uint64_t chunked = feed_all(a, l, s, n, data, npat);
    uint64_t whole = feed_all(b, NULL, s, n, NULL, 0);
    require(chunked == whole);
    require(kd_framer_buffered(a) == kd_framer_buffered(b));
    try_kdnet_body(s, n);
free_all:
    free(a);
    free(b);
    free(l);
    return 0;
}
