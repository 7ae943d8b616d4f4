/*
 * offcpu.c - off-CPU waits put together from out-of-order records (see
 * offcpu.h).
 *
 * Events are buffered as they are drained, sorted by time (then by kind, so
 * that at one instant a switch-out record comes before its sample and a
 * switch-in after it), and applied in that order up to the watermark.  A
 * thread table (open addressing, keyed by tid, backward-shift deletion)
 * holds each thread's open wait and its last switch-out record.
 */
#include "sampler/perf/offcpu.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

#define NO_SLOT    UINT32_MAX
#define TABLE_BITS 15 /* 2 x OFFCPU_THREADS_MAX */
#define TABLE_SIZE (1u << TABLE_BITS)
/* a switch-out record and its sample are taken in the same scheduler call */
#define NEAR_NS 200000ull

enum ev_kind { EV_OUT, EV_SAMPLE, EV_IN, EV_EXIT };

struct ev {
    uint64_t time;
    pid_t tid;
    uint8_t kind;
    bool preempt;
    uint32_t slot; /* EV_SAMPLE: its capture */
    uint32_t seq;  /* arrival order, for a stable sort */
};

struct slot {
    struct capture c;
    uint64_t since; /* start of the part of the wait not yet released */
    bool open;      /* applied: the thread is away */
};

struct thr {
    pid_t tid; /* 0: empty */
    uint32_t slot;
    uint64_t out_ns;
    bool out_preempt;
};

struct offcpu {
    struct slot *slots;
    uint8_t *stacks;
    uint32_t *free;
    unsigned nfree, pool;
    struct ev *ev;
    size_t nev, max_ev;
    uint32_t seq, filling;
    struct thr *tab;
    size_t ntab;
    struct offcpu_stats st;
};

struct offcpu *offcpu_new(uint32_t stack_cap, unsigned pool, unsigned max_events)
{
    struct offcpu *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->pool = pool;
    o->max_ev = max_events;
    o->filling = NO_SLOT;
    o->slots = calloc(pool ? pool : 1, sizeof *o->slots);
    o->stacks = malloc((size_t)(pool ? pool : 1) * (stack_cap ? stack_cap : 1));
    o->free = malloc((pool ? pool : 1) * sizeof *o->free);
    o->ev = malloc((max_events ? max_events : 1) * sizeof *o->ev);
    o->tab = calloc(TABLE_SIZE, sizeof *o->tab);
    if (!o->slots || !o->stacks || !o->free || !o->ev || !o->tab) {
        offcpu_free(o);
        return NULL;
    }
    for (unsigned i = 0; i < pool; i++) {
        o->slots[i].c.stack = o->stacks + (size_t)i * stack_cap;
        o->slots[i].c.stack_cap = stack_cap;
        o->free[o->nfree++] = pool - 1 - i;
    }
    return o;
}

void offcpu_free(struct offcpu *o)
{
    if (!o)
        return;
    free(o->slots);
    free(o->stacks);
    free(o->free);
    free(o->ev);
    free(o->tab);
    free(o);
}

/* ------------------------------------------------------------ threads */

static uint32_t home(pid_t tid)
{
    return hash_fib_top((uint32_t)tid, TABLE_BITS);
}

static struct thr *find(struct offcpu *o, pid_t tid)
{
    for (uint32_t i = home(tid), n = 0; n < TABLE_SIZE; n++, i = (i + 1) & (TABLE_SIZE - 1)) {
        if (o->tab[i].tid == tid)
            return &o->tab[i];
        if (!o->tab[i].tid)
            return NULL;
    }
    return NULL;
}

static void release_slot(struct offcpu *o, uint32_t slot)
{
    o->slots[slot].open = false;
    o->free[o->nfree++] = slot;
}

/* Threads that no wait holds are forgotten: their EXIT was lost. */
static void sweep(struct offcpu *o)
{
    struct thr *old = o->tab;
    struct thr *fresh = calloc(TABLE_SIZE, sizeof *fresh);
    if (!fresh)
        return;
    o->tab = fresh;
    o->ntab = 0;
    for (uint32_t i = 0; i < TABLE_SIZE; i++) {
        if (!old[i].tid || old[i].slot == NO_SLOT)
            continue;
        uint32_t j = home(old[i].tid);
        while (fresh[j].tid)
            j = (j + 1) & (TABLE_SIZE - 1);
        fresh[j] = old[i];
        o->ntab++;
    }
    free(old);
}

