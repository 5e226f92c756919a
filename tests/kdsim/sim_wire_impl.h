/* sim_wire_impl.h: the inside of struct sim_wire, shared by sim_wire.c (link,
 * framing, KDNET, timers, impairments) and sim_wire_manip.c (the answers to
 * manipulate requests). Not for other users. */
#ifndef SIM_WIRE_IMPL_H
#define SIM_WIRE_IMPL_H

#include "kd_api.h"
#include "kd_framer.h"
#include "kd_link.h"
#include "kdnet.h"
#include "sim_wire.h"

#define SIM_WIRE_QUEUE 16 /* data packets waiting for the link */
#define SIM_WIRE_UNITS 64 /* packets waiting for their send time */

struct sim_wire_pkt {
    uint16_t type;
    size_t len;
    uint8_t data[KD_PACKET_MAX];
};

struct sim_wire_unit {
    uint8_t *data;
    size_t len;
    uint64_t due;
};

struct sim_wire {
    struct sim_wire_config cfg;
    struct sim_target *t;
    struct kd_target kt;
    struct kd_link link;
    struct kd_framer framer;
    bool running;       /* the machine runs (no stop reported and not continued yet) */
    bool started;       /* a host has broken in: the scenario clock runs */
    uint64_t start_due; /* the clock starts anyway then (0: no host heard yet) */
    uint64_t next_tick; /* real ms of the next scenario tick */
    uint64_t ack_due;   /* resend the pending packet then (0: none pending) */
    uint64_t poke_due;  /* KDNET: next poke */
    uint64_t rng;
    uint64_t data_sent;
    bool relink;            /* restart the link ids when the pending packet is through */
    struct sim_wire_pkt *q; /* ring of SIM_WIRE_QUEUE */
    size_t qhead, qcount;
    struct sim_wire_unit units[SIM_WIRE_UNITS];
    size_t uhead, ucount;
    uint8_t *last_out;  /* the unit handed out by sim_wire_next_out */
    uint64_t line_free; /* serial pacing: when the line is free again */
    /* KDNET */
    uint8_t control_key[32];
    struct kdnet_keys ctl, data;
    bool keyed;
    uint64_t tx_seq, rx_seq, ctl_seq;
    uint8_t nonce[32];
    struct sim_wire_stats stats;
    /* The last state change reported, sent again when the host resets the
     * link while the machine is stopped (kdcom's KdpSendWaitContinue does). */
    uint8_t last_sc[KD_PACKET_MAX];
    size_t last_sc_len;
    uint8_t tx[KD_PACKET_MAX];
    uint8_t buf[KD_API_MANIP_DATA_MAX + KD_API_CONTEXT_AMD64_SIZE];
    uint8_t plain[KDNET_MAX_UDP];
    uint8_t dgram[KDNET_MAX_DATAGRAM + 64];
};

/* Queues a data packet for the link (sent when the previous one is ACKed). */
int sim_wire_queue_data(struct sim_wire *w, uint64_t now, uint16_t type, const uint8_t *payload,
                        size_t len);

/* Reports a stop: pending DbgPrint text, then the state change. */
int sim_wire_report(struct sim_wire *w, uint64_t now, const struct kd_state_change *sc);

/* One line to the log callback. */
void sim_wire_log(struct sim_wire *w, const char *fmt, ...);

/* Answers one STATE_MANIPULATE payload (sim_wire_manip.c). */
int sim_wire_manip_handle(struct sim_wire *w, uint64_t now, const uint8_t *payload, size_t len);

#endif
