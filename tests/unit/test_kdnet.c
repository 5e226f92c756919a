/* test_kdnet.c: KDNET datagrams (fact sheet §2) against real datagrams from
 * the three captures (tests/unit/kdnet_vectors.h), plus round trips,
 * tampering, truncation and the control-channel layouts. */
#include "check.h"
#include "kd_status.h"
#include "kdnet.h"
#include "kdnet_vectors.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define N(a) (sizeof(a))

static const uint8_t zero_block[KDNET_MAX_DATAGRAM];

static void keys_for(const char *text, uint8_t control_key[32], struct kdnet_keys *ctl)
{
    CHECK_EQ(kdnet_key_parse(text, control_key, NULL, NULL), KD_OK);
    kdnet_keys_control(control_key, ctl);
}

/* Opens a real datagram and checks the clear and inner headers. */
static void expect_open(const struct kdnet_keys *k, const uint8_t *dg, size_t len, uint8_t version,
                        uint8_t channel, uint64_t seq, int h2t, uint8_t pad, size_t body_len,
                        uint8_t *plain, struct kdnet_datagram *d)
{
    CHECK_EQ(kdnet_open(k, dg, len, plain, KDNET_MAX_DATAGRAM, d), KD_OK);
    CHECK_EQ(d->version, version);
    CHECK_EQ(d->channel, channel);
    CHECK_EQ(d->seq, seq);
    CHECK_EQ(d->host_to_target, h2t);
    CHECK_EQ(d->pad, pad);
    CHECK_EQ(d->body_len, body_len);
    CHECK(d->body == plain + KDNET_INNER_SIZE);
    CHECK_EQ(len, KDNET_HEADER_SIZE + KDNET_INNER_SIZE + body_len + pad + KDNET_TAG_SIZE);
}

/* Data keys from a capture's host response (control channel). */
static void data_keys_from(const uint8_t control_key[32], const struct kdnet_keys *ctl,
                           const uint8_t *resp, size_t len, struct kdnet_keys *data)
{
    uint8_t plain[KDNET_MAX_DATAGRAM];
    struct kdnet_datagram d;
    CHECK_EQ(kdnet_open(ctl, resp, len, plain, sizeof plain, &d), KD_OK);
    CHECK_EQ(kdnet_control_kind(d.body, d.body_len), KDNET_CTRL_RESPONSE);
    CHECK_EQ(kdnet_keys_data(control_key, d.body, data), KD_OK);
}

static void ipv4_mapped(uint8_t ip[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    memset(ip, 0, 16);
    ip[10] = ip[11] = 0xff;
    ip[12] = a, ip[13] = b, ip[14] = c, ip[15] = d;
}

static void test_peek(void)
{
    uint8_t v = 0, ch = 9;
    CHECK_EQ(kdnet_peek(wu_poke, N(wu_poke), &v, &ch), KD_OK);
    CHECK_EQ(v, 4);
    CHECK_EQ(ch, KDNET_CHANNEL_CONTROL);
    CHECK_EQ(kdnet_peek(w81_breakin, N(w81_breakin), &v, &ch), KD_OK);
    CHECK_EQ(v, 2);
    CHECK_EQ(ch, KDNET_CHANNEL_DATA);
    CHECK_EQ(kdnet_peek(ms_poke, N(ms_poke), NULL, NULL), KD_OK);
    CHECK_EQ(kdnet_peek(w81_breakin, KDNET_MIN_DATAGRAM - 1, &v, &ch), KD_ERR_FORMAT);
    uint8_t bad[N(w81_breakin)];
    memcpy(bad, w81_breakin, sizeof bad);
    bad[3] = 'H'; /* "MDBH" */
    CHECK_EQ(kdnet_peek(bad, sizeof bad, &v, &ch), KD_ERR_FORMAT);
    CHECK_EQ(kdnet_peek(NULL, 40, &v, &ch), KD_ERR_ARG);
}

/* windbg-uncut (key 8.8.8.8, version 4): poke, response, data key, data. */
static void test_windbg_uncut(void)
{
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM];
    struct kdnet_keys ctl, data;
    struct kdnet_datagram d;
    keys_for("8.8.8.8", key, &ctl);

    expect_open(&ctl, wu_poke, N(wu_poke), 4, 1, 3, 0, 0, KDNET_POKE_BODY, plain, &d);
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

    expect_open(&ctl, wu_response, N(wu_response), 4, 1, 3, 1, 6, KDNET_RESPONSE_BODY, plain, &d);
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
    expect_open(&data, wu_conncheck, N(wu_conncheck), 4, 0, 1, 0, 12, 12, plain, &d);
    CHECK_BYTES(d.body, conncheck, 12);
    /* DEBUG_IO (type 3), 0x2e bytes of payload. */
    static const uint8_t debug_io[8] = {0x30, 0x30, 0x30, 0x30, 0x03, 0x00, 0x2e, 0x00};
    expect_open(&data, wu_data, N(wu_data), 4, 0, 2, 0, 10, 62, plain, &d);
    CHECK_BYTES(d.body, debug_io, 8);
    /* Host's first data datagram: control packet RESEND (type 5), id 0. */
    static const uint8_t resend[16] = {0x69, 0x69, 0x69, 0x69, 0x05};
    expect_open(&data, wu_resend, N(wu_resend), 4, 0, 1, 1, 8, 16, plain, &d);
    CHECK_BYTES(d.body, resend, 16);

    /* Each channel has its own key. */
    CHECK_EQ(kdnet_open(&ctl, wu_data, N(wu_data), plain, sizeof plain, &d), KD_ERR_AUTH);
    CHECK_EQ(kdnet_open(&data, wu_poke, N(wu_poke), plain, sizeof plain, &d), KD_ERR_AUTH);
}

