/*
 * capqueue.c - bounded single-producer/single-consumer ring of captures.
 *
 * head counts commits (written by the producer only), tail counts releases
 * (written by the consumer only); both only grow and are masked into the slot
 * array.  The producer never blocks: committing is a store and, only when a
 * consumer sleeps, one FUTEX_WAKE.  The consumer sleeps on a futex word that
 * the producer bumps, with the classic "announce, re-check, sleep" protocol so
 * that no wake-up can be missed.
 */
#include "sampler/capqueue.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define CAPQUEUE_MAX_SLOTS (1u << 20)
#define CACHE_LINE         64

struct capqueue {
    struct capture *slots;
    uint8_t *stacks;
    size_t mask;
    uint32_t stack_cap;

    /* Producer-owned line. */
    _Alignas(CACHE_LINE) _Atomic size_t head;

    /* Consumer-owned line. */
    _Alignas(CACHE_LINE) _Atomic size_t tail;

    /* Sleep/wake line, shared. */
    _Alignas(CACHE_LINE) _Atomic uint32_t wake_seq; /* futex word */
    _Atomic uint32_t waiters;
    _Atomic bool closed;
};

static size_t round_pow2(size_t n)
{
    size_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

/* calloc'd memory is mapped lazily: left so, every first use of a slot
 * would take page faults inside the sampler's stop window.  One write per
 * page maps it now (volatile: the compiler may not drop the zero store). */
static void prefault(uint8_t *p, size_t len)
{
    volatile uint8_t *v = p;
    for (size_t i = 0; i < len; i += 4096)
        v[i] = 0;
}

struct capqueue *capqueue_new(size_t slots, uint32_t stack_cap)
{
    if (slots == 0 || slots > CAPQUEUE_MAX_SLOTS || stack_cap > CAPTURE_STACK_MAX)
        return NULL;
    size_t n = round_pow2(slots);

    struct capqueue *q = aligned_alloc(CACHE_LINE, sizeof *q);
    if (!q)
        return NULL;
    memset(q, 0, sizeof *q);
    q->slots = calloc(n, sizeof *q->slots);
    /* n <= 2^20 and stack_cap <= 64 KiB: the product fits in size_t. */
    q->stacks = stack_cap ? calloc(n, stack_cap) : NULL;
    if (!q->slots || (stack_cap && !q->stacks)) {
        capqueue_free(q);
        return NULL;
    }
    prefault(q->stacks, n * stack_cap);
    q->mask = n - 1;
    q->stack_cap = stack_cap;
    for (size_t i = 0; i < n; i++) {
        q->slots[i].stack = stack_cap ? q->stacks + i * stack_cap : NULL;
        q->slots[i].stack_cap = stack_cap;
    }
    return q;
}

void capqueue_free(struct capqueue *q)
{
    if (!q)
        return;
    free(q->slots);
    free(q->stacks);
    free(q);
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
}

/* Wake the consumer if it announced that it sleeps.  The seq_cst store of
 * head in commit and the seq_cst load of waiters here pair with the
 * consumer's increment of waiters before it re-checks head. */
static void wake_consumer(struct capqueue *q)
{
    if (atomic_load(&q->waiters) == 0)
        return;
    atomic_fetch_add(&q->wake_seq, 1);
    futex(&q->wake_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

struct capture *capqueue_reserve(struct capqueue *q)
{
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (head - tail > q->mask)
        return NULL;
    struct capture *c = &q->slots[head & q->mask];
    /* The slot's buffer is fixed; only the sample's fields are reset. */
    c->flags = 0;
    c->pid = 0;
    c->stack_len = 0;
    c->stack_addr = 0;
    c->kern_n = 0;
    c->weight_ns = 0;
    return c;
}

void capqueue_commit(struct capqueue *q)
{
    capqueue_commit_quiet(q);
    wake_consumer(q);
}

void capqueue_commit_quiet(struct capqueue *q)
{
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    atomic_store(&q->head, head + 1);
}

void capqueue_wake(struct capqueue *q)
{
    wake_consumer(q);
}

static bool queue_empty(struct capqueue *q)
{
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    return atomic_load(&q->head) == tail;
}

/* Sleep until the producer commits, the queue closes or deadline passes. */
static void wait_for_item(struct capqueue *q, uint64_t deadline)
{
    atomic_fetch_add(&q->waiters, 1);
    uint32_t seq = atomic_load(&q->wake_seq);
    while (queue_empty(q) && !atomic_load(&q->closed)) {
        uint64_t now = clock_mono_ns();
        if (now >= deadline)
            break;
        uint64_t left = deadline - now;
        struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
        /* EAGAIN means wake_seq moved since we read it: re-check. */
        futex(&q->wake_seq, FUTEX_WAIT_PRIVATE, seq, &ts);
        seq = atomic_load(&q->wake_seq);
    }
    atomic_fetch_sub(&q->waiters, 1);
}

struct capture *capqueue_take(struct capqueue *q, int timeout_ms)
{
    if (queue_empty(q) && timeout_ms > 0 && !atomic_load(&q->closed))
        wait_for_item(q, clock_mono_ns() + (uint64_t)timeout_ms * 1000000u);
    if (queue_empty(q))
        return NULL;
    /* acquire on head (seq_cst load in queue_empty) makes the slot's
     * contents, written before commit, visible here. */
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    return &q->slots[tail & q->mask];
}

void capqueue_release(struct capqueue *q)
{
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (atomic_load(&q->head) == tail)
        return; /* nothing taken: releasing would corrupt the ring */
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
}

void capqueue_close(struct capqueue *q)
{
    atomic_store(&q->closed, true);
    atomic_fetch_add(&q->wake_seq, 1);
    futex(&q->wake_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

bool capqueue_closed(struct capqueue *q)
{
    return atomic_load(&q->closed);
}
