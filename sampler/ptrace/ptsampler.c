/*
 * ptsampler.c - the ptrace sampling engine.
 *
 * The state machine, per thread, rests on what PTRACE_INTERRUPT promises:
 * at least one trap after the request.  Usually that is a
 * PTRACE_EVENT_STOP, but the next trap of any kind (a signal-delivery-stop,
 * a clone event) answers it too, and a trap that was already under way when
 * the request came is followed by one more.  So a thread carries
 * stop_pending from the INTERRUPT (or from its birth: a new thread's first
 * trap is owed the same way) until its next report of any kind; any later
 * EVENT_STOP that nobody waits for is simply continued, and two requests
 * that meet merge into one trap, so a wrong guess costs a spare stop of a
 * few microseconds and never a lost or held thread.  handle_status resumes
 * each report the way that report requires.
 *
 * Waiting never blocks without a bound: every wait is waitpid(WNOHANG) plus
 * sigtimedwait(SIGCHLD) in slices of at most 1 ms, so a stolen SIGCHLD costs
 * at most a slice.  Events are read with waitid(WNOWAIT) first and consumed
 * only when they belong to the target, so children of the same process that
 * are not the target are never reaped here (see drain_events).
 *
 * All ptrace calls come from the thread that attached: ptrace ties a tracee
 * to the tracer thread, not to the process.
 */
#include "sampler/ptrace/ptsampler.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "sampler/proc/procfs.h"

#define PTS_OPTIONS       (PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC) /* never EXITKILL */
#define STOP_WAIT_RUN_NS  (50 * 1000000ull)   /* R: stops once it gets a CPU, however busy */
#define STOP_WAIT_IDLE_NS (10 * 1000000ull)   /* S: the INTERRUPT wakes it at once */
#define STOP_WAIT_DISK_NS (2 * 1000000ull)    /* D: stops only when its I/O ends */
#define DETACH_TIMEOUT_NS (2000 * 1000000ull) /* all threads together */
#define WAIT_SLICE_NS     (1000000ull)        /* longest sleep without re-polling */
#define STOP_SPIN_NS      (200000ull)         /* poll, not sleep, this long for a stop */
/* Between rounds SIGCHLD wakes the sampler at once (every thread of pertop
 * blocks it); the slice only bounds the delay if some thread that does not
 * block it takes it.  Short slices cost a wake-up each: at 1 ms they were
 * most of the sampler's CPU at 99 Hz. */
#define IDLE_SLICE_NS    (20000000ull)
#define SEIZE_PASSES     64                 /* re-listings of /proc/PID/task */
#define DRAIN_MAX_EVENTS 100000             /* bound one drain against a clone storm */
#define READ_CHUNK       4096u              /* remote iovec granularity (<= page) */
#define PENDING_STALE_NS (100 * 1000000ull) /* an owed stop this late is not coming */

struct pts_thread {
    pid_t tid;
    int stat_fd;       /* /proc/PID/task/TID/stat, kept open; -1 if it could not be */
    bool stop_pending; /* a trap is owed: our INTERRUPT, or a new thread's first */
    uint64_t pending_since;
    bool group_stopped; /* parked in a group-stop with PTRACE_LISTEN */
    bool gone;          /* exited or no longer ours: compacted away */
};

struct ptsampler {
    struct ptsampler_config cfg;
    pid_t tracer_tid;        /* the only thread allowed to call us ... */
    pthread_t tracer_thread; /* ... as pthread_self() sees it: no syscall per check */
    struct pts_thread *threads;
    uint32_t nthreads; /* entries in threads, gone ones included until compact */
    pid_t *scratch;    /* task listing buffer for attach */
    sigset_t chld;     /* {SIGCHLD} */
    sigset_t old_mask; /* the caller's mask, restored by detach */
    uint64_t resumed_ns;
    bool exited, execed;
    int exit_status;
    struct ptsampler_stats st;
};

/* ------------------------------------------------------------- helpers */

static pid_t self_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static long pt(int req, pid_t tid, unsigned long addr, unsigned long data)
{
    return ptrace((enum __ptrace_request)req, tid, (void *)addr, (void *)data);
}

/* Resume a stopped tracee; remembers when, for stop_ns. */
static void resume(struct ptsampler *s, int req, pid_t tid, int sig)
{
    pt(req, tid, 0, (unsigned long)sig);
    s->resumed_ns = clock_mono_ns();
}