/* win81-kernel-fragments (key 1.1.1.1, version 2). */
static void test_win81_kernel(void)
{
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM];
    struct kdnet_keys ctl, data;
    struct kdnet_datagram d;
    keys_for("1.1.1.1", key, &ctl);

    expect_open(&ctl, w81_poke, N(w81_poke), 2, 1, 2694, 0, 0, KDNET_POKE_BODY, plain, &d);
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

    expect_open(&ctl, w81_response, N(w81_response), 2, 1, 2694, 1, 6, KDNET_RESPONSE_BODY, plain,
                &d);
    data_keys_from(key, &ctl, w81_response, N(w81_response), &data);
    static const uint8_t key_head[4] = {0x6d, 0x41, 0xdd, 0x05};
    CHECK_BYTES(data.enc, key_head, 4);

    static const uint8_t resend[8] = {0x69, 0x69, 0x69, 0x69, 0x05, 0x00, 0x00, 0x00};
    expect_open(&data, w81_resend, N(w81_resend), 2, 0, 1, 1, 8, 16, plain, &d);
    CHECK_BYTES(d.body, resend, 8);
    /* Break-in: the single byte 'b', pad 7, in the shortest possible datagram (§2.6). */
    expect_open(&data, w81_breakin, N(w81_breakin), 2, 0, 2, 1, 7, 1, plain, &d);
    CHECK_EQ(d.body[0], 0x62);
    CHECK_EQ(N(w81_breakin), KDNET_MIN_DATAGRAM);
    /* The target's RESET echo carries its pending id 0x926 (§2.8). */
    static const uint8_t reset[12] = {0x69, 0x69, 0x69, 0x69, 0x06, 0x00,
                                      0x00, 0x00, 0x26, 0x09, 0x00, 0x00};
    expect_open(&data, w81_reset, N(w81_reset), 2, 0, 4, 0, 8, 16, plain, &d);
    CHECK_BYTES(d.body, reset, 12);
}

/* midsession-no-handshake (key 1.2.3.4, version 5): control opens, data
 * (keyed by a handshake outside the capture) does not. */
static void test_midsession(void)
{
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM];
    struct kdnet_keys ctl;
    struct kdnet_datagram d;
    keys_for("1.2.3.4", key, &ctl);
    expect_open(&ctl, ms_poke, N(ms_poke), 5, 1, 2508, 0, 0, KDNET_POKE_BODY, plain, &d);
    struct kdnet_poke pk;
    uint8_t ip[16];
    CHECK_EQ(kdnet_poke_parse(d.body, d.body_len, &pk), KD_OK);
    ipv4_mapped(ip, 192, 168, 1, 105);
    CHECK_BYTES(pk.target_ip, ip, 16);
    CHECK_EQ(pk.target_port, 50000);

    memset(plain, 0x5a, sizeof plain);
    memset(&d, 0x5a, sizeof d);
    CHECK_EQ(kdnet_open(&ctl, ms_data, N(ms_data), plain, sizeof plain, &d), KD_ERR_AUTH);
    /* Nothing unauthenticated is left behind. */
    CHECK_BYTES(plain, zero_block, N(ms_data) - 22);
    CHECK(d.body == NULL && d.body_len == 0);
}

