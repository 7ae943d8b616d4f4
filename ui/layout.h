/*
 * layout.h - where the header, the panes and the status line go, for a
 * terminal size and a layout number (1 all panes, 2 hot functions, 3
 * threads, 4 memory and I/O).  Pure geometry, no curses.
 *
 * Layout 1 at 80x24 shows every pane; below that it drops panes, keeping
 * the hot functions (and the focused pane) longest, and shrinks the header.
 * A pane's first line is its title or column header.  h == 0: not shown.
 */
#ifndef PERTOP_UI_LAYOUT_H
#define PERTOP_UI_LAYOUT_H

#include "ui/keys.h"

struct ui_rect {
    int y, x, h, w;
};

struct ui_layout {
    struct ui_rect header, status;
    struct ui_rect pane[PANE_COUNT];
};

void layout_compute(int lines, int cols, int layout, enum ui_pane focus, struct ui_layout *out);
/* The pane whose rectangle holds (y, x), or -1. */
int layout_pane_at(const struct ui_layout *l, int y, int x);

#endif
