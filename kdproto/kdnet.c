/* kdnet.c: KDNET datagrams (fact sheet §2): AES-256-CBC with the tag as IV,
 * HMAC-SHA256 over the clear header and the plaintext, the inner header, and
 * the control-channel poke/response bodies. OpenSSL EVP only; every context
 * lives for one call, so there is no state to share or leak. */
#include "kdnet.h"
#include "kd_le.h"
#include "kd_status.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>

#define CTRL_VERSION 0x01 /* body byte 0 of every control message seen (v2, v4, v5) */

/* Body offsets of the control messages (§2.5). */
enum {
    CTRL_OFF_VERSION = 0,
    CTRL_OFF_KIND = 1,
    POKE_OFF_NONCE = 2,
    POKE_OFF_TARGET_IP = 34,
    POKE_OFF_TARGET_PORT = 50,
    POKE_OFF_HOST_IP = 52,
    POKE_OFF_HOST_PORT = 68,
    POKE_OFF_THIRD_IP = 70,
    POKE_OFF_THIRD_PORT = 86,
    POKE_OFF_ZERO = 88,
    RESP_OFF_TARGET_NONCE = 2,
    RESP_OFF_HOST_NONCE = 34,
    RESP_OFF_ZERO = 66,
};
_Static_assert(POKE_OFF_ZERO + 256 == KDNET_POKE_BODY, "poke body is 344 bytes");
_Static_assert(RESP_OFF_ZERO + 256 == KDNET_RESPONSE_BODY, "response body is 322 bytes");
_Static_assert(KDNET_MIN_DATAGRAM == 38, "header + one block + tag");
_Static_assert(KDNET_MAX_UDP <= 0x7fffffff, "lengths fit OpenSSL's int");

/* Whether [a, a+an) and [b, b+bn) share a byte; compared as integers
 * because relational operators on unrelated pointers are undefined. */
static bool overlaps(const void *a, size_t an, const void *b, size_t bn)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return an && bn && x < y + bn && y < x + an;
}

/* First 16 bytes of HMAC-SHA256(key, hdr[0..6) || pt[0..n)). */
static int hmac_tag(const uint8_t key[32], const uint8_t *hdr, const uint8_t *pt, size_t n,
                    uint8_t tag[KDNET_TAG_SIZE])
{
    int rc = KD_ERR_CRYPTO;
    uint8_t full[32];
    size_t full_len = 0;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        return KD_ERR_CRYPTO;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    if (!ctx)
        goto free_mac;
    if (EVP_MAC_init(ctx, key, 32, params) != 1 ||
        EVP_MAC_update(ctx, hdr, KDNET_HEADER_SIZE) != 1 || EVP_MAC_update(ctx, pt, n) != 1 ||
        EVP_MAC_final(ctx, full, &full_len, sizeof full) != 1 || full_len != sizeof full)
        goto free_ctx;
    memcpy(tag, full, KDNET_TAG_SIZE);
    rc = KD_OK;
free_ctx:
    EVP_MAC_CTX_free(ctx);
free_mac:
    EVP_MAC_free(mac);
    OPENSSL_cleanse(full, sizeof full);
    return rc;
}

/* AES-256-CBC without padding, n a multiple of 16; in == out is allowed. */
static int aes_cbc(int encrypt, const uint8_t key[32], const uint8_t iv[16], const uint8_t *in,
                   size_t n, uint8_t *out)
{
    int rc = KD_ERR_CRYPTO;
    int len = 0, fin = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return KD_ERR_CRYPTO;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv, encrypt) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
        EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1 ||
        EVP_CipherFinal_ex(ctx, out + len, &fin) != 1 || (size_t)len + (size_t)fin != n)
        goto free_ctx;
    rc = KD_OK;
free_ctx:
    EVP_CIPHER_CTX_free(ctx); /* also wipes the key schedule */
    return rc;
}

int kdnet_peek(const uint8_t *dgram, size_t len, uint8_t *version, uint8_t *channel)
{
    if (!dgram)
        return KD_ERR_ARG;
    if (len < KDNET_MIN_DATAGRAM || len > KDNET_MAX_UDP || kd_be32(dgram) != KDNET_MAGIC)
        return KD_ERR_FORMAT;
    if (version)
        *version = dgram[4];
    if (channel)
        *channel = dgram[5];
    return KD_OK;
}

