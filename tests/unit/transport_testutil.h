/* transport_testutil.h: helpers for the transport and recorder tests: exact
 * reads with deadlines, KD packets, and a fake KDNET target on a loopback
 * UDP socket (another port than the host, as a target on the same machine
 * must use). Everything waits with poll() and a deadline, never sleeps. */
#ifndef TRANSPORT_TESTUTIL_H
#define TRANSPORT_TESTUTIL_H

#include "kd_le.h"
#include "kd_status.h"
#include "kdnet.h"
#include "transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TU_WAIT_MS 5000 /* generous: only a broken test waits this long */

static inline bool tu_wait_fd(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) == 1;
}

/* Reads exactly n bytes from a stream transport. */
static inline int tu_read_exact(struct transport *t, uint8_t *buf, size_t n)
{
    size_t have = 0;
    while (have < n) {
        size_t got = 0;
        int rc = transport_read(t, buf + have, n - have, TU_WAIT_MS, &got);
        if (rc < 0)
            return rc;
        have += got;
    }
    return KD_OK;
}

/* A KD data packet (serial layout when trailer) into out; returns its size. */
static inline size_t tu_kd_packet(uint8_t *out, uint16_t type, uint32_t id, const uint8_t *payload,
                                  size_t len, bool trailer)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += payload[i];
    kd_put32(out, 0x30303030u);
    kd_put16(out + 4, type);
    kd_put16(out + 6, (uint16_t)len);
    kd_put32(out + 8, id);
    kd_put32(out + 12, sum);
    memcpy(out + 16, payload, len);
    if (trailer)
        out[16 + len] = 0xAA;
    return 16 + len + (trailer ? 1 : 0);
}

/* A ReadVirtualMemory request payload (DBGKD_MANIPULATE_STATE64, 0x38 bytes). */
static inline size_t tu_read_memory_request(uint8_t *out, uint64_t addr, uint32_t len)
{
    memset(out, 0, 0x38);
    kd_put32(out, 0x3130); /* DbgKdReadVirtualMemoryApi */
    kd_put64(out + 0x10, addr);
    kd_put32(out + 0x18, len);
    return 0x38;
}

struct tu_target {
    int fd;
    uint16_t port;
    struct sockaddr_in host;
    uint8_t control_key[32];
    struct kdnet_keys control, data;
    uint64_t seq, poke_seq;
    uint8_t nonce[32];
    uint8_t version;
};

