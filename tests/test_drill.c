/*
 * test_drill.c - function view, call trees, expansion and function lookup
 * on models built from plain data with a fake resolver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/model/drill.h"
#include "fake_resolver.h"
#include "src/model/model.h"

enum {
    FR_MAIN = 1,
    FR_RUN,
    FR_OUTER,
    FR_MIDDLE,
    FR_INNER,
    FR_PARSE,
    FR_CHECKSUM_INL, /* mix_bits inlined into checksum */
    FR_FIB_A,
    FR_FIB_B,
    FR_EVEN,
    FR_ODD,
    FR_PY_WORK, /* a Python frame resolves like a native one */
    FR_OVERFLOW,
    FR_THREAD0 = 200,
};

struct fix {
    struct fake_resolver *fake;
    struct resolver r;
    struct model *m;
    uint64_t *self;
    uint32_t main_, run, outer, middle, inner, parse, checksum, mix_bits, fib, even, odd, py;
};

static int setup(void **state)
{
    struct fix *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    x->fake = fake_resolver_new();
    struct fake_resolver *f = x->fake;
    x->main_ = fake_func(f, "main", "app", "main.c", 10);
    x->run = fake_func(f, "run_cycle", "app", "main.c", 20);
    x->outer = fake_func(f, "compute_outer", "app", "c.c", 30);
    x->middle = fake_func(f, "compute_middle", "app", "c.c", 40);
    x->inner = fake_func(f, "compute_inner", "app", "c.c", 50);
    x->parse = fake_func(f, "parse_input", "libparse.so", "p.c", 60);
    x->checksum = fake_func(f, "checksum_block", "app", "s.c", 70);
    x->mix_bits = fake_func(f, "mix_bits", "app", "s.h", 80);
    x->fib = fake_func(f, "fib", "app", "fib.c", 90);
    x->even = fake_func(f, "even", "app", "par.c", 100);
    x->odd = fake_func(f, "odd", "app", "par.c", 110);
    x->py = fake_func(f, "Worker.work", "work.py", "work.py", 5);
    uint32_t ovf = fake_func(f, "[call tree full]", "", NULL, 0);
    fake_frame(f, FR_MAIN, 1, &x->main_);
    fake_frame(f, FR_RUN, 1, &x->run);
    fake_frame(f, FR_OUTER, 1, &x->outer);
    fake_frame(f, FR_MIDDLE, 1, &x->middle);
    fake_frame(f, FR_INNER, 1, &x->inner);
    fake_frame(f, FR_PARSE, 1, &x->parse);
    fake_frame(f, FR_CHECKSUM_INL, 2, (uint32_t[]){x->mix_bits, x->checksum});
    fake_frame(f, FR_FIB_A, 1, &x->fib);
    fake_frame(f, FR_FIB_B, 1, &x->fib);
    fake_frame(f, FR_EVEN, 1, &x->even);
    fake_frame(f, FR_ODD, 1, &x->odd);
    fake_frame(f, FR_PY_WORK, 1, &x->py);
    fake_frame(f, FR_OVERFLOW, 1, &ovf);
    x->r = fake_resolver_iface(f);
    x->m = model_new(NULL);
    assert_non_null(x->m);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fix *x = *state;
    model_free(x->m);
    fake_resolver_free(x->fake);
    free(x->self);
    free(x);
    return 0;
}

static void add(struct fix *x, pid_t tid, unsigned count, size_t n, const frame_id *root_first)
{
    frame_id leaf_first[64];
    for (size_t i = 0; i < n; i++)
        leaf_first[i] = root_first[n - 1 - i];
    for (unsigned k = 0; k < count; k++)
        model_add(x->m, tid, "w", 'R', FR_THREAD0 + (frame_id)tid, leaf_first, n, SAMPLE_ONCPU, 1,
                  FR_OVERFLOW);
}

#define ADD(x, tid, count, ...)                                                                    \
    add(x, tid, count, sizeof((frame_id[]){__VA_ARGS__}) / sizeof(frame_id),                       \
        (const frame_id[]){__VA_ARGS__})

