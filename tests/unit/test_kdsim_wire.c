/* test_kdsim_wire.c: kdsim's KD target end driven byte by byte by a host
 * built from the codec (kd_link HOST, kd_framer), by WinDbg's own requests
 * taken from the shared capture, and over KDNET with a handshake. */
#include "check.h"

#include "capture_packets.h"
#include "kd_api.h"
#include "kd_framer.h"
#include "kd_le.h"
#include "kd_link.h"
#include "kd_status.h"
#include "kdnet.h"
#include "tests/kdsim/sim_wire.h"

#define RX_MAX 256

struct rx_pkt {
    uint16_t type;
    uint32_t id;
    size_t len;
    uint8_t data[KD_PACKET_MAX];
};

struct host {
    struct sim_target *t;
    struct sim_wire *w;
    struct kd_link link;
    struct kd_framer fr;
    uint64_t now;
    struct rx_pkt *rx;
    size_t nrx;
    unsigned resends, resets, dups, bad;
};

static bool contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return true;
    return false;
}

static void to_target(struct host *h, const struct kd_link_out *o, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sim_wire_input(h->w, h->now, o[i].data, o[i].len);
}

/* Delivers everything the target has due to the host's framer and link. */
static void pump(struct host *h)
{
    for (int round = 0; round < 1000; round++) {
        sim_wire_poll(h->w, h->now);
        const uint8_t *d;
        size_t len;
        if (sim_wire_next_out(h->w, h->now, &d, &len) != KD_OK)
            return;
        uint8_t copy[KD_FRAMER_BUF_SIZE * 2];
        memcpy(copy, d, len < sizeof(copy) ? len : sizeof(copy));
        size_t off = 0, used;
        struct kd_framer_event ev;
        while (kd_framer_next(&h->fr, copy + off, len - off, &used, &ev) == 1) {
            off += used;
            if (ev.kind == KD_FRAMER_ERROR)
                h->bad++;
            if (ev.kind != KD_FRAMER_PACKET)
                continue;
            struct kd_link_result res;
            kd_link_receive(&h->link, &ev.packet, &res);
            to_target(h, res.out, res.nout);
            h->resends += res.event == KD_LINK_EV_RESEND;
            h->resets += res.event == KD_LINK_EV_RESET;
            h->dups += res.event == KD_LINK_EV_DUPLICATE;
            if (res.event == KD_LINK_EV_DATA && h->nrx < RX_MAX) {
                struct rx_pkt *r = &h->rx[h->nrx++];
                r->type = ev.packet.type;
                r->id = ev.packet.id;
                r->len = ev.packet.count;
                memcpy(r->data, ev.packet.payload, r->len);
            }
        }
    }
}

static int host_new(struct host *h, const char *scenario, const struct sim_wire_config *wc)
{
    memset(h, 0, sizeof(*h));
    struct sim_target_config tc = {.scenario = {scenario, 3, 64, 2}, .strict_int3 = true};
    struct sim_wire_config def = {.tick_ms = 16};
    h->rx = calloc(RX_MAX, sizeof(*h->rx));
    if (!h->rx || sim_target_new(&tc, &h->t) != KD_OK ||
        sim_wire_new(h->t, wc ? wc : &def, &h->w) != KD_OK)
        return -1;
    kd_link_init(&h->link, KD_LINK_HOST, KD_LINK_SERIAL);
    kd_framer_init(&h->fr);
    h->now = 1000;
    return 0;
}

static void host_free(struct host *h)
{
    sim_wire_free(h->w);
    sim_target_free(h->t);
    free(h->rx);
}

/* The connect sequence of rizin/WinDbg on pipes: RESET, then a break-in. */
static const struct rx_pkt *connect_host(struct host *h)
{
    struct kd_link_out o;
    kd_link_reset(&h->link, &o);
    to_target(h, &o, 1);
    uint8_t b = KD_BREAKIN_BYTE;
    sim_wire_input(h->w, h->now, &b, 1);
    pump(h);
    return h->nrx ? &h->rx[h->nrx - 1] : NULL;
}

static int request(struct host *h, struct kd_manip *req, struct kd_manip *rep)
{
    uint8_t buf[KD_PACKET_MAX];
    size_t used, before = h->nrx;
    struct kd_link_out o;
    if (kd_api_manip_encode(req, buf, sizeof(buf), &used) != KD_OK ||
        kd_link_send_data(&h->link, KD_PACKET_TYPE_KD_STATE_MANIPULATE, buf, used, &o) != KD_OK)
        return -1;
    to_target(h, &o, 1);
    pump(h);
    if (h->nrx == before || h->rx[h->nrx - 1].type != KD_PACKET_TYPE_KD_STATE_MANIPULATE)
        return -1;
    return kd_api_manip_decode(h->rx[h->nrx - 1].data, h->rx[h->nrx - 1].len, rep);
}

