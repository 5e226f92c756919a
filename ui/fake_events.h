/* fake_events.h: a deterministic, plausible monitor session without a
 * target: attach, samples of ~200 threads (a few creeping toward their
 * StackLimit, crossing the 25% and 10% thresholds), a module load, a
 * DbgPrint, then the three stops of a stack-overflow crash whose breakdown
 * is built by breakdown_new from a frame list shaped like seed 000 (ql2300 ->
 * storport -> rosempio, then rosempio -> CLASSPNP -> nt!IopfCompleteRequest
 * recursing until the thread stack is 0xf0 bytes past its limit). For the
 * dashboard's and the outputs' tests, and `kdwatch ui-demo`. */
#ifndef FAKE_EVENTS_H
#define FAKE_EVENTS_H

#include "monitor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_events_config {
    unsigned seed;        /* same seed, same session; 0 = 1 */
    size_t threads;       /* 0 = 200 (at least 8, at most 4096) */
    unsigned samples;     /* samples before the crash; 0 = 30 */
    uint32_t interval_ms; /* monitor clock step between samples; 0 = 1000 */
    bool no_crash;        /* sample forever */
};

struct fake_events;

/* cfg may be NULL (defaults). 0, KD_ERR_ARG or KD_ERR_NOMEM (*out NULL). */
int fake_events_new(const struct fake_events_config *cfg, struct fake_events **out);
void fake_events_free(struct fake_events *f);

/* The next event into *ev; false when the session is over. What ev points
 * to stays valid until the next call or fake_events_free. */
bool fake_events_next(struct fake_events *f, struct mon_event *ev);

/* The latest snapshot (valid after the first event) and the crash (NULL
 * before the first crash stop); owned by f, valid until the next call. */
const struct mon_snapshot *fake_events_snapshot(const struct fake_events *f);
const struct mon_crash *fake_events_crash(const struct fake_events *f);

/* The crash's frame list alone (innermost first) and its input to
 * breakdown_new: the tests' fixture. *out is the caller's to breakdown_free. */
int fake_events_breakdown(struct breakdown **out);

#endif
