/*
 * test_ptsampler.c - the ptrace engine against real processes.
 *
 * Most targets are forks of this test binary: busy threads that count their
 * progress in shared memory, count the SIGUSR1s they receive, and start new
 * threads, exec or exit when asked.  The cpu_mix fixture is used too when
 * FIXTURE_DIR is known.  Every ptsampler call is made from the main thread,
 * the one that attached (ptrace's rule).
 *
 * PERTOP_PTS_BENCH=1 adds the stop-time benchmark at 99 Hz and 999 Hz.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sampler/capqueue.h"
#include "sampler/proc/procfs.h"
#include "sampler/ptrace/ptsampler.h"

#define MAX_WORKERS 16
#define STACK_SIZE  CAPTURE_STACK_DEFAULT
#define MS          1000000ull

/* ------------------------------------------------------------ targets */

struct shm {
    _Atomic uint64_t progress[MAX_WORKERS]; /* [0]: main thread */
    _Atomic pid_t tids[MAX_WORKERS];
    _Atomic int started;
    _Atomic int spawn_req; /* threads wanted beyond those started at birth */
    _Atomic int usr1;
    _Atomic int exec_req; /* a worker execs this binary with --exec-target */
    _Atomic int exit_req; /* main exits with this status */
    _Atomic int churn;    /* main keeps creating short-lived threads */
    _Atomic uint64_t churned;
};

static struct shm *shm; /* the current target's; each target gets its own */
static const char *self_exe = "/proc/self/exe";

/* What a failed assertion leaves behind, cleaned up by the teardown. */
static pid_t spawned[16];
static int nspawned;
static struct ptsampler *live;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static __attribute__((noinline)) void spin(_Atomic uint64_t *counter)
{
    volatile uint64_t x = 1;
    for (int i = 0; i < 20000; i++)
        x = x * 6364136223846793005ull + 1;
    atomic_fetch_add(counter, 1);
}

static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&shm->usr1, 1);
}

static void *worker(void *arg)
{
    int idx = (int)(intptr_t)arg;
    char name[16];
    snprintf(name, sizeof name, "busy-%d", idx);
    prctl(PR_SET_NAME, name, 0, 0, 0);
    atomic_store(&shm->tids[idx], (pid_t)syscall(SYS_gettid));
    atomic_fetch_add(&shm->started, 1);
    for (;;) {
        spin(&shm->progress[idx]);
        if (idx == 1 && atomic_load(&shm->exec_req)) {
            char *argv[] = {(char *)"pts-execd", (char *)"--exec-target", NULL};
            execv(self_exe, argv);
            _exit(126);
        }
    }
    return NULL;
}

static void *short_life(void *arg)
{
    (void)arg;
    volatile uint64_t x = 1;
    for (int i = 0; i < 1000; i++)
        x = x * 3 + 1;
    return NULL;
}

static void churn_once(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, short_life, NULL) == 0) {
        pthread_join(th, NULL);
        atomic_fetch_add(&shm->churned, 1);
    }
}

static void start_worker(int idx)
{
    pthread_t th;
    if (pthread_create(&th, NULL, worker, (void *)(intptr_t)idx) != 0)
        _exit(125);
}

static __attribute__((noreturn)) void target_main(int extra)
{
    setpriority(PRIO_PROCESS, 0, 0); /* the tracer keeps its lead (see main) */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &sa, NULL);
    prctl(PR_SET_NAME, "pts-target", 0, 0, 0);
    atomic_store(&shm->tids[0], getpid());
    atomic_fetch_add(&shm->started, 1);
    int next = 1;
    for (; next <= extra; next++)
        start_worker(next);
    for (;;) {
        spin(&shm->progress[0]);
        if (next <= extra + atomic_load(&shm->spawn_req) && next < MAX_WORKERS)
            start_worker(next++);
        if (atomic_load(&shm->churn))
            churn_once();
        int code = atomic_load(&shm->exit_req);
        if (code)
            _exit(code); /* exit_group, without atexit hooks (sanitizers) */
    }
}

/* A busy child with `extra` threads besides main, all running when this
 * returns. */
static void remember_child(pid_t pid)
{
    if (nspawned < (int)(sizeof spawned / sizeof spawned[0]))
        spawned[nspawned++] = pid;
}

static pid_t spawn_target(int extra)
{
    shm = mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shm != MAP_FAILED);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        target_main(extra);
    remember_child(pid);
    uint64_t end = mono_ns() + 5000 * MS;
    while (atomic_load(&shm->started) < 1 + extra && mono_ns() < end)
        sleep_ms(1);
    assert_int_equal(atomic_load(&shm->started), 1 + extra);
    return pid;
}

static void kill_target(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0); /* may already be reaped by the sampler */
}

static char task_state(pid_t pid, pid_t tid)
{
    struct proc_stat st;
    return procfs_read_stat(pid, tid, &st) == 0 ? st.state : '?';
}

/* true when no thread of pid is stopped (T) or traced-stopped (t). */
static bool no_thread_stopped(pid_t pid)
{
    pid_t tids[64];
    int n = procfs_list_tasks(pid, tids, 64);
    if (n <= 0)
        return false;
    for (int i = 0; i < n; i++) {
        char c = task_state(pid, tids[i]);
        if (c == 't' || c == 'T')
            return false;
    }
    return true;
}

