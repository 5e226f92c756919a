/* test_capture_kdnet.c: KDNET datagrams (fact sheet §2) against the real
 * captures in ../shared/captures, read at run time by frame number (1-based,
 * as Wireshark counts) with capture_reader: decryption and authentication
 * with exact inner headers and bodies, the data-key derivation, re-sealing
 * that reproduces the captured bytes, truncation of a real datagram and the
 * real control bodies. A missing or different capture fails the test.
 * Keys: windbg-uncut 8.8.8.8, win81-kernel-fragments 1.1.1.1, midsession 1.2.3.4.
 * The synthetic cases are in test_kdnet.c. */
#include "capture.h"
#include "check.h"
#include "kd_status.h"
#include "kdnet.h"

#define WU "windbg-uncut.pcapng"
#define W81 "win81-kernel-fragments.pcap"
#define MS "midsession-no-handshake.pcap"

static const uint8_t zero_block[KDNET_MAX_DATAGRAM];

/* One UDP payload of a capture. */
struct frame_dg {
    uint8_t b[KDNET_MAX_DATAGRAM];
    size_t len;
};

/* Reads frame `frame` of captures/<file> into *out: it must exist, be a
 * whole UDP datagram and be want_len bytes long. Returns false (with the
 * current test failed) otherwise. */
static bool load_frame(const char *file, uint64_t frame, size_t want_len, struct frame_dg *out)
{
    char path[512], err[256] = "";
    struct capture_reader *r = NULL;
    struct capture_record rec;
    bool found = false;
    int rc;
    out->len = 0;
    snprintf(path, sizeof path, "%s/captures/%s", check_shared_dir(), file);
    rc = capture_reader_open(path, &r, err);
    CHECK_EQ(rc, KD_OK);
    if (rc != KD_OK) {
        fprintf(stderr, "    %s (%s)\n", err, path);
        return false;
    }
    while ((rc = capture_reader_next(r, &rec)) == 1)
        if (rec.frame == frame) {
            found = true;
            break;
        }
    CHECK(found);
    if (found) {
        CHECK_EQ(rec.kind, CAPTURE_UDP);
        CHECK(!rec.cut);
        CHECK_EQ(rec.len, want_len);
        if (rec.kind == CAPTURE_UDP && !rec.cut && rec.len == want_len &&
            want_len <= sizeof out->b) {
            memcpy(out->b, rec.data, rec.len);
            out->len = rec.len;
        } else {
            found = false;
        }
    }
    if (!found)
        fprintf(stderr, "    %s: no %zu-byte UDP datagram at frame %" PRIu64 "%s%s\n", path,
                want_len, frame, rc < 0 ? ": " : "", rc < 0 ? capture_reader_error(r) : "");
    capture_reader_free(r);
    return found;
}

static void keys_for(const char *text, uint8_t control_key[32], struct kdnet_keys *ctl)
{
    CHECK_EQ(kdnet_key_parse(text, control_key, NULL, NULL), KD_OK);
    kdnet_keys_control(control_key, ctl);
}

/* Opens a real datagram and checks the clear and inner headers. */
static void expect_open(const struct kdnet_keys *k, const struct frame_dg *f, uint8_t version,
                        uint8_t channel, uint64_t seq, int h2t, uint8_t pad, size_t body_len,
                        uint8_t *plain, struct kdnet_datagram *d)
{
    CHECK_EQ(kdnet_open(k, f->b, f->len, plain, KDNET_MAX_DATAGRAM, d), KD_OK);
    CHECK_EQ(d->version, version);
    CHECK_EQ(d->channel, channel);
    CHECK_EQ(d->seq, seq);
    CHECK_EQ(d->host_to_target, h2t);
    CHECK_EQ(d->pad, pad);
    CHECK_EQ(d->body_len, body_len);
    CHECK(d->body == plain + KDNET_INNER_SIZE);
    CHECK_EQ(f->len, KDNET_HEADER_SIZE + KDNET_INNER_SIZE + body_len + pad + KDNET_TAG_SIZE);
}

