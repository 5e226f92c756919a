/* session_replay.h: a recorded session as a target. The recording's
 * exchanges are served back in order: a request that matches the next
 * recorded one gets its recorded reply, so replaying kdwatch's own recording
 * reproduces the live session exactly. A request the recording does not
 * hold at that point (a WinDbg capture, another kdwatch version) is
 * answered from everything the recording saw (memory reads, control space,
 * contexts, the version), or fails as a target read would. */
#ifndef SESSION_REPLAY_H
#define SESSION_REPLAY_H

#include "kd_api.h"
#include "kd_target.h"

#include <stdbool.h>
#include <stdint.h>

enum replay_next {
    REPLAY_NEXT_END,     /* nothing more in the recording */
    REPLAY_NEXT_BREAKIN, /* the host broke in next (a sample) */
    REPLAY_NEXT_STOP,    /* the target stopped on its own next (breakpoint, crash) */
};

struct replay_stats {
    uint64_t packets, requests, stops, breakins, reads_in_order, reads_from_memory, reads_failed;
    bool ran_out; /* a request came after the last one recorded (a cut recording) */
};

struct replay;

/* Loads path (pcap/pcapng; key for KDNET recordings, else NULL). err says
 * why on failure. */
int replay_open(const char *path, const char *key, struct replay **out, char err[256]);
void replay_free(struct replay *r);

/* The recording's first stop (the target as the host found it). */
int replay_first_stop(struct replay *r, struct kd_state_change *sc);

/* What the recording does next after the current position. */
enum replay_next replay_peek(const struct replay *r, double *time);

/* Recorded time (seconds since the epoch) at the current position. */
double replay_time(const struct replay *r);

struct kd_target replay_target(struct replay *r);

/* Strict (the default): a request is answered only by the very next
 * recorded one, else KD_ERR_NOTFOUND (kd_target.h); what kdwatch's own
 * recordings need to replay exactly. Lenient: any recorded answer, and
 * memory from every read seen. */
void replay_set_strict(struct replay *r, bool strict);
/* Back to the start of the recording. */
void replay_rewind(struct replay *r);
void replay_stats(const struct replay *r, struct replay_stats *s);
/* The recording's prints (DbgPrint) up to the current position, consumed. */
bool replay_next_print(struct replay *r, const char **text, size_t *len);

#endif
