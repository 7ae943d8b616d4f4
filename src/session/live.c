/*
 * live.c - see live.h.  One mutex guards the request, the wake-up flag and
 * the slot; the work itself runs without it.
 */
#include "src/session/live.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "src/model/liveview.h"
#include "common/outfile.h"
#include "sampler/proc/procstat.h"

struct live {
    struct session *s;
    struct procstat *pst;
    uint64_t interval_ns;
    int efd;
    pthread_t th;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct live_req req;
    bool wake, zero, quit;
    struct live_frame *slot;
    bool save; /* live_save asked for: */
    char save_path[4096];
    enum output_format save_fmt;
    bool save_threads;

    /* refresher-only */
    struct procstat_snapshot *last_ps; /* kept when the target is gone */
    bool have_last_ps;
    uint64_t prev_count, prev_ns, frozen_now;
    double prev_base; /* target CPU seconds (clock engines) or wall seconds */
    double last_rate;
};

/* Achieved rate over the last second or so: the overall mean would hide a
 * rate change made with +/-.  A clock engine's samples are per CPU-second
 * of the target (its CPU time moves in 10 ms ticks: a window of a second
 * keeps that within 1%), a paced engine's rounds per wall second. */
static double achieved_rate(struct live *l, uint64_t now)
{
    struct session_stats st;
    session_get_stats(l->s, &st);
    bool clock = st.clock_samples > 0;
    uint64_t count = clock ? st.clock_samples : st.rounds;
    double base = clock ? st.target_cpu_s : (double)now / 1e9;
    uint64_t window = clock ? 1000000000ull : 200000000ull;
    if (!l->prev_ns) {
        double elapsed = clock ? st.target_cpu_s : session_elapsed(l->s);
        l->last_rate = elapsed > 0 ? (double)count / elapsed : 0.0;
    } else if (now - l->prev_ns >= window && count >= l->prev_count && base > l->prev_base) {
        l->last_rate = (double)(count - l->prev_count) / (base - l->prev_base);
    } else {
        return l->last_rate;
    }
    l->prev_count = count;
    l->prev_base = base;
    l->prev_ns = now;
    return l->last_rate;
}

/* procstat into f->ps; when the target is gone, the last good reading. */
static void read_procstat(struct live *l, struct live_frame *f)
{
    if (l->pst && procstat_read(l->pst, &f->ps) == 0 && f->ps.alive) {
        memcpy(l->last_ps, &f->ps, sizeof f->ps);
        l->have_last_ps = true;
        f->have_ps = true;
    } else if (l->have_last_ps) {
        memcpy(&f->ps, l->last_ps, sizeof f->ps);
        f->ps.alive = false;
        f->have_ps = true;
    }
}

static struct live_frame *build(struct live *l, const struct live_req *req)
{
    struct live_frame *f = live_frame_new();
    if (!f)
        return NULL;
    uint64_t t0 = clock_mono_ns();
    bool exited = session_target_exited(l->s);
    if (exited && !l->frozen_now)
        l->frozen_now = t0;
    uint64_t now = exited ? l->frozen_now : t0;
    read_procstat(l, f);
    f->run.rate_achieved = exited ? 0.0 : achieved_rate(l, t0);
    if (session_live(l->s, req, now, f->have_ps ? &f->ps : NULL, f) < 0) {
        live_frame_free(f);
        return NULL;
    }
    f->build_ms = (double)(clock_mono_ns() - t0) / 1e6;
    return f;
}

struct profile_ctx {
    struct session *s;
    enum output_format fmt;
    bool threads;
};

static int fill_profile(FILE *f, void *arg)
{
    const struct profile_ctx *c = arg;
    return session_write(c->s, f, c->fmt, c->threads) < 0 ? -EIO : 0;
}

/* The 'S' key's file, written where it cannot be seen half-done. */
static void save_profile(struct live *l, const char *path, enum output_format fmt, bool threads,
                         char *msg, size_t n)
{
    struct profile_ctx c = {l->s, fmt, threads};
    int rc = outfile_write(path, fill_profile, &c);
    if (rc == 0)
        snprintf(msg, n, "profile written to %.480s", path);
    else
        snprintf(msg, n, "cannot write the profile to %.400s: %s", path, strerror(-rc));
}