static bool no_thread_traced(pid_t pid)
{
    pid_t tids[64];
    int n = procfs_list_tasks(pid, tids, 64);
    for (int i = 0; i < n; i++)
        if (procfs_tracer_pid(tids[i]) > 0)
            return false;
    return n > 0;
}

/* What each thread of pid is doing, for a failure message. */
static void dump_threads(pid_t pid)
{
    pid_t tids[64];
    int n = procfs_list_tasks(pid, tids, 64);
    for (int i = 0; i < n; i++) {
        char path[64], wchan[64] = "";
        snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", (int)pid, (int)tids[i]);
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(wchan, sizeof wchan, f))
                wchan[0] = '\0';
            fclose(f);
        }
        print_message("  thread %d: state %c, tracer %d, wchan %s\n", (int)tids[i],
                      task_state(pid, tids[i]), procfs_tracer_pid(tids[i]), wchan);
    }
}

static bool all_threads_in_state(pid_t pid, const char *states)
{
    pid_t tids[64];
    int n = procfs_list_tasks(pid, tids, 64);
    if (n <= 0)
        return false;
    for (int i = 0; i < n; i++)
        if (!strchr(states, task_state(pid, tids[i])))
            return false;
    return true;
}

/* Snapshot of progress counters, to tell whether threads run. */
static void progress_snapshot(uint64_t *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = atomic_load(&shm->progress[i]);
}

static int threads_progressing(const uint64_t *before, int n)
{
    int moving = 0;
    for (int i = 0; i < n; i++)
        moving += atomic_load(&shm->progress[i]) > before[i];
    return moving;
}

/* true when all n threads move within a second (a loaded machine may leave
 * a runnable thread without a CPU for a while, but not that long). */
static bool all_progress(int n)
{
    uint64_t before[MAX_WORKERS];
    progress_snapshot(before, n);
    for (int i = 0; i < 100 && threads_progressing(before, n) < n; i++)
        sleep_ms(10);
    return threads_progressing(before, n) == n;
}

/* -------------------------------------------------------- sampling */

struct rec {
    pid_t tid;
    char state;
    char comm[16];
    uint32_t flags;
    uint64_t rip, rsp, stack_addr, stop_ns;
    uint32_t stack_len;
};

struct recs {
    struct rec *v;
    size_t n, cap;
};

static void recs_free(struct recs *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}

static void drain_queue(struct capqueue *q, struct recs *r)
{
    struct capture *c;
    while ((c = capqueue_take(q, 0)) != NULL) {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 256;
            r->v = realloc(r->v, r->cap * sizeof *r->v);
            assert_non_null(r->v);
        }
        struct rec *e = &r->v[r->n++];
        *e = (struct rec){.tid = c->tid,
                          .state = c->state,
                          .flags = c->flags,
                          .rip = c->regs.rip,
                          .rsp = c->regs.rsp,
                          .stack_addr = c->stack_addr,
                          .stop_ns = c->stop_ns,
                          .stack_len = c->stack_len};
        memcpy(e->comm, c->comm, sizeof e->comm);
        capqueue_release(q);
    }
}

/* Rounds at hz, handling events between them; hook (may be NULL) runs
 * before each round.  Returns the last wait state. */
static enum ptsampler_state run_rounds(struct ptsampler *s, struct capqueue *q, int rounds, int hz,
                                       struct recs *out, void (*hook)(int round, void *), void *arg)
{
    uint64_t period = 1000000000ull / (uint64_t)hz, next = mono_ns();
    enum ptsampler_state st = PTS_RUNNING;
    for (int i = 0; i < rounds && st == PTS_RUNNING; i++) {
        if (hook)
            hook(i, arg);
        ptsampler_sample(s, q);
        if (out)
            drain_queue(q, out);
        else
            while (capqueue_take(q, 0))
                capqueue_release(q);
        next += period;
        st = ptsampler_wait(s, next);
    }
    return st;
}

static void wait_events(struct ptsampler *s, int ms)
{
    ptsampler_wait(s, mono_ns() + (uint64_t)ms * MS);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct pct {
    uint64_t p25, median, p99, max;
};

static struct pct stop_percentiles(const struct recs *r)
{
    struct pct p = {0, 0, 0, 0};
    if (!r->n)
        return p;
    uint64_t *v = malloc(r->n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < r->n; i++)
        v[i] = r->v[i].stop_ns;
    qsort(v, r->n, sizeof *v, cmp_u64);
    p.p25 = v[r->n / 4];
    p.median = v[r->n / 2];
    p.p99 = v[(r->n * 99) / 100 < r->n ? (r->n * 99) / 100 : r->n - 1];
    p.max = v[r->n - 1];
    free(v);
    return p;
}

static size_t count_tid(const struct recs *r, pid_t tid)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->v[i].tid == tid;
    return n;
}

static void detach(struct ptsampler *s)
{
    live = NULL;
    ptsampler_detach(s);
}

static struct ptsampler *attach_ok(pid_t pid, bool idle)
{
    struct ptsampler_config cfg = {.pid = pid, .stack_size = STACK_SIZE, .idle = idle};
    struct ptsampler *s = NULL;
    char err[512] = "";
    int rc = ptsampler_attach(&s, &cfg, err, sizeof err);
    if (rc != 0)
        fail_msg("attach to %d failed (%d): %s", (int)pid, rc, err);
    assert_non_null(s);
    live = s;
    return s;
}

