/* sim_wire.c: kdsim's KD target end: framing, link, KDNET, timers and
 * impairments (sim_wire.h); manipulate answers are in sim_wire_manip.c. */
#include "sim_wire_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"
#include "sim_world.h"

#define ACK_TIMEOUT_MS 1000
#define POKE_MS 3000       /* KDNET: a target pokes every ~3 s while idle [CAP] */
#define KDNET_VERSION 0x05 /* the Windows 10 target's protocol byte (midsession capture) */
#define TICKS_PER_POLL 64  /* catch-up bound after a long pause */
#define START_FALLBACK_MS 2000

void sim_wire_log(struct sim_wire *w, const char *fmt, ...)
{
    if (!w->cfg.log)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    w->cfg.log(w->cfg.user, line);
}

static double chance(struct sim_wire *w)
{
    return (double)(sim_world_rand(&w->rng) >> 11) / (double)(1ull << 53);
}

static int push_unit(struct sim_wire *w, const uint8_t *data, size_t len, uint64_t due)
{
    if (w->ucount == SIM_WIRE_UNITS)
        return KD_ERR_NOSPACE;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return KD_ERR_NOMEM;
    memcpy(copy, data, len);
    w->units[(w->uhead + w->ucount++) % SIM_WIRE_UNITS] = (struct sim_wire_unit){copy, len, due};
    return KD_OK;
}

/* One packet (or datagram) onto the line, through the impairments. */
static int emit(struct sim_wire *w, uint64_t now, const uint8_t *data, size_t len)
{
    w->stats.packets_out++;
    if (w->cfg.drop > 0 && chance(w) < w->cfg.drop) {
        w->stats.dropped++;
        return KD_OK;
    }
    uint8_t tmp[KDNET_MAX_DATAGRAM + 64];
    if (len > sizeof(tmp))
        return KD_ERR_LENGTH;
    memcpy(tmp, data, len);
    if (w->cfg.corrupt > 0 && len && chance(w) < w->cfg.corrupt) {
        tmp[sim_world_rand(&w->rng) % len] ^= (uint8_t)(1u << (sim_world_rand(&w->rng) % 8));
        w->stats.corrupted++;
    }
    uint64_t due = now + w->cfg.delay_ms;
    if (w->cfg.baud) {
        due = due > w->line_free ? due : w->line_free;
        w->line_free = due + (uint64_t)len * 10000 / w->cfg.baud;
    }
    int st = push_unit(w, tmp, len, due);
    if (st == KD_OK && w->cfg.dup > 0 && chance(w) < w->cfg.dup) {
        w->stats.duplicated++;
        st = push_unit(w, tmp, len, due);
    }
    return st;
}

/* A KD packet from the link: serial bytes as they are, KDNET sealed. */
static int emit_packet(struct sim_wire *w, uint64_t now, const uint8_t *pkt, size_t len)
{
    if (!w->cfg.kdnet)
        return emit(w, now, pkt, len);
    if (!w->keyed)
        return KD_OK; /* nobody to talk to yet */
    size_t used;
    int st = kdnet_seal(&w->data, KDNET_VERSION, KDNET_CHANNEL_DATA, ++w->tx_seq, false, pkt, len,
                        w->dgram, sizeof(w->dgram), &used);
    return st == KD_OK ? emit(w, now, w->dgram, used) : st;
}

static int emit_link(struct sim_wire *w, uint64_t now, const struct kd_link_out *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int st = emit_packet(w, now, o[i].data, o[i].len);
        if (st != KD_OK)
            return st;
    }
    return KD_OK;
}

