/*
 * pane_threads.h - the threads pane: tid, name, state, CPU %, share of the
 * samples, and the function each thread is in now (the innermost function
 * of its latest sample).  Pure, like pane_hot.h; rows are limited to the
 * state's thread by the frame already (the refresher builds them so).
 */
#ifndef PERTOP_UI_PANE_THREADS_H
#define PERTOP_UI_PANE_THREADS_H

#include <stddef.h>

#include "ui/keys.h"
#include "src/model/liveview.h"
#include "ui/text.h"

/* idx must have room for f->nthr; returns the rows kept. */
size_t pane_threads_order(const struct live_frame *f, const struct ui_state *st, size_t *idx);
/* pids: a PID column first (pane_threads_has_pids), a thread of the
 * target showing target */
void pane_threads_header(const struct ui_state *st, int width, bool pids, struct ui_line *out);
void pane_threads_row(const struct lv_thread_row *r, pid_t target, int width, bool pids,
                      struct ui_line *out);
int pane_threads_col_at(int width, bool pids, int x);
/* The frame holds threads of child processes (--subprocesses). */
bool pane_threads_has_pids(const struct live_frame *f);

#endif
