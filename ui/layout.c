/*
 * layout.c - see layout.h.
 */
#include "ui/layout.h"

#include <string.h>

static struct ui_rect rect(int y, int x, int h, int w)
{
    return (struct ui_rect){y, x, h > 0 ? h : 0, w > 0 ? w : 0};
}

/* Memory and I/O side by side when wide enough, else memory only. */
static void bottom(struct ui_layout *o, int y, int h, int cols)
{
    if (cols >= 60) {
        int mw = cols / 2;
        o->pane[PANE_MEM] = rect(y, 0, h, mw);
        o->pane[PANE_IO] = rect(y, mw + 1, h, cols - mw - 1);
    } else {
        o->pane[PANE_MEM] = rect(y, 0, h, cols);
    }
}

static void all_panes(struct ui_layout *o, int y, int h, int cols, enum ui_pane focus)
{
    if (h >= 18) {
        int hot = h * 40 / 100, thr = h * 26 / 100;
        o->pane[PANE_HOT] = rect(y, 0, hot, cols);
        o->pane[PANE_THREADS] = rect(y + hot, 0, thr, cols);
        bottom(o, y + hot + thr, h - hot - thr, cols);
    } else if (h >= 10) {
        int hot = h * 60 / 100;
        o->pane[PANE_HOT] = rect(y, 0, hot, cols);
        o->pane[PANE_THREADS] = rect(y + hot, 0, h - hot, cols);
    } else {
        /* too small for two: the focused pane alone */
        o->pane[focus] = rect(y, 0, h, cols);
    }
}

void layout_compute(int lines, int cols, int layout, enum ui_pane focus, struct ui_layout *out)
{
    memset(out, 0, sizeof *out);
    if (lines < 1 || cols < 1)
        return;
    int head = lines >= 20 ? 5 : lines >= 10 ? 3 : lines >= 4 ? 1 : 0;
    int status = lines >= 2 ? 1 : 0;
    out->header = rect(0, 0, head, cols);
    out->status = rect(lines - status, 0, status, cols);
    int y = head, h = lines - head - status;
    if (h < 2)
        return;
    switch (layout) {
    case 2:
        out->pane[PANE_HOT] = rect(y, 0, h, cols);
        break;
    case 3:
        out->pane[PANE_THREADS] = rect(y, 0, h, cols);
        break;
    case 4:
        if (h >= 8) {
            int mh = h / 2;
            out->pane[PANE_MEM] = rect(y, 0, mh, cols);
            out->pane[PANE_IO] = rect(y + mh, 0, h - mh, cols);
        } else {
            out->pane[focus == PANE_IO ? PANE_IO : PANE_MEM] = rect(y, 0, h, cols);
        }
        break;
    default:
        all_panes(out, y, h, cols, focus);
        break;
    }
}

int layout_pane_at(const struct ui_layout *l, int y, int x)
{
    for (int i = 0; i < PANE_COUNT; i++) {
        const struct ui_rect *r = &l->pane[i];
        if (r->h && y >= r->y && y < r->y + r->h && x >= r->x && x < r->x + r->w)
            return i;
    }
    return -1;
}
