/*
 * pane_memio.h - the memory and I/O panes, as lines of text.  Pure.
 *
 * Memory: RSS and its parts (anon, file, shmem), swap, peak (VmHWM),
 * growth per second, minor and major faults per second, and the RSS of the
 * last minute as a graph filling the pane's remaining rows.
 * I/O: read and write bytes and syscalls per second for the process and per
 * thread (threads with no I/O left out), open descriptors, and every thread
 * blocked in a syscall: its name, the descriptor's target, for how long.
 * Both limited to st->tid's rows when a thread is selected (the process
 * numbers stay the process's).
 */
#ifndef PERTOP_UI_PANE_MEMIO_H
#define PERTOP_UI_PANE_MEMIO_H

#include <stdbool.h>
#include <stddef.h>

#include "ui/keys.h"
#include "src/model/liveview.h"
#include "ui/text.h"

/* Fills out[0..max) with the memory pane for width x height (the title
 * first); returns the line count.  interval_s picks a minute of history. */
size_t pane_mem_lines(const struct live_frame *f, int width, int height, bool utf8,
                      double interval_s, struct ui_line *out, size_t max);
size_t pane_io_lines(const struct live_frame *f, const struct ui_state *st, int width,
                     struct ui_line *out, size_t max);

#endif
