/*
 * runfigs.h - the run's figures (CPU %, RSS and its peak, I/O rates, each
 * thread's time and waits for the verdict and the report) from procfs
 * readings of the target.
 *
 * A reading when processing starts, then every 250 ms while it runs (up to
 * 2 s for a process slow to read: at most 0.5% of a CPU), and
 * one at the end while a --pid target still runs.  Often, so a command that
 * exits loses little of its figures.  A collector of its own beside the
 * screen's, so neither disturbs the other's rates.  Thread-safe: readings
 * on the processing thread, copies on any.
 */
#ifndef PERTOP_RUNFIGS_H
#define PERTOP_RUNFIGS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct report_figs;
struct procstat_thread;
struct prof_meta;
struct runfigs;

/* NULL when out of memory (no figures is no failure: the report says they
 * were not measured).  Each reading costs a few reads per thread: its
 * stat and schedstat, and a blocked thread's call and descriptor. */
struct runfigs *runfigs_new(pid_t pid);
void runfigs_free(struct runfigs *f);

/* Fills t's wait_* fields (the caller's part of a procstat_thread): the
 * stack of blocked thread t as interned frame ids, and for a lock wait the
 * lock's module, vaddr and holder. */
typedef void (*runfigs_stack_fn)(void *ctx, struct procstat_thread *t);
/* Each reading then takes the stacks of up to RUNFIGS_STACKS_PER_READING
 * threads blocked in I/O, on a lock or waiting for work (the next ones at
 * the next reading), so the verdict names the function that waits. */
#define RUNFIGS_STACKS_PER_READING 16
void runfigs_set_stacks(struct runfigs *f, runfigs_stack_fn fn, void *ctx);

/* A reading now; NULL is ignored. */
void runfigs_take(struct runfigs *f);
/* A reading if one is due at now_ns. */
void runfigs_maybe_take(struct runfigs *f, uint64_t now_ns);

/* A copy of the figures (*out malloc'd, free it; NULL when none yet). */
struct report_figs *runfigs_copy(struct runfigs *f);
/* CPU, RSS and I/O averages into out (report_figs_meta). */
void runfigs_meta(struct runfigs *f, struct prof_meta *out);

#endif
