/*
 * churn - the benchmark's thread-churn target: creates short threads, each
 * doing ~20 us of work at the bottom of a few frames, about 10,000 a
 * second on an idle core, two at a time, until N have run.  Prints the wall
 * time of the work.
 * Usage: churn [--threads N]   (default 50000)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile uint64_t sink;

__attribute__((noinline)) static void short_work(void)
{
    uint64_t x = sink;
    for (int i = 0; i < 15000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink = x;
}

__attribute__((noinline)) static void middle(void)
{
    short_work();
    __asm__ volatile("" ::: "memory");
}

static void *body(void *arg)
{
    (void)arg;
    middle();
    return NULL;
}

int main(int argc, char **argv)
{
    long n = 50000;
    if (argc > 2 && !strcmp(argv[1], "--threads"))
        n = atol(argv[2]);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i += 2) {
        pthread_t t1, t2;
        pthread_create(&t1, NULL, body, NULL);
        pthread_create(&t2, NULL, body, NULL);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("work_seconds=%.6f\n", (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
