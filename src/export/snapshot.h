/*
 * snapshot.h - views rendered as plain text, and the folded format.
 *
 * The text snapshot is what --batch prints, what --output writes with
 * --format text, and what the screen's snapshot key will save: a header (the
 * run_info: pid, command, engine and its note, duration, samples, rate ...),
 * the hot-functions table and the hottest stacks.  The folded format is one line
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
#include "src/model/runinfo.h"
#include "src/session/resolve.h"
#include "src/model/view.h"

struct profile;

struct snapshot_opts {
    size_t max_rows;                /* hot table rows (default 30) */
    size_t max_stacks;              /* hottest stacks (default 5) */
    unsigned width;                 /* line width for the function column (default 100) */
    const struct profile *baseline; /* --baseline: a VS.BASE column (self % change), or NULL */
};

void snapshot_opts_default(struct snapshot_opts *o);
int snapshot_write_text(FILE *f, const struct run_info *run, const struct model *m,
                        const struct resolver *r, const struct view_opts *vo,
                        const struct snapshot_opts *so);
/* Folded output: threads puts "name-tid" above each stack (--threads);
 * Python frames are "function (file.py:LINE)" as py-spy writes them, or
 * "function (file.py)" without line_numbers (--no-line-numbers). */
struct folded_opts {
    bool threads;
    bool line_numbers;
    /* with threads: when the model holds threads of child processes
     * (--subprocesses), "process-pid" above each thread, target_pid being
     * the process of the threads whose pid is 0 */
    pid_t target_pid;
};
int snapshot_write_folded(FILE *f, const struct model *m, const struct resolver *r,
                          const struct view_opts *vo, const struct folded_opts *o);

#endif