/* Sealing is deterministic (the IV is the tag of the plaintext), so sealing
 * a real body again must give the captured bytes exactly. */
static void test_seal_reproduces_capture(void)
{
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM], out[KDNET_MAX_DATAGRAM];
    struct kdnet_keys ctl, data;
    struct kdnet_datagram d;
    size_t used = 0;
    keys_for("8.8.8.8", key, &ctl);
    data_keys_from(key, &ctl, wu_response, N(wu_response), &data);

    const struct {
        const uint8_t *dg;
        size_t len;
        const struct kdnet_keys *k;
    } v[] = {
        {wu_poke, N(wu_poke), &ctl},      {wu_response, N(wu_response), &ctl},
        {wu_data, N(wu_data), &data},     {wu_conncheck, N(wu_conncheck), &data},
        {wu_resend, N(wu_resend), &data},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK_EQ(kdnet_open(v[i].k, v[i].dg, v[i].len, plain, sizeof plain, &d), KD_OK);
        CHECK_EQ(kdnet_seal(v[i].k, d.version, d.channel, d.seq, d.host_to_target, d.body,
                            d.body_len, out, sizeof out, &used),
                 KD_OK);
        CHECK_EQ(used, v[i].len);
        CHECK_BYTES(out, v[i].dg, v[i].len);
    }
}

static void test_round_trip(void)
{
    uint8_t key[32], body[600], dg[700], plain[700];
    struct kdnet_keys k;
    struct kdnet_datagram d;
    keys_for("abc.1z.0.zzzzzzzzzzzz", key, &k);
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i * 13 + 1);
    for (size_t n = 0; n <= sizeof body; n += n < 40 ? 1 : 37) {
        uint64_t seq = n == 1 ? (1ull << 56) - 1 : n * 1000;
        size_t used = 0, expect = 6 + 16 * ((8 + n + 15) / 16) + 16;
        CHECK_EQ(kdnet_seal_size(n), expect);
        CHECK_EQ(kdnet_seal(&k, 4, n & 1, seq, n & 2, body, n, dg, sizeof dg, &used), KD_OK);
        CHECK_EQ(used, expect);
        CHECK_EQ(kdnet_open(&k, dg, used, plain, sizeof plain, &d), KD_OK);
        CHECK_EQ(d.version, 4);
        CHECK_EQ(d.channel, n & 1);
        CHECK_EQ(d.seq, seq);
        CHECK_EQ(d.host_to_target, (n & 2) != 0);
        CHECK_EQ(d.pad, expect - 22 - 8 - n);
        CHECK_EQ(d.body_len, n);
        if (n)
            CHECK_BYTES(d.body, body, n);
        if (check_failed_now) {
            fprintf(stderr, "    body length %zu\n", n);
            return;
        }
    }
    size_t used = 1;
    CHECK_EQ(kdnet_seal(&k, 4, 0, 0, false, NULL, 0, dg, sizeof dg, &used), KD_OK);
    CHECK_EQ(used, 38);
}

/* Flipping any bit pattern in any byte is caught: the magic by the format
 * check, everything else (version, channel, ciphertext, tag) by the HMAC. */
static void test_tamper_every_byte(void)
{
    uint8_t key[32], dg[64], bad[64], plain[64];
    struct kdnet_keys k;
    struct kdnet_datagram d;
    size_t used = 0;
    static const uint8_t body[5] = {'h', 'e', 'l', 'l', 'o'};
    static const uint8_t flips[3] = {0x01, 0x80, 0xff};
    keys_for("1.2.3.4", key, &k);
    CHECK_EQ(kdnet_seal(&k, 4, 0, 7, true, body, sizeof body, dg, sizeof dg, &used), KD_OK);
    CHECK_EQ(used, 38);
    for (size_t i = 0; i < used; i++)
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(bad, dg, used);
            bad[i] ^= flips[f];
            int want = i < 4 ? KD_ERR_FORMAT : KD_ERR_AUTH;
            CHECK_EQ(kdnet_open(&k, bad, used, plain, sizeof plain, &d), want);
        }
    CHECK_EQ(kdnet_open(&k, dg, used, plain, sizeof plain, &d), KD_OK);
    /* A wrong key fails authentication too. */
    struct kdnet_keys other = k;
    other.hmac[31] ^= 1;
    CHECK_EQ(kdnet_open(&other, dg, used, plain, sizeof plain, &d), KD_ERR_AUTH);
    other = k;
    other.enc[0] ^= 1;
    CHECK_EQ(kdnet_open(&other, dg, used, plain, sizeof plain, &d), KD_ERR_AUTH);
}

