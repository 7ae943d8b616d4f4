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
 *
 * Python-first (fold_python): from the first sample with Python frames on,
 * every sample also goes to a second model where the interpreter's own
 * native frames (its executable or libpython) that run below a Python
 * frame, and the C runtime (libc, libm, ld.so) they call, are left out, up
 * to the next Python frame or a frame of another module (a C extension and
 * all it calls, the kernel), which stays: their samples are the Python
 * frame's self time.  That model starts as a copy of the full
 * one (no earlier sample could fold) and is what a Python user reads;
 * the full one keeps every frame (--native-all).
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
    bool fold_python;            /* keep the Python-first model too (merged stacks) */
    struct runfigs *figs;        /* NULL: no run figures */
    /* --subprocesses: captures of child processes (capture.pid) unwind in
     * their own address spaces, each unwinder cutting at max_depth */
    bool subprocesses;
    unsigned max_depth;
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
/* The latest leaf of each thread in model m (one processing_view_model
 * gave), compactly into a malloc'd array (*out, free it); under the model
 * lock.  The count, or -ENOMEM. */
long processing_leaves(struct processing *p, const struct model *m, struct lv_leaf **out);
/* The model the views read: the Python-first one when there is one and
 * native_all is false, else the full one.  Under the model lock. */
struct model *processing_view_model(struct processing *p, bool native_all);
/* Whether the Python-first model exists (the target showed Python frames). */
bool processing_folds(struct processing *p);
/* Forgets every count of both models (the 'z' key); under the model lock. */
void processing_zero(struct processing *p);

#endif