/* cpu_mix's design: 100 samples of one thread. */
static void add_mix(struct fix *x)
{
    ADD(x, 1, 10, FR_MAIN, FR_RUN, FR_OUTER);
    ADD(x, 1, 20, FR_MAIN, FR_RUN, FR_OUTER, FR_MIDDLE);
    ADD(x, 1, 30, FR_MAIN, FR_RUN, FR_OUTER, FR_MIDDLE, FR_INNER);
    ADD(x, 1, 25, FR_MAIN, FR_RUN, FR_PARSE);
    ADD(x, 1, 15, FR_MAIN, FR_RUN, FR_CHECKSUM_INL);
}

static const uint64_t *counts(struct fix *x)
{
    free(x->self);
    x->self = malloc(model_node_count(x->m) * sizeof(*x->self));
    assert_non_null(x->self);
    model_self_counts(x->m, MODEL_CUMULATIVE, 0, x->self);
    return x->self;
}

static const struct drill_edge *edge(const struct drill_edge *e, size_t n, uint32_t func)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].func == func)
            return &e[i];
    return NULL;
}

static uint64_t edge_sum(const struct drill_edge *e, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += e[i].count;
    return s;
}

/* ------------------------------------------------------------ function view */

static void test_func_view_mix(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct drill_fview v;
    assert_int_equal(drill_func_view(x->m, &x->r, counts(x), x->outer, &v), 0);
    assert_int_equal(v.samples, 100);
    assert_int_equal(v.total, 60);
    assert_int_equal(v.self, 10);
    assert_float_equal(v.total_pct, 60.0, 1e-9);
    assert_int_equal(v.ncallers, 1);
    assert_int_equal(v.callers[0].func, x->run);
    assert_float_equal(v.callers[0].pct, 100.0, 1e-9);
    assert_int_equal(v.ncallees, 2);
    assert_int_equal(v.callees[0].func, x->middle); /* biggest first */
    assert_int_equal(v.callees[0].count, 50);
    assert_int_equal(v.callees[1].func, DRILL_SELF);
    assert_int_equal(v.callees[1].count, 10);
    drill_fview_free(&v);

    /* run_cycle calls three functions; main is its only caller */
    assert_int_equal(drill_func_view(x->m, &x->r, x->self, x->run, &v), 0);
    assert_int_equal(v.total, 100);
    assert_int_equal(edge(v.callees, v.ncallees, x->outer)->count, 60);
    assert_int_equal(edge(v.callees, v.ncallees, x->parse)->count, 25);
    assert_int_equal(edge(v.callees, v.ncallees, x->checksum)->count, 15);
    assert_null(edge(v.callees, v.ncallees, DRILL_SELF));
    assert_int_equal(edge_sum(v.callees, v.ncallees), v.total);
    drill_fview_free(&v);

    /* main is outermost: its caller is [no caller] */
    assert_int_equal(drill_func_view(x->m, &x->r, x->self, x->main_, &v), 0);
    assert_int_equal(v.ncallers, 1);
    assert_int_equal(v.callers[0].func, DRILL_NO_CALLER);
    assert_int_equal(v.callers[0].count, 100);
    drill_fview_free(&v);
}

static void test_func_view_inline(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    /* mix_bits is inlined into checksum_block: a frame of its own */
    struct drill_fview v;
    assert_int_equal(drill_func_view(x->m, &x->r, counts(x), x->mix_bits, &v), 0);
    assert_int_equal(v.total, 15);
    assert_int_equal(v.self, 15);
    assert_int_equal(v.callers[0].func, x->checksum);
    drill_fview_free(&v);
    assert_int_equal(drill_func_view(x->m, &x->r, x->self, x->checksum, &v), 0);
    assert_int_equal(v.self, 0);
    assert_int_equal(v.callees[0].func, x->mix_bits);
    assert_int_equal(v.callees[0].count, 15);
    drill_fview_free(&v);
}

