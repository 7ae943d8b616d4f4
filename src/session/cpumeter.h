/*
 * cpumeter.h - the CPU time a target used since sampling began, for the
 * rate a clock-driven engine achieved: its samples fire per thread-second
 * of CPU, so that is what they are divided by (rounds per wall second
 * would count the engine's wake-ups instead).
 *
 * Reads /proc/PID/stat (utime + stime of every thread, living or gone);
 * once the target is gone, the last reading stands.  Not thread-safe: the
 * session calls it under its sync lock.
 */
#ifndef PERTOP_CPUMETER_H
#define PERTOP_CPUMETER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cpumeter {
    pid_t pid;
    double tick_s;
    uint64_t start, last; /* clock ticks */
    bool started, frozen;
};

void cpumeter_start(struct cpumeter *m, pid_t pid);
/* CPU seconds the target used since cpumeter_start (until the freeze). */
double cpumeter_seconds(struct cpumeter *m);
/* Sampling ended: one last reading, then it stands. */
void cpumeter_freeze(struct cpumeter *m);

#endif