static void test_connect_and_requests(void)
{
    struct host h;
    CHECK_EQ(host_new(&h, "idle", NULL), 0);
    const struct rx_pkt *sc_pkt = connect_host(&h);
    CHECK(sc_pkt != NULL);
    if (!sc_pkt)
        goto out;
    CHECK_EQ(h.resets, 1);
    CHECK_EQ(sc_pkt->type, KD_PACKET_TYPE_KD_STATE_CHANGE64);
    CHECK_EQ(sc_pkt->id, 0x80800800u); /* sync bit, as a kernel starts */
    struct kd_state_change sc;
    CHECK_EQ(kd_api_state_decode(sc_pkt->data, sc_pkt->len, &sc), KD_OK);
    CHECK_EQ(sc.u.exception.code, STATUS_BREAKPOINT);
    CHECK_EQ(sc.number_processors, 2);
    struct kd_manip req, rep;
    kd_api_manip_req_get_version(&req);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.u.version.minor, 19041);
    CHECK_EQ(rep.u.version.kern_base, 0xfffff80535a00000ull);
    kd_api_manip_req_read_virtual(&req, rep.u.version.kern_base, 2);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.return_status, STATUS_SUCCESS);
    CHECK(rep.data_len == 2 && rep.data[0] == 'M' && rep.data[1] == 'Z');
    /* Runs off the image: what was there, STATUS_UNSUCCESSFUL (KdpCopyMemoryChunks). */
    uint64_t nt_end = 0xfffff80535a00000ull + 0xb000;
    kd_api_manip_req_read_virtual(&req, nt_end - 0x10, 0x40);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.return_status, STATUS_UNSUCCESSFUL);
    CHECK_EQ(rep.u.memory.actual, rep.data_len);
    kd_api_manip_req_read_virtual(&req, 0xfffff78000000000ull, 8);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.return_status, STATUS_UNSUCCESSFUL);
    CHECK_EQ(rep.data_len, 0);
    kd_api_manip_req_read_control(&req, 0, AMD64_DEBUG_CONTROL_SPACE_KSPECIAL, 0xF0);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.data_len, 0xF0);
    CHECK_EQ(kd_le16(rep.data + KD_API_KSPECIAL_AMD64_IDTR_LIMIT), 0xFFF);
    kd_api_manip_req_get_context(&req, 1);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.data_len, KD_API_CONTEXT_AMD64_SIZE);
    uint64_t rip = kd_le64(rep.data + KD_API_CONTEXT_AMD64_RIP);
    CHECK_EQ(rip, sc.program_counter);
    kd_api_manip_req_get_context_ex(&req, 1, KD_API_CONTEXT_AMD64_RIP, 8);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.u.context_ex.copied, 8);
    CHECK_EQ(kd_le64(rep.data), rip);
    kd_api_manip_req_write_breakpoint(&req, rip + 0x10);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.return_status, STATUS_SUCCESS);
    uint32_t handle = rep.u.write_bp.handle;
    kd_api_manip_req_restore_breakpoint(&req, handle);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.return_status, STATUS_SUCCESS);
    kd_api_manip_req_restore_breakpoint(&req, handle);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.return_status, STATUS_UNSUCCESSFUL);
    kd_api_manip_init(&req, DbgKdCheckLowMemoryApi, 0); /* not served */
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.return_status, STATUS_UNSUCCESSFUL);
    /* Continue from the hard-coded int3 as WinDbg does: SetContext(Rip + 1). */
    kd_api_manip_req_get_context(&req, 1);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    uint8_t ctx[KD_API_CONTEXT_AMD64_SIZE];
    memcpy(ctx, rep.data, sizeof(ctx));
    kd_put64(ctx + KD_API_CONTEXT_AMD64_RIP, rip + 1);
    CHECK_EQ(kd_api_manip_req_set_context(&req, 1, ctx, sizeof(ctx)), KD_OK);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.return_status, STATUS_SUCCESS);
    struct kd_control_set_amd64 set = {0, 0x400, 1, 0};
    kd_api_manip_req_continue2(&req, DBG_CONTINUE, &set);
    size_t before = h.nrx;
    CHECK(request(&h, &req, &rep) != KD_OK); /* no reply to a continue */
    CHECK_EQ(h.nrx, before);
    CHECK(!sim_wire_stopped(h.w));
    /* Time passes, nothing is said; a break-in stops it again. */
    h.now += 16 * 20;
    pump(&h);
    CHECK_EQ(h.nrx, before);
    CHECK_EQ(sim_scenario_tick(sim_target_scenario(h.t)), 21);
    uint8_t b = KD_BREAKIN_BYTE;
    sim_wire_input(h.w, h.now, &b, 1);
    pump(&h);
    CHECK_EQ(h.nrx, before + 1);
    CHECK_EQ(h.rx[h.nrx - 1].type, KD_PACKET_TYPE_KD_STATE_CHANGE64);
