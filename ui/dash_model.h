/* dash_model.h: the dashboard without curses. The model is updated from
 * monitor events (dash_model_event) and from keys (dash_model_key), and
 * dash_view_render (dash_view.h) draws it into a dash_grid: the same screen
 * live and in replay, and exact strings in tests. Keys that concern the
 * session (quit, replay pause/speed/step) come back as actions: the model
 * decides nothing about the target.
 *
 * Views: the thread list (sorted, filtered, one gauge per thread), the
 * details of one thread (its last sampled frames), and the crash view
 * (bugcheck, module bars, cycle and re-entrancy, kf frame sizes with stack
 * switches), which opens by itself at a crash and stays until Esc/Enter;
 * `c` brings it back. */
#ifndef DASH_MODEL_H
#define DASH_MODEL_H

#include "monitor.h"

#include <stdbool.h>
#include <stdint.h>

/* Keys: a Unicode code point for a printable key, else one of these. */
enum dash_key {
    DASH_KEY_UP = 0x110000,
    DASH_KEY_DOWN,
    DASH_KEY_PGUP,
    DASH_KEY_PGDN,
    DASH_KEY_HOME,
    DASH_KEY_END,
    DASH_KEY_ENTER,
    DASH_KEY_ESC,
    DASH_KEY_BACKSPACE,
};

/* What the caller must do after a key. */
enum dash_action {
    DASH_ACTION_NONE,
    DASH_ACTION_QUIT,          /* q: detach cleanly and end */
    DASH_ACTION_REPLAY_PAUSE,  /* space (replay only): pause/resume the replay */
    DASH_ACTION_REPLAY_FASTER, /* + */
    DASH_ACTION_REPLAY_SLOWER, /* - */
    DASH_ACTION_REPLAY_NEXT,   /* n: deliver the next event now */
};

enum dash_view { DASH_VIEW_LIST, DASH_VIEW_DETAILS, DASH_VIEW_CRASH };

/* `s` cycles through these. */
enum dash_sort { DASH_SORT_HEADROOM, DASH_SORT_MIN, DASH_SORT_PROCESS, DASH_SORT_TID, DASH_SORTS };

struct dash_model_config {
    bool replay;             /* show and accept the replay keys */
    bool ascii;              /* no Unicode glyphs (gauges, lines, ellipsis) */
    unsigned near_percent;   /* yellow under this % of headroom; 0 = 25 */
    unsigned danger_percent; /* red under this %; 0 = 10 */
    uint32_t interval_ms;    /* configured sampling interval, shown until two samples measure it */
};

struct dash_model;

/* cfg may be NULL (defaults). The size starts at 80 x 24. 0 or KD_ERR_NOMEM. */
int dash_model_new(const struct dash_model_config *cfg, struct dash_model **out);
void dash_model_free(struct dash_model *m);

/* Copies what the event carries (pointers in ev are not kept). While the
 * display is paused (`p`) samples are kept aside and shown on resume. A
 * crash opens the crash view (and ends a pause). 0 or KD_ERR_NOMEM (the
 * model stays usable, showing older data). */
int dash_model_event(struct dash_model *m, const struct mon_event *ev);

/* A line from the caller for the event pane (label e.g. "error", "link"). */
void dash_model_message(struct dash_model *m, const char *label, uint64_t time_ms,
                        const char *text);

/* The terminal size the next render uses (w, h >= 1). */
void dash_model_resize(struct dash_model *m, int w, int h);

/* Header facts the monitor does not publish: the link ("tcp:host:5555,
 * 1523 packets, 0 resends"), the wall clock ("14:03:12"), the replay state. */
void dash_model_set_link(struct dash_model *m, const char *text);
void dash_model_set_clock(struct dash_model *m, const char *text);
void dash_model_set_replay(struct dash_model *m, bool paused, double speed);

/* One key; returns what the caller must do. */
enum dash_action dash_model_key(struct dash_model *m, uint32_t key);

/* Something visible changed since dash_model_drawn. */
bool dash_model_dirty(const struct dash_model *m);
void dash_model_drawn(struct dash_model *m);

bool dash_model_quit_requested(const struct dash_model *m);
enum dash_view dash_model_view(const struct dash_model *m);
bool dash_model_crashed(const struct dash_model *m);

#endif
