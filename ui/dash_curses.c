/* dash_curses.c: curses in, grid out. Calm screens come from two rules:
 * write only the cells that differ from the last frame (the rest is left
 * alone, so nothing flickers), and batch them with wnoutrefresh + doupdate. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "dash_curses.h"

#include "dash_grid.h"
#include "dash_view.h"
#include "kd_status.h"

#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

struct dash_curses {
    struct dash_curses_config cfg;
    SCREEN *screen;
    bool ascii, colours;
    struct dash_grid next, shown; /* this frame; what the terminal shows */
    bool full;                    /* redraw every cell (after a resize) */
    int frames;
};

/* The terminal is process-wide, so is the fact that we hold it. */
static bool curses_active;
static bool restore_registered;
static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
    signalled = sig;
}

void dash_curses_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool dash_curses_signalled(void)
{
    return signalled != 0;
}

void dash_curses_restore(void)
{
    if (!curses_active)
        return;
    curses_active = false;
    curs_set(1);
    endwin();
}

/* Colour pair per meaning: pair number = meaning + 1. */
static void init_colours(void)
{
    static const short fg[DASH_ATTR_MEANINGS] = {
        [DASH_ATTR_NORMAL] = -1,
        [DASH_ATTR_TITLE] = COLOR_WHITE,
        [DASH_ATTR_HEADER] = COLOR_CYAN,
        [DASH_ATTR_DIM] = -1,
        [DASH_ATTR_OK] = COLOR_GREEN,
        [DASH_ATTR_WARN] = COLOR_YELLOW,
        [DASH_ATTR_DANGER] = COLOR_RED,
        [DASH_ATTR_KEY] = COLOR_CYAN,
        [DASH_ATTR_SWITCH] = COLOR_MAGENTA,
        [DASH_ATTR_LIMIT] = COLOR_RED,
        [DASH_ATTR_MODULE0] = COLOR_MAGENTA,
        [DASH_ATTR_MODULE0 + 1] = COLOR_CYAN,
        [DASH_ATTR_MODULE0 + 2] = COLOR_BLUE,
        [DASH_ATTR_MODULE0 + 3] = COLOR_GREEN,
        [DASH_ATTR_MODULE0 + 4] = COLOR_YELLOW,
        [DASH_ATTR_MODULE0 + 5] = COLOR_WHITE,
    };
    start_color();
    use_default_colors(); /* keep the user's background */
    for (short i = 0; i < DASH_ATTR_MEANINGS; i++)
        init_pair((short)(i + 1), fg[i], i == DASH_ATTR_TITLE ? COLOR_BLUE : -1);
}

/* Meaning and flags to curses attributes and a pair. */
static attr_t to_curses(const struct dash_curses *c, uint8_t a, short *pair)
{
    unsigned meaning = DASH_ATTR_MEANING(a);
    attr_t at = A_NORMAL;
    *pair = 0;
    if (meaning >= DASH_ATTR_MEANINGS)
        meaning = DASH_ATTR_NORMAL;
    if (c->colours) {
        *pair = (short)(meaning + 1);
        if (meaning == DASH_ATTR_DIM)
            at |= A_DIM;
        if (meaning == DASH_ATTR_HEADER)
            at |= A_BOLD;
    } else {
        /* monochrome: weight and reverse carry the meaning */
        switch (meaning) {
        case DASH_ATTR_TITLE: at |= A_REVERSE; break;
        case DASH_ATTR_HEADER:
        case DASH_ATTR_KEY:
        case DASH_ATTR_WARN: at |= A_BOLD; break;
        case DASH_ATTR_DANGER:
        case DASH_ATTR_LIMIT: at |= A_BOLD | A_UNDERLINE; break;
        case DASH_ATTR_DIM: at |= A_DIM; break;
        default: break;
        }
    }
    if (a & DASH_ATTR_BOLD)
        at |= A_BOLD;
    if (a & DASH_ATTR_REVERSE)
        at ^= A_REVERSE;
    return at;
}

int dash_curses_new(const struct dash_curses_config *cfg, struct dash_curses **out)
{
    *out = NULL;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return KD_ERR_IO;
    struct dash_curses *c = calloc(1, sizeof *c);
    if (!c)
        return KD_ERR_NOMEM;
    if (cfg)
        c->cfg = *cfg;
    setlocale(LC_ALL, "");
    c->ascii = MB_CUR_MAX < 2; /* no UTF-8: no block glyphs */
    /* newterm rather than initscr: initscr exits the process on a bad TERM */
    SCREEN *s = newterm(NULL, stdout, stdin);
    if (!s) {
        free(c);
        return KD_ERR_IO;
    }
    c->screen = s;
    curses_active = true;
    if (!restore_registered && atexit(dash_curses_restore) == 0)
        restore_registered = true;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25); /* Esc alone must feel immediate */
    curs_set(0);
    c->colours = has_colors();
    if (c->colours)
        init_colours();
    c->full = true;
    *out = c;
    return KD_OK;
}