static void test_func_view_recursion_once(void **state)
{
    struct fix *x = *state;
    ADD(x, 1, 4, FR_MAIN, FR_FIB_A, FR_FIB_B, FR_FIB_A);
    ADD(x, 1, 2, FR_MAIN, FR_FIB_A, FR_FIB_B, FR_PARSE);
    ADD(x, 1, 3, FR_MAIN, FR_EVEN, FR_ODD, FR_EVEN, FR_ODD);
    ADD(x, 1, 1, FR_MAIN, FR_EVEN, FR_ODD, FR_EVEN, FR_PARSE);
    ADD(x, 2, 5, FR_RUN, FR_FIB_A);
    struct drill_fview v;
    assert_int_equal(drill_func_view(x->m, &x->r, counts(x), x->fib, &v), 0);
    assert_int_equal(v.samples, 15);
    assert_int_equal(v.total, 11); /* each stack once, however deep */
    assert_int_equal(v.self, 9);
    assert_int_equal(edge(v.callers, v.ncallers, x->main_)->count, 6);
    assert_int_equal(edge(v.callers, v.ncallers, x->run)->count, 5); /* thread 2 merged */
    assert_int_equal(edge_sum(v.callers, v.ncallers), v.total);
    assert_int_equal(edge(v.callees, v.ncallees, x->parse)->count, 2);
    assert_int_equal(edge_sum(v.callees, v.ncallees), v.total);
    drill_fview_free(&v);

    /* mutual recursion: even's outermost caller is main, innermost callee
     * odd (3) or parse (1) */
    assert_int_equal(drill_func_view(x->m, &x->r, x->self, x->even, &v), 0);
    assert_int_equal(v.total, 4);
    assert_int_equal(edge(v.callers, v.ncallers, x->main_)->count, 4);
    assert_int_equal(edge(v.callees, v.ncallees, x->odd)->count, 3);
    assert_int_equal(edge(v.callees, v.ncallees, x->parse)->count, 1);
    assert_int_equal(edge_sum(v.callees, v.ncallees), v.total);
    drill_fview_free(&v);
}

static void test_func_view_python_and_empty(void **state)
{
    struct fix *x = *state;
    ADD(x, 1, 7, FR_MAIN, FR_PY_WORK, FR_PARSE);
    struct drill_fview v;
    assert_int_equal(drill_func_view(x->m, &x->r, counts(x), x->py, &v), 0);
    assert_int_equal(v.total, 7);
    assert_int_equal(v.callers[0].func, x->main_);
    assert_int_equal(v.callees[0].func, x->parse);
    drill_fview_free(&v);
    /* a function that was never sampled: nothing, no crash */
    assert_int_equal(drill_func_view(x->m, &x->r, x->self, x->odd, &v), 0);
    assert_int_equal(v.total, 0);
    assert_int_equal(v.ncallers, 0);
    assert_int_equal(v.ncallees, 0);
    drill_fview_free(&v);
}

/* ------------------------------------------------------------ totals and lookup */

static void test_func_totals(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    ADD(x, 1, 5, FR_MAIN, FR_FIB_A, FR_FIB_B);
    struct drill_funcs f;
    assert_int_equal(drill_func_totals(x->m, &x->r, counts(x), &f), 0);
    assert_true(f.n >= x->r.func_count(x->r.ctx));
    assert_int_equal(f.samples, 105);
    assert_int_equal(f.total[x->main_], 105);
    assert_int_equal(f.total[x->outer], 60);
    assert_int_equal(f.self[x->outer], 10);
    assert_int_equal(f.total[x->fib], 5);
    assert_int_equal(f.self[x->fib], 5);
    assert_int_equal(f.total[x->mix_bits], 15);
    drill_funcs_free(&f);
}

