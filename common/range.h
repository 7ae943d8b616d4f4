/*
 * range.h - the element of a sorted array whose [start, end) holds an
 * address: a binary search written once for the address space, the maps
 * and the disassembly.
 *
 * Contract:
 *   - the array is sorted by start and its ranges do not overlap (the maps
 *     and the address space sort and drop overlaps when they build theirs);
 *     an empty or inverted range (end <= start) never matches;
 *   - the answer is the index of the element holding addr, or RANGE_NONE;
 *   - range_find() reads two uint64_t fields of each element, start and end
 *     (exclusive), at byte offsets that RANGE_FIELDS(type, start, end) gives
 *     and checks, with sizeof(type) as the stride; range_search() asks a
 *     callback for the bounds instead (an element with a start and a size);
 *   - range_find_hint() tries *hint first and keeps the last hit there:
 *     consecutive lookups (the unwinder's) mostly fall in the same range.
 * Header-only (static inline: the callback is a constant and inlines); no
 * allocation, no global state.  O(log n) bounds reads.
 */
#ifndef PERTOP_RANGE_H
#define PERTOP_RANGE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RANGE_NONE SIZE_MAX

/* The bounds of one element: its start and its (exclusive) end. */
typedef void (*range_bounds_fn)(const void *ctx, const void *elem, uint64_t *start, uint64_t *end);

static inline size_t range_search(const void *base, size_t n, size_t stride, uint64_t addr,
                                  range_bounds_fn bounds, const void *ctx)
{
    const char *b = base;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t start, end;
        bounds(ctx, b + mid * stride, &start, &end);
        if (addr < start)
            hi = mid;
        else if (addr >= end)
            lo = mid + 1;
        else
            return mid;
    }
    return RANGE_NONE;
}

/* Byte offset of a uint64_t field: it does not compile for any other size,
 * since range_find copies 8 bytes from there. */
#define RANGE_U64_OFF(type, field)                                                                 \
    (offsetof(type, field) + 0 * sizeof(char[sizeof(((type *)0)->field) == 8 ? 1 : -1]))
/* stride, start offset, end offset: the three middle arguments of range_find */
#define RANGE_FIELDS(type, start, end)                                                             \
    sizeof(type), RANGE_U64_OFF(type, start), RANGE_U64_OFF(type, end)

struct range_offsets {
    size_t start, end;
};

static inline void range_u64_bounds(const void *ctx, const void *elem, uint64_t *start,
                                    uint64_t *end)
{
    const struct range_offsets *o = ctx;
    memcpy(start, (const char *)elem + o->start, sizeof *start);
    memcpy(end, (const char *)elem + o->end, sizeof *end);
}

static inline size_t range_find(const void *base, size_t n, size_t stride, size_t start_off,
                                size_t end_off, uint64_t addr)
{
    struct range_offsets o = {start_off, end_off};
    return range_search(base, n, stride, addr, range_u64_bounds, &o);
}

static inline size_t range_find_hint(const void *base, size_t n, size_t stride, size_t start_off,
                                     size_t end_off, uint64_t addr, size_t *hint)
{
    if (*hint < n) {
        struct range_offsets o = {start_off, end_off};
        uint64_t start, end;
        range_u64_bounds(&o, (const char *)base + *hint * stride, &start, &end);
        if (addr >= start && addr < end)
            return *hint;
    }
    size_t i = range_find(base, n, stride, start_off, end_off, addr);
    if (i != RANGE_NONE)
        *hint = i;
    return i;
}

#endif