static bool is_group_stop_sig(int sig)
{
    return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static int stop_event(int status)
{
    return (int)((unsigned)status >> 16);
}

/* Sleep until a SIGCHLD arrives or ns pass.  SIGCHLD is blocked in this
 * thread, so it stays pending for us instead of going to a handler. */
static void sleep_for_sigchld(struct ptsampler *s, uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    sigtimedwait(&s->chld, NULL, &ts);
}

/* Wait for the next report of one thread until deadline, polling without
 * sleeping until spin_until.  Returns 1 with *status set, 0 on timeout, -1
 * when the tid is no tracee of ours. */
static int wait_thread_spin(struct ptsampler *s, pid_t tid, uint64_t spin_until, uint64_t deadline,
                            int *status)
{
    for (;;) {
        pid_t r = waitpid(tid, status, __WALL | WNOHANG);
        if (r == tid)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
        uint64_t now = clock_mono_ns();
        if (now >= deadline)
            return 0;
        if (now < spin_until) {
            sched_yield(); /* a target thread waiting for this CPU runs first */
            continue;
        }
        uint64_t left = deadline - now;
        sleep_for_sigchld(s, left < WAIT_SLICE_NS ? left : WAIT_SLICE_NS);
    }
}

static int wait_thread(struct ptsampler *s, pid_t tid, uint64_t deadline, int *status)
{
    return wait_thread_spin(s, tid, 0, deadline, status);
}

/* ------------------------------------------------------- thread table */

static struct pts_thread *find_thread(struct ptsampler *s, pid_t tid)
{
    for (uint32_t i = 0; i < s->nthreads; i++)
        if (s->threads[i].tid == tid && !s->threads[i].gone)
            return &s->threads[i];
    return NULL;
}

static int open_stat(pid_t pid, pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* Only between passes over the table: it moves entries under pointers. */
static void compact(struct ptsampler *s)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < s->nthreads; i++)
        if (!s->threads[i].gone)
            s->threads[j++] = s->threads[i];
    s->nthreads = j;
}

static struct pts_thread *add_thread(struct ptsampler *s, pid_t tid, bool stop_pending)
{
    if (s->nthreads == PTSAMPLER_MAX_THREADS)
        return NULL; /* entries of gone threads are reclaimed by compact() */
    struct pts_thread *t = &s->threads[s->nthreads++];
    *t = (struct pts_thread){.tid = tid,
                             .stat_fd = open_stat(s->cfg.pid, tid),
                             .stop_pending = stop_pending,
                             .pending_since = clock_mono_ns()};
    s->st.threads++;
    s->st.threads_seen++;
    return t;
}

static void drop_thread(struct ptsampler *s, struct pts_thread *t)
{
    if (t->gone)
        return;
    if (t->stat_fd >= 0)
        close(t->stat_fd);
    t->stat_fd = -1;
    t->gone = true;
    s->st.threads--;
}

/* --------------------------------------------------- handling stops */

static void on_exit_status(struct ptsampler *s, struct pts_thread *t, int status)
{
    /* The leader's death is reported last, once the whole group is gone. */
    if (t->tid == s->cfg.pid) {
        s->exited = true;
        s->exit_status = status;
    }
    drop_thread(s, t);
    if (s->st.threads == 0)
        s->exited = true;
}

static void on_event_stop(struct ptsampler *s, struct pts_thread *t, int sig)
{
    if (is_group_stop_sig(sig)) {
        /* The user stopped the process: stay stopped, but keep watching for
         * SIGCONT (LISTEN), instead of running on as PTRACE_CONT would. */
        t->group_stopped = true;
        resume(s, PTRACE_LISTEN, t->tid, 0);
        return;
    }
    t->group_stopped = false; /* an EVENT_STOP|SIGTRAP after LISTEN = SIGCONT came */
    resume(s, PTRACE_CONT, t->tid, 0);
}

/* A thread that belongs to the target but that we cannot track (the table
 * is full): wait for its first stop and let it go. */
