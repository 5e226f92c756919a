/* test_kd_framer.c: the serial stream decoder, fed whole, split at every
 * byte boundary and one byte at a time, with exact expected events. */
#include "check.h"
#include "kd_framer.h"
#include "kd_status.h"
#include "kd_wire.h"

#include <stdbool.h>

/* One event as recorded by the tests (payload copied out of the framer). */
struct rec {
    enum kd_framer_kind kind;
    int status;
    uint16_t type, count;
    uint32_t id;
    size_t garbage;
    uint32_t sum; /* checksum of the payload seen, for PACKET */
};

#define MAX_RECS 64

struct log {
    struct rec r[MAX_RECS];
    size_t n;
    bool overflow, bad_api;
};

static void record(struct log *lg, const struct kd_framer_event *ev)
{
    if (lg->n == MAX_RECS) {
        lg->overflow = true;
        return;
    }
    struct rec *r = &lg->r[lg->n++];
    memset(r, 0, sizeof *r);
    r->kind = ev->kind;
    r->status = ev->status;
    if (ev->kind == KD_FRAMER_PACKET || ev->kind == KD_FRAMER_ERROR) {
        r->type = ev->packet.type;
        r->count = ev->packet.count;
        r->id = ev->packet.id;
    }
    if (ev->kind == KD_FRAMER_PACKET)
        r->sum = kd_wire_checksum(ev->packet.payload, ev->packet.count);
    if (ev->kind == KD_FRAMER_GARBAGE)
        r->garbage = ev->garbage;
}

/* Feeds one chunk completely, recording every event. */
static void feed(struct kd_framer *f, const uint8_t *p, size_t n, struct log *lg)
{
    size_t off = 0;
    for (int guard = 0; guard < 100000; guard++) {
        size_t used = 12345;
        struct kd_framer_event ev;
        int got = kd_framer_next(f, p + off, n - off, &used, &ev);
        if (got < 0 || used > n - off) {
            lg->bad_api = true;
            return;
        }
        off += used;
        if (got == 0) {
            if (off != n)
                lg->bad_api = true;
            return;
        }
        record(lg, &ev);
    }
    lg->bad_api = true;
}

/* Feeds the stream in pieces cut at cuts[0..ncuts) (ascending), with a fresh
 * framer; each piece is copied into an exactly sized heap block. */
static void run_cuts(const uint8_t *s, size_t n, const size_t *cuts, size_t ncuts, struct log *lg)
{
    struct kd_framer f;
    kd_framer_init(&f);
    memset(lg, 0, sizeof *lg);
    size_t start = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        uint8_t *piece = malloc(end - start + 1);
        if (!piece) {
            lg->bad_api = true;
            return;
        }
        memcpy(piece, s + start, end - start);
        feed(&f, piece, end - start, lg);
        free(piece);
        start = end;
    }
}

static bool same_log(const struct log *a, const struct rec *want, size_t nwant)
{
    if (a->overflow || a->bad_api || a->n != nwant)
        return false;
    for (size_t i = 0; i < nwant; i++) {
        const struct rec *x = &a->r[i], *y = &want[i];
        if (x->kind != y->kind || x->status != y->status || x->type != y->type ||
            x->count != y->count || x->id != y->id || x->garbage != y->garbage || x->sum != y->sum)
            return false;
    }
    return true;
}

static void dump(const char *what, const struct rec *r, size_t n)
{
    fprintf(stderr, "    %s:\n", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "      %s status %d type %u count %u id 0x%08x garbage %zu sum 0x%x\n",
                kd_framer_kind_name(r[i].kind), r[i].status, r[i].type, r[i].count, r[i].id,
                r[i].garbage, r[i].sum);
}

