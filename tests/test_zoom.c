/*
 * test_zoom.c - zoom filters (thread, module, subtree path, function) on
 * models built from plain data, and the views they narrow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "src/model/drill.h"
#include "fake_resolver.h"
#include "src/model/model.h"
#include "src/model/zoom.h"

enum {
    FR_MAIN = 1,
    FR_RUN,
    FR_OUTER,
    FR_INNER,
    FR_PARSE,  /* in libparse.so */
    FR_MEMCPY, /* in libc.so.6 */
    FR_CHECKSUM_INL,
    FR_OVERFLOW,
    FR_THREAD0 = 200,
};

struct fix {
    struct fake_resolver *fake;
    struct resolver r;
    struct model *m;
    uint64_t *self;
    uint32_t main_, run, outer, inner, parse, memcpy_, checksum, mix_bits;
};

static int setup(void **state)
{
    struct fix *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    struct fake_resolver *f = x->fake = fake_resolver_new();
    x->main_ = fake_func(f, "main", "app", "main.c", 1);
    x->run = fake_func(f, "run_cycle", "app", "main.c", 2);
    x->outer = fake_func(f, "compute_outer", "app", "c.c", 3);
    x->inner = fake_func(f, "compute_inner", "app", "c.c", 4);
    x->parse = fake_func(f, "parse_input", "libparse.so", "p.c", 5);
    x->memcpy_ = fake_func(f, "memcpy", "libc.so.6", NULL, 0);
    x->checksum = fake_func(f, "checksum_block", "app", "s.c", 6);
    x->mix_bits = fake_func(f, "mix_bits", "app", "s.h", 7);
    uint32_t ovf = fake_func(f, "[call tree full]", "", NULL, 0);
    fake_frame(f, FR_MAIN, 1, &x->main_);
    fake_frame(f, FR_RUN, 1, &x->run);
    fake_frame(f, FR_OUTER, 1, &x->outer);
    fake_frame(f, FR_INNER, 1, &x->inner);
    fake_frame(f, FR_PARSE, 1, &x->parse);
    fake_frame(f, FR_MEMCPY, 1, &x->memcpy_);
    fake_frame(f, FR_CHECKSUM_INL, 2, (uint32_t[]){x->mix_bits, x->checksum});
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

/* Thread 1: 60 in compute (20 self outer, 40 inner), 20 parse (5 of them
 * in memcpy), 10 checksum.  Thread 2: 30 parse, 10 memcpy from main. */
static void add_mix(struct fix *x)
{
    ADD(x, 1, 20, FR_MAIN, FR_RUN, FR_OUTER);
    ADD(x, 1, 40, FR_MAIN, FR_RUN, FR_OUTER, FR_INNER);
    ADD(x, 1, 15, FR_MAIN, FR_RUN, FR_PARSE);
    ADD(x, 1, 5, FR_MAIN, FR_RUN, FR_PARSE, FR_MEMCPY);
    ADD(x, 1, 10, FR_MAIN, FR_RUN, FR_CHECKSUM_INL);
    ADD(x, 2, 30, FR_MAIN, FR_PARSE);
    ADD(x, 2, 10, FR_MAIN, FR_MEMCPY);
    /* a sample with no frames at all, on thread 2 */
    model_add(x->m, 2, "w", 'R', FR_THREAD0 + 2, NULL, 0, SAMPLE_ONCPU, 1, FR_OVERFLOW);
}

static uint64_t zoomed(struct fix *x, const struct zoom *z)
{
    size_t n = model_node_count(x->m);
    free(x->self);
    x->self = malloc(n * sizeof(*x->self));
    assert_non_null(x->self);
    uint64_t all = model_self_counts(x->m, MODEL_CUMULATIVE, 0, x->self);
    assert_int_equal(zoom_apply(x->m, &x->r, z, x->self), 0);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x->self[i];
    if (!zoom_active(z))
        assert_int_equal(sum, all);
    return sum;
}

static uint64_t total_of(struct fix *x, uint32_t func)
{
    struct drill_funcs f;
    assert_int_equal(drill_func_totals(x->m, &x->r, x->self, &f), 0);
    uint64_t t = func < f.n ? f.total[func] : 0;
    drill_funcs_free(&f);
    return t;
}

static void test_no_zoom(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct zoom z = {0};
    assert_false(zoom_active(&z));
    assert_int_equal(zoomed(x, &z), 131);
}

static void test_zoom_thread(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct zoom z = {.tid = 2};
    assert_true(zoom_active(&z));
    assert_int_equal(zoomed(x, &z), 41); /* with its frameless sample */
    assert_int_equal(total_of(x, x->parse), 30);
    assert_int_equal(total_of(x, x->outer), 0);
    z.tid = 1;
    assert_int_equal(zoomed(x, &z), 90);
    assert_int_equal(total_of(x, x->parse), 20);
    z.tid = 999; /* unknown thread: nothing */
    assert_int_equal(zoomed(x, &z), 0);
}

static void test_zoom_module(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct zoom z = {0};
    strcpy(z.module, "libc.so.6");
    assert_int_equal(zoomed(x, &z), 15); /* innermost frame in libc */
    assert_int_equal(total_of(x, x->memcpy_), 15);
    assert_int_equal(total_of(x, x->parse), 5); /* parse calling memcpy */
    strcpy(z.module, "libparse.so");
    assert_int_equal(zoomed(x, &z), 45);
    /* the caller's view of parse_input within its library */
    struct drill_fview v;
    assert_int_equal(drill_func_view(x->m, &x->r, x->self, x->parse, &v), 0);
    assert_int_equal(v.total, 45);
    assert_int_equal(v.self, 45);
    drill_fview_free(&v);
    /* module and thread together */
    z.tid = 1;
    assert_int_equal(zoomed(x, &z), 15);
}

static void test_zoom_path(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct zoom z = {.sub = ZOOM_SUB_PATH, .npath = 2, .path = {x->main_, x->run}};
    assert_int_equal(zoomed(x, &z), 90); /* thread 2 calls parse from main */
    z.npath = 3;
    z.path[2] = x->outer;
    assert_int_equal(zoomed(x, &z), 60);
    assert_int_equal(total_of(x, x->inner), 40);
    /* the path reaches into an inline chain: checksum_block > mix_bits */
    z.path[2] = x->checksum;
    z.path[3] = x->mix_bits;
    z.npath = 4;
    assert_int_equal(zoomed(x, &z), 10);
    /* a path that is not from the root matches nothing */
    z = (struct zoom){.sub = ZOOM_SUB_PATH, .npath = 1, .path = {x->run}};
    assert_int_equal(zoomed(x, &z), 0);
}

static void test_zoom_func_anywhere(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct zoom z = {.sub = ZOOM_SUB_FUNC, .npath = 1, .path = {x->parse}};
    assert_int_equal(zoomed(x, &z), 50); /* both threads, through parse */
    assert_int_equal(total_of(x, x->memcpy_), 5);
    assert_int_equal(total_of(x, x->outer), 0);
    z.tid = 2;
    assert_int_equal(zoomed(x, &z), 30);
}

static void test_zoom_tree_view(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct zoom z = {.tid = 2};
    zoomed(x, &z);
    struct drill_tree_opts o = {.kind = DRILL_TOPDOWN, .expand_all = true};
    struct drill_tree t;
    assert_int_equal(drill_tree(x->m, &x->r, x->self, &o, &t), 0);
    assert_int_equal(t.samples, 41);
    assert_int_equal(t.rows[0].func, x->main_);
    assert_int_equal(t.rows[0].total, 40);
    for (size_t i = 0; i < t.n; i++)
        assert_int_not_equal(t.rows[i].func, x->run);
    drill_tree_free(&t);
}

static void test_describe(void **state)
{
    struct fix *x = *state;
    char buf[256];
    struct zoom z = {0};
    zoom_describe(&z, &x->r, buf, sizeof buf);
    assert_string_equal(buf, "");
    z.tid = 42;
    strcpy(z.module, "libz.so.1");
    z.sub = ZOOM_SUB_PATH;
    z.npath = 2;
    z.path[0] = x->main_;
    z.path[1] = x->run;
    zoom_describe(&z, &x->r, buf, sizeof buf);
    assert_string_equal(buf, "thread 42, module libz.so.1, under main > run_cycle");
    z = (struct zoom){.sub = ZOOM_SUB_FUNC, .npath = 1, .path = {x->parse}};
    zoom_describe(&z, &x->r, buf, sizeof buf);
    assert_string_equal(buf, "through parse_input");
    z = (struct zoom){.sub = ZOOM_SUB_PATH,
                      .npath = 6,
                      .path = {x->main_, x->run, x->outer, x->inner, x->parse, x->memcpy_}};
    zoom_describe(&z, &x->r, buf, sizeof buf);
    assert_string_equal(buf, "under main > ... > compute_inner > parse_input > memcpy");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_zoom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zoom_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zoom_module, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zoom_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zoom_func_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zoom_tree_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