static struct thr *insert(struct offcpu *o, pid_t tid)
{
    struct thr *t = find(o, tid);
    if (t)
        return t;
    if (o->ntab >= OFFCPU_THREADS_MAX)
        sweep(o);
    if (o->ntab >= OFFCPU_THREADS_MAX)
        return NULL;
    uint32_t i = home(tid);
    while (o->tab[i].tid)
        i = (i + 1) & (TABLE_SIZE - 1);
    o->tab[i] = (struct thr){.tid = tid, .slot = NO_SLOT};
    o->ntab++;
    return &o->tab[i];
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void remove_thr(struct offcpu *o, struct thr *t)
{
    uint32_t i = (uint32_t)(t - o->tab);
    o->tab[i].tid = 0;
    o->ntab--;
    for (uint32_t j = (i + 1) & (TABLE_SIZE - 1); o->tab[j].tid; j = (j + 1) & (TABLE_SIZE - 1)) {
        uint32_t h = home(o->tab[j].tid);
        /* can entry j move into the hole at i?  Only if its home is not in (i, j] */
        bool between = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (between)
            continue;
        o->tab[i] = o->tab[j];
        o->tab[j].tid = 0;
        i = j;
    }
}

/* ------------------------------------------------------------ events in */

static bool push(struct offcpu *o, struct ev ev)
{
    if (o->nev >= o->max_ev)
        return false;
    ev.seq = o->seq++;
    o->ev[o->nev++] = ev;
    return true;
}

struct capture *offcpu_sample(struct offcpu *o, pid_t tid, uint64_t time_ns)
{
    if (o->filling != NO_SLOT)
        offcpu_commit(o, false);
    if (!o->nfree || o->nev >= o->max_ev) {
        o->st.dropped++;
        return NULL;
    }
    uint32_t slot = o->free[--o->nfree];
    struct capture *c = &o->slots[slot].c;
    c->pid = 0;
    c->tid = tid;
    c->time_ns = time_ns;
    c->flags = 0;
    c->state = 'S';
    c->weight_ns = 0;
    c->kern_n = 0;
    c->py_n = 0;
    c->comm[0] = '\0';
    o->filling = slot;
    return c;
}

void offcpu_commit(struct offcpu *o, bool ok)
{
    uint32_t slot = o->filling;
    if (slot == NO_SLOT)
        return;
    o->filling = NO_SLOT;
    const struct capture *c = &o->slots[slot].c;
    if (!ok ||
        !push(o, (struct ev){.time = c->time_ns, .tid = c->tid, .kind = EV_SAMPLE, .slot = slot}))
        release_slot(o, slot);
}

void offcpu_switch(struct offcpu *o, pid_t tid, bool out, bool preempt, uint64_t time_ns)
{
    push(o, (struct ev){
                .time = time_ns, .tid = tid, .kind = out ? EV_OUT : EV_IN, .preempt = preempt});
}

void offcpu_exit(struct offcpu *o, pid_t tid, uint64_t time_ns)
{
    push(o, (struct ev){.time = time_ns, .tid = tid, .kind = EV_EXIT});
}

/* ------------------------------------------------------------ release */

static int ev_cmp(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool near(uint64_t a, uint64_t b)
{
    return (a > b ? a - b : b - a) < NEAR_NS;
}

/* The wait of t ends at time: released whole (what is left of it). */
static void end_wait(struct offcpu *o, struct thr *t, uint64_t time, offcpu_emit_fn emit, void *ctx)
{
    struct slot *s = &o->slots[t->slot];
    if (time > s->since)
        emit(ctx, &s->c, time - s->since);
    o->st.waits++;
    release_slot(o, t->slot);
    t->slot = NO_SLOT;
}

static void apply_sample(struct offcpu *o, const struct ev *ev)
{
    struct thr *t = insert(o, ev->tid);
    if (!t) {
        o->st.dropped++;
        release_slot(o, ev->slot);
        return;
    }
    if (t->slot != NO_SLOT) { /* the last wait's switch-in was lost */
        o->st.unmatched++;
        release_slot(o, t->slot);
    }
    struct slot *s = &o->slots[ev->slot];
    s->open = true;
    s->since = ev->time;
    if (t->out_preempt && near(t->out_ns, ev->time))
        s->c.state = 'R';
    t->slot = ev->slot;
}

static void apply(struct offcpu *o, const struct ev *ev, offcpu_emit_fn emit, void *ctx)
{
    if (ev->kind == EV_SAMPLE) {
        apply_sample(o, ev);
        return;
    }
    struct thr *t = ev->kind == EV_OUT ? insert(o, ev->tid) : find(o, ev->tid);
    if (!t)
        return;
    if (ev->kind == EV_OUT) {
        t->out_ns = ev->time;
        t->out_preempt = ev->preempt;
        if (t->slot != NO_SLOT && ev->preempt && near(o->slots[t->slot].since, ev->time))
            o->slots[t->slot].c.state = 'R';
        return;
    }
    if (t->slot != NO_SLOT)
        end_wait(o, t, ev->time, emit, ctx);
    if (ev->kind == EV_EXIT)
        remove_thr(o, t);
}

/* Waits open at upto for more than a slice: what has passed so far. */
static void release_parts(struct offcpu *o, uint64_t upto, uint64_t slice, offcpu_emit_fn emit,
                          void *ctx)
{
    for (unsigned i = 0; i < o->pool; i++) {
        struct slot *s = &o->slots[i];
        if (!s->open || upto <= s->since || upto - s->since < slice)
            continue;
        emit(ctx, &s->c, upto - s->since);
        s->since = upto;
        o->st.parts++;
    }
}

void offcpu_release(struct offcpu *o, uint64_t upto_ns, uint64_t slice_ns, offcpu_emit_fn emit,
                    void *ctx)
{
    qsort(o->ev, o->nev, sizeof *o->ev, ev_cmp);
    size_t i = 0;
    for (; i < o->nev && o->ev[i].time < upto_ns; i++)
        apply(o, &o->ev[i], emit, ctx);
    memmove(o->ev, o->ev + i, (o->nev - i) * sizeof *o->ev);
    o->nev -= i;
    if (slice_ns)
        release_parts(o, upto_ns, slice_ns, emit, ctx);
}

void offcpu_get_stats(const struct offcpu *o, struct offcpu_stats *out)
{
    *out = o->st;
}
