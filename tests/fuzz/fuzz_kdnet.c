/* fuzz_kdnet.c: every KDNET parser through its buffer entry point. A random
 * datagram almost never passes the HMAC, so the input is also sealed as a
 * body and opened again: that drives the inner-header and padding code with
 * arbitrary contents. Any broken invariant aborts. The keys are fixed
 * (kdnet_fuzz_keys.h); the seed corpus is sealed under them by
 * gen_kdnet_corpus.c, so its datagrams open (control and data channel). */
#include "kd_status.h"
#include "kdnet.h"
#include "kdnet_fuzz_keys.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Control bodies: kind and parsers agree, and build(parse(x)) gives back
 * every byte the parser read. */
static void fuzz_control(const uint8_t *b, size_t n)
{
    int kind = kdnet_control_kind(b, n);
    struct kdnet_poke pk;
    struct kdnet_response rs;
    uint8_t out[KDNET_POKE_BODY];
    if (kdnet_poke_parse(b, n, &pk) == KD_OK) {
        if (kind != KDNET_CTRL_POKE || kdnet_poke_build(&pk, out) != KD_OK || memcmp(out, b, 88))
            abort();
    } else if (kind == KDNET_CTRL_POKE) {
        abort();
    }
    if (kdnet_response_parse(b, n, &rs) == KD_OK) {
        if (kind != KDNET_CTRL_RESPONSE || kdnet_response_build(&rs, out) != KD_OK ||
            memcmp(out, b, 66))
            abort();
    } else if (kind == KDNET_CTRL_RESPONSE) {
        abort();
    }
}

static void fuzz_open(const struct kdnet_keys *k, const uint8_t *dg, size_t n, uint8_t *plain)
{
    struct kdnet_datagram d;
    int rc = kdnet_open(k, dg, n, plain, n, &d);
    if (rc != KD_OK)
        return;
    if (d.body != plain + KDNET_INNER_SIZE || d.pad > 15 ||
        KDNET_HEADER_SIZE + KDNET_INNER_SIZE + d.body_len + d.pad + KDNET_TAG_SIZE != n)
        abort();
    if (d.channel == KDNET_CHANNEL_CONTROL)
        fuzz_control(d.body, d.body_len);
}

/* Seal the input as a body, open it, compare; then one flipped byte must fail. */
static void fuzz_round_trip(const struct kdnet_keys *k, const uint8_t *data, size_t size)
{
    size_t total = kdnet_seal_size(size), used = 0;
    if (!total)
        return;
    uint8_t *dg = malloc(total), *plain = malloc(total);
    if (!dg || !plain)
        goto free_bufs;
    uint64_t seq = 0;
    for (size_t i = 0; i < 7 && i < size; i++)
        seq = seq << 8 | data[i];
    uint8_t version = size ? data[size - 1] : 0, channel = size & 1;
    bool h2t = (size & 2) != 0;
    if (kdnet_seal(k, version, channel, seq, h2t, data, size, dg, total, &used) != KD_OK ||
        used != total)
        abort();
    struct kdnet_datagram d;
    if (kdnet_open(k, dg, used, plain, total, &d) != KD_OK || d.version != version ||
        d.channel != channel || d.seq != seq || d.host_to_target != h2t || d.body_len != size ||
        (size && memcmp(d.body, data, size)))
        abort();
    size_t at = 4 + seq % (used - 4); /* past the magic, which fails as FORMAT */
    dg[at] ^= (uint8_t)(1u << (seq & 7));
    if (kdnet_open(k, dg, used, plain, total, &d) != KD_ERR_AUTH)
        abort();
free_bufs:
    free(dg);
    free(plain);
}

static void fuzz_key_text(const uint8_t *data, size_t size)
{
    char text[80];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = 0;
    uint8_t key[32];
    int part = -1;
    const char *why = NULL;
    int rc = kdnet_key_parse(text, key, &part, &why);
    if (rc == KD_OK ? (part != 0 || why) : (rc != KD_ERR_KEY || part < 0 || part > 4 || !why))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kdnet_keys ctl, dat;
    kdnet_keys_control(kdnet_fuzz_keys_control, &ctl);
    dat = ctl;
    memcpy(dat.enc, kdnet_fuzz_keys_data, sizeof kdnet_fuzz_keys_data);

    uint8_t version, channel;
    (void)kdnet_peek(data, size, &version, &channel);
    uint8_t *plain = malloc(size ? size : 1);
    if (plain) {
        fuzz_open(&ctl, data, size, plain);
        fuzz_open(&dat, data, size, plain);
        free(plain);
    }
    fuzz_control(data, size);
    fuzz_round_trip(size & 4 ? &dat : &ctl, data, size);
    fuzz_key_text(data, size);
    return 0;
}
