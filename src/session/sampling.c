/*
 * sampling.c - the sampler thread (see sampling.h).
 */
#include "src/session/sampling.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "sampler/pacer.h"

#define WAIT_SLICE_NS    50000000ull /* how often the thread looks for a stop */
#define GO_POLL_NS       2000000ull  /* before the start: events handled this often */
#define PUBLISH_EVERY_NS 50000000ull

enum run_state { RUN_WAIT, RUN_GO, RUN_ABORT };

struct sampling {
    struct sampling_cfg cfg;
    struct engine *e;
    pthread_t th;
    bool started, joined;
    atomic_bool stop, exited;
    atomic_uint exec_gen, rate_hz, applied_hz;

    pthread_mutex_t lock; /* everything below */
    pthread_cond_t cond;
    int attach_done, attach_rc;
    char attach_err[512];
    enum run_state run;
    struct sampling_figs figs;
};

static void publish(struct sampling *s, bool last)
{
    pthread_mutex_lock(&s->lock);
    if (s->e)
        s->e->ops->get_stats(s->e, &s->figs.st);
    if (s->cfg.on_publish)
        s->cfg.on_publish(s->cfg.ctx);
    if (last) {
        s->figs.t_end_ns = clock_mono_ns();
        s->figs.cpu_ns = clock_thread_cpu_ns();
        s->figs.exited = atomic_load(&s->exited);
        if (s->figs.exited && s->e)
            s->figs.exit_status = s->e->ops->exit_status(s->e);
    }
    pthread_mutex_unlock(&s->lock);
}

/* Handles the target's events until deadline, in slices so a stop request
 * is seen soon, and at least once even when deadline has passed: when every
 * round overruns its period (busy threads that are slow to stop at a high
 * rate) the engine must still hear from the threads it does not sample, or
 * a sleeping thread's report (the signal-delivery-stop of a SIGSTOP) waits
 * unhandled and holds back the stop of the whole process.  Returns false
 * when the target is gone. */
static bool wait_until(struct sampling *s, uint64_t deadline)
{
    for (bool once = false;; once = true) {
        uint64_t t = clock_mono_ns();
        if ((once && t >= deadline) || atomic_load(&s->stop))
            return true;
        uint64_t slice =
            deadline <= t || deadline - t < WAIT_SLICE_NS ? deadline : t + WAIT_SLICE_NS;
        enum engine_state st = s->e->ops->wait(s->e, s->cfg.q, slice);
        if (st == ENGINE_EXITED)
            return false;
        if (st == ENGINE_EXECED) {
            atomic_fetch_add(&s->exec_gen, 1);
            if (s->cfg.on_exec)
                s->cfg.on_exec(s->cfg.ctx); /* a new program: readers look again */
            s->e->ops->ack_exec(s->e);
        }
    }
}

/* Before the start (launch mode: until the command has been let go), keep
 * handling events so the target is never held up. */
static bool wait_for_go(struct sampling *s)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        enum run_state r = s->run;
        pthread_mutex_unlock(&s->lock);
        if (r != RUN_WAIT || atomic_load(&s->stop))
            return r == RUN_GO && !atomic_load(&s->stop);
        if (!wait_until(s, clock_mono_ns() + GO_POLL_NS)) {
            atomic_store(&s->exited, true);
            return false;
        }
    }
}

static void apply_rate(struct sampling *s)
{
    unsigned hz = atomic_load(&s->rate_hz);
    if (hz != atomic_load(&s->applied_hz) && s->e->ops->set_rate) {
        s->e->ops->set_rate(s->e, hz);
        atomic_store(&s->applied_hz, hz);
    }
}