/* Every shorter length is malformed (under 38, or ciphertext not a whole
 * number of blocks), except 38 itself, whose tag is then wrong; one byte
 * more is malformed as well. */
static void test_truncation(void)
{
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM], longer[N(wu_data) + 1];
    struct kdnet_keys ctl, data;
    struct kdnet_datagram d;
    keys_for("8.8.8.8", key, &ctl);
    data_keys_from(key, &ctl, wu_response, N(wu_response), &data);
    for (size_t n = 0; n < N(wu_data); n++) {
        int want = n >= 38 && (n - 22) % 16 == 0 ? KD_ERR_AUTH : KD_ERR_FORMAT;
        CHECK_EQ(kdnet_open(&data, wu_data, n, plain, sizeof plain, &d), want);
    }
    memcpy(longer, wu_data, N(wu_data));
    longer[N(wu_data)] = 0;
    CHECK_EQ(kdnet_open(&data, longer, sizeof longer, plain, sizeof plain, &d), KD_ERR_FORMAT);
    /* Longer than any UDP datagram. */
    uint8_t *huge = calloc(1, KDNET_MAX_UDP + 17);
    CHECK(huge != NULL);
    if (huge) {
        memcpy(huge, wu_data, 6);
        CHECK_EQ(kdnet_peek(huge, KDNET_MAX_UDP + 17, NULL, NULL), KD_ERR_FORMAT);
        CHECK_EQ(kdnet_open(&data, huge, KDNET_MAX_UDP + 17, plain, sizeof plain, &d),
                 KD_ERR_FORMAT);
        free(huge);
    }
}

/* An independent sealer (one-shot HMAC() and EVP AES) for plaintexts that
 * kdnet_seal refuses to make: arbitrary inner headers. */
static size_t seal_raw(const struct kdnet_keys *k, const uint8_t *pt, size_t n, uint8_t *out)
{
    uint8_t mac[32], buf[6 + 64];
    unsigned int mac_len = 0;
    int len = 0, fin = 0;
    memcpy(out, "MDBG\x04\x00", 6);
    memcpy(buf, out, 6);
    memcpy(buf + 6, pt, n);
    HMAC(EVP_sha256(), k->hmac, 32, buf, 6 + n, mac, &mac_len);
    memcpy(out + 6 + n, mac, 16);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, k->enc, mac);
    EVP_CIPHER_CTX_set_padding(c, 0);
    EVP_EncryptUpdate(c, out + 6, &len, pt, (int)n);
    EVP_EncryptFinal_ex(c, out + 6 + len, &fin);
    EVP_CIPHER_CTX_free(c);
    return 6 + n + 16;
}

/* The padding count is checked after authentication: at most 15 and at most
 * the plaintext after the inner header. */
static void test_padding_bounds(void)
{
    uint8_t key[32], pt[32] = {0, 0, 0, 0, 0, 0, 9}, dg[80], plain[64];
    struct kdnet_keys k;
    struct kdnet_datagram d;
    keys_for("1.2.3.4", key, &k);
    const struct {
        size_t n;
        uint8_t b7;
        int want;
        size_t body;
    } v[] = {
        {16, 8, KD_OK, 0},  {16, 0x88, KD_OK, 0},       {16, 9, KD_ERR_FORMAT, 0},
        {32, 15, KD_OK, 9}, {32, 16, KD_ERR_FORMAT, 0}, {32, 0xff, KD_ERR_FORMAT, 0},
        {32, 0, KD_OK, 24},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        pt[7] = v[i].b7;
        size_t len = seal_raw(&k, pt, v[i].n, dg);
        memset(&d, 0x5a, sizeof d);
        CHECK_EQ(kdnet_open(&k, dg, len, plain, sizeof plain, &d), v[i].want);
        CHECK_EQ(d.body_len, v[i].body);
        if (v[i].want == KD_OK) {
            CHECK_EQ(d.seq, 9);
            CHECK_EQ(d.host_to_target, (v[i].b7 & 0x80) != 0);
        } else {
            CHECK(d.body == NULL);
        }
    }
}

