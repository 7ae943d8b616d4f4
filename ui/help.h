/*
 * help.h - the help screen (h, ?) and the status line of keys at the
 * bottom, as text lines.  Pure; the key list here is the one README and
 * the man page repeat.  The status line shows the keys ui/views.h lists
 * for the view on screen.
 */
#ifndef PERTOP_UI_HELP_H
#define PERTOP_UI_HELP_H

#include <stddef.h>

#include "ui/keys.h"
#include "ui/text.h"

/* Fills out[0..max) with the help screen's lines; returns the count. */
size_t help_lines(int width, struct ui_line *out, size_t max);
/* The verdict's findings (D), each wrapped to width, for run: the header's
 * line shows only the first; returns the count. */
struct run_info;
size_t diag_lines(const struct run_info *run, unsigned sel, int width, struct ui_line *out,
                  size_t max);
/* The status line: the message when there is one, the filter prompt while
 * typing one, else the most useful keys. */
void help_status_line(const struct ui_state *st, int width, struct ui_line *out);

#endif
