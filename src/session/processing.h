/*
 * processing.h - the processing thread: captures in, model out.
 *
 * Takes each capture from the queue, unwinds it (unwind.h) unless the
 * session reads Python frames only, locates the frames in their modules,
 * merges the Python frames in (stackmerge.h), interns the frames and adds
 * the stack to the model under the model lock.  The capture's slot goes
 * back before the lock is taken.  Between captures it takes the run
 * figures' procfs readings (runfigs.h).  It remembers each thread's latest
 * leaf, for the screen's "function it is in now".
 */
#ifndef PERTOP_PROCESSING_H
#define PERTOP_PROCESSING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler/capqueue.h"
#include "src/model/liveview.h"

struct addrspace;
struct unwinder;
struct modreg;
struct interner;
struct model;
struct pysample;
struct runfigs;

struct processing_cfg {
    struct capqueue *q;
    struct addrspace *as;
    struct unwinder *uw; /* NULL: Python frames only, no native unwinding */
    struct modreg *reg;
    struct interner *in;
    struct model *model;
    pthread_mutex_t *model_lock; /* model, interner */
    struct pysample *py;         /* NULL without the CPython reader */
    struct runfigs *figs;        /* NULL: no run figures */
    /* the target's exec count (sampling_exec_gen): maps are read again */
    unsigned (*exec_gen)(void *ctx);
    /* the sampling rate now (sampling_rate): off-CPU time in periods */
    unsigned (*rate_hz)(void *ctx);
    void *ctx;
};

struct processing_stats {
    uint64_t processed, truncated;
    uint64_t py_samples, py_unmerged, py_torn;
    uint64_t cpu_ns; /* the thread's CPU, once it ended */
};

struct processing;

/* Starts the thread; it ends when the queue is closed and drained. */
int processing_start(struct processing **out, const struct processing_cfg *cfg, char *err,
                     size_t errsz);
/* Waits for the thread's end.  Idempotent. */
void processing_join(struct processing *p);
void processing_free(struct processing *p);

void processing_get_stats(struct processing *p, struct processing_stats *out);
/* The latest leaf of each thread, compactly into a malloc'd array (*out,
 * free it); under the model lock.  The count, or -ENOMEM. */
long processing_leaves(struct processing *p, struct lv_leaf **out);

#endif
