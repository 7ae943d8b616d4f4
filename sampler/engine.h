/*
 * engine.h - one interface for every sampling engine.
 *
 * An engine takes samples of a target process and puts them, as captures
 * (capture.h), into a capture queue: registers, the top of the user stack,
 * and whatever a language reader adds.  The sampler thread
 * (src/session/sampling.c) drives any engine the same way:
 *
 *   attach -> (wait for the start) -> round, wait, round, wait ... -> detach
 *
 * An engine either is paced by the caller (the ptrace engine stops threads
 * on a jittered clock: see pacer.h) or times itself (ENGINE_SELF_TIMED:
 * the kernel's clock fires the samples, and wait blocks until records come
 * or the deadline passes).  Every operation after attach is called from the
 * thread that attached (ptrace binds tracees to the tracer thread).
 *
 * Language readers (the CPython reader) plug in through engine_hooks; a
 * capture says whether its thread was stopped when it was taken
 * (CAPTURE_STOPPED), so a reader knows whether it may trust a live walk or
 * must check it for tearing.
 */
#ifndef PERTOP_ENGINE_H
#define PERTOP_ENGINE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler/capqueue.h"

/* Why an attach failed, whatever the engine: the caller maps it to an exit
 * code; the message says what happened, why, and what to do. */
enum engine_error {
    ENGINE_OK = 0,
    ENGINE_ENOTARGET,    /* no such process, a kernel thread, a zombie */
    ENGINE_EPERM,        /* not allowed (ptrace scope, perf_event_paranoid...) */
    ENGINE_ETRACED,      /* already traced by another tracer */
    ENGINE_EUNSUPPORTED, /* the engine cannot run here (no perf_event, no CPython) */
    ENGINE_EOTHER
};

/* The class of a negative errno, for engines built on calls that fail
 * with one. */
static inline int engine_error_of_errno(int rc)
{
    switch (-rc) {
    case ESRCH:
        return ENGINE_ENOTARGET;
    case EPERM:
    case EACCES:
        return ENGINE_EPERM;
    default:
        return ENGINE_EOTHER;
    }
}

enum engine_state { ENGINE_RUNNING, ENGINE_EXITED, ENGINE_EXECED };

/*
 * Optional hooks of a language reader, all called on the sampler thread;
 * any may be NULL.
 *   round     at the start of each round (no thread stopped): per-round work
 *   want      before a thread is sampled: false skips it (paced engines)
 *   captured  right after registers and stack were taken; the thread is
 *             still stopped when c->flags has CAPTURE_STOPPED (then: quick,
 *             no allocation), else it runs on and a live read may be torn;
 *             returns 0, or < 0 to drop the capture
 *   released  once the thread runs again (at once for an engine that
 *             stops nothing): work that needs no stop, such as copying names
 */
struct engine_hooks {
    void (*round)(void *ctx);
    bool (*want)(void *ctx, pid_t tid);
    int (*captured)(void *ctx, struct capture *c);
    void (*released)(void *ctx, struct capture *c);
    void *ctx;
};

struct engine_config {
    pid_t pid;
    bool launched;       /* a command pertop started: it has not exec'd yet */
    uint32_t stack_size; /* bytes of stack copied per sample (0: registers only) */
    bool idle;           /* also sample threads that wait */
    unsigned rate_hz;    /* samples per second per thread, at the start */
    bool kernel;         /* keep kernel frames when the engine can give them */
    bool cpu_clock;      /* clock-driven engines: cpu-clock, not thread CPU time */
    struct engine_hooks hooks;
    /* the hooks read the target right after each sample: an engine that
     * batches samples hands each over at once instead, so that the read
     * sees the thread where the sample did (the CPython frames) */
    bool prompt;
    /* follow the target's child processes too (fork, vfork, exec): their
     * captures carry their pid; the hooks see only the target's */
    bool subprocesses;
    void *reader; /* engine-specific: the CPython reader of the live-read engine */
};

/* One neutral set of figures for every engine; a field an engine does not
 * measure stays 0. */
struct engine_stats {
    uint64_t rounds;        /* rounds (paced) or wake-ups that drained records */
    uint64_t samples;       /* captures queued */
    uint64_t lost;          /* captures dropped: queue full, or the kernel's LOST */
    uint64_t skipped_idle;  /* threads not sampled because they were not running */
    uint64_t failed;        /* samples that could not be taken (thread gone...) */
    uint64_t torn;          /* live reads found torn and dropped */
    uint64_t stop_ns_total; /* time threads spent stopped (stopping engines) */
    uint64_t stop_ns_max;
    uint64_t stop_ns_median; /* to the engine's precision; 0 when unknown */
    uint64_t hold_ns_total;  /* part of the stop after it was seen: our own cost */
    uint64_t hold_ns_max;
    /* clock-driven engines: samples the clock fired on running threads;
     * divided by the CPU time the target used, the rate achieved per
     * running thread (0: the rate is rounds per second) */
    uint64_t clock_samples;
    /* ... and the clock time those samples stand for (the sum of their
     * periods, ns): the CPU time sampled, children's included */
    uint64_t clock_period_ns;
    uint32_t threads;        /* threads sampled now */
    uint32_t threads_seen;   /* threads ever sampled */
    uint32_t processes_seen; /* the target and, with subprocesses, its children */
};

/* Every engine's state starts with this, so the sampler thread holds any
 * engine through one pointer and its operations table. */
struct engine {
    const struct engine_ops *ops;
};

struct engine_ops {
    const char *name; /* "ptrace", "python-live", "perf" */
    unsigned flags;   /* ENGINE_SELF_TIMED */
    /* 0, or -enum engine_error with err set; the target is left as it was */
    int (*attach)(struct engine **out, const struct engine_config *cfg, char *err, size_t errsz);
    /* one round of sampling into q (self-timed engines: drain what came) */
    void (*round)(struct engine *e, struct capqueue *q);
    /* handle the target's events until deadline_ns (CLOCK_MONOTONIC) or
     * until it exits; ENGINE_EXECED is returned until ack_exec */
    enum engine_state (*wait)(struct engine *e, struct capqueue *q, uint64_t deadline_ns);
    void (*ack_exec)(struct engine *e);
    /* the rate changed (the screen's + and -); NULL for paced engines */
    void (*set_rate)(struct engine *e, unsigned hz);
    void (*get_stats)(const struct engine *e, struct engine_stats *out);
    /* wait status of the main thread once ENGINE_EXITED; -1 when unknown */
    int (*exit_status)(const struct engine *e);
    /* leave the target as it was (running, or stopped if the user stopped
     * it); frees e; NULL is ignored */
    void (*detach)(struct engine *e);
};

enum { ENGINE_SELF_TIMED = 1u << 0 };

#endif