static void test_bounds_and_arguments(void)
{
    uint8_t key[32], dg[128], plain[128];
    struct kdnet_keys k;
    struct kdnet_datagram d;
    size_t used = 99;
    keys_for("1.2.3.4", key, &k);
    static const uint8_t body[20] = {1};
    memset(dg, 0, sizeof dg);
    /* 8 + 20 -> 32 bytes of plaintext -> 6 + 32 + 16 = 54. */
    CHECK_EQ(kdnet_seal(&k, 4, 0, 1, false, body, 20, dg, 53, &used), KD_ERR_NOSPACE);
    CHECK_EQ(used, 0);
    CHECK_BYTES(dg, zero_block, 53); /* an output too small is left untouched */
    CHECK_EQ(kdnet_seal(&k, 4, 0, 1, false, body, 20, dg, 54, &used), KD_OK);
    CHECK_EQ(used, 54);
    CHECK_EQ(kdnet_open(&k, dg, 54, plain, 31, &d), KD_ERR_NOSPACE);
    CHECK_EQ(kdnet_open(&k, dg, 54, plain, 32, &d), KD_OK);
    CHECK_EQ(kdnet_open(&k, dg, 54, dg + 6, 32, &d), KD_ERR_ARG); /* overlapping */
    CHECK_EQ(kdnet_open(NULL, dg, 54, plain, 32, &d), KD_ERR_ARG);
    CHECK_EQ(kdnet_open(&k, dg, 54, plain, 32, NULL), KD_ERR_ARG);

    CHECK_EQ(kdnet_seal(&k, 4, 2, 1, false, body, 20, dg, sizeof dg, &used), KD_ERR_ARG);
    CHECK_EQ(kdnet_seal(&k, 4, 0, 1ull << 56, false, body, 20, dg, sizeof dg, &used), KD_ERR_ARG);
    CHECK_EQ(kdnet_seal(&k, 4, 0, 1, false, NULL, 1, dg, sizeof dg, &used), KD_ERR_ARG);
    CHECK_EQ(kdnet_seal(&k, 4, 0, 1, false, dg + 10, 20, dg, sizeof dg, &used), KD_ERR_ARG);
    CHECK_EQ(kdnet_seal(&k, 4, 0, 1, false, body, 20, dg, sizeof dg, NULL), KD_ERR_ARG);
    /* The largest body: 6 + (8 + 65496) + 16 = 65526; one more needs 65542. */
    CHECK_EQ(kdnet_seal_size(65496), 65526);
    CHECK_EQ(kdnet_seal_size(65497), 0);
    CHECK_EQ(kdnet_seal_size((size_t)-1), 0);
    CHECK_EQ(kdnet_seal(&k, 4, 0, 1, false, body, 65497, dg, sizeof dg, &used), KD_ERR_LENGTH);
}

static void test_poke_layout(void)
{
    struct kdnet_poke in, back;
    uint8_t b[KDNET_POKE_BODY];
    memset(&in, 0, sizeof in);
    for (int i = 0; i < 32; i++)
        in.nonce[i] = (uint8_t)(0xa0 + i);
    ipv4_mapped(in.target_ip, 10, 0, 0, 2);
    ipv4_mapped(in.host_ip, 10, 0, 0, 1);
    for (int i = 0; i < 16; i++)
        in.third_ip[i] = (uint8_t)(0x20 + i);
    in.target_port = 0xc351; /* 50001 */
    in.host_port = 0x1234;
    in.third_port = 0xabcd;
    memset(b, 0xee, sizeof b);
    CHECK_EQ(kdnet_poke_build(&in, b), KD_OK);
    CHECK_EQ(b[0], 0x01);
    CHECK_EQ(b[1], KDNET_CTRL_POKE);
    CHECK_BYTES(b + 2, in.nonce, 32);
    CHECK_BYTES(b + 34, in.target_ip, 16);
    CHECK_EQ(b[50], 0xc3);
    CHECK_EQ(b[51], 0x51);
    CHECK_BYTES(b + 52, in.host_ip, 16);
    CHECK_EQ(b[68], 0x12);
    CHECK_EQ(b[69], 0x34);
    CHECK_BYTES(b + 70, in.third_ip, 16);
    CHECK_EQ(b[86], 0xab);
    CHECK_EQ(b[87], 0xcd);
    CHECK_BYTES(b + 88, zero_block, 256);
    CHECK_EQ(kdnet_control_kind(b, sizeof b), KDNET_CTRL_POKE);
    CHECK_EQ(kdnet_poke_parse(b, sizeof b, &back), KD_OK);
    CHECK_BYTES(&back, &in, sizeof in);
    CHECK_EQ(kdnet_poke_parse(b, sizeof b - 1, &back), KD_ERR_TRUNCATED);
    CHECK_EQ(kdnet_poke_build(NULL, b), KD_ERR_ARG);
    CHECK_EQ(kdnet_control_kind(b, sizeof b - 1), KD_ERR_FORMAT);
    struct kdnet_response rs;
    CHECK_EQ(kdnet_response_parse(b, sizeof b, &rs), KD_ERR_FORMAT);
    b[0] = 2;
    CHECK_EQ(kdnet_poke_parse(b, sizeof b, &back), KD_ERR_FORMAT);
    CHECK_EQ(kdnet_control_kind(b, sizeof b), KD_ERR_FORMAT);
}

