/*
 * model.c - the call tree: a trie of frame ids with a (parent, frame) hash
 * for child lookup, a thread table and a ring of recent samples.
 *
 * model_add walks one stack root first, one hash probe per frame, so deep
 * hot paths cost the same whatever the fan-out of a node.  Arrays grow by
 * doubling up to the limits, so a steady-state sample allocates nothing.
 * The first_child/next_sibling links are kept for the views' walks only.
 */
#include "src/model/model.h"
#include "common/hash.h"
#include "common/vec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NODES_INITIAL   1024u
#define THREADS_INITIAL 16u

/* One entry of the child hash; node 0 (the root) is never a child, so 0
 * marks an empty slot and a calloc'd table is empty. */
struct child_slot {
    uint32_t parent;
    frame_id frame;
    uint32_t node;
};

struct recent_sample {
    uint64_t time_ns;
    uint32_t node;
    uint32_t weight; /* samples it stands for (an off-CPU wait: several) */
};

struct model {
    struct model_limits lim;
    uint32_t normal_cap; /* nodes ordinary frames may use; the rest is the reserve */

    struct model_node *nodes;
    uint32_t nnodes, nodes_alloc;

    struct child_slot *slots;
    uint32_t slot_bits; /* table size is 1 << slot_bits */

    struct model_thread *threads;
    uint32_t nthreads, threads_alloc;
    uint32_t *tid_slots; /* thread index + 1, 0 = empty */
    uint32_t tid_mask;   /* tid_slots size - 1: a power of two >= 2 * threads_alloc */

    struct recent_sample *ring;
    uint32_t ring_head, ring_count;

    uint64_t total;
    bool overflowed;
};

void model_limits_default(struct model_limits *l)
{
    l->max_nodes = 1u << 20;
    l->recent_capacity = 1u << 16;
    l->recent_window_ns = 5ull * 1000000000ull;
    l->max_threads = 4096;
}

/* Fibonacci hashing: the multiply spreads (parent, frame) pairs that differ
 * in few low bits, and the top bits are the best mixed. */
static uint32_t child_hash(uint32_t parent, frame_id frame, uint32_t bits)
{
    uint64_t key = ((uint64_t)parent << 32) | frame;
    return hash_fib_top(key, bits);
}

static uint32_t tid_hash(pid_t tid, uint32_t mask)
{
    return hash_fib_top((uint32_t)tid, 32) & mask;
}

static uint32_t slot_count(const struct model *m)
{
    return 1u << m->slot_bits;
}

/* Index of the slot holding (parent, frame), or of the empty slot where it
 * would go. */
static uint32_t child_slot_find(const struct model *m, uint32_t parent, frame_id frame)
{
    uint32_t mask = slot_count(m) - 1;
    uint32_t i = child_hash(parent, frame, m->slot_bits);
    for (;; i = (i + 1) & mask) {
        const struct child_slot *s = &m->slots[i];
        if (s->node == 0 || (s->parent == parent && s->frame == frame))
            return i;
    }
}

static int child_table_resize(struct model *m, uint32_t bits)
{
    struct child_slot *old = m->slots;
    m->slots = calloc((size_t)1 << bits, sizeof(*m->slots));
    if (!m->slots) {
        m->slots = old;
        return -ENOMEM;
    }
    m->slot_bits = bits;
    /* Rebuild from the nodes: they are the authoritative copy. */
    for (uint32_t n = 1; n < m->nnodes; n++) {
        const struct model_node *nd = &m->nodes[n];
        uint32_t i = child_slot_find(m, nd->parent, nd->frame);
        m->slots[i] = (struct child_slot){nd->parent, nd->frame, n};
    }
    free(old);
    return 0;
}

/* Room for one more node: the node array and a child table kept at most
 * 3/4 full, both grown by doubling. */
static int node_reserve_one(struct model *m)
{
    size_t cap = m->nodes_alloc;
    if (vec_reserve_max(&m->nodes, &cap, (size_t)m->nnodes + 1, sizeof *m->nodes,
                        m->lim.max_nodes) < 0)
        return -ENOMEM;
    m->nodes_alloc = (uint32_t)cap; /* <= max_nodes, a uint32_t */
    if ((uint64_t)(m->nnodes + 1) * 4 > (uint64_t)slot_count(m) * 3)
        return child_table_resize(m, m->slot_bits + 1);
    return 0;
}

