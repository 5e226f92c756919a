/* kd_link.c: packet ids, ACK/RESEND/RESET for both ends (kd_link.h).
 * Serial rules from §1.3-1.5 (ReactOS kddll, VirtualKD), KDNET rules from
 * §2.7-2.8 (what WinDbg and the boot debugger were seen to do). */
#include "kd_link.h"
#include "kd_le.h"
#include "kd_status.h"

#include <string.h>

_Static_assert(KD_LINK_PACKET_MAX == 4017, "largest serial data packet");

static bool serial(const struct kd_link *l)
{
    return l->flavour == KD_LINK_SERIAL;
}

static uint32_t first_send_id(const struct kd_link *l)
{
    if (serial(l))
        return l->role == KD_LINK_TARGET ? KD_INITIAL_PACKET_ID | KD_SYNC_PACKET_ID
                                         : KD_INITIAL_PACKET_ID;
    return l->role == KD_LINK_TARGET ? KD_LINK_KDNET_TARGET_FIRST_ID : KD_LINK_KDNET_HOST_FIRST_ID;
}

/* Id after an acknowledged packet: serial toggles bit 0 and drops the sync
 * bit (the target clears it after its first ACK); KDNET adds 2. */
static uint32_t id_after(const struct kd_link *l, uint32_t id)
{
    return serial(l) ? (id & ~KD_SYNC_PACKET_ID) ^ 1u : id + 2u;
}

/* Id an ACK carries: serial targets compare against id & ~0x800 (§1.4). */
static uint32_t ack_id(const struct kd_link *l, uint32_t id)
{
    return serial(l) ? id & ~KD_SYNC_PACKET_ID : id;
}

int kd_link_init(struct kd_link *link, enum kd_link_role role, enum kd_link_flavour flavour)
{
    if (!link || (role != KD_LINK_HOST && role != KD_LINK_TARGET) ||
        (flavour != KD_LINK_SERIAL && flavour != KD_LINK_KDNET))
        return KD_ERR_ARG;
    memset(link, 0, sizeof *link);
    link->role = role;
    link->flavour = flavour;
    link->next_id = first_send_id(link);
    link->expect_id = KD_INITIAL_PACKET_ID;
    /* The kernel starts expecting 0x80800000; a host may attach to a target
     * that is mid-session, so it takes the first id it sees. */
    link->expect_known = role == KD_LINK_TARGET;
    return KD_OK;
}

static void result_clear(struct kd_link_result *res)
{
    memset(res, 0, sizeof *res);
    res->event = KD_LINK_EV_NONE;
}

static void queue(struct kd_link_result *res, const uint8_t *data, size_t len)
{
    if (res->nout < KD_LINK_MAX_OUT) {
        res->out[res->nout].data = data;
        res->out[res->nout].len = len;
        res->nout++;
    }
}

static void build_ctl(struct kd_link *l, uint16_t type, uint32_t id)
{
    size_t used;
    (void)kd_wire_build_control(l->ctl, sizeof l->ctl, type, id, &used); /* cannot fail */
}

static void queue_ctl(struct kd_link *l, struct kd_link_result *res, uint16_t type, uint32_t id)
{
    build_ctl(l, type, id);
    queue(res, l->ctl, sizeof l->ctl);
}

static void complete_pending(struct kd_link *l, struct kd_link_result *res)
{
    l->pending = false;
    l->next_id = id_after(l, l->sent_id);
    res->acked = true;
}

static bool is_duplicate(const struct kd_link *l, uint32_t id)
{
    if (!serial(l))
        return l->have_last && id == l->last_id;
    /* A sync id is a resync point, unless it is the very packet we accepted
     * last (its ACK was lost and it came again). */
    if (id & KD_SYNC_PACKET_ID)
        return l->have_last && id == l->last_id;
    return l->expect_known && id != l->expect_id;
}

static void accept(struct kd_link *l, uint32_t id)
{
    l->have_last = true;
    l->last_id = id;
    if (serial(l)) {
        l->expect_id = (id & ~KD_SYNC_PACKET_ID) ^ 1u;
        l->expect_known = true;
    }
}

static void on_data(struct kd_link *l, const struct kd_packet *pkt, struct kd_link_result *res)
{
    bool dup = is_duplicate(l, pkt->id);
    if (l->pending && !dup) {
        if (l->role == KD_LINK_TARGET) {
            /* §1.4: the peer would not send new data before getting ours;
             * ask it to send this one again once we are listening. */
            queue_ctl(l, res, KD_PACKET_TYPE_KD_RESEND, 0);
            complete_pending(l, res);
            res->event = KD_LINK_EV_CROSSED;
            return;
        }
        /* A host gets new data only after the target took our request:
         * deliver it now rather than spend a RESEND round trip. */
        complete_pending(l, res);
    }
    queue_ctl(l, res, KD_PACKET_TYPE_KD_ACKNOWLEDGE, ack_id(l, pkt->id));
    if (dup) {
        res->event = KD_LINK_EV_DUPLICATE;
        return;
    }
    accept(l, pkt->id);
    res->event = KD_LINK_EV_DATA;
}

