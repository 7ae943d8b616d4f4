/*
 * test_diff.c - profiles compared per function: known changes in points,
 * normalisation to each profile's own total, appeared and vanished
 * functions, the order, the text table and the baseline cell.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/profile/diff.h"
#include "src/profile/profile.h"

static struct profile *make(const char *const *stacks, const uint64_t *counts, size_t n)
{
    struct profile *p = profile_new(PROFILE_FOLDED);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        /* "a;b;c" -> names */
        char buf[256];
        const char *names[16];
        size_t k = 0;
        snprintf(buf, sizeof buf, "%s", stacks[i]);
        for (char *tok = strtok(buf, ";"); tok; tok = strtok(NULL, ";"))
            names[k++] = tok;
        assert_int_equal(profile_add_stack(p, names, k, counts[i]), 0);
    }
    return p;
}

static const struct diff_row *row(const struct diff_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].name, name) == 0)
            return &t->rows[i];
    fail_msg("no row %s", name);
    return NULL;
}

#define assert_near(a, b) assert_true(fabs((a) - (b)) < 1e-9)

/* Before: 100 samples, 60% spin_a, 40% spin_b.  After: 400 samples (a
 * longer run), 25% spin_a, 25% spin_b, 50% spin_c (new).  parse_old only
 * before. */
struct fix {
    struct profile *before, *after;
    struct diff_table t;
};

static int setup(void **state)
{
    struct fix *x = calloc(1, sizeof *x);
    const char *b[] = {"main;spin_a", "main;spin_b", "main;parse_old"};
    const uint64_t bc[] = {60, 30, 10};
    const char *a[] = {"main;spin_a", "main;spin_b", "main;work;spin_c"};
    const uint64_t ac[] = {100, 100, 200};
    x->before = make(b, bc, 3);
    x->after = make(a, ac, 3);
    assert_int_equal(diff_profiles(x->before, x->after, &x->t), 0);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fix *x = *state;
    diff_table_free(&x->t);
    profile_free(x->before);
    profile_free(x->after);
    free(x);
    return 0;
}

static void test_changes(void **state)
{
    struct fix *x = *state;
    assert_int_equal(x->t.samples_before, 100);
    assert_int_equal(x->t.samples_after, 400);
    assert_int_equal(x->t.n, 6); /* main, spin_a, spin_b, work, spin_c, parse_old */
    const struct diff_row *a = row(&x->t, "spin_a");
    assert_int_equal(a->status, DIFF_BOTH);
    assert_near(a->self_before, 60.0);
    assert_near(a->self_after, 25.0);
    assert_near(diff_self_change(a), -35.0);
    assert_int_equal(a->self_count_before, 60);
    assert_int_equal(a->self_count_after, 100);
    const struct diff_row *b = row(&x->t, "spin_b");
    assert_near(diff_self_change(b), -5.0);
    const struct diff_row *m = row(&x->t, "main");
    assert_near(m->total_before, 100.0);
    assert_near(m->total_after, 100.0);
    assert_near(diff_total_change(m), 0.0);
    assert_near(m->self_after, 0.0);
}

static void test_appeared_vanished(void **state)
{
    struct fix *x = *state;
    const struct diff_row *c = row(&x->t, "spin_c");
    assert_int_equal(c->status, DIFF_APPEARED);
    assert_near(c->self_before, 0.0);
    assert_near(c->self_after, 50.0);
    assert_near(c->total_after, 50.0);
    const struct diff_row *w = row(&x->t, "work");
    assert_int_equal(w->status, DIFF_APPEARED);
    assert_near(w->total_after, 50.0);
    assert_near(w->self_after, 0.0);
    const struct diff_row *o = row(&x->t, "parse_old");
    assert_int_equal(o->status, DIFF_VANISHED);
    assert_near(o->self_before, 10.0);
    assert_near(o->self_after, 0.0);
}