static void publish(struct live *l, struct live_frame *f)
{
    pthread_mutex_lock(&l->mu);
    live_frame_free(l->slot); /* the screen did not take it: it is stale */
    l->slot = f;
    pthread_mutex_unlock(&l->mu);
    uint64_t one = 1;
    if (write(l->efd, &one, sizeof one) < 0) {
        /* the counter cannot overflow in practice; nothing to do */
    }
}

static void wait_turn(struct live *l, uint64_t deadline)
{
    struct timespec ts = {(time_t)(deadline / 1000000000ull), (long)(deadline % 1000000000ull)};
    while (!l->wake && !l->quit)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT)
            break;
}

static void *live_main(void *arg)
{
    struct live *l = arg;
    /* On a busy machine the thread that answers keys must win the CPU
     * over the refresher: a frame late by a few ms is not seen, a key is. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5);
    pthread_mutex_lock(&l->mu);
    while (!l->quit) {
        struct live_req req = l->req;
        bool zero = l->zero, save = l->save;
        char path[sizeof l->save_path];
        memcpy(path, l->save_path, sizeof path);
        enum output_format fmt = l->save_fmt;
        bool threads = l->save_threads;
        l->wake = l->zero = l->save = false;
        pthread_mutex_unlock(&l->mu);
        if (zero)
            session_zero(l->s);
        char msg[sizeof((struct live_frame *)0)->msg] = "";
        if (save)
            save_profile(l, path, fmt, threads, msg, sizeof msg);
        struct live_frame *f = build(l, &req);
        if (f)
            memcpy(f->msg, msg, sizeof f->msg);
        pthread_mutex_lock(&l->mu);
        if (f && f->have_expand && l->req.seq == req.seq) {
            /* 'H' is done once: later frames keep the rows it opened */
            l->req.v.expand = f->expand;
            l->req.v.hot_expand = false;
        }
        pthread_mutex_unlock(&l->mu);
        if (f)
            publish(l, f);
        pthread_mutex_lock(&l->mu);
        wait_turn(l, clock_mono_ns() + l->interval_ns);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

struct live *live_start(struct session *s, double interval_s, const struct live_req *req)
{
    struct live *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->s = s;
    l->req = *req;
    l->interval_ns = (uint64_t)(interval_s * 1e9);
    l->pst = procstat_new(session_pid(s));
    l->last_ps = malloc(sizeof *l->last_ps);
    l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&l->mu, NULL);
    if (!l->last_ps || l->efd < 0 || pthread_create(&l->th, NULL, live_main, l) != 0) {
        int e = errno ? errno : ENOMEM;
        if (l->efd >= 0)
            close(l->efd);
        procstat_free(l->pst);
        free(l->last_ps);
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        free(l);
        errno = e;
        return NULL;
    }
    return l;
}

int live_fd(const struct live *l)
{
    return l->efd;
}

struct live_frame *live_take(struct live *l)
{
    uint64_t n;
    if (read(l->efd, &n, sizeof n) < 0) {
        /* EAGAIN: nothing new counted; the slot decides */
    }
    pthread_mutex_lock(&l->mu);
    struct live_frame *f = l->slot;
    l->slot = NULL;
    pthread_mutex_unlock(&l->mu);
    return f;
}

void live_request(struct live *l, const struct live_req *req)
{
    pthread_mutex_lock(&l->mu);
    l->req = *req;
    l->wake = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void live_save(struct live *l, const char *path, enum output_format fmt, bool threads)
{
    pthread_mutex_lock(&l->mu);
    snprintf(l->save_path, sizeof l->save_path, "%s", path);
    l->save_fmt = fmt;
    l->save_threads = threads;
    l->save = l->wake = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void live_zero(struct live *l)
{
    pthread_mutex_lock(&l->mu);
    l->zero = l->wake = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void live_stop(struct live *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->quit = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->th, NULL);
    live_frame_free(l->slot);
    procstat_free(l->pst);
    free(l->last_ps);
    close(l->efd);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