/* The child of parent for frame, created if there is room below cap.
 * MODEL_NO_NODE when it does not exist and cannot be made. */
static uint32_t child_get(struct model *m, uint32_t parent, frame_id frame, uint32_t cap)
{
    uint32_t i = child_slot_find(m, parent, frame);
    if (m->slots[i].node != 0)
        return m->slots[i].node;
    if (m->nnodes >= cap)
        return MODEL_NO_NODE;
    if (node_reserve_one(m) < 0)
        return MODEL_NO_NODE;
    /* A resize moved every slot. */
    i = child_slot_find(m, parent, frame);
    uint32_t n = m->nnodes++;
    struct model_node *p = &m->nodes[parent];
    m->nodes[n] = (struct model_node){
        .frame = frame,
        .parent = parent,
        .first_child = MODEL_NO_NODE,
        .next_sibling = p->first_child,
        .self = 0,
    };
    p->first_child = n;
    m->slots[i] = (struct child_slot){parent, frame, n};
    return n;
}

static uint32_t child_lookup(const struct model *m, uint32_t parent, frame_id frame)
{
    uint32_t i = child_slot_find(m, parent, frame);
    return m->slots[i].node != 0 ? m->slots[i].node : MODEL_NO_NODE;
}

/* Where a sample goes when its path cannot be extended below prefix: an
 * overflow node under the prefix (from the reserve), else the nearest
 * ancestor that already has one, else the prefix itself.  The sample is
 * always counted; only detail is lost. */
static uint32_t overflow_leaf(struct model *m, uint32_t prefix, frame_id overflow_frame)
{
    m->overflowed = true;
    if (overflow_frame == FRAME_NONE)
        return prefix;
    uint32_t n = child_get(m, prefix, overflow_frame, m->lim.max_nodes);
    if (n != MODEL_NO_NODE)
        return n;
    for (uint32_t a = m->nodes[prefix].parent; a != MODEL_NO_NODE && a != MODEL_ROOT;
         a = m->nodes[a].parent) {
        n = child_lookup(m, a, overflow_frame);
        if (n != MODEL_NO_NODE)
            return n;
    }
    return prefix;
}

static int thread_table_grow(struct model *m)
{
    /* threads_alloc follows only once the slot table for it exists */
    size_t cap = m->threads_alloc;
    if (vec_reserve_max(&m->threads, &cap, (size_t)m->nthreads + 1, sizeof *m->threads,
                        m->lim.max_threads) < 0)
        return -ENOMEM;
    uint32_t n = (uint32_t)cap; /* <= max_threads, a uint32_t */
    uint32_t size = 16;
    while (size < n * 2)
        size *= 2;
    uint32_t *slots = calloc(size, sizeof(*slots));
    if (!slots)
        return -ENOMEM; /* threads_alloc unchanged: the bigger array is just unused */
    free(m->tid_slots);
    m->tid_slots = slots;
    m->tid_mask = size - 1;
    m->threads_alloc = n;
    uint32_t mask = m->tid_mask;
    for (uint32_t k = 0; k < m->nthreads; k++) {
        uint32_t i = tid_hash(m->threads[k].tid, mask);
        while (slots[i] != 0)
            i = (i + 1) & mask;
        slots[i] = k + 1;
    }
    return 0;
}

static struct model_thread *thread_lookup(const struct model *m, pid_t tid, uint32_t *slot)
{
    if (m->threads_alloc == 0) {
        *slot = 0;
        return NULL;
    }
    uint32_t mask = m->tid_mask;
    uint32_t i = tid_hash(tid, mask);
    for (; m->tid_slots[i] != 0; i = (i + 1) & mask) {
        struct model_thread *t = &m->threads[m->tid_slots[i] - 1];
        if (t->tid == tid)
            return t;
    }
    *slot = i;
    return NULL;
}

/* The thread's entry, added if new; NULL when the table is full (its
 * samples still count, under its node, without a table entry). */
static struct model_thread *thread_get(struct model *m, pid_t tid)
{
    uint32_t slot;
    struct model_thread *t = thread_lookup(m, tid, &slot);
    if (t)
        return t;
    if (m->nthreads >= m->lim.max_threads)
        return NULL;
    if (m->nthreads == m->threads_alloc) {
        if (thread_table_grow(m) < 0)
            return NULL;
        thread_lookup(m, tid, &slot);
    }
    t = &m->threads[m->nthreads];
    *t = (struct model_thread){.tid = tid, .node = MODEL_NO_NODE};
    m->tid_slots[slot] = ++m->nthreads;
    return t;
}

