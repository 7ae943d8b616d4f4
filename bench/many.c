/*
 * many - the benchmark's many-threads target: T threads (default 200), each
 * busy about 10% of the time (1 ms of thread CPU, then 9 ms asleep), for a
 * fixed number of cycles (default 50: on 2 cores, where 200 such threads
 * want ten times the CPUs there are, about 5 s).  Prints the wall time of the work and, to the
 * file given by --cpu FILE, each thread's "TID CPU_SECONDS" so a benchmark
 * can divide every thread's samples by its own CPU time.
 * Usage: many [--threads T] [--cycles N] [--cpu FILE]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 1000

struct worker {
    pthread_t th;
    pid_t tid;
    double cpu_s;
    long cycles;
};

static volatile uint64_t sink;

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void busy_ms(double ms)
{
    double until = clock_s(CLOCK_THREAD_CPUTIME_ID) + ms / 1000.0;
    uint64_t x = sink;
    while (clock_s(CLOCK_THREAD_CPUTIME_ID) < until)
        for (int i = 0; i < 2000; i++)
            x = x * 6364136223846793005ull + 1;
    sink = x;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    w->tid = (pid_t)syscall(SYS_gettid);
    struct timespec nap = {0, 9000000};
    for (long i = 0; i < w->cycles; i++) {
        busy_ms(1.0);
        nanosleep(&nap, NULL);
    }
    w->cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID);
    return NULL;
}

int main(int argc, char **argv)
{
    int n = 200;
    long cycles = 50;
    const char *cpu_file = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cycles"))
            cycles = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--cpu"))
            cpu_file = argv[i + 1];
    }
    if (n < 1 || n > MAX_THREADS)
        n = 200;
    static struct worker w[MAX_THREADS];
    double t0 = clock_s(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++) {
        w[i].cycles = cycles;
        pthread_create(&w[i].th, NULL, run, &w[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(w[i].th, NULL);
    printf("work_seconds=%.6f\n", clock_s(CLOCK_MONOTONIC) - t0);
    FILE *f = cpu_file ? fopen(cpu_file, "w") : NULL;
    for (int i = 0; f && i < n; i++)
        fprintf(f, "%d %.6f\n", (int)w[i].tid, w[i].cpu_s);
    if (f)
        fclose(f);
    return 0;
}
