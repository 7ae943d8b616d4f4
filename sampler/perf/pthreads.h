/*
 * pthreads.h - the perf engine's table of the target's threads and their
 * names (from /proc at attach, then COMM records).
 *
 * Bounded: PTHREADS_MAX threads (more are sampled but not named).  One
 * thread (the sampler's) uses it.
 */
#ifndef PERTOP_PTHREADS_H
#define PERTOP_PTHREADS_H

#include <stddef.h>
#include <sys/types.h>

#define PTHREADS_MAX 16384u /* threads tracked at once */

struct pthreads;

/* NULL when out of memory. */
struct pthreads *pthreads_new(void);
void pthreads_free(struct pthreads *t);

/* Every thread of pid, named from /proc.  The number found. */
size_t pthreads_load(struct pthreads *t, pid_t pid);
void pthreads_add(struct pthreads *t, pid_t tid);
void pthreads_remove(struct pthreads *t, pid_t tid);
size_t pthreads_count(const struct pthreads *t);
void pthreads_set_name(struct pthreads *t, pid_t tid, const char *name);
/* tid's name into buf ("" when unknown). */
void pthreads_name(const struct pthreads *t, pid_t tid, char *buf, size_t n);

#endif
