/*
 * test_symtab.c - the sorted symbol table on constructed symbols: boundaries,
 * gaps, aliases, unsized symbols, nesting, order independence.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "symbols/symtab.h"

static const char *name_at(const struct symtab *t, uint64_t addr)
{
    const struct symtab_entry *e = symtab_lookup(t, addr);
    return e ? e->name : NULL;
}

static void expect_at(const struct symtab *t, uint64_t addr, const char *want)
{
    const char *got = name_at(t, addr);
    if (!want) {
        if (got)
            fail_msg("0x%llx: expected a miss, got %s", (unsigned long long)addr, got);
        return;
    }
    if (!got)
        fail_msg("0x%llx: expected %s, got a miss", (unsigned long long)addr, want);
    assert_string_equal(got, want);
}

static void test_empty(void **state)
{
    (void)state;
    struct symtab *t = symtab_new();
    assert_non_null(t);
    expect_at(t, 0x1000, NULL); /* before finish */
    symtab_finish(t);
    assert_int_equal(symtab_count(t), 0);
    expect_at(t, 0, NULL);
    expect_at(t, UINT64_MAX, NULL);
    symtab_free(t);
    symtab_free(NULL);
}

static void test_boundaries_and_gaps(void **state)
{
    (void)state;
    struct symtab *t = symtab_new();
    assert_non_null(t);
    /* Added out of order on purpose. */
    assert_int_equal(symtab_add(t, 0x2000, 0x80, "beta"), 0);
    assert_int_equal(symtab_add(t, 0x1000, 0x100, "alpha"), 0);
    assert_int_equal(symtab_add(t, 0x2080, 0x20, "gamma"), 0); /* adjacent to beta */
    symtab_finish(t);
    assert_int_equal(symtab_count(t), 3);

    expect_at(t, 0x0fff, NULL); /* before the first */
    expect_at(t, 0x1000, "alpha");
    expect_at(t, 0x10ff, "alpha");
    expect_at(t, 0x1100, NULL); /* one past a sized end: gap */
    expect_at(t, 0x1fff, NULL);
    expect_at(t, 0x2000, "beta");
    expect_at(t, 0x207f, "beta");
    expect_at(t, 0x2080, "gamma");
    expect_at(t, 0x209f, "gamma");
    expect_at(t, 0x20a0, NULL); /* past the last */
    expect_at(t, UINT64_MAX, NULL);

    const struct symtab_entry *e = symtab_lookup(t, 0x1050);
    assert_non_null(e);
    assert_int_equal(e->addr, 0x1000);
    assert_int_equal(e->size, 0x100);

    /* Frozen after finish. */
    assert_int_equal(symtab_add(t, 0x3000, 1, "late"), -EBUSY);
    expect_at(t, 0x3000, NULL);
    symtab_free(t);
}

static void test_unsized(void **state)
{
    (void)state;
    struct symtab *t = symtab_new();
    assert_non_null(t);
    assert_int_equal(symtab_add(t, 0x1000, 0, "asm_a"), 0); /* up to next */
    assert_int_equal(symtab_add(t, 0x1400, 0x10, "sized_b"), 0);
    assert_int_equal(symtab_add(t, 0x100000, 0, "asm_far"), 0); /* far from next */
    assert_int_equal(symtab_add(t, 0x800000, 0, "asm_last"), 0);
    symtab_finish(t);

    expect_at(t, 0x1000, "asm_a");
    expect_at(t, 0x13ff, "asm_a"); /* extends to the next symbol */
    expect_at(t, 0x1400, "sized_b");
    expect_at(t, 0x1410, NULL);
    expect_at(t, 0x100000 + SYMTAB_UNSIZED_CAP - 1, "asm_far");
    expect_at(t, 0x100000 + SYMTAB_UNSIZED_CAP, NULL); /* capped */
    expect_at(t, 0x7fffff, NULL);
    expect_at(t, 0x800000 + SYMTAB_UNSIZED_CAP - 1, "asm_last");
    expect_at(t, 0x800000 + SYMTAB_UNSIZED_CAP, NULL);
    symtab_free(t);
}

/* Aliases at one address must resolve the same whatever the input order. */
static const struct {
    uint64_t size;
    const char *name;
    enum symtab_bind bind;
} aliases[] = {
    {0, "unsized_global", SYMTAB_GLOBAL}, {0x40, "__libc_malloc", SYMTAB_GLOBAL},
    {0x40, "malloc_local", SYMTAB_LOCAL}, {0x40, "__malloc", SYMTAB_WEAK},
    {0x40, "malloc", SYMTAB_GLOBAL},      {0x40, "mallocx", SYMTAB_GLOBAL},
    {0x40, "_malloc", SYMTAB_GLOBAL},
};
#define NALIASES (sizeof(aliases) / sizeof(aliases[0]))