out:
    host_free(&h);
}

static void test_bad_packet_gets_resend(void)
{
    struct host h;
    CHECK_EQ(host_new(&h, "idle", NULL), 0);
    CHECK(connect_host(&h) != NULL);
    struct kd_manip req;
    kd_api_manip_req_get_version(&req);
    uint8_t payload[KD_API_MANIP_SIZE], pkt[KD_LINK_PACKET_MAX];
    size_t used, plen;
    kd_api_manip_encode(&req, payload, sizeof(payload), &plen);
    kd_wire_build_data(pkt, sizeof(pkt), KD_PACKET_TYPE_KD_STATE_MANIPULATE, 0x80800000u, payload,
                       plen, true, &used);
    pkt[KD_HEADER_SIZE + 4] ^= 0xFF; /* checksum no longer matches */
    sim_wire_input(h.w, h.now, pkt, used);
    /* The target answers RESEND (id 0): our link sees it as "send again". */
    sim_wire_poll(h.w, h.now);
    const uint8_t *d;
    size_t len;
    CHECK_EQ(sim_wire_next_out(h.w, h.now, &d, &len), KD_OK);
    CHECK_EQ(len, KD_HEADER_SIZE);
    CHECK_EQ(kd_le16(d + 4), KD_PACKET_TYPE_KD_RESEND);
    struct sim_wire_stats st;
    sim_wire_stats(h.w, &st);
    CHECK_EQ(st.bad_in, 1);
    host_free(&h);
}

static void test_crash_over_the_wire(void)
{
    struct host h;
    CHECK_EQ(host_new(&h, "doublefault-recursion", NULL), 0);
    const struct rx_pkt *p = connect_host(&h);
    CHECK(p != NULL);
    struct kd_state_change sc;
    kd_api_state_decode(p->data, p->len, &sc);
    struct kd_manip req, rep;
    kd_api_manip_req_get_context_ex(&req, sc.processor, KD_API_CONTEXT_AMD64_RIP, 8);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    uint8_t rip[8];
    kd_put64(rip, kd_le64(rep.data) + 1);
    /* SetContextEx: only RIP. */
    kd_api_manip_init(&req, DbgKdSetContextExApi, sc.processor);
    req.u.context_ex.offset = KD_API_CONTEXT_AMD64_RIP;
    req.u.context_ex.count = 8;
    req.data = rip;
    req.data_len = 8;
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(rep.return_status, STATUS_SUCCESS);
    kd_api_manip_req_continue(&req, DBG_CONTINUE);
    size_t before = h.nrx;
    request(&h, &req, &rep);
    for (int i = 0; i < 200 && h.nrx < before + 2; i++) {
        h.now += 16;
        pump(&h);
    }
    /* The kernel prints the fatal error, then breaks. */
    CHECK_EQ(h.nrx, before + 2);
    CHECK_EQ(h.rx[before].type, KD_PACKET_TYPE_KD_DEBUG_IO);
    struct kd_debug_io io;
    CHECK_EQ(kd_api_io_debug_decode(h.rx[before].data, h.rx[before].len, &io), KD_OK);
    CHECK(io.text_len > 40 && contains(io.data, io.text_len, "Fatal System Error: 0x0000007f"));
    CHECK_EQ(h.rx[before + 1].type, KD_PACKET_TYPE_KD_STATE_CHANGE64);
    kd_api_state_decode(h.rx[before + 1].data, h.rx[before + 1].len, &sc);
    CHECK_EQ(sc.program_counter,
             sim_scenario_kernel(sim_target_scenario(h.t))->breakpoint_with_status);
    struct kd_report_amd64 r;
    kd_api_state_report_amd64(&sc, &r);
    CHECK_EQ(r.instruction_stream[0], 0xCC);
    CHECK_EQ(r.instruction_stream[1], 0xC3); /* int3; ret */
    host_free(&h);
}

/* WinDbg's requests from windbg-uncut.pcapng (garbage fields and all), as a
 * stopped kdsim answers them: one reply each, same API number. */
