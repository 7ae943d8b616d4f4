/*
 * snapshot.h - views rendered as plain text, and the folded format.
 *
 * The text snapshot is what --batch prints, what --output writes with
 * --format text, and what the screen's snapshot key will save: a header, the
 * hot-functions table and the hottest stacks.  The folded format is one line
 * per distinct stack, root first, frames joined by ';', a space, the count
 * (flamegraph.pl, speedscope, Pyroscope); with threads, "name-tid" is the
 * root frame.  Writers take a FILE* and do nothing else.
 *
 * Text: the table's SAMPLES column is self samples; function names are cut
 * with "..." to fit opts.width but keep at least 32 columns; stack lines are
 * never cut.  Folded: a frame is its function name only, ';' and newlines
 * in names become ':' and ' '; samples with no frames are left out unless
 * threads is set (then they are a line with only the thread frame).  Both
 * writers return 0, -ENOMEM, or -EIO when the stream failed.
 */
#ifndef PERTOP_SNAPSHOT_H
#define PERTOP_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "src/model/model.h"
#include "src/session/resolve.h"
#include "src/model/view.h"

struct profile;

struct snapshot_header {
    pid_t pid;
    const char *cmdline;
    double duration_s;
    uint64_t samples;
    uint64_t lost;
    double rate_asked, rate_achieved; /* Hz per thread-round */
    unsigned threads;                 /* threads seen */
    bool idle;                        /* mode: with idle */
    bool exited;                      /* target exited during the run */
    int exit_status;                  /* wait status when exited */
    uint64_t truncated;               /* truncated stacks */
    const char *python;               /* "CPython 3.12.1", NULL when none was found */
    uint64_t py_samples;              /* samples with Python frames */
    uint64_t py_unmerged;             /* ... whose Python and native frames could not be merged */
    uint64_t py_torn;                 /* ... read while they changed (partial) */
    uint64_t py_nb_torn;              /* --nonblocking: torn walks dropped, not samples */
    bool py_nonblocking;              /* --nonblocking: read without stopping */
};

struct snapshot_opts {
    size_t max_rows;                /* hot table rows (default 30) */
    size_t max_stacks;              /* hottest stacks (default 5) */
    unsigned width;                 /* line width for the function column (default 100) */
    const struct profile *baseline; /* --baseline: a VS.BASE column (self % change), or NULL */
};

void snapshot_opts_default(struct snapshot_opts *o);
int snapshot_write_text(FILE *f, const struct snapshot_header *h, const struct model *m,
                        const struct resolver *r, const struct view_opts *vo,
                        const struct snapshot_opts *so);
int snapshot_write_folded(FILE *f, const struct model *m, const struct resolver *r,
                          const struct view_opts *vo, bool threads);

#endif
