/* gen_kdnet_corpus.c: writes the synthetic datagram seeds of
 * tests/fuzz/corpus/kdnet/ (no capture bytes: the real captures stay in
 * ../shared/captures). Each seed is a KD body sealed with kdnet_seal under
 * the harness's fixed keys (kdnet_fuzz_keys.h), so fuzz_kdnet.c opens it and
 * reaches the same paths real traffic does:
 *   ctl-poke.bin        control channel, v4, target poke (344-byte body)
 *   ctl-response.bin    control channel, v4, host response (322-byte body)
 *   data-conncheck.bin  data channel, v4, the 12-byte connection check
 *   data-debugio.bin    data channel, v4, a KD DEBUG_IO packet (PrintString)
 *   data-breakin.bin    data channel, v2, the 1-byte break-in (shortest datagram)
 *   foreign-key.bin     data channel, v5, sealed under key 1.2.3.4: fails
 *                       authentication under both harness keys
 * Sealing is deterministic (the IV is the tag), so the output never changes.
 * Not built by make; to rerun, from the repository root:
 *   make build/libkdcodec.a
 *   cc -std=c11 -Wall -Wextra -Werror -pedantic -I. -Ikdproto tests/fuzz/gen_kdnet_corpus.c \
 *      build/libkdcodec.a -lcrypto -o build/gen_kdnet_corpus
 *   build/gen_kdnet_corpus tests/fuzz/corpus/kdnet
 * It checks every seed opens (or, for foreign-key.bin, does not) before
 * writing it, and exits non-zero on any failure. */
#include "kd_api.h"
#include "kd_status.h"
#include "kd_wire.h"
#include "kdnet.h"
#include "kdnet_fuzz_keys.h"

#include <stdio.h>
#include <string.h>

static const char *out_dir;

/* Seals body under k, checks it opens under `opens` (NULL: under neither
 * harness key) and writes it to out_dir/name. 0 on success. */
static int seed(const char *name, const struct kdnet_keys *k, const struct kdnet_keys *harness[2],
                const struct kdnet_keys *opens, uint8_t version, uint8_t channel, uint64_t seq,
                bool h2t, const uint8_t *body, size_t len)
{
    uint8_t dg[KDNET_MAX_DATAGRAM], plain[KDNET_MAX_DATAGRAM];
    struct kdnet_datagram d;
    size_t used = 0;
    char path[4096];
    if (kdnet_seal(k, version, channel, seq, h2t, body, len, dg, sizeof dg, &used) != KD_OK)
        return fprintf(stderr, "%s: seal failed\n", name), 1;
    for (int i = 0; i < 2; i++) {
        int rc = kdnet_open(harness[i], dg, used, plain, sizeof plain, &d);
        bool want = harness[i] == opens;
        if (want ? rc != KD_OK || d.body_len != len || memcmp(d.body, body, len)
                 : rc != KD_ERR_AUTH)
            return fprintf(stderr, "%s: opens as %d under harness key %d\n", name, rc, i), 1;
    }
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return perror(path), 1;
    int bad = fwrite(dg, 1, used, f) != used;
    bad |= fclose(f) != 0;
    if (bad)
        return perror(path), 1;
    printf("%s: %zu bytes\n", path, used);
    return 0;
}

static void ipv4_mapped(uint8_t ip[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    memset(ip, 0, 16);
    ip[10] = ip[11] = 0xff;
    ip[12] = a, ip[13] = b, ip[14] = c, ip[15] = d;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR (tests/fuzz/corpus/kdnet)\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];

    struct kdnet_keys ctl, dat, foreign;
    const struct kdnet_keys *harness[2] = {&ctl, &dat};
    kdnet_keys_control(kdnet_fuzz_keys_control, &ctl);
    dat = ctl;
    memcpy(dat.enc, kdnet_fuzz_keys_data, sizeof dat.enc);
    uint8_t foreign_key[32];
    if (kdnet_key_parse("1.2.3.4", foreign_key, NULL, NULL) != KD_OK)
        return 1;
    kdnet_keys_control(foreign_key, &foreign);

    /* Handshake: the target's poke, then the host's response echoing its nonce. */
    struct kdnet_poke pk;
    struct kdnet_response rs;
    uint8_t poke[KDNET_POKE_BODY], resp[KDNET_RESPONSE_BODY];
    memset(&pk, 0, sizeof pk);
    for (int i = 0; i < 32; i++) {
        pk.nonce[i] = (uint8_t)(0xa0 + i);
        rs.host_nonce[i] = (uint8_t)(0x40 + 3 * i);
    }
    ipv4_mapped(pk.target_ip, 10, 0, 0, 2);
    ipv4_mapped(pk.host_ip, 10, 0, 0, 1);
    ipv4_mapped(pk.third_ip, 0, 0, 0, 0);
    pk.target_port = pk.host_port = 50000;
    memcpy(rs.target_nonce, pk.nonce, 32);
    if (kdnet_poke_build(&pk, poke) != KD_OK || kdnet_response_build(&rs, resp) != KD_OK)
        return 1;

    /* Data channel: the connection check (id = host 10.0.0.1 as LE u32), a
     * PrintString in a DEBUG_IO packet, the break-in byte. */
    uint8_t conncheck[KD_CONNCHECK_SIZE], io[64], pkt[KD_HEADER_SIZE + 64];
    size_t conncheck_len = 0, io_len = 0, pkt_len = 0;
    static const char text[] = "kdwatch seed\n";
    struct kd_debug_io dio;
    if (kd_wire_build_conncheck(conncheck, sizeof conncheck, 0x0100000au, &conncheck_len) !=
            KD_OK ||
        kd_api_io_print_string(&dio, 0, text, sizeof text - 1) != KD_OK ||
        kd_api_io_debug_encode(&dio, io, sizeof io, &io_len) != KD_OK ||
        kd_wire_build_data(pkt, sizeof pkt, KD_PACKET_TYPE_KD_DEBUG_IO, KD_INITIAL_PACKET_ID, io,
                           io_len, false, &pkt_len) != KD_OK)
        return 1;
    static const uint8_t breakin = KD_BREAKIN_BYTE;

    int bad = 0;
    bad |= seed("ctl-poke.bin", &ctl, harness, &ctl, 4, KDNET_CHANNEL_CONTROL, 3, false, poke,
                sizeof poke);
    bad |= seed("ctl-response.bin", &ctl, harness, &ctl, 4, KDNET_CHANNEL_CONTROL, 3, true, resp,
                sizeof resp);
    bad |= seed("data-conncheck.bin", &dat, harness, &dat, 4, KDNET_CHANNEL_DATA, 1, false,
                conncheck, conncheck_len);
    bad |= seed("data-debugio.bin", &dat, harness, &dat, 4, KDNET_CHANNEL_DATA, 2, false, pkt,
                pkt_len);
    bad |=
        seed("data-breakin.bin", &dat, harness, &dat, 2, KDNET_CHANNEL_DATA, 2, true, &breakin, 1);
    bad |= seed("foreign-key.bin", &foreign, harness, NULL, 5, KDNET_CHANNEL_DATA, 9, true,
                &breakin, 1);
    return bad;
}