static void test_response_layout(void)
{
    struct kdnet_response in, back;
    uint8_t b[KDNET_RESPONSE_BODY];
    for (int i = 0; i < 32; i++) {
        in.target_nonce[i] = (uint8_t)(0x10 + i);
        in.host_nonce[i] = (uint8_t)(0x80 + i);
    }
    memset(b, 0xee, sizeof b);
    CHECK_EQ(kdnet_response_build(&in, b), KD_OK);
    CHECK_EQ(b[0], 0x01);
    CHECK_EQ(b[1], KDNET_CTRL_RESPONSE);
    CHECK_BYTES(b + 2, in.target_nonce, 32);
    CHECK_BYTES(b + 34, in.host_nonce, 32);
    CHECK_BYTES(b + 66, zero_block, 256);
    CHECK_EQ(kdnet_control_kind(b, sizeof b), KDNET_CTRL_RESPONSE);
    CHECK_EQ(kdnet_response_parse(b, sizeof b, &back), KD_OK);
    CHECK_BYTES(&back, &in, sizeof in);
    CHECK_EQ(kdnet_response_parse(b, 1, &back), KD_ERR_TRUNCATED);
    CHECK_EQ(kdnet_response_parse(b, sizeof b - 1, &back), KD_ERR_TRUNCATED);
    b[1] = 3;
    CHECK_EQ(kdnet_control_kind(b, sizeof b), KD_ERR_FORMAT);
    CHECK_EQ(kdnet_control_kind(b, 1), KD_ERR_FORMAT);
    CHECK_EQ(kdnet_control_kind(NULL, 0), KD_ERR_FORMAT);
    CHECK_EQ(kdnet_response_build(NULL, b), KD_ERR_ARG);
}

/* Real control bodies survive parse then build byte for byte. */
static void test_real_control_rebuild(void)
{
    uint8_t key[32], plain[KDNET_MAX_DATAGRAM], b[KDNET_POKE_BODY];
    struct kdnet_keys ctl;
    struct kdnet_datagram d;
    struct kdnet_poke pk;
    struct kdnet_response rs;
    keys_for("1.1.1.1", key, &ctl);
    CHECK_EQ(kdnet_open(&ctl, w81_poke, N(w81_poke), plain, sizeof plain, &d), KD_OK);
    CHECK_EQ(kdnet_poke_parse(d.body, d.body_len, &pk), KD_OK);
    CHECK_EQ(kdnet_poke_build(&pk, b), KD_OK);
    CHECK_BYTES(b, d.body, KDNET_POKE_BODY);
    CHECK_EQ(kdnet_open(&ctl, w81_response, N(w81_response), plain, sizeof plain, &d), KD_OK);
    CHECK_EQ(kdnet_response_parse(d.body, d.body_len, &rs), KD_OK);
    CHECK_EQ(kdnet_response_build(&rs, b), KD_OK);
    CHECK_BYTES(b, d.body, KDNET_RESPONSE_BODY);
}

int main(void)
{
    RUN(test_peek);
    RUN(test_windbg_uncut);
    RUN(test_win81_kernel);
    RUN(test_midsession);
    RUN(test_seal_reproduces_capture);
    RUN(test_round_trip);
    RUN(test_tamper_every_byte);
    RUN(test_truncation);
    RUN(test_padding_bounds);
    RUN(test_bounds_and_arguments);
    RUN(test_poke_layout);
    RUN(test_response_layout);
    RUN(test_real_control_rebuild);
    return check_summary("test_kdnet");
}