static void check_alias_order(const size_t *order)
{
    struct symtab *t = symtab_new();
    assert_non_null(t);
    for (size_t i = 0; i < NALIASES; i++) {
        size_t k = order[i];
        assert_int_equal(
            symtab_add_bind(t, 0x5000, aliases[k].size, aliases[k].name, aliases[k].bind), 0);
    }
    symtab_finish(t);
    assert_int_equal(symtab_count(t), 1);
    /* sized > global > no leading underscore > shorter */
    expect_at(t, 0x5000, "malloc");
    expect_at(t, 0x503f, "malloc");
    expect_at(t, 0x5040, NULL); /* the sized alias's size wins */
    symtab_free(t);
}

static void test_aliases(void **state)
{
    (void)state;
    size_t order[NALIASES];
    for (size_t i = 0; i < NALIASES; i++)
        order[i] = i;
    check_alias_order(order);
    for (size_t i = 0; i < NALIASES; i++)
        order[i] = NALIASES - 1 - i;
    check_alias_order(order);
    /* A few rotations and swaps. */
    for (size_t r = 1; r < NALIASES; r++) {
        for (size_t i = 0; i < NALIASES; i++)
            order[i] = (i + r) % NALIASES;
        size_t tmp = order[0];
        order[0] = order[NALIASES - 1];
        order[NALIASES - 1] = tmp;
        check_alias_order(order);
    }
}

static void test_binding_and_names(void **state)
{
    (void)state;
    struct symtab *t = symtab_new();
    assert_non_null(t);
    /* Binding beats the underscore rule. */
    assert_int_equal(symtab_add_bind(t, 0x100, 8, "local_name", SYMTAB_LOCAL), 0);
    assert_int_equal(symtab_add_bind(t, 0x100, 8, "__global_name", SYMTAB_GLOBAL), 0);
    /* Same binding: no leading underscore beats shorter. */
    assert_int_equal(symtab_add(t, 0x200, 8, "_x"), 0);
    assert_int_equal(symtab_add(t, 0x200, 8, "longer"), 0);
    /* Same everything else: shorter, then strcmp. */
    assert_int_equal(symtab_add(t, 0x300, 8, "bbb"), 0);
    assert_int_equal(symtab_add(t, 0x300, 8, "aaa"), 0);
    assert_int_equal(symtab_add(t, 0x300, 8, "cc"), 0);
    assert_int_equal(symtab_add(t, 0x400, 8, "zz"), 0);
    assert_int_equal(symtab_add(t, 0x400, 8, "yy"), 0);
    symtab_finish(t);
    expect_at(t, 0x100, "__global_name");
    expect_at(t, 0x200, "longer");
    expect_at(t, 0x300, "cc");
    expect_at(t, 0x400, "yy");
    symtab_free(t);
}

static void test_nested(void **state)
{
    (void)state;
    struct symtab *t = symtab_new();
    assert_non_null(t);
    /* A sized local symbol inside a larger function: addresses after the
     * inner one still belong to the outer one. */
    assert_int_equal(symtab_add(t, 0x1000, 0x200, "outer"), 0);
    assert_int_equal(symtab_add(t, 0x1080, 0x10, "inner"), 0);
    assert_int_equal(symtab_add(t, 0x2000, 0x10, "next"), 0);
    symtab_finish(t);
    expect_at(t, 0x1010, "outer");
    expect_at(t, 0x1088, "inner");
    expect_at(t, 0x1100, "outer");
    expect_at(t, 0x1200, NULL);
    symtab_free(t);
}

static void test_overflow_and_names(void **state)
{
    (void)state;
    struct symtab *t = symtab_new();
    assert_non_null(t);
    /* A corrupt size must not wrap around to cover low addresses. */
    assert_int_equal(symtab_add(t, UINT64_MAX - 0x10, UINT64_MAX, "top"), 0);
    assert_int_equal(symtab_add(t, 0x10, 0x10, NULL), 0); /* no name: "" */
    /* Long names are copied whole. */
    char big[100000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(symtab_add(t, 0x40, 4, big), 0);
    symtab_finish(t);
    expect_at(t, 0, NULL);
    expect_at(t, UINT64_MAX - 1, "top");
    expect_at(t, 0x10, "");
    const char *n = name_at(t, 0x41);
    assert_non_null(n);
    assert_int_equal(strlen(n), sizeof big - 1);
    symtab_free(t);
}

static void test_many(void **state)
{
    (void)state;
    struct symtab *t = symtab_new();
    assert_non_null(t);
    char name[32];
    /* Reverse order, every other one with a gap after it. */
    for (int i = 9999; i >= 0; i--) {
        snprintf(name, sizeof name, "f%d", i);
        assert_int_equal(symtab_add(t, 0x10000 + (uint64_t)i * 0x100, i % 2 ? 0x80 : 0x100, name),
                         0);
    }
    symtab_finish(t);
    assert_int_equal(symtab_count(t), 10000);
    for (int i = 0; i < 10000; i++) {
        uint64_t a = 0x10000 + (uint64_t)i * 0x100;
        snprintf(name, sizeof name, "f%d", i);
        expect_at(t, a, name);
        expect_at(t, a + 0x7f, name);
        expect_at(t, a + 0x80, i % 2 ? NULL : name);
    }
    symtab_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_boundaries_and_gaps),
        cmocka_unit_test(test_unsized),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_binding_and_names),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_overflow_and_names),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