/* Hands the next queued data packet to the link when nothing is in flight. */
static int pump(struct sim_wire *w, uint64_t now)
{
    if (kd_link_busy(&w->link))
        return KD_OK;
    if (w->relink) {
        /* As KDCOM after losing the debugger: ids back to the start, sync bit set. */
        w->relink = false;
        kd_link_init(&w->link, KD_LINK_TARGET, w->cfg.kdnet ? KD_LINK_KDNET : KD_LINK_SERIAL);
        sim_wire_log(w, "link restarted (--reset-after)");
    }
    if (!w->qcount)
        return KD_OK;
    const struct sim_wire_pkt *p = &w->q[w->qhead];
    struct kd_link_out o;
    int st = kd_link_send_data(&w->link, p->type, p->data, p->len, &o);
    w->qhead = (w->qhead + 1) % SIM_WIRE_QUEUE;
    w->qcount--;
    if (st != KD_OK)
        return st;
    w->ack_due = now + ACK_TIMEOUT_MS;
    if ((st = emit_link(w, now, &o, 1)) != KD_OK)
        return st;
    if (w->cfg.reset_after && ++w->data_sent == w->cfg.reset_after)
        w->relink = true; /* after this packet's ACK */
    return st;
}

int sim_wire_queue_data(struct sim_wire *w, uint64_t now, uint16_t type, const uint8_t *payload,
                        size_t len)
{
    if (w->qcount == SIM_WIRE_QUEUE || len > KD_PACKET_MAX)
        return KD_ERR_NOSPACE;
    struct sim_wire_pkt *p = &w->q[(w->qhead + w->qcount++) % SIM_WIRE_QUEUE];
    p->type = type;
    p->len = len;
    memcpy(p->data, payload, len);
    return pump(w, now);
}

int sim_wire_report(struct sim_wire *w, uint64_t now, const struct kd_state_change *sc)
{
    w->running = false;
    char text[1024];
    size_t n = sim_target_take_print(w->t, text, sizeof(text));
    int st = KD_OK;
    if (n) {
        struct kd_debug_io d;
        size_t used;
        w->stats.prints++;
        if ((st = kd_api_io_print_string(&d, sc->processor, text, (uint32_t)n)) == KD_OK &&
            (st = kd_api_io_debug_encode(&d, w->tx, sizeof(w->tx), &used)) == KD_OK)
            st = sim_wire_queue_data(w, now, KD_PACKET_TYPE_KD_DEBUG_IO, w->tx, used);
    }
    size_t used;
    if (st == KD_OK && (st = kd_api_state_encode(sc, w->tx, sizeof(w->tx), &used)) == KD_OK) {
        memcpy(w->last_sc, w->tx, used);
        w->last_sc_len = used;
        st = sim_wire_queue_data(w, now, KD_PACKET_TYPE_KD_STATE_CHANGE64, w->tx, used);
    }
    w->stats.state_changes++;
    sim_wire_log(w, "stopped: cpu %u pc 0x%llx (exception 0x%08x)", sc->processor,
                 (unsigned long long)sc->program_counter, sc->u.exception.code);
    return st;
}

/* The scenario clock starts at the debugger's first break-in, so a scenario
 * unfolds the same way whatever the host does before it; a host that never
 * breaks in still sees it run START_FALLBACK_MS after its first word. */
static void start_clock(struct sim_wire *w, uint64_t now)
{
    if (!w->started) {
        w->started = true;
        w->next_tick = now + w->cfg.tick_ms;
    }
}

static void heard(struct sim_wire *w, uint64_t now)
{
    if (!w->start_due)
        w->start_due = now + START_FALLBACK_MS;
}

static int break_in(struct sim_wire *w, uint64_t now)
{
    w->stats.breakins++;
    start_clock(w, now);
    if (!w->running)
        return KD_OK; /* already stopped: the kernel is in the debugger */
    struct kd_state_change sc;
    w->kt.ops->break_in(w->kt.ctx);
    if (w->kt.ops->wait_event(w->kt.ctx, 0, &sc) != KD_OK)
        return KD_OK; /* a dead machine does not answer */
    return sim_wire_report(w, now, &sc);
}

