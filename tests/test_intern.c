/*
 * test_intern.c - the frame interner: dense ids, dedupe, capacity, keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "src/model/intern.h"

static void test_dense_and_dedupe(void **state)
{
    (void)state;
    struct interner *in = intern_new(100);
    assert_non_null(in);
    assert_int_equal(intern_capacity(in), 100);
    assert_int_equal(intern_count(in), 0);

    frame_id a = intern_frame(in, FRAME_NATIVE, 3, 0x401000);
    frame_id b = intern_frame(in, FRAME_NATIVE, 3, 0x401001);
    frame_id c = intern_frame(in, FRAME_THREAD, 0, 4242);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(c, 2);
    /* The same key gives the same id and adds nothing. */
    assert_int_equal(intern_frame(in, FRAME_NATIVE, 3, 0x401000), a);
    assert_int_equal(intern_frame(in, FRAME_THREAD, 0, 4242), c);
    assert_int_equal(intern_count(in), 3);
    intern_free(in);
}

static void test_every_field_is_part_of_the_key(void **state)
{
    (void)state;
    struct interner *in = intern_new(16);
    assert_non_null(in);
    frame_id ids[4] = {
        intern_frame(in, FRAME_NATIVE, 1, 7),
        intern_frame(in, FRAME_SPECIAL, 1, 7),
        intern_frame(in, FRAME_NATIVE, 2, 7),
        intern_frame(in, FRAME_NATIVE, 1, 7ull << 40),
    };
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            assert_int_not_equal(ids[i], ids[j]);
    assert_int_equal(intern_count(in), 4);
    intern_free(in);
}

static void test_key_round_trip(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct interner *in = intern_new(N);
    assert_non_null(in);
    /* Nearby addresses in few modules: the realistic worst case for a hash. */
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(intern_frame(in, FRAME_NATIVE, i % 7, 0x400000 + i), i);
    for (uint32_t i = 0; i < N; i++) {
        const struct frame_key *k = intern_key(in, i);
        assert_non_null(k);
        assert_int_equal(k->kind, FRAME_NATIVE);
        assert_int_equal(k->a, i % 7);
        assert_int_equal(k->b, 0x400000 + i);
        assert_int_equal(intern_frame(in, k->kind, k->a, k->b), i);
    }
    assert_null(intern_key(in, N));
    assert_null(intern_key(in, FRAME_NONE));
    intern_free(in);
}

static void test_capacity(void **state)
{
    (void)state;
    struct interner *in = intern_new(3);
    assert_non_null(in);
    assert_int_equal(intern_frame(in, FRAME_NATIVE, 0, 10), 0);
    assert_int_equal(intern_frame(in, FRAME_NATIVE, 0, 11), 1);
    assert_int_equal(intern_frame(in, FRAME_NATIVE, 0, 12), 2);
    /* Full: new keys are refused, known keys still found. */
    assert_int_equal(intern_frame(in, FRAME_NATIVE, 0, 13), FRAME_NONE);
    assert_int_equal(intern_frame(in, FRAME_SPECIAL, SPECIAL_TRUNCATED, 0), FRAME_NONE);
    assert_int_equal(intern_frame(in, FRAME_NATIVE, 0, 11), 1);
    assert_int_equal(intern_count(in), 3);
    const struct frame_key *k = intern_key(in, 2);
    assert_non_null(k);
    assert_int_equal(k->b, 12);
    intern_free(in);
}

static void test_bad_capacity(void **state)
{
    (void)state;
    errno = 0;
    assert_null(intern_new(0));
    assert_int_equal(errno, EINVAL);
    intern_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_and_dedupe),
        cmocka_unit_test(test_every_field_is_part_of_the_key),
        cmocka_unit_test(test_key_round_trip),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_bad_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
