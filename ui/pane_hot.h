/*
 * pane_hot.h - the hot-functions pane: self %, total %, self time,
 * function, file:line, module; with --baseline a VS.BASE column after self
 * time (the row's vs_base: change of self % in points, or "new").  Pure:
 * rows in, text lines out.
 *
 * pane_hot_order filters (case-insensitive substring of the function name)
 * and sorts (any column, either way; ties: more self, then name, then id)
 * the frame's rows, giving indexes, so only the visible rows are formatted.
 */
#ifndef PERTOP_UI_PANE_HOT_H
#define PERTOP_UI_PANE_HOT_H

#include <stdbool.h>
#include <stddef.h>

#include "ui/keys.h"
#include "src/model/liveview.h"
#include "ui/text.h"

/* idx must have room for f->nhot; returns the rows kept. */
size_t pane_hot_order(const struct live_frame *f, const struct ui_state *st, size_t *idx);
void pane_hot_header(const struct ui_state *st, int width, struct ui_line *out);
void pane_hot_row(const struct lv_hot_row *r, int width, struct ui_line *out);
/* Column (enum hot_col) under x in the header, or -1. */
int pane_hot_col_at(int width, int x);
/* The same with the VS.BASE column when base (the frame's have_baseline);
 * a click on VS.BASE gives -1. */
void pane_hot_header_vs(const struct ui_state *st, bool base, int width, struct ui_line *out);
void pane_hot_row_vs(const struct lv_hot_row *r, bool base, int width, struct ui_line *out);
int pane_hot_col_at_vs(bool base, int width, int x);

#endif