static int deliver(struct sim_wire *w, uint64_t now, const struct kd_packet *pkt)
{
    struct kd_link_result res;
    bool had_pending = kd_link_busy(&w->link);
    int st = kd_link_receive(&w->link, pkt, &res);
    if (st != KD_OK)
        return st;
    if ((st = emit_link(w, now, res.out, res.nout)) != KD_OK)
        return st;
    if (res.event == KD_LINK_EV_RESET) {
        sim_wire_log(w, "link reset by the host");
        /* stopped, nothing in flight: the kernel in KdpSendWaitContinue sends
         * its state change again, which is how a debugger resynchronises */
        if (!w->running && !had_pending && w->qcount == 0 && w->last_sc_len)
            st = sim_wire_queue_data(w, now, KD_PACKET_TYPE_KD_STATE_CHANGE64, w->last_sc,
                                     w->last_sc_len);
        if (st != KD_OK)
            return st;
    }
    if (!kd_link_busy(&w->link))
        w->ack_due = 0;
    if (res.event == KD_LINK_EV_DATA && pkt->type == KD_PACKET_TYPE_KD_STATE_MANIPULATE) {
        if (!w->running)
            st = sim_wire_manip_handle(w, now, pkt->payload, pkt->count);
    }
    return st == KD_OK ? pump(w, now) : st;
}

static int serial_input(struct sim_wire *w, uint64_t now, const uint8_t *buf, size_t len)
{
    size_t off = 0, used;
    struct kd_framer_event ev;
    int r;
    while ((r = kd_framer_next(&w->framer, buf + off, len - off, &used, &ev)) == 1) {
        off += used;
        int st = KD_OK;
        struct kd_link_out o;
        switch (ev.kind) {
        case KD_FRAMER_PACKET:
            w->stats.packets_in++;
            st = deliver(w, now, &ev.packet);
            break;
        case KD_FRAMER_BREAKIN: st = break_in(w, now); break;
        case KD_FRAMER_ERROR:
            w->stats.bad_in++;
            w->stats.resends_sent++;
            if (kd_link_bad_packet(&w->link, &o) == KD_OK)
                st = emit_link(w, now, &o, 1);
            break;
        case KD_FRAMER_GARBAGE: break;
        }
        if (st != KD_OK)
            return st;
    }
    return r < 0 ? r : KD_OK;
}

static int send_poke(struct sim_wire *w, uint64_t now)
{
    struct kdnet_poke p = {.target_port = w->cfg.target_port,
                           .host_port = w->cfg.host_port,
                           .third_port = w->cfg.host_port};
    for (int i = 0; i < 32; i += 8)
        kd_put64(w->nonce + i, sim_world_rand(&w->rng));
    memcpy(p.nonce, w->nonce, 32);
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    memcpy(p.target_ip, mapped, 12);
    memcpy(p.target_ip + 12, w->cfg.target_ip, 4);
    memcpy(p.host_ip, mapped, 12);
    memcpy(p.host_ip + 12, w->cfg.host_ip, 4);
    memcpy(p.third_ip, p.host_ip, 16);
    uint8_t body[KDNET_POKE_BODY];
    size_t used;
    int st = kdnet_poke_build(&p, body);
    w->ctl_seq += 3; /* seconds of uptime, as the capture's pokes count */
    if (st == KD_OK)
        st = kdnet_seal(&w->ctl, KDNET_VERSION, KDNET_CHANNEL_CONTROL, w->ctl_seq, false, body,
                        sizeof(body), w->dgram, sizeof(w->dgram), &used);
    w->poke_due = now + POKE_MS;
    return st == KD_OK ? emit(w, now, w->dgram, used) : st;
}

