/* dash_grid.h: the screen as W x H cells, each a Unicode code point and an
 * attribute that says what the cell means (not which colour it is): the
 * dashboard's views draw into it, dash_curses.c turns meanings into colours,
 * and tests read it back as UTF-8 text. No curses here. */
#ifndef DASH_GRID_H
#define DASH_GRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Meanings (low 5 bits) plus two flags. */
enum dash_attr {
    DASH_ATTR_NORMAL,
    DASH_ATTR_TITLE,   /* the title bar */
    DASH_ATTR_HEADER,  /* column headers, section titles */
    DASH_ATTR_DIM,     /* secondary text */
    DASH_ATTR_OK,      /* plenty of headroom */
    DASH_ATTR_WARN,    /* under the "near" threshold (25%) */
    DASH_ATTR_DANGER,  /* under 10%, past the limit, the crash */
    DASH_ATTR_KEY,     /* key names in the help line */
    DASH_ATTR_SWITCH,  /* stack switch lines */
    DASH_ATTR_LIMIT,   /* the StackLimit marker of a gauge */
    DASH_ATTR_MODULE0, /* module colours, DASH_ATTR_MODULE0 + i for i < DASH_MODULE_COLOURS */
    DASH_ATTR_MEANINGS = DASH_ATTR_MODULE0 + 6,
    DASH_ATTR_BOLD = 0x40,
    DASH_ATTR_REVERSE = 0x80,
};
#define DASH_MODULE_COLOURS 6
#define DASH_ATTR_MEANING(a) ((a)&0x3f)

struct dash_cell {
    uint32_t ch; /* a code point of one column */
    uint8_t attr;
};

struct dash_grid {
    int w, h;
    struct dash_cell *cells; /* h rows of w cells */
};

/* The few glyphs the views use, Unicode or plain ASCII (a terminal or
 * locale without UTF-8). */
struct dash_glyphs {
    uint32_t used;     /* gauge: stack in use */
    uint32_t peak;     /* gauge: deepest seen beyond the current use */
    uint32_t free_;    /* gauge: never used */
    uint32_t limit;    /* gauge: the StackLimit */
    uint32_t ellipsis; /* a cut name */
    uint32_t hline;    /* rules */
    uint32_t enter;    /* the Enter key in help */
    uint32_t updown;   /* the arrow keys in help */
    uint32_t sep;      /* between header items */
};
const struct dash_glyphs *dash_grid_glyphs(bool ascii);

/* Allocates w x h blank cells (w, h >= 1); 0 or KD_ERR_NOMEM/KD_ERR_ARG. */
int dash_grid_init(struct dash_grid *g, int w, int h);
void dash_grid_fini(struct dash_grid *g);

/* Blank every cell (space, DASH_ATTR_NORMAL). */
void dash_grid_clear(struct dash_grid *g);

/* The cell at (row, col), or NULL outside the grid. */
struct dash_cell *dash_grid_at(struct dash_grid *g, int row, int col);

/* n copies of ch from (row, col), clipped to the grid. */
void dash_grid_fill(struct dash_grid *g, int row, int col, int n, uint32_t ch, uint8_t attr);

/* Writes UTF-8 text s at (row, col) in at most width columns (clipped to the
 * grid too); control bytes and invalid UTF-8 become '?'. When s is longer
 * than width, its last visible column is ellipsis (0 = cut without a mark).
 * Returns the columns written. */
int dash_grid_put(struct dash_grid *g, int row, int col, int width, uint8_t attr, const char *s,
                  uint32_t ellipsis);

/* Sets the attribute of n cells from (row, col), keeping their characters. */
void dash_grid_paint(struct dash_grid *g, int row, int col, int n, uint8_t attr);

/* Row as UTF-8 without trailing spaces; always NUL-terminated. Returns the length. */
size_t dash_grid_row_text(const struct dash_grid *g, int row, char *buf, size_t size);

/* The whole screen, rows joined by '\n' (each without trailing spaces), in a
 * malloc'd string the caller frees; NULL when out of memory. */
char *dash_grid_text(const struct dash_grid *g);

/* Columns a UTF-8 string takes (one per code point). */
int dash_grid_width(const char *s);

#endif
