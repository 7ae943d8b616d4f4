/*
 * pthreads.h - the perf engine's table of the target's threads: their
 * names (from /proc at attach, then COMM records) and the switch-out
 * sample each blocked thread has parked until it runs again.
 *
 * Bounded: PTHREADS_MAX threads (more are sampled but not named), and a
 * fixed pool of parked captures, each with a stack buffer of the session's
 * stack size, allocated once.  One thread (the sampler's) uses it.
 */
#ifndef PERTOP_PTHREADS_H
#define PERTOP_PTHREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler/capture.h"

#define PTHREADS_MAX      16384u /* threads tracked at once */
#define PTHREADS_PARK_MAX 512u   /* blocked threads whose sample waits for their return */

struct pthreads;

/* NULL when out of memory.  park_max 0: nothing is parked (no off-CPU). */
struct pthreads *pthreads_new(uint32_t stack_cap, unsigned park_max);
void pthreads_free(struct pthreads *t);

/* Every thread of pid, named from /proc.  The number found. */
size_t pthreads_load(struct pthreads *t, pid_t pid);
void pthreads_add(struct pthreads *t, pid_t tid);
void pthreads_remove(struct pthreads *t, pid_t tid);
size_t pthreads_count(const struct pthreads *t);
void pthreads_set_name(struct pthreads *t, pid_t tid, const char *name);
/* tid's name into buf ("" when unknown). */
void pthreads_name(const struct pthreads *t, pid_t tid, char *buf, size_t n);

/* A capture to fill with tid's switch-out sample (state S, or R when the
 * thread was preempted); NULL when the pool is empty or tid unknown. */
struct capture *pthreads_park(struct pthreads *t, pid_t tid);
/* tid's parked capture, or NULL. */
const struct capture *pthreads_parked(const struct pthreads *t, pid_t tid);
/* Copies the parked capture into dst (its own stack buffer, of the same
 * capacity or more), then frees the parking place. */
void pthreads_copy_parked(struct pthreads *t, pid_t tid, struct capture *dst);
void pthreads_unpark(struct pthreads *t, pid_t tid);
/* A switch-out record: preempt says the thread was still runnable. */
void pthreads_switched_out(struct pthreads *t, pid_t tid, bool preempt, uint64_t time_ns);

#endif
