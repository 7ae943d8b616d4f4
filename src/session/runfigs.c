/*
 * runfigs.c - the run's figures (see runfigs.h).
 */
#include "src/session/runfigs.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/clock.h"
#include "sampler/proc/procstat.h"
#include "src/export/report.h"

#define FIGS_MIN_NS      250000000ull  /* a reading every 250 ms, */
#define FIGS_MAX_NS      2000000000ull /* up to 2 s for a process whose reading is slow, */
#define FIGS_COST_FACTOR 200           /* so that reading costs at most 0.5% of a CPU */

struct runfigs {
    struct procstat *ps;
    struct procstat_snapshot snap;
    uint64_t last_ns, every_ns;
    pthread_mutex_t lock; /* figs */
    struct report_figs figs;
    runfigs_stack_fn stack;
    void *stack_ctx;
    size_t stack_next; /* the blocked thread to start from at the next reading */
};

struct runfigs *runfigs_new(pid_t pid)
{
    struct runfigs *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    /* the CPU, memory and I/O figures; each thread's time and blocking
     * call for the verdict and the Waits table (a few reads per thread) */
    f->ps = procstat_new_want(pid, PS_WANT_CPU | PS_WANT_MEM | PS_WANT_IO | PS_WANT_THREADS |
                                       PS_WANT_WAITS);
    if (!f->ps) {
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->lock, NULL);
    return f;
}

void runfigs_free(struct runfigs *f)
{
    if (!f)
        return;
    procstat_free(f->ps);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void runfigs_set_stacks(struct runfigs *f, runfigs_stack_fn fn, void *ctx)
{
    if (!f)
        return;
    f->stack = fn;
    f->stack_ctx = ctx;
}

/* The stacks of the blocked threads, a bounded number a reading: a
 * thousand idle workers cost sixteen stack reads, not a thousand. */
static void take_stacks(struct runfigs *f)
{
    struct procstat_snapshot *s = &f->snap;
    size_t n = s->nthread_rows, taken = 0;
    for (size_t k = 0; f->stack && n && k < n && taken < RUNFIGS_STACKS_PER_READING; k++) {
        struct procstat_thread *t = &s->threads[(f->stack_next + k) % n];
        if (!t->wait.blocked)
            continue;
        f->stack(f->stack_ctx, t);
        taken++;
        if (taken == RUNFIGS_STACKS_PER_READING)
            f->stack_next = (f->stack_next + k + 1) % n;
    }
}

void runfigs_take(struct runfigs *f)
{
    if (!f)
        return;
    uint64_t t0 = clock_mono_ns();
    f->last_ns = t0;
    f->every_ns = FIGS_MAX_NS;
    if (procstat_read(f->ps, &f->snap) < 0)
        return;
    for (size_t i = 0; i < f->snap.nthread_rows; i++) {
        struct procstat_thread *t = &f->snap.threads[i];
        t->nwait_frames = 0;
        t->wait_lock_module = UINT32_MAX;
        t->wait_owner = 0;
        t->wait_owner_frame = UINT32_MAX;
    }
    /* the pace follows what procfs costs; the stacks are bounded apart
     * (RUNFIGS_STACKS_PER_READING), and the first ones, cold, can take
     * long enough to leave a one-second command with one reading */
    uint64_t every = FIGS_COST_FACTOR * (clock_mono_ns() - t0);
    take_stacks(f);
    f->every_ns = every < FIGS_MIN_NS ? FIGS_MIN_NS : every > FIGS_MAX_NS ? FIGS_MAX_NS : every;
    pthread_mutex_lock(&f->lock);
    report_figs_add(&f->figs, &f->snap);
    pthread_mutex_unlock(&f->lock);
}

void runfigs_maybe_take(struct runfigs *f, uint64_t now_ns)
{
    if (f && now_ns - f->last_ns >= f->every_ns)
        runfigs_take(f);
}

struct report_figs *runfigs_copy(struct runfigs *f)
{
    struct report_figs *c = f ? malloc(sizeof *c) : NULL;
    if (!c)
        return NULL;
    pthread_mutex_lock(&f->lock);
    *c = f->figs;
    pthread_mutex_unlock(&f->lock);
    if (!c->readings) {
        free(c);
        return NULL;
    }
    return c;
}

void runfigs_meta(struct runfigs *f, struct prof_meta *out)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    report_figs_meta(&f->figs, out);
    pthread_mutex_unlock(&f->lock);
}
