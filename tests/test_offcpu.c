/*
 * test_offcpu.c - the off-CPU matcher on synthetic records: every order the
 * per-CPU rings can hand them over in, long waits, preemption, exits, and
 * what does not fit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sampler/perf/offcpu.h"

#define MS 1000000ull

struct got {
    unsigned n;
    pid_t tid[64];
    uint64_t weight[64];
    uint64_t time[64];
    char state[64];
    uint64_t marker[64]; /* regs.rip of the capture: which sample it was */
};

static void collect(void *ctx, const struct capture *c, uint64_t w)
{
    struct got *g = ctx;
    if (g->n >= 64)
        return;
    g->tid[g->n] = c->tid;
    g->weight[g->n] = w;
    g->time[g->n] = c->time_ns;
    g->state[g->n] = c->state;
    g->marker[g->n] = c->regs.rip;
    g->n++;
}

static void sample(struct offcpu *o, pid_t tid, uint64_t t, uint64_t marker)
{
    struct capture *c = offcpu_sample(o, tid, t);
    assert_non_null(c);
    c->regs.rip = marker;
    c->stack_len = 0;
    offcpu_commit(o, true);
}

static struct offcpu *fresh(void)
{
    struct offcpu *o = offcpu_new(64, 8, 256);
    assert_non_null(o);
    return o;
}

/* in order: out record, sample, in record */
static void test_one_wait(void **state)
{
    (void)state;
    struct offcpu *o = fresh();
    struct got g = {0};
    offcpu_switch(o, 7, true, false, 10 * MS);
    sample(o, 7, 10 * MS, 0xa);
    offcpu_switch(o, 7, false, false, 17 * MS);
    offcpu_release(o, 100 * MS, 0, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.tid[0], 7);
    assert_int_equal(g.weight[0], 7 * MS);
    assert_int_equal(g.state[0], 'S');
    struct offcpu_stats st;
    offcpu_get_stats(o, &st);
    assert_int_equal(st.waits, 1);
    assert_int_equal(st.unmatched, 0);
    offcpu_free(o);
}

/* The thread woke on another CPU whose ring was drained first: its switch-in
 * arrives before the sample (and, in the old engine, was dropped as late). */
static void test_switch_in_drained_first(void **state)
{
    (void)state;
    struct offcpu *o = fresh();
    struct got g = {0};
    offcpu_switch(o, 7, false, false, 13 * MS);
    sample(o, 7, 10 * MS, 0xa);
    offcpu_release(o, 100 * MS, 0, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.weight[0], 3 * MS);
    offcpu_free(o);
}

/* The switch-in comes in a later drain: nothing before it, then the whole. */
static void test_switch_in_next_drain(void **state)
{
    (void)state;
    struct offcpu *o = fresh();
    struct got g = {0};
    sample(o, 7, 10 * MS, 0xa);
    offcpu_release(o, 20 * MS, 0, collect, &g);
    assert_int_equal(g.n, 0);
    offcpu_switch(o, 7, false, false, 25 * MS);
    offcpu_release(o, 40 * MS, 0, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.weight[0], 15 * MS);
    offcpu_free(o);
}

/* Two blocks of one thread in one drain, handed over ring by ring (both
 * samples first, both switch-ins after): each sample meets its own. */
static void test_two_waits_one_drain(void **state)
{
    (void)state;
    struct offcpu *o = fresh();
    struct got g = {0};
    sample(o, 7, 10 * MS, 0xa);
    sample(o, 7, 20 * MS, 0xb);
    offcpu_switch(o, 7, false, false, 12 * MS);
    offcpu_switch(o, 7, false, false, 26 * MS);
    offcpu_release(o, 100 * MS, 0, collect, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.marker[0], 0xa);
    assert_int_equal(g.weight[0], 2 * MS);
    assert_int_equal(g.marker[1], 0xb);
    assert_int_equal(g.weight[1], 6 * MS);
    offcpu_free(o);
}

/* Events past the watermark wait: a switch-in not yet seen in every ring
 * must not be taken for the end of an earlier wait. */
static void test_watermark_holds_back(void **state)
{
    (void)state;
    struct offcpu *o = fresh();
    struct got g = {0};
    sample(o, 7, 10 * MS, 0xa);
    offcpu_switch(o, 7, false, false, 30 * MS);
    offcpu_release(o, 20 * MS, 0, collect, &g);
    assert_int_equal(g.n, 0);
    offcpu_release(o, 31 * MS, 0, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.weight[0], 20 * MS);
    offcpu_free(o);
}

/* A long wait comes out in parts that add up to the whole. */
static void test_long_wait_in_parts(void **state)
{
    (void)state;
    struct offcpu *o = fresh();
    struct got g = {0};
    sample(o, 7, 0, 0xa);
    offcpu_release(o, 150 * MS, 100 * MS, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.weight[0], 150 * MS);
    offcpu_release(o, 200 * MS, 100 * MS, collect, &g);
    assert_int_equal(g.n, 1); /* 50 ms: not a slice yet */
    offcpu_switch(o, 7, false, false, 420 * MS);
    offcpu_release(o, 500 * MS, 100 * MS, collect, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.weight[0] + g.weight[1], 420 * MS);
    struct offcpu_stats st;
    offcpu_get_stats(o, &st);
    assert_int_equal(st.parts, 1);
    assert_int_equal(st.waits, 1);
    offcpu_free(o);
}