static void loop(struct sampling *s)
{
    bool paced = !(s->e->ops->flags & ENGINE_SELF_TIMED);
    struct pacer pc;
    pacer_init(&pc, clock_mono_ns(), (uint64_t)s->cfg.engine.pid << 32);
    uint64_t published = 0;
    while (!atomic_load(&s->stop)) {
        apply_rate(s);
        s->e->ops->round(s->e, s->cfg.q);
        uint64_t t = clock_mono_ns();
        uint64_t next = paced ? pacer_next(&pc, t, atomic_load(&s->rate_hz)) : t + WAIT_SLICE_NS;
        if (!wait_until(s, next)) {
            atomic_store(&s->exited, true);
            break;
        }
        if (clock_mono_ns() - published >= PUBLISH_EVERY_NS) {
            publish(s, false);
            published = clock_mono_ns();
        }
    }
}

static void report_attach(struct sampling *s, int rc, const char *err)
{
    pthread_mutex_lock(&s->lock);
    s->attach_rc = rc;
    snprintf(s->attach_err, sizeof s->attach_err, "%s", err);
    s->attach_done = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void *sampler_main(void *arg)
{
    struct sampling *s = arg;
    char err[512] = "";
    int rc = s->cfg.ops->attach(&s->e, &s->cfg.engine, err, sizeof err);
    report_attach(s, rc, err);
    if (rc < 0) {
        s->e = NULL; /* the queue stays open: the caller may try another engine */
        return NULL;
    }
    if (wait_for_go(s)) {
        pthread_mutex_lock(&s->lock);
        s->figs.t0_ns = clock_mono_ns();
        pthread_mutex_unlock(&s->lock);
        loop(s);
    }
    publish(s, true);
    s->e->ops->detach(s->e);
    pthread_mutex_lock(&s->lock);
    s->e = NULL;
    pthread_mutex_unlock(&s->lock);
    capqueue_close(s->cfg.q);
    return NULL;
}

int sampling_start(struct sampling **out, const struct sampling_cfg *cfg, char *err, size_t errsz)
{
    *out = NULL;
    struct sampling *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errsz, "pertop: out of memory");
        return -ENGINE_EOTHER;
    }
    s->cfg = *cfg;
    s->figs.engine = cfg->ops->name;
    s->figs.exit_status = -1;
    atomic_init(&s->rate_hz, cfg->engine.rate_hz);
    atomic_init(&s->applied_hz, cfg->engine.rate_hz);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    *out = s;
    if (pthread_create(&s->th, NULL, sampler_main, s) != 0) {
        snprintf(err, errsz, "pertop: cannot start the sampler thread: %s", strerror(errno));
        return -ENGINE_EOTHER;
    }
    s->started = true;
    pthread_mutex_lock(&s->lock);
    while (!s->attach_done)
        pthread_cond_wait(&s->cond, &s->lock);
    int rc = s->attach_rc;
    if (rc < 0)
        snprintf(err, errsz, "%s", s->attach_err);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void set_run(struct sampling *s, enum run_state r)
{
    pthread_mutex_lock(&s->lock);
    if (s->run == RUN_WAIT)
        s->run = r;
    pthread_mutex_unlock(&s->lock);
}

void sampling_go(struct sampling *s)
{
    set_run(s, RUN_GO);
}

void sampling_stop(struct sampling *s)
{
    if (!s || s->joined)
        return;
    atomic_store(&s->stop, true);
    set_run(s, RUN_ABORT);
    if (s->started)
        pthread_join(s->th, NULL); /* detaches before returning */
    s->joined = true;
}

void sampling_free(struct sampling *s)
{
    if (!s)
        return;
    sampling_stop(s);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

bool sampling_exited(struct sampling *s)
{
    return atomic_load(&s->exited);
}

unsigned sampling_exec_gen(struct sampling *s)
{
    return atomic_load(&s->exec_gen);
}

void sampling_set_rate(struct sampling *s, unsigned hz)
{
    atomic_store(&s->rate_hz, hz);
}

unsigned sampling_rate(struct sampling *s)
{
    return atomic_load(&s->rate_hz);
}

void sampling_get(struct sampling *s, struct sampling_figs *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->figs;
    out->exited = atomic_load(&s->exited);
    pthread_mutex_unlock(&s->lock);
}
