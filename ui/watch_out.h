/* watch_out.h: where a watch/replay session's events go: the dashboard on a
 * terminal, plain text or JSON lines otherwise, plus the final report, the
 * SVG and the --fail-below verdict. The session loop talks only to this. */
#ifndef WATCH_OUT_H
#define WATCH_OUT_H

#include "dash_model.h"
#include "monitor.h"
#include "watch.h"

#include <stdbool.h>
#include <stddef.h>

struct watch_out;

int watch_out_new(const struct watch_options *o, struct watch_out **out);
void watch_out_free(struct watch_out *w);

void watch_out_event(struct watch_out *w, const struct mon_event *ev);
/* Holds text events back (true), e.g. while a replay tries whether the
 * monitor can follow a recording; false lets them through, and `flush`
 * says whether the held ones are shown or dropped. */
void watch_out_hold(struct watch_out *w, bool hold, bool flush);
void watch_out_print(struct watch_out *w, const char *text, size_t len); /* DbgPrint */
void watch_out_error(struct watch_out *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void watch_out_status(struct watch_out *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void watch_out_link(struct watch_out *w, const char *description);

/* Dashboard: handle keys and redraw, waiting up to ms for a key. */
void watch_out_idle(struct watch_out *w, int ms);
/* The user asked to quit. */
bool watch_out_quit(struct watch_out *w);
/* After a crash: true while the user still looks at it (dashboard). */
bool watch_out_wait_user(struct watch_out *w);
/* End of session: crash report, --report, --svg. crash may be NULL. */
void watch_out_final(struct watch_out *w, const struct mon_snapshot *snap,
                     const struct mon_crash *crash);
/* A replay key the user pressed (pause, faster, slower, next), once. */
enum dash_action watch_out_take_action(struct watch_out *w);
/* Shows the replay's state in the header. */
void watch_out_replay_state(struct watch_out *w, bool paused, double speed);
/* Why the session ended, for the report. */
void watch_out_ended(struct watch_out *w, const char *why);
/* --fail-below: true when some thread's minimum headroom fell under it. */
bool watch_out_failed_threshold(struct watch_out *w, const struct mon_snapshot *snap);

#endif
