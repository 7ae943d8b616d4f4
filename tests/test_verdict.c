/*
 * test_verdict.c - the bottleneck classifier on constructed threads: each
 * class alone, several at once, the thresholds at their edges, and idle
 * processes that are idle by design.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "src/model/verdict.h"

static const struct verdict_func hot[] = {
    {.name = "compute_inner", .file = "/src/mix.c", .line = 42, .self_pct = 70, .total_pct = 80},
    {.name = "helper", .file = "/src/mix.c", .line = 10, .self_pct = 20, .total_pct = 20},
};

static struct verdict_thread thread(pid_t tid, double cpu, double runq, double io, double lock,
                                    double idle)
{
    struct verdict_thread t = {.tid = tid, .cpu_s = cpu, .runq_s = runq};
    snprintf(t.name, sizeof t.name, "t%d", (int)tid);
    t.wait_s[WAIT_IO] = io;
    t.wait_s[WAIT_LOCK] = lock;
    t.wait_s[WAIT_IDLE] = idle;
    t.wall_s = cpu + runq + io + lock + idle;
    return t;
}

static void seen(struct verdict_thread *t, enum verdict_wait k, const char *call,
                 const char *target, unsigned readings)
{
    snprintf(t->seen[k].call, sizeof t->seen[k].call, "%s", call);
    snprintf(t->seen[k].target, sizeof t->seen[k].target, "%s", target);
    t->seen[k].readings = readings;
}

static size_t run(const struct verdict_thread *t, size_t n, struct verdict_finding *out)
{
    struct verdict_in in = {.threads = t, .nthreads = n, .hot = hot, .nhot = 2, .span_s = 10};
    return verdict_compute(&in, out, VERDICT_MAX);
}

static void test_wait_kinds(void **state)
{
    (void)state;
    assert_int_equal(verdict_wait_kind(0, 0), WAIT_IO);     /* read */
    assert_int_equal(verdict_wait_kind(74, 0), WAIT_IO);    /* fsync */
    assert_int_equal(verdict_wait_kind(232, 0), WAIT_IDLE); /* epoll_wait */
    assert_int_equal(verdict_wait_kind(43, 0), WAIT_IDLE);  /* accept */
    assert_int_equal(verdict_wait_kind(230, 0), WAIT_IDLE); /* clock_nanosleep */
    /* futex: FUTEX_WAIT|PRIVATE is a mutex, WAIT_BITSET a condition */
    assert_int_equal(verdict_wait_kind(202, 128), WAIT_LOCK);
    assert_int_equal(verdict_wait_kind(202, 0), WAIT_LOCK);
    assert_int_equal(verdict_wait_kind(202, 128 | 9), WAIT_IDLE);
    assert_int_equal(verdict_wait_kind(202, 6), WAIT_LOCK); /* LOCK_PI */
    assert_int_equal(verdict_wait_kind(73, 0), WAIT_LOCK);  /* flock */
    assert_int_equal(verdict_wait_kind(9999, 0), WAIT_OTHER);
    assert_int_equal(verdict_wait_kind(-1, 0), WAIT_OTHER);
}

static void test_cpu_bound(void **state)
{
    (void)state;
    struct verdict_thread t[] = {thread(1, 9.8, 0.2, 0, 0, 0)};
    struct verdict_finding f[VERDICT_MAX];
    assert_int_equal(run(t, 1, f), 1);
    assert_int_equal(f[0].cls, VERDICT_CPU);
    assert_true(f[0].share > 0.97 && f[0].share < 0.99);
    assert_string_equal(f[0].func, "compute_inner");
    assert_string_equal(f[0].file, "/src/mix.c");
    assert_int_equal(f[0].line, 42);
    assert_int_equal(f[0].ntids, 1);
    assert_int_equal(f[0].tids[0], 1);
    assert_non_null(strstr(f[0].evidence, "then helper"));
    assert_string_equal(verdict_class_name(f[0].cls), "CPU");
}