/* Biggest self change first, then biggest total change, then name. */
static void test_order(void **state)
{
    struct fix *x = *state;
    const char *want[] = {"spin_c", "spin_a", "parse_old", "spin_b", "work", "main"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(x->t.rows[i].name, want[i]);
}

static void test_text(void **state)
{
    struct fix *x = *state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(diff_write_text(f, &x->t, x->before, x->after, "a.folded", "b.pb.gz", 3), 0);
    fclose(f);
    assert_non_null(strstr(buf, "before  a.folded: 100 samples"));
    assert_non_null(strstr(buf, "after   b.pb.gz: 400 samples"));
    assert_non_null(strstr(buf, "functions: 6, 2 new, 1 gone"));
    assert_non_null(strstr(buf, "    60.0     25.0    -35.0"));
    assert_non_null(strstr(buf, "new   spin_c\n"));
    assert_non_null(strstr(buf, "gone  parse_old\n"));
    assert_non_null(strstr(buf, "... 3 more functions"));
    assert_null(strstr(buf, "spin_b")); /* cut by rows */
    /* spin_c's row comes before spin_a's */
    assert_true(strstr(buf, "spin_c") < strstr(buf, "spin_a"));
    free(buf);
}

static void test_baseline_cell(void **state)
{
    struct fix *x = *state;
    char cell[8];
    diff_baseline_cell(x->before, "spin_a", 72.34, cell, sizeof cell);
    assert_string_equal(cell, "+12.3");
    diff_baseline_cell(x->before, "spin_b", 26.0, cell, sizeof cell);
    assert_string_equal(cell, "-4.0");
    diff_baseline_cell(x->before, "spin_b", 30.01, cell, sizeof cell);
    assert_string_equal(cell, "0.0");
    diff_baseline_cell(x->before, "spin_c", 5.0, cell, sizeof cell);
    assert_string_equal(cell, "new");
    /* a Python frame with its line matches the bare name */
    diff_baseline_cell(x->before, "spin_a (app.py:12)", 60.0, cell, sizeof cell);
    assert_string_equal(cell, "0.0");
}

static void test_empty_profile(void **state)
{
    (void)state;
    struct profile *e = profile_new(PROFILE_FOLDED);
    const char *s[] = {"main"};
    const uint64_t c[] = {1};
    struct profile *p = make(s, c, 1);
    struct diff_table t;
    assert_int_equal(diff_profiles(e, p, &t), -EINVAL);
    assert_int_equal(diff_profiles(p, e, &t), -EINVAL);
    /* identical profiles: every change 0 */
    assert_int_equal(diff_profiles(p, p, &t), 0);
    assert_int_equal(t.n, 1);
    assert_near(diff_self_change(&t.rows[0]), 0.0);
    assert_int_equal(t.rows[0].status, DIFF_BOTH);
    diff_table_free(&t);
    profile_free(e);
    profile_free(p);
}

/* A function present in both is matched by its kept name, also one whose
 * file ends in ":DIGITS" (it was told apart as gone and new: a name cut
 * once was cut again when looked up in the other profile). */
static void test_same_function_both(void **state)
{
    (void)state;
    const char *s[] = {"main;fib (pp.py:12:12)", "main;fib (pp.py:3)"};
    const uint64_t c[] = {3, 1};
    struct profile *p = make(s, c, 2);
    struct diff_table t;
    assert_int_equal(diff_profiles(p, p, &t), 0);
    assert_int_equal(t.n, 3);
    for (size_t i = 0; i < t.n; i++) {
        assert_int_equal(t.rows[i].status, DIFF_BOTH);
        assert_near(diff_self_change(&t.rows[i]), 0.0);
    }
    assert_int_equal(row(&t, "fib (pp.py:12:12)")->self_count_after, 3);
    assert_int_equal(row(&t, "fib (pp.py)")->self_count_after, 1);
    diff_table_free(&t);
    profile_free(p);
}

/* Names with bytes that are not UTF-8 and a terminal escape: never written
 * raw (U+FFFD for the byte that is not UTF-8). */
static void test_text_bad_bytes(void **state)
{
    (void)state;
    const char *s[] = {"main;caf\xe9_\x1b[2Jx"};
    const uint64_t c[] = {5};
    struct profile *p = make(s, c, 1);
    struct diff_table t;
    assert_int_equal(diff_profiles(p, p, &t), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(diff_write_text(f, &t, p, p, "a", "b", 0), 0);
    fclose(f);
    /* (the profile's reader made the escape a '?' already) */
    assert_non_null(strstr(buf, "caf\xef\xbf\xbd_?[2Jx\n"));
    assert_null(memchr(buf, 0x1b, len));
    assert_null(memchr(buf, 0xe9, len));
    free(buf);
    diff_table_free(&t);
    profile_free(p);
}

/* Bytes 0x80-0xff: valid UTF-8 is written as it is; a byte that starts no
 * valid sequence (a stray continuation byte, a cut sequence, an overlong
 * form, a surrogate, 0xff) is one U+FFFD, and the scan goes on with the
 * next byte. */
static void test_text_utf8(void **state)
{
    (void)state;
    /* (split literals: a hex escape would run on into the next letter) */
    const char *good = "main;caf\xc3\xa9_\xe6\x97\xa5\xf0\x9f\x94\xa5";
    const char *bad = "main;a\x80"
                      "b\xc3"
                      "c\xc0\xaf"
                      "d\xed\xa0\x80"
                      "e\xff";
    const char *s[] = {good, bad};
    const uint64_t c[] = {5, 3};
    struct profile *p = make(s, c, 2);
    struct diff_table t;
    assert_int_equal(diff_profiles(p, p, &t), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(diff_write_text(f, &t, p, p, "a", "b", 0), 0);
    fclose(f);
    assert_non_null(strstr(buf, "  caf\xc3\xa9_\xe6\x97\xa5\xf0\x9f\x94\xa5\n"));
    const char *fffd = "\xef\xbf\xbd";
    char want[128];
    snprintf(want, sizeof want, "  a%sb%sc%s%sd%s%s%se%s\n", fffd, fffd, fffd, fffd, fffd, fffd,
             fffd, fffd);
    if (!strstr(buf, want))
        fail_msg("no '%s' in:\n%s", want, buf);
    free(buf);
    diff_table_free(&t);
    profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appeared_vanished, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_cell, setup, teardown),
        cmocka_unit_test(test_empty_profile),
        cmocka_unit_test(test_text_bad_bytes),
        cmocka_unit_test(test_text_utf8),
        cmocka_unit_test(test_same_function_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
