/*
 * offcpu.h - off-CPU waits put together from records that come out of order.
 *
 * With --idle the perf engine gets, for every block of a thread, a
 * switch-out sample (its stack as it blocks) in the ring of the CPU it left,
 * a switch-out record beside it, and a switch-in record when it runs again
 * in the ring of the CPU it wakes on: maybe another ring, drained in another
 * order, in this drain or the next.  Matched in arrival order, a sample meets
 * the switch-in of an earlier wait, or none.  So this module buffers the
 * three kinds, and releases, in time order, only what is older than the
 * watermark its caller gives (a time every ring has been read past): each
 * sample then meets its own switch-in and is weighted by the time away.
 *
 * A wait still open at the watermark is released in parts (every slice_ns),
 * so a thread blocked for minutes shows as it waits.  A thread that exits
 * ends its wait.  A sample whose switch-in never comes (the kernel lost it)
 * is replaced by the thread's next one and counted.
 *
 * Bounded: a pool of captures (one per wait in flight), a table of
 * threads, a buffer of events; what does not fit is counted, never blocks.
 * Pure logic, no I/O; one thread uses it.
 */
#ifndef PERTOP_OFFCPU_H
#define PERTOP_OFFCPU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler/capture.h"

#define OFFCPU_THREADS_MAX 16384u /* threads with a wait tracked at once */

struct offcpu;

struct offcpu_stats {
    uint64_t waits;     /* waits matched with their switch-in */
    uint64_t parts;     /* parts of long waits released before their end */
    uint64_t unmatched; /* samples whose switch-in never came */
    uint64_t dropped;   /* samples with no room (pool, thread table, buffer) */
};

/* pool: waits in flight at once; max_events: events buffered between two
 * releases.  NULL when out of memory. */
struct offcpu *offcpu_new(uint32_t stack_cap, unsigned pool, unsigned max_events);
void offcpu_free(struct offcpu *o);

/* A capture to fill with tid's switch-out sample taken at time_ns, then
 * offcpu_commit (ok false: the sample was unusable).  NULL when there is no
 * room (counted). */
struct capture *offcpu_sample(struct offcpu *o, pid_t tid, uint64_t time_ns);
void offcpu_commit(struct offcpu *o, bool ok);
/* A switch record: out (preempt: still runnable, it waits for a CPU) or in. */
void offcpu_switch(struct offcpu *o, pid_t tid, bool out, bool preempt, uint64_t time_ns);
/* tid exited at time_ns: its wait ends there. */
void offcpu_exit(struct offcpu *o, pid_t tid, uint64_t time_ns);

/* Called for every wait (or part of one) released: the switch-out capture
 * (state S, or R when preempted) and the time it stands for; the callee
 * copies it (and counts it lost when it has no room). */
typedef void (*offcpu_emit_fn)(void *ctx, const struct capture *c, uint64_t weight_ns);

/* Releases, in time order, the events before upto_ns, then the part past
 * slice_ns of every wait still open at upto_ns. */
void offcpu_release(struct offcpu *o, uint64_t upto_ns, uint64_t slice_ns, offcpu_emit_fn emit,
                    void *ctx);
void offcpu_get_stats(const struct offcpu *o, struct offcpu_stats *out);

#endif