static int attach_err(pid_t pid, char *err, size_t errsz)
{
    struct ptsampler_config cfg = {.pid = pid, .stack_size = STACK_SIZE};
    struct ptsampler *s = NULL;
    err[0] = '\0';
    int rc = ptsampler_attach(&s, &cfg, err, errsz);
    assert_null(s);
    assert_true(rc < 0);
    assert_true(strncmp(err, "pertop: ", 8) == 0);
    return rc;
}

/* Every capture must look like one of a busy thread. */
static void assert_sane_captures(const struct recs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct rec *e = &r->v[i];
        assert_int_equal(e->state, 'R');
        assert_true(e->flags & CAPTURE_ONCPU);
        assert_true(e->rip != 0);
        assert_true(e->stack_len > 0);
        assert_true(e->stack_len <= STACK_SIZE);
        assert_true(e->stack_addr == e->rsp);
    }
}

/* Stops must be short, but INTERRUPT -> CONT also holds the time a runnable
 * thread waits for a CPU before it can reach its stop: with more busy
 * threads than cores (3 on this 2-core machine), or other CPU hogs around,
 * that is a scheduler slice or two, which no engine can avoid; and on a
 * loaded machine the tracer itself waits for a CPU too.  The bounds here are
 * the ones that sleeping or blocking in the engine would break even on a
 * busy machine; the figures are printed. */
static void assert_stop_times(struct ptsampler *s, const struct recs *r, const char *what)
{
    struct ptsampler_stats st;
    ptsampler_get_stats(s, &st);
    print_message("%s: %llu rounds, %llu samples, %llu not running, %llu failed; "
                  "engine hold mean %.1f us, max %.1f us\n",
                  what, (unsigned long long)st.rounds, (unsigned long long)st.samples,
                  (unsigned long long)st.skipped_idle, (unsigned long long)st.failed,
                  st.samples ? st.hold_ns_total / 1e3 / (double)st.samples : 0.0,
                  st.hold_ns_max / 1e3);
    assert_true(st.samples > 0);
    assert_true(st.hold_ns_total / st.samples < 2 * MS);
    assert_true(st.hold_ns_max < 100 * MS);
    size_t over = 0;
    for (size_t i = 0; i < r->n; i++)
        over += r->v[i].stop_ns >= 5 * MS;
    struct pct p = stop_percentiles(r);
    print_message("%s: %zu captures, stop median %.1f us, p99 %.1f us, max %.1f us, %zu >= 5 ms\n",
                  what, r->n, p.median / 1e3, p.p99 / 1e3, p.max / 1e3, over);
    assert_true(r->n > 0);
    assert_true(p.median < 20 * MS);
    assert_true(p.max < 100 * MS);
}

static bool all_threads_captured(const struct recs *r, int n)
{
    for (int i = 0; i < n; i++)
        if (count_tid(r, atomic_load(&shm->tids[i])) == 0)
            return false;
    return true;
}

/* ------------------------------------------------------------- tests */

static void test_samples_every_thread_and_new_ones(void **state)
{
    (void)state;
    pid_t pid = spawn_target(2);
    struct ptsampler *s = attach_ok(pid, false);
    struct capqueue *q = capqueue_new(256, STACK_SIZE);
    struct ptsampler_stats st;
    ptsampler_get_stats(s, &st);
    assert_int_equal(st.threads, 3);

    struct recs r = {0};
    assert_int_equal(run_rounds(s, q, 50, 100, &r, NULL, NULL), PTS_RUNNING);
    assert_sane_captures(&r);
    assert_stop_times(s, &r, "3 busy threads, 50 rounds at 100 Hz");
    assert_true(r.n >= 50);
    /* Every thread is captured.  A thread that waits for a CPU longer than
     * the 10 ms give-up in every round is possible on a loaded machine, so
     * a few more rounds are allowed before this fails. */
    for (int more = 0; more < 250 && !all_threads_captured(&r, 3); more += 10)
        run_rounds(s, q, 10, 100, &r, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        pid_t tid = atomic_load(&shm->tids[i]);
        if (count_tid(&r, tid) == 0)
            fail_msg("no capture of thread %d", (int)tid);
    }
    ptsampler_get_stats(s, &st);
    uint64_t rounds = st.rounds;

    /* A thread created after attach is followed and runs. */
    atomic_store(&shm->spawn_req, 1);
    uint64_t end = mono_ns() + 3000 * MS;
    while (atomic_load(&shm->started) < 4 && mono_ns() < end)
        wait_events(s, 5);
    assert_int_equal(atomic_load(&shm->started), 4);
    pid_t newtid = atomic_load(&shm->tids[3]);
    recs_free(&r);
    assert_int_equal(run_rounds(s, q, 30, 100, &r, NULL, NULL), PTS_RUNNING);
    assert_sane_captures(&r);
    assert_true(count_tid(&r, newtid) > 0);
    assert_stop_times(s, &r, "4 busy threads, 30 rounds at 100 Hz");
    ptsampler_get_stats(s, &st);
    assert_int_equal(st.threads, 4);
    assert_int_equal(st.threads_seen, 4);
    assert_int_equal(st.rounds, rounds + 30);
    assert_true(st.samples >= r.n);
    assert_int_equal(st.lost, 0);

    /* Detach leaves every thread running and untraced. */
    detach(s);
    assert_int_equal(procfs_tracer_pid(pid), 0);
    sleep_ms(20);
    assert_true(no_thread_stopped(pid));
    assert_true(all_progress(4));

    recs_free(&r);
    capqueue_free(q);
    kill_target(pid);
}

