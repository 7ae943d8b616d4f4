/*
 * view.h - what the screen and the snapshots show, computed from the model.
 *
 * Pure functions of (model, resolver, options): no I/O, no target access.
 * The hot-function table counts self (samples whose innermost frame is the
 * function) and total (samples with the function anywhere on the stack,
 * counted once per stack under recursion).  Percentages are of all samples
 * in the selection (one thread or all).  The caller holds the model lock.
 */
#ifndef PERTOP_VIEW_H
#define PERTOP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "src/model/model.h"
#include "src/session/resolve.h"

enum view_sort { SORT_SELF, SORT_TOTAL, SORT_NAME, SORT_MODULE };

struct view_opts {
    enum model_window window;
    uint64_t now_ns;    /* for the recent window */
    pid_t tid;          /* 0 = all threads */
    const char *filter; /* substring of function names, NULL = none */
    enum view_sort sort;
    bool ascending; /* primary key ascending; ties always: more self, more total,
                       name, module, function id */
};

struct hot_row {
    uint32_t func; /* resolver function id */
    uint64_t self, total;
    double self_pct, total_pct;
};

struct hot_table {
    struct hot_row *rows;
    size_t n;
    uint64_t samples; /* samples in the selection */
};

/* Returns 0 or -ENOMEM; an unknown o->tid gives an empty table. */
int view_hot(const struct model *m, const struct resolver *r, const struct view_opts *o,
             struct hot_table *out);
void hot_table_free(struct hot_table *t);

/* A distinct stack (function-level frames, root first) and its count. */
struct stack_row {
    pid_t tid; /* 0 when merged over threads */
    uint64_t count;
    size_t n;
    struct chain_frame *frames; /* root first, points into the table's storage */
};

struct stack_table {
    struct stack_row *rows;
    size_t n;
    uint64_t samples;
    struct chain_frame *storage;
};

/* Distinct stacks by count, descending.  per_thread keeps threads apart
 * (for --threads); otherwise identical stacks of different threads merge.
 * Stacks are identical when their function ids are; the file:line shown
 * are those of the heaviest call-tree path merged in.  Samples with no
 * frames give a row with n == 0.  o->filter and o->sort are not used. */
int view_stacks(const struct model *m, const struct resolver *r, const struct view_opts *o,
                bool per_thread, struct stack_table *out);
void stack_table_free(struct stack_table *t);

/* Every frame id reachable in the model (for resolver_native_prepare). */
uint32_t view_frames_upto(const struct model *m);

#endif
