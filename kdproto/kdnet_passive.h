/* kdnet_passive.h: following a KDNET conversation from the outside (a
 * capture, or a replay): control datagrams open with the control key, the
 * host's handshake response fixes the data key, data datagrams open with it.
 * Pure: datagrams in, authenticated plaintext out. */
#ifndef KDNET_PASSIVE_H
#define KDNET_PASSIVE_H

#include "kdnet.h"

#include <stdbool.h>
#include <stdint.h>

struct kdnet_passive {
    uint8_t control_key[32];
    struct kdnet_keys control;
    struct kdnet_keys data;
    bool have_data_key;
    unsigned handshakes; /* responses seen (each re-keys the data channel) */
};

struct kdnet_passive_out {
    struct kdnet_datagram dg; /* valid when the status is KD_OK */
    int control_kind;         /* KDNET_CTRL_POKE/RESPONSE on the control channel, else 0 */
    bool rekeyed;             /* this datagram was a handshake response: new data key */
};

void kdnet_passive_init(struct kdnet_passive *p, const uint8_t control_key[32]);

/* Opens one datagram. Returns KD_OK (out filled, body in plain), KD_ERR_AUTH
 * (the key does not verify it), KD_ERR_NOKEY (data channel before any
 * handshake was seen), or KD_ERR_FORMAT (not a KDNET datagram). */
int kdnet_passive_feed(struct kdnet_passive *p, const uint8_t *dgram, size_t len, uint8_t *plain,
                       size_t plain_cap, struct kdnet_passive_out *out);

#endif
