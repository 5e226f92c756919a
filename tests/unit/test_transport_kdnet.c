/* test_transport_kdnet.c: the KDNET host transport against a fake target on
 * loopback (its own port): handshake, one KD packet each way, HMAC
 * failures and replays dropped and counted, keep-alive pokes ignored,
 * re-keying only when the target has clearly restarted. */
#define _GNU_SOURCE /* memmem */
#include "check.h"
#include "transport_testutil.h"

#define KEY "k3yw4tch.s3cr3t.9z.x1"

static struct transport *open_host(char err[TRANSPORT_ERR_SIZE])
{
    struct transport *t = NULL;
    int rc = transport_open("kdnet:port=0,key=" KEY ",bind=127.0.0.1", &t, err);
    CHECK_EQ(rc, KD_OK);
    if (rc < 0)
        fprintf(stderr, "    %s\n", err);
    return t;
}

/* The host reads one packet the target sent. */
static int host_take(struct transport *t, uint8_t *buf, size_t cap, size_t *got)
{
    if (!tu_wait_fd(transport_fd(t), TU_WAIT_MS))
        return KD_ERR_TIMEOUT;
    return transport_read(t, buf, cap, TU_WAIT_MS, got);
}

static void test_handshake_and_packets(void)
{
    char err[TRANSPORT_ERR_SIZE], desc[200], want[200];
    struct tu_target tt;
    uint8_t pkt[256], payload[0x38], buf[TRANSPORT_MESSAGE_MAX];
    size_t got, n;
    uint64_t seq;
    struct transport *t = open_host(err);
    if (!t)
        return;
    int port = transport_local_port(t);
    CHECK(port > 0);
    CHECK_EQ(transport_kind(t), TRANSPORT_MESSAGES);
    transport_describe(t, desc, sizeof desc);
    snprintf(want, sizeof want, "kdnet udp 127.0.0.1:%d (waiting for the target's poke)", port);
    CHECK_STR(desc, want);
    CHECK(memmem(desc, strlen(desc), "s3cr3t", 6) == NULL);
    CHECK_EQ(transport_write(t, (const uint8_t *)"b", 1, 0), KD_ERR_NOKEY);
    CHECK_STR(transport_error(t), "kdnet: no target has connected yet (waiting for its poke)");
    CHECK_EQ(tu_target_init(&tt, KEY, (uint16_t)port), KD_OK);
    CHECK(tt.port != port);

    CHECK_EQ(tu_target_handshake(&tt, t), KD_OK);
    transport_describe(t, desc, sizeof desc);
    snprintf(want, sizeof want, "kdnet udp 127.0.0.1:%d (target 127.0.0.1:%u, data key set)", port,
             tt.port);
    CHECK_STR(desc, want);
    CHECK(memmem(desc, strlen(desc), "s3cr3t", 6) == NULL);

    /* target -> host: the connection check, then a state-change-like packet */
    static const uint8_t conncheck[12] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x7f};
    CHECK_EQ(tu_target_send(&tt, conncheck, sizeof conncheck), KD_OK);
    CHECK_EQ(host_take(t, buf, sizeof buf, &got), KD_OK);
    CHECK_EQ(got, sizeof conncheck);
    CHECK_BYTES(buf, conncheck, sizeof conncheck);
    struct transport_rx_info rx;
    transport_last_rx(t, &rx);
    CHECK_EQ(rx.dir, TRANSPORT_TARGET_TO_HOST);
    CHECK_EQ(rx.src.port, tt.port);
    CHECK_EQ(rx.dst.port, port);
    CHECK_EQ(rx.src.ip_version, 4);
    CHECK_EQ(rx.dst.ip[0], 127);

    n = tu_kd_packet(pkt, 7, 0x80800800u, (const uint8_t *)"state change!", 13, false);
    CHECK_EQ(tu_target_send(&tt, pkt, n), KD_OK);
    CHECK_EQ(host_take(t, buf, sizeof buf, &got), KD_OK);
    CHECK_EQ(got, n);
    CHECK_BYTES(buf, pkt, n);

    /* host -> target: one packet per datagram, host sequence from 1 */
    n = tu_kd_packet(pkt, 2, 0x80000000u, payload,
                     tu_read_memory_request(payload, 0xfffff80000001000ull, 0x38), false);
    CHECK_EQ(transport_write(t, pkt, n, TU_WAIT_MS), KD_OK);
    CHECK_EQ(tu_target_recv(&tt, &tt.data, buf, sizeof buf, &got, &seq), KD_OK);
    CHECK_EQ(got, n);
    CHECK_BYTES(buf, pkt, n);
    CHECK_EQ(seq, 1);
    CHECK_EQ(transport_write(t, (const uint8_t *)"b", 1, TU_WAIT_MS), KD_OK); /* break-in */
    CHECK_EQ(tu_target_recv(&tt, &tt.data, buf, sizeof buf, &got, &seq), KD_OK);
    CHECK_EQ(got, 1);
    CHECK_EQ(buf[0], 'b');
    CHECK_EQ(seq, 2);

    struct transport_stats st;
    transport_stats(t, &st);
    CHECK_EQ(st.handshakes, 1);
    CHECK_EQ(st.datagrams_in, 3);  /* poke, two data */
    CHECK_EQ(st.datagrams_out, 3); /* response, two data */
    CHECK_EQ(st.auth_failures, 0);
    CHECK(st.bytes_in > 374 && st.bytes_out > 358);
    tu_target_fini(&tt);
    transport_free(t);
}

