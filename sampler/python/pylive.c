/*
 * pylive.c - the CPython live-read engine (see pylive.h).
 */
#include "sampler/python/pylive.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "common/clock.h"
#include "sampler/python/pysample.h"

#define ALIVE_NS 10000000ull /* is the target still there, this often */

struct py_engine {
    struct engine base;
    struct pysample *py;
    bool idle;
    bool gone;
    uint64_t alive_at;
    struct pysample_nb_counts nc;
    uint32_t threads_seen;
};

/* Before sampling: the interpreter found (--pid) and its memory readable;
 * a launched command has not exec'd yet, so it is looked for while
 * sampling. */
static int check_target(const struct engine_config *cfg, struct pysample *py, char *err,
                        size_t errsz)
{
    if (cfg->launched)
        return 0;
    if (!pysample_nb_alive(py)) {
        snprintf(err, errsz, "pertop: no process with PID %d — check the PID with ps or pgrep",
                 (int)cfg->pid);
        return -ENGINE_ENOTARGET;
    }
    int rc = pysample_find(py, err, errsz);
    if (rc == 0) {
        snprintf(err, errsz,
                 "pertop: no CPython found in process %d — --nonblocking reads Python frames "
                 "only; drop --nonblocking and --python to profile its native frames",
                 (int)cfg->pid);
        return -ENGINE_ENOTARGET;
    }
    if (rc < 0)
        return -engine_error_of_errno(rc);
    rc = pysample_nb_check(py, err, errsz);
    return rc < 0 ? -engine_error_of_errno(rc) : 0;
}

static int py_attach(struct engine **out, const struct engine_config *cfg, char *err, size_t errsz)
{
    if (!cfg->reader) {
        snprintf(err, errsz, "pertop: out of memory for the Python reader");
        return -ENGINE_EOTHER;
    }
    int rc = check_target(cfg, cfg->reader, err, errsz);
    if (rc < 0)
        return rc;
    struct py_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errsz, "pertop: out of memory");
        return -ENGINE_EOTHER;
    }
    e->base.ops = &python_live_engine_ops;
    e->py = cfg->reader;
    e->idle = cfg->idle;
    /* 10 kHz means 100 us sleeps: the default 50 us timer slack would
     * cost half the rate */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    *out = &e->base;
    return 0;
}

static void py_round(struct engine *base, struct capqueue *q)
{
    struct py_engine *e = (struct py_engine *)base;
    pysample_nb_round(e->py, q, e->idle, &e->nc);
    if (e->nc.threads > e->threads_seen)
        e->threads_seen = e->nc.threads;
    uint64_t t = clock_mono_ns();
    if (t - e->alive_at >= ALIVE_NS) {
        e->alive_at = t;
        e->gone = !pysample_nb_alive(e->py);
    }
}

static enum engine_state py_wait(struct engine *base, struct capqueue *q, uint64_t deadline_ns)
{
    (void)q;
    struct py_engine *e = (struct py_engine *)base;
    if (e->gone)
        return ENGINE_EXITED;
    struct timespec ts = {(time_t)(deadline_ns / 1000000000ull),
                          (long)(deadline_ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    return ENGINE_RUNNING;
}

static void py_ack_exec(struct engine *base)
{
    (void)base; /* exec is seen by the reader itself (its thread list goes) */
}

static void py_get_stats(const struct engine *base, struct engine_stats *out)
{
    const struct py_engine *e = (const struct py_engine *)base;
    *out = (struct engine_stats){.rounds = e->nc.rounds,
                                 .samples = e->nc.samples,
                                 .lost = e->nc.lost,
                                 .skipped_idle = e->nc.skipped_idle,
                                 .failed = e->nc.failed,
                                 .torn = e->nc.torn,
                                 .threads = e->nc.threads,
                                 .threads_seen = e->threads_seen};
}

static int py_exit_status(const struct engine *base)
{
    (void)base;
    return -1; /* not our child: its status is its parent's */
}

static void py_detach(struct engine *base)
{
    free(base); /* nothing attached: the reader is the caller's */
}

const struct engine_ops python_live_engine_ops = {
    .name = "python-live",
    .flags = 0,
    .attach = py_attach,
    .round = py_round,
    .wait = py_wait,
    .ack_exec = py_ack_exec,
    .set_rate = NULL,
    .get_stats = py_get_stats,
    .exit_status = py_exit_status,
    .detach = py_detach,
};
