/*
 * pane_tree.h - the call tree (top down) and the inverted tree (bottom up)
 * as screen lines: share of all samples, share of the parent row, self
 * share, then the function indented by depth with an expand marker ("+"
 * collapsed, "-" expanded, " " a leaf) and its module.  Pure: rows in,
 * ui_lines out, for the screen, the 's' snapshot and --batch --view tree.
 */
#ifndef PERTOP_UI_PANE_TREE_H
#define PERTOP_UI_PANE_TREE_H

#include <stdbool.h>

#include "src/model/liveview.h"
#include "ui/text.h"

/* "Call tree (top down): ..." or "Inverted tree (bottom up): ...". */
void pane_tree_title(bool inverted, uint64_t samples, int width, struct ui_line *out);
void pane_tree_header(bool inverted, int width, struct ui_line *out);
void pane_tree_row(const struct lv_tree_row *r, int width, struct ui_line *out);

#endif
