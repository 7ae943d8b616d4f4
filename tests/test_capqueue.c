/*
 * test_capqueue.c - the capture queue: order, bounds, close, and a real
 * producer/consumer pair moving 100k captures with no loss or duplicate.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sampler/capqueue.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void test_new_rejects_bad_sizes(void **state)
{
    (void)state;
    assert_null(capqueue_new(0, 1024));
    assert_null(capqueue_new(4, CAPTURE_STACK_MAX + 1));
    struct capqueue *q = capqueue_new(3, 1024); /* rounds up to 4 */
    assert_non_null(q);
    for (int i = 0; i < 4; i++) {
        struct capture *c = capqueue_reserve(q);
        assert_non_null(c);
        assert_int_equal(c->stack_cap, 1024);
        assert_non_null(c->stack);
        capqueue_commit(q);
    }
    assert_null(capqueue_reserve(q));
    capqueue_free(q);
}

static void test_fifo_order_and_stack_buffers(void **state)
{
    (void)state;
    struct capqueue *q = capqueue_new(8, 256);
    assert_non_null(q);
    for (int round = 0; round < 3; round++) { /* wrap around the ring */
        for (int i = 0; i < 5; i++) {
            struct capture *c = capqueue_reserve(q);
            assert_non_null(c);
            c->tid = round * 100 + i;
            memset(c->stack, i, c->stack_cap);
            c->stack_len = c->stack_cap;
            capqueue_commit(q);
        }
        for (int i = 0; i < 5; i++) {
            struct capture *c = capqueue_take(q, 0);
            assert_non_null(c);
            assert_int_equal(c->tid, round * 100 + i);
            assert_int_equal(c->stack_len, 256);
            assert_int_equal(c->stack[0], i);
            assert_int_equal(c->stack[255], i);
            capqueue_release(q);
        }
        assert_null(capqueue_take(q, 0));
    }
    capqueue_free(q);
}

static void test_full_queue_returns_null_until_release(void **state)
{
    (void)state;
    struct capqueue *q = capqueue_new(4, 64);
    for (int i = 0; i < 4; i++) {
        struct capture *c = capqueue_reserve(q);
        assert_non_null(c);
        c->tid = i;
        capqueue_commit(q);
    }
    assert_null(capqueue_reserve(q));
    assert_null(capqueue_reserve(q));
    struct capture *c = capqueue_take(q, 0);
    assert_int_equal(c->tid, 0);
    capqueue_release(q);
    c = capqueue_reserve(q);
    assert_non_null(c);
    c->tid = 4;
    capqueue_commit(q);
    for (int i = 1; i <= 4; i++) {
        c = capqueue_take(q, 0);
        assert_non_null(c);
        assert_int_equal(c->tid, i);
        capqueue_release(q);
    }
    capqueue_free(q);
}

static void test_uncommitted_reservation_is_reused(void **state)
{
    (void)state;
    struct capqueue *q = capqueue_new(2, 64);
    struct capture *a = capqueue_reserve(q);
    a->tid = 1;
    struct capture *b = capqueue_reserve(q); /* abandoned a: same slot */
    assert_ptr_equal(a, b);
    assert_null(capqueue_take(q, 0));
    capqueue_release(q); /* releasing nothing must not corrupt the ring */
    capqueue_commit(q);
    assert_int_equal(capqueue_take(q, 0)->tid, 1);
    capqueue_release(q);
    assert_null(capqueue_take(q, 0));
    capqueue_free(q);
}

static void test_take_times_out(void **state)
{
    (void)state;
    struct capqueue *q = capqueue_new(4, 64);
    uint64_t t0 = mono_ns();
    assert_null(capqueue_take(q, 30));
    uint64_t waited = mono_ns() - t0;
    assert_true(waited >= 29 * 1000000ull);
    assert_true(waited < 1000 * 1000000ull);
    capqueue_free(q);
}

