/*
 * export_speedscope.h - the speedscope JSON file format
 * (https://www.speedscope.app/file-format-schema.json).
 *
 * One "sampled" profile per thread, named "name-tid" as the folded
 * format's thread frames are, and frames shared by all of them: one frame
 * per function, with its name, its definition file and line when known.
 * Each distinct stack of a thread is one entry of "samples" (frame indices,
 * root first) whose weight is its count times period_ns, so speedscope
 * shows thread time in its own units ("unit": "nanoseconds"); with
 * period_ns 0 the weights are sample counts ("unit": "none").  The
 * profile with the most samples is the one speedscope opens on.  Samples
 * the call tree could not place under a thread (tid 0) form a profile of
 * their own, so every sample is in the file.
 *
 * Pure writer over plain data (a per-thread stack table from view_stacks
 * and a resolver); called by session_write.  Returns 0, -ENOMEM, or -EIO
 * when the stream failed.
 */
#ifndef PERTOP_EXPORT_SPEEDSCOPE_H
#define PERTOP_EXPORT_SPEEDSCOPE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "src/session/resolve.h"
#include "src/model/view.h"

struct speedscope_opts {
    const char *name;     /* the file's title: the command line ("" when unknown) */
    const char *exporter; /* "pertop VERSION" */
    uint64_t period_ns;   /* thread time one sample stands for; 0 = weights in samples */
    /* name of thread tid, NULL or "" when unknown */
    const char *(*thread_name)(void *ctx, pid_t tid);
    void *thread_ctx;
};

/* t must be a per-thread table (view_stacks with per_thread). */
int export_speedscope_write(FILE *f, const struct stack_table *t, const struct resolver *r,
                            const struct speedscope_opts *o);

#endif
