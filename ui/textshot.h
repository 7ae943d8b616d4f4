/*
 * textshot.h - the 's' key: the views on screen written as plain text, the
 * same lines the screen draws without colours, each pane in full (the hot
 * functions up to a row limit), to pertop-PID-YYYYmmdd-HHMMSS.txt; in a
 * drill-down view (function, trees, source, instructions) that view in
 * full.  --batch --view prints with the same code.  Pure apart from the
 * file it writes.
 */
#ifndef PERTOP_UI_TEXTSHOT_H
#define PERTOP_UI_TEXTSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "ui/header.h"
#include "ui/keys.h"
#include "src/model/liveview.h"

struct textshot_opts {
    bool shown[PANE_COUNT]; /* the panes on screen */
    int width;              /* line width */
    size_t max_rows;        /* hot-function rows, 0 = all */
    struct header_opts hdr;
    const char *crumbs; /* drill-down views: the way there ("" or NULL: none) */
};

/* 0, or -EIO / -ENOMEM. */
int textshot_write(FILE *f, const struct live_frame *fr, const struct ui_state *st,
                   const struct textshot_opts *o);
/* The view of fr (fr->view: the hot functions for LIVE_MAIN, else the
 * drill-down view) in full, as the screen draws it: a title (crumbs, the
 * way there, in front; "" for none), the zoom, the column header and every
 * row (the hot functions up to max_rows, 0 = all).  st gives the hot
 * list's sort and filter.  0, or -EIO / -ENOMEM. */
int textshot_write_view(FILE *f, const struct live_frame *fr, const struct ui_state *st,
                        const char *crumbs, int width, size_t max_rows);
/* "DIR/pertop-PID-YYYYmmdd-HHMMSS.txt" for the local time t. */
void textshot_name(char *buf, size_t n, const char *dir, int pid, time_t t);
/* Writes the snapshot under a new name (a -2, -3... suffix when the name is
 * taken), through a temporary file.  Returns 0 with the path in path, or a
 * negative errno. */
int textshot_save(const char *dir, const struct live_frame *fr, const struct ui_state *st,
                  const struct textshot_opts *o, char *path, size_t n);

#endif
