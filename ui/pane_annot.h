/*
 * pane_annot.h - the source and instruction views as screen lines.
 *
 * Pure renderers over a built struct annot_view (src/annotate.h): no I/O,
 * no curses, so the screen, the 's' snapshot and the batch --view
 * source:NAME / asm:NAME print the same text.  Columns: samples (self),
 * percentage of the view's base, incl. (samples that went through a call on
 * that line or instruction), then the line number or address and the text.
 * Rows marked hot by annotate (the few hottest, see annot_row.hot) are
 * drawn in ROLE_BAR_HIGH, other rows with samples in ROLE_BAR_MID's count
 * colour; the existing roles keep the palette of the hot list.  A view with an error renders its
 * message as the only row.
 */
#ifndef PERTOP_UI_PANE_ANNOT_H
#define PERTOP_UI_PANE_ANNOT_H

#include <stddef.h>

#include "ui/text.h"

struct annot_view;

/* Rows to draw (at least 1: an error or "no samples" row). */
size_t pane_annot_rows(const struct annot_view *v);
void pane_annot_title(const struct annot_view *v, int width, struct ui_line *out);
void pane_annot_header(const struct annot_view *v, int width, struct ui_line *out);
void pane_annot_row(const struct annot_view *v, size_t i, int width, struct ui_line *out);
/* The row of the next hot line/instruction after `from` (wrapping), in
 * order of the file; from == SIZE_MAX: the hottest.  SIZE_MAX when the
 * view has no row with samples. */
size_t pane_annot_next_hot(const struct annot_view *v, size_t from);
/* The same backwards (the N key). */
size_t pane_annot_prev_hot(const struct annot_view *v, size_t from);

#endif