/* Preempted (still runnable): state R, whichever of record and sample
 * comes first. */
static void test_preempted(void **state)
{
    (void)state;
    struct offcpu *o = fresh();
    struct got g = {0};
    sample(o, 7, 10 * MS, 0xa);
    offcpu_switch(o, 7, true, true, 10 * MS + 1000);
    offcpu_switch(o, 7, false, false, 11 * MS);
    offcpu_switch(o, 8, true, true, 20 * MS);
    sample(o, 8, 20 * MS + 500, 0xb);
    offcpu_switch(o, 8, false, false, 22 * MS);
    offcpu_switch(o, 9, true, false, 30 * MS);
    sample(o, 9, 30 * MS, 0xc);
    offcpu_switch(o, 9, false, false, 31 * MS);
    offcpu_release(o, 100 * MS, 0, collect, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.state[0], 'R');
    assert_int_equal(g.state[1], 'R');
    assert_int_equal(g.state[2], 'S');
    offcpu_free(o);
}

/* A thread that exits while away: its wait ends at the exit. */
static void test_exit_ends_wait(void **state)
{
    (void)state;
    struct offcpu *o = fresh();
    struct got g = {0};
    sample(o, 7, 10 * MS, 0xa);
    offcpu_exit(o, 7, 14 * MS);
    offcpu_switch(o, 7, false, false, 50 * MS); /* a recycled tid's: no wait */
    offcpu_release(o, 100 * MS, 0, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.weight[0], 4 * MS);
    offcpu_free(o);
}

/* A lost switch-in: the next sample replaces the wait, counted; the pool
 * gives its capture back (8 captures serve 20 waits). */
static void test_unmatched_and_pool(void **state)
{
    (void)state;
    struct offcpu *o = fresh();
    struct got g = {0};
    sample(o, 7, 10 * MS, 0xa);
    sample(o, 7, 20 * MS, 0xb);
    offcpu_switch(o, 7, false, false, 21 * MS);
    offcpu_release(o, 100 * MS, 0, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.marker[0], 0xb);
    struct offcpu_stats st;
    offcpu_get_stats(o, &st);
    assert_int_equal(st.unmatched, 1);
    for (unsigned i = 0; i < 20; i++) {
        sample(o, 100 + (pid_t)i, (200 + i) * MS, i);
        offcpu_switch(o, 100 + (pid_t)i, false, false, (200 + i) * MS + 5);
        offcpu_release(o, (300 + i) * MS, 0, collect, &g);
    }
    assert_int_equal(g.n, 21);
    offcpu_free(o);
}

/* More waits in flight than the pool holds: counted, never blocking. */
static void test_pool_full(void **state)
{
    (void)state;
    struct offcpu *o = fresh();
    for (pid_t t = 1; t <= 8; t++)
        sample(o, t, 10 * MS, 0);
    assert_null(offcpu_sample(o, 9, 10 * MS));
    struct offcpu_stats st;
    offcpu_get_stats(o, &st);
    assert_int_equal(st.dropped, 1);
    /* a sample the caller could not use gives its capture back */
    struct got g = {0};
    for (pid_t t = 1; t <= 8; t++)
        offcpu_switch(o, t, false, false, 11 * MS);
    offcpu_release(o, 20 * MS, 0, collect, &g);
    assert_int_equal(g.n, 8);
    assert_non_null(offcpu_sample(o, 9, 30 * MS));
    offcpu_commit(o, false);
    for (pid_t t = 1; t <= 8; t++) {
        assert_non_null(offcpu_sample(o, t, 40 * MS));
        offcpu_commit(o, true);
    }
    offcpu_free(o);
}

/* Thread churn: far more threads than the table holds, each exiting. */
static void test_thread_churn(void **state)
{
    (void)state;
    struct offcpu *o = offcpu_new(0, 4, 1024);
    assert_non_null(o);
    struct got g = {0};
    uint64_t t = 0;
    for (pid_t tid = 1; tid < 3 * (pid_t)OFFCPU_THREADS_MAX; tid++) {
        offcpu_switch(o, tid, true, false, t++);
        offcpu_switch(o, tid, false, false, t++);
        if (tid % 3 == 0)
            offcpu_exit(o, tid, t++);
        if (tid % 256 == 0)
            offcpu_release(o, t, 0, collect, &g);
    }
    /* a late thread still gets its wait */
    sample(o, 999999, t + 10, 0xe);
    offcpu_switch(o, 999999, false, false, t + 20);
    offcpu_release(o, t + 30, 0, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.weight[0], 10);
    offcpu_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_wait),
        cmocka_unit_test(test_switch_in_drained_first),
        cmocka_unit_test(test_switch_in_next_drain),
        cmocka_unit_test(test_two_waits_one_drain),
        cmocka_unit_test(test_watermark_holds_back),
        cmocka_unit_test(test_long_wait_in_parts),
        cmocka_unit_test(test_preempted),
        cmocka_unit_test(test_exit_ends_wait),
        cmocka_unit_test(test_unmatched_and_pool),
        cmocka_unit_test(test_pool_full),
        cmocka_unit_test(test_thread_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