/* Data keys from a capture's host response (control channel). */
static void data_keys_from(const uint8_t control_key[32], const struct kdnet_keys *ctl,
                           const struct frame_dg *resp, struct kdnet_keys *data)
{
    uint8_t plain[KDNET_MAX_DATAGRAM];
    struct kdnet_datagram d;
    CHECK_EQ(kdnet_open(ctl, resp->b, resp->len, plain, sizeof plain, &d), KD_OK);
    CHECK_EQ(kdnet_control_kind(d.body, d.body_len), KDNET_CTRL_RESPONSE);
    CHECK_EQ(kdnet_keys_data(control_key, d.body, data), KD_OK);
}

static void ipv4_mapped(uint8_t ip[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    memset(ip, 0, 16);
    ip[10] = ip[11] = 0xff;
    ip[12] = a, ip[13] = b, ip[14] = c, ip[15] = d;
}

/* The clear header of real datagrams of the three versions. */
static void test_capture_peek(void)
{
    struct frame_dg wu_poke, w81_breakin, ms_poke;
    if (!load_frame(WU, 1, 374, &wu_poke) || !load_frame(W81, 6, 38, &w81_breakin) ||
        !load_frame(MS, 1, 374, &ms_poke))
        return;
    uint8_t v = 0, ch = 9;
    CHECK_EQ(kdnet_peek(wu_poke.b, wu_poke.len, &v, &ch), KD_OK);
    CHECK_EQ(v, 4);
    CHECK_EQ(ch, KDNET_CHANNEL_CONTROL);
    CHECK_EQ(kdnet_peek(w81_breakin.b, w81_breakin.len, &v, &ch), KD_OK);
    CHECK_EQ(v, 2);
    CHECK_EQ(ch, KDNET_CHANNEL_DATA);
    CHECK_EQ(kdnet_peek(ms_poke.b, ms_poke.len, NULL, NULL), KD_OK);
    CHECK_EQ(kdnet_peek(w81_breakin.b, KDNET_MIN_DATAGRAM - 1, &v, &ch), KD_ERR_FORMAT);
    uint8_t bad[38];
    memcpy(bad, w81_breakin.b, sizeof bad);
    bad[3] = 'H'; /* "MDBH" */
    CHECK_EQ(kdnet_peek(bad, sizeof bad, &v, &ch), KD_ERR_FORMAT);
    CHECK_EQ(kdnet_peek(NULL, 40, &v, &ch), KD_ERR_ARG);
}

/* windbg-uncut (key 8.8.8.8, version 4): poke (frame 1), response (2), data
 * key, data (3, 4 from the target, 5 from the host). */
static void test_windbg_uncut(void)
{
    struct frame_dg wu_poke, wu_response, wu_conncheck, wu_data, wu_resend;
    if (!load_frame(WU, 1, 374, &wu_poke) || !load_frame(WU, 2, 358, &wu_response) ||
        !load_frame(WU, 3, 54, &wu_conncheck) || !load_frame(WU, 4, 102, &wu_data) ||
        !load_frame(WU, 5, 54, &wu_resend))
        return;
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM];
    struct kdnet_keys ctl, data;
    struct kdnet_datagram d;
    keys_for("8.8.8.8", key, &ctl);

    expect_open(&ctl, &wu_poke, 4, 1, 3, 0, 0, KDNET_POKE_BODY, plain, &d);
    CHECK_EQ(kdnet_control_kind(d.body, d.body_len), KDNET_CTRL_POKE);
    struct kdnet_poke pk;
    uint8_t ip[16], poke_nonce[32];
    CHECK_EQ(kdnet_poke_parse(d.body, d.body_len, &pk), KD_OK);
    static const uint8_t nonce_head[4] = {0xc1, 0x97, 0x92, 0xdf};
    CHECK_BYTES(pk.nonce, nonce_head, 4);
    memcpy(poke_nonce, pk.nonce, 32);
    ipv4_mapped(ip, 192, 168, 2, 72);
    CHECK_BYTES(pk.target_ip, ip, 16);
    CHECK_EQ(pk.target_port, 51111);
    ipv4_mapped(ip, 192, 168, 2, 1);
    CHECK_BYTES(pk.host_ip, ip, 16);
    CHECK_EQ(pk.host_port, 51111);
    ipv4_mapped(ip, 0, 0, 0, 0); /* first poke of the session: ::ffff:0.0.0.0 */
    CHECK_BYTES(pk.third_ip, ip, 16);
    CHECK_EQ(pk.third_port, 0);

    expect_open(&ctl, &wu_response, 4, 1, 3, 1, 6, KDNET_RESPONSE_BODY, plain, &d);
    struct kdnet_response rs;
    CHECK_EQ(kdnet_response_parse(d.body, d.body_len, &rs), KD_OK);
    CHECK_BYTES(rs.target_nonce, poke_nonce, 32);
    static const uint8_t host_nonce_head[4] = {0x41, 0xb4, 0xfa, 0x1b};
    CHECK_BYTES(rs.host_nonce, host_nonce_head, 4);

    /* Fact sheet §9: data key 6bd91c57…3384f660. */
    CHECK_EQ(kdnet_keys_data(key, d.body, &data), KD_OK);
    static const uint8_t want_data_key[32] = {0x6b, 0xd9, 0x1c, 0x57, 0xbd, 0x6a, 0x55, 0x1a,
                                              0xd3, 0x0b, 0x50, 0x9c, 0x05, 0xc0, 0xc9, 0x5b,
                                              0x32, 0xcc, 0x5e, 0x47, 0xa0, 0x86, 0x69, 0x07,
                                              0xea, 0xf0, 0xb1, 0x58, 0x33, 0x84, 0xf6, 0x60};
    CHECK_BYTES(data.enc, want_data_key, 32);
    CHECK_BYTES(data.hmac, ctl.hmac, 32);

    /* Connection check: 12 bytes, leader 0, id = 192.168.2.1 as LE u32 (§2.7). */
    static const uint8_t conncheck[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0xa8, 0xc0};
    expect_open(&data, &wu_conncheck, 4, 0, 1, 0, 12, 12, plain, &d);
    CHECK_BYTES(d.body, conncheck, 12);
    /* DEBUG_IO (type 3), 0x2e bytes of payload. */
    static const uint8_t debug_io[8] = {0x30, 0x30, 0x30, 0x30, 0x03, 0x00, 0x2e, 0x00};
    expect_open(&data, &wu_data, 4, 0, 2, 0, 10, 62, plain, &d);
    CHECK_BYTES(d.body, debug_io, 8);
    /* Host's first data datagram: control packet RESEND (type 5), id 0. */
    static const uint8_t resend[16] = {0x69, 0x69, 0x69, 0x69, 0x05};
    expect_open(&data, &wu_resend, 4, 0, 1, 1, 8, 16, plain, &d);
    CHECK_BYTES(d.body, resend, 16);

    /* Each channel has its own key. */
    CHECK_EQ(kdnet_open(&ctl, wu_data.b, wu_data.len, plain, sizeof plain, &d), KD_ERR_AUTH);
    CHECK_EQ(kdnet_open(&data, wu_poke.b, wu_poke.len, plain, sizeof plain, &d), KD_ERR_AUTH);
}

