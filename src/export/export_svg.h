/*
 * export_svg.h - a self-contained interactive flame graph as one SVG file.
 *
 * Like flamegraph.pl's output, written from the stack table: the root
 * ("all") at the bottom, callees above their callers, siblings sorted by
 * name so identical stacks merge into one frame.  A frame's x and width
 * come from sample counts alone (x = 10 + samples before it * plot width /
 * all samples), so its width is its share exactly, up to the 3 decimals
 * written.  Frames narrower than min_width pixels are omitted (their
 * samples stay in their parents' widths); with the default 0.1 px that is
 * fewer than 1 sample in 11,800 of a 1200 px graph.  Colours say the kind
 * of frame: warm (red to yellow, the hue from the module) for native code,
 * blue-green for Python, grey for unknown, truncated and other special
 * frames, light slate for threads and the root; nothing else.
 *
 * Each frame's <g> carries data-s, the samples before it: the script zooms
 * and measures matches in samples, exact where pixels are rounded.
 *
 * An embedded script (no other file needed) shows a frame's name, samples
 * and percent, and where the function is (file:line, module), on hover, zooms into a frame on click
 * (its callers shown full width, faded; "Reset Zoom" or a click on a caller goes back), and
 * searches function names with a regular expression ("Search" or Ctrl-F):
 * matches turn magenta and the share of samples under any match is shown.
 * With threads, each thread ("name-tid") is a frame of the first level.
 *
 * Pure writer over plain data; called by session_write.  Returns 0,
 * -ENOMEM, or -EIO when the stream failed.
 */
#ifndef PERTOP_EXPORT_SVG_H
#define PERTOP_EXPORT_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "src/session/resolve.h"
#include "src/model/view.h"

#define SVG_FRAME_HEIGHT 16
#define SVG_PAD_X        10 /* plot from x = 10 to width - 10 */
#define SVG_PAD_TOP      66 /* title, subtitle, legend */
#define SVG_PAD_BOTTOM   30 /* the details line */

struct svg_opts {
    const char *title;    /* first line, e.g. "pertop: ./server --port 80" */
    const char *subtitle; /* second line, e.g. "1234 samples, 12.3 s" */
    bool threads;         /* t is per thread: threads form the first level */
    const char *(*thread_name)(void *ctx, pid_t tid); /* NULL or "" when unknown */
    void *thread_ctx;
    unsigned width;   /* image width in pixels (default 1200) */
    double min_width; /* frames narrower than this many pixels are omitted (default 0.1) */
};

void svg_opts_default(struct svg_opts *o);
int export_svg_write(FILE *f, const struct stack_table *t, const struct resolver *r,
                     const struct svg_opts *o);

/* Writes s as XML character data: markup characters as entities, control
 * bytes and invalid UTF-8 as U+FFFD.  Longer than max_chars characters, it
 * is cut to max_chars - 2 and ".." (to nothing when max_chars < 3).
 * Returns the characters written. */
size_t svg_put_text(FILE *f, const char *s, size_t max_chars);

#endif