/* Whole, every 2-way split and byte-by-byte feeding all give `want`. */
static void expect_all_splits(const uint8_t *s, size_t n, const struct rec *want, size_t nwant)
{
    struct log lg;
    run_cuts(s, n, NULL, 0, &lg);
    if (!same_log(&lg, want, nwant)) {
        dump("expected", want, nwant);
        dump("got (whole)", lg.r, lg.n);
        CHECK(0);
        return;
    }
    for (size_t k = 0; k <= n; k++) {
        run_cuts(s, n, &k, 1, &lg);
        if (!same_log(&lg, want, nwant)) {
            fprintf(stderr, "  split at %zu differs\n", k);
            dump("got", lg.r, lg.n);
            CHECK(0);
            return;
        }
    }
    size_t *cuts = malloc(n * sizeof *cuts);
    if (!cuts)
        return;
    for (size_t i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    run_cuts(s, n, cuts, n ? n - 1 : 0, &lg);
    free(cuts);
    if (!same_log(&lg, want, nwant)) {
        dump("got (1-byte feeding)", lg.r, lg.n);
        CHECK(0);
    }
}

/* Appends a serial data packet to s; returns the new length. */
static size_t put_data(uint8_t *s, size_t n, uint16_t type, uint32_t id, const uint8_t *p,
                       size_t len)
{
    size_t used = 0;
    kd_wire_build_data(s + n, 8192 - n, type, id, p, len, true, &used);
    return n + used;
}

static size_t put_ctl(uint8_t *s, size_t n, uint16_t type, uint32_t id)
{
    size_t used = 0;
    kd_wire_build_control(s + n, 8192 - n, type, id, &used);
    return n + used;
}

static size_t put_raw(uint8_t *s, size_t n, const uint8_t *p, size_t len)
{
    memcpy(s + n, p, len);
    return n + len;
}

static const uint8_t PAY5[5] = {0x31, 0x00, 0x00, 0x00, 0xFE}; /* sum 0x12F */

static struct rec packet(uint16_t type, uint16_t count, uint32_t id, uint32_t sum)
{
    struct rec r = {KD_FRAMER_PACKET, KD_OK, type, count, id, 0, sum};
    return r;
}

static struct rec error(int status, uint16_t type, uint16_t count, uint32_t id)
{
    struct rec r = {KD_FRAMER_ERROR, status, type, count, id, 0, 0};
    return r;
}

static struct rec garbage(size_t n)
{
    struct rec r = {KD_FRAMER_GARBAGE, KD_OK, 0, 0, 0, n, 0};
    return r;
}

static struct rec breakin(void)
{
    struct rec r = {KD_FRAMER_BREAKIN, KD_OK, 0, 0, 0, 0, 0};
    return r;
}

static void one_packet_exact(void)
{
    /* STATE_MANIPULATE id 0x80800001, payload 31 00 00 00 fe */
    const uint8_t s[] = {0x30, 0x30, 0x30, 0x30, 0x02, 0x00, 0x05, 0x00, 0x01, 0x00, 0x80,
                         0x80, 0x2F, 0x01, 0x00, 0x00, 0x31, 0x00, 0x00, 0x00, 0xFE, 0xAA};
    struct kd_framer f;
    kd_framer_init(&f);
    struct kd_framer_event ev;
    size_t used = 0;
    CHECK_EQ(kd_framer_next(&f, s, sizeof s, &used, &ev), 1);
    CHECK_EQ(used, sizeof s);
    CHECK_EQ(ev.kind, KD_FRAMER_PACKET);
    CHECK_EQ(ev.status, KD_OK);
    CHECK_EQ(ev.packet.leader, KD_LEADER_DATA);
    CHECK_EQ(ev.packet.type, 2);
    CHECK_EQ(ev.packet.count, 5);
    CHECK_EQ(ev.packet.id, 0x80800001u);
    CHECK_EQ(ev.packet.checksum, 0x12F);
    CHECK(ev.packet.payload != NULL);
    if (ev.packet.payload)
        CHECK_BYTES(ev.packet.payload, PAY5, 5);
    CHECK_EQ(kd_framer_buffered(&f), 0);
    CHECK_EQ(kd_framer_next(&f, s, 0, &used, &ev), 0);
    CHECK_EQ(used, 0);
    CHECK_EQ(kd_framer_next(NULL, s, 1, &used, &ev), KD_ERR_ARG);
    CHECK_EQ(kd_framer_next(&f, NULL, 1, &used, &ev), KD_ERR_ARG);
}

static void mixed_stream_all_splits(void)
{
    uint8_t s[8192];
    size_t n = 0;
    const uint8_t junk[] = {0x00, 0x30, 0x30, 0x69, 0x13}; /* a broken run too */
    n = put_raw(s, n, junk, sizeof junk);
    n = put_data(s, n, 2, 0x80800001u, PAY5, 5);
    n = put_ctl(s, n, KD_PACKET_TYPE_KD_ACKNOWLEDGE, 0x80800000u);
    const uint8_t between[] = {0xAA, 0x69, 0x69, 0x69};
    n = put_raw(s, n, between, sizeof between);
    n = put_ctl(s, n, KD_PACKET_TYPE_KD_RESET, 0);
    n = put_data(s, n, 7, 0x80800800u, NULL, 0);
    const struct rec want[] = {
        garbage(5),
        packet(2, 5, 0x80800001u, 0x12F),
        packet(4, 0, 0x80800000u, 0),
        /* 0xAA, then "iii" + "iiii": a run of 7, the leader is its last 4 */
        garbage(4),
        packet(6, 0, 0, 0),
        packet(7, 0, 0x80800800u, 0),
    };
    expect_all_splits(s, n, want, sizeof want / sizeof want[0]);
}

static void breakin_between_packets(void)
{
    uint8_t s[8192];
    size_t n = 0;
    n = put_data(s, n, 3, 0x80800000u, PAY5, 5);
    s[n++] = 0x62;
    n = put_ctl(s, n, KD_PACKET_TYPE_KD_ACKNOWLEDGE, 0x80800001u);
    const uint8_t g[] = {0x11, 0x30, 0x62, 0x62}; /* garbage first, then two break-ins */
    n = put_raw(s, n, g, sizeof g);
    n = put_data(s, n, 3, 0x80800001u, PAY5, 5);
    const struct rec want[] = {
        packet(3, 5, 0x80800000u, 0x12F),
        breakin(),
        packet(4, 0, 0x80800001u, 0),
        garbage(2),
        breakin(),
        breakin(),
        packet(3, 5, 0x80800001u, 0x12F),
    };
    expect_all_splits(s, n, want, sizeof want / sizeof want[0]);

    /* 0x62 inside a packet is data. */
    const uint8_t pb[3] = {0x62, 0x62, 0x62};
    n = put_data(s, 0, 2, 0x80800000u, pb, 3);
    const struct rec want2[] = {packet(2, 3, 0x80800000u, 0x126)};
    expect_all_splits(s, n, want2, 1);
}

static void bad_checksum_then_good(void)
{
    uint8_t s[8192];
    size_t n = put_data(s, 0, 2, 0x80800001u, PAY5, 5);
    s[16 + 4] ^= 0x01; /* payload 0xFE -> 0xFF */
    n = put_data(s, n, 2, 0x80800001u, PAY5, 5);
    const struct rec want[] = {
        error(KD_ERR_CHECKSUM, 2, 5, 0x80800001u),
        packet(2, 5, 0x80800001u, 0x12F),
    };
    expect_all_splits(s, n, want, 2);

    /* The error carries the payload as received. */
    struct kd_framer f;
    kd_framer_init(&f);
    struct kd_framer_event ev;
    size_t used;
    CHECK_EQ(kd_framer_next(&f, s, n, &used, &ev), 1);
    CHECK_EQ(ev.kind, KD_FRAMER_ERROR);
    CHECK_EQ(used, 22);
    CHECK(ev.packet.payload != NULL && ev.packet.payload[4] == 0xFF);
}

static void wrong_trailer_then_good(void)
{
    uint8_t s[8192];
    size_t n = put_data(s, 0, 2, 0x80800001u, PAY5, 5);
    s[n - 1] = 0xAB;
    n = put_data(s, n, 2, 0x80800000u, PAY5, 5);
    const struct rec want[] = {
        error(KD_ERR_TRAILER, 2, 5, 0x80800001u),
        garbage(22), /* the rejected packet is rescanned and skipped */
        packet(2, 5, 0x80800000u, 0x12F),
    };
    expect_all_splits(s, n, want, 3);
}

static void short_packet_hides_next(void)
{
    /* A packet that lost 6 payload bytes: its count swallows the start of the
     * next packet, the trailer check fails, the rescan finds the next one. */
    uint8_t s[8192];
    const uint8_t ten[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    size_t n = put_data(s, 0, 3, 0x80800000u, ten, 10);
    memmove(s + 20, s + 26, 1); /* keep 4 payload bytes and the trailer */
    n = 21;
    n = put_data(s, n, 2, 0x80800001u, PAY5, 5);
    const struct rec want[] = {
        error(KD_ERR_TRAILER, 3, 10, 0x80800000u),
        garbage(21),
        packet(2, 5, 0x80800001u, 0x12F),
    };
    expect_all_splits(s, n, want, 3);
}

static void oversized_count(void)
{
    /* Oversized count, then a valid packet after the false header. */
    uint8_t s[8192];
    const uint8_t big[16] = {0x30, 0x30, 0x30, 0x30, 0x02, 0x00, 0xA1, 0x0F,
                             0x05, 0x00, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00};
    size_t n = put_raw(s, 0, big, 16);
    n = put_data(s, n, 2, 0x80800001u, PAY5, 5);
    const struct rec want[] = {
        error(KD_ERR_LENGTH, 2, 4001, 0x80800005u),
        garbage(16),
        packet(2, 5, 0x80800001u, 0x12F),
    };
    expect_all_splits(s, n, want, 3);

    /* The real packet starts inside the rejected header (at its id field). */
    const uint8_t inside[8] = {0x30, 0x30, 0x30, 0x30, 0x02, 0x00, 0xFF, 0xFF};
    n = put_raw(s, 0, inside, 8);
    n = put_data(s, n, 2, 0x80800001u, PAY5, 5);
    const struct rec want2[] = {
        error(KD_ERR_LENGTH, 2, 0xFFFF, 0x30303030u),
        garbage(8),
        packet(2, 5, 0x80800001u, 0x12F),
    };
    expect_all_splits(s, n, want2, 3);
}

static void bad_header_types(void)
{
    uint8_t s[8192];
    /* control leader with a data type; data leader with a control type;
     * control packet with a byte count; each followed by a good ACK. */
    const uint8_t c2[16] = {0x69, 0x69, 0x69, 0x69, 0x02, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t d4[16] = {0x30, 0x30, 0x30, 0x30, 0x04, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t cc[16] = {0x69, 0x69, 0x69, 0x69, 0x04, 0, 0x01, 0, 0x03, 0, 0, 0, 0, 0, 0, 0};
    size_t n = put_raw(s, 0, c2, 16);
    n = put_raw(s, n, d4, 16);
    n = put_raw(s, n, cc, 16);
    n = put_ctl(s, n, KD_PACKET_TYPE_KD_ACKNOWLEDGE, 0x80800000u);
    const struct rec want[] = {
        error(KD_ERR_FORMAT, 2, 0, 1), garbage(16), error(KD_ERR_FORMAT, 4, 0, 2), garbage(16),
        error(KD_ERR_FORMAT, 4, 1, 3), garbage(16), packet(4, 0, 0x80800000u, 0),
    };
    expect_all_splits(s, n, want, sizeof want / sizeof want[0]);
}

static void truncated_then_completed(void)
{
    uint8_t s[8192];
    size_t n = put_data(s, 0, 2, 0x80800001u, PAY5, 5);
    struct kd_framer f;
    kd_framer_init(&f);
    struct log lg;
    memset(&lg, 0, sizeof lg);
    for (size_t k = 0; k < n; k++) {
        kd_framer_init(&f);
        memset(&lg, 0, sizeof lg);
        feed(&f, s, k, &lg);
        if (lg.n != 0 || lg.bad_api || kd_framer_buffered(&f) != k) {
            fprintf(stderr, "  prefix %zu: %zu events, buffered %zu\n", k, lg.n,
                    kd_framer_buffered(&f));
            CHECK(0);
        }
        feed(&f, s + k, n - k, &lg);
        const struct rec want = packet(2, 5, 0x80800001u, 0x12F);
        CHECK(same_log(&lg, &want, 1));
        CHECK_EQ(kd_framer_buffered(&f), 0);
    }
}

static void max_packet_in_small_chunks(void)
{
    uint8_t *s = malloc(8192);
    uint8_t *p = malloc(KD_PACKET_MAX);
    if (!s || !p) {
        CHECK(0);
        free(s);
        free(p);
        return;
    }
    for (size_t i = 0; i < KD_PACKET_MAX; i++)
        p[i] = (uint8_t)(0x30 + i % 3); /* leader-like bytes inside the payload */
    size_t n = put_data(s, 0, 11, 0x80800000u, p, KD_PACKET_MAX);
    n = put_data(s, n, 11, 0x80800001u, p, KD_PACKET_MAX);
    struct kd_framer f;
    kd_framer_init(&f);
    struct log lg;
    memset(&lg, 0, sizeof lg);
    for (size_t off = 0; off < n; off += 7)
        feed(&f, s + off, n - off < 7 ? n - off : 7, &lg);
    uint32_t sum = kd_wire_checksum(p, KD_PACKET_MAX);
    const struct rec want[] = {packet(11, 4000, 0x80800000u, sum),
                               packet(11, 4000, 0x80800001u, sum)};
    CHECK(same_log(&lg, want, 2));
    free(s);
    free(p);
}

static void pure_garbage_stays_bounded(void)
{
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i % 2 ? 0x30 : 0x69); /* never four identical */
    struct kd_framer f;
    kd_framer_init(&f);
    struct log lg;
    memset(&lg, 0, sizeof lg);
    for (int i = 0; i < 100; i++)
        feed(&f, junk, sizeof junk, &lg);
    CHECK_EQ(lg.n, 0);
    CHECK(!lg.bad_api);
    CHECK_EQ(kd_framer_buffered(&f), 1);
    /* The count arrives with the next leader. */
    uint8_t s[64];
    size_t n = put_ctl(s, 0, KD_PACKET_TYPE_KD_RESEND, 0);
    feed(&f, s, n, &lg);
    const struct rec want[] = {garbage(100 * 4096), packet(5, 0, 0, 0)};
    CHECK(same_log(&lg, want, 2));
    CHECK_STR(kd_framer_kind_name(KD_FRAMER_GARBAGE), "GARBAGE");
}

int main(void)
{
    RUN(one_packet_exact);
    RUN(mixed_stream_all_splits);
    RUN(breakin_between_packets);
    RUN(bad_checksum_then_good);
    RUN(wrong_trailer_then_good);
    RUN(short_packet_hides_next);
    RUN(oversized_count);
    RUN(bad_header_types);
    RUN(truncated_then_completed);
    RUN(max_packet_in_small_chunks);
    RUN(pure_garbage_stays_bounded);
    return check_summary("test_kd_framer");
}
