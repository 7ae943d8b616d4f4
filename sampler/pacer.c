/*
 * pacer.c - the jittered sampling clock (see pacer.h).
 */
#include "sampler/pacer.h"

/* xorshift64* */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ull;
}

void pacer_init(struct pacer *p, uint64_t now_ns, uint64_t seed)
{
    p->next_ns = now_ns;
    p->rnd = (now_ns ^ seed ^ 0x9e3779b97f4a7c15ull) | 1; /* xorshift must not start at 0 */
}

uint64_t pacer_next(struct pacer *p, uint64_t now_ns, unsigned rate_hz)
{
    uint64_t period = 1000000000ull / (rate_hz ? rate_hz : 1);
    uint64_t jitter = period / 5 ? next_random(&p->rnd) % (period / 5) : 0;
    p->next_ns += period - period / 10 + jitter;
    if (p->next_ns < now_ns)
        p->next_ns = now_ns; /* fell behind: do not burst to catch up */
    return p->next_ns;
}