static int kdnet_control(struct sim_wire *w, uint64_t now, const struct kdnet_datagram *dg)
{
    struct kdnet_response r;
    if (!dg->host_to_target || kdnet_response_parse(dg->body, dg->body_len, &r) != KD_OK ||
        memcmp(r.target_nonce, w->nonce, 32) != 0)
        return KD_OK; /* not an answer to our last poke */
    int st = kdnet_keys_data(w->control_key, dg->body, &w->data);
    if (st != KD_OK)
        return st;
    w->keyed = true;
    w->tx_seq = w->rx_seq = 0;
    w->stats.handshakes++;
    sim_wire_log(w, "KDNET handshake done: data key set");
    /* First data datagram: the connection check carrying the host's IPv4 (§2.7). */
    uint8_t cc[KD_CONNCHECK_SIZE];
    size_t used;
    if ((st = kd_wire_build_conncheck(cc, sizeof(cc), kd_le32(w->cfg.host_ip), &used)) != KD_OK)
        return st;
    return emit_packet(w, now, cc, used);
}

static int kdnet_input(struct sim_wire *w, uint64_t now, const uint8_t *buf, size_t len)
{
    uint8_t channel;
    struct kdnet_datagram dg;
    if (kdnet_peek(buf, len, NULL, &channel) != KD_OK) {
        w->stats.bad_in++;
        return KD_OK;
    }
    const struct kdnet_keys *keys = channel == KDNET_CHANNEL_CONTROL ? &w->ctl : &w->data;
    if ((channel == KDNET_CHANNEL_DATA && !w->keyed) ||
        kdnet_open(keys, buf, len, w->plain, sizeof(w->plain), &dg) != KD_OK) {
        w->stats.bad_in++;
        return KD_OK;
    }
    if (channel == KDNET_CHANNEL_CONTROL)
        return kdnet_control(w, now, &dg);
    if (!dg.host_to_target || dg.seq <= w->rx_seq)
        return KD_OK; /* our own direction, or a replay */
    w->rx_seq = dg.seq;
    w->poke_due = now + POKE_MS;
    heard(w, now);
    if (dg.body_len == 1 && dg.body[0] == KD_BREAKIN_BYTE)
        return break_in(w, now);
    struct kd_packet pkt;
    size_t used;
    if (kd_wire_parse(dg.body, dg.body_len, false, &pkt, &used) != KD_OK) {
        struct kd_link_out o;
        w->stats.bad_in++;
        return kd_link_bad_packet(&w->link, &o) == KD_OK ? emit_link(w, now, &o, 1) : KD_OK;
    }
    w->stats.packets_in++;
    return deliver(w, now, &pkt);
}

int sim_wire_input(struct sim_wire *w, uint64_t now_ms, const uint8_t *buf, size_t len)
{
    if (!w || (!buf && len))
        return KD_ERR_ARG;
    if (!w->cfg.kdnet && len)
        heard(w, now_ms);
    return w->cfg.kdnet ? kdnet_input(w, now_ms, buf, len) : serial_input(w, now_ms, buf, len);
}

int sim_wire_poll(struct sim_wire *w, uint64_t now)
{
    int st = KD_OK;
    if (w->cfg.kdnet && now >= w->poke_due && (!w->keyed || !kd_link_busy(&w->link)))
        st = send_poke(w, now); /* handshake, or keep-alive while idle */
    if (st == KD_OK && w->ack_due && now >= w->ack_due && kd_link_busy(&w->link)) {
        struct kd_link_out o;
        w->ack_due = now + ACK_TIMEOUT_MS;
        if (kd_link_timeout(&w->link, &o) == KD_OK)
            st = emit_link(w, now, &o, 1);
    }
    if (w->start_due && now >= w->start_due)
        start_clock(w, now);
    for (int i = 0;
         st == KD_OK && i < TICKS_PER_POLL && w->running && w->started && now >= w->next_tick;
         i++) {
        struct kd_state_change sc;
        w->next_tick += w->cfg.tick_ms;
        /* One tick's worth of virtual time (sim_target's ms_per_tick = tick_ms). */
        if (w->kt.ops->wait_event(w->kt.ctx, (int)w->cfg.tick_ms, &sc) == KD_OK)
            st = sim_wire_report(w, now, &sc);
    }
    if (w->running && now >= w->next_tick + 10 * w->cfg.tick_ms)
        w->next_tick = now; /* do not chase a long pause */
    return st;
}

