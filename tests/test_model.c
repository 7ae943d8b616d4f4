/*
 * test_model.c - the call tree: trie shape, self and total counts, threads,
 * the node cap, the recent window, zeroing, cloning; and a micro-benchmark of
 * model_add on a 20-frame stack.
 *
 * Frame ids are plain numbers here: the model never looks inside them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/model/model.h"

#define OVF       999u /* the SPECIAL_OVERFLOW frame */
#define THREAD(t) (1000u + (frame_id)(t))

/* Adds a stack given root first (easier to read), as model_add wants it
 * leaf first. */
static uint32_t add_root_first(struct model *m, pid_t tid, const frame_id *root_first, size_t n,
                               uint64_t time_ns)
{
    frame_id leaf_first[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        leaf_first[i] = root_first[n - 1 - i];
    return model_add(m, tid, "worker", 'R', THREAD(tid), leaf_first, n, SAMPLE_ONCPU, time_ns, OVF);
}

/* The frames from the node up to (not including) its thread node, root
 * first; returns how many. */
static size_t path_of(const struct model *m, uint32_t node, frame_id *out, size_t max)
{
    frame_id rev[64];
    size_t n = 0;
    while (node != MODEL_ROOT && model_node(m, node)->parent != MODEL_ROOT) {
        assert_true(n < 64);
        rev[n++] = model_node(m, node)->frame;
        node = model_node(m, node)->parent;
    }
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}

static uint32_t child_with_frame(const struct model *m, uint32_t parent, frame_id f)
{
    for (uint32_t c = model_node(m, parent)->first_child; c != MODEL_NO_NODE;
         c = model_node(m, c)->next_sibling)
        if (model_node(m, c)->frame == f)
            return c;
    return MODEL_NO_NODE;
}

static struct model *small_model(uint32_t max_nodes, uint32_t recent, uint64_t window)
{
    struct model_limits l;
    model_limits_default(&l);
    l.max_nodes = max_nodes;
    l.recent_capacity = recent;
    l.recent_window_ns = window;
    struct model *m = model_new(&l);
    assert_non_null(m);
    return m;
}

static void test_stacks_into_trie(void **state)
{
    (void)state;
    struct model *m = small_model(1000, 16, 1000);
    const frame_id s1[] = {1, 2, 3};    /* main -> f -> g */
    const frame_id s2[] = {1, 2, 4};    /* main -> f -> h */
    const frame_id s3[] = {1, 2, 3, 3}; /* g recursing */

    uint32_t l1 = add_root_first(m, 10, s1, 3, 1);
    uint32_t l2 = add_root_first(m, 10, s2, 3, 2);
    uint32_t l3 = add_root_first(m, 10, s3, 4, 3);
    assert_int_equal(add_root_first(m, 10, s1, 3, 4), l1); /* same stack, same leaf */

    /* root, thread, 1, 2, 3, 4, 3': seven nodes, prefixes shared. */
    assert_int_equal(model_node_count(m), 7);
    frame_id p[8];
    assert_int_equal(path_of(m, l1, p, 8), 3);
    assert_memory_equal(p, s1, sizeof(s1));
    assert_int_equal(path_of(m, l2, p, 8), 3);
    assert_memory_equal(p, s2, sizeof(s2));
    assert_int_equal(path_of(m, l3, p, 8), 4);
    assert_memory_equal(p, s3, sizeof(s3));

    /* The first level under the root is the thread pseudo-frame. */
    uint32_t t = child_with_frame(m, MODEL_ROOT, THREAD(10));
    assert_int_not_equal(t, MODEL_NO_NODE);
    assert_int_equal(model_thread_find(m, 10)->node, t);
    assert_int_not_equal(child_with_frame(m, t, 1), MODEL_NO_NODE);

    /* Parents always have smaller indexes (model_totals relies on it). */
    for (uint32_t i = 1; i < model_node_count(m); i++)
        assert_true(model_node(m, i)->parent < i);
    assert_null(model_node(m, 7));
    model_free(m);
}

static void test_self_and_totals(void **state)
{
    (void)state;
    struct model *m = small_model(1000, 16, 1000);
    const frame_id a[] = {1, 2, 3};
    const frame_id b[] = {1, 2};
    const frame_id c[] = {1, 5};
    uint32_t la = 0, lb = 0, lc = 0;
    for (int i = 0; i < 5; i++)
        la = add_root_first(m, 7, a, 3, 1);
    for (int i = 0; i < 2; i++)
        lb = add_root_first(m, 7, b, 2, 1);
    lc = add_root_first(m, 7, c, 2, 1);
    /* An empty stack counts at the thread node. */
    uint32_t le = model_add(m, 7, NULL, 'R', THREAD(7), NULL, 0, SAMPLE_ONCPU, 1, OVF);
    assert_int_equal(le, model_thread_find(m, 7)->node);

    size_t n = model_node_count(m);
    uint64_t *self = calloc(n, sizeof(*self)), *total = calloc(n, sizeof(*total));
    assert_non_null(self);
    assert_non_null(total);
    assert_int_equal(model_self_counts(m, MODEL_CUMULATIVE, 0, self), 9);
    assert_int_equal(model_total_samples(m), 9);
    assert_int_equal(self[la], 5);
    assert_int_equal(self[lb], 2);
    assert_int_equal(self[lc], 1);
    assert_int_equal(self[le], 1);
    assert_int_equal(self[MODEL_ROOT], 0);

    model_totals(m, self, total);
    assert_int_equal(total[la], 5);
    assert_int_equal(total[lb], 7); /* its own 2 + a's 5 */
    assert_int_equal(total[model_node(m, lb)->parent], 8);
    assert_int_equal(total[le], 9);
    assert_int_equal(total[MODEL_ROOT], 9);
    free(self);
    free(total);
    model_free(m);
}

static void test_threads(void **state)
{
    (void)state;
    struct model *m = small_model(1000, 16, 1000);
    const frame_id s[] = {1, 2};
    model_add(m, 100, "main", 'R', THREAD(100), s, 2, SAMPLE_ONCPU, 5, OVF);
    model_add(m, 101, "worker-1", 'S', THREAD(101), s, 2, SAMPLE_WAITING, 6, OVF);
    model_add(m, 101, "worker-renamed-long-name", 'D', THREAD(101), s, 2, SAMPLE_WAITING, 9, OVF);
    model_add(m, 101, NULL, 'R', THREAD(101), s, 2, SAMPLE_ONCPU, 10, OVF);

    assert_int_equal(model_thread_count(m), 2);
    const struct model_thread *t0 = model_thread(m, 0), *t1 = model_thread_find(m, 101);
    assert_int_equal(t0->tid, 100);
    assert_string_equal(t0->name, "main");
    assert_int_equal(t0->samples, 1);
    assert_int_equal(t0->state, 'R');
    assert_non_null(t1);
    assert_string_equal(t1->name, "worker-renamed-long-name"); /* Python names exceed comm */
    assert_int_equal(t1->samples, 3);
    assert_int_equal(t1->state, 'R');
    assert_int_equal(t1->last_ns, 10);
    assert_false(t1->exited);
    assert_int_not_equal(t0->node, t1->node);
    assert_null(model_thread_find(m, 102));
    assert_null(model_thread(m, 2));

    /* Each thread has its own subtree under the root. */
    size_t n = model_node_count(m);
    uint64_t *self = calloc(n, sizeof(*self)), *total = calloc(n, sizeof(*total));
    assert_non_null(self);
    assert_non_null(total);
    model_self_counts(m, MODEL_CUMULATIVE, 0, self);
    model_totals(m, self, total);
    assert_int_equal(total[t0->node], 1);
    assert_int_equal(total[t1->node], 3);
    free(self);
    free(total);

    /* A name longer than the table holds is cut, never overrun. */
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    model_add(m, 102, longname, 'R', THREAD(102), s, 1, SAMPLE_ONCPU, 11, OVF);
    const struct model_thread *t2 = model_thread_find(m, 102);
    assert_non_null(t2);
    assert_int_equal(strlen(t2->name), sizeof t2->name - 1);

    model_thread_exited(m, 101);
    assert_true(model_thread_find(m, 101)->exited);
    /* A reused tid is alive again, same entry. */
    model_add(m, 101, "again", 'R', THREAD(101), s, 2, SAMPLE_ONCPU, 11, OVF);
    assert_false(model_thread_find(m, 101)->exited);
    assert_int_equal(model_thread_count(m), 3); /* 100, 101, 102 */
    model_free(m);
}

static void test_many_threads_and_table_cap(void **state)
{
    (void)state;
    struct model_limits l;
    model_limits_default(&l);
    l.max_threads = 40;
    struct model *m = model_new(&l);
    assert_non_null(m);
    const frame_id s[] = {1};
    /* Past the table's cap, samples still count under their own node. */
    for (pid_t tid = 1; tid <= 50; tid++)
        model_add(m, tid, "t", 'R', THREAD(tid), s, 1, SAMPLE_ONCPU, 1, OVF);
    assert_int_equal(model_thread_count(m), 40);
    for (pid_t tid = 1; tid <= 40; tid++)
        assert_int_equal(model_thread_find(m, tid)->tid, tid);
    assert_null(model_thread_find(m, 45));
    assert_int_equal(model_total_samples(m), 50);
    assert_non_null(child_with_frame(m, MODEL_ROOT, THREAD(45)) != MODEL_NO_NODE ? m : NULL);
    model_free(m);
}

static void test_node_cap_keeps_every_sample(void **state)
{
    (void)state;
    /* 32 nodes: ordinary frames may use 30 (32 - 32/16), 2 are reserve. */
    struct model *m = small_model(32, 16, 1000);
    frame_id s[3] = {1, 2, 0};
    uint32_t adds = 0;
    /* root + thread + 1 + 2 = 4 nodes; then leaves 100.. fill up to 30. */
    for (frame_id leaf = 100; leaf < 126; leaf++, adds++) {
        s[2] = leaf;
        add_root_first(m, 1, s, 3, adds);
    }
    assert_int_equal(model_node_count(m), 30);
    assert_false(model_overflowed(m));

    /* New leaves under 1->2: the deepest existing prefix is node "2". */
    uint32_t t = model_thread_find(m, 1)->node;
    uint32_t n2 = child_with_frame(m, child_with_frame(m, t, 1), 2);
    uint32_t ovf = MODEL_NO_NODE;
    for (frame_id leaf = 200; leaf < 210; leaf++, adds++) {
        s[2] = leaf;
        uint32_t got = add_root_first(m, 1, s, 3, adds);
        if (ovf == MODEL_NO_NODE)
            ovf = got;
        assert_int_equal(got, ovf);
    }
    assert_true(model_overflowed(m));
    assert_int_equal(model_node(m, ovf)->frame, OVF);
    assert_int_equal(model_node(m, ovf)->parent, n2);
    assert_int_equal(model_node(m, ovf)->self, 10);

    /* Known stacks still reach their own leaf. */
    s[2] = 100;
    uint32_t known = add_root_first(m, 1, s, 3, adds++);
    assert_int_equal(model_node(m, known)->frame, 100);

    /* A new thread still gets its node from the reserve (32 of 32); with
     * no room left for an overflow node its sample stays at the deepest
     * prefix, the thread node. */
    assert_int_equal(model_node_count(m), 31);
    uint32_t got = add_root_first(m, 2, s, 3, adds++);
    uint32_t t2 = model_thread_find(m, 2)->node;
    assert_int_not_equal(t2, MODEL_NO_NODE);
    assert_int_equal(model_node(m, t2)->frame, THREAD(2));
    assert_int_equal(got, t2);
    assert_int_equal(model_node_count(m), 32);

    /* Tree completely full: a third thread's samples land at the root. */
    add_root_first(m, 3, s, 3, adds++);
    assert_int_equal(model_node_count(m), 32);
    /* A deeper new stack of thread 1 goes to the nearest overflow node. */
    const frame_id deep[] = {1, 2, 100, 7, 8};
    assert_int_equal(add_root_first(m, 1, deep, 5, adds++), ovf);

    /* Every sample is somewhere. */
    uint64_t self[32], total[32];
    assert_int_equal(model_self_counts(m, MODEL_CUMULATIVE, 0, self), adds);
    model_totals(m, self, total);
    assert_int_equal(total[MODEL_ROOT], adds);
    assert_int_equal(model_total_samples(m), adds);
    assert_int_equal(self[MODEL_ROOT], 1);
    model_free(m);
}

static uint64_t recent_total(const struct model *m, uint64_t now)
{
    uint64_t self[64];
    assert_true(model_node_count(m) <= 64);
    uint64_t sum = model_self_counts(m, MODEL_RECENT, now, self);
    uint64_t check = 0;
    for (size_t i = 0; i < model_node_count(m); i++)
        check += self[i];
    assert_int_equal(sum, check);
    return sum;
}

static void test_recent_window(void **state)
{
    (void)state;
    /* A ring of 4 samples, a window of 100 ns. */
    struct model *m = small_model(1000, 4, 100);
    const frame_id a[] = {1}, b[] = {2};
    uint32_t la = add_root_first(m, 1, a, 1, 1000);
    uint32_t lb = add_root_first(m, 1, b, 1, 1050);
    add_root_first(m, 1, b, 1, 1090);

    assert_int_equal(recent_total(m, 1095), 3);
    /* Expiry: at 1120 the sample of 1000 is 120 ns old. */
    uint64_t self[64];
    assert_int_equal(model_self_counts(m, MODEL_RECENT, 1120, self), 2);
    assert_int_equal(self[la], 0);
    assert_int_equal(self[lb], 2);
    assert_int_equal(recent_total(m, 1185), 1);
    assert_int_equal(recent_total(m, 5000), 0);
    /* Early in the run (now < window) nothing underflows. */
    assert_int_equal(recent_total(m, 50), 3);

    /* Wrap-around: 6 more samples of a into a ring of 4 keep the last 4,
     * although all are inside the window. */
    for (int i = 0; i < 6; i++)
        add_root_first(m, 1, a, 1, 1100 + (uint64_t)i);
    assert_int_equal(model_self_counts(m, MODEL_RECENT, 1110, self), 4);
    assert_int_equal(self[la], 4);
    assert_int_equal(self[lb], 0);
    /* The cumulative counts keep everything. */
    assert_int_equal(model_self_counts(m, MODEL_CUMULATIVE, 1110, self), 9);
    assert_int_equal(self[la], 7);
    model_free(m);
}

static void test_zero(void **state)
{
    (void)state;
    struct model *m = small_model(1000, 8, 1000);
    const frame_id a[] = {1, 2};
    uint32_t la = add_root_first(m, 5, a, 2, 10);
    add_root_first(m, 5, a, 2, 11);
    size_t nodes = model_node_count(m);

    model_zero(m);
    assert_int_equal(model_total_samples(m), 0);
    assert_int_equal(model_node_count(m), nodes);          /* structure kept */
    assert_int_equal(model_thread_count(m), 1);            /* threads kept... */
    assert_int_equal(model_thread_find(m, 5)->samples, 0); /* ...counts zeroed */
    uint64_t self[16];
    assert_int_equal(model_self_counts(m, MODEL_CUMULATIVE, 12, self), 0);
    assert_int_equal(model_self_counts(m, MODEL_RECENT, 12, self), 0);

    /* Counting starts again from nothing. */
    assert_int_equal(add_root_first(m, 5, a, 2, 12), la);
    assert_int_equal(model_self_counts(m, MODEL_CUMULATIVE, 12, self), 1);
    assert_int_equal(model_self_counts(m, MODEL_RECENT, 12, self), 1);
    assert_int_equal(self[la], 1);
    model_free(m);
}

static void test_clone(void **state)
{
    (void)state;
    struct model *m = small_model(1000, 8, 1000);
    const frame_id a[] = {1, 2}, b[] = {1, 3};
    uint32_t la = add_root_first(m, 5, a, 2, 10);
    add_root_first(m, 5, a, 2, 11);
    add_root_first(m, 6, b, 2, 12);

    struct model *c = model_clone(m);
    assert_non_null(c);
    assert_int_equal(model_node_count(c), model_node_count(m));
    assert_int_equal(model_total_samples(c), 3);
    assert_int_equal(model_thread_count(c), 2);
    assert_int_equal(model_thread_find(c, 5)->samples, 2);
    uint64_t self[16];
    assert_int_equal(model_self_counts(c, MODEL_CUMULATIVE, 12, self), 3);
    assert_int_equal(self[la], 2);
    assert_int_equal(model_self_counts(c, MODEL_RECENT, 12, self), 3);

    /* From then on each grows on its own: new stacks, new threads. */
    const frame_id d[] = {1, 2, 4};
    add_root_first(c, 5, d, 3, 13);
    add_root_first(c, 7, a, 2, 14);
    assert_int_equal(model_total_samples(c), 5);
    assert_int_equal(model_total_samples(m), 3);
    assert_int_equal(model_thread_count(m), 2);
    assert_int_equal(model_node_count(m), 7); /* root, 2 threads, 1 2, 1 3 */
    assert_int_equal(add_root_first(m, 5, a, 2, 15), la);
    assert_int_equal(model_thread_find(c, 5)->samples, 3);
    assert_int_equal(model_thread_find(m, 5)->samples, 3);
    model_free(m);
    /* the clone owns its memory: freeing the source leaves it whole */
    assert_int_equal(model_self_counts(c, MODEL_CUMULATIVE, 15, self), 5);
    assert_int_equal(self[la], 2);
    model_free(c);
}

static void test_bad_limits(void **state)
{
    (void)state;
    struct model_limits l;
    model_limits_default(&l);
    assert_int_equal(l.max_nodes, 1u << 20);
    l.max_nodes = 1;
    assert_null(model_new(&l));
    struct model *m = model_new(NULL); /* defaults */
    assert_non_null(m);
    model_free(m);
    model_free(NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Average cost of model_add for a 20-frame stack, steady state: 1M adds
 * spread over 256 distinct stacks from 4 threads, like a hot loop with a
 * few callees.  Only a generous bound is asserted (sanitizer builds are
 * slow); the figure is printed. */
static void test_bench_model_add(void **state)
{
    (void)state;
    enum { DEPTH = 20, ADDS = 1000000, VARIANTS = 256 };
    struct model *m = model_new(NULL);
    assert_non_null(m);
    frame_id stack[DEPTH];
    for (int i = 0; i < DEPTH; i++)
        stack[i] = 5000 + (frame_id)i * 7;
    /* Warm up: build every variant once, so the timed part is steady state. */
    for (int v = 0; v < VARIANTS; v++) {
        stack[0] = 100 + (frame_id)(v % 64);
        stack[1] = 200 + (frame_id)(v / 64);
        model_add(m, 1 + v % 4, "bench", 'R', THREAD(1 + v % 4), stack, DEPTH, SAMPLE_ONCPU,
                  (uint64_t)v, OVF);
    }
    double t0 = now_s();
    for (int i = 0; i < ADDS; i++) {
        int v = (int)(((unsigned)i * 2654435761u) >> 8) % VARIANTS;
        stack[0] = 100 + (frame_id)(v % 64);
        stack[1] = 200 + (frame_id)(v / 64);
        model_add(m, 1 + v % 4, "bench", 'R', THREAD(1 + v % 4), stack, DEPTH, SAMPLE_ONCPU,
                  (uint64_t)i, OVF);
    }
    double ns = (now_s() - t0) * 1e9 / ADDS;
    printf("model_add, %d-frame stack: %.0f ns per sample (%d adds, %zu nodes)\n", DEPTH, ns, ADDS,
           model_node_count(m));
    assert_int_equal(model_total_samples(m), ADDS + VARIANTS);
    assert_true(ns < 50000.0);
    model_free(m);
}

/* The cache-hostile case: a tree of ~400k nodes and samples drawn at
 * random from 40k distinct 20-frame stacks, so nearly every hash probe
 * misses the cache.  Real profiles repeat their hot stacks far more. */
static void test_bench_model_add_big_tree(void **state)
{
    (void)state;
    enum { DEPTH = 20, STACKS = 40000, ADDS = 250000 };
    struct model *m = model_new(NULL);
    frame_id(*st)[DEPTH] = malloc(sizeof(frame_id[STACKS][DEPTH]));
    assert_non_null(m);
    assert_non_null(st);
    uint32_t x = 1;
    for (int s = 0; s < STACKS; s++)
        for (int i = 0; i < DEPTH; i++) {
            x = x * 1103515245u + 12345u;
            /* Outer half shared by groups of stacks, inner half random. */
            st[s][i] = i >= DEPTH / 2 ? (frame_id)(1000 + (s % 64) * 10 + i) : (x >> 8) % 100000;
        }
    for (int s = 0; s < STACKS; s++)
        model_add(m, 1 + s % 8, "bench", 'R', THREAD(1 + s % 8), st[s], DEPTH, SAMPLE_ONCPU,
                  (uint64_t)s, OVF);
    double t0 = now_s();
    for (int i = 0; i < ADDS; i++) {
        x = x * 1103515245u + 12345u;
        int s = (int)((x >> 8) % STACKS);
        model_add(m, 1 + s % 8, "bench", 'R', THREAD(1 + s % 8), st[s], DEPTH, SAMPLE_ONCPU,
                  (uint64_t)i, OVF);
    }
    double ns = (now_s() - t0) * 1e9 / ADDS;
    printf("model_add, %d-frame stack, random over %d stacks: %.0f ns per sample (%zu nodes)\n",
           DEPTH, STACKS, ns, model_node_count(m));
    assert_true(ns < 100000.0);
    free(st);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stacks_into_trie),
        cmocka_unit_test(test_self_and_totals),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_many_threads_and_table_cap),
        cmocka_unit_test(test_node_cap_keeps_every_sample),
        cmocka_unit_test(test_recent_window),
        cmocka_unit_test(test_zero),
        cmocka_unit_test(test_clone),
        cmocka_unit_test(test_bad_limits),
        cmocka_unit_test(test_bench_model_add),
        cmocka_unit_test(test_bench_model_add_big_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
