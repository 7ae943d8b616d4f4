/*
 * perfengine.h - the perf_event engine behind the engine interface
 * (engine.h): the default where the kernel allows it.
 *
 * The kernel samples every thread of the target on its own clock
 * (task-clock: thread CPU time; or cpu-clock) in the thread's own context,
 * writing registers, a copy of the top of the user stack and, when allowed,
 * the kernel callchain into ring buffers (perfev.h).  Nobody is stopped.
 * Threads created later are followed by the kernel (inherit); thread names
 * come from COMM records, an exec from COMM's exec flag, new code mappings
 * from MMAP2 records (the next capture says CAPTURE_MAPS_CHANGED), and
 * the kernel's LOST records count as lost samples.  Self-timed: wait polls
 * the rings and drains them into the capture queue as records come.
 *
 * With engine_config.idle a second event (context switches, period 1)
 * samples the user stack where a thread blocks, and switch records give
 * when it runs again: that capture is queued then, in state S or D,
 * weighted by the time it was off the CPU.
 *
 * perf_engine_probe says, before any attach, whether it can run here and
 * why not (perf_event_paranoid, capabilities, seccomp, no perf_event).
 */
#ifndef PERTOP_PERFENGINE_H
#define PERTOP_PERFENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "sampler/engine.h"

extern const struct engine_ops perf_engine_ops;

/* 0 when the engine can sample here, else -enum engine_error and why, with
 * what to do, in why. */
int perf_engine_probe(bool kernel, char *why, size_t whysz);

#endif