static void thread_update(struct model_thread *t, const char *name, char state, uint64_t time_ns,
                          uint32_t weight)
{
    if (name && name[0] && strncmp(t->name, name, sizeof(t->name) - 1) != 0) {
        strncpy(t->name, name, sizeof(t->name) - 1);
        t->name[sizeof(t->name) - 1] = '\0';
    }
    t->state = state;
    t->samples += weight;
    t->last_ns = time_ns;
    t->exited = false; /* a reused tid is alive again */
}

struct model *model_new(const struct model_limits *l)
{
    struct model_limits def;
    if (!l) {
        model_limits_default(&def);
        l = &def;
    }
    if (l->max_nodes < 2 || l->max_nodes > (1u << 31) || l->max_threads == 0 ||
        l->max_threads > (1u << 24)) {
        errno = EINVAL;
        return NULL;
    }
    struct model *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->lim = *l;
    uint32_t reserve = l->max_nodes / 16 ? l->max_nodes / 16 : 1;
    m->normal_cap = l->max_nodes - reserve;
    m->nodes_alloc = l->max_nodes < NODES_INITIAL ? l->max_nodes : NODES_INITIAL;
    m->nodes = malloc((size_t)m->nodes_alloc * sizeof(*m->nodes));
    m->slot_bits = 4;
    while ((1u << m->slot_bits) < m->nodes_alloc * 2)
        m->slot_bits++;
    m->slots = calloc(slot_count(m), sizeof(*m->slots));
    if (l->recent_capacity)
        m->ring = calloc(l->recent_capacity, sizeof(*m->ring));
    if (!m->nodes || !m->slots || (l->recent_capacity && !m->ring)) {
        model_free(m);
        errno = ENOMEM;
        return NULL;
    }
    m->nodes[0] = (struct model_node){
        .frame = FRAME_NONE,
        .parent = MODEL_NO_NODE,
        .first_child = MODEL_NO_NODE,
        .next_sibling = MODEL_NO_NODE,
    };
    m->nnodes = 1;
    return m;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    free(m->nodes);
    free(m->slots);
    free(m->threads);
    free(m->tid_slots);
    free(m->ring);
    free(m);
}

/* A copy of n elements of size sz, or NULL (n == 0 gives NULL too, which
 * the callers read as "none"). */
static void *dup_array(const void *src, size_t n, size_t sz)
{
    if (!src || n == 0)
        return NULL;
    void *d = malloc(n * sz);
    if (d)
        memcpy(d, src, n * sz);
    return d;
}

struct model *model_clone(const struct model *src)
{
    struct model *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    *m = *src;
    m->nodes = dup_array(src->nodes, src->nodes_alloc, sizeof *m->nodes);
    m->slots = dup_array(src->slots, slot_count(src), sizeof *m->slots);
    m->threads = dup_array(src->threads, src->threads_alloc, sizeof *m->threads);
    m->tid_slots = src->tid_slots
                       ? dup_array(src->tid_slots, (size_t)src->tid_mask + 1, sizeof *m->tid_slots)
                       : NULL;
    m->ring = dup_array(src->ring, src->lim.recent_capacity, sizeof *m->ring);
    if (!m->nodes || !m->slots || (src->threads && !m->threads) ||
        (src->tid_slots && !m->tid_slots) || (src->ring && !m->ring)) {
        model_free(m);
        errno = ENOMEM;
        return NULL;
    }
    return m;
}

/* The thread's node under the root.  Thread nodes may use the reserve, so a
 * new thread still gets its own subtree when ordinary frames filled the
 * tree; if even that fails the sample counts at the root. */
static uint32_t thread_node(struct model *m, struct model_thread *t, frame_id thread_frame)
{
    if (t && t->node != MODEL_NO_NODE)
        return t->node;
    uint32_t n = child_get(m, MODEL_ROOT, thread_frame, m->lim.max_nodes);
    if (n == MODEL_NO_NODE) {
        m->overflowed = true;
        return MODEL_ROOT;
    }
    if (t)
        t->node = n;
    return n;
}

uint32_t model_add(struct model *m, pid_t tid, const char *name, char state, frame_id thread_frame,
                   const frame_id *frames, size_t n, uint32_t kind, uint64_t time_ns,
                   frame_id overflow_frame)
{
    return model_add_n(m, tid, name, state, thread_frame, frames, n, kind, time_ns, overflow_frame,
                       1);
}

