/* kdnet_passive.c: key tracking for a KDNET conversation seen from outside. */
#include "kdnet_passive.h"
#include "kd_status.h"

#include <string.h>

void kdnet_passive_init(struct kdnet_passive *p, const uint8_t control_key[32])
{
    memset(p, 0, sizeof *p);
    memcpy(p->control_key, control_key, 32);
    kdnet_keys_control(control_key, &p->control);
}

int kdnet_passive_feed(struct kdnet_passive *p, const uint8_t *dgram, size_t len, uint8_t *plain,
                       size_t plain_cap, struct kdnet_passive_out *out)
{
    uint8_t version, channel;
    memset(out, 0, sizeof *out);
    int rc = kdnet_peek(dgram, len, &version, &channel);
    if (rc != KD_OK)
        return rc;
    if (channel != KDNET_CHANNEL_CONTROL) {
        if (!p->have_data_key)
            return KD_ERR_NOKEY;
        return kdnet_open(&p->data, dgram, len, plain, plain_cap, &out->dg);
    }
    rc = kdnet_open(&p->control, dgram, len, plain, plain_cap, &out->dg);
    if (rc != KD_OK)
        return rc;
    int kind = kdnet_control_kind(out->dg.body, out->dg.body_len);
    out->control_kind = kind > 0 ? kind : 0;
    /* Only the host's answer keys the data channel; a target re-poking
     * during a session does not (WinDbg ignores those pokes). */
    if (kind == KDNET_CTRL_RESPONSE && out->dg.host_to_target &&
        out->dg.body_len >= KDNET_RESPONSE_BODY) {
        rc = kdnet_keys_data(p->control_key, out->dg.body, &p->data);
        if (rc != KD_OK)
            return rc;
        p->have_data_key = true;
        p->handshakes++;
        out->rekeyed = true;
    }
    return KD_OK;
}