static void on_reset(struct kd_link *l, struct kd_link_result *res)
{
    l->have_last = false;
    if (serial(l)) {
        l->next_id = first_send_id(l);
        l->expect_id = KD_INITIAL_PACKET_ID;
        l->expect_known = true;
        if (l->pending) {
            /* The header is outside the checksum: only the id changes. */
            l->sent_id = l->next_id;
            kd_put32(l->sent + 8, l->sent_id);
        }
    }
    if (!l->pending)
        l->have_sent = false; /* its id means nothing after a reset */
    if (l->role == KD_LINK_TARGET)
        queue_ctl(l, res, KD_PACKET_TYPE_KD_RESET, serial(l) ? 0 : l->next_id);
    if (l->pending)
        queue(res, l->sent, l->sent_len);
    res->event = KD_LINK_EV_RESET;
}

int kd_link_receive(struct kd_link *link, const struct kd_packet *pkt, struct kd_link_result *res)
{
    if (res)
        result_clear(res);
    if (!link || !pkt || !res)
        return KD_ERR_ARG;
    if (pkt->leader == 0) {
        if (!serial(link) && link->role == KD_LINK_HOST) {
            /* A target (re)starting: whatever we accepted before is history. */
            link->have_last = false;
            queue_ctl(link, res, KD_PACKET_TYPE_KD_RESEND, 0);
            res->event = KD_LINK_EV_CONNCHECK;
        }
        return KD_OK;
    }
    if (pkt->leader == KD_LEADER_DATA) {
        on_data(link, pkt, res);
        return KD_OK;
    }
    if (pkt->leader != KD_LEADER_CONTROL)
        return KD_OK;
    switch (pkt->type) {
    case KD_PACKET_TYPE_KD_ACKNOWLEDGE:
        if (link->pending && pkt->id == ack_id(link, link->sent_id)) {
            complete_pending(link, res);
            res->event = KD_LINK_EV_ACK;
        }
        break;
    case KD_PACKET_TYPE_KD_RESEND:
        if (link->have_sent)
            queue(res, link->sent, link->sent_len);
        res->event = KD_LINK_EV_RESEND;
        break;
    case KD_PACKET_TYPE_KD_RESET: on_reset(link, res); break;
    default: break;
    }
    return KD_OK;
}

int kd_link_send_data(struct kd_link *link, uint16_t type, const uint8_t *payload, size_t len,
                      struct kd_link_out *out)
{
    if (out) {
        out->data = NULL;
        out->len = 0;
    }
    if (!link || !out)
        return KD_ERR_ARG;
    if (link->pending)
        return KD_ERR_STATE;
    size_t used;
    int rc = kd_wire_build_data(link->sent, sizeof link->sent, type, link->next_id, payload, len,
                                serial(link), &used);
    if (rc != KD_OK) {
        /* A failed build wrote nothing, so an earlier packet is still intact. */
        return rc;
    }
    link->pending = true;
    link->have_sent = true;
    link->sent_id = link->next_id;
    link->sent_len = used;
    out->data = link->sent;
    out->len = used;
    return KD_OK;
}

int kd_link_timeout(struct kd_link *link, struct kd_link_out *out)
{
    if (out) {
        out->data = NULL;
        out->len = 0;
    }
    if (!link || !out)
        return KD_ERR_ARG;
    if (!link->pending)
        return KD_ERR_STATE;
    out->data = link->sent;
    out->len = link->sent_len;
    return KD_OK;
}

int kd_link_reset(struct kd_link *link, struct kd_link_out *out)
{
    if (out) {
        out->data = NULL;
        out->len = 0;
    }
    if (!link || !out)
        return KD_ERR_ARG;
    /* KDNET: WinDbg's RESET carried its next id (§2.8); serial uses 0. */
    build_ctl(link, KD_PACKET_TYPE_KD_RESET, serial(link) ? 0 : link->next_id);
    out->data = link->ctl;
    out->len = sizeof link->ctl;
    return KD_OK;
}

int kd_link_bad_packet(struct kd_link *link, struct kd_link_out *out)
{
    if (out) {
        out->data = NULL;
        out->len = 0;
    }
    if (!link || !out)
        return KD_ERR_ARG;
    build_ctl(link, KD_PACKET_TYPE_KD_RESEND, 0);
    out->data = link->ctl;
    out->len = sizeof link->ctl;
    return KD_OK;
}

bool kd_link_busy(const struct kd_link *link)
{
    return link && link->pending;
}

uint32_t kd_link_next_id(const struct kd_link *link)
{
    return link ? link->next_id : 0;
}

const char *kd_link_event_name(enum kd_link_event event)
{
    switch (event) {
    case KD_LINK_EV_NONE: return "NONE";
    case KD_LINK_EV_DATA: return "DATA";
    case KD_LINK_EV_DUPLICATE: return "DUPLICATE";
    case KD_LINK_EV_CROSSED: return "CROSSED";
    case KD_LINK_EV_ACK: return "ACK";
    case KD_LINK_EV_RESEND: return "RESEND";
    case KD_LINK_EV_RESET: return "RESET";
    case KD_LINK_EV_CONNCHECK: return "CONNCHECK";
    }
    return "UNKNOWN";
}
