/* test_kdnet.c: KDNET datagrams (fact sheet §2) on synthetic vectors only:
 * datagrams this test seals itself (or seals independently with OpenSSL),
 * round trips, tampering, truncation, padding bounds and the control-channel
 * layouts. The real datagrams of ../shared/captures are checked by
 * test_capture_kdnet.c, which reads them from the captures at run time. */
#include "check.h"
#include "kd_status.h"
#include "kdnet.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

static const uint8_t zero_block[KDNET_MAX_DATAGRAM];

static void keys_for(const char *text, uint8_t control_key[32], struct kdnet_keys *ctl)
{
    CHECK_EQ(kdnet_key_parse(text, control_key, NULL, NULL), KD_OK);
    kdnet_keys_control(control_key, ctl);
}

static void ipv4_mapped(uint8_t ip[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    memset(ip, 0, 16);
    ip[10] = ip[11] = 0xff;
    ip[12] = a, ip[13] = b, ip[14] = c, ip[15] = d;
}

/* The clear header of datagrams sealed here: version and channel as sealed,
 * the shortest datagram, one byte less, a wrong magic. */
static void test_peek(void)
{
    uint8_t key[32], body[KDNET_POKE_BODY], dg[KDNET_MAX_DATAGRAM], brk[KDNET_MIN_DATAGRAM];
    struct kdnet_keys k;
    size_t used = 0;
    uint8_t v = 0, ch = 9;
    static const uint8_t breakin = 0x62; /* 'b' */
    keys_for("1.2.3.4", key, &k);
    memset(body, 0, sizeof body);
    body[0] = 0x01;
    body[1] = KDNET_CTRL_POKE;
    CHECK_EQ(
        kdnet_seal(&k, 4, KDNET_CHANNEL_CONTROL, 3, false, body, sizeof body, dg, sizeof dg, &used),
        KD_OK);
    CHECK_EQ(used, 374);
    CHECK_EQ(kdnet_peek(dg, used, &v, &ch), KD_OK);
    CHECK_EQ(v, 4);
    CHECK_EQ(ch, KDNET_CHANNEL_CONTROL);
    CHECK_EQ(kdnet_seal(&k, 5, KDNET_CHANNEL_CONTROL, 2508, false, body, sizeof body, dg, sizeof dg,
                        &used),
             KD_OK);
    CHECK_EQ(kdnet_peek(dg, used, NULL, NULL), KD_OK);
    /* The channel byte is reported as is. */
    dg[5] = 7;
    CHECK_EQ(kdnet_peek(dg, used, &v, &ch), KD_OK);
    CHECK_EQ(v, 5);
    CHECK_EQ(ch, 7);
    /* A break-in byte fills the shortest datagram. */
    CHECK_EQ(kdnet_seal(&k, 2, KDNET_CHANNEL_DATA, 2, true, &breakin, 1, brk, sizeof brk, &used),
             KD_OK);
    CHECK_EQ(used, KDNET_MIN_DATAGRAM);
    CHECK_EQ(kdnet_peek(brk, sizeof brk, &v, &ch), KD_OK);
    CHECK_EQ(v, 2);
    CHECK_EQ(ch, KDNET_CHANNEL_DATA);
    CHECK_EQ(kdnet_peek(brk, KDNET_MIN_DATAGRAM - 1, &v, &ch), KD_ERR_FORMAT);
    brk[3] = 'H'; /* "MDBH" */
    CHECK_EQ(kdnet_peek(brk, sizeof brk, &v, &ch), KD_ERR_FORMAT);
    CHECK_EQ(kdnet_peek(NULL, 40, &v, &ch), KD_ERR_ARG);
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

/* A 102-byte data datagram (a 62-byte body, pad 10): every shorter length
 * is malformed (under 38, or ciphertext not a whole number of blocks),
 * except 38 and each further whole block, whose tag is then wrong; one byte
 * more is malformed as well. */
static void test_truncation(void)
{
    uint8_t key[32], body[62], dg[102], plain[KDNET_MAX_DATAGRAM], longer[sizeof dg + 1];
    struct kdnet_keys k;
    struct kdnet_datagram d;
    size_t used = 0;
    keys_for("8.8.8.8", key, &k);
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(0x30 + i * 7);
    CHECK_EQ(
        kdnet_seal(&k, 4, KDNET_CHANNEL_DATA, 2, false, body, sizeof body, dg, sizeof dg, &used),
        KD_OK);
    CHECK_EQ(used, sizeof dg);
    CHECK_EQ(kdnet_open(&k, dg, sizeof dg, plain, sizeof plain, &d), KD_OK);
    CHECK_EQ(d.pad, 10);
    for (size_t n = 0; n < sizeof dg; n++) {
        int want = n >= 38 && (n - 22) % 16 == 0 ? KD_ERR_AUTH : KD_ERR_FORMAT;
        CHECK_EQ(kdnet_open(&k, dg, n, plain, sizeof plain, &d), want);
    }
    memcpy(longer, dg, sizeof dg);
    longer[sizeof dg] = 0;
    CHECK_EQ(kdnet_open(&k, longer, sizeof longer, plain, sizeof plain, &d), KD_ERR_FORMAT);
    /* Longer than any UDP datagram. */
    uint8_t *huge = calloc(1, KDNET_MAX_UDP + 17);
    CHECK(huge != NULL);
    if (huge) {
        memcpy(huge, dg, 6);
        CHECK_EQ(kdnet_peek(huge, KDNET_MAX_UDP + 17, NULL, NULL), KD_ERR_FORMAT);
        CHECK_EQ(kdnet_open(&k, huge, KDNET_MAX_UDP + 17, plain, sizeof plain, &d), KD_ERR_FORMAT);
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

/* kdnet_seal agrees byte for byte with the independent sealer: inner header
 * (56-bit big-endian sequence, direction bit, padding count), body, zero
 * padding, tag, AES-CBC with the tag as IV. */
static void test_seal_matches_independent(void)
{
    uint8_t key[32], body[56], pt[64], want[6 + 64 + 16], got[6 + 64 + 16];
    struct kdnet_keys k;
    keys_for("abc.1z.0.zzzzzzzzzzzz", key, &k);
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(0xc5 ^ (i * 29));
    for (size_t n = 0; n <= sizeof body; n++) {
        uint64_t seq = 0x00a1b2c3d4e5f607ull + n;
        bool h2t = (n % 3) == 0;
        size_t pt_len = (8 + n + 15) / 16 * 16, used = 0;
        memset(pt, 0, sizeof pt);
        for (int b = 0; b < 7; b++)
            pt[b] = (uint8_t)(seq >> (8 * (6 - b)));
        pt[7] = (uint8_t)((h2t ? 0x80 : 0) | (pt_len - 8 - n));
        memcpy(pt + 8, body, n);
        size_t want_len = seal_raw(&k, pt, pt_len, want);
        CHECK_EQ(kdnet_seal(&k, 4, KDNET_CHANNEL_DATA, seq, h2t, body, n, got, sizeof got, &used),
                 KD_OK);
        CHECK_EQ(used, want_len);
        CHECK_BYTES(got, want, want_len);
        if (check_failed_now) {
            fprintf(stderr, "    body length %zu\n", n);
            return;
        }
    }
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

int main(void)
{
    RUN(test_peek);
    RUN(test_round_trip);
    RUN(test_tamper_every_byte);
    RUN(test_truncation);
    RUN(test_seal_matches_independent);
    RUN(test_padding_bounds);
    RUN(test_bounds_and_arguments);
    RUN(test_poke_layout);
    RUN(test_response_layout);
    return check_summary("test_kdnet");
}
