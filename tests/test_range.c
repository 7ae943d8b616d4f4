/*
 * test_range.c - the binary search for the range holding an address:
 * empty arrays, the edges of every range (start in, end out), gaps, empty
 * ranges, the top of the address space, the hint, the callback form, and
 * agreement with a linear scan on random arrays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "common/range.h"

/* The fields away from the front and apart, as in the real structs. */
struct region {
    uint32_t tag;
    uint64_t start;
    void *payload;
    uint64_t end;
};

static size_t find(const struct region *v, size_t n, uint64_t addr)
{
    return range_find(v, n, RANGE_FIELDS(struct region, start, end), addr);
}

static void test_empty(void **state)
{
    (void)state;
    assert_true(find(NULL, 0, 0) == RANGE_NONE);
    assert_true(find(NULL, 0, 12345) == RANGE_NONE);
    size_t hint = 0;
    assert_true(range_find_hint(NULL, 0, RANGE_FIELDS(struct region, start, end), 5, &hint) ==
                RANGE_NONE);
    assert_int_equal(hint, 0);
}

static void test_edges_and_gaps(void **state)
{
    (void)state;
    const struct region v[] = {
        {1, 0x1000, NULL, 0x2000}, {2, 0x2000, NULL, 0x3000}, /* adjacent to the first */
        {3, 0x5000, NULL, 0x5000},                            /* empty: never matches */
        {4, 0x8000, NULL, 0x9000}, {5, UINT64_MAX - 0x10, NULL, UINT64_MAX},
    };
    size_t n = sizeof v / sizeof v[0];
    assert_true(find(v, n, 0) == RANGE_NONE);
    assert_true(find(v, n, 0xfff) == RANGE_NONE);
    assert_int_equal(find(v, n, 0x1000), 0); /* start is in */
    assert_int_equal(find(v, n, 0x1fff), 0);
    assert_int_equal(find(v, n, 0x2000), 1); /* end is out: the next one's */
    assert_int_equal(find(v, n, 0x2fff), 1);
    assert_true(find(v, n, 0x3000) == RANGE_NONE); /* gap */
    assert_true(find(v, n, 0x5000) == RANGE_NONE); /* the empty range */
    assert_int_equal(find(v, n, 0x8800), 3);
    assert_true(find(v, n, 0x9000) == RANGE_NONE);
    assert_int_equal(find(v, n, UINT64_MAX - 1), 4);
    assert_true(find(v, n, UINT64_MAX) == RANGE_NONE);
    /* a prefix of the array is an array */
    assert_true(find(v, 1, 0x2000) == RANGE_NONE);
    assert_int_equal(find(v, 1, 0x1000), 0);
}

static void test_hint(void **state)
{
    (void)state;
    const struct region v[] = {
        {1, 10, NULL, 20},
        {2, 30, NULL, 40},
        {3, 50, NULL, 60},
    };
    size_t hint = 99; /* out of bounds: ignored */
    assert_int_equal(range_find_hint(v, 3, RANGE_FIELDS(struct region, start, end), 55, &hint), 2);
    assert_int_equal(hint, 2);
    assert_int_equal(range_find_hint(v, 3, RANGE_FIELDS(struct region, start, end), 59, &hint), 2);
    assert_int_equal(range_find_hint(v, 3, RANGE_FIELDS(struct region, start, end), 10, &hint), 0);
    assert_int_equal(hint, 0);
    /* a miss keeps the last hit */
    assert_true(range_find_hint(v, 3, RANGE_FIELDS(struct region, start, end), 25, &hint) ==
                RANGE_NONE);
    assert_int_equal(hint, 0);
    /* a hint past a shrunk array is not trusted */
    hint = 2;
    assert_true(range_find_hint(v, 2, RANGE_FIELDS(struct region, start, end), 55, &hint) ==
                RANGE_NONE);
}

/* The callback form: a start and a 16-bit size, like an instruction. */
struct insn {
    uint64_t addr;
    uint16_t size;
};

static void insn_bounds(const void *ctx, const void *elem, uint64_t *start, uint64_t *end)
{
    const struct insn *in = elem;
    *start = in->addr + *(const uint64_t *)ctx;
    *end = *start + in->size;
}

static void test_callback(void **state)
{
    (void)state;
    const struct insn v[] = {{0x100, 1}, {0x101, 4}, {0x105, 0}, {0x105, 15}};
    uint64_t bias = 0;
    size_t n = sizeof v / sizeof v[0];
    assert_int_equal(range_search(v, n, sizeof v[0], 0x100, insn_bounds, &bias), 0);
    assert_int_equal(range_search(v, n, sizeof v[0], 0x104, insn_bounds, &bias), 1);
    assert_int_equal(range_search(v, n, sizeof v[0], 0x113, insn_bounds, &bias), 3);
    assert_true(range_search(v, n, sizeof v[0], 0x114, insn_bounds, &bias) == RANGE_NONE);
    assert_true(range_search(v, n, sizeof v[0], 0xff, insn_bounds, &bias) == RANGE_NONE);
    bias = 0x1000; /* the context reaches the callback */
    assert_int_equal(range_search(v, n, sizeof v[0], 0x1100, insn_bounds, &bias), 0);
    assert_true(range_search(v, n, sizeof v[0], 0x100, insn_bounds, &bias) == RANGE_NONE);
}

/* Random sorted, non-overlapping arrays with gaps and empty ranges: the
 * search answers what a linear scan answers, for every interesting address. */
static void test_against_linear_scan(void **state)
{
    (void)state;
    srand(12345);
    struct region v[64];
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(rand() % 64);
        uint64_t at = (uint64_t)(rand() % 4);
        for (size_t i = 0; i < n; i++) {
            v[i].start = at + (uint64_t)(rand() % 3);
            v[i].end = v[i].start + (uint64_t)(rand() % 4);
            at = v[i].end;
        }
        for (uint64_t a = 0; a <= at + 1; a++) {
            size_t want = RANGE_NONE;
            for (size_t i = 0; i < n; i++)
                if (a >= v[i].start && a < v[i].end)
                    want = i;
            size_t got = find(v, n, a);
            if (got != want)
                fail_msg("round %d, addr %llu: %zu, want %zu", round, (unsigned long long)a, got,
                         want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_edges_and_gaps),
        cmocka_unit_test(test_hint),
        cmocka_unit_test(test_callback),
        cmocka_unit_test(test_against_linear_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
