/* out_svg.h: `--svg FILE`: the crash's stack as a picture. The thread
 * stack is a column from StackBase (top) down to StackLimit (a red line)
 * and past it (hatched), one block per frame with its height proportional
 * to the frame's kf size, coloured by module with a legend; the repeating
 * cycle is bracketed; other stacks (the double fault's IST stack) are drawn
 * below a zigzag break that says which stack switch it is. Plain SVG 1.1,
 * one <title> per block for the full call site. */
#ifndef OUT_SVG_H
#define OUT_SVG_H

#include "breakdown.h"
#include "monitor.h"

#include <stdio.h>

/* The picture of bd; title and subtitle head it (may be NULL). 0, KD_ERR_ARG, KD_ERR_IO. */
int out_svg_breakdown(FILE *out, const struct breakdown *bd, const char *title,
                      const char *subtitle);

/* The crash: bugcheck as title, thread and overflow as subtitle. A crash
 * without a breakdown gives a picture that says so. */
int out_svg_crash(FILE *out, const struct mon_crash *c);

/* out_svg_crash into path. */
int out_svg_file(const char *path, const struct mon_crash *c);

#endif