/* win81-kernel-fragments (key 1.1.1.1, version 2): poke (frame 1), response
 * (2), RESEND (4), break-in (6), RESET echo (9). */
static void test_win81_kernel(void)
{
    struct frame_dg w81_poke, w81_response, w81_resend, w81_breakin, w81_reset;
    if (!load_frame(W81, 1, 374, &w81_poke) || !load_frame(W81, 2, 358, &w81_response) ||
        !load_frame(W81, 4, 54, &w81_resend) || !load_frame(W81, 6, 38, &w81_breakin) ||
        !load_frame(W81, 9, 54, &w81_reset))
        return;
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM];
    struct kdnet_keys ctl, data;
    struct kdnet_datagram d;
    keys_for("1.1.1.1", key, &ctl);

    expect_open(&ctl, &w81_poke, 2, 1, 2694, 0, 0, KDNET_POKE_BODY, plain, &d);
    struct kdnet_poke pk;
    uint8_t ip[16];
    CHECK_EQ(kdnet_poke_parse(d.body, d.body_len, &pk), KD_OK);
    ipv4_mapped(ip, 192, 168, 0, 13);
    CHECK_BYTES(pk.target_ip, ip, 16);
    CHECK_EQ(pk.target_port, 50000);
    ipv4_mapped(ip, 192, 168, 0, 11);
    CHECK_BYTES(pk.host_ip, ip, 16);
    CHECK_BYTES(pk.third_ip, ip, 16);
    CHECK_EQ(pk.third_port, 50000);

    expect_open(&ctl, &w81_response, 2, 1, 2694, 1, 6, KDNET_RESPONSE_BODY, plain, &d);
    data_keys_from(key, &ctl, &w81_response, &data);
    static const uint8_t key_head[4] = {0x6d, 0x41, 0xdd, 0x05};
    CHECK_BYTES(data.enc, key_head, 4);

    static const uint8_t resend[8] = {0x69, 0x69, 0x69, 0x69, 0x05, 0x00, 0x00, 0x00};
    expect_open(&data, &w81_resend, 2, 0, 1, 1, 8, 16, plain, &d);
    CHECK_BYTES(d.body, resend, 8);
    /* Break-in: the single byte 'b', pad 7, in the shortest possible datagram (§2.6). */
    expect_open(&data, &w81_breakin, 2, 0, 2, 1, 7, 1, plain, &d);
    CHECK_EQ(d.body[0], 0x62);
    CHECK_EQ(w81_breakin.len, KDNET_MIN_DATAGRAM);
    /* The target's RESET echo carries its pending id 0x926 (§2.8). */
    static const uint8_t reset[12] = {0x69, 0x69, 0x69, 0x69, 0x06, 0x00,
                                      0x00, 0x00, 0x26, 0x09, 0x00, 0x00};
    expect_open(&data, &w81_reset, 2, 0, 4, 0, 8, 16, plain, &d);
    CHECK_BYTES(d.body, reset, 12);
}

