/*
 * output.h - one profile written in the format asked for: the text
 * snapshot, folded stacks, speedscope, SVG flame graph, Markdown report or
 * pprof.
 *
 * Views are taken under the model lock and written outside it, so a big
 * profile written from the screen does not hold up the processing thread
 * (100,000 distinct stacks take about half a second to write).  The caller
 * has symbolized the frames first (resolver_native_prepare).
 */
#ifndef PERTOP_OUTPUT_H
#define PERTOP_OUTPUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "src/cli.h"
#include "src/export/snapshot.h"

struct model;
struct interner;
struct modreg;
struct resolver;
struct runfigs;
struct profile;

struct output_src {
    struct model *model;
    struct interner *in;
    pthread_mutex_t *lock; /* the model's and the interner's */
    struct modreg *reg;
    const struct resolver *r;
    const struct run_info *run;     /* the run so far */
    struct runfigs *figs;           /* NULL: not measured */
    const struct profile *baseline; /* --baseline, or NULL */
    const char *baseline_name;
    size_t rows;       /* hot-table rows */
    bool line_numbers; /* folded: Python frames with their line */
};

/* 0, or a negative errno (-EIO when the stream failed). */
int output_write(FILE *f, const struct output_src *src, enum output_format fmt, bool threads);

#endif
