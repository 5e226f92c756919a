/* dash_model_impl.h: the model's layout, shared by dash_model.c (which
 * changes it) and dash_view.c (which only reads it). Nothing else includes it. */
#ifndef DASH_MODEL_IMPL_H
#define DASH_MODEL_IMPL_H

#include "dash_crash.h"
#include "dash_model.h"

#include <stddef.h>

#define DASH_EVENTS 64
#define DASH_FILTER_LEN 48
#define DASH_LABEL_LEN 12

struct dash_event_line {
    uint64_t time_ms;
    char label[DASH_LABEL_LEN]; /* "attach", "threshold", "error" ... */
    uint8_t attr;
    char text[MON_TEXT_LEN];
};

struct dash_rows {
    struct mon_thread *v;
    size_t n, cap;
};

struct dash_model {
    struct dash_model_config cfg;
    int w, h;
    bool dirty, quit;
    enum dash_view view;
    enum dash_sort sort;

    bool paused;       /* `p`: the list and events stop changing */
    bool have_pending; /* a sample arrived while paused */
    struct dash_rows pending;
    struct mon_snapshot pending_info;
    size_t events_frozen; /* events shown while paused */

    bool typing; /* `/` pressed: the help line edits the filter */
    char typed[DASH_FILTER_LEN];
    char filter[DASH_FILTER_LEN];

    bool attached, sampled;
    struct mon_snapshot info; /* scalars of the last snapshot shown (threads unused) */
    uint64_t prev_sample_ms;  /* to measure the sampling interval */
    uint32_t measured_ms;
    struct dash_rows rows;           /* the threads shown */
    const struct mon_thread **order; /* rows passing the filter, in sort order */
    size_t norder, order_cap;

    bool has_sel;
    bool user_sel;        /* moved by the user: then it follows its thread through re-sorts; */
    uint64_t sel_kthread; /* else it stays on the first row, the thread nearest its limit */
    size_t sel, top;      /* index into order; first row shown */
    size_t detail_top;    /* first frame shown in the details */

    struct dash_event_line events[DASH_EVENTS]; /* ring */
    size_t nevents;                             /* ever added */
    bool have_t0;
    uint64_t t0;

    struct dash_crash crash;
    size_t crash_top;
    char crash_line[DASH_CRASH_LINE]; /* the bugcheck last put in the event pane */

    char link[160];
    char clock[16];
    bool replay_paused;
    double replay_speed;
};

/* Layout shared by the keys (page sizes) and the view. */
int dash_model_event_rows(const struct dash_model *m);
int dash_model_list_rows(const struct dash_model *m);
int dash_model_crash_body(const struct dash_model *m);
int dash_model_detail_rows(const struct dash_model *m);
bool dash_model_too_small(const struct dash_model *m);

/* The event at age i (0 = newest) among those shown, or NULL. */
const struct dash_event_line *dash_model_event_at(const struct dash_model *m, size_t i);

/* The selected thread, or NULL. */
const struct mon_thread *dash_model_selected(const struct dash_model *m);

#endif