static void test_bad_hmac_and_replay(void)
{
    char err[TRANSPORT_ERR_SIZE];
    struct tu_target tt;
    uint8_t d[KDNET_MAX_DATAGRAM], buf[TRANSPORT_MESSAGE_MAX], pkt[64];
    size_t used, got;
    struct transport *t = open_host(err);
    if (!t)
        return;
    CHECK_EQ(tu_target_init(&tt, KEY, (uint16_t)transport_local_port(t)), KD_OK);
    CHECK_EQ(tu_target_handshake(&tt, t), KD_OK);
    size_t n = tu_kd_packet(pkt, 3, 0x10, (const uint8_t *)"print", 5, false);

    /* one flipped ciphertext bit: dropped, counted, nothing delivered */
    CHECK_EQ(tu_target_seal(&tt, &tt.data, pkt, n, d, sizeof d, &used), KD_OK);
    d[10] ^= 0x01;
    CHECK_EQ(tu_target_send_raw(&tt, d, used), KD_OK);
    CHECK_EQ(tu_host_step(t, buf, sizeof buf, &got), KD_ERR_TIMEOUT);
    /* a datagram sealed with the wrong key: the same */
    struct kdnet_keys wrong = tt.data;
    wrong.enc[0] ^= 0x55;
    wrong.hmac[0] ^= 0x55;
    CHECK_EQ(tu_target_seal(&tt, &wrong, pkt, n, d, sizeof d, &used), KD_OK);
    CHECK_EQ(tu_target_send_raw(&tt, d, used), KD_OK);
    CHECK_EQ(tu_host_step(t, buf, sizeof buf, &got), KD_ERR_TIMEOUT);
    struct transport_stats st;
    transport_stats(t, &st);
    CHECK_EQ(st.auth_failures, 2);

    /* a good one still passes; the same datagram again is a replay */
    CHECK_EQ(tu_target_seal(&tt, &tt.data, pkt, n, d, sizeof d, &used), KD_OK);
    CHECK_EQ(tu_target_send_raw(&tt, d, used), KD_OK);
    CHECK_EQ(host_take(t, buf, sizeof buf, &got), KD_OK);
    CHECK_EQ(got, n);
    CHECK_BYTES(buf, pkt, n);
    CHECK_EQ(tu_target_send_raw(&tt, d, used), KD_OK);
    CHECK_EQ(tu_host_step(t, buf, sizeof buf, &got), KD_ERR_TIMEOUT);
    /* not KDNET at all */
    CHECK_EQ(tu_target_send_raw(&tt, (const uint8_t *)"hello", 5), KD_OK);
    CHECK_EQ(tu_host_step(t, buf, sizeof buf, &got), KD_ERR_TIMEOUT);
    transport_stats(t, &st);
    CHECK_EQ(st.auth_failures, 2);
    CHECK_EQ(st.dropped, 2);
    CHECK_EQ(st.handshakes, 1);
    tu_target_fini(&tt);
    transport_free(t);
}