void dash_curses_free(struct dash_curses *c)
{
    if (!c)
        return;
    dash_curses_restore();
    delscreen(c->screen);
    dash_grid_fini(&c->next);
    dash_grid_fini(&c->shown);
    free(c);
}

bool dash_curses_ascii(const struct dash_curses *c)
{
    return c->ascii;
}
int dash_curses_frames(const struct dash_curses *c)
{
    return c->frames;
}

void dash_curses_size(const struct dash_curses *c, int *w, int *h)
{
    (void)c;
    getmaxyx(stdscr, *h, *w);
}

/* Grids at the terminal's size; true when it changed. */
static bool fit(struct dash_curses *c, struct dash_model *m)
{
    int w, h;
    dash_curses_size(c, &w, &h);
    if (w < 1 || h < 1 || (w == c->next.w && h == c->next.h))
        return false;
    dash_grid_fini(&c->next);
    dash_grid_fini(&c->shown);
    if (dash_grid_init(&c->next, w, h) != KD_OK || dash_grid_init(&c->shown, w, h) != KD_OK)
        return false;
    dash_model_resize(m, w, h);
    c->full = true;
    return true;
}

static void draw(struct dash_curses *c, struct dash_model *m)
{
    if (!c->next.cells)
        return;
    dash_view_render(m, &c->next);
    if (c->full) {
        erase(); /* only after a resize: the old layout must go */
        wnoutrefresh(stdscr);
    }
    for (int y = 0; y < c->next.h; y++)
        for (int x = 0; x < c->next.w; x++) {
            struct dash_cell *n = dash_grid_at(&c->next, y, x), *o = dash_grid_at(&c->shown, y, x);
            if (!c->full && n->ch == o->ch && n->attr == o->attr)
                continue;
            short pair;
            attr_t at = to_curses(c, n->attr, &pair);
            wchar_t wc[2] = {(wchar_t)n->ch, 0};
            cchar_t cc;
            if (c->ascii && n->ch > 0x7e)
                wc[0] = '?';
            setcchar(&cc, wc, at, pair, NULL);
            mvadd_wch(y, x, &cc); /* the bottom-right cell reports ERR but is drawn */
            *o = *n;
        }
    c->full = false;
    wnoutrefresh(stdscr);
    doupdate();
    dash_model_drawn(m);
    c->frames++;
}

static uint32_t translate(int rc, wint_t ch)
{
    if (rc == KEY_CODE_YES) {
        switch (ch) {
        case KEY_UP: return DASH_KEY_UP;
        case KEY_DOWN: return DASH_KEY_DOWN;
        case KEY_PPAGE: return DASH_KEY_PGUP;
        case KEY_NPAGE: return DASH_KEY_PGDN;
        case KEY_HOME: return DASH_KEY_HOME;
        case KEY_END: return DASH_KEY_END;
        case KEY_ENTER: return DASH_KEY_ENTER;
        case KEY_BACKSPACE: return DASH_KEY_BACKSPACE;
        default: return 0;
        }
    }
    switch (ch) {
    case '\r':
    case '\n': return DASH_KEY_ENTER;
    case 27: return DASH_KEY_ESC;
    case 127:
    case 8: return DASH_KEY_BACKSPACE;
    default: return ch >= 0x20 ? (uint32_t)ch : 0;
    }
}

enum dash_action dash_curses_poll(struct dash_curses *c, struct dash_model *m, int timeout_ms)
{
    char clock[16];
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    else
        clock[0] = 0;
    if (c->cfg.frames > 0 && c->frames >= c->cfg.frames)
        return DASH_ACTION_QUIT;
    dash_model_set_clock(m, clock);
    if (fit(c, m) || dash_model_dirty(m))
        draw(c, m);
    enum dash_action action = DASH_ACTION_NONE;
    wtimeout(stdscr, timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        wint_t ch;
        int rc = wget_wch(stdscr, &ch);
        if (rc == ERR)
            break;
        wtimeout(stdscr, 0); /* then take whatever else is queued, without waiting */
        if (rc == KEY_CODE_YES && ch == KEY_RESIZE) {
            fit(c, m);
            continue;
        }
        uint32_t key = translate(rc, ch);
        enum dash_action a = key ? dash_model_key(m, key) : DASH_ACTION_NONE;
        if (a != DASH_ACTION_NONE) {
            action = a;
            break; /* the caller acts before more keys are read */
        }
    }
    if (dash_model_dirty(m) && !(c->cfg.frames > 0 && c->frames >= c->cfg.frames))
        draw(c, m);
    if (action == DASH_ACTION_NONE && c->cfg.frames > 0 && c->frames >= c->cfg.frames)
        action = DASH_ACTION_QUIT;
    return action;
}
