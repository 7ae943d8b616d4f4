/*
 * zoom.h - narrowing every view to a thread, a module or a subtree.
 *
 * A zoom is plain data the screen keeps and the batch options fill;
 * zoom_apply turns it into a filter on the per-node self counts every view
 * starts from (model_self_counts), so the views themselves never know about
 * zoom.  Parts combine (all must hold):
 *  - thread: samples of that thread only;
 *  - module: samples whose innermost frame is in that module (shared
 *    object), as perf's --dsos: where the CPU time was spent;
 *  - subtree: either a path of functions from the root (the call-tree row
 *    the user zoomed into: that exact calling context, like a flame-graph
 *    zoom), or one function anywhere on the stack (from the hot list or the
 *    function view: every stack through it, like pprof's --focus).
 * Pure: no I/O; the caller holds the model lock.
 */
#ifndef PERTOP_ZOOM_H
#define PERTOP_ZOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "src/model/model.h"
#include "src/session/resolve.h"

#define ZOOM_PATH_MAX   64
#define ZOOM_MODULE_MAX 128

enum zoom_sub { ZOOM_SUB_NONE, ZOOM_SUB_PATH, ZOOM_SUB_FUNC };

struct zoom {
    pid_t tid;                    /* 0 = every thread */
    char module[ZOOM_MODULE_MAX]; /* "" = every module */
    enum zoom_sub sub;
    uint32_t npath;               /* ZOOM_SUB_PATH: 1..ZOOM_PATH_MAX; FUNC: 1 */
    uint32_t path[ZOOM_PATH_MAX]; /* function ids, root first */
};

bool zoom_active(const struct zoom *z);
/* Zeroes self[i] of every node outside the zoom.  0 or -ENOMEM. */
int zoom_apply(const struct model *m, const struct resolver *r, const struct zoom *z,
               uint64_t *self);
/* "thread 42, module libz.so.1, under main > run" ("" when no zoom). */
void zoom_describe(const struct zoom *z, const struct resolver *r, char *buf, size_t n);

#endif
