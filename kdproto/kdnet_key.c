/* kdnet_key.c: the KDNET key text and the keys derived from it.
 * The key is a secret: local copies are wiped before returning. */
#include "kd_le.h"
#include "kd_status.h"
#include "kdnet.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#define KEY_PARTS 4
#define KEY_PART_MAX_CHARS 13 /* 36^13 > 2^64 > 36^12: the longest part bcdedit allows */

/* Value of one base-36 digit, or -1. Case-insensitive, locale-free. */
static int digit36(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

/* Parses text[0..n) as one part; returns NULL or the reason it is bad. */
static const char *parse_part(const char *text, size_t n, uint64_t *value)
{
    if (n == 0)
        return "empty";
    /* A bad character is named before the length, so "1.2.3.4!" says '!'. */
    for (size_t i = 0; i < n; i++)
        if (digit36(text[i]) < 0)
            return "bad character";
    if (n > KEY_PART_MAX_CHARS)
        return "too long";
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)digit36(text[i]);
        if (v > (UINT64_MAX - d) / 36)
            return "too large";
        v = v * 36 + d;
    }
    *value = v;
    return NULL;
}

int kdnet_key_parse(const char *text, uint8_t control_key[32], int *bad_part, const char **why)
{
    int part = 0;
    const char *reason = NULL;
    if (bad_part)
        *bad_part = 0;
    if (why)
        *why = NULL;
    if (!control_key)
        return KD_ERR_ARG;
    memset(control_key, 0, 32);
    if (!text)
        return KD_ERR_ARG;

    size_t dots = 0;
    for (const char *p = text; *p; p++)
        dots += *p == '.';
    if (dots != KEY_PARTS - 1) {
        reason = "wrong number of parts";
        goto fail;
    }
    const char *start = text;
    for (part = 1; part <= KEY_PARTS; part++) {
        const char *end = strchr(start, '.');
        size_t n = end ? (size_t)(end - start) : strlen(start);
        uint64_t v = 0;
        reason = parse_part(start, n, &v);
        if (reason)
            goto fail;
        kd_put64(control_key + 8 * (part - 1), v);
        start += n + 1;
    }
    return KD_OK;

fail:
    OPENSSL_cleanse(control_key, 32);
    if (bad_part)
        *bad_part = part; /* 0 when the count of parts is wrong */
    if (why)
        *why = reason;
    return KD_ERR_KEY;
}

void kdnet_keys_control(const uint8_t control_key[32], struct kdnet_keys *out)
{
    if (!control_key || !out)
        return;
    memcpy(out->enc, control_key, 32);
    for (int i = 0; i < 32; i++)
        out->hmac[i] = (uint8_t)~control_key[i];
}

int kdnet_keys_data(const uint8_t control_key[32], const uint8_t response_body[KDNET_RESPONSE_BODY],
                    struct kdnet_keys *out)
{
    if (!control_key || !response_body || !out)
        return KD_ERR_ARG;
    uint8_t input[32 + KDNET_RESPONSE_BODY];
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    int rc = KD_OK;

    memcpy(input, control_key, 32);
    memcpy(input + 32, response_body, KDNET_RESPONSE_BODY);
    if (EVP_Digest(input, sizeof input, digest, &digest_len, EVP_sha256(), NULL) != 1 ||
        digest_len != 32) {
        OPENSSL_cleanse(out, sizeof *out);
        rc = KD_ERR_CRYPTO;
        goto wipe;
    }
    /* The HMAC key stays the control key's complement on the data channel. */
    kdnet_keys_control(control_key, out);
    memcpy(out->enc, digest, 32);
wipe:
    OPENSSL_cleanse(input, sizeof input);
    OPENSSL_cleanse(digest, sizeof digest);
    return rc;
}