static void test_find_func(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct drill_funcs f;
    assert_int_equal(drill_func_totals(x->m, &x->r, counts(x), &f), 0);
    char err[256];
    uint32_t func = 0;
    assert_int_equal(drill_find_func(&x->r, f.total, "compute_inner", &func, err, sizeof err), 0);
    assert_int_equal(func, x->inner);
    /* a unique substring */
    assert_int_equal(drill_find_func(&x->r, f.total, "parse", &func, err, sizeof err), 0);
    assert_int_equal(func, x->parse);
    /* ambiguous: candidates listed, hottest first */
    assert_int_equal(drill_find_func(&x->r, f.total, "compute", &func, err, sizeof err), -EEXIST);
    assert_non_null(strstr(err, "matches 3 functions"));
    char *a = strstr(err, "compute_outer"), *b = strstr(err, "compute_inner");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    /* missing; and a known function never sampled is not offered */
    assert_int_equal(drill_find_func(&x->r, f.total, "nope", &func, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(drill_find_func(&x->r, f.total, "fib", &func, err, sizeof err), -ENOENT);
    /* case-sensitive */
    assert_int_equal(drill_find_func(&x->r, f.total, "PARSE", &func, err, sizeof err), -ENOENT);
    /* without counts, any known function */
    assert_int_equal(drill_find_func(&x->r, NULL, "fib", &func, err, sizeof err), 0);
    assert_int_equal(func, x->fib);
    drill_funcs_free(&f);
}

static void test_find_exact_beats_substring(void **state)
{
    struct fix *x = *state;
    uint32_t run2 = fake_func(x->fake, "run", "app", NULL, 0);
    (void)run2;
    char err[256];
    uint32_t func = 0;
    /* "run" is exact for one and a substring of run_cycle */
    assert_int_equal(drill_find_func(&x->r, NULL, "run", &func, err, sizeof err), 0);
    assert_int_equal(func, run2);
}

/* ------------------------------------------------------------ trees */

static const struct drill_row *find_row(const struct drill_tree *t, uint32_t depth, uint32_t func)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].depth == depth && t->rows[i].func == func)
            return &t->rows[i];
    return NULL;
}

static void test_tree_collapsed_and_expanded(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct drill_expand e = {0};
    struct drill_tree_opts o = {.kind = DRILL_TOPDOWN, .expand = &e};
    struct drill_tree t;
    assert_int_equal(drill_tree(x->m, &x->r, counts(x), &o, &t), 0);
    assert_int_equal(t.n, 1); /* just main, collapsed */
    assert_int_equal(t.rows[0].func, x->main_);
    assert_int_equal(t.rows[0].total, 100);
    assert_true(t.rows[0].has_children);
    assert_false(t.rows[0].expanded);
    uint64_t hmain = t.rows[0].hash;
    assert_int_equal(hmain, drill_path_hash(DRILL_ROOT_HASH, x->main_));
    drill_tree_free(&t);

    assert_int_equal(drill_expand_set(&e, hmain, true), 0);
    uint64_t hrun = drill_path_hash(hmain, x->run);
    assert_int_equal(drill_expand_set(&e, hrun, true), 0);
    assert_int_equal(drill_tree(x->m, &x->r, x->self, &o, &t), 0);
    assert_int_equal(t.n, 5); /* main, run_cycle, its three callees */
    assert_true(t.rows[0].expanded);
    assert_int_equal(t.rows[1].func, x->run);
    assert_int_equal(t.rows[1].parent, 0);
    assert_int_equal(t.rows[2].func, x->outer); /* biggest first */
    assert_int_equal(t.rows[2].total, 60);
    assert_float_equal(t.rows[2].pct, 60.0, 1e-9);
    assert_float_equal(t.rows[2].parent_pct, 60.0, 1e-9);
    assert_int_equal(t.rows[3].func, x->parse);
    assert_int_equal(t.rows[4].func, x->checksum);
    assert_false(t.rows[3].has_children); /* parse_input is a leaf */
    assert_true(t.rows[4].has_children);  /* mix_bits inlined below */
    assert_int_equal(t.rows[2].depth, 2);
    drill_tree_free(&t);

    /* collapsing main hides everything below, whatever else is expanded */
    assert_int_equal(drill_expand_set(&e, hmain, false), 0);
    assert_int_equal(drill_tree(x->m, &x->r, x->self, &o, &t), 0);
    assert_int_equal(t.n, 1);
    drill_tree_free(&t);
}

static void test_tree_survives_new_samples(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct drill_expand e = {0};
    assert_true(drill_expand_hottest(x->m, &x->r, counts(x), DRILL_TOPDOWN, DRILL_ROOT_HASH, &e) >
                0);
    /* new samples, and a new pc in main: the expansion holds */
    ADD(x, 1, 50, FR_MAIN, FR_RUN, FR_PARSE);
    ADD(x, 3, 10, FR_MAIN, FR_RUN, FR_OUTER, FR_MIDDLE, FR_INNER);
    struct drill_tree_opts o = {.kind = DRILL_TOPDOWN, .expand = &e};
    struct drill_tree t;
    assert_int_equal(drill_tree(x->m, &x->r, counts(x), &o, &t), 0);
    const struct drill_row *in = find_row(&t, 4, x->inner);
    assert_non_null(in);
    assert_int_equal(in->total, 40); /* two threads merged */
    assert_int_equal(find_row(&t, 2, x->parse)->total, 75);
    drill_tree_free(&t);
}