static void release_untracked(struct ptsampler *s, pid_t tid)
{
    int status;
    if (wait_thread(s, tid, clock_mono_ns() + STOP_WAIT_RUN_NS, &status) <= 0)
        return;
    if (!WIFSTOPPED(status))
        return;
    int sig = stop_event(status) == 0 ? WSTOPSIG(status) : 0;
    pt(PTRACE_DETACH, tid, 0, (unsigned long)sig);
}

static bool task_exists(struct ptsampler *s, pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d", (int)s->cfg.pid, (int)tid);
    return access(path, F_OK) == 0;
}

/* A thread auto-attached by PTRACE_O_TRACECLONE.  Its first report is an
 * EVENT_STOP that may arrive before or after the parent's clone event; it
 * may even have run, exited and been reaped before that event is read. */
static struct pts_thread *adopt_thread(struct ptsampler *s, pid_t tid)
{
    struct pts_thread *t = find_thread(s, tid);
    if (t || !task_exists(s, tid))
        return t;
    t = add_thread(s, tid, true);
    if (!t)
        release_untracked(s, tid);
    return t;
}

static void on_clone(struct ptsampler *s, struct pts_thread *t)
{
    unsigned long child = 0;
    pt(PTRACE_GETEVENTMSG, t->tid, 0, (unsigned long)&child);
    resume(s, PTRACE_CONT, t->tid, 0); /* the parent first: the rest can wait */
    if (child > 0)
        adopt_thread(s, (pid_t)child);
}

/* execve in any thread: the kernel has killed (and we have reaped) every
 * other thread, and the execing thread now carries the leader's tid (the
 * old leader's death is never reported). */
static void on_exec(struct ptsampler *s, struct pts_thread *t)
{
    resume(s, PTRACE_CONT, t->tid, 0);
    for (uint32_t i = 0; i < s->nthreads; i++)
        if (&s->threads[i] != t)
            drop_thread(s, &s->threads[i]);
    if (t->stat_fd >= 0)
        close(t->stat_fd);
    t->stat_fd = open_stat(s->cfg.pid, t->tid);
    s->execed = true;
}

/* Resume a thread from whatever report status holds, as that report
 * requires: signals are handed on untouched, group-stops are respected. */
static void handle_status(struct ptsampler *s, struct pts_thread *t, int status)
{
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
        on_exit_status(s, t, status);
        return;
    }
    if (!WIFSTOPPED(status))
        return;
    t->stop_pending = false; /* any trap answers an INTERRUPT */
    switch (stop_event(status)) {
    case 0: /* signal-delivery-stop: re-inject the signal at once */
        resume(s, PTRACE_CONT, t->tid, WSTOPSIG(status));
        break;
    case PTRACE_EVENT_STOP:
        on_event_stop(s, t, WSTOPSIG(status));
        break;
    case PTRACE_EVENT_CLONE:
        on_clone(s, t);
        break;
    case PTRACE_EVENT_EXEC:
        on_exec(s, t);
        break;
    default:
        resume(s, PTRACE_CONT, t->tid, 0);
        break;
    }
}

/* --------------------------------------------------- pending events */

/* A report from a tid we do not know yet: a new thread of the target whose
 * first stop overtook its parent's clone event, or a child of this process
 * that has nothing to do with the target. */
static bool belongs_to_target(struct ptsampler *s, pid_t tid)
{
    return procfs_tgid(tid) == s->cfg.pid;
}

/* Consume every pending report of the known threads, one by one. */
static void scan_threads(struct ptsampler *s)
{
    for (uint32_t i = 0; i < s->nthreads; i++) { /* clones append: they are seen too */
        struct pts_thread *t = &s->threads[i];
        int status;
        while (!t->gone) {
            pid_t r = waitpid(t->tid, &status, __WALL | WNOHANG);
            if (r == 0 || (r < 0 && errno == EINTR))
                break;
            if (r < 0) {
                drop_thread(s, t); /* not our tracee any more */
                break;
            }
            handle_status(s, t, status);
        }
    }
}

/* Handle every report waiting now.  waitid(WNOWAIT) names the next waiting
 * child or tracee of this thread without consuming it; we consume it only
 * when it is ours, so we never reap a child that someone else in this
 * process waits for.  If a foreign child blocks the head of the line, the
 * known threads are polled one by one instead. */