int kdnet_open(const struct kdnet_keys *keys, const uint8_t *dgram, size_t len, uint8_t *plain,
               size_t plain_cap, struct kdnet_datagram *out)
{
    if (!keys || !dgram || !plain || !out)
        return KD_ERR_ARG;
    memset(out, 0, sizeof *out);
    int rc = kdnet_peek(dgram, len, NULL, NULL);
    if (rc != KD_OK)
        return rc;
    size_t ct_len = len - KDNET_HEADER_SIZE - KDNET_TAG_SIZE;
    if (ct_len % 16 != 0)
        return KD_ERR_FORMAT;
    if (plain_cap < ct_len)
        return KD_ERR_NOSPACE;
    if (overlaps(plain, ct_len, dgram, len))
        return KD_ERR_ARG;

    const uint8_t *tag = dgram + len - KDNET_TAG_SIZE;
    uint8_t mac[KDNET_TAG_SIZE];
    rc = aes_cbc(0, keys->enc, tag, dgram + KDNET_HEADER_SIZE, ct_len, plain);
    if (rc != KD_OK)
        goto wipe_plain;
    rc = hmac_tag(keys->hmac, dgram, plain, ct_len, mac);
    if (rc != KD_OK)
        goto wipe_plain;
    /* Nothing decrypted is looked at before this comparison. */
    if (CRYPTO_memcmp(mac, tag, KDNET_TAG_SIZE) != 0) {
        rc = KD_ERR_AUTH;
        goto wipe_plain;
    }

    uint64_t seq = 0;
    for (int i = 0; i < 7; i++)
        seq = seq << 8 | plain[i];
    uint8_t pad = plain[7] & 0x7f;
    /* A correct sender pads to the next block only, so at most 15. */
    if (pad > 15 || pad > ct_len - KDNET_INNER_SIZE) {
        rc = KD_ERR_FORMAT;
        goto wipe_plain;
    }
    out->version = dgram[4];
    out->channel = dgram[5];
    out->seq = seq;
    out->host_to_target = (plain[7] & 0x80) != 0;
    out->pad = pad;
    out->body = plain + KDNET_INNER_SIZE;
    out->body_len = ct_len - KDNET_INNER_SIZE - pad;
    return KD_OK;

wipe_plain:
    OPENSSL_cleanse(plain, ct_len);
    return rc;
}

size_t kdnet_seal_size(size_t body_len)
{
    if (body_len > KDNET_MAX_UDP)
        return 0;
    size_t plain = (KDNET_INNER_SIZE + body_len + 15) & ~(size_t)15;
    size_t total = KDNET_HEADER_SIZE + plain + KDNET_TAG_SIZE;
    return total > KDNET_MAX_UDP ? 0 : total;
}

int kdnet_seal(const struct kdnet_keys *keys, uint8_t version, uint8_t channel, uint64_t seq,
               bool host_to_target, const uint8_t *body, size_t body_len, uint8_t *out, size_t cap,
               size_t *used)
{
    if (used)
        *used = 0;
    if (!keys || !out || !used || (!body && body_len))
        return KD_ERR_ARG;
    if (channel > KDNET_CHANNEL_CONTROL || seq >> 56)
        return KD_ERR_ARG;
    size_t total = kdnet_seal_size(body_len);
    if (!total)
        return KD_ERR_LENGTH;
    if (cap < total)
        return KD_ERR_NOSPACE;
    if (overlaps(body, body_len, out, total))
        return KD_ERR_ARG;

    size_t pt_len = total - KDNET_HEADER_SIZE - KDNET_TAG_SIZE;
    uint8_t pad = (uint8_t)(pt_len - KDNET_INNER_SIZE - body_len);
    uint8_t *pt = out + KDNET_HEADER_SIZE;
    uint8_t *tag = out + total - KDNET_TAG_SIZE;
    out[0] = (uint8_t)(KDNET_MAGIC >> 24);
    out[1] = (uint8_t)(KDNET_MAGIC >> 16);
    out[2] = (uint8_t)(KDNET_MAGIC >> 8);
    out[3] = (uint8_t)KDNET_MAGIC;
    out[4] = version;
    out[5] = channel;
    for (int i = 0; i < 7; i++)
        pt[i] = (uint8_t)(seq >> (8 * (6 - i)));
    pt[7] = (uint8_t)((host_to_target ? 0x80 : 0) | pad);
    if (body_len)
        memcpy(pt + KDNET_INNER_SIZE, body, body_len);
    memset(pt + KDNET_INNER_SIZE + body_len, 0, pad);

    /* MAC-then-encrypt: the tag is taken over the plaintext and then serves
     * as the IV, so the plaintext is encrypted in place after the HMAC. */
    int rc = hmac_tag(keys->hmac, out, pt, pt_len, tag);
    if (rc != KD_OK)
        goto wipe_out;
    rc = aes_cbc(1, keys->enc, tag, pt, pt_len, pt);
    if (rc != KD_OK)
        goto wipe_out;
    *used = total;
    return KD_OK;

wipe_out:
    OPENSSL_cleanse(out, total);
    return rc;
}

