/*
 * replay_engine.c - the scripted engine (see replay_engine.h).
 *
 * One mutex guards the script, the play position and the records: the
 * sampler thread plays and records under it, the test thread scripts and
 * reads under it.  A condition variable on CLOCK_MONOTONIC wakes the
 * engine's wait when events are added and the test's waits when events
 * were played.
 */
#include "tests/replay_engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"

#define NAMES_MAX    64
#define FULL_WAIT_NS 1000000ull /* a full queue is looked at again this soon */

enum replay_kind { EV_CAPTURE, EV_NAME, EV_LOST, EV_EXEC, EV_EXIT };

struct replay_event {
    enum replay_kind kind;
    pid_t tid;                /* CAPTURE, NAME */
    uint32_t flags;           /* CAPTURE: CAPTURE_* */
    struct capture_regs regs; /* CAPTURE */
    uint8_t *stack;           /* CAPTURE: bytes at regs.rsp, owned; NULL: none */
    uint32_t stack_len;
    char name[CAPTURE_COMM_LEN]; /* NAME */
    uint64_t count;              /* LOST */
    int status;                  /* EXIT */
};

struct replay_name {
    pid_t tid;
    char name[CAPTURE_COMM_LEN];
};

struct replay {
    struct engine base; /* first: the session holds the replay as its engine */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* events added, events played, rates set */

    struct replay_event *ev;
    size_t n, cap, played;
    bool execed, exited; /* an exec not acknowledged; the exit played */
    int exit_status;

    enum engine_error fail;
    char fail_msg[256];

    struct replay_name names[NAMES_MAX];
    size_t nnames;
    pid_t seen[NAMES_MAX]; /* distinct tids captured, for threads_seen */
    size_t nseen;

    struct engine_stats st;
    struct replay_calls calls;
    struct engine_config cfg;
};

static const struct engine_ops replay_engine_ops;
/* attach is not told which replay it is: replay_ops says it beforehand */
static struct replay *current;

/* ------------------------------------------------------------ script */

struct replay *replay_new(void)
{
    struct replay *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines are CLOCK_MONOTONIC */
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->lock, NULL);
    r->base.ops = &replay_engine_ops;
    r->exit_status = -1;
    return r;
}