static void drain_events(struct ptsampler *s)
{
    for (int n = 0; n < DRAIN_MAX_EVENTS; n++) {
        siginfo_t si;
        si.si_pid = 0;
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL | __WNOTHREAD) < 0 ||
            si.si_pid == 0)
            return;
        struct pts_thread *t = find_thread(s, si.si_pid);
        if (!t && belongs_to_target(s, si.si_pid)) {
            t = adopt_thread(s, si.si_pid);
            if (!t)
                continue; /* released untracked */
        }
        if (!t) {
            scan_threads(s);
            return;
        }
        int status;
        pid_t r = waitpid(t->tid, &status, __WALL | WNOHANG);
        if (r == t->tid)
            handle_status(s, t, status);
        else if (r < 0 && errno == ECHILD)
            drop_thread(s, t);
        else
            return; /* seen but not waitable: do not spin on it */
    }
}

/* ----------------------------------------------------------- sampling */

static bool worth_sampling(const struct ptsampler *s, char state)
{
    if (state == 'R')
        return true;
    /* Stopped, traced-stopped or dead threads cannot be interrupted. */
    if (state == 'T' || state == 't' || state == 'Z' || state == 'X')
        return false;
    return s->cfg.idle;
}

/* One process_vm_readv of the top of the stack.  The remote range is cut
 * into page-sized pieces: the kernel only stops short between iovecs, so a
 * stack that ends before stack_size still yields what is mapped. */
static void read_stack(struct ptsampler *s, struct capture *c)
{
    uint32_t want = s->cfg.stack_size < c->stack_cap ? s->cfg.stack_size : c->stack_cap;
    struct iovec remote[CAPTURE_STACK_MAX / READ_CHUNK + 1];
    uint64_t addr = c->regs.rsp;
    uint32_t done = 0;
    int n = 0;
    while (done < want && n < (int)(sizeof remote / sizeof remote[0])) {
        uint32_t room = READ_CHUNK - (uint32_t)((addr + done) % READ_CHUNK);
        uint32_t len = want - done < room ? want - done : room;
        remote[n++] = (struct iovec){(void *)(uintptr_t)(addr + done), len};
        done += len;
    }
    struct iovec local = {c->stack, done};
    ssize_t got = done ? process_vm_readv(c->tid, &local, 1, remote, (unsigned long)n, 0) : 0;
    c->stack_addr = addr;
    c->stack_len = got > 0 ? (uint32_t)got : 0;
    if (c->stack_len < want || want < s->cfg.stack_size)
        c->flags |= CAPTURE_STACK_SHORT;
}

/* Registers and stack can be read at any ptrace-stop of a live thread
 * except a group-stop (LISTEN is needed there) and exec (new image). */
static bool capturable(int status)
{
    if (!WIFSTOPPED(status))
        return false;
    int ev = stop_event(status);
    if (ev == PTRACE_EVENT_STOP)
        return !is_group_stop_sig(WSTOPSIG(status));
    return ev == 0 || ev == PTRACE_EVENT_CLONE;
}

static void count_capture(struct ptsampler *s, const struct capture *c)
{
    s->st.samples++;
    s->st.stop_ns_total += c->stop_ns;
    if (c->stop_ns > s->st.stop_ns_max)
        s->st.stop_ns_max = c->stop_ns;
    uint64_t b = c->stop_ns / PTS_STOP_BUCKET_NS;
    s->st.stop_hist[b < PTS_STOP_BUCKETS ? b : PTS_STOP_BUCKETS - 1]++;
}

static void count_hold(struct ptsampler *s, uint64_t hold)
{
    s->st.hold_ns_total += hold;
    if (hold > s->st.hold_ns_max)
        s->st.hold_ns_max = hold;
}

/* How long to wait for a thread in this state to reach its stop before
 * giving up for this round (its stop is then resumed by ptsampler_wait). */
static uint64_t stop_wait_ns(char state)
{
    if (state == 'R')
        return STOP_WAIT_RUN_NS;
    return state == 'D' ? STOP_WAIT_DISK_NS : STOP_WAIT_IDLE_NS;
}

/* INTERRUPT, wait, GETREGS into the slot, read the stack, resume.  Returns
 * 0 when c holds a capture.  Nothing here allocates. */
