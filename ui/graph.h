/*
 * graph.h - a history drawn as a small graph: braille cells (2 values per
 * column, 4 levels per row) when the terminal speaks UTF-8, else ASCII
 * ('.' half a row, '#' a full one, one value per column).  Pure.
 */
#ifndef PERTOP_UI_GRAPH_H
#define PERTOP_UI_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ui/text.h"

/* Values oldest first; the newest land in the right-most column.  Scaled
 * from 0 to max (0 = the biggest value).  Appends one row to each of
 * out[0..rows), top row first, cols columns wide, in role. */
void graph_draw(const uint64_t *v, size_t n, uint64_t max, int cols, int rows, bool utf8,
                enum ui_role role, struct ui_line *out);

#endif
