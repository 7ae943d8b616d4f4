/*
 * test_hash.c - the shared hash functions: FNV-1a against its published
 * test vectors (the SVG colours depend on the 32-bit one staying the
 * same), the bound of the string forms, the splitmix finaliser, the top
 * bits of Fibonacci hashing, and hash_combine's order dependence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/hash.h"

static void test_fnv1a_vectors(void **state)
{
    (void)state;
    /* the published FNV-1a test vectors */
    assert_true(hash_fnv1a(HASH_FNV64_OFFSET, "", 0) == 0xcbf29ce484222325ull);
    assert_true(hash_fnv1a(HASH_FNV64_OFFSET, "a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(hash_fnv1a(HASH_FNV64_OFFSET, "foobar", 6) == 0x85944171f73967e8ull);
    assert_true(hash_fnv1a32("") == 0x811c9dc5u);
    assert_true(hash_fnv1a32("a") == 0xe40c292cu);
    assert_true(hash_fnv1a32("foobar") == 0xbf9cf968u);
    /* bytes past a NUL count for the byte form, not for the string form */
    assert_true(hash_fnv1a(HASH_FNV64_OFFSET, "ab\0c", 4) !=
                hash_fnv1a(HASH_FNV64_OFFSET, "ab", 2));
    assert_true(hash_fnv1a_str(HASH_FNV64_OFFSET, "ab\0c", 4) ==
                hash_fnv1a(HASH_FNV64_OFFSET, "ab", 2));
}

static void test_str_bounded(void **state)
{
    (void)state;
    /* a field without its NUL is read no further than max */
    char field[4] = {'f', 'o', 'o', 'b'};
    assert_true(hash_fnv1a_str(HASH_FNV64_OFFSET, field, sizeof field) ==
                hash_fnv1a(HASH_FNV64_OFFSET, "foob", 4));
    assert_true(hash_fnv1a_str(HASH_FNV64_OFFSET, field, 0) == HASH_FNV64_OFFSET);
    /* chained: the seed carries on */
    uint64_t h = hash_fnv1a_str(HASH_FNV64_OFFSET, "foo", 64);
    assert_true(hash_fnv1a_str(h, "bar", 64) == 0x85944171f73967e8ull);
    /* hash_str and hash_bytes: FNV-1a through the finaliser, the same value */
    assert_true(hash_str("foobar") == 0x404da9e3b74078c2ull);
    assert_true(hash_bytes("foobar", 6) == hash_str("foobar"));
    assert_true(hash_bytes("foobarbaz", 6) == hash_str("foobar"));
}

static void test_mix_and_combine(void **state)
{
    (void)state;
    assert_true(hash_mix64(0) == 0);
    assert_true(hash_mix64(1) == 0x5692161d100b05e5ull);
    /* order matters, and so does every value */
    uint64_t ab = hash_combine(hash_combine(0, 1), 2);
    uint64_t ba = hash_combine(hash_combine(0, 2), 1);
    assert_true(ab != ba);
    assert_true(hash_combine(7, 3) == hash_mix64(7 ^ 3));
    /* nearby keys land far apart in the low bits a table masks */
    unsigned same = 0;
    for (uint64_t k = 0; k < 1024; k++)
        same += (hash_combine(42, k) & 1023) == (hash_combine(42, k + 1) & 1023);
    assert_true(same < 8);
}

static void test_fib(void **state)
{
    (void)state;
    assert_true(hash_fib64(1) == HASH_FIB64);
    assert_true(hash_fib64(0) == 0);
    assert_int_equal(hash_fib_top(0x12345, 10), 0x2d1);
    assert_true(hash_fib_top(0x12345, 10) < 1024);
    assert_true(hash_fib_top(1, 32) == (uint32_t)(HASH_FIB64 >> 32));
    /* aligned addresses, their alignment shifted out first (as pyframes
     * does), spread over the top bits */
    unsigned used[64] = {0}, distinct = 0;
    for (uint64_t a = 0x7f0000000000ull; a < 0x7f0000000000ull + 64 * 16; a += 16)
        used[hash_fib_top(a >> 4, 6)]++;
    for (int i = 0; i < 64; i++)
        distinct += used[i] != 0;
    assert_true(distinct > 48);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a_vectors),
        cmocka_unit_test(test_str_bounded),
        cmocka_unit_test(test_mix_and_combine),
        cmocka_unit_test(test_fib),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