int sim_wire_next_out(struct sim_wire *w, uint64_t now_ms, const uint8_t **data, size_t *len)
{
    free(w->last_out);
    w->last_out = NULL;
    if (!w->ucount || w->units[w->uhead].due > now_ms)
        return KD_ERR_NOTFOUND;
    struct sim_wire_unit *u = &w->units[w->uhead];
    w->uhead = (w->uhead + 1) % SIM_WIRE_UNITS;
    w->ucount--;
    w->last_out = u->data;
    *data = u->data;
    *len = u->len;
    return KD_OK;
}

uint64_t sim_wire_next_due(const struct sim_wire *w)
{
    uint64_t due = UINT64_MAX;
    if (w->ucount)
        due = w->units[w->uhead].due;
    if (w->running && w->started && w->next_tick < due)
        due = w->next_tick;
    if (w->ack_due && w->ack_due < due)
        due = w->ack_due;
    if (w->cfg.kdnet && w->poke_due < due)
        due = w->poke_due;
    if (!w->started && w->start_due && w->start_due < due)
        due = w->start_due;
    return due;
}

static void flush_units(struct sim_wire *w)
{
    while (w->ucount) {
        free(w->units[w->uhead].data);
        w->uhead = (w->uhead + 1) % SIM_WIRE_UNITS;
        w->ucount--;
    }
}

/* The pending packet stays with the link: the next host's RESET gets it again. */
void sim_wire_disconnected(struct sim_wire *w)
{
    kd_framer_init(&w->framer);
    flush_units(w);
    sim_wire_log(w, "host disconnected");
}

bool sim_wire_stopped(const struct sim_wire *w)
{
    return w && !w->running;
}

void sim_wire_stats(const struct sim_wire *w, struct sim_wire_stats *out)
{
    if (w && out)
        *out = w->stats;
}

int sim_wire_new(struct sim_target *t, const struct sim_wire_config *cfg, struct sim_wire **out)
{
    if (!t || !cfg || !out)
        return KD_ERR_ARG;
    *out = NULL;
    struct sim_wire *w = calloc(1, sizeof(*w));
    if (!w)
        return KD_ERR_NOMEM;
    int st = KD_ERR_NOMEM;
    w->q = calloc(SIM_WIRE_QUEUE, sizeof(*w->q));
    if (!w->q)
        goto fail;
    w->cfg = *cfg;
    if (!w->cfg.tick_ms)
        w->cfg.tick_ms = 16;
    w->t = t;
    w->kt = sim_target_target(t);
    w->rng = cfg->seed ^ 0x6b647369ull; /* its own stream, apart from the scenario's */
    w->running = !sim_target_stopped(t);
    kd_framer_init(&w->framer);
    st = kd_link_init(&w->link, KD_LINK_TARGET, cfg->kdnet ? KD_LINK_KDNET : KD_LINK_SERIAL);
    if (st == KD_OK && cfg->kdnet) {
        st = kdnet_key_parse(cfg->kdnet_key, w->control_key, NULL, NULL);
        kdnet_keys_control(w->control_key, &w->ctl);
    }
    if (st != KD_OK)
        goto fail;
    *out = w;
    return KD_OK;
fail:
    sim_wire_free(w);
    return st;
}

void sim_wire_free(struct sim_wire *w)
{
    if (!w)
        return;
    flush_units(w);
    free(w->last_out);
    free(w->q);
    /* Key material never outlives the wire. */
    memset(w->control_key, 0, sizeof(w->control_key));
    memset(&w->ctl, 0, sizeof(w->ctl));
    memset(&w->data, 0, sizeof(w->data));
    free(w);
}
