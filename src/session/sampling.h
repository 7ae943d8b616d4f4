/*
 * sampling.h - the sampler thread: one loop for every engine (engine.h).
 *
 *   attach -> report to sampling_start -> wait for sampling_go ->
 *   round / wait (paced by pacer.h, or by the engine's own clock) ->
 *   detach -> close the capture queue
 *
 * The thread is the only one that touches the engine, so the engine's
 * calls all come from the thread that attached.  Everything the other
 * threads may read (figures, the exit, the exec count) is published under
 * one lock, every WAIT_SLICE at the latest.
 */
#ifndef PERTOP_SAMPLING_H
#define PERTOP_SAMPLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler/capqueue.h"
#include "sampler/engine.h"

struct sampling_cfg {
    const struct engine_ops *ops;
    struct engine_config engine;
    struct capqueue *q; /* closed when the thread ends */
    /* On the sampler thread: the target exec'd (before the engine goes on),
     * and every publish, under the publishing lock (copy reader figures) */
    void (*on_exec)(void *ctx);
    void (*on_publish)(void *ctx);
    void *ctx;
};

/* What the sampler thread published. */
struct sampling_figs {
    struct engine_stats st;
    const char *engine;       /* the engine's name */
    uint64_t t0_ns, t_end_ns; /* sampling began, ended (0 while it runs) */
    uint64_t cpu_ns;          /* the sampler thread's CPU, at its end */
    bool exited;              /* the target is gone */
    int exit_status;          /* its wait status when known, else -1 */
};

struct sampling;

/* Starts the sampler thread and waits for its attach.  0, or
 * -enum engine_error with err set (the thread has ended then). */
int sampling_start(struct sampling **out, const struct sampling_cfg *cfg, char *err, size_t errsz);
/* Sampling begins (launch mode: after the command was let go). */
void sampling_go(struct sampling *s);
/* Stops sampling, detaches, joins the thread.  Idempotent. */
void sampling_stop(struct sampling *s);
void sampling_free(struct sampling *s);

bool sampling_exited(struct sampling *s);
/* Changes each time the target exec'd. */
unsigned sampling_exec_gen(struct sampling *s);
void sampling_set_rate(struct sampling *s, unsigned hz);
unsigned sampling_rate(struct sampling *s);
void sampling_get(struct sampling *s, struct sampling_figs *out);

#endif