static void test_tree_hottest_path(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct drill_expand e = {0};
    int n = drill_expand_hottest(x->m, &x->r, counts(x), DRILL_TOPDOWN, DRILL_ROOT_HASH, &e);
    assert_int_equal(n, 4); /* main, run_cycle, compute_outer, compute_middle */
    struct drill_tree_opts o = {.kind = DRILL_TOPDOWN, .expand = &e};
    struct drill_tree t;
    assert_int_equal(drill_tree(x->m, &x->r, x->self, &o, &t), 0);
    const struct drill_row *in = find_row(&t, 4, x->inner);
    assert_non_null(in);
    assert_int_equal(in->total, 30);
    assert_float_equal(in->parent_pct, 60.0, 1e-9); /* 30 of middle's 50 */
    assert_false(in->has_children);
    drill_tree_free(&t);
    /* again: nothing new; from a row that does not exist: ENOENT */
    assert_int_equal(drill_expand_hottest(x->m, &x->r, x->self, DRILL_TOPDOWN, DRILL_ROOT_HASH, &e),
                     0);
    assert_int_equal(drill_expand_hottest(x->m, &x->r, x->self, DRILL_TOPDOWN, 12345, &e), -ENOENT);
}

static void test_tree_inverted(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    ADD(x, 1, 5, FR_MAIN, FR_PARSE); /* parse called from main too */
    struct drill_tree_opts o = {.kind = DRILL_INVERTED, .expand_all = true, .min_pct = 0};
    struct drill_tree t;
    assert_int_equal(drill_tree(x->m, &x->r, counts(x), &o, &t), 0);
    assert_int_equal(t.samples, 105);
    /* leaves are the roots, biggest first */
    assert_int_equal(t.rows[0].func, x->inner);
    assert_int_equal(t.rows[0].depth, 0);
    assert_int_equal(t.rows[0].total, 30);
    const struct drill_row *p = find_row(&t, 0, x->parse);
    assert_int_equal(p->total, 30);
    /* its callers below it */
    size_t pi = (size_t)(p - t.rows);
    assert_int_equal(t.rows[pi + 1].func, x->run);
    assert_int_equal(t.rows[pi + 1].total, 25);
    assert_int_equal(t.rows[pi + 1].parent, pi);
    assert_int_equal(t.rows[pi + 3].func, x->main_);
    assert_int_equal(t.rows[pi + 3].total, 5);
    assert_int_equal(t.rows[pi + 3].depth, 1);
    assert_int_equal(find_row(&t, 0, x->outer)->total, 10);
    /* checksum_block never is innermost: mix_bits is inlined into it */
    assert_null(find_row(&t, 0, x->checksum));
    assert_null(find_row(&t, 0, x->run));
    assert_non_null(find_row(&t, 0, x->mix_bits));
    uint64_t roots = 0;
    for (size_t i = 0; i < t.n; i++)
        roots += t.rows[i].depth == 0 ? t.rows[i].total : 0;
    assert_int_equal(roots, 105);
    drill_tree_free(&t);
}

static void test_tree_expand_all_min_pct(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    ADD(x, 1, 1, FR_MAIN, FR_FIB_A); /* below 1% of 101 */
    struct drill_tree_opts o = {.kind = DRILL_TOPDOWN, .expand_all = true, .min_pct = 1.0};
    struct drill_tree t;
    assert_int_equal(drill_tree(x->m, &x->r, counts(x), &o, &t), 0);
    assert_null(find_row(&t, 1, x->fib));
    assert_non_null(find_row(&t, 4, x->inner));
    assert_non_null(find_row(&t, 3, x->mix_bits));
    drill_tree_free(&t);
    o.min_pct = 0.0;
    assert_int_equal(drill_tree(x->m, &x->r, x->self, &o, &t), 0);
    assert_non_null(find_row(&t, 1, x->fib));
    drill_tree_free(&t);
}

