/*
 * pane_func.h - the function view as screen lines: the function's self and
 * total share, then its callers (each with the share of the function's
 * samples that came through it) and its callees (each with its share of
 * the function's total, "[self]" for the samples that ended in it).  Pure:
 * a frame's lv_func in, ui_lines out, for the screen, the 's' snapshot and
 * --batch --view callers:NAME alike.
 *
 * Rows: a "Callers" section line, the callers, a "Callees" section line,
 * the callees.  pane_func_row_func says which function a row stands for,
 * so Enter can move the view there.
 */
#ifndef PERTOP_UI_PANE_FUNC_H
#define PERTOP_UI_PANE_FUNC_H

#include <stddef.h>
#include <stdint.h>

#include "src/model/liveview.h"
#include "ui/text.h"

#define PANE_FUNC_NONE UINT32_MAX /* a section line or a pseudo row */

/* "compute_outer  self 10.0%  total 60.0% of 1234 samples  app  c.c:30";
 * crumbs (the way here, "" for none) goes in front. */
void pane_func_title(const struct lv_func *fn, const char *crumbs, int width, struct ui_line *out);
void pane_func_header(int width, struct ui_line *out);
size_t pane_func_rows(const struct lv_func *fn);
void pane_func_row(const struct lv_func *fn, size_t i, int width, struct ui_line *out);
/* The function of row i, or PANE_FUNC_NONE. */
uint32_t pane_func_row_func(const struct lv_func *fn, size_t i);
/* The module of row i's function ("" when none). */
const char *pane_func_row_module(const struct lv_func *fn, size_t i);

#endif
