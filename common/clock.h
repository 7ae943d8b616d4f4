/*
 * clock.h - the two clocks pertop measures with, in nanoseconds:
 * CLOCK_MONOTONIC for every interval and deadline, and the calling
 * thread's CPU time for what pertop's own work costs.  Header-only, so
 * every layer (sampler, src, ui) shares one definition.
 */
#ifndef PERTOP_CLOCK_H
#define PERTOP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_mono_ns(void)
{
    return clock_ns_of(CLOCK_MONOTONIC);
}

static inline uint64_t clock_thread_cpu_ns(void)
{
    return clock_ns_of(CLOCK_THREAD_CPUTIME_ID);
}

#endif
