/* test_kd_link.c: ids, ACK, RESEND and RESET. Two link instances talk to each
 * other: through the serial framer, and directly with KDNET bodies. */
#include "check.h"
#include "kd_framer.h"
#include "kd_le.h"
#include "kd_link.h"
#include "kd_status.h"
#include "kd_wire.h"

#include <stdbool.h>

#define OUT_MAX 256

/* What one received packet made the link do, with its packets copied out. */
struct step {
    enum kd_link_event ev;
    bool acked;
    uint16_t type; /* of the packet received */
    uint32_t id;
    size_t nout;
    size_t len[KD_LINK_MAX_OUT];
    uint8_t out[KD_LINK_MAX_OUT][OUT_MAX];
};

static void copy_result(struct step *st, const struct kd_packet *pkt,
                        const struct kd_link_result *res)
{
    memset(st, 0, sizeof *st);
    st->ev = res->event;
    st->acked = res->acked;
    st->type = pkt->type;
    st->id = pkt->id;
    st->nout = res->nout;
    for (size_t i = 0; i < res->nout && i < KD_LINK_MAX_OUT; i++) {
        st->len[i] = res->out[i].len <= OUT_MAX ? res->out[i].len : OUT_MAX;
        memcpy(st->out[i], res->out[i].data, st->len[i]);
    }
}

/* One end of a serial line: its link and the framer of what it receives. */
struct end {
    struct kd_link link;
    struct kd_framer rx;
};

/* Bytes arrive at e; each packet goes to its link. Returns steps recorded. */
static size_t serial_arrive(struct end *e, const uint8_t *p, size_t n, struct step *st, size_t max)
{
    size_t off = 0, k = 0;
    for (;;) {
        size_t used;
        struct kd_framer_event ev;
        int got = kd_framer_next(&e->rx, p + off, n - off, &used, &ev);
        off += used;
        if (got != 1)
            break;
        CHECK_EQ(ev.kind, KD_FRAMER_PACKET);
        if (ev.kind != KD_FRAMER_PACKET || k == max)
            continue;
        struct kd_link_result res;
        CHECK_EQ(kd_link_receive(&e->link, &ev.packet, &res), KD_OK);
        copy_result(&st[k++], &ev.packet, &res);
    }
    return k;
}

static void end_init(struct end *e, enum kd_link_role role)
{
    CHECK_EQ(kd_link_init(&e->link, role, KD_LINK_SERIAL), KD_OK);
    kd_framer_init(&e->rx);
}

static const uint8_t ACK_80800000[16] = {0x69, 0x69, 0x69, 0x69, 0x04, 0, 0, 0,
                                         0x00, 0x00, 0x80, 0x80, 0,    0, 0, 0};
static const uint8_t ACK_80800001[16] = {0x69, 0x69, 0x69, 0x69, 0x04, 0, 0, 0,
                                         0x01, 0x00, 0x80, 0x80, 0,    0, 0, 0};