static void test_expand_set(void **state)
{
    (void)state;
    struct drill_expand *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    for (uint64_t i = 0; i < DRILL_EXPAND_MAX; i++)
        assert_int_equal(drill_expand_set(e, (i * 7919) % 100003, true), 0);
    assert_int_equal(drill_expand_set(e, 999999, true), -ENOSPC);
    assert_int_equal(drill_expand_set(e, 7919, true), 0); /* already there */
    assert_true(drill_expand_has(e, 7919));
    assert_int_equal(drill_expand_set(e, 7919, false), 0);
    assert_false(drill_expand_has(e, 7919));
    assert_int_equal(e->n, DRILL_EXPAND_MAX - 1);
    for (uint32_t i = 1; i < e->n; i++)
        assert_true(e->h[i - 1] < e->h[i]);
    free(e);
}

/* ------------------------------------------------------------ cost */

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Prints what each view costs on a model of about 100k nodes. */
static void test_cost_100k_nodes(void **state)
{
    struct fix *x = *state;
    struct fake_resolver *f = x->fake;
    uint32_t funcs[40];
    char names[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "fn%02d", i);
        funcs[i] = fake_func(f, names[i], "app", NULL, 0);
    }
    for (frame_id id = 20; id < 180; id++)
        fake_frame(f, id, 1, &funcs[id % 40]);
    uint64_t seed = 42;
    while (model_node_count(x->m) < 100000) {
        frame_id st[24];
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t depth = 8 + (size_t)(seed >> 60);
        st[0] = FR_MAIN;
        for (size_t i = 1; i < depth; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            /* a narrow top and a wide bottom, as real programs */
            st[i] = (frame_id)(20 + (seed >> 33) % (i < 3 ? 3 : 160));
        }
        add(x, 1 + (pid_t)(seed % 4), 1, depth, st);
    }
    const uint64_t *self = counts(x);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct drill_funcs tot;
    assert_int_equal(drill_func_totals(x->m, &x->r, self, &tot), 0);
    double t_tot = ms_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct drill_fview v;
    assert_int_equal(drill_func_view(x->m, &x->r, self, funcs[7], &v), 0);
    double t_fv = ms_since(&t0);
    assert_int_equal(edge_sum(v.callers, v.ncallers), v.total);
    assert_int_equal(edge_sum(v.callees, v.ncallees), v.total);
    assert_int_equal(v.total, tot.total[funcs[7]]);
    drill_fview_free(&v);
    struct drill_expand e = {0};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_true(drill_expand_hottest(x->m, &x->r, self, DRILL_TOPDOWN, DRILL_ROOT_HASH, &e) > 3);
    double t_hot = ms_since(&t0);
    struct drill_tree_opts o = {.kind = DRILL_TOPDOWN, .expand = &e};
    struct drill_tree t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(drill_tree(x->m, &x->r, self, &o, &t), 0);
    double t_td = ms_since(&t0);
    drill_tree_free(&t);
    o.kind = DRILL_INVERTED;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(drill_tree(x->m, &x->r, self, &o, &t), 0);
    double t_bu = ms_since(&t0);
    drill_tree_free(&t);
    o = (struct drill_tree_opts){.kind = DRILL_TOPDOWN, .expand_all = true, .min_pct = 0.5};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(drill_tree(x->m, &x->r, self, &o, &t), 0);
    double t_all = ms_since(&t0);
    drill_tree_free(&t);
    printf("# %zu nodes: totals %.1f ms, function view %.1f ms, hottest path %.1f ms, "
           "tree (hot path open) %.1f ms, inverted (collapsed) %.1f ms, full tree >=0.5%% %.1f "
           "ms\n",
           model_node_count(x->m), t_tot, t_fv, t_hot, t_td, t_bu, t_all);
    drill_funcs_free(&tot);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_func_view_mix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_func_view_inline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_func_view_recursion_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_func_view_python_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_func_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_func, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_exact_beats_substring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_collapsed_and_expanded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_survives_new_samples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_hottest_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_inverted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_expand_all_min_pct, setup, teardown),
        cmocka_unit_test(test_expand_set),
        cmocka_unit_test_setup_teardown(test_cost_100k_nodes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