static int stop_and_capture(struct ptsampler *s, struct pts_thread *t, struct capture *c)
{
    uint64_t t0 = clock_mono_ns();
    if (pt(PTRACE_INTERRUPT, t->tid, 0, 0) < 0)
        return -1;
    t->stop_pending = true;
    t->pending_since = t0;
    int status;
    /* A running thread stops within tens of microseconds.  Poll for it
     * (yielding the CPU) rather than sleep: on a virtual machine a CPU that
     * goes idle takes ~100 us to wake, which tripled the stop. */
    uint64_t spin = c->state == 'R' ? t0 + STOP_SPIN_NS : 0;
    if (wait_thread_spin(s, t->tid, spin, t0 + stop_wait_ns(c->state), &status) <= 0)
        return -1; /* its stop, when it comes, is resumed by ptsampler_wait */
    uint64_t seen = clock_mono_ns();
    int rc = -1;
    struct user_regs_struct ur;
    if (capturable(status) && pt(PTRACE_GETREGS, t->tid, 0, (unsigned long)&ur) == 0) {
        capture_regs_from_user(&c->regs, &ur);
        c->flags |= CAPTURE_STOPPED;
        read_stack(s, c);
        rc = s->cfg.hooks.captured ? s->cfg.hooks.captured(s->cfg.hooks.ctx, c) : 0;
    }
    handle_status(s, t, status);
    c->time_ns = t0;
    c->stop_ns = s->resumed_ns > t0 ? s->resumed_ns - t0 : 0;
    if (rc == 0)
        count_hold(s, s->resumed_ns > seen ? s->resumed_ns - seen : 0);
    return rc;
}

/* A thread that owes a trap is left alone until it reports, unless the
 * report is overdue (it sleeps uninterruptibly, or its task was replaced by
 * an exec): asking again is harmless, as requests that meet merge. */
static bool may_interrupt(const struct pts_thread *t)
{
    if (t->gone || t->group_stopped)
        return false;
    return !t->stop_pending || clock_mono_ns() - t->pending_since > PENDING_STALE_NS;
}

static void sample_thread(struct ptsampler *s, struct pts_thread *t, struct capqueue *q)
{
    if (!may_interrupt(t))
        return;
    if (t->stat_fd < 0)
        t->stat_fd = open_stat(s->cfg.pid, t->tid);
    struct proc_stat ps;
    if (t->stat_fd < 0 || procfs_pread_stat(t->stat_fd, &ps) < 0) {
        s->st.failed++; /* exiting: its exit report will drop it ... */
        if (!task_exists(s, t->tid))
            drop_thread(s, t); /* ... or it is already gone without one (exec) */
        return;
    }
    if (!worth_sampling(s, ps.state) ||
        (s->cfg.hooks.want && !s->cfg.hooks.want(s->cfg.hooks.ctx, t->tid))) {
        s->st.skipped_idle++;
        return;
    }
    struct capture *c = capqueue_reserve(q);
    if (!c) {
        s->st.lost++; /* full queue: do not stop the thread at all */
        return;
    }
    c->tid = t->tid;
    c->state = ps.state;
    snprintf(c->comm, sizeof c->comm, "%s", ps.comm);
    if (ps.state == 'R')
        c->flags |= CAPTURE_ONCPU;
    c->py_n = 0;
    if (stop_and_capture(s, t, c) < 0) {
        s->st.failed++;
        return; /* the slot stays reserved-but-uncommitted: reused next time */
    }
    if (s->cfg.hooks.released)
        s->cfg.hooks.released(s->cfg.hooks.ctx, c);
    capqueue_commit(q);
    count_capture(s, c);
}

static bool on_tracer_thread(struct ptsampler *s)
{
    return pthread_equal(pthread_self(), s->tracer_thread) != 0;
}

void ptsampler_sample(struct ptsampler *s, struct capqueue *q)
{
    if (!on_tracer_thread(s)) {
        s->st.failed++; /* ptrace would fail with ESRCH from this thread */
        return;
    }
    s->st.rounds++;
    if (s->cfg.hooks.round)
        s->cfg.hooks.round(s->cfg.hooks.ctx);
    for (uint32_t i = 0; i < s->nthreads; i++)
        sample_thread(s, &s->threads[i], q);
    compact(s);
}

