/* session.h: the host end of a KD conversation over any transport. It keeps
 * the packet ids and ACKs (kd_link HOST), frames stream bytes (kd_framer),
 * matches replies to requests, answers what the target asks of a debugger
 * (FILE_IO CreateFile: "no replacement file"; GetString: empty), and exposes
 * the result as a struct kd_target for the monitor. */
#ifndef SESSION_H
#define SESSION_H

#include "kd_api.h"
#include "kd_target.h"
#include "transport.h"

#include <stdbool.h>
#include <stdint.h>

struct session_config {
    int request_timeout_ms; /* wait for an ACK or a reply before retrying (default 1000) */
    int retries;            /* retransmissions of one request (default 5) */
    /* DbgPrint text from the target (not NUL-terminated); may be NULL. */
    void (*on_print)(void *user, const char *text, size_t len);
    void *user;
};

struct session_stats {
    uint64_t requests, replies, retransmits, resends_received, resets_received;
    uint64_t state_changes, prints, file_requests, bad_packets, duplicates;
};

struct session;

/* A session over t (borrowed: the caller frees it after session_free).
 * cfg may be NULL for the defaults. KD_ERR_NOMEM or KD_ERR_ARG. */
int session_new(struct transport *t, const struct session_config *cfg, struct session **out);
void session_free(struct session *s);

/* The host's connect sequence: resynchronise (serial: RESET and break-in,
 * repeated each second; KDNET: wait for the target's handshake, then
 * break in) until the target reports it is stopped. KD_OK with the target
 * stopped and *sc its state change; KD_ERR_TIMEOUT. */
int session_connect(struct session *s, int timeout_ms, struct kd_state_change *sc);

/* The target operations over this session (ctx = s). */
struct kd_target session_target(struct session *s);

/* True between a state change and the next resume. */
bool session_stopped(const struct session *s);

void session_stats(const struct session *s, struct session_stats *out);

/* Detail of the last failure, "" if none. */
const char *session_error(const struct session *s);

/* Pumps the link for up to timeout_ms while the target runs: answers
 * FILE_IO, forwards prints, queues a state change for wait_event. */
int session_poll(struct session *s, int timeout_ms);

#endif
