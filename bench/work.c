/*
 * work - the benchmark's CPU-bound target.  Runs a fixed amount of work at
 * the bottom of a ~20-frame call chain and prints how long the work itself
 * took (CLOCK_MONOTONIC), so start-up and attach costs do not count.
 * Usage: work [--rounds N] [--depth D] [--threads T]   (T up to 16)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static volatile uint64_t sink;
static int depth = 18;
static long rounds = 9000;

__attribute__((noinline)) static uint64_t leaf_work(void)
{
    uint64_t x = sink;
    for (int i = 0; i < 250000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

__attribute__((noinline)) static uint64_t descend(int d)
{
    uint64_t r = d > 0 ? descend(d - 1) : leaf_work();
    __asm__ volatile("" ::: "memory");
    return r + (uint64_t)d;
}

static void *run(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++)
        sink += descend(depth);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int threads = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rounds"))
            rounds = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--depth"))
            depth = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
    }
    if (threads < 1 || threads > 16)
        threads = 1;
    pthread_t t[16];
    double t0 = now_s();
    for (int i = 1; i < threads; i++)
        pthread_create(&t[i], NULL, run, NULL);
    run(NULL);
    for (int i = 1; i < threads; i++)
        pthread_join(t[i], NULL);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("work_seconds=%.6f\n", now_s() - t0);
    /* the CPU time all threads used: a sampler's achieved rate is its
     * samples over this */
    printf("cpu_seconds=%.6f\n", (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                                     (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    return 0;
}