static void test_windbg_requests_from_capture(void)
{
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/captures/windbg-uncut.pcapng", check_shared_dir());
    struct capture_packets *cp = NULL;
    CHECK_EQ(capture_packets_open(path, "8.8.8.8", &cp, err), KD_OK);
    if (!cp)
        return;
    struct host h;
    CHECK_EQ(host_new(&h, "idle", NULL), 0);
    CHECK(connect_host(&h) != NULL);
    struct capture_packet p;
    unsigned asked = 0, answered = 0, restore = 0, restore_fail = 0;
    while (capture_packets_next(cp, &p) == 1) {
        if (!p.host_to_target || p.breakin || p.pkt.type != KD_PACKET_TYPE_KD_STATE_MANIPULATE)
            continue;
        struct kd_manip req, rep;
        if (kd_api_manip_decode(p.pkt.payload, p.pkt.count, &req) != KD_OK)
            continue;
        if (req.api == DbgKdContinueApi || req.api == DbgKdContinueApi2 ||
            req.api == DbgKdRebootApi)
            continue; /* the session's end; kdsim stays stopped for the next request */
        asked++;
        if (request(&h, &req, &rep) == KD_OK && rep.api == req.api)
            answered++;
        if (req.api == DbgKdRestoreBreakPointApi) {
            restore++;
            restore_fail += rep.return_status == STATUS_UNSUCCESSFUL;
        }
        if (req.api == DbgKdGetVersionApi)
            CHECK_EQ(rep.u.version.minor, 19041);
        if (req.api == DbgKdReadControlSpaceApi)
            CHECK_EQ(rep.data_len, req.u.memory.count < 0xF0 ? req.u.memory.count : 0xF0);
    }
    CHECK(asked > 80);
    CHECK_EQ(answered, asked);
    CHECK_EQ(restore, 32);
    CHECK_EQ(restore_fail, 32); /* the 1..32 sweep: nothing of WinDbg's in memory */
    capture_packets_free(cp);
    host_free(&h);
}

static void test_impairments(void)
{
    struct sim_wire_config drop = {.tick_ms = 16, .drop = 1.0};
    struct host h;
    CHECK_EQ(host_new(&h, "idle", &drop), 0);
    CHECK(connect_host(&h) == NULL); /* everything lost */
    struct sim_wire_stats st;
    sim_wire_stats(h.w, &st);
    CHECK(st.dropped >= 2);
    host_free(&h);
    struct sim_wire_config dup = {.tick_ms = 16, .dup = 1.0, .delay_ms = 50};
    CHECK_EQ(host_new(&h, "idle", &dup), 0);
    CHECK(connect_host(&h) == NULL); /* delayed */
    h.now += 50;
    pump(&h);
    CHECK_EQ(h.nrx, 1);
    CHECK(h.dups >= 1); /* the second copy is a duplicate to the host */
    host_free(&h);
    struct sim_wire_config bad = {.tick_ms = 16, .corrupt = 1.0, .seed = 7};
    CHECK_EQ(host_new(&h, "idle", &bad), 0);
    connect_host(&h);
    CHECK(h.bad >= 1 || h.nrx == 0);
    host_free(&h);
}

/* reset_after: the target restarts its link ids as KDCOM does after losing
 * its debugger; the host's next request looks like a duplicate to it until
 * the host resynchronises with RESET. */
static void test_link_restart(void)
{
    struct sim_wire_config rc = {.tick_ms = 16, .reset_after = 2};
    struct host h;
    CHECK_EQ(host_new(&h, "idle", &rc), 0);
    CHECK(connect_host(&h) != NULL); /* data packet 1 */
    struct kd_manip req, rep;
    kd_api_manip_req_get_version(&req);
    CHECK_EQ(request(&h, &req, &rep), KD_OK); /* data packet 2: the link restarts after it */
    kd_api_manip_req_read_virtual(&req, 0xfffff80535a00000ull, 2);
    CHECK(request(&h, &req, &rep) != KD_OK); /* dropped as a duplicate, but ACKed */
    struct kd_link_out o;
    kd_link_reset(&h.link, &o);
    to_target(&h, &o, 1);
    pump(&h);
    /* stopped when reset: the target sends its state change again, with the
     * restarted link's first id (sync bit), as kdcom's KdpSendWaitContinue does */
    CHECK(h.nrx >= 1);
    CHECK_EQ(h.rx[h.nrx - 1].type, KD_PACKET_TYPE_KD_STATE_CHANGE64);
    CHECK_EQ(h.rx[h.nrx - 1].id, 0x80800800u);
    CHECK_EQ(request(&h, &req, &rep), KD_OK);
    CHECK_EQ(h.rx[h.nrx - 1].id, 0x80800001u);
    CHECK(rep.data_len == 2 && rep.data[0] == 'M');
    host_free(&h);
}