/* Pokes while the session is alive are keep-alives; a restarted target is re-keyed. */
static void test_rekey_rules(void)
{
    char err[TRANSPORT_ERR_SIZE];
    struct tu_target tt;
    uint8_t buf[TRANSPORT_MESSAGE_MAX], pkt[64], ack[16];
    size_t got, n;
    uint64_t seq;
    struct transport_stats st;
    struct transport *t = open_host(err);
    if (!t)
        return;
    CHECK_EQ(tu_target_init(&tt, KEY, (uint16_t)transport_local_port(t)), KD_OK);
    /* our response is lost (the target pokes again before any data): answered again */
    CHECK_EQ(tu_target_poke(&tt), KD_OK);
    CHECK_EQ(tu_host_step(t, buf, sizeof buf, &got), KD_ERR_TIMEOUT);
    CHECK(tu_wait_fd(tt.fd, TU_WAIT_MS));
    CHECK(recv(tt.fd, buf, sizeof buf, 0) > 0); /* thrown away */
    CHECK_EQ(tu_target_handshake(&tt, t), KD_OK);
    transport_stats(t, &st);
    CHECK_EQ(st.handshakes, 2);
    n = tu_kd_packet(pkt, 7, 0x80800800u, (const uint8_t *)"stop", 4, false);
    CHECK_EQ(tu_target_send(&tt, pkt, n), KD_OK);
    CHECK_EQ(host_take(t, buf, sizeof buf, &got), KD_OK);

    /* live session, target broken in: its ~3 s pokes are not answered */
    struct kdnet_keys session = tt.data;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(tu_target_poke(&tt), KD_OK);
        CHECK_EQ(tu_host_step(t, buf, sizeof buf, &got), KD_ERR_TIMEOUT);
    }
    /* an ACK asks for no answer: pokes after it are still keep-alives */
    kd_put32(ack, 0x69696969u);
    kd_put16(ack + 4, 4);
    memset(ack + 6, 0, 10);
    CHECK_EQ(transport_write(t, ack, sizeof ack, TU_WAIT_MS), KD_OK);
    CHECK_EQ(tu_target_recv(&tt, &session, buf, sizeof buf, &got, &seq), KD_OK);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(tu_target_poke(&tt), KD_OK);
        CHECK_EQ(tu_host_step(t, buf, sizeof buf, &got), KD_ERR_TIMEOUT);
    }
    transport_stats(t, &st);
    CHECK_EQ(st.handshakes, 2);

    /* a request goes unanswered; one poke may have crossed it, the second means restart */
    n = tu_kd_packet(pkt, 2, 0x80000002u, (const uint8_t *)"req", 3, false);
    CHECK_EQ(transport_write(t, pkt, n, TU_WAIT_MS), KD_OK);
    CHECK_EQ(tu_target_recv(&tt, &session, buf, sizeof buf, &got, &seq), KD_OK);
    CHECK_EQ(tu_target_poke(&tt), KD_OK);
    CHECK_EQ(tu_host_step(t, buf, sizeof buf, &got), KD_ERR_TIMEOUT);
    transport_stats(t, &st);
    CHECK_EQ(st.handshakes, 2);
    uint64_t old_seq = tt.seq;
    CHECK_EQ(tu_target_handshake(&tt, t), KD_OK); /* second poke: answered */
    transport_stats(t, &st);
    CHECK_EQ(st.handshakes, 3);

    /* ...but the target was alive after all and keeps the old key: the host goes back */
    tt.seq = old_seq;
    struct kdnet_keys fresh = tt.data;
    tt.data = session;
    n = tu_kd_packet(pkt, 2, 0x40, (const uint8_t *)"late reply", 10, false);
    CHECK_EQ(tu_target_send(&tt, pkt, n), KD_OK);
    CHECK_EQ(host_take(t, buf, sizeof buf, &got), KD_OK);
    CHECK_EQ(got, n);
    CHECK_BYTES(buf, pkt, n);
    CHECK_EQ(transport_write(t, ack, sizeof ack, TU_WAIT_MS), KD_OK);
    CHECK_EQ(tu_target_recv(&tt, &session, buf, sizeof buf, &got, &seq), KD_OK);
    CHECK_EQ(seq, 3); /* the old session's numbering goes on */
    (void)fresh;

    /* a real restart: the target's data no longer verifies, then it pokes */
    tt.data.enc[5] ^= 0xff;
    tt.data.hmac[5] ^= 0xff; /* stands for a key from some other handshake */
    CHECK_EQ(tu_target_send(&tt, pkt, n), KD_OK);
    CHECK_EQ(tu_host_step(t, buf, sizeof buf, &got), KD_ERR_TIMEOUT);
    CHECK_EQ(tu_target_handshake(&tt, t), KD_OK);
    transport_stats(t, &st);
    CHECK_EQ(st.handshakes, 4);
    CHECK_EQ(st.auth_failures, 1);
    CHECK_EQ(tu_target_send(&tt, pkt, n), KD_OK);
    CHECK_EQ(host_take(t, buf, sizeof buf, &got), KD_OK);
    CHECK_EQ(transport_write(t, ack, sizeof ack, TU_WAIT_MS), KD_OK);
    CHECK_EQ(tu_target_recv(&tt, &tt.data, buf, sizeof buf, &got, &seq), KD_OK);
    CHECK_EQ(seq, 1); /* new key, new numbering */
    tu_target_fini(&tt);
    transport_free(t);
}

