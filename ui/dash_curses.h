/* dash_curses.h: the terminal side of the dashboard, and the only code that
 * includes curses. It draws the model's grid with minimal updates (only the
 * cells that changed; the screen is erased only after a resize), turns keys
 * into model keys, and gives the caller back the actions (quit, replay
 * controls). The terminal is restored by dash_curses_free, by
 * dash_curses_restore (for fatal-error paths) and at exit(). */
#ifndef DASH_CURSES_H
#define DASH_CURSES_H

#include "dash_model.h"

#include <stdbool.h>

struct dash_curses_config {
    int frames; /* --frames N: after N drawn frames every poll returns QUIT (0 = no limit) */
};

struct dash_curses;

/* Takes the terminal (setlocale, initscr, cbreak, noecho, keypad, no
 * cursor, colours when it has them). KD_ERR_IO when stdin/stdout is not a
 * terminal curses can use (*out NULL, the terminal untouched). */
int dash_curses_new(const struct dash_curses_config *cfg, struct dash_curses **out);

/* Gives the terminal back (endwin); NULL is harmless. */
void dash_curses_free(struct dash_curses *c);

/* endwin if the dashboard holds the terminal; safe from any exit path
 * (not from a signal handler). */
void dash_curses_restore(void);

/* True when the locale cannot show the Unicode glyphs: pass it to
 * dash_model_config.ascii. */
bool dash_curses_ascii(const struct dash_curses *c);

/* The terminal's size now. */
void dash_curses_size(const struct dash_curses *c, int *w, int *h);

/* Sets the clock, draws the model if it changed (or the terminal was
 * resized), then waits up to timeout_ms for keys and feeds every pending
 * key to the model. Returns the first action a key asked for, or
 * DASH_ACTION_NONE; DASH_ACTION_QUIT once the frame limit is reached. */
enum dash_action dash_curses_poll(struct dash_curses *c, struct dash_model *m, int timeout_ms);

/* Frames drawn so far. */
int dash_curses_frames(const struct dash_curses *c);

/* SIGINT and SIGTERM handlers that only set a flag, read by
 * dash_curses_signalled(): the caller then detaches and frees. */
void dash_curses_catch_signals(void);
bool dash_curses_signalled(void);

#endif