#ifdef FIXTURE_DIR
/* Starts a fixture with its stdout on a pipe and waits for "ready PID". */
static pid_t spawn_fixture(const char *path, char *const argv[])
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        setpriority(PRIO_PROCESS, 0, 0);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(path, argv);
        _exit(127);
    }
    remember_child(pid);
    close(fds[1]);
    char line[64] = "";
    ssize_t n = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    assert_true(n > 0);
    int ready = 0;
    assert_int_equal(sscanf(line, "ready %d", &ready), 1);
    assert_int_equal(ready, pid);
    return pid;
}

#endif

static void test_cpu_mix_fixture(void **state)
{
    (void)state;
#ifndef FIXTURE_DIR
    skip();
#else
    const char *path = FIXTURE_DIR "/cpu_mix";
    if (access(path, X_OK) != 0)
        skip();
    char *argv[] = {(char *)path,        (char *)"--threads", (char *)"2",
                    (char *)"--seconds", (char *)"30",        NULL};
    pid_t pid = spawn_fixture(path, argv);
    sleep_ms(50); /* let the workers name themselves */
    struct ptsampler *s = attach_ok(pid, false);
    struct capqueue *q = capqueue_new(256, STACK_SIZE);
    struct recs r = {0};
    assert_int_equal(run_rounds(s, q, 50, 100, &r, NULL, NULL), PTS_RUNNING);
    assert_sane_captures(&r);
    size_t main_n = 0, w1 = 0, w2 = 0;
    for (size_t i = 0; i < r.n; i++) {
        main_n += r.v[i].tid == pid && !strcmp(r.v[i].comm, "cpu_mix");
        w1 += !strcmp(r.v[i].comm, "mixworker-1");
        w2 += !strcmp(r.v[i].comm, "mixworker-2");
    }
    assert_true(main_n > 0 && w1 > 0 && w2 > 0);
    assert_stop_times(s, &r, "cpu_mix --threads 2, 50 rounds at 100 Hz");
    detach(s);
    sleep_ms(100);
    assert_true(no_thread_stopped(pid));
    assert_true(all_threads_in_state(pid, "R"));
    recs_free(&r);
    capqueue_free(q);
    kill_target(pid);
#endif
}

static void test_idle_threads_skipped_or_sampled(void **state)
{
    (void)state;
    /* A child blocked in pause(): S, never R. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        for (;;)
            pause();
    }
    remember_child(pid);
    uint64_t end = mono_ns() + 2000 * MS;
    while (task_state(pid, 0) != 'S' && mono_ns() < end)
        sleep_ms(1); /* until it sits in pause() */
    struct ptsampler *s = attach_ok(pid, false);
    struct capqueue *q = capqueue_new(64, STACK_SIZE);
    struct recs r = {0};
    run_rounds(s, q, 10, 200, &r, NULL, NULL);
    assert_int_equal(r.n, 0);
    struct ptsampler_stats st;
    ptsampler_get_stats(s, &st);
    assert_int_equal(st.skipped_idle, 10);
    detach(s);
    end = mono_ns() + 2000 * MS;
    while (task_state(pid, 0) != 'S' && mono_ns() < end)
        sleep_ms(1); /* back into pause() after the detach stop */

    s = attach_ok(pid, true); /* idle: sleeping threads are sampled too */
    run_rounds(s, q, 10, 50, &r, NULL, NULL);
    assert_int_equal(r.n, 10);
    size_t sleeping = 0;
    for (size_t i = 0; i < r.n; i++) {
        /* R is possible: woken by the previous stop, it may still be on
         * its way back into pause() on a busy machine. */
        assert_true(r.v[i].state == 'S' || r.v[i].state == 'R');
        sleeping += r.v[i].state == 'S';
        assert_int_equal(!!(r.v[i].flags & CAPTURE_ONCPU), r.v[i].state == 'R');
        assert_true(r.v[i].rip != 0 && r.v[i].stack_len > 0);
    }
    assert_true(sleeping > 0);
    detach(s);
    sleep_ms(20);
    assert_int_equal(task_state(pid, pid), 'S');
    recs_free(&r);
    capqueue_free(q);
    kill_target(pid);
}

static void test_full_queue_counts_lost_without_stopping(void **state)
{
    (void)state;
    pid_t pid = spawn_target(1);
    struct ptsampler *s = attach_ok(pid, false);
    struct capqueue *q = capqueue_new(1, STACK_SIZE);
    assert_non_null(capqueue_reserve(q));
    capqueue_commit(q); /* the one slot is taken */
    for (int i = 0; i < 10; i++) {
        ptsampler_sample(s, q);
        wait_events(s, 2);
    }
    struct ptsampler_stats st;
    ptsampler_get_stats(s, &st);
    assert_int_equal(st.samples, 0);
    assert_true(st.lost >= 10);
    assert_int_equal(st.stop_ns_total, 0); /* nobody was stopped */
    detach(s);
    capqueue_free(q);
    kill_target(pid);
}

static void test_error_no_such_process(void **state)
{
    (void)state;
    char err[512];
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    int pid_max = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &pid_max), 1);
    fclose(f);
    /* pids are below pid_max: this one cannot exist. */
    assert_int_equal(attach_err(pid_max, err, sizeof err), -PTS_ENOPROC);
    char want[128];
    snprintf(want, sizeof want, "pertop: no process with PID %d — check the PID with ps or pgrep",
             pid_max);
    assert_string_equal(err, want);
    assert_int_equal(attach_err(0, err, sizeof err), -PTS_ENOPROC);
    assert_int_equal(attach_err(-1, err, sizeof err), -PTS_ENOPROC);
}