static void test_target_filter(void)
{
    char err[TRANSPORT_ERR_SIZE], desc[200], want[200];
    struct transport *t = NULL;
    struct tu_target tt;
    uint8_t buf[TRANSPORT_MESSAGE_MAX];
    size_t got;
    CHECK_EQ(transport_open("kdnet:port=0,key=" KEY ",target=192.0.2.7,bind=127.0.0.1", &t, err),
             KD_OK);
    if (!t)
        return;
    transport_describe(t, desc, sizeof desc);
    snprintf(want, sizeof want, "kdnet udp 127.0.0.1:%d (waiting for 192.0.2.7's poke)",
             transport_local_port(t));
    CHECK_STR(desc, want);
    CHECK_EQ(tu_target_init(&tt, KEY, (uint16_t)transport_local_port(t)), KD_OK);
    CHECK_EQ(tu_target_poke(&tt), KD_OK); /* from 127.0.0.1: not the target */
    CHECK_EQ(tu_host_step(t, buf, sizeof buf, &got), KD_ERR_TIMEOUT);
    struct transport_stats st;
    transport_stats(t, &st);
    CHECK_EQ(st.handshakes, 0);
    CHECK_EQ(st.dropped, 1);
    tu_target_fini(&tt);
    transport_free(t);
}

int main(void)
{
    RUN(test_handshake_and_packets);
    RUN(test_bad_hmac_and_replay);
    RUN(test_rekey_rules);
    RUN(test_target_filter);
    return check_summary("test_transport_kdnet");
}