int kdnet_control_kind(const uint8_t *body, size_t len)
{
    if (!body || len < 2 || body[CTRL_OFF_VERSION] != CTRL_VERSION)
        return KD_ERR_FORMAT;
    if (body[CTRL_OFF_KIND] == KDNET_CTRL_POKE && len >= KDNET_POKE_BODY)
        return KDNET_CTRL_POKE;
    if (body[CTRL_OFF_KIND] == KDNET_CTRL_RESPONSE && len >= KDNET_RESPONSE_BODY)
        return KDNET_CTRL_RESPONSE;
    return KD_ERR_FORMAT;
}

/* Shared checks of the two parsers: version byte, kind, length. */
static int check_control(const uint8_t *body, size_t len, uint8_t kind, size_t size)
{
    if (len < 2)
        return KD_ERR_TRUNCATED;
    if (body[CTRL_OFF_VERSION] != CTRL_VERSION || body[CTRL_OFF_KIND] != kind)
        return KD_ERR_FORMAT;
    return len < size ? KD_ERR_TRUNCATED : KD_OK;
}

int kdnet_poke_parse(const uint8_t *body, size_t len, struct kdnet_poke *out)
{
    if (!body || !out)
        return KD_ERR_ARG;
    memset(out, 0, sizeof *out);
    int rc = check_control(body, len, KDNET_CTRL_POKE, KDNET_POKE_BODY);
    if (rc != KD_OK)
        return rc;
    memcpy(out->nonce, body + POKE_OFF_NONCE, 32);
    memcpy(out->target_ip, body + POKE_OFF_TARGET_IP, 16);
    out->target_port = kd_be16(body + POKE_OFF_TARGET_PORT);
    memcpy(out->host_ip, body + POKE_OFF_HOST_IP, 16);
    out->host_port = kd_be16(body + POKE_OFF_HOST_PORT);
    memcpy(out->third_ip, body + POKE_OFF_THIRD_IP, 16);
    out->third_port = kd_be16(body + POKE_OFF_THIRD_PORT);
    return KD_OK;
}

int kdnet_poke_build(const struct kdnet_poke *in, uint8_t out[KDNET_POKE_BODY])
{
    if (!in || !out)
        return KD_ERR_ARG;
    memset(out, 0, KDNET_POKE_BODY);
    out[CTRL_OFF_VERSION] = CTRL_VERSION;
    out[CTRL_OFF_KIND] = KDNET_CTRL_POKE;
    memcpy(out + POKE_OFF_NONCE, in->nonce, 32);
    memcpy(out + POKE_OFF_TARGET_IP, in->target_ip, 16);
    kd_putbe16(out + POKE_OFF_TARGET_PORT, in->target_port);
    memcpy(out + POKE_OFF_HOST_IP, in->host_ip, 16);
    kd_putbe16(out + POKE_OFF_HOST_PORT, in->host_port);
    memcpy(out + POKE_OFF_THIRD_IP, in->third_ip, 16);
    kd_putbe16(out + POKE_OFF_THIRD_PORT, in->third_port);
    return KD_OK;
}

int kdnet_response_parse(const uint8_t *body, size_t len, struct kdnet_response *out)
{
    if (!body || !out)
        return KD_ERR_ARG;
    memset(out, 0, sizeof *out);
    int rc = check_control(body, len, KDNET_CTRL_RESPONSE, KDNET_RESPONSE_BODY);
    if (rc != KD_OK)
        return rc;
    memcpy(out->target_nonce, body + RESP_OFF_TARGET_NONCE, 32);
    memcpy(out->host_nonce, body + RESP_OFF_HOST_NONCE, 32);
    return KD_OK;
}

int kdnet_response_build(const struct kdnet_response *in, uint8_t out[KDNET_RESPONSE_BODY])
{
    if (!in || !out)
        return KD_ERR_ARG;
    memset(out, 0, KDNET_RESPONSE_BODY);
    out[CTRL_OFF_VERSION] = CTRL_VERSION;
    out[CTRL_OFF_KIND] = KDNET_CTRL_RESPONSE;
    memcpy(out + RESP_OFF_TARGET_NONCE, in->target_nonce, 32);
    memcpy(out + RESP_OFF_HOST_NONCE, in->host_nonce, 32);
    return KD_OK;
}