static void test_close_drains_then_returns_null(void **state)
{
    (void)state;
    struct capqueue *q = capqueue_new(4, 64);
    for (int i = 0; i < 2; i++) {
        capqueue_reserve(q)->tid = i;
        capqueue_commit(q);
    }
    assert_false(capqueue_closed(q));
    capqueue_close(q);
    assert_true(capqueue_closed(q));
    for (int i = 0; i < 2; i++) {
        struct capture *c = capqueue_take(q, 1000);
        assert_non_null(c);
        assert_int_equal(c->tid, i);
        capqueue_release(q);
    }
    uint64_t t0 = mono_ns();
    assert_null(capqueue_take(q, 5000)); /* closed and empty: no wait */
    assert_true(mono_ns() - t0 < 100 * 1000000ull);
    capqueue_free(q);
}

struct closer {
    struct capqueue *q;
    int delay_ms;
};

static void *close_later(void *arg)
{
    struct closer *cl = arg;
    struct timespec ts = {0, cl->delay_ms * 1000000L};
    nanosleep(&ts, NULL);
    capqueue_close(cl->q);
    return NULL;
}

static void test_close_wakes_waiting_consumer(void **state)
{
    (void)state;
    struct capqueue *q = capqueue_new(4, 64);
    struct closer cl = {q, 50};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, close_later, &cl), 0);
    uint64_t t0 = mono_ns();
    assert_null(capqueue_take(q, 10000));
    uint64_t waited = mono_ns() - t0;
    pthread_join(th, NULL);
    assert_true(waited >= 40 * 1000000ull);
    assert_true(waited < 2000 * 1000000ull); /* woken, not timed out */
    capqueue_free(q);
}

#define N_ITEMS 100000u

struct producer {
    struct capqueue *q;
    uint64_t lost;
};

/* Never blocks: when the queue is full it retries the same item, the way the
 * sampler would count a lost sample and try again next round. */
static void *produce(void *arg)
{
    struct producer *p = arg;
    for (uint32_t i = 0; i < N_ITEMS;) {
        struct capture *c = capqueue_reserve(p->q);
        if (!c) {
            p->lost++;
            sched_yield();
            continue;
        }
        c->tid = (pid_t)i;
        c->time_ns = i * 3ull;
        memcpy(c->stack, &i, sizeof i);
        c->stack_len = sizeof i;
        capqueue_commit(p->q);
        i++;
    }
    capqueue_close(p->q);
    return NULL;
}

static void test_threads_move_100k_without_loss(void **state)
{
    (void)state;
    struct capqueue *q = capqueue_new(64, 64);
    struct producer p = {q, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, produce, &p), 0);
    uint32_t expect = 0;
    for (;;) {
        struct capture *c = capqueue_take(q, 1000);
        if (!c) {
            if (capqueue_closed(q))
                break;
            continue;
        }
        uint32_t in_stack;
        memcpy(&in_stack, c->stack, sizeof in_stack);
        assert_int_equal((uint32_t)c->tid, expect);
        assert_int_equal(in_stack, expect);
        assert_int_equal(c->time_ns, expect * 3ull);
        capqueue_release(q);
        expect++;
    }
    pthread_join(th, NULL);
    assert_int_equal(expect, N_ITEMS);
    assert_null(capqueue_take(q, 0));
    print_message("100k items moved; producer saw the queue full %llu times\n",
                  (unsigned long long)p.lost);
    capqueue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_sizes),
        cmocka_unit_test(test_fifo_order_and_stack_buffers),
        cmocka_unit_test(test_full_queue_returns_null_until_release),
        cmocka_unit_test(test_uncommitted_reservation_is_reused),
        cmocka_unit_test(test_take_times_out),
        cmocka_unit_test(test_close_drains_then_returns_null),
        cmocka_unit_test(test_close_wakes_waiting_consumer),
        cmocka_unit_test(test_threads_move_100k_without_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