/* Threads that run different code: each one's hottest function, the
 * busiest first; when they run the same, nothing is added. */
static void test_cpu_per_thread(void **state)
{
    (void)state;
    struct verdict_thread t[] = {thread(1, 4.0, 0, 0, 0, 0), thread(2, 9.0, 0, 0, 0, 0),
                                 thread(3, 6.0, 0, 0, 0, 0), thread(4, 1.0, 0, 0, 0, 0)};
    const char *fn[] = {"idle_loop", "parse_rows", "pack_blocks", "tiny"};
    for (int i = 0; i < 4; i++) {
        snprintf(t[i].hot_func, sizeof t[i].hot_func, "%s", fn[i]);
        t[i].hot_pct = 90 + i;
    }
    struct verdict_finding f[VERDICT_MAX];
    assert_true(run(t, 4, f) >= 1);
    assert_int_equal(f[0].cls, VERDICT_CPU);
    assert_non_null(strstr(f[0].evidence, "; per thread: t2-2 parse_rows (91%), t3-3 pack_blocks "
                                          "(92%), t1-1 idle_loop (90%)"));
    assert_null(strstr(f[0].evidence, "tiny")); /* the three busiest only */
    for (int i = 0; i < 4; i++)
        snprintf(t[i].hot_func, sizeof t[i].hot_func, "same");
    run(t, 4, f);
    assert_null(strstr(f[0].evidence, "per thread"));
    t[0].hot_func[0] = t[1].hot_func[0] = t[2].hot_func[0] = t[3].hot_func[0] = '\0';
    run(t, 4, f);
    assert_null(strstr(f[0].evidence, "per thread")); /* stacks not known */
}

/* Blocked 98% of the time in read on a pipe and in fsync: I/O wait, not
 * "the hottest function" of its few on-CPU samples. */
static void test_io_wait(void **state)
{
    (void)state;
    struct verdict_thread t[] = {thread(7, 0.17, 0, 9.83, 0, 0)};
    seen(&t[0], WAIT_IO, "read", "pipe:[4242]", 22);
    struct verdict_thread other = t[0];
    seen(&other, WAIT_IO, "fsync", "/tmp/data.log", 18);
    struct verdict_thread two[] = {t[0], other};
    two[1].tid = 8;
    struct verdict_finding f[VERDICT_MAX];
    size_t n = run(two, 2, f);
    assert_int_equal(n, 1);
    assert_int_equal(f[0].cls, VERDICT_IO);
    assert_true(f[0].share > 0.98);
    assert_string_equal(f[0].func, "read");
    assert_non_null(strstr(f[0].evidence, "read on pipe:[4242]"));
    assert_non_null(strstr(f[0].evidence, "also fsync on /tmp/data.log"));
    assert_int_equal(f[0].nthreads, 2);
}

/* One holder computing, five waiting on its mutex. */
static void test_lock_contention(void **state)
{
    (void)state;
    struct verdict_thread t[6];
    t[0] = thread(100, 9.5, 0.5, 0, 0, 0);
    for (int i = 1; i < 6; i++) {
        t[i] = thread(100 + i, 0.1, 0.1, 0, 9.8, 0);
        seen(&t[i], WAIT_LOCK, "futex", "0x7f0000001000 (big_lock)", 30 + (unsigned)i);
    }
    struct verdict_finding f[VERDICT_MAX];
    size_t n = run(t, 6, f);
    assert_true(n >= 1);
    assert_int_equal(f[0].cls, VERDICT_LOCK);
    assert_true(f[0].share > 0.8);
    assert_non_null(strstr(f[0].evidence, "big_lock"));
    assert_int_equal(f[0].nthreads, 5);
    assert_int_equal(f[0].tids[0], 101); /* equal waits: in thread order */
    for (size_t i = 1; i < n; i++)
        assert_true(f[i].share <= f[i - 1].share);
}

