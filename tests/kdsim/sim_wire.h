/* sim_wire.h: kdsim's KD target end, with no I/O of its own: the host's
 * bytes (serial framing: pty, TCP, Unix socket) or datagrams (KDNET) go in,
 * the packets to send come out with the time they are due; the caller owns
 * the sockets and the clock (tests drive it with byte sequences alone).
 *
 * It is the codec in the TARGET role: kd_framer + kd_link (serial) or
 * kdnet poke/response/data channel + kd_link (KDNET). While the machine
 * runs, one scenario tick passes every tick_ms; a break-in byte, a
 * breakpoint or the crash stops it: DEBUG_IO prints first, then
 * STATE_CHANGE64, then manipulate requests are answered (GetVersion,
 * Read/WriteVirtualMemory, Read/WriteControlSpace, Get/SetContext(Ex),
 * Write/RestoreBreakPoint, SwitchProcessor) until Continue/Continue2. Like
 * a real kernel it never steps over an int3 itself (sim_target strict_int3).
 * Impairments (corrupt, drop, dup, delay, baud) apply to what it sends, from
 * a seeded generator; reset_after restarts its link ids once. */
#ifndef SIM_WIRE_H
#define SIM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_target.h"

struct sim_wire_config {
    bool kdnet;            /* KDNET datagrams instead of serial bytes */
    const char *kdnet_key; /* "a.b.c.d" (KDNET) */
    uint8_t host_ip[4];    /* KDNET: the host's IPv4 (poke, connection check) */
    uint16_t host_port;
    uint8_t target_ip[4];
    uint16_t target_port;
    uint32_t tick_ms;          /* real ms per scenario tick while running (default 16) */
    uint32_t baud;             /* serial pacing in bits/s, 0 = none */
    double corrupt, drop, dup; /* per outgoing packet probabilities */
    uint32_t delay_ms;         /* every outgoing packet waits this long */
    uint32_t reset_after;      /* send one RESET after this many data packets (0 = never) */
    uint64_t seed;             /* impairments and nonces */
    bool verbose;              /* log every request */
    void (*log)(void *user, const char *line); /* one line per notable event, may be NULL */
    void *user;
};

struct sim_wire_stats {
    uint64_t packets_in, packets_out, bad_in, resends_sent, breakins, state_changes;
    uint64_t requests, prints, dropped, corrupted, duplicated, handshakes;
};

struct sim_wire;

/* t is borrowed (it must run with strict_int3 to behave like a kernel). */
int sim_wire_new(struct sim_target *t, const struct sim_wire_config *cfg, struct sim_wire **out);
void sim_wire_free(struct sim_wire *w);

/* Host input at now_ms: serial bytes (any chunking) or one KDNET datagram. */
int sim_wire_input(struct sim_wire *w, uint64_t now_ms, const uint8_t *buf, size_t len);

/* Timers at now_ms: scenario ticks, ACK timeouts, KDNET pokes. */
int sim_wire_poll(struct sim_wire *w, uint64_t now_ms);

/* Next packet due by now_ms (serial bytes or one datagram): KD_OK with
 * *data and *len valid until the next call on w, KD_ERR_NOTFOUND when none. */
int sim_wire_next_out(struct sim_wire *w, uint64_t now_ms, const uint8_t **data, size_t *len);

/* Earliest time anything is due (output, tick, timeout, poke); UINT64_MAX if none. */
uint64_t sim_wire_next_due(const struct sim_wire *w);

/* The host went away (stream closed): link state restarts for the next one. */
void sim_wire_disconnected(struct sim_wire *w);

bool sim_wire_stopped(const struct sim_wire *w);
void sim_wire_stats(const struct sim_wire *w, struct sim_wire_stats *out);

#endif