static void test_kdnet_handshake(void)
{
    struct sim_wire_config wc = {.kdnet = true,
                                 .kdnet_key = "1.2.3.4",
                                 .host_ip = {127, 0, 0, 1},
                                 .host_port = 50000,
                                 .target_ip = {127, 0, 0, 1},
                                 .target_port = 50001,
                                 .tick_ms = 16,
                                 .seed = 5};
    struct host h;
    CHECK_EQ(host_new(&h, "idle", &wc), 0);
    uint8_t ck[32], plain[KDNET_MAX_UDP], body[KDNET_RESPONSE_BODY], dgram[1024];
    struct kdnet_keys ctl, data;
    kdnet_key_parse("1.2.3.4", ck, NULL, NULL);
    kdnet_keys_control(ck, &ctl);
    sim_wire_poll(h.w, h.now);
    const uint8_t *d;
    size_t len, used;
    CHECK_EQ(sim_wire_next_out(h.w, h.now, &d, &len), KD_OK);
    struct kdnet_datagram dg;
    struct kdnet_poke poke;
    CHECK_EQ(kdnet_open(&ctl, d, len, plain, sizeof(plain), &dg), KD_OK);
    CHECK_EQ(dg.channel, KDNET_CHANNEL_CONTROL);
    CHECK_EQ(kdnet_poke_parse(dg.body, dg.body_len, &poke), KD_OK);
    CHECK_EQ(poke.host_port, 50000);
    struct kdnet_response resp = {{0}, {0}};
    memcpy(resp.target_nonce, poke.nonce, 32);
    memset(resp.host_nonce, 0x5A, 32);
    kdnet_response_build(&resp, body);
    CHECK_EQ(kdnet_seal(&ctl, dg.version, KDNET_CHANNEL_CONTROL, dg.seq, true, body, sizeof(body),
                        dgram, sizeof(dgram), &used),
             KD_OK);
    sim_wire_input(h.w, h.now, dgram, used);
    kdnet_keys_data(ck, body, &data);
    /* First data datagram: the connection check with our IPv4. */
    CHECK_EQ(sim_wire_next_out(h.w, h.now, &d, &len), KD_OK);
    CHECK_EQ(kdnet_open(&data, d, len, plain, sizeof(plain), &dg), KD_OK);
    CHECK_EQ(dg.seq, 1);
    CHECK_EQ(dg.body_len, KD_CONNCHECK_SIZE);
    CHECK_EQ(kd_le32(dg.body), 0);
    CHECK_EQ(kd_le32(dg.body + 8), 0x0100007Fu);
    /* Break-in datagram: the state change comes back sealed, KDNET ids. */
    uint8_t b = KD_BREAKIN_BYTE;
    CHECK_EQ(kdnet_seal(&data, dg.version, KDNET_CHANNEL_DATA, 1, true, &b, 1, dgram, sizeof(dgram),
                        &used),
             KD_OK);
    sim_wire_input(h.w, h.now, dgram, used);
    CHECK_EQ(sim_wire_next_out(h.w, h.now, &d, &len), KD_OK);
    CHECK_EQ(kdnet_open(&data, d, len, plain, sizeof(plain), &dg), KD_OK);
    struct kd_packet pkt;
    CHECK_EQ(kd_wire_parse(dg.body, dg.body_len, false, &pkt, &used), KD_OK);
    CHECK_EQ(pkt.type, KD_PACKET_TYPE_KD_STATE_CHANGE64);
    CHECK_EQ(pkt.id, 0);
    /* A replayed datagram is ignored. */
    CHECK_EQ(kdnet_seal(&data, dg.version, KDNET_CHANNEL_DATA, 1, true, &b, 1, dgram, sizeof(dgram),
                        &used),
             KD_OK);
    sim_wire_input(h.w, h.now, dgram, used);
    CHECK_EQ(sim_wire_next_out(h.w, h.now, &d, &len), KD_ERR_NOTFOUND);
    host_free(&h);
}

int main(void)
{
    RUN(test_connect_and_requests);
    RUN(test_bad_packet_gets_resend);
    RUN(test_crash_over_the_wire);
    RUN(test_windbg_requests_from_capture);
    RUN(test_impairments);
    RUN(test_link_restart);
    RUN(test_kdnet_handshake);
    return check_summary("test_kdsim_wire");
}