/* midsession-no-handshake (key 1.2.3.4, version 5): the control poke (frame
 * 1) opens, the data datagram (frame 9, keyed by a handshake outside the
 * capture) does not. */
static void test_midsession(void)
{
    struct frame_dg ms_poke, ms_data;
    if (!load_frame(MS, 1, 374, &ms_poke) || !load_frame(MS, 9, 38, &ms_data))
        return;
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM];
    struct kdnet_keys ctl;
    struct kdnet_datagram d;
    keys_for("1.2.3.4", key, &ctl);
    expect_open(&ctl, &ms_poke, 5, 1, 2508, 0, 0, KDNET_POKE_BODY, plain, &d);
    struct kdnet_poke pk;
    uint8_t ip[16];
    CHECK_EQ(kdnet_poke_parse(d.body, d.body_len, &pk), KD_OK);
    ipv4_mapped(ip, 192, 168, 1, 105);
    CHECK_BYTES(pk.target_ip, ip, 16);
    CHECK_EQ(pk.target_port, 50000);

    memset(plain, 0x5a, sizeof plain);
    memset(&d, 0x5a, sizeof d);
    CHECK_EQ(kdnet_open(&ctl, ms_data.b, ms_data.len, plain, sizeof plain, &d), KD_ERR_AUTH);
    /* Nothing unauthenticated is left behind. */
    CHECK_BYTES(plain, zero_block, ms_data.len - 22);
    CHECK(d.body == NULL && d.body_len == 0);
}

/* Sealing is deterministic (the IV is the tag of the plaintext), so sealing
 * a real body again must give the captured bytes exactly. */
static void test_seal_reproduces_capture(void)
{
    struct frame_dg wu_poke, wu_response, wu_conncheck, wu_data, wu_resend;
    if (!load_frame(WU, 1, 374, &wu_poke) || !load_frame(WU, 2, 358, &wu_response) ||
        !load_frame(WU, 3, 54, &wu_conncheck) || !load_frame(WU, 4, 102, &wu_data) ||
        !load_frame(WU, 5, 54, &wu_resend))
        return;
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM], out[KDNET_MAX_DATAGRAM];
    struct kdnet_keys ctl, data;
    struct kdnet_datagram d;
    size_t used = 0;
    keys_for("8.8.8.8", key, &ctl);
    data_keys_from(key, &ctl, &wu_response, &data);

    const struct {
        const struct frame_dg *f;
        const struct kdnet_keys *k;
    } v[] = {
        {&wu_poke, &ctl},       {&wu_response, &ctl}, {&wu_data, &data},
        {&wu_conncheck, &data}, {&wu_resend, &data},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK_EQ(kdnet_open(v[i].k, v[i].f->b, v[i].f->len, plain, sizeof plain, &d), KD_OK);
        CHECK_EQ(kdnet_seal(v[i].k, d.version, d.channel, d.seq, d.host_to_target, d.body,
                            d.body_len, out, sizeof out, &used),
                 KD_OK);
        CHECK_EQ(used, v[i].f->len);
        CHECK_BYTES(out, v[i].f->b, v[i].f->len);
    }
}

