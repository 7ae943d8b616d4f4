/*
 * vec.h - making room in an array that grows by doubling, written once.
 *
 * Contract:
 *   - pp is the address of the array's pointer, of any element type (a
 *     struct foo **): it is read and written with memcpy, never through a
 *     void ** lvalue, so no pointer is type-punned.  *cap is its capacity in
 *     elements of elem bytes; the array may be NULL with *cap 0.
 *   - vec_reserve(pp, cap, need, elem) makes room for need elements: nothing
 *     when *cap >= need; else the capacity goes from 0 to VEC_MIN_CAP, then
 *     doubles until it holds need.  0, or -ENOMEM when realloc fails or
 *     need * elem (or the doubled capacity) would overflow size_t.
 *   - vec_reserve_max() never grows beyond max elements: -E2BIG when need >
 *     max, else the doubled capacity is clamped to max.
 *   - elem 0 is a caller's mistake: -EINVAL.
 *   - vec_reserve_zero() zeroes the elements it adds (counters indexed by id).
 *   - On failure *pp and *cap are as they were: the old array stays valid and
 *     the caller's to free.  On success only *pp and *cap change.
 * The common case (room already there) is one inline comparison.
 */
#ifndef PERTOP_VEC_H
#define PERTOP_VEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEC_MIN_CAP 16 /* first capacity, in elements */

/* The slow path of the three below: grows *pp so that it holds need
 * elements, at most max, zeroing what it adds when zero is set. */
int vec_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t max, bool zero);

static inline int vec_reserve(void *pp, size_t *cap, size_t need, size_t elem)
{
    return need <= *cap ? 0 : vec_grow(pp, cap, need, elem, SIZE_MAX, false);
}

static inline int vec_reserve_max(void *pp, size_t *cap, size_t need, size_t elem, size_t max)
{
    return need <= *cap ? 0 : vec_grow(pp, cap, need, elem, max, false);
}

static inline int vec_reserve_zero(void *pp, size_t *cap, size_t need, size_t elem)
{
    return need <= *cap ? 0 : vec_grow(pp, cap, need, elem, SIZE_MAX, true);
}

#endif
