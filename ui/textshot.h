/*
 * textshot.h - the 's' key: the views on screen written as plain text, the
 * same lines the screen draws without colours, each pane in full (the hot
 * functions up to a row limit), to pertop-PID-YYYYmmdd-HHMMSS.txt.  Pure
 * apart from the file it writes.
 */
#ifndef PERTOP_UI_TEXTSHOT_H
#define PERTOP_UI_TEXTSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "header.h"
#include "keys.h"
#include "liveview.h"

struct textshot_opts {
    bool shown[PANE_COUNT]; /* the panes on screen */
    int width;              /* line width */
    size_t max_rows;        /* hot-function rows, 0 = all */
    struct header_opts hdr;
};

/* 0, or -EIO / -ENOMEM. */
int textshot_write(FILE *f, const struct live_frame *fr, const struct ui_state *st,
                   const struct textshot_opts *o);
/* "DIR/pertop-PID-YYYYmmdd-HHMMSS.txt" for the local time t. */
void textshot_name(char *buf, size_t n, const char *dir, int pid, time_t t);
/* Writes the snapshot under a new name (a -2, -3... suffix when the name is
 * taken), through a temporary file.  Returns 0 with the path in path, or a
 * negative errno. */
int textshot_save(const char *dir, const struct live_frame *fr, const struct ui_state *st,
                  const struct textshot_opts *o, char *path, size_t n);

#endif