enum ptsampler_state ptsampler_wait(struct ptsampler *s, uint64_t deadline_ns)
{
    for (;;) {
        if (on_tracer_thread(s))
            drain_events(s);
        compact(s);
        if (s->exited)
            return PTS_EXITED;
        if (s->execed)
            return PTS_EXECED;
        uint64_t now = clock_mono_ns();
        if (now >= deadline_ns)
            return PTS_RUNNING;
        uint64_t left = deadline_ns - now;
        sleep_for_sigchld(s, left < IDLE_SLICE_NS ? left : IDLE_SLICE_NS);
    }
}

void ptsampler_ack_exec(struct ptsampler *s)
{
    s->execed = false;
}

int ptsampler_exit_status(const struct ptsampler *s)
{
    return s->exit_status;
}

void ptsampler_get_stats(const struct ptsampler *s, struct ptsampler_stats *out)
{
    *out = s->st;
}

/* ---------------------------------------------------------- detaching */

/* Detach t at the report status holds, handing on a signal caught in
 * flight.  A group-stopped thread stays stopped: the kernel puts it back
 * into the group-stop.  A clone event adds the new thread, which the
 * caller's pass then detaches too. */
static void detach_at(struct ptsampler *s, struct pts_thread *t, int status)
{
    if (!WIFSTOPPED(status)) {
        on_exit_status(s, t, status);
        return;
    }
    int ev = stop_event(status);
    if (ev == PTRACE_EVENT_CLONE) {
        unsigned long child = 0;
        pt(PTRACE_GETEVENTMSG, t->tid, 0, (unsigned long)&child);
        if (child > 0)
            adopt_thread(s, (pid_t)child);
    }
    int sig = ev == 0 ? WSTOPSIG(status) : 0;
    pt(PTRACE_DETACH, t->tid, 0, (unsigned long)sig);
    drop_thread(s, t);
}

/* Detach every thread that has stopped by now; returns how many are left.
 * All threads are polled in turn rather than waited for one by one: one
 * may be blocked (pthread_join, a lock) on another that sits in a stop. */
static uint32_t detach_pass(struct ptsampler *s)
{
    uint32_t left = 0;
    for (uint32_t i = 0; i < s->nthreads; i++) { /* clones append: seen too */
        struct pts_thread *t = &s->threads[i];
        int status;
        pid_t r = t->gone ? 0 : waitpid(t->tid, &status, __WALL | WNOHANG);
        if (r == t->tid)
            detach_at(s, t, status);
        else if (r < 0 && errno == ECHILD)
            drop_thread(s, t); /* not our tracee any more */
        left += !t->gone;
    }
    return left;
}

/* PTRACE_DETACH needs a stopped tracee, so every thread is interrupted
 * first, all at once so the stops overlap.  Threads that owe a stop are
 * interrupted too (the requests merge), and so are LISTENing ones, which
 * DETACH refuses until they re-trap. */
static void release_all(struct ptsampler *s)
{
    if (on_tracer_thread(s)) {
        drain_events(s); /* hand on pending signals through the normal path */
        for (uint32_t i = 0; i < s->nthreads; i++)
            if (!s->threads[i].gone)
                pt(PTRACE_INTERRUPT, s->threads[i].tid, 0, 0);
        uint64_t deadline = clock_mono_ns() + DETACH_TIMEOUT_NS;
        while (detach_pass(s) > 0 && clock_mono_ns() < deadline)
            sleep_for_sigchld(s, WAIT_SLICE_NS);
    }
    /* Left: threads stuck in uninterruptible sleep.  They stay traced until
     * this process exits, when the kernel releases them. */
    for (uint32_t i = 0; i < s->nthreads; i++)
        drop_thread(s, &s->threads[i]);
    s->nthreads = 0;
}

static void free_sampler(struct ptsampler *s)
{
    if (on_tracer_thread(s))
        pthread_sigmask(SIG_SETMASK, &s->old_mask, NULL);
    free(s->threads);
    free(s->scratch);
    free(s);
}

void ptsampler_detach(struct ptsampler *s)
{
    if (!s)
        return;
    release_all(s);
    free_sampler(s);
}

/* ---------------------------------------------------------- attaching */

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errsz, int code,
                                                      const char *fmt, ...)
{
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -code;
}

static int yama_scope(void)
{
    char buf[16] = "";
    int fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1; /* no Yama on this kernel */
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 ? atoi(buf) : -1;
}