/* A real datagram (windbg-uncut frame 4, 102 bytes): every shorter length is
 * malformed (under 38, or ciphertext not a whole number of blocks), except
 * 38 itself and each whole block, whose tag is then wrong; one byte more is
 * malformed as well. */
static void test_capture_truncation(void)
{
    struct frame_dg wu_response, wu_data;
    if (!load_frame(WU, 2, 358, &wu_response) || !load_frame(WU, 4, 102, &wu_data))
        return;
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM], longer[102 + 1];
    struct kdnet_keys ctl, data;
    struct kdnet_datagram d;
    keys_for("8.8.8.8", key, &ctl);
    data_keys_from(key, &ctl, &wu_response, &data);
    for (size_t n = 0; n < wu_data.len; n++) {
        int want = n >= 38 && (n - 22) % 16 == 0 ? KD_ERR_AUTH : KD_ERR_FORMAT;
        CHECK_EQ(kdnet_open(&data, wu_data.b, n, plain, sizeof plain, &d), want);
    }
    memcpy(longer, wu_data.b, wu_data.len);
    longer[wu_data.len] = 0;
    CHECK_EQ(kdnet_open(&data, longer, sizeof longer, plain, sizeof plain, &d), KD_ERR_FORMAT);
    /* Longer than any UDP datagram. */
    uint8_t *huge = calloc(1, KDNET_MAX_UDP + 17);
    CHECK(huge != NULL);
    if (huge) {
        memcpy(huge, wu_data.b, 6);
        CHECK_EQ(kdnet_peek(huge, KDNET_MAX_UDP + 17, NULL, NULL), KD_ERR_FORMAT);
        CHECK_EQ(kdnet_open(&data, huge, KDNET_MAX_UDP + 17, plain, sizeof plain, &d),
                 KD_ERR_FORMAT);
        free(huge);
    }
}

/* Real control bodies (win81-kernel-fragments frames 1, 2) survive parse
 * then build byte for byte. */
static void test_real_control_rebuild(void)
{
    struct frame_dg w81_poke, w81_response;
    if (!load_frame(W81, 1, 374, &w81_poke) || !load_frame(W81, 2, 358, &w81_response))
        return;
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM], b[KDNET_POKE_BODY];
    struct kdnet_keys ctl;
    struct kdnet_datagram d;
    struct kdnet_poke pk;
    struct kdnet_response rs;
    keys_for("1.1.1.1", key, &ctl);
    CHECK_EQ(kdnet_open(&ctl, w81_poke.b, w81_poke.len, plain, sizeof plain, &d), KD_OK);
    CHECK_EQ(kdnet_poke_parse(d.body, d.body_len, &pk), KD_OK);
    CHECK_EQ(kdnet_poke_build(&pk, b), KD_OK);
    CHECK_BYTES(b, d.body, KDNET_POKE_BODY);
    CHECK_EQ(kdnet_open(&ctl, w81_response.b, w81_response.len, plain, sizeof plain, &d), KD_OK);
    CHECK_EQ(kdnet_response_parse(d.body, d.body_len, &rs), KD_OK);
    CHECK_EQ(kdnet_response_build(&rs, b), KD_OK);
    CHECK_BYTES(b, d.body, KDNET_RESPONSE_BODY);
}

int main(void)
{
    RUN(test_capture_peek);
    RUN(test_windbg_uncut);
    RUN(test_win81_kernel);
    RUN(test_midsession);
    RUN(test_seal_reproduces_capture);
    RUN(test_capture_truncation);
    RUN(test_real_control_rebuild);
    return check_summary("test_capture_kdnet");
}
