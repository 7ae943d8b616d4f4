/*
 * test_protobuf.c - the protobuf wire encoder and checked reader: known
 * encodings, round trips, and truncated or hostile buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/export/protobuf.h"

/* The protocol buffers documentation's example: field 1 = 150. */
static void test_known_encoding(void **state)
{
    (void)state;
    struct pb_buf b;
    pb_buf_init(&b);
    pb_put_varint(&b, 1, 150);
    pb_put_string(&b, 2, "testing");
    static const uint8_t want[] = {0x08, 0x96, 0x01, 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'};
    assert_int_equal(b.err, 0);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    pb_buf_free(&b);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const uint64_t vals[] = {0, 1, 127, 128, 300, 1ull << 35, UINT64_MAX};
    struct pb_buf b, sub;
    pb_buf_init(&b);
    pb_buf_init(&sub);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        pb_put_varint(&b, (uint32_t)i + 1, vals[i]);
    pb_put_varint_opt(&b, 20, 0); /* left out */
    pb_put_packed(&b, 21, vals, 7);
    pb_put_packed(&b, 22, vals, 0); /* nothing */
    pb_put_varint(&sub, 1, 42);
    pb_put_string(&sub, 2, "");
    pb_put_message(&b, 23, &sub);
    pb_put_varint(&b, 536870911, 5); /* the largest field number */
    assert_int_equal(b.err, 0);

    struct pb_reader r;
    struct pb_field f;
    pb_reader_init(&r, b.p, b.len);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(pb_next(&r, &f), 1);
        assert_int_equal(f.num, i + 1);
        assert_int_equal(f.wire, PB_VARINT);
        assert_true(f.v == vals[i]);
    }
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.num, 21);
    size_t cur = 0, n = 0;
    uint64_t v;
    while (pb_repeated_next(&f, &cur, &v) > 0)
        assert_true(v == vals[n++]);
    assert_int_equal(n, 7);
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.num, 23);
    struct pb_reader r2;
    struct pb_field g;
    pb_reader_init(&r2, f.data, f.len);
    assert_int_equal(pb_next(&r2, &g), 1);
    assert_int_equal(g.v, 42);
    assert_int_equal(pb_next(&r2, &g), 1);
    assert_int_equal(g.wire, PB_LEN);
    assert_int_equal(g.len, 0);
    assert_int_equal(pb_next(&r2, &g), 0);
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.num, 536870911);
    assert_int_equal(pb_next(&r, &f), 0);
    pb_buf_free(&b);
    pb_buf_free(&sub);
}

/* An unpacked repeated field gives its one value. */
static void test_repeated_unpacked(void **state)
{
    (void)state;
    struct pb_field f = {.num = 1, .wire = PB_VARINT, .v = 9};
    size_t cur = 0;
    uint64_t v = 0;
    assert_int_equal(pb_repeated_next(&f, &cur, &v), 1);
    assert_int_equal(v, 9);
    assert_int_equal(pb_repeated_next(&f, &cur, &v), 0);
    struct pb_field bad = {.num = 1, .wire = PB_FIXED32};
    cur = 0;
    assert_int_equal(pb_repeated_next(&bad, &cur, &v), -EINVAL);
}

/* Reads every field of buf; returns the last pb_next result. */
static int read_all(const uint8_t *buf, size_t len, size_t *fields)
{
    struct pb_reader r;
    struct pb_field f;
    int k;
    *fields = 0;
    pb_reader_init(&r, buf, len);
    while ((k = pb_next(&r, &f)) > 0) {
        (*fields)++;
        if (f.wire == PB_LEN) /* the reader's promise: the body is inside buf */
            assert_true(f.data >= buf && f.data + f.len <= buf + len);
    }
    return k;
}

/* Every prefix of a valid buffer: whole fields or -EINVAL, never a field
 * running past the end (ASan builds check the reads too). */
static void test_truncated_prefixes(void **state)
{
    (void)state;
    struct pb_buf b;
    pb_buf_init(&b);
    pb_put_varint(&b, 1, UINT64_MAX);
    pb_put_string(&b, 2, "a string of some length");
    uint64_t vals[] = {1, 300, 70000};
    pb_put_packed(&b, 3, vals, 3);
    size_t whole;
    assert_int_equal(read_all(b.p, b.len, &whole), 0);
    assert_int_equal(whole, 3);
    size_t bad = 0;
    for (size_t n = 0; n < b.len; n++) {
        size_t fields;
        int k = read_all(b.p, n, &fields);
        assert_true(k == 0 || k == -EINVAL);
        assert_true(fields < 3);
        bad += k == -EINVAL;
    }
    assert_true(bad > 20); /* most cuts fall inside a field */
    pb_buf_free(&b);
}

static void test_hostile(void **state)
{
    (void)state;
    size_t n;
    /* length far beyond the buffer */
    static const uint8_t longlen[] = {0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'};
    assert_int_equal(read_all(longlen, sizeof longlen, &n), -EINVAL);
    /* an 11-byte varint */
    static const uint8_t overlong[] = {0x08, 0x80, 0x80, 0x80, 0x80, 0x80,
                                       0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    assert_int_equal(read_all(overlong, sizeof overlong, &n), -EINVAL);
    /* a 10th byte carrying bits past 64 */
    static const uint8_t past64[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(read_all(past64, sizeof past64, &n), -EINVAL);
    /* field number 0 */
    static const uint8_t zero[] = {0x00, 0x01};
    assert_int_equal(read_all(zero, sizeof zero, &n), -EINVAL);
    /* groups (wire types 3, 4) and unused wire types */
    static const uint8_t group[] = {0x0b, 0x0c};
    assert_int_equal(read_all(group, sizeof group, &n), -EINVAL);
    static const uint8_t wire6[] = {0x0e, 0x00};
    assert_int_equal(read_all(wire6, sizeof wire6, &n), -EINVAL);
    /* fixed fields cut short */
    static const uint8_t fix64[] = {0x09, 1, 2, 3};
    assert_int_equal(read_all(fix64, sizeof fix64, &n), -EINVAL);
    static const uint8_t fix32[] = {0x0d, 1, 2, 3, 4};
    assert_int_equal(read_all(fix32, sizeof fix32, &n), 0);
    assert_int_equal(n, 1);
    /* a packed body whose last varint is cut */
    static const uint8_t packed[] = {0x0a, 0x02, 0x01, 0x80};
    struct pb_reader r;
    struct pb_field f;
    pb_reader_init(&r, packed, sizeof packed);
    assert_int_equal(pb_next(&r, &f), 1);
    size_t cur = 0;
    uint64_t v;
    assert_int_equal(pb_repeated_next(&f, &cur, &v), 1);
    assert_int_equal(v, 1);
    assert_int_equal(pb_repeated_next(&f, &cur, &v), -EINVAL);
}

/* A failed nested message poisons its parent, so one check at the end
 * finds it. */
static void test_error_propagates(void **state)
{
    (void)state;
    struct pb_buf b, sub;
    pb_buf_init(&b);
    pb_buf_init(&sub);
    sub.err = -ENOMEM;
    pb_put_message(&b, 1, &sub);
    assert_int_equal(b.err, -ENOMEM);
    pb_put_varint(&b, 2, 1); /* ignored after the error */
    assert_int_equal(b.len, 0);
    pb_buf_free(&b);
    pb_buf_free(&sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_encoding),    cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_repeated_unpacked), cmocka_unit_test(test_truncated_prefixes),
        cmocka_unit_test(test_hostile),           cmocka_unit_test(test_error_propagates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