uint32_t model_add_n(struct model *m, pid_t tid, const char *name, char state,
                     frame_id thread_frame, const frame_id *frames, size_t n, uint32_t kind,
                     uint64_t time_ns, frame_id overflow_frame, uint32_t weight)
{
    (void)kind; /* the views split kinds by their frames, not here */
    struct model_thread *t = thread_get(m, tid);
    if (t)
        thread_update(t, name, state, time_ns, weight);
    uint32_t cur = thread_node(m, t, thread_frame);
    if (cur != MODEL_ROOT) {
        for (size_t i = n; i-- > 0;) {
            if (frames[i] == FRAME_NONE)
                continue; /* the interner was full: drop the frame, keep the sample */
            uint32_t next = child_get(m, cur, frames[i], m->normal_cap);
            if (next == MODEL_NO_NODE) {
                cur = overflow_leaf(m, cur, overflow_frame);
                break;
            }
            cur = next;
        }
    }
    m->nodes[cur].self += weight;
    m->total += weight;
    if (m->lim.recent_capacity) {
        m->ring[m->ring_head] = (struct recent_sample){time_ns, cur, weight};
        m->ring_head = (m->ring_head + 1) % m->lim.recent_capacity;
        if (m->ring_count < m->lim.recent_capacity)
            m->ring_count++;
    }
    return cur;
}

void model_thread_exited(struct model *m, pid_t tid)
{
    uint32_t slot;
    struct model_thread *t = thread_lookup(m, tid, &slot);
    if (t)
        t->exited = true;
}

void model_thread_set_pid(struct model *m, pid_t tid, pid_t pid)
{
    uint32_t slot;
    struct model_thread *t = thread_lookup(m, tid, &slot);
    if (t)
        t->pid = pid;
}

const char *model_process_name(const struct model *m, pid_t pid)
{
    const struct model_thread *t = model_thread_find(m, pid);
    return t && t->name[0] ? t->name : "process";
}

void model_zero(struct model *m)
{
    for (uint32_t i = 0; i < m->nnodes; i++)
        m->nodes[i].self = 0;
    for (uint32_t i = 0; i < m->nthreads; i++)
        m->threads[i].samples = 0;
    m->ring_head = 0;
    m->ring_count = 0;
    m->total = 0;
}

size_t model_node_count(const struct model *m)
{
    return m->nnodes;
}

const struct model_node *model_node(const struct model *m, uint32_t idx)
{
    return idx < m->nnodes ? &m->nodes[idx] : NULL;
}

size_t model_thread_count(const struct model *m)
{
    return m->nthreads;
}

const struct model_thread *model_thread(const struct model *m, size_t i)
{
    return i < m->nthreads ? &m->threads[i] : NULL;
}

const struct model_thread *model_thread_find(const struct model *m, pid_t tid)
{
    uint32_t slot;
    return thread_lookup(m, tid, &slot);
}

uint64_t model_total_samples(const struct model *m)
{
    return m->total;
}

bool model_overflowed(const struct model *m)
{
    return m->overflowed;
}

static bool in_window(uint64_t t, uint64_t now_ns, uint64_t window_ns)
{
    return t >= now_ns || now_ns - t < window_ns;
}

uint64_t model_self_counts(const struct model *m, enum model_window w, uint64_t now_ns,
                           uint64_t *self)
{
    if (w == MODEL_CUMULATIVE) {
        for (uint32_t i = 0; i < m->nnodes; i++)
            self[i] = m->nodes[i].self;
        return m->total;
    }
    memset(self, 0, (size_t)m->nnodes * sizeof(*self));
    uint64_t sum = 0;
    /* The ring holds the last ring_count samples; older ones are gone even
     * if they would be inside the window. */
    for (uint32_t k = 0; k < m->ring_count; k++) {
        const struct recent_sample *s = &m->ring[k];
        if (in_window(s->time_ns, now_ns, m->lim.recent_window_ns)) {
            self[s->node] += s->weight;
            sum += s->weight;
        }
    }
    return sum;
}

void model_totals(const struct model *m, const uint64_t *self, uint64_t *total)
{
    memcpy(total, self, (size_t)m->nnodes * sizeof(*total));
    /* Parents have smaller indexes: one backward pass sums every subtree. */
    for (uint32_t i = m->nnodes; i-- > 1;)
        total[m->nodes[i].parent] += total[i];
}
