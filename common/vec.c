/*
 * vec.c - making room in an array that grows by doubling (see vec.h).
 */
#include "common/vec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The capacity to grow to: doubling from VEC_MIN_CAP (or the current one)
 * until need fits, clamped to max; 0 when doubling would overflow. */
static size_t next_cap(size_t cap, size_t need, size_t max)
{
    size_t n = cap ? cap : VEC_MIN_CAP;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return need; /* one more doubling would overflow: exactly need */
        n *= 2;
    }
    return n < max ? n : max;
}

int vec_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t max, bool zero)
{
    if (need <= *cap)
        return 0;
    if (need > max)
        return -E2BIG;
    size_t n = next_cap(*cap, need, max);
    if (elem == 0)
        return -EINVAL;
    if (n > SIZE_MAX / elem)
        return -ENOMEM; /* n * elem bytes cannot be asked for */
    void *p;
    memcpy(&p, pp, sizeof p);
    void *q = realloc(p, n * elem);
    if (!q)
        return -ENOMEM;
    if (zero)
        memset((char *)q + *cap * elem, 0, (n - *cap) * elem);
    memcpy(pp, &q, sizeof q);
    *cap = n;
    return 0;
}
