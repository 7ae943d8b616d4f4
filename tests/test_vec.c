/*
 * test_vec.c - making room in an array by doubling: the first capacity,
 * doubling, a need past the doubling, the cap of vec_reserve_max (exactly
 * at it and one over), zeroed growth, overflow of need * elem, and an
 * array left as it was by every failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/vec.h"

struct item {
    uint64_t a, b;
    char name[8];
};

static void test_first_and_doubling(void **state)
{
    (void)state;
    struct item *v = NULL;
    size_t cap = 0;
    assert_int_equal(vec_reserve(&v, &cap, 0, sizeof *v), 0); /* nothing needed */
    assert_null(v);
    assert_int_equal(cap, 0);
    assert_int_equal(vec_reserve(&v, &cap, 1, sizeof *v), 0);
    assert_non_null(v);
    assert_int_equal(cap, VEC_MIN_CAP);
    for (size_t i = 0; i < 100; i++) {
        assert_int_equal(vec_reserve(&v, &cap, i + 1, sizeof *v), 0);
        v[i] = (struct item){i, i * 3, "x"};
    }
    assert_int_equal(cap, 128); /* 16, 32, 64, 128 */
    for (size_t i = 0; i < 100; i++)
        assert_true(v[i].a == i && v[i].b == i * 3); /* kept through every move */
    /* room already there: nothing changes */
    struct item *before = v;
    assert_int_equal(vec_reserve(&v, &cap, 128, sizeof *v), 0);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 128);
    /* a need past the doubling: doubled until it fits */
    assert_int_equal(vec_reserve(&v, &cap, 1000, sizeof *v), 0);
    assert_int_equal(cap, 1024);
    assert_true(v[99].b == 297);
    free(v);
}

static void test_max(void **state)
{
    (void)state;
    uint32_t *v = NULL;
    size_t cap = 0;
    assert_int_equal(vec_reserve_max(&v, &cap, 10, sizeof *v, 24), 0);
    assert_int_equal(cap, 16);
    /* doubling would give 32: clamped to the max */
    assert_int_equal(vec_reserve_max(&v, &cap, 17, sizeof *v, 24), 0);
    assert_int_equal(cap, 24);
    assert_int_equal(vec_reserve_max(&v, &cap, 24, sizeof *v, 24), 0); /* exactly the max */
    uint32_t *before = v;
    assert_int_equal(vec_reserve_max(&v, &cap, 25, sizeof *v, 24), -E2BIG);
    assert_ptr_equal(v, before); /* unchanged by the failure */
    assert_int_equal(cap, 24);
    /* a max below the first capacity */
    uint8_t *b = NULL;
    size_t bcap = 0;
    assert_int_equal(vec_reserve_max(&b, &bcap, 3, 1, 5), 0);
    assert_int_equal(bcap, 5);
    assert_int_equal(vec_reserve_max(&b, &bcap, 6, 1, 5), -E2BIG);
    free(b);
    free(v);
}

static void test_zeroed(void **state)
{
    (void)state;
    uint64_t *v = NULL;
    size_t cap = 0;
    assert_int_equal(vec_reserve_zero(&v, &cap, 5, sizeof *v), 0);
    for (size_t i = 0; i < cap; i++)
        assert_true(v[i] == 0);
    for (size_t i = 0; i < cap; i++)
        v[i] = i + 1;
    size_t old = cap;
    assert_int_equal(vec_reserve_zero(&v, &cap, 100, sizeof *v), 0);
    assert_int_equal(cap, 128);
    for (size_t i = 0; i < old; i++)
        assert_true(v[i] == i + 1); /* what was there stays */
    for (size_t i = old; i < cap; i++)
        assert_true(v[i] == 0); /* what was added is zero */
    /* vec_grow with both a max and zeroing */
    assert_int_equal(vec_grow(&v, &cap, 140, sizeof *v, 150, true), 0);
    assert_int_equal(cap, 150);
    for (size_t i = 128; i < 150; i++)
        assert_true(v[i] == 0);
    free(v);
}

static void test_overflow(void **state)
{
    (void)state;
    struct item *v = NULL;
    size_t cap = 0;
    assert_int_equal(vec_reserve(&v, &cap, 4, sizeof *v), 0);
    struct item *before = v;
    /* need * elem does not fit size_t: refused, nothing allocated */
    assert_int_equal(vec_reserve(&v, &cap, SIZE_MAX / sizeof *v + 1, sizeof *v), -ENOMEM);
    assert_int_equal(vec_reserve(&v, &cap, SIZE_MAX, sizeof *v), -ENOMEM);
    /* a need whose doubling would overflow: exactly need is tried, and
     * need * elem overflows all the same */
    assert_int_equal(vec_reserve(&v, &cap, SIZE_MAX / 2 + 2, sizeof *v), -ENOMEM);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, VEC_MIN_CAP);
    /* more than memory can hold: realloc fails, the array stays */
    uint8_t *b = NULL;
    size_t bcap = 0;
    assert_int_equal(vec_reserve(&b, &bcap, 8, 1), 0);
    b[7] = 42;
    assert_int_equal(vec_reserve(&b, &bcap, SIZE_MAX / 4, 1), -ENOMEM);
    assert_int_equal(vec_reserve(&b, &bcap, SIZE_MAX / 2 + 2, 1), -ENOMEM); /* no doubling */
    assert_int_equal(bcap, VEC_MIN_CAP);
    assert_int_equal(b[7], 42);
    assert_int_equal(vec_reserve(&b, &bcap, 1, 0), 0);         /* room: not looked at */
    assert_int_equal(vec_reserve(&b, &bcap, 100, 0), -EINVAL); /* elem 0 */
    free(b);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_and_doubling),
        cmocka_unit_test(test_max),
        cmocka_unit_test(test_zeroed),
        cmocka_unit_test(test_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