void replay_free(struct replay *r)
{
    if (!r)
        return;
    if (current == r)
        current = NULL;
    for (size_t i = 0; i < r->n; i++)
        free(r->ev[i].stack);
    free(r->ev);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

const struct engine_ops *replay_ops(struct replay *r)
{
    current = r;
    return &replay_engine_ops;
}

void replay_fail_attach(struct replay *r, enum engine_error err, const char *msg)
{
    pthread_mutex_lock(&r->lock);
    r->fail = err;
    snprintf(r->fail_msg, sizeof r->fail_msg, "%s", msg);
    pthread_mutex_unlock(&r->lock);
}

/* Appends ev (its stack now the replay's) and wakes a waiting engine.
 * Out of memory aborts: a test cannot go on with a script cut short. */
static void push(struct replay *r, const struct replay_event *ev)
{
    pthread_mutex_lock(&r->lock);
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct replay_event *p = realloc(r->ev, cap * sizeof *p);
        if (!p)
            abort();
        r->ev = p;
        r->cap = cap;
    }
    r->ev[r->n++] = *ev;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void replay_capture(struct replay *r, pid_t tid, uint64_t ip, uint32_t flags)
{
    struct replay_event ev = {.kind = EV_CAPTURE, .tid = tid, .flags = flags};
    ev.regs.rip = ip;
    push(r, &ev);
}

void replay_capture_stack(struct replay *r, pid_t tid, const struct replay_stack *st,
                          uint32_t flags)
{
    struct replay_event ev = {.kind = EV_CAPTURE, .tid = tid, .flags = flags, .regs = st->regs};
    if (st->len) {
        ev.stack = malloc(st->len);
        if (!ev.stack)
            abort();
        memcpy(ev.stack, st->bytes, st->len);
        ev.stack_len = st->len;
    }
    push(r, &ev);
}

void replay_name(struct replay *r, pid_t tid, const char *name)
{
    struct replay_event ev = {.kind = EV_NAME, .tid = tid};
    snprintf(ev.name, sizeof ev.name, "%s", name);
    push(r, &ev);
}

void replay_lost(struct replay *r, uint64_t n)
{
    push(r, &(struct replay_event){.kind = EV_LOST, .count = n});
}

void replay_exec(struct replay *r)
{
    push(r, &(struct replay_event){.kind = EV_EXEC});
}

void replay_exit(struct replay *r, int status)
{
    push(r, &(struct replay_event){.kind = EV_EXIT, .status = status});
}

/* ------------------------------------------------------------ playing */

static const char *name_of(const struct replay *r, pid_t tid)
{
    for (size_t i = 0; i < r->nnames; i++)
        if (r->names[i].tid == tid)
            return r->names[i].name;
    return "";
}

static void set_name(struct replay *r, pid_t tid, const char *name)
{
    size_t i = 0;
    while (i < r->nnames && r->names[i].tid != tid)
        i++;
    if (i == NAMES_MAX)
        return;
    r->nnames += i == r->nnames;
    r->names[i].tid = tid;
    snprintf(r->names[i].name, sizeof r->names[i].name, "%s", name);
}

static void note_thread(struct replay *r, pid_t tid)
{
    for (size_t i = 0; i < r->nseen; i++)
        if (r->seen[i] == tid)
            return;
    if (r->nseen < NAMES_MAX)
        r->seen[r->nseen++] = tid;
}

/* Every field of the slot: the queue resets only a few. */
static void fill_capture(struct replay *r, struct capture *c, const struct replay_event *ev)
{
    c->tid = ev->tid;
    c->state = 'R';
    snprintf(c->comm, sizeof c->comm, "%s", name_of(r, ev->tid));
    c->flags = CAPTURE_ONCPU | ev->flags;
    c->time_ns = clock_mono_ns();
    c->stop_ns = 0;
    c->regs = ev->regs;
    c->stack_addr = ev->regs.rsp;
    c->stack_len = ev->stack_len < c->stack_cap ? ev->stack_len : c->stack_cap;
    if (c->stack_len)
        memcpy(c->stack, ev->stack, c->stack_len);
    if (c->stack_len < r->cfg.stack_size)
        c->flags |= CAPTURE_STACK_SHORT;
    c->weight_ns = 0;
    c->kern_n = 0;
    c->py_n = 0;
}

/* One capture into q through the reader's hooks, as a real engine does;
 * false when the queue is full (the event stays to be played later). */
static bool play_capture(struct replay *r, struct capqueue *q, const struct replay_event *ev)
{
    const struct engine_hooks *h = &r->cfg.hooks;
    if (h->want && !h->want(h->ctx, ev->tid)) {
        r->st.skipped_idle++;
        return true;
    }
    struct capture *c = capqueue_reserve(q);
    if (!c)
        return false;
    fill_capture(r, c, ev);
    note_thread(r, ev->tid);
    if (h->captured && h->captured(h->ctx, c) < 0)
        return true; /* dropped by the reader: the slot stays reserved */
    if (h->released)
        h->released(h->ctx, c);
    capqueue_commit_quiet(q);
    r->st.samples++;
    return true;
}

/* Plays one event; false when it must wait (full queue). */
static bool play_one(struct replay *r, struct capqueue *q, const struct replay_event *ev)
{
    switch (ev->kind) {
    case EV_CAPTURE:
        return play_capture(r, q, ev);
    case EV_NAME:
        set_name(r, ev->tid, ev->name);
        return true;
    case EV_LOST:
        r->st.lost += ev->count;
        return true;
    case EV_EXEC:
        r->execed = true;
        return true;
    case EV_EXIT:
        r->exited = true;
        r->exit_status = ev->status;
        return true;
    }
    return true;
}

/* Plays what is due, under the lock, up to an exec or the exit; false when
 * stopped by a full queue.  One consumer wake-up per batch. */
static bool play(struct replay *r, struct capqueue *q)
{
    bool ok = true;
    size_t before = r->played;
    while (!r->execed && !r->exited && r->played < r->n) {
        ok = play_one(r, q, &r->ev[r->played]);
        if (!ok)
            break;
        r->played++;
    }
    if (r->played != before) {
        capqueue_wake(q);
        pthread_cond_broadcast(&r->cond); /* replay_wait_played */
    }
    return ok;
}

static struct timespec ts_of(uint64_t ns)
{
    return (struct timespec){(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
}

/* ------------------------------------------------------------ engine_ops */

static int rp_attach(struct engine **out, const struct engine_config *cfg, char *err, size_t errsz)
{
    struct replay *r = current;
    if (!r) {
        snprintf(err, errsz, "replay: replay_ops was not called");
        return -ENGINE_EOTHER;
    }
    pthread_mutex_lock(&r->lock);
    r->calls.attach++;
    r->calls.cfg = *cfg;
    r->cfg = *cfg;
    int rc = r->fail == ENGINE_OK ? 0 : -(int)r->fail;
    if (rc < 0)
        snprintf(err, errsz, "%s", r->fail_msg);
    pthread_mutex_unlock(&r->lock);
    if (rc == 0)
        *out = &r->base;
    return rc;
}

static void rp_round(struct engine *e, struct capqueue *q)
{
    struct replay *r = (struct replay *)e;
    pthread_mutex_lock(&r->lock);
    const struct engine_hooks *h = &r->cfg.hooks;
    if (h->round)
        h->round(h->ctx);
    r->calls.rounds++;
    r->st.rounds++;
    play(r, q);
    pthread_mutex_unlock(&r->lock);
}

/* Plays what comes until the deadline; sleeps on the condition meanwhile
 * (briefly when the queue is full, so the consumer can make room). */
static enum engine_state rp_wait(struct engine *e, struct capqueue *q, uint64_t deadline_ns)
{
    struct replay *r = (struct replay *)e;
    enum engine_state st = ENGINE_RUNNING;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        bool room = play(r, q);
        if (r->execed || r->exited) {
            st = r->execed ? ENGINE_EXECED : ENGINE_EXITED;
            break;
        }
        uint64_t now = clock_mono_ns();
        if (now >= deadline_ns)
            break;
        uint64_t until = room ? deadline_ns : now + FULL_WAIT_NS;
        struct timespec ts = ts_of(until < deadline_ns ? until : deadline_ns);
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    }
    pthread_mutex_unlock(&r->lock);
    return st;
}

static void rp_ack_exec(struct engine *e)
{
    struct replay *r = (struct replay *)e;
    pthread_mutex_lock(&r->lock);
    r->calls.ack_exec++;
    r->execed = false;
    pthread_cond_broadcast(&r->cond); /* the exec is played only once acknowledged */
    pthread_mutex_unlock(&r->lock);
}

static void rp_set_rate(struct engine *e, unsigned hz)
{
    struct replay *r = (struct replay *)e;
    pthread_mutex_lock(&r->lock);
    if (r->calls.nrates < REPLAY_RATES_MAX)
        r->calls.rates[r->calls.nrates] = hz;
    r->calls.nrates++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void rp_get_stats(const struct engine *e, struct engine_stats *out)
{
    struct replay *r = (struct replay *)e;
    pthread_mutex_lock(&r->lock);
    *out = r->st;
    out->threads = out->threads_seen = (uint32_t)r->nseen;
    pthread_mutex_unlock(&r->lock);
}

static int rp_exit_status(const struct engine *e)
{
    struct replay *r = (struct replay *)e;
    pthread_mutex_lock(&r->lock);
    int st = r->exited ? r->exit_status : -1;
    pthread_mutex_unlock(&r->lock);
    return st;
}

/* The replay stays: the test reads its records after the session. */
static void rp_detach(struct engine *e)
{
    if (!e)
        return;
    struct replay *r = (struct replay *)e;
    pthread_mutex_lock(&r->lock);
    r->calls.detach++;
    pthread_mutex_unlock(&r->lock);
}

static const struct engine_ops replay_engine_ops = {
    .name = "replay",
    .flags = ENGINE_SELF_TIMED,
    .attach = rp_attach,
    .round = rp_round,
    .wait = rp_wait,
    .ack_exec = rp_ack_exec,
    .set_rate = rp_set_rate,
    .get_stats = rp_get_stats,
    .exit_status = rp_exit_status,
    .detach = rp_detach,
};

/* ------------------------------------------------------------ the test's side */

/* Waits on the condition until done(r, arg) or timeout_ms; under the lock. */
static bool wait_for(struct replay *r, bool (*done)(const struct replay *, unsigned), unsigned arg,
                     int timeout_ms)
{
    uint64_t deadline = clock_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    struct timespec ts = ts_of(deadline);
    pthread_mutex_lock(&r->lock);
    bool ok;
    while (!(ok = done(r, arg)) && clock_mono_ns() < deadline)
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    pthread_mutex_unlock(&r->lock);
    return ok;
}

static bool all_played(const struct replay *r, unsigned unused)
{
    (void)unused;
    return r->exited || (r->played == r->n && !r->execed);
}

static bool rates_set(const struct replay *r, unsigned n)
{
    return r->calls.nrates >= n;
}

bool replay_wait_played(struct replay *r, int timeout_ms)
{
    return wait_for(r, all_played, 0, timeout_ms);
}

bool replay_wait_rates(struct replay *r, unsigned n, int timeout_ms)
{
    return wait_for(r, rates_set, n, timeout_ms);
}

void replay_get_calls(struct replay *r, struct replay_calls *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->calls;
    pthread_mutex_unlock(&r->lock);
}

/* ------------------------------------------------------------ stacks */

/* Byte by byte, not instrumented: the copy reads other functions' frames,
 * which a sanitizer would report as out of bounds. */
__attribute__((no_sanitize_address)) static void copy_frames(uint8_t *dst, uint64_t src, uint64_t n)
{
    const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)src;
    for (uint64_t i = 0; i < n; i++)
        dst[i] = p[i];
}

int replay_stack_copy(struct replay_stack *st, uint32_t max)
{
    pthread_attr_t a;
    void *lo;
    size_t size;
    st->bytes = NULL;
    st->len = 0;
    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return -1;
    int rc = pthread_attr_getstack(&a, &lo, &size);
    pthread_attr_destroy(&a);
    uint64_t top = (uint64_t)(uintptr_t)lo + size, sp = st->regs.rsp;
    if (rc != 0 || sp < (uint64_t)(uintptr_t)lo || sp >= top)
        return -1;
    uint64_t n = top - sp < max ? top - sp : max; /* never past the stack's top */
    st->bytes = malloc(n);
    if (!st->bytes)
        return -1;
    copy_frames(st->bytes, sp, n);
    st->len = (uint32_t)n;
    return 0;
}

void replay_stack_free(struct replay_stack *st)
{
    free(st->bytes);
    st->bytes = NULL;
    st->len = 0;
}
