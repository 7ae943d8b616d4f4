/*
 * pacer.h - the jittered clock of the engines that are paced by the caller
 * (the ptrace engine, the CPython live read).
 *
 * Each tick comes one period after the last, jittered by +-10% so the
 * sampler never falls into lockstep with a periodic target.  A pacer that
 * fell behind (a slow round) starts again from now instead of bursting to
 * catch up.  Pure arithmetic: the caller sleeps.
 */
#ifndef PERTOP_PACER_H
#define PERTOP_PACER_H

#include <stdint.h>

struct pacer {
    uint64_t next_ns; /* the next tick, CLOCK_MONOTONIC */
    uint64_t rnd;     /* xorshift state: jitter only, not security */
};

/* Starts at now_ns; seed mixes in anything that differs between runs. */
void pacer_init(struct pacer *p, uint64_t now_ns, uint64_t seed);

/* The tick after the current one at rate_hz (>= 1), never before now_ns. */
uint64_t pacer_next(struct pacer *p, uint64_t now_ns, unsigned rate_hz);

#endif
