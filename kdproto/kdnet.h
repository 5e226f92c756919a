/* kdnet.h: KDNET datagrams (MDBG): key text, key derivation, AES-256-CBC +
 * HMAC-SHA256 through OpenSSL EVP, and the control-channel handshake. Pure:
 * buffers in, buffers out, no sockets. */
#ifndef KDNET_H
#define KDNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KDNET_MAGIC 0x4D444247u /* "MDBG", big-endian on the wire */
#define KDNET_HEADER_SIZE 6     /* magic, version, channel */
#define KDNET_TAG_SIZE 16       /* truncated HMAC-SHA256, also the CBC IV */
#define KDNET_INNER_SIZE 8      /* 56-bit BE sequence, direction|padding */
#define KDNET_CHANNEL_DATA 0
#define KDNET_CHANNEL_CONTROL 1
#define KDNET_POKE_BODY 344
#define KDNET_RESPONSE_BODY 322
#define KDNET_MAX_DATAGRAM 4096 /* 6 + 8 + one KD packet (16 + 4000) + padding + tag fits */
#define KDNET_MIN_DATAGRAM (KDNET_HEADER_SIZE + 16 + KDNET_TAG_SIZE) /* one cipher block */
#define KDNET_MAX_UDP 65535 /* no datagram can be longer; bounds open and seal */

/* The two 32-byte keys a channel needs. */
struct kdnet_keys {
    uint8_t enc[32];  /* AES-256 key: control key, or the data key after the handshake */
    uint8_t hmac[32]; /* HMAC key: NOT of the control key, for both channels */
};

/* Parses "a.b.c.d" (four base-36 numbers, [0-9a-z], case-insensitive, each < 2^64)
 * into the 32-byte control key (four u64, little-endian). On error returns
 * KD_ERR_KEY (KD_ERR_ARG if text or control_key is NULL), zeroes control_key,
 * and sets *bad_part to the 1-based part at fault (0 for the wrong number of
 * parts) and *why to a static reason ("empty", "too long" (over 13
 * characters), "too large" (13 characters but >= 2^64), "bad character",
 * "wrong number of parts"). On success *bad_part = 0 and *why = NULL.
 * bad_part and why may be NULL. */
int kdnet_key_parse(const char *text, uint8_t control_key[32], int *bad_part, const char **why);

/* Control-channel keys from the control key (enc = control key, hmac = ~control key).
 * Does nothing if either pointer is NULL. */
void kdnet_keys_control(const uint8_t control_key[32], struct kdnet_keys *out);

/* Data-channel keys: enc = SHA-256(control_key || response body [8..330) of
 * the host's response plaintext, i.e. the 322-byte body), hmac = ~control key.
 * KD_ERR_ARG for NULL pointers, KD_ERR_CRYPTO if OpenSSL fails (*out zeroed). */
int kdnet_keys_data(const uint8_t control_key[32], const uint8_t response_body[KDNET_RESPONSE_BODY],
                    struct kdnet_keys *out);

/* A decrypted, authenticated datagram. body points into the caller's plain buffer. */
struct kdnet_datagram {
    uint8_t version;     /* protocol version byte (2, 4, 5 seen) */
    uint8_t channel;     /* KDNET_CHANNEL_DATA or KDNET_CHANNEL_CONTROL */
    uint64_t seq;        /* 56-bit sequence */
    bool host_to_target; /* direction bit */
    uint8_t pad;         /* padding bytes removed from the end */
    const uint8_t *body; /* plaintext after the 8-byte inner header, padding removed */
    size_t body_len;
};

/* Reads the clear header only (magic, version, channel). KD_ERR_FORMAT if
 * not MDBG, too short to hold header + one block + tag, or longer than
 * KDNET_MAX_UDP. The channel byte is reported as is (0 and 1 are known).
 * version and channel may be NULL. */
int kdnet_peek(const uint8_t *dgram, size_t len, uint8_t *version, uint8_t *channel);

/* Verifies the HMAC and decrypts. plain must hold the ciphertext, len - 22
 * bytes (KD_ERR_NOSPACE otherwise) and must not overlap dgram (KD_ERR_ARG). Order:
 * decrypt into plain, compute HMAC over header+plaintext, compare in
 * constant time; on mismatch returns KD_ERR_AUTH, wipes plain and leaves
 * *out zeroed. KD_ERR_FORMAT (before any crypto) for bad magic, a datagram
 * shorter than KDNET_MIN_DATAGRAM or longer than KDNET_MAX_UDP, ciphertext
 * not a multiple of 16; KD_ERR_FORMAT (after authentication) for a padding
 * count above 15 or beyond the plaintext. The key is not checked against
 * the channel: the caller picks keys by channel (kdnet_peek). */
int kdnet_open(const struct kdnet_keys *keys, const uint8_t *dgram, size_t len, uint8_t *plain,
               size_t plain_cap, struct kdnet_datagram *out);

/* Encrypts body into a datagram: inner header (seq, direction, padding),
 * zero padding to 16, HMAC tag, AES-256-CBC with IV = tag. *used = bytes,
 * exactly kdnet_seal_size(body_len). body may be NULL when body_len is 0 and
 * must not overlap out. KD_ERR_ARG for that, for NULL keys/out/used, for a
 * channel other than 0/1 or a seq of 2^56 or more; KD_ERR_LENGTH if the
 * datagram would exceed KDNET_MAX_UDP; KD_ERR_NOSPACE if cap is too small.
 * On error *used = 0 and out holds no plaintext. */
int kdnet_seal(const struct kdnet_keys *keys, uint8_t version, uint8_t channel, uint64_t seq,
               bool host_to_target, const uint8_t *body, size_t body_len, uint8_t *out, size_t cap,
               size_t *used);

/* Datagram length kdnet_seal produces for a body: 6 + 16k + 16 where 16k is
 * 8 + body_len rounded up to 16. 0 if that would exceed KDNET_MAX_UDP. */
size_t kdnet_seal_size(size_t body_len);

/* Control-channel handshake bodies (plaintext after the inner header). */
struct kdnet_poke {
    uint8_t nonce[32];     /* target nonce */
    uint8_t target_ip[16]; /* IPv6 or IPv4-mapped */
    uint16_t target_port;
    uint8_t host_ip[16];
    uint16_t host_port;
    uint8_t third_ip[16];
    uint16_t third_port;
};
struct kdnet_response {
    uint8_t target_nonce[32];
    uint8_t host_nonce[32];
};
#define KDNET_CTRL_POKE 0x01
#define KDNET_CTRL_RESPONSE 0x02

/* Which control message a control body is (KDNET_CTRL_POKE/RESPONSE): byte 0
 * is 0x01, byte 1 the kind, and the body is at least that message's size
 * (longer bodies are accepted, the rest ignored); else KD_ERR_FORMAT.
 * The parsers add KD_ERR_TRUNCATED for a short body and KD_ERR_FORMAT for
 * another kind; the 256 zero bytes at the end are not checked. The builders
 * write the whole body (zeros included); KD_ERR_ARG for NULL pointers. */
int kdnet_control_kind(const uint8_t *body, size_t len);
int kdnet_poke_parse(const uint8_t *body, size_t len, struct kdnet_poke *out);
int kdnet_poke_build(const struct kdnet_poke *in, uint8_t out[KDNET_POKE_BODY]);
int kdnet_response_parse(const uint8_t *body, size_t len, struct kdnet_response *out);
int kdnet_response_build(const struct kdnet_response *in, uint8_t out[KDNET_RESPONSE_BODY]);

#endif