static const char *eperm_advice(void)
{
    bool root = geteuid() == 0;
    switch (yama_scope()) {
    case 3:
        return "ptrace attach is disabled on this system (kernel.yama.ptrace_scope=3) until "
               "reboot; pertop can still launch a program itself: pertop -- COMMAND";
    case 2:
        return "kernel.yama.ptrace_scope=2 allows only processes with CAP_SYS_PTRACE to attach: "
               "run pertop as root (sudo)";
    case 1:
        if (!root)
            return "kernel.yama.ptrace_scope=1 only lets you trace your own descendants: run "
                   "pertop as root or with CAP_SYS_PTRACE, start the program under pertop "
                   "(pertop -- COMMAND), or set kernel.yama.ptrace_scope=0";
        break;
    default:
        break;
    }
    if (!root)
        return "the process belongs to another user or is not dumpable: run pertop as root or "
               "with CAP_SYS_PTRACE";
    return "even as root: the process may live in another user namespace or be protected by a "
           "security module (SELinux, AppArmor); check the audit log";
}

static int fail_traced(char *err, size_t errsz, pid_t pid, const char *comm, pid_t tracer)
{
    struct proc_stat ts;
    const char *name = procfs_read_stat(tracer, 0, &ts) == 0 ? ts.comm : "another process";
    return fail(err, errsz, PTS_ETRACED,
                "pertop: cannot attach to %d (%s): already traced by %s (PID %d) — detach the "
                "debugger first",
                (int)pid, comm, name, (int)tracer);
}

/* Everything that can be said before touching the target. */
static int check_target(pid_t pid, struct proc_stat *st, char *err, size_t errsz)
{
    int rc = pid > 0 ? procfs_read_stat(pid, 0, st) : -ENOENT;
    if (rc == -ENOENT || rc == -ESRCH)
        return fail(err, errsz, PTS_ENOPROC,
                    "pertop: no process with PID %d — check the PID with ps or pgrep", (int)pid);
    if (rc < 0)
        return fail(err, errsz, PTS_EOTHER, "pertop: cannot read /proc/%d/stat: %s", (int)pid,
                    strerror(-rc));
    char cmd[8];
    if (procfs_is_kernel_thread(st) || (st->ppid == 2 && procfs_cmdline(pid, cmd, sizeof cmd) == 0))
        return fail(err, errsz, PTS_EKTHREAD,
                    "pertop: PID %d (%s) is a kernel thread — it runs no user code to profile; "
                    "pick a user process (ps shows kernel threads in [brackets])",
                    (int)pid, st->comm);
    if (st->state == 'Z' || st->state == 'X')
        return fail(err, errsz, PTS_EZOMBIE,
                    "pertop: PID %d (%s) is a zombie — it has exited and waits for its parent to "
                    "reap it; there is nothing left to profile",
                    (int)pid, st->comm);
    int tgid = procfs_tgid(pid);
    if (tgid > 0 && tgid != pid)
        return fail(err, errsz, PTS_EOTHER,
                    "pertop: %d is a thread of process %d — attach to the process: --pid %d",
                    (int)pid, tgid, tgid);
    if (pid == getpid())
        return fail(err, errsz, PTS_EOTHER,
                    "pertop: PID %d is pertop itself — pick another process", (int)pid);
    int tracer = procfs_tracer_pid(pid);
    if (tracer > 0)
        return fail_traced(err, errsz, pid, st->comm, tracer);
    return 0;
}

/* A SEIZE that failed: say why in the user's terms. */
static int seize_error(struct ptsampler *s, pid_t tid, int e, char *err, size_t errsz)
{
    pid_t pid = s->cfg.pid;
    struct proc_stat st;
    if (procfs_read_stat(pid, 0, &st) < 0)
        return fail(err, errsz, PTS_ENOPROC,
                    "pertop: process %d exited while pertop was attaching to it", (int)pid);
    if (st.state == 'Z' || st.state == 'X')
        return fail(err, errsz, PTS_EZOMBIE,
                    "pertop: PID %d (%s) exited while pertop was attaching to it (zombie)",
                    (int)pid, st.comm);
    int tracer = procfs_tracer_pid(tid);
    if (e == EPERM && tracer > 0)
        return fail_traced(err, errsz, pid, st.comm, tracer);
    if (e == EPERM)
        return fail(err, errsz, PTS_EPERM,
                    "pertop: cannot attach to %d (%s): Operation not permitted — %s", (int)pid,
                    st.comm, eperm_advice());
    return fail(err, errsz, PTS_EOTHER, "pertop: cannot attach to %d (%s), thread %d: %s", (int)pid,
                st.comm, (int)tid, strerror(e));
}