/* Four busy threads on two CPUs: half on a CPU, half waiting for one. */
static void test_starvation_and_cpu(void **state)
{
    (void)state;
    struct verdict_thread t[4];
    for (int i = 0; i < 4; i++)
        t[i] = thread(10 + i, 5, 5, 0, 0, 0);
    struct verdict_finding f[VERDICT_MAX];
    size_t n = run(t, 4, f);
    assert_int_equal(n, 2);
    bool cpu = false, starve = false;
    for (size_t i = 0; i < n; i++) {
        cpu |= f[i].cls == VERDICT_CPU;
        starve |= f[i].cls == VERDICT_STARVATION;
        assert_true(f[i].share > 0.49 && f[i].share < 0.51);
        assert_int_equal(f[i].nthreads, 4);
    }
    assert_true(cpu && starve);
    assert_string_equal(verdict_class_name(VERDICT_STARVATION), "CPU starvation");
}

/* A class is a finding from VERDICT_MIN_SHARE of the working time up. */
static void test_threshold_edges(void **state)
{
    (void)state;
    struct verdict_finding f[VERDICT_MAX];
    struct verdict_thread at[] = {thread(1, 8, 0, 2, 0, 0)}; /* I/O exactly 20% */
    assert_int_equal(run(at, 1, f), 2);
    assert_int_equal(f[0].cls, VERDICT_CPU);
    assert_int_equal(f[1].cls, VERDICT_IO);
    struct verdict_thread under[] = {thread(1, 8.1, 0, 1.9, 0, 0)};
    assert_int_equal(run(under, 1, f), 1);
    assert_int_equal(f[0].cls, VERDICT_CPU);
}

/* Servers waiting for clients are idle, not I/O-bound. */
static void test_idle_by_design(void **state)
{
    (void)state;
    struct verdict_thread t[51];
    for (int i = 0; i < 50; i++) {
        t[i] = thread(200 + i, 0, 0, 0, 0, 10);
        seen(&t[i], WAIT_IDLE, "epoll_wait", "anon_inode:[eventpoll]", 40);
    }
    t[50] = thread(300, 0.5, 0, 0, 0, 9.5); /* 5%: under the working threshold */
    seen(&t[50], WAIT_IDLE, "accept", "socket:[9] tcp 127.0.0.1:8080 listen", 38);
    struct verdict_finding f[VERDICT_MAX];
    assert_int_equal(run(t, 51, f), 1);
    assert_int_equal(f[0].cls, VERDICT_IDLE);
    assert_true(f[0].share > 0.99);
    assert_string_equal(f[0].func, "epoll_wait");
    assert_non_null(strstr(f[0].evidence, "accept on socket:[9]"));
    assert_int_equal(f[0].nthreads, 51);

    /* the same server with one thread busy 15%: judged by that thread,
     * which works 15% of its wall time */
    t[50] = thread(300, 1.5, 0, 0, 0, 8.5);
    assert_int_equal(run(t, 51, f), 1);
    assert_int_equal(f[0].cls, VERDICT_CPU);
    assert_true(f[0].share > 0.99);
    assert_int_equal(f[0].working, 1);
    assert_true(f[0].busy > 0.14 && f[0].busy < 0.16);
    assert_int_equal(f[0].tids[0], 300);
}

/* CPython threads waiting in take_gil: contention, named by what holds
 * the GIL (the hottest Python code); the main thread's join is idle. */