static inline int tu_target_init(struct tu_target *tt, const char *key, uint16_t host_port)
{
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof me;
    memset(tt, 0, sizeof *tt);
    tt->version = 2;
    tt->poke_seq = 1000;
    if (kdnet_key_parse(key, tt->control_key, NULL, NULL) < 0)
        return KD_ERR_KEY;
    kdnet_keys_control(tt->control_key, &tt->control);
    tt->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (tt->fd < 0 || bind(tt->fd, (struct sockaddr *)&me, sizeof me) < 0 ||
        getsockname(tt->fd, (struct sockaddr *)&me, &sl) < 0)
        return KD_ERR_IO;
    tt->port = ntohs(me.sin_port);
    tt->host = (struct sockaddr_in){.sin_family = AF_INET,
                                    .sin_port = htons(host_port),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return KD_OK;
}

static inline void tu_target_fini(struct tu_target *tt)
{
    if (tt->fd >= 0)
        close(tt->fd);
    tt->fd = -1;
}

static inline int tu_target_send_raw(struct tu_target *tt, const uint8_t *d, size_t n)
{
    return sendto(tt->fd, d, n, 0, (struct sockaddr *)&tt->host, sizeof tt->host) == (ssize_t)n
               ? KD_OK
               : KD_ERR_IO;
}

/* Sends a poke; a new nonce each time (its first byte counts pokes). */
static inline int tu_target_poke(struct tu_target *tt)
{
    struct kdnet_poke poke = {0};
    uint8_t body[KDNET_POKE_BODY], d[KDNET_MAX_DATAGRAM];
    size_t used;
    tt->nonce[0]++;
    for (int i = 1; i < 32; i++)
        tt->nonce[i] = (uint8_t)(i * 7 + tt->port);
    memcpy(poke.nonce, tt->nonce, 32);
    poke.target_ip[10] = poke.target_ip[11] = 0xff;
    poke.target_ip[12] = 127;
    poke.target_ip[15] = 1;
    poke.target_port = tt->port;
    memcpy(poke.host_ip, poke.target_ip, 16);
    poke.host_port = ntohs(tt->host.sin_port);
    tt->poke_seq += 3;
    if (kdnet_poke_build(&poke, body) < 0 ||
        kdnet_seal(&tt->control, tt->version, KDNET_CHANNEL_CONTROL, tt->poke_seq, false, body,
                   sizeof body, d, sizeof d, &used) < 0)
        return KD_ERR_CRYPTO;
    return tu_target_send_raw(tt, d, used);
}

/* Waits for the host's response and derives the data key from it. */
static inline int tu_target_take_response(struct tu_target *tt)
{
    uint8_t d[KDNET_MAX_DATAGRAM + 64], plain[KDNET_MAX_DATAGRAM + 64];
    struct kdnet_datagram dg;
    struct kdnet_response resp;
    if (!tu_wait_fd(tt->fd, TU_WAIT_MS))
        return KD_ERR_TIMEOUT;
    ssize_t n = recv(tt->fd, d, sizeof d, 0);
    if (n <= 0)
        return KD_ERR_IO;
    int rc = kdnet_open(&tt->control, d, (size_t)n, plain, sizeof plain, &dg);
    if (rc < 0)
        return rc;
    if (dg.channel != KDNET_CHANNEL_CONTROL || !dg.host_to_target || dg.seq != tt->poke_seq ||
        kdnet_response_parse(dg.body, dg.body_len, &resp) < 0 ||
        memcmp(resp.target_nonce, tt->nonce, 32) != 0)
        return KD_ERR_FORMAT;
    tt->seq = 0;
    return kdnet_keys_data(tt->control_key, dg.body, &tt->data);
}

/* Lets the host transport handle what is queued for it (nothing to deliver expected). */
static inline int tu_host_step(struct transport *host, uint8_t *buf, size_t cap, size_t *got)
{
    if (!tu_wait_fd(transport_fd(host), TU_WAIT_MS))
        return KD_ERR_TIMEOUT - 100; /* distinct: nothing even arrived */
    return transport_read(host, buf, cap, 0, got);
}

/* Poke, host answers, target keys itself. */
static inline int tu_target_handshake(struct tu_target *tt, struct transport *host)
{
    uint8_t buf[TRANSPORT_MESSAGE_MAX];
    size_t got;
    int rc = tu_target_poke(tt);
    if (rc < 0)
        return rc;
    rc = tu_host_step(host, buf, sizeof buf, &got);
    if (rc != KD_ERR_TIMEOUT)
        return rc < 0 ? rc : KD_ERR_STATE;
    return tu_target_take_response(tt);
}

/* Seals one data-channel body with the target's next sequence number. */
static inline int tu_target_seal(struct tu_target *tt, const struct kdnet_keys *keys,
                                 const uint8_t *body, size_t len, uint8_t *d, size_t cap,
                                 size_t *used)
{
    return kdnet_seal(keys, tt->version, KDNET_CHANNEL_DATA, ++tt->seq, false, body, len, d, cap,
                      used);
}

static inline int tu_target_send(struct tu_target *tt, const uint8_t *body, size_t len)
{
    uint8_t d[KDNET_MAX_DATAGRAM];
    size_t used;
    int rc = tu_target_seal(tt, &tt->data, body, len, d, sizeof d, &used);
    return rc < 0 ? rc : tu_target_send_raw(tt, d, used);
}

/* Receives one data datagram from the host and opens it with keys. */
static inline int tu_target_recv(struct tu_target *tt, const struct kdnet_keys *keys, uint8_t *body,
                                 size_t cap, size_t *len, uint64_t *seq)
{
    uint8_t d[KDNET_MAX_DATAGRAM + 64], plain[KDNET_MAX_DATAGRAM + 64];
    struct kdnet_datagram dg;
    if (!tu_wait_fd(tt->fd, TU_WAIT_MS))
        return KD_ERR_TIMEOUT;
    ssize_t n = recv(tt->fd, d, sizeof d, 0);
    if (n <= 0)
        return KD_ERR_IO;
    int rc = kdnet_open(keys, d, (size_t)n, plain, sizeof plain, &dg);
    if (rc < 0)
        return rc;
    if (dg.channel != KDNET_CHANNEL_DATA || !dg.host_to_target || dg.body_len > cap)
        return KD_ERR_FORMAT;
    memcpy(body, dg.body, dg.body_len);
    *len = dg.body_len;
    *seq = dg.seq;
    return KD_OK;
}

#endif
