/* dash_crash.h: the crash view's content, built once per crash event from
 * struct mon_crash (whose breakdown the monitor owns, so nothing of it is
 * kept): a fixed header (bugcheck, arguments, thread and how far past the
 * limit) and a scrollable body (module bars, findings, kf frames with stack
 * switches and the StackLimit). The findings' wording is analyze_out's, read
 * from its text rendering, so the live crash and `kdwatch analyze` agree. */
#ifndef DASH_CRASH_H
#define DASH_CRASH_H

#include "dash_grid.h"
#include "monitor.h"

#include <stdbool.h>
#include <stddef.h>

#define DASH_CRASH_HEADER 3
#define DASH_CRASH_LINE 192

enum dash_crash_kind {
    DASH_CRASH_SECTION, /* a section title */
    DASH_CRASH_MODULE,  /* name, bar, percent, bytes */
    DASH_CRASH_TEXT,    /* a paragraph, wrapped to the width */
    DASH_CRASH_FRAME,   /* index, kf size, Child-SP, call site */
    DASH_CRASH_SWITCH,  /* "stack switch (IST stack -> thread stack)": never a size */
    DASH_CRASH_LIMIT,   /* where the frames cross StackLimit */
    DASH_CRASH_BLANK,
};

struct dash_crash_item {
    enum dash_crash_kind kind;
    uint8_t attr;     /* text colour (DASH_ATTR_*) */
    uint8_t colour;   /* MODULE / FRAME: the module's colour attribute */
    bool past;        /* FRAME: below StackLimit */
    unsigned percent; /* MODULE */
    uint64_t bytes;   /* MODULE */
    uint64_t size;    /* FRAME: kf size, when has_size */
    bool has_size;
    uint64_t sp;
    bool has_sp;
    size_t index;
    char *text; /* owned: title, module name, paragraph, call site */
};

struct dash_crash {
    bool valid;
    char header[DASH_CRASH_HEADER][DASH_CRASH_LINE];
    uint8_t header_attr[DASH_CRASH_HEADER];
    struct dash_crash_item *items;
    size_t count;
};

/* Rebuilds dc from c (c->bd may be NULL). 0 or KD_ERR_NOMEM (dc then
 * holds what could be built). */
int dash_crash_set(struct dash_crash *dc, const struct mon_crash *c);
void dash_crash_fini(struct dash_crash *dc);

/* Rows the body takes at width w. */
size_t dash_crash_rows(const struct dash_crash *dc, int w);

/* Draws body rows first .. first+n-1 at grid rows row0 .. row0+n-1. */
void dash_crash_draw(const struct dash_crash *dc, struct dash_grid *g, int row0, int n,
                     size_t first, bool ascii);

#endif