static void test_gil(void **state)
{
    (void)state;
    struct verdict_thread t[3];
    t[0] = thread(1, 0, 0, 0, 0, 10); /* main, in join */
    t[1] = thread(2, 5, 0, 0, 0, 0);
    t[2] = thread(3, 5, 0, 0, 0, 0);
    t[1].wait_s[WAIT_GIL] = t[2].wait_s[WAIT_GIL] = 5;
    t[1].wall_s = t[2].wall_s = 10;
    struct verdict_finding f[VERDICT_MAX];
    size_t n = run(t, 3, f);
    assert_int_equal(n, 2);
    bool gil = false;
    for (size_t i = 0; i < n; i++) {
        assert_true(f[i].share > 0.49 && f[i].share < 0.51);
        if (f[i].cls != VERDICT_GIL)
            continue;
        gil = true;
        assert_string_equal(f[i].func, "compute_inner");
        assert_non_null(strstr(f[i].evidence, "2 threads waiting in take_gil"));
        assert_int_equal(f[i].nthreads, 2);
    }
    assert_true(gil);
    assert_string_equal(verdict_class_name(VERDICT_GIL), "GIL contention");
}

static void test_memory_growth(void **state)
{
    (void)state;
    struct verdict_thread t[] = {thread(1, 9, 0, 1, 0, 0)};
    const struct verdict_func faults[] = {
        {.name = "cache_put", .file = "/src/cache.c", .line = 7, .self_pct = 12}};
    struct verdict_in in = {.threads = t,
                            .nthreads = 1,
                            .hot = hot,
                            .nhot = 2,
                            .faults = faults,
                            .nfaults = 1,
                            .span_s = 10,
                            .rss_first_kib = 10 * 1024,
                            .rss_last_kib = 245 * 1024};
    struct verdict_finding f[VERDICT_MAX];
    size_t n = verdict_compute(&in, f, VERDICT_MAX);
    bool mem = false;
    for (size_t i = 0; i < n; i++) {
        if (f[i].cls != VERDICT_MEMORY)
            continue;
        mem = true;
        assert_string_equal(f[i].func, "cache_put");
        assert_non_null(strstr(f[i].evidence, "23.5 MiB/s"));
        assert_true(f[i].share > 0.11 && f[i].share < 0.13);
    }
    assert_true(mem);
    /* under the growth rate, or under 10% of the first RSS: no finding */
    in.rss_last_kib = in.rss_first_kib + 9 * 1024;
    n = verdict_compute(&in, f, VERDICT_MAX);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(f[i].cls, VERDICT_MEMORY);
    in.rss_first_kib = 4u << 20; /* 4 GiB, + 100 MiB in 10 s */
    in.rss_last_kib = in.rss_first_kib + 100 * 1024;
    n = verdict_compute(&in, f, VERDICT_MAX);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(f[i].cls, VERDICT_MEMORY);
}

static void test_empty_and_bounds(void **state)
{
    (void)state;
    struct verdict_finding f[VERDICT_MAX];
    assert_int_equal(run(NULL, 0, f), 0);
    struct verdict_thread t[] = {thread(1, 3, 3, 3, 3, 0)};
    struct verdict_in in = {.threads = t, .nthreads = 1, .span_s = 10};
    assert_int_equal(verdict_compute(&in, f, 2), 2); /* four classes hold, two asked */
    assert_int_equal(verdict_compute(&in, f, 0), 0);
    assert_int_equal(verdict_compute(&in, f, VERDICT_MAX), 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(f[i].share > 0.24 && f[i].share < 0.26);
    assert_int_equal(f[0].cls, VERDICT_CPU); /* equal shares: in class order */
    assert_string_equal(f[0].func, "");      /* no hot table: CPU names no function */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_kinds),
        cmocka_unit_test(test_cpu_bound),
        cmocka_unit_test(test_cpu_per_thread),
        cmocka_unit_test(test_io_wait),
        cmocka_unit_test(test_lock_contention),
        cmocka_unit_test(test_starvation_and_cpu),
        cmocka_unit_test(test_threshold_edges),
        cmocka_unit_test(test_idle_by_design),
        cmocka_unit_test(test_memory_growth),
        cmocka_unit_test(test_empty_and_bounds),
        cmocka_unit_test(test_gil),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
