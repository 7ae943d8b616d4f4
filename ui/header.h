/*
 * header.h - the screen's header: the command and PID, the process's CPU %
 * with a bar, RSS with a one-minute graph, threads, rate asked and
 * achieved and the engine that holds it, samples, lost samples, elapsed
 * time, mode, PAUSED, "process exited", and what the panes show (window,
 * thread, sort, filter).  Pure.
 */
#ifndef PERTOP_UI_HEADER_H
#define PERTOP_UI_HEADER_H

#include <stdbool.h>

#include "ui/keys.h"
#include "src/model/liveview.h"
#include "ui/text.h"

struct header_opts {
    int ncpu;          /* CPUs online: the CPU bar's full scale */
    double interval_s; /* refresh interval: a minute of RSS history */
    bool utf8;
};

/* Fills out[0..n) (n = 1..HEADER_LINES_MAX lines) for width: the title;
 * the CPU bar and counts; RSS and the rate; the view; the verdict (with 3
 * lines: title, counts, verdict). */
#define HEADER_LINES_MAX 5

void header_lines(const struct live_frame *f, const struct ui_state *st, int width, int n,
                  const struct header_opts *o, struct ui_line *out);

#endif
