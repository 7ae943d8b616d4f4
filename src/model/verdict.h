/*
 * verdict.h - names the bottleneck: from what each thread did over a
 * window (on a CPU, waiting for one, blocked in which system call) and the
 * on-CPU profile, the findings a performance engineer would write down
 * first: CPU, I/O wait, lock contention, memory growth, CPU starvation, or
 * a process idle by design.  Pure: plain data in, findings out, no I/O.
 *
 * Time is counted in thread-seconds.  A thread blocked in a call that waits
 * for work (epoll_wait, accept, a sleep, a condition variable...) is idle,
 * not slow.  A thread that works (on a CPU, waiting for one, blocked in I/O
 * or on a lock, or blocked elsewhere) for VERDICT_IDLE_ACTIVE of its time
 * is a working thread; the shares are of the working threads' working
 * time, so a server with fifty idle workers and one busy thread is judged
 * by the busy one.  Each finding gives its share, the function
 * responsible, the evidence in words, and the threads.  A class is a
 * finding when it holds VERDICT_MIN_SHARE of the working time (the largest
 * one always); findings are ordered by share.  With no working thread the
 * finding is "idle", with the call the threads wait for work in (after
 * memory growth, if RSS grows meanwhile).
 * Memory growth is not a share of time: it is a finding when RSS grows by
 * VERDICT_GROWTH_KIB_S and VERDICT_GROWTH_FRAC over the window, with the
 * share of on-CPU samples spent in page faults.
 */
#ifndef PERTOP_VERDICT_H
#define PERTOP_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VERDICT_MIN_SHARE    0.20
#define VERDICT_IDLE_ACTIVE  0.10
#define VERDICT_GROWTH_KIB_S 1024.0 /* 1 MiB/s ... */
#define VERDICT_GROWTH_FRAC  0.10   /* ... and 10% of the first RSS */
#define VERDICT_MAX          6
#define VERDICT_TIDS         8

enum verdict_class {
    VERDICT_CPU,
    VERDICT_IO,
    VERDICT_LOCK,
    VERDICT_MEMORY,
    VERDICT_STARVATION,
    VERDICT_GIL,
    VERDICT_IDLE,
    VERDICT_CLASSES
};

/* What blocks a thread, by the system call it is blocked in (WAIT_GIL:
 * by its stack, a CPython thread waiting in take_gil). */
enum verdict_wait { WAIT_IO, WAIT_LOCK, WAIT_IDLE, WAIT_OTHER, WAIT_GIL, WAIT_KINDS };

/* The kind of wait of a blocked system call (x86_64 number, futex op). */
enum verdict_wait verdict_wait_kind(long syscall_nr, uint64_t futex_op);

/* The wait a thread was seen in most of a kind. */
struct verdict_seen {
    char call[32];    /* "read", "futex"... ("" when none seen) */
    char target[256]; /* what its descriptor is, or a lock (name, address, holder); may be "" */
    unsigned readings;
    /* the user function that waits there (its stack's first frame outside
     * the C runtime), "" when its stack was not read */
    char func[128];
    char file[160];
    int line;
};

/* One thread over the window. */
struct verdict_thread {
    pid_t tid;
    char name[16];
    double wall_s;             /* seen for this long */
    double cpu_s;              /* on a CPU */
    double runq_s;             /* runnable, waiting for a CPU */
    double wait_s[WAIT_KINDS]; /* the rest, split by what the readings saw it blocked in */
    struct verdict_seen seen[WAIT_KINDS];
    /* the function whose own code takes most of its on-CPU samples, and
     * that share of them; "" when its stacks are not known */
    char hot_func[128];
    double hot_pct;
};

/* A function of the on-CPU profile. */
struct verdict_func {
    const char *name;
    const char *file; /* NULL when unknown */
    int line;
    double self_pct, total_pct; /* of the on-CPU samples */
};

struct verdict_in {
    const struct verdict_thread *threads;
    size_t nthreads;
    const struct verdict_func *hot; /* by self share, highest first */
    size_t nhot;
    /* the user functions under page faults, by share of on-CPU samples */
    const struct verdict_func *faults;
    size_t nfaults;
    double span_s;
    uint64_t rss_first_kib, rss_last_kib;
};

struct verdict_finding {
    enum verdict_class cls;
    double share; /* of the working time (memory growth: of on-CPU samples in faults) */
    char func[256];
    char file[256]; /* "" when unknown */
    int line;
    char evidence[384]; /* in words, for one line */
    pid_t tids[VERDICT_TIDS];
    unsigned ntids;    /* kept in tids */
    unsigned nthreads; /* threads behind it in all */
    /* the working threads (those active VERDICT_IDLE_ACTIVE of their time;
     * the shares are of their working time), and how much of their wall
     * time they work: a server at 15% of one thread is CPU-bound when it
     * works, and idle 85% of the time */
    unsigned working;
    double busy;
};

/* "CPU", "I/O wait", "Lock contention", "Memory growth", "CPU starvation",
 * "GIL contention", "Idle". */
const char *verdict_class_name(enum verdict_class c);

/* Fills out (up to max) and returns how many findings; 0 when the window
 * holds no thread time. */
size_t verdict_compute(const struct verdict_in *in, struct verdict_finding *out, size_t max);

#endif