static const uint8_t RESEND_0[16] = {0x69, 0x69, 0x69, 0x69, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t RESET_0[16] = {0x69, 0x69, 0x69, 0x69, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

/* Id field of a built packet; all ones when there is no packet, so a
 * missing output fails the check instead of crashing the test. */
static uint32_t id_of(const uint8_t *packet)
{
    return packet ? kd_le32(packet + 8) : ~0u;
}

/* p, or zero bytes when there is no packet (same reason). */
static const uint8_t *or_zero(const uint8_t *p)
{
    static const uint8_t none[KD_LINK_PACKET_MAX];
    return p ? p : none;
}

/* First packet a result asks to send, or zero bytes when there is none. */
static const uint8_t *first_out(const struct kd_link_result *r)
{
    return or_zero(r->nout ? r->out[0].data : NULL);
}

static void initial_ids(void)
{
    struct kd_link l;
    CHECK_EQ(kd_link_init(&l, KD_LINK_HOST, KD_LINK_SERIAL), KD_OK);
    CHECK_EQ(kd_link_next_id(&l), 0x80800000u);
    CHECK_EQ(kd_link_init(&l, KD_LINK_TARGET, KD_LINK_SERIAL), KD_OK);
    CHECK_EQ(kd_link_next_id(&l), 0x80800800u);
    CHECK_EQ(kd_link_init(&l, KD_LINK_HOST, KD_LINK_KDNET), KD_OK);
    CHECK_EQ(kd_link_next_id(&l), 0x80000000u);
    CHECK_EQ(kd_link_init(&l, KD_LINK_TARGET, KD_LINK_KDNET), KD_OK);
    CHECK_EQ(kd_link_next_id(&l), 0);
    CHECK_EQ(kd_link_init(&l, (enum kd_link_role)7, KD_LINK_KDNET), KD_ERR_ARG);
    CHECK_EQ(kd_link_init(NULL, KD_LINK_HOST, KD_LINK_KDNET), KD_ERR_ARG);
    CHECK(!kd_link_busy(&l));
    CHECK_STR(kd_link_event_name(KD_LINK_EV_CROSSED), "CROSSED");
}

static void send_rules(void)
{
    struct kd_link l;
    kd_link_init(&l, KD_LINK_TARGET, KD_LINK_SERIAL);
    const uint8_t pay[2] = {0x10, 0x20};
    struct kd_link_out o;
    CHECK_EQ(kd_link_timeout(&l, &o), KD_ERR_STATE);
    CHECK(o.data == NULL && o.len == 0);
    CHECK_EQ(kd_link_send_data(&l, KD_PACKET_TYPE_KD_STATE_CHANGE64, pay, 2, &o), KD_OK);
    const uint8_t want[19] = {0x30, 0x30, 0x30, 0x30, 0x07, 0x00, 0x02, 0x00, 0x00, 0x08,
                              0x80, 0x80, 0x30, 0x00, 0x00, 0x00, 0x10, 0x20, 0xAA};
    CHECK_EQ(o.len, 19);
    CHECK_BYTES(or_zero(o.data), want, 19);
    CHECK(kd_link_busy(&l));
    struct kd_link_out o2;
    CHECK_EQ(kd_link_send_data(&l, 2, pay, 2, &o2), KD_ERR_STATE); /* one in flight */
    CHECK(o2.data == NULL);
    CHECK_EQ(kd_link_timeout(&l, &o2), KD_OK);
    CHECK(o2.data == o.data && o2.len == 19);
    CHECK_BYTES(or_zero(o2.data), want, 19);

    struct kd_link k;
    kd_link_init(&k, KD_LINK_HOST, KD_LINK_KDNET);
    CHECK_EQ(kd_link_send_data(&k, KD_PACKET_TYPE_KD_ACKNOWLEDGE, NULL, 0, &o), KD_ERR_ARG);
    CHECK_EQ(kd_link_send_data(&k, 2, pay, KD_PACKET_MAX + 1, &o), KD_ERR_LENGTH);
    CHECK(!kd_link_busy(&k));
    CHECK_EQ(kd_link_send_data(&k, 2, pay, 2, &o), KD_OK);
    CHECK_EQ(o.len, 18); /* no trailer on KDNET */
    CHECK_EQ(id_of(o.data), 0x80000000u);

    CHECK_EQ(kd_link_bad_packet(&k, &o), KD_OK);
    CHECK_EQ(o.len, 16);
    CHECK_BYTES(or_zero(o.data), RESEND_0, 16);
}

/* Serial: connect, sync bit, request/reply, lost ACK, RESEND, RESET, all
 * through the framer in both directions. */
static void serial_scripted_exchange(void)
{
    struct end host, target;
    end_init(&host, KD_LINK_HOST);
    end_init(&target, KD_LINK_TARGET);
    struct step st[4];
    struct kd_link_out o;
    uint8_t sc[8] = {0x30, 0x30, 0, 0, 0x62, 0, 0, 0}; /* payload with leader and 'b' bytes */

    /* The target's first state change is lost: nobody listens yet. */
    CHECK_EQ(kd_link_send_data(&target.link, KD_PACKET_TYPE_KD_STATE_CHANGE64, sc, 8, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 0x80800800u);

    /* Host connects: RESET; the target answers RESET and re-sends with the sync bit. */
    CHECK_EQ(kd_link_reset(&host.link, &o), KD_OK);
    CHECK_EQ(o.len, 16);
    CHECK_BYTES(or_zero(o.data), RESET_0, 16);
    CHECK_EQ(serial_arrive(&target, o.data, o.len, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_RESET);
    CHECK_EQ(st[0].nout, 2);
    CHECK_BYTES(st[0].out[0], RESET_0, 16);
    CHECK_EQ(st[0].len[1], 16 + 8 + 1);
    CHECK_EQ(id_of(st[0].out[1]), 0x80800800u);

    /* Both packets reach the host in one chunk. */
    uint8_t line[512];
    memcpy(line, st[0].out[0], 16);
    memcpy(line + 16, st[0].out[1], st[0].len[1]);
    struct step hs[4];
    CHECK_EQ(serial_arrive(&host, line, 16 + st[0].len[1], hs, 4), 2);
    CHECK_EQ(hs[0].ev, KD_LINK_EV_RESET);
    CHECK_EQ(hs[0].nout, 0); /* a host never answers RESET */
    CHECK_EQ(hs[1].ev, KD_LINK_EV_DATA);
    CHECK_EQ(hs[1].id, 0x80800800u);
    CHECK_EQ(hs[1].nout, 1);
    CHECK_BYTES(hs[1].out[0], ACK_80800000, 16); /* id & ~0x800 */

    CHECK_EQ(serial_arrive(&target, hs[1].out[0], 16, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_ACK);
    CHECK(st[0].acked);
    CHECK_EQ(kd_link_next_id(&target.link), 0x80800001u);

    /* Host request 0x80800000; target ACKs it. */
    const uint8_t req[4] = {0x31, 0x31, 0, 0};
    CHECK_EQ(kd_link_send_data(&host.link, KD_PACKET_TYPE_KD_STATE_MANIPULATE, req, 4, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 0x80800000u);
    CHECK_EQ(serial_arrive(&target, o.data, o.len, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_DATA);
    CHECK_BYTES(st[0].out[0], ACK_80800000, 16);
    CHECK_EQ(serial_arrive(&host, st[0].out[0], 16, hs, 4), 1);
    CHECK_EQ(hs[0].ev, KD_LINK_EV_ACK);

    /* Target reply 0x80800001; host ACKs with exactly that id. */
    CHECK_EQ(kd_link_send_data(&target.link, KD_PACKET_TYPE_KD_STATE_MANIPULATE, req, 4, &o),
             KD_OK);
    CHECK_EQ(id_of(o.data), 0x80800001u);
    CHECK_EQ(serial_arrive(&host, o.data, o.len, hs, 4), 1);
    CHECK_EQ(hs[0].ev, KD_LINK_EV_DATA);
    CHECK_BYTES(hs[0].out[0], ACK_80800001, 16);
    CHECK_EQ(serial_arrive(&target, hs[0].out[0], 16, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_ACK);

    /* Lost ACK: request 0x80800001 arrives, its ACK is lost, the host
     * retransmits on timeout, the target sees a duplicate, ACKs and drops it. */
    CHECK_EQ(kd_link_send_data(&host.link, KD_PACKET_TYPE_KD_STATE_MANIPULATE, req, 4, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 0x80800001u);
    CHECK_EQ(serial_arrive(&target, o.data, o.len, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_DATA); /* its ACK goes nowhere */
    CHECK_EQ(kd_link_timeout(&host.link, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 0x80800001u);
    CHECK_EQ(serial_arrive(&target, o.data, o.len, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_DUPLICATE);
    CHECK_BYTES(st[0].out[0], ACK_80800001, 16);
    CHECK_EQ(serial_arrive(&host, st[0].out[0], 16, hs, 4), 1);
    CHECK_EQ(hs[0].ev, KD_LINK_EV_ACK);
    CHECK_EQ(kd_link_next_id(&host.link), 0x80800000u);

    /* RESEND: the reply is damaged on the line; the host's framer rejects it,
     * the host asks again, the target re-sends the same bytes. */
    CHECK_EQ(kd_link_send_data(&target.link, KD_PACKET_TYPE_KD_STATE_MANIPULATE, req, 4, &o),
             KD_OK);
    CHECK_EQ(id_of(o.data), 0x80800000u);
    uint8_t bad[64];
    memcpy(bad, o.data, o.len);
    bad[17] ^= 0x40;
    size_t used;
    struct kd_framer_event ev;
    CHECK_EQ(kd_framer_next(&host.rx, bad, o.len, &used, &ev), 1);
    CHECK_EQ(ev.kind, KD_FRAMER_ERROR);
    CHECK_EQ(ev.status, KD_ERR_CHECKSUM);
    struct kd_link_out r;
    CHECK_EQ(kd_link_bad_packet(&host.link, &r), KD_OK);
    CHECK_EQ(serial_arrive(&target, r.data, r.len, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_RESEND);
    CHECK_EQ(st[0].nout, 1);
    CHECK_EQ(id_of(st[0].out[0]), 0x80800000u);
    CHECK_EQ(serial_arrive(&host, st[0].out[0], st[0].len[0], hs, 4), 1);
    CHECK_EQ(hs[0].ev, KD_LINK_EV_DATA);
    CHECK_BYTES(hs[0].out[0], ACK_80800000, 16);
    CHECK_EQ(serial_arrive(&target, hs[0].out[0], 16, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_ACK);

    /* RESET mid-session with a target packet pending (id 0x80800001): the
     * target answers RESET and re-sends it as 0x80800800; the host takes it. */
    CHECK_EQ(kd_link_send_data(&target.link, KD_PACKET_TYPE_KD_DEBUG_IO, req, 4, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 0x80800001u);
    CHECK_EQ(kd_link_reset(&host.link, &o), KD_OK);
    CHECK_EQ(serial_arrive(&target, o.data, o.len, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_RESET);
    CHECK_EQ(st[0].nout, 2);
    CHECK_BYTES(st[0].out[0], RESET_0, 16);
    CHECK_EQ(id_of(st[0].out[1]), 0x80800800u);
    struct kd_packet chk;
    CHECK_EQ(kd_wire_parse(st[0].out[1], st[0].len[1], true, &chk, &used), KD_OK);
    CHECK_EQ(serial_arrive(&host, st[0].out[0], 16, hs, 4), 1);
    CHECK_EQ(hs[0].ev, KD_LINK_EV_RESET);
    CHECK_EQ(kd_link_next_id(&host.link), 0x80800000u); /* serial RESET resets host ids */
    CHECK_EQ(serial_arrive(&host, st[0].out[1], st[0].len[1], hs, 4), 1);
    CHECK_EQ(hs[0].ev, KD_LINK_EV_DATA);
    CHECK_BYTES(hs[0].out[0], ACK_80800000, 16);
    CHECK_EQ(serial_arrive(&target, hs[0].out[0], 16, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_ACK);
    CHECK_EQ(kd_link_next_id(&target.link), 0x80800001u);

    /* And the host's next request uses 0x80800000, which the target expects. */
    CHECK_EQ(kd_link_send_data(&host.link, KD_PACKET_TYPE_KD_STATE_MANIPULATE, req, 4, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 0x80800000u);
    CHECK_EQ(serial_arrive(&target, o.data, o.len, st, 4), 1);
    CHECK_EQ(st[0].ev, KD_LINK_EV_DATA);
}

static int kdnet_arrive(struct kd_link *l, const uint8_t *body, size_t len, struct step *st)
{
    struct kd_packet pkt;
    size_t used;
    int rc = kd_wire_parse(body, len, false, &pkt, &used);
    CHECK_EQ(rc, KD_OK);
    CHECK_EQ(used, len);
    if (rc != KD_OK)
        return rc;
    struct kd_link_result res;
    rc = kd_link_receive(l, &pkt, &res);
    copy_result(st, &pkt, &res);
    return rc;
}

/* KDNET: connection check, ids by 2, ACK echoes, lost ACK, RESET keeps ids
 * and clears the duplicate filter. Bodies go straight between the links. */
static void kdnet_scripted_exchange(void)
{
    struct kd_link host, target;
    kd_link_init(&host, KD_LINK_HOST, KD_LINK_KDNET);
    kd_link_init(&target, KD_LINK_TARGET, KD_LINK_KDNET);
    struct step st, hs;
    struct kd_link_out o;
    const uint8_t msg[6] = {'B', 'D', ':', ' ', 'o', 'k'};

    /* The target has a DEBUG_IO pending (id 0) and sends the connection check. */
    CHECK_EQ(kd_link_send_data(&target, KD_PACKET_TYPE_KD_DEBUG_IO, msg, 6, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 0);
    uint8_t cc[12];
    size_t used;
    CHECK_EQ(kd_wire_build_conncheck(cc, sizeof cc, 0xc0a80201u, &used), KD_OK);
    CHECK_EQ(kdnet_arrive(&host, cc, used, &hs), KD_OK);
    CHECK_EQ(hs.ev, KD_LINK_EV_CONNCHECK);
    CHECK_EQ(hs.nout, 1);
    CHECK_BYTES(hs.out[0], RESEND_0, 16);
    CHECK_EQ(kdnet_arrive(&target, hs.out[0], hs.len[0], &st), KD_OK);
    CHECK_EQ(st.ev, KD_LINK_EV_RESEND);
    CHECK_EQ(st.nout, 1);
    CHECK_EQ(st.len[0], 16 + 6);
    CHECK_EQ(id_of(st.out[0]), 0);
    CHECK_EQ(kdnet_arrive(&host, st.out[0], st.len[0], &hs), KD_OK);
    CHECK_EQ(hs.ev, KD_LINK_EV_DATA);
    const uint8_t ack0[16] = {0x69, 0x69, 0x69, 0x69, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_BYTES(hs.out[0], ack0, 16);
    CHECK_EQ(kdnet_arrive(&target, hs.out[0], 16, &st), KD_OK);
    CHECK_EQ(st.ev, KD_LINK_EV_ACK);
    CHECK_EQ(kd_link_next_id(&target), 2);

    /* State change id 2; host ACK echoes 2. */
    CHECK_EQ(kd_link_send_data(&target, KD_PACKET_TYPE_KD_STATE_CHANGE64, msg, 6, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 2);
    CHECK_EQ(kdnet_arrive(&host, o.data, o.len, &hs), KD_OK);
    CHECK_EQ(hs.ev, KD_LINK_EV_DATA);
    CHECK_EQ(id_of(hs.out[0]), 2);
    CHECK_EQ(kdnet_arrive(&target, hs.out[0], 16, &st), KD_OK);
    CHECK_EQ(st.ev, KD_LINK_EV_ACK);

    /* Host request 0x80000000, ACK echoes it; next is 0x80000002. */
    CHECK_EQ(kd_link_send_data(&host, KD_PACKET_TYPE_KD_STATE_MANIPULATE, msg, 6, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 0x80000000u);
    CHECK_EQ(kdnet_arrive(&target, o.data, o.len, &st), KD_OK);
    CHECK_EQ(st.ev, KD_LINK_EV_DATA);
    CHECK_EQ(id_of(st.out[0]), 0x80000000u);
    CHECK_EQ(kdnet_arrive(&host, st.out[0], 16, &hs), KD_OK);
    CHECK_EQ(hs.ev, KD_LINK_EV_ACK);
    CHECK_EQ(kd_link_next_id(&host), 0x80000002u);

    /* Lost ACK: 0x80000002 delivered, ACK lost, retransmitted: duplicate. */
    CHECK_EQ(kd_link_send_data(&host, KD_PACKET_TYPE_KD_STATE_MANIPULATE, msg, 6, &o), KD_OK);
    CHECK_EQ(kdnet_arrive(&target, o.data, o.len, &st), KD_OK);
    CHECK_EQ(st.ev, KD_LINK_EV_DATA);
    CHECK_EQ(kd_link_timeout(&host, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 0x80000002u);
    CHECK_EQ(kdnet_arrive(&target, o.data, o.len, &st), KD_OK);
    CHECK_EQ(st.ev, KD_LINK_EV_DUPLICATE);
    CHECK_EQ(id_of(st.out[0]), 0x80000002u);
    CHECK_EQ(kdnet_arrive(&host, st.out[0], 16, &hs), KD_OK);
    CHECK_EQ(hs.ev, KD_LINK_EV_ACK);

    /* Target reply id 4 is accepted, its ACK lost; the host resets. RESET
     * carries the host's next id; the target answers RESET with its pending
     * id and re-sends id 4, which the host must accept again. */
    CHECK_EQ(kd_link_send_data(&target, KD_PACKET_TYPE_KD_STATE_MANIPULATE, msg, 6, &o), KD_OK);
    CHECK_EQ(id_of(o.data), 4);
    CHECK_EQ(kdnet_arrive(&host, o.data, o.len, &hs), KD_OK);
    CHECK_EQ(hs.ev, KD_LINK_EV_DATA);
    CHECK_EQ(kd_link_reset(&host, &o), KD_OK);
    const uint8_t reset_host[16] = {0x69, 0x69, 0x69, 0x69, 0x06, 0, 0, 0,
                                    0x04, 0,    0,    0x80, 0,    0, 0, 0};
    CHECK_BYTES(or_zero(o.data), reset_host, 16);
    CHECK_EQ(kdnet_arrive(&target, o.data, o.len, &st), KD_OK);
    CHECK_EQ(st.ev, KD_LINK_EV_RESET);
    CHECK_EQ(st.nout, 2);
    const uint8_t reset_target[16] = {0x69, 0x69, 0x69, 0x69, 0x06, 0, 0, 0,
                                      4,    0,    0,    0,    0,    0, 0, 0};
    CHECK_BYTES(st.out[0], reset_target, 16);
    CHECK_EQ(id_of(st.out[1]), 4);
    uint8_t again[OUT_MAX];
    size_t again_len = st.len[1];
    memcpy(again, st.out[1], again_len);
    CHECK_EQ(kdnet_arrive(&host, st.out[0], 16, &hs), KD_OK);
    CHECK_EQ(hs.ev, KD_LINK_EV_RESET);
    CHECK_EQ(hs.nout, 0);
    CHECK_EQ(kd_link_next_id(&host), 0x80000004u); /* KDNET RESET keeps host ids */
    struct step hs2;
    CHECK_EQ(kdnet_arrive(&host, st.out[1], st.len[1], &hs2), KD_OK);
    CHECK_EQ(hs2.ev, KD_LINK_EV_DATA);
    CHECK_EQ(id_of(hs2.out[0]), 4);
    CHECK_EQ(kdnet_arrive(&target, hs2.out[0], 16, &st), KD_OK);
    CHECK_EQ(st.ev, KD_LINK_EV_ACK);
    CHECK_EQ(kd_link_next_id(&target), 6);

    /* Another copy of id 4 is a duplicate again. */
    CHECK_EQ(kdnet_arrive(&host, again, again_len, &hs), KD_OK);
    CHECK_EQ(hs.ev, KD_LINK_EV_DUPLICATE);
    CHECK_EQ(id_of(hs.out[0]), 4);
}

static void duplicates_acked_and_dropped(void)
{
    struct kd_link l;
    kd_link_init(&l, KD_LINK_HOST, KD_LINK_SERIAL);
    struct kd_packet p = {KD_LEADER_DATA, 2, 0, 0x80800001u, 0, NULL};
    struct kd_link_result r;
    /* Mid-session attach: the first id is taken as is. */
    CHECK_EQ(kd_link_receive(&l, &p, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DATA);
    CHECK_EQ(r.nout, 1);
    CHECK_BYTES(first_out(&r), ACK_80800001, 16);
    CHECK_EQ(kd_link_receive(&l, &p, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DUPLICATE);
    CHECK_EQ(r.nout, 1);
    CHECK_BYTES(first_out(&r), ACK_80800001, 16);
    p.id = 0x80800000u;
    CHECK_EQ(kd_link_receive(&l, &p, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DATA);

    /* A sync packet resynchronises once; its retransmission is a duplicate. */
    p.id = 0x80800800u;
    CHECK_EQ(kd_link_receive(&l, &p, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DATA);
    CHECK_BYTES(first_out(&r), ACK_80800000, 16);
    CHECK_EQ(kd_link_receive(&l, &p, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DUPLICATE);
    CHECK_BYTES(first_out(&r), ACK_80800000, 16);
    p.id = 0x80800001u;
    CHECK_EQ(kd_link_receive(&l, &p, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DATA);

    /* KDNET: the same id twice is dropped; any other id is new. */
    kd_link_init(&l, KD_LINK_HOST, KD_LINK_KDNET);
    p.id = 0x926;
    CHECK_EQ(kd_link_receive(&l, &p, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DATA);
    CHECK_EQ(kd_link_receive(&l, &p, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DUPLICATE);
    CHECK_EQ(id_of(first_out(&r)), 0x926);
    p.id = 0x928;
    CHECK_EQ(kd_link_receive(&l, &p, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DATA);
    /* A connection check clears the filter (the target restarted). */
    struct kd_packet c = {0, 0, 0, 0xc0a80201u, 0, NULL};
    CHECK_EQ(kd_link_receive(&l, &c, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_CONNCHECK);
    CHECK_EQ(kd_link_receive(&l, &p, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DATA);
}

/* Data arriving while our own packet awaits its ACK. */
static void data_while_awaiting_ack(void)
{
    struct kd_link t;
    kd_link_init(&t, KD_LINK_TARGET, KD_LINK_SERIAL);
    struct kd_link_out o;
    struct kd_link_result r;
    const uint8_t x[1] = {1};
    kd_link_send_data(&t, KD_PACKET_TYPE_KD_STATE_MANIPULATE, x, 1, &o); /* 0x80800800 */
    /* A duplicate (not the expected 0x80800000) is ACKed; ours stays pending. */
    struct kd_packet d = {KD_LEADER_DATA, 2, 0, 0x80800001u, 0, NULL};
    CHECK_EQ(kd_link_receive(&t, &d, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DUPLICATE);
    CHECK(!r.acked);
    CHECK(kd_link_busy(&t));
    /* New data: §1.4, RESEND(0), ours counts as delivered, the packet is dropped. */
    d.id = 0x80800000u;
    CHECK_EQ(kd_link_receive(&t, &d, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_CROSSED);
    CHECK(r.acked);
    CHECK_EQ(r.nout, 1);
    CHECK_BYTES(first_out(&r), RESEND_0, 16);
    CHECK(!kd_link_busy(&t));
    CHECK_EQ(kd_link_next_id(&t), 0x80800001u);
    /* The host sends it again and now it is taken. */
    CHECK_EQ(kd_link_receive(&t, &d, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DATA);
    CHECK_BYTES(first_out(&r), ACK_80800000, 16);

    /* A host takes new data as proof its request arrived. */
    struct kd_link h;
    kd_link_init(&h, KD_LINK_HOST, KD_LINK_KDNET);
    kd_link_send_data(&h, KD_PACKET_TYPE_KD_STATE_MANIPULATE, x, 1, &o); /* 0x80000000 */
    d.id = 8;
    CHECK_EQ(kd_link_receive(&h, &d, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DATA);
    CHECK(r.acked);
    CHECK_EQ(id_of(first_out(&r)), 8);
    CHECK(!kd_link_busy(&h));
    CHECK_EQ(kd_link_next_id(&h), 0x80000002u);
    /* ... but a duplicate does not prove anything. */
    kd_link_send_data(&h, KD_PACKET_TYPE_KD_STATE_MANIPULATE, x, 1, &o); /* 0x80000002 */
    CHECK_EQ(kd_link_receive(&h, &d, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_DUPLICATE);
    CHECK(!r.acked);
    CHECK(kd_link_busy(&h));
}

static void acks_and_resends(void)
{
    struct kd_link t;
    kd_link_init(&t, KD_LINK_TARGET, KD_LINK_SERIAL);
    struct kd_link_out o;
    struct kd_link_result r;
    const uint8_t x[1] = {1};
    struct kd_packet c = {KD_LEADER_CONTROL, KD_PACKET_TYPE_KD_RESEND, 0, 0, 0, NULL};
    /* RESEND before anything was sent: nothing to send. */
    CHECK_EQ(kd_link_receive(&t, &c, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_RESEND);
    CHECK_EQ(r.nout, 0);
    kd_link_send_data(&t, KD_PACKET_TYPE_KD_STATE_CHANGE64, x, 1, &o); /* 0x80800800 */
    /* An ACK carrying the sync bit does not match (hosts must clear it). */
    c.type = KD_PACKET_TYPE_KD_ACKNOWLEDGE;
    c.id = 0x80800800u;
    CHECK_EQ(kd_link_receive(&t, &c, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_NONE);
    CHECK(kd_link_busy(&t));
    c.id = 0x80800001u; /* stray */
    CHECK_EQ(kd_link_receive(&t, &c, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_NONE);
    c.id = 0x80800000u;
    CHECK_EQ(kd_link_receive(&t, &c, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_ACK);
    CHECK(r.acked);
    CHECK_EQ(r.nout, 0);
    /* The same ACK again is stray. */
    CHECK_EQ(kd_link_receive(&t, &c, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_NONE);
    CHECK(!r.acked);
    /* RESEND after the ACK: the last packet again, unchanged. */
    c.type = KD_PACKET_TYPE_KD_RESEND;
    CHECK_EQ(kd_link_receive(&t, &c, &r), KD_OK);
    CHECK_EQ(r.nout, 1);
    CHECK(r.nout == 1 && r.out[0].data == o.data);
    CHECK_EQ(id_of(first_out(&r)), 0x80800800u);
    /* A RESET with nothing pending: answer only; the old packet is forgotten. */
    c.type = KD_PACKET_TYPE_KD_RESET;
    CHECK_EQ(kd_link_receive(&t, &c, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_RESET);
    CHECK_EQ(r.nout, 1);
    CHECK_BYTES(first_out(&r), RESET_0, 16);
    CHECK_EQ(kd_link_next_id(&t), 0x80800800u);
    c.type = KD_PACKET_TYPE_KD_RESEND;
    CHECK_EQ(kd_link_receive(&t, &c, &r), KD_OK);
    CHECK_EQ(r.nout, 0);
    /* Connection checks mean nothing to a target or on serial. */
    struct kd_packet cc = {0, 0, 0, 1, 0, NULL};
    CHECK_EQ(kd_link_receive(&t, &cc, &r), KD_OK);
    CHECK_EQ(r.event, KD_LINK_EV_NONE);
    CHECK_EQ(r.nout, 0);
    CHECK_EQ(kd_link_receive(&t, NULL, &r), KD_ERR_ARG);
}

int main(void)
{
    RUN(initial_ids);
    RUN(send_rules);
    RUN(serial_scripted_exchange);
    RUN(kdnet_scripted_exchange);
    RUN(duplicates_acked_and_dropped);
    RUN(data_while_awaiting_ack);
    RUN(acks_and_resends);
    return check_summary("test_kd_link");
}