static void test_error_kernel_thread(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(attach_err(2, err, sizeof err), -PTS_EKTHREAD);
    assert_non_null(strstr(err, "kthreadd"));
    assert_non_null(strstr(err, "kernel thread"));
}

static void test_error_zombie(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    uint64_t end = mono_ns() + 2000 * MS;
    while (task_state(pid, 0) != 'Z' && mono_ns() < end)
        sleep_ms(1);
    assert_int_equal(task_state(pid, 0), 'Z');
    char err[512];
    assert_int_equal(attach_err(pid, err, sizeof err), -PTS_EZOMBIE);
    assert_non_null(strstr(err, "zombie"));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid); /* still ours to reap */
}

static void test_error_already_traced(void **state)
{
    (void)state;
    pid_t pid = spawn_target(1);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t gdb = fork();
    assert_true(gdb >= 0);
    if (gdb == 0) {
        prctl(PR_SET_NAME, "fakegdb", 0, 0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        char ok = ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0 ? 'y' : 'n';
        if (write(fds[1], &ok, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    remember_child(gdb);
    char ok = 0;
    assert_int_equal(read(fds[0], &ok, 1), 1);
    assert_int_equal(ok, 'y');
    close(fds[0]);
    close(fds[1]);

    char err[512], want[128];
    assert_int_equal(attach_err(pid, err, sizeof err), -PTS_ETRACED);
    snprintf(want, sizeof want, "already traced by fakegdb (PID %d) — detach the debugger first",
             (int)gdb);
    if (!strstr(err, want))
        fail_msg("message \"%s\" lacks \"%s\"", err, want);
    assert_int_equal(procfs_tracer_pid(pid), gdb); /* untouched */

    kill(gdb, SIGKILL);
    waitpid(gdb, NULL, 0);
    sleep_ms(20);
    assert_true(no_thread_stopped(pid));
    kill_target(pid);
}

static void test_error_permission(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* needs root to drop to an unprivileged user */
    pid_t pid = spawn_target(0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        char err[512] = "";
        int rc = -1;
        if (setgid(65534) == 0 && setuid(65534) == 0) {
            struct ptsampler_config cfg = {.pid = pid, .stack_size = STACK_SIZE};
            struct ptsampler *s = NULL;
            rc = ptsampler_attach(&s, &cfg, err, sizeof err);
        }
        if (write(fds[1], &rc, sizeof rc) < 0 || write(fds[1], err, sizeof err) < 0)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    int rc = 0;
    char err[512] = "";
    assert_int_equal(read(fds[0], &rc, sizeof rc), sizeof rc);
    assert_int_equal(read(fds[0], err, sizeof err), sizeof err);
    close(fds[0]);
    waitpid(child, NULL, 0);
    assert_int_equal(rc, -PTS_EPERM);
    assert_non_null(strstr(err, "Operation not permitted"));
    assert_non_null(strstr(err, "root"));
    assert_true(no_thread_stopped(pid));
    assert_int_equal(procfs_tracer_pid(pid), 0);
    kill_target(pid);
}

struct signal_plan {
    pid_t pid;
    int sent;
};

static void send_usr1_every_5(int round, void *arg)
{
    struct signal_plan *p = arg;
    if (round % 5 == 0) {
        kill(p->pid, SIGUSR1);
        p->sent++;
    }
}

static void test_signals_reach_the_target(void **state)
{
    (void)state;
    pid_t pid = spawn_target(2);
    struct ptsampler *s = attach_ok(pid, false);
    struct capqueue *q = capqueue_new(256, STACK_SIZE);

    /* One at a time, measuring how long each takes to be handled. */
    uint64_t worst = 0;
    for (int i = 1; i <= 10; i++) {
        ptsampler_sample(s, q);
        while (capqueue_take(q, 0))
            capqueue_release(q);
        uint64_t t0 = mono_ns();
        kill(pid, SIGUSR1);
        while (atomic_load(&shm->usr1) < i && mono_ns() - t0 < 2000 * MS)
            ptsampler_wait(s, mono_ns() + 1 * MS);
        assert_int_equal(atomic_load(&shm->usr1), i);
        if (mono_ns() - t0 > worst)
            worst = mono_ns() - t0;
    }
    print_message("SIGUSR1 handled by the target within %.2f ms (worst of 10)\n", worst / 1e6);
    assert_true(worst < 100 * MS);

    /* And while sampling at 100 Hz. */
    struct signal_plan plan = {pid, 0};
    struct recs r = {0};
    assert_int_equal(run_rounds(s, q, 50, 100, &r, send_usr1_every_5, &plan), PTS_RUNNING);
    wait_events(s, 50);
    assert_int_equal(atomic_load(&shm->usr1), 10 + plan.sent);
    assert_true(r.n > 0);
    detach(s);
    assert_true(no_thread_stopped(pid));
    kill(pid, SIGUSR1); /* and after detach, the handler still runs */
    uint64_t end = mono_ns() + 1000 * MS;
    while (atomic_load(&shm->usr1) < 11 + plan.sent && mono_ns() < end)
        sleep_ms(1);
    assert_int_equal(atomic_load(&shm->usr1), 11 + plan.sent);
    recs_free(&r);
    capqueue_free(q);
    kill_target(pid);
}

static bool progress_frozen(int n, int ms)
{
    uint64_t before[MAX_WORKERS];
    progress_snapshot(before, n);
    sleep_ms(ms);
    return threads_progressing(before, n) == 0;
}

static void test_stopped_target_stays_stopped(void **state)
{
    (void)state;
    pid_t pid = spawn_target(1);
    struct ptsampler *s = attach_ok(pid, false);
    struct capqueue *q = capqueue_new(256, STACK_SIZE);
    struct recs r = {0};
    run_rounds(s, q, 5, 100, &r, NULL, NULL);
    assert_true(r.n > 0);

    kill(pid, SIGSTOP);
    wait_events(s, 50);
    recs_free(&r);
    assert_int_equal(run_rounds(s, q, 20, 100, &r, NULL, NULL), PTS_RUNNING);
    assert_int_equal(r.n, 0); /* nothing runs, nothing is sampled */
    assert_true(all_threads_in_state(pid, "tT"));
    assert_true(progress_frozen(2, 100));

    /* SIGCONT while attached: it runs and is sampled again. */
    kill(pid, SIGCONT);
    wait_events(s, 20);
    assert_int_equal(run_rounds(s, q, 20, 100, &r, NULL, NULL), PTS_RUNNING);
    assert_true(r.n > 0);
    assert_sane_captures(&r);
    assert_stop_times(s, &r, "after SIGCONT");
    assert_true(no_thread_stopped(pid));

    /* Stopped again, then detached: still stopped. */
    kill(pid, SIGSTOP);
    wait_events(s, 50);
    run_rounds(s, q, 5, 100, NULL, NULL, NULL);
    detach(s);
    sleep_ms(50);
    assert_int_equal(procfs_tracer_pid(pid), 0);
    assert_true(all_threads_in_state(pid, "T"));
    assert_true(progress_frozen(2, 100));
    kill(pid, SIGCONT);
    sleep_ms(50);
    assert_true(no_thread_stopped(pid));
    assert_true(all_progress(2));
    recs_free(&r);
    capqueue_free(q);
    kill_target(pid);
}

static void test_attach_to_stopped_target(void **state)
{
    (void)state;
    pid_t pid = spawn_target(1);
    kill(pid, SIGSTOP);
    uint64_t end = mono_ns() + 2000 * MS;
    while (!all_threads_in_state(pid, "T") && mono_ns() < end)
        sleep_ms(1);
    assert_true(all_threads_in_state(pid, "T"));
    struct ptsampler *s = attach_ok(pid, false);
    struct capqueue *q = capqueue_new(64, STACK_SIZE);
    struct recs r = {0};
    wait_events(s, 20);
    assert_int_equal(run_rounds(s, q, 20, 100, &r, NULL, NULL), PTS_RUNNING);
    assert_int_equal(r.n, 0);
    assert_true(progress_frozen(2, 100));
    detach(s);
    sleep_ms(20);
    assert_true(all_threads_in_state(pid, "T"));
    assert_int_equal(procfs_tracer_pid(pid), 0);
    assert_true(progress_frozen(2, 50));
    kill(pid, SIGCONT);
    sleep_ms(20);
    assert_true(no_thread_stopped(pid));
    assert_true(all_progress(2));
    capqueue_free(q);
    kill_target(pid);
}

/* Threads born and dying all the time, during attach and sampling. */
static void test_thread_churn(void **state)
{
    (void)state;
    pid_t pid = spawn_target(1);
    atomic_store(&shm->churn, 1);
    while (atomic_load(&shm->churned) < 100)
        sleep_ms(1);
    struct capqueue *q = capqueue_new(256, STACK_SIZE);
    for (int i = 0; i < 5; i++) {
        struct ptsampler *s = attach_ok(pid, false);
        uint64_t churned = atomic_load(&shm->churned);
        struct recs r = {0};
        assert_int_equal(run_rounds(s, q, 30, 200, &r, NULL, NULL), PTS_RUNNING);
        /* A newborn thread can wait long for a CPU on a loaded machine. */
        for (int more = 0; more < 200 && atomic_load(&shm->churned) <= churned + 2; more += 10)
            run_rounds(s, q, 10, 200, &r, NULL, NULL);
        struct ptsampler_stats st;
        ptsampler_get_stats(s, &st);
        print_message("churn: %llu threads born in %llu rounds; seen %u, failed %llu\n",
                      (unsigned long long)(atomic_load(&shm->churned) - churned),
                      (unsigned long long)st.rounds, st.threads_seen,
                      (unsigned long long)st.failed);
        if (atomic_load(&shm->churned) <= churned + 2)
            dump_threads(pid);
        assert_true(atomic_load(&shm->churned) > churned + 2); /* new threads were let run */
        assert_true(st.threads_seen > 4);
        assert_true(st.threads >= 2 && st.threads <= 3);
        assert_true(count_tid(&r, atomic_load(&shm->tids[1])) > 0);
        detach(s);
        recs_free(&r);
        sleep_ms(20);
        assert_true(no_thread_stopped(pid));
        assert_int_equal(procfs_tracer_pid(pid), 0);
        assert_int_equal(procfs_tracer_pid(atomic_load(&shm->tids[1])), 0);
        churned = atomic_load(&shm->churned); /* still churning, untraced */
        for (int w = 0; w < 100 && atomic_load(&shm->churned) <= churned + 5; w++)
            sleep_ms(10);
        assert_true(atomic_load(&shm->churned) > churned + 5);
        assert_true(no_thread_traced(pid));
    }
    capqueue_free(q);
    kill_target(pid);
}

/* A tracer process that samples at ~1 kHz until killed. */
static __attribute__((noreturn)) void tracer_main(pid_t pid, int ready_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    struct ptsampler_config cfg = {.pid = pid, .stack_size = STACK_SIZE};
    struct ptsampler *s = NULL;
    char err[512];
    if (ptsampler_attach(&s, &cfg, err, sizeof err) < 0)
        _exit(2);
    struct capqueue *q = capqueue_new(64, STACK_SIZE);
    for (uint64_t i = 0;; i++) {
        ptsampler_sample(s, q);
        while (capqueue_take(q, 0))
            capqueue_release(q);
        ptsampler_wait(s, mono_ns() + 1 * MS);
        if (i == 20 && write(ready_fd, "r", 1) != 1)
            _exit(3);
    }
}

static void test_killed_tracer_leaves_target_running(void **state)
{
    (void)state;
    pid_t pid = spawn_target(2);
    for (int round = 0; round < 5; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t tracer = fork();
        assert_true(tracer >= 0);
        if (tracer == 0)
            tracer_main(pid, fds[1]);
        remember_child(tracer);
        close(fds[1]);
        char c;
        assert_int_equal(read(fds[0], &c, 1), 1);
        close(fds[0]);
        sleep_ms(20 + round * 17); /* land the kill at varying points */
        kill(tracer, SIGKILL);
        int status;
        assert_int_equal(waitpid(tracer, &status, 0), tracer);
        assert_true(WIFSIGNALED(status));
        sleep_ms(50);
        assert_true(no_thread_traced(pid));
        assert_true(no_thread_stopped(pid));
        assert_true(all_progress(3));
    }
    kill_target(pid);
}

static void test_foreign_children_are_not_reaped(void **state)
{
    (void)state;
    pid_t pid = spawn_target(1);
    struct ptsampler *s = attach_ok(pid, false);
    struct capqueue *q = capqueue_new(64, STACK_SIZE);
    pid_t other = fork();
    assert_true(other >= 0);
    if (other == 0)
        _exit(7);
    struct recs r = {0};
    assert_int_equal(run_rounds(s, q, 20, 100, &r, NULL, NULL), PTS_RUNNING);
    assert_true(r.n > 0); /* the zombie at the head of the line blocks nothing */
    kill(pid, SIGUSR1);
    wait_events(s, 50);
    assert_int_equal(atomic_load(&shm->usr1), 1);
    int status = 0;
    assert_int_equal(waitpid(other, &status, WNOHANG), other);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
    detach(s);
    recs_free(&r);
    capqueue_free(q);
    kill_target(pid);
}

static void test_exit_is_reported(void **state)
{
    (void)state;
    pid_t pid = spawn_target(2);
    struct ptsampler *s = attach_ok(pid, false);
    struct capqueue *q = capqueue_new(64, STACK_SIZE);
    run_rounds(s, q, 5, 100, NULL, NULL, NULL);
    atomic_store(&shm->exit_req, 42);
    enum ptsampler_state st = run_rounds(s, q, 300, 100, NULL, NULL, NULL);
    assert_int_equal(st, PTS_EXITED);
    int status = ptsampler_exit_status(s);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 42);
    struct ptsampler_stats stats;
    ptsampler_get_stats(s, &stats);
    assert_int_equal(stats.threads, 0);
    detach(s);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1); /* reaped as the tracee */
    capqueue_free(q);
}

static void test_exec_from_a_thread_is_reported(void **state)
{
    (void)state;
    pid_t pid = spawn_target(2);
    struct ptsampler *s = attach_ok(pid, false);
    struct capqueue *q = capqueue_new(256, STACK_SIZE);
    run_rounds(s, q, 5, 100, NULL, NULL, NULL);
    atomic_store(&shm->exec_req, 1); /* worker 1, not the leader, execs */
    enum ptsampler_state st = run_rounds(s, q, 300, 100, NULL, NULL, NULL);
    assert_int_equal(st, PTS_EXECED);
    ptsampler_ack_exec(s);
    struct ptsampler_stats stats;
    ptsampler_get_stats(s, &stats);
    assert_int_equal(stats.threads, 1);

    struct recs r = {0};
    assert_int_equal(run_rounds(s, q, 20, 100, &r, NULL, NULL), PTS_RUNNING);
    for (int more = 0; more < 100 && r.n < 10; more += 10)
        run_rounds(s, q, 10, 100, &r, NULL, NULL); /* a loaded machine delays it */
    ptsampler_get_stats(s, &stats);
    print_message("after exec: %zu captures; skipped %llu failed %llu\n", r.n,
                  (unsigned long long)stats.skipped_idle, (unsigned long long)stats.failed);
    assert_true(r.n >= 10);
    for (size_t i = 0; i < r.n; i++) {
        assert_int_equal(r.v[i].tid, pid);       /* the execing thread took the pid */
        assert_string_equal(r.v[i].comm, "exe"); /* named after /proc/self/exe */
    }
    assert_sane_captures(&r);
    assert_stop_times(s, &r, "after exec");
    detach(s);
    sleep_ms(20);
    assert_true(no_thread_stopped(pid));
    recs_free(&r);
    capqueue_free(q);
    kill_target(pid);
}

/* Work the target's threads do per second over ms milliseconds. */
static double work_rate(int nthreads, int ms)
{
    uint64_t a[MAX_WORKERS], b[MAX_WORKERS], work = 0;
    uint64_t t0 = mono_ns();
    progress_snapshot(a, nthreads);
    sleep_ms(ms);
    progress_snapshot(b, nthreads);
    for (int i = 0; i < nthreads; i++)
        work += b[i] - a[i];
    return (double)work / ((double)(mono_ns() - t0) / 1e9);
}

/* Opt-in: stop time per thread-sample and target slowdown at a rate. */
static void bench_rate(pid_t pid, int nthreads, int hz, int seconds)
{
    struct capqueue *q = capqueue_new(1024, STACK_SIZE);
    double before = work_rate(nthreads, seconds * 500);

    struct ptsampler *s = attach_ok(pid, false);
    struct recs r = {0};
    uint64_t a[MAX_WORKERS], b[MAX_WORKERS], work = 0;
    uint64_t t0 = mono_ns();
    progress_snapshot(a, nthreads);
    run_rounds(s, q, hz * seconds, hz, &r, NULL, NULL);
    progress_snapshot(b, nthreads);
    double elapsed = (double)(mono_ns() - t0) / 1e9;
    struct ptsampler_stats st;
    ptsampler_get_stats(s, &st);
    detach(s);
    for (int i = 0; i < nthreads; i++)
        work += b[i] - a[i];
    double during = (double)work / elapsed;
    double after = work_rate(nthreads, seconds * 500);

    struct pct p = stop_percentiles(&r);
    print_message("%d busy thread(s) at %d Hz: %zu thread-samples in %.1f s, stop median %.1f us, "
                  "p99 %.1f us, max %.1f us; engine hold mean %.1f us; target slowdown %.3f\n",
                  nthreads, hz, r.n, elapsed, p.median / 1e3, p.p99 / 1e3, p.max / 1e3,
                  st.samples ? st.hold_ns_total / 1e3 / (double)st.samples : 0.0,
                  during > 0 ? (before + after) / 2 / during : 0.0);
    recs_free(&r);
    capqueue_free(q);
}

static void test_bench_stop_time(void **state)
{
    (void)state;
    if (!getenv("PERTOP_PTS_BENCH"))
        skip();
    int seconds = atoi(getenv("PERTOP_PTS_BENCH"));
    if (seconds < 2)
        seconds = 5;
    for (int extra = 0; extra <= 2; extra += 2) {
        pid_t pid = spawn_target(extra);
        sleep_ms(200);
        bench_rate(pid, extra + 1, 99, seconds);
        bench_rate(pid, extra + 1, 999, seconds);
        kill_target(pid);
    }
}

/* After each test, pass or fail: no sampler attached, no child left. */
static int teardown(void **state)
{
    (void)state;
    if (live)
        detach(live);
    for (int i = 0; i < nspawned; i++) {
        kill(spawned[i], SIGKILL);
        waitpid(spawned[i], NULL, 0);
    }
    nspawned = 0;
    if (shm)
        munmap(shm, sizeof *shm);
    shm = NULL;
    return 0;
}

/* The image a target execs into: one busy thread. */
static __attribute__((noreturn)) void exec_target(void)
{
    static _Atomic uint64_t n;
    for (;;)
        spin(&n);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--exec-target"))
        exec_target();
    /* Stop times measure how soon a running thread reaches its stop and how
     * soon the tracer resumes it; other CPU hogs in this session (parallel
     * tests) would measure the scheduler instead.  Root runs the tracer
     * ahead of them; targets reset themselves to nice 0. */
    if (setpriority(PRIO_PROCESS, 0, -20) < 0)
        print_message("(not root: stop times include other processes' load)\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_samples_every_thread_and_new_ones, teardown),
        cmocka_unit_test_teardown(test_cpu_mix_fixture, teardown),
        cmocka_unit_test_teardown(test_idle_threads_skipped_or_sampled, teardown),
        cmocka_unit_test_teardown(test_full_queue_counts_lost_without_stopping, teardown),
        cmocka_unit_test_teardown(test_error_no_such_process, teardown),
        cmocka_unit_test_teardown(test_error_kernel_thread, teardown),
        cmocka_unit_test_teardown(test_error_zombie, teardown),
        cmocka_unit_test_teardown(test_error_already_traced, teardown),
        cmocka_unit_test_teardown(test_error_permission, teardown),
        cmocka_unit_test_teardown(test_signals_reach_the_target, teardown),
        cmocka_unit_test_teardown(test_stopped_target_stays_stopped, teardown),
        cmocka_unit_test_teardown(test_attach_to_stopped_target, teardown),
        cmocka_unit_test_teardown(test_thread_churn, teardown),
        cmocka_unit_test_teardown(test_killed_tracer_leaves_target_running, teardown),
        cmocka_unit_test_teardown(test_foreign_children_are_not_reaped, teardown),
        cmocka_unit_test_teardown(test_exit_is_reported, teardown),
        cmocka_unit_test_teardown(test_exec_from_a_thread_is_reported, teardown),
        cmocka_unit_test_teardown(test_bench_stop_time, teardown),
    };
    if (getenv("PTS_TEST"))
        cmocka_set_test_filter(getenv("PTS_TEST")); /* run one test while debugging */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