static bool traced_by_us(struct ptsampler *s, pid_t tid)
{
    int tracer = procfs_tracer_pid(tid);
    return tracer == s->tracer_tid || tracer == getpid();
}

/* Returns 1 when tid was added, 0 when it vanished, -1 on failure (errno). */
static int seize_one(struct ptsampler *s, pid_t tid)
{
    if (pt(PTRACE_SEIZE, tid, 0, PTS_OPTIONS) == 0)
        return add_thread(s, tid, false) ? 1 : (errno = ENOSPC, -1);
    int e = errno;
    if (e == ESRCH)
        return 0; /* exited before we got to it */
    /* A thread created by one we already seized is attached already, and
     * owes its first trap. */
    if (e == EPERM && traced_by_us(s, tid))
        return add_thread(s, tid, true) ? 1 : (errno = ENOSPC, -1);
    errno = e;
    return -1;
}

/* Seize every thread, re-listing /proc/PID/task until a pass finds nothing
 * new: from then on every new thread is born of a seized one, and so is
 * attached by PTRACE_O_TRACECLONE. */
static int seize_all(struct ptsampler *s, char *err, size_t errsz)
{
    for (int pass = 0; pass < SEIZE_PASSES; pass++) {
        int n = procfs_list_tasks(s->cfg.pid, s->scratch, PTSAMPLER_MAX_THREADS);
        if (n < 0)
            return seize_error(s, s->cfg.pid, -n, err, errsz);
        int added = 0;
        for (int i = 0; i < n; i++) {
            if (find_thread(s, s->scratch[i]))
                continue;
            if (s->st.threads == PTSAMPLER_MAX_THREADS)
                break; /* the rest runs unsampled */
            int rc = seize_one(s, s->scratch[i]);
            if (rc < 0)
                return seize_error(s, s->scratch[i], errno, err, errsz);
            added += rc;
        }
        if (!find_thread(s, s->cfg.pid))
            return seize_error(s, s->cfg.pid, ESRCH, err, errsz);
        if (added == 0)
            return 0;
    }
    return 0;
}

static int config_error(const struct ptsampler_config *cfg, char *err, size_t errsz)
{
    if (!cfg)
        return fail(err, errsz, EINVAL, "pertop: no sampler configuration");
    if (cfg->stack_size > CAPTURE_STACK_MAX)
        return fail(err, errsz, EINVAL, "pertop: stack size %u is above the maximum of %u bytes",
                    cfg->stack_size, CAPTURE_STACK_MAX);
    return 0;
}

static struct ptsampler *new_sampler(const struct ptsampler_config *cfg)
{
    struct ptsampler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->tracer_tid = self_tid();
    s->tracer_thread = pthread_self();
    s->threads = calloc(PTSAMPLER_MAX_THREADS, sizeof *s->threads);
    s->scratch = calloc(PTSAMPLER_MAX_THREADS, sizeof *s->scratch);
    if (!s->threads || !s->scratch) {
        free(s->threads);
        free(s->scratch);
        free(s);
        return NULL;
    }
    /* Blocked, SIGCHLD stays pending for sigtimedwait instead of being
     * discarded (its default action) or run by a handler. */
    sigemptyset(&s->chld);
    sigaddset(&s->chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &s->chld, &s->old_mask);
    return s;
}

int ptsampler_attach(struct ptsampler **out, const struct ptsampler_config *cfg, char *err,
                     size_t errsz)
{
    *out = NULL;
    int rc = config_error(cfg, err, errsz);
    struct proc_stat st;
    if (rc == 0)
        rc = check_target(cfg->pid, &st, err, errsz);
    if (rc < 0)
        return rc;
    struct ptsampler *s = new_sampler(cfg);
    if (!s)
        return fail(err, errsz, ENOMEM, "pertop: out of memory");
    rc = seize_all(s, err, errsz);
    if (rc < 0) {
        release_all(s); /* leave the target as we found it */
        free_sampler(s);
        return rc;
    }
    *out = s;
    return 0;
}
