/*
 * ptsampler.h - the ptrace sampling engine.
 *
 * PTRACE_SEIZEs every thread of the target and follows threads created later
 * (PTRACE_O_TRACECLONE) and exec (PTRACE_O_TRACEEXEC).  Per sample and thread:
 * read the thread's state from procfs; if it counts (R, or any with idle),
 * PTRACE_INTERRUPT, wait for the stop, GETREGS, one process_vm_readv of the
 * top of the stack straight into a capqueue slot, PTRACE_CONT.  No unwinding,
 * no symbolization, no allocation while a thread is stopped.
 *
 * ptrace binds a tracee to the tracer *thread*: every ptsampler_* call after
 * ptsampler_attach must come from the thread that attached.  Signals the
 * target receives while seized are delivered untouched (re-injected at once);
 * group-stops (SIGSTOP from a user) are respected with PTRACE_LISTEN.  The
 * target is never killed: PTRACE_O_EXITKILL is not used, and if pertop dies
 * the kernel releases every tracee.
 */
#ifndef PERTOP_PTSAMPLER_H
#define PERTOP_PTSAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler/capqueue.h"
#include "sampler/engine.h"

#define PTSAMPLER_MAX_THREADS 4096

/* Error codes beyond errno, returned negated by ptsampler_attach. */
enum ptsampler_error {
    PTS_ENOPROC = 1000, /* no such process */
    PTS_EKTHREAD,       /* kernel thread: nothing to profile */
    PTS_EZOMBIE,        /* zombie or dead */
    PTS_EPERM,          /* permission (message says what to do) */
    PTS_ETRACED,        /* already traced by another tracer (message names it) */
    PTS_EOTHER
};

struct ptsampler_config {
    pid_t pid;
    uint32_t stack_size;       /* bytes of stack copied per sample (0: registers only) */
    bool idle;                 /* also sample threads that are not running */
    struct engine_hooks hooks; /* the language reader's (engine.h) */
};

#define PTS_STOP_BUCKETS   256
#define PTS_STOP_BUCKET_NS 10000ull /* 10 us: the median to 10 us, up to 2.55 ms */

struct ptsampler_stats {
    uint64_t samples;       /* captures queued */
    uint64_t lost;          /* captures dropped because the queue was full */
    uint64_t skipped_idle;  /* threads not sampled because not R */
    uint64_t failed;        /* stop/read failures (thread vanished...) */
    uint64_t stop_ns_total; /* sum of time threads spent stopped */
    uint64_t stop_ns_max;
    uint64_t hold_ns_total; /* part of stop_ns after the stop was seen: our own cost */
    uint64_t hold_ns_max;   /* (the rest is the kernel's and the scheduler's) */
    uint64_t rounds;        /* calls to ptsampler_sample */
    /* stops by duration: bucket i holds [i, i+1) x PTS_STOP_BUCKET_NS, the
     * last one everything longer (the median is what the user is told) */
    uint32_t stop_hist[PTS_STOP_BUCKETS];
    uint32_t threads;      /* threads currently attached */
    uint32_t threads_seen; /* threads ever attached */
};

enum ptsampler_state { PTS_RUNNING, PTS_EXITED, PTS_EXECED };

struct ptsampler;

/* Attach to every thread of cfg->pid.  On failure returns a negative errno
 * or -PTS_E*, writes a user-facing message (what, why, what to do) to err,
 * and leaves the target as it was. */
int ptsampler_attach(struct ptsampler **out, const struct ptsampler_config *cfg, char *err,
                     size_t errsz);

/* Sample every attached thread once into q.  A thread that is not R (unless
 * cfg.idle), is stopped, or finds q full is not stopped at all (counted in
 * skipped_idle or lost).  A thread that has not reached its stop in time
 * (50 ms for R, which only waits for a CPU; 10 ms for S; 2 ms for D) is
 * given up for this round (failed). */
void ptsampler_sample(struct ptsampler *s, struct capqueue *q);

/* Handle ptrace events (new threads, exits, signals to re-inject, exec,
 * group-stops) until deadline_ns (CLOCK_MONOTONIC), or until the process
 * exits.  Returns the process state; PTS_EXECED is returned at once, and
 * again, until ptsampler_ack_exec.  Sleeps in sigtimedwait on SIGCHLD,
 * which the attaching thread keeps blocked from attach to detach: block
 * SIGCHLD in the process's other threads too, or a SIGCHLD they take costs
 * up to 1 ms of delay.  Only tracees of the target are reaped: other
 * children of the process are left to their owners. */
enum ptsampler_state ptsampler_wait(struct ptsampler *s, uint64_t deadline_ns);

/* After PTS_EXECED: the caller refreshes its maps; the sampler continues. */
void ptsampler_ack_exec(struct ptsampler *s);

/* Exit status of the main thread (wait status), valid after PTS_EXITED. */
int ptsampler_exit_status(const struct ptsampler *s);

void ptsampler_get_stats(const struct ptsampler *s, struct ptsampler_stats *out);

/* Detach from every thread, leaving each running (or stopped only if the
 * user had stopped it), with any signal caught in flight handed on.  Frees
 * s, so call it once; NULL is ignored.  Also the way to give up a sampler
 * whose target exited. */
void ptsampler_detach(struct ptsampler *s);

#endif
