/* dash_view.h: draws the dashboard model into a grid. Pure: the same model
 * and grid size give the same cells, which the tests compare as text. */
#ifndef DASH_VIEW_H
#define DASH_VIEW_H

#include "dash_grid.h"
#include "dash_model.h"

/* Clears g and draws the current view at g's size (which should be the size
 * given to dash_model_resize: page sizes and scrolling assume it). */
void dash_view_render(const struct dash_model *m, struct dash_grid *g);

#endif
