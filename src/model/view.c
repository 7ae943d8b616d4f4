/*
 * view.c - hot functions and distinct stacks from the call tree.
 *
 * Both views walk the selected subtree depth first, below the thread level,
 * with an explicit stack (real stacks are hundreds of frames deep), and
 * expand each node's frame into its chain of functions.  Subtrees with no
 * samples in the window are skipped, so a recent view of a big tree costs
 * little more than the part that is hot now.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr, qsort_r */
#endif
#include "src/model/view.h"
#include "common/hash.h"
#include "common/vec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ selection */

/* Per-node counts for the window and the subtree the options select. */
struct selection {
    uint64_t *self, *total;
    uint32_t top;     /* ROOT (all threads) or one thread's node; NO_NODE = empty */
    uint64_t samples; /* samples in the selection */
};

static void selection_free(struct selection *s)
{
    free(s->self);
    free(s->total);
}

static int selection_build(const struct model *m, const struct view_opts *o, struct selection *s)
{
    size_t n = model_node_count(m);
    *s = (struct selection){.top = MODEL_NO_NODE};
    s->self = malloc(n * sizeof(*s->self));
    s->total = malloc(n * sizeof(*s->total));
    if (!s->self || !s->total) {
        selection_free(s);
        return -ENOMEM;
    }
    model_self_counts(m, o->window, o->now_ns, s->self);
    model_totals(m, s->self, s->total);
    if (o->tid == 0) {
        s->top = MODEL_ROOT;
    } else {
        const struct model_thread *t = model_thread_find(m, o->tid);
        if (t && t->node != MODEL_NO_NODE)
            s->top = t->node;
    }
    if (s->top != MODEL_NO_NODE)
        s->samples = s->total[s->top];
    return 0;
}

/* ------------------------------------------------------------ tree walk */

struct walker {
    /* Called for every node below the thread level with samples in the
     * window, on the way down and on the way back up. */
    int (*enter)(void *ctx, uint32_t node, const struct frame_chain *c);
    void (*leave)(void *ctx, uint32_t node, const struct frame_chain *c);
    void *ctx;
};

struct walk_entry {
    uint32_t node;
    uint32_t next; /* next child to visit */
    const struct frame_chain *chain;
};

struct walk_stack {
    struct walk_entry *e;
    size_t n, alloc;
};

static int walk_push(struct walk_stack *st, uint32_t node, uint32_t first,
                     const struct frame_chain *c)
{
    if (vec_reserve(&st->e, &st->alloc, st->n + 1, sizeof *st->e) < 0)
        return -ENOMEM;
    st->e[st->n++] = (struct walk_entry){node, first, c};
    return 0;
}

/* Walks the descendants of thread-level node top (not top itself). */
static int walk_below(const struct model *m, const struct resolver *r, const uint64_t *total,
                      uint32_t top, const struct walker *w, struct walk_stack *st)
{
    st->n = 0;
    int err = walk_push(st, top, model_node(m, top)->first_child, NULL);
    while (!err && st->n > 0) {
        struct walk_entry *e = &st->e[st->n - 1];
        uint32_t c = e->next;
        while (c != MODEL_NO_NODE && total[c] == 0)
            c = model_node(m, c)->next_sibling;
        if (c == MODEL_NO_NODE) {
            if (e->chain)
                w->leave(w->ctx, e->node, e->chain);
            st->n--;
            continue;
        }
        const struct model_node *cn = model_node(m, c);
        e->next = cn->next_sibling;
        const struct frame_chain *ch = r->chain(r->ctx, cn->frame);
        err = w->enter(w->ctx, c, ch);
        if (!err)
            err = walk_push(st, c, cn->first_child, ch);
    }
    /* After an error the callers throw their partial state away, so there
     * is nothing to unwind. */
    return err;
}

/* Calls visit for each thread-level node of the selection that has
 * samples: the thread's node, or every child of the root. */
static int for_each_thread_node(const struct model *m, const struct selection *s,
                                int (*visit)(void *ctx, uint32_t node), void *ctx)
{
    if (s->top == MODEL_NO_NODE || s->samples == 0)
        return 0;
    if (s->top != MODEL_ROOT)
        return visit(ctx, s->top);
    for (uint32_t c = model_node(m, MODEL_ROOT)->first_child; c != MODEL_NO_NODE;
         c = model_node(m, c)->next_sibling) {
        if (s->total[c] == 0)
            continue;
        int err = visit(ctx, c);
        if (err)
            return err;
    }
    return 0;
}

/* ------------------------------------------------------------ hot table */

struct hot_acc {
    const struct model *m;
    const struct resolver *r;
    const struct selection *sel;
    struct walk_stack st;
    uint64_t *self, *total;
    uint32_t *onpath; /* occurrences of the function on the current path */
    uint32_t nfuncs;  /* size of the arrays */
};

/* The resolver may intern functions while it resolves, so the arrays grow
 * to cover whatever id shows up. */
static int hot_fit(struct hot_acc *a, uint32_t func)
{
    if (func < a->nfuncs)
        return 0;
    /* three arrays of one length: each grows from nfuncs to the same
     * capacity; nfuncs follows once all three have */
    size_t need = (size_t)func + 1, c_self = a->nfuncs, c_total = a->nfuncs, c_onpath = a->nfuncs;
    if (vec_grow(&a->self, &c_self, need, sizeof *a->self, UINT32_MAX, true) < 0 ||
        vec_grow(&a->total, &c_total, need, sizeof *a->total, UINT32_MAX, true) < 0 ||
        vec_grow(&a->onpath, &c_onpath, need, sizeof *a->onpath, UINT32_MAX, true) < 0)
        return -ENOMEM;
    a->nfuncs = (uint32_t)c_self; /* <= UINT32_MAX */
    return 0;
}

static int hot_enter(void *ctx, uint32_t node, const struct frame_chain *c)
{
    struct hot_acc *a = ctx;
    for (unsigned i = 0; i < c->n; i++) {
        uint32_t f = c->f[i].func;
        int err = hot_fit(a, f);
        if (err)
            return err;
        /* Count the subtree at the outermost occurrence only, so recursion
         * (direct, mutual, or through inlines) counts each stack once. */
        if (a->onpath[f]++ == 0)
            a->total[f] += a->sel->total[node];
    }
    a->self[c->f[0].func] += a->sel->self[node];
    return 0;
}

static void hot_leave(void *ctx, uint32_t node, const struct frame_chain *c)
{
    struct hot_acc *a = ctx;
    (void)node;
    /* Every f < nfuncs: enter fitted it, or failed before incrementing. */
    for (unsigned i = 0; i < c->n; i++) {
        uint32_t f = c->f[i].func;
        if (f < a->nfuncs && a->onpath[f] > 0)
            a->onpath[f]--;
    }
}

static int hot_visit_thread(void *ctx, uint32_t node)
{
    struct hot_acc *a = ctx;
    struct walker w = {hot_enter, hot_leave, a};
    return walk_below(a->m, a->r, a->sel->total, node, &w, &a->st);
}

static bool name_matches(const char *name, const char *filter)
{
    return !filter || !filter[0] || (name && strcasestr(name, filter));
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

struct hot_sort {
    const struct resolver *r;
    enum view_sort key;
    bool ascending;
};

/* Primary key in the requested direction; ties always in one fixed order
 * (more self, more total, name, module, id) so output is reproducible. */
static int hot_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct hot_row *a = pa, *b = pb;
    const struct hot_sort *s = ctx;
    const struct func_info *fa = s->r->func(s->r->ctx, a->func);
    const struct func_info *fb = s->r->func(s->r->ctx, b->func);
    int c = 0;
    switch (s->key) {
    case SORT_SELF:
        c = cmp_u64(a->self, b->self);
        break;
    case SORT_TOTAL:
        c = cmp_u64(a->total, b->total);
        break;
    case SORT_NAME:
        c = cmp_str(fa->name, fb->name);
        break;
    case SORT_MODULE:
        c = cmp_str(fa->module, fb->module);
        break;
    }
    if (c)
        return s->ascending ? c : -c;
    if ((c = cmp_u64(b->self, a->self)) || (c = cmp_u64(b->total, a->total)) ||
        (c = cmp_str(fa->name, fb->name)) || (c = cmp_str(fa->module, fb->module)))
        return c;
    return (a->func > b->func) - (a->func < b->func);
}

static int hot_rows(struct hot_acc *a, const struct view_opts *o, struct hot_table *out)
{
    size_t n = 0;
    for (uint32_t f = 0; f < a->nfuncs; f++)
        n += a->total[f] > 0;
    out->rows = calloc(n ? n : 1, sizeof(*out->rows));
    if (!out->rows)
        return -ENOMEM;
    double denom = a->sel->samples ? (double)a->sel->samples : 1.0;
    for (uint32_t f = 0; f < a->nfuncs; f++) {
        if (a->total[f] == 0 || !name_matches(a->r->func(a->r->ctx, f)->name, o->filter))
            continue;
        out->rows[out->n++] = (struct hot_row){
            .func = f,
            .self = a->self[f],
            .total = a->total[f],
            .self_pct = 100.0 * (double)a->self[f] / denom,
            .total_pct = 100.0 * (double)a->total[f] / denom,
        };
    }
    struct hot_sort s = {a->r, o->sort, o->ascending};
    qsort_r(out->rows, out->n, sizeof(*out->rows), hot_cmp, &s);
    return 0;
}

int view_hot(const struct model *m, const struct resolver *r, const struct view_opts *o,
             struct hot_table *out)
{
    *out = (struct hot_table){0};
    struct selection sel;
    int err = selection_build(m, o, &sel);
    if (err)
        return err;
    struct hot_acc a = {.m = m, .r = r, .sel = &sel};
    err = hot_fit(&a, r->func_count(r->ctx));
    if (!err)
        err = for_each_thread_node(m, &sel, hot_visit_thread, &a);
    if (!err)
        err = hot_rows(&a, o, out);
    out->samples = sel.samples;
    free(a.st.e);
    free(a.self);
    free(a.total);
    free(a.onpath);
    selection_free(&sel);
    if (err)
        hot_table_free(out);
    return err;
}

void hot_table_free(struct hot_table *t)
{
    free(t->rows);
    t->rows = NULL;
    t->n = 0;
}

/* ------------------------------------------------------------ stacks */

/* One distinct stack while collecting: frames live at storage[off..off+n). */
struct stack_ent {
    uint64_t hash;
    pid_t tid;
    size_t off, n;
    uint64_t count;
    uint64_t best; /* biggest single node merged in: its frames are shown */
};

struct stack_acc {
    const struct model *m;
    const struct resolver *r;
    const struct selection *sel;
    bool per_thread;
    pid_t tid; /* of the thread being walked, 0 when merging */
    struct walk_stack st;

    /* The current function-level path, root first, and per node depth the
     * path length and hash before that node. */
    struct chain_frame *path;
    size_t path_n, path_alloc;
    struct {
        size_t len;
        uint64_t hash;
    } * marks;
    size_t marks_n, marks_alloc;
    uint64_t hash;

    struct stack_ent *ents;
    size_t nents, ents_alloc;
    uint32_t *slots; /* entry + 1, 0 = empty */
    size_t slots_n;  /* power of two */
    struct chain_frame *storage;
    size_t storage_n, storage_alloc;
};

static uint64_t hash_step(uint64_t h, uint32_t func)
{
    return hash_combine(h, func);
}

static bool stack_equal(const struct stack_acc *a, const struct stack_ent *e, uint64_t hash)
{
    if (e->hash != hash || e->tid != a->tid || e->n != a->path_n)
        return false;
    for (size_t i = 0; i < e->n; i++)
        if (a->storage[e->off + i].func != a->path[i].func)
            return false;
    return true;
}

static int stack_slots_grow(struct stack_acc *a)
{
    size_t n = a->slots_n ? a->slots_n * 2 : 256;
    uint32_t *slots = calloc(n, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t k = 0; k < a->nents; k++) {
        size_t i = a->ents[k].hash & (n - 1);
        while (slots[i])
            i = (i + 1) & (n - 1);
        slots[i] = (uint32_t)k + 1;
    }
    free(a->slots);
    a->slots = slots;
    a->slots_n = n;
    return 0;
}

/* Count the current path (tid, path) with count samples. */
static int stack_record(struct stack_acc *a, uint64_t count)
{
    uint64_t hash = hash_step(a->hash, (uint32_t)a->tid);
    if ((a->nents + 1) * 2 > a->slots_n && stack_slots_grow(a) < 0)
        return -ENOMEM;
    size_t i = hash & (a->slots_n - 1);
    for (; a->slots[i]; i = (i + 1) & (a->slots_n - 1)) {
        struct stack_ent *e = &a->ents[a->slots[i] - 1];
        if (!stack_equal(a, e, hash))
            continue;
        e->count += count;
        if (count > e->best && a->path_n) {
            /* Same functions, maybe other lines: show the heaviest. */
            memcpy(a->storage + e->off, a->path, a->path_n * sizeof(*a->path));
            e->best = count;
        }
        return 0;
    }
    if (a->nents >= UINT32_MAX - 1 ||
        vec_reserve(&a->ents, &a->ents_alloc, a->nents + 1, sizeof(*a->ents)) ||
        vec_reserve(&a->storage, &a->storage_alloc, a->storage_n + a->path_n, sizeof(*a->storage)))
        return -ENOMEM;
    if (a->path_n) /* an empty stack may come before any path exists */
        memcpy(a->storage + a->storage_n, a->path, a->path_n * sizeof(*a->path));
    a->ents[a->nents] = (struct stack_ent){
        .hash = hash,
        .tid = a->tid,
        .off = a->storage_n,
        .n = a->path_n,
        .count = count,
        .best = count,
    };
    a->storage_n += a->path_n;
    a->slots[i] = (uint32_t)++a->nents;
    return 0;
}

static int stack_enter(void *ctx, uint32_t node, const struct frame_chain *c)
{
    struct stack_acc *a = ctx;
    if (vec_reserve(&a->marks, &a->marks_alloc, a->marks_n + 1, sizeof(*a->marks)) ||
        vec_reserve(&a->path, &a->path_alloc, a->path_n + c->n, sizeof(*a->path)))
        return -ENOMEM;
    a->marks[a->marks_n].len = a->path_n;
    a->marks[a->marks_n].hash = a->hash;
    a->marks_n++;
    /* Chains are innermost first; the path is root first. */
    for (unsigned i = c->n; i-- > 0;) {
        a->path[a->path_n++] = c->f[i];
        a->hash = hash_step(a->hash, c->f[i].func);
    }
    uint64_t self = a->sel->self[node];
    return self ? stack_record(a, self) : 0;
}

static void stack_leave(void *ctx, uint32_t node, const struct frame_chain *c)
{
    struct stack_acc *a = ctx;
    (void)node;
    (void)c;
    a->marks_n--;
    a->path_n = a->marks[a->marks_n].len;
    a->hash = a->marks[a->marks_n].hash;
}

static pid_t thread_of_node(const struct model *m, uint32_t node)
{
    /* Thread nodes are few; a scan per thread-level node is cheap next to
     * walking the subtree. */
    size_t n = model_thread_count(m);
    for (size_t i = 0; i < n; i++) {
        const struct model_thread *t = model_thread(m, i);
        if (t->node == node)
            return t->tid;
    }
    return 0;
}

static int stack_visit_thread(void *ctx, uint32_t node)
{
    struct stack_acc *a = ctx;
    a->tid = a->per_thread ? thread_of_node(a->m, node) : 0;
    a->path_n = 0;
    a->marks_n = 0;
    a->hash = 0;
    /* Samples with no frames at all still count, as an empty stack. */
    if (a->sel->self[node]) {
        int err = stack_record(a, a->sel->self[node]);
        if (err)
            return err;
    }
    struct walker w = {stack_enter, stack_leave, a};
    return walk_below(a->m, a->r, a->sel->total, node, &w, &a->st);
}

struct stack_sort {
    const struct resolver *r;
};

/* Most samples first; ties by thread, then by function names root first,
 * then shorter first, so output does not depend on insertion order. */
static int stack_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct stack_row *a = pa, *b = pb;
    const struct stack_sort *s = ctx;
    int c = cmp_u64(b->count, a->count);
    if (c)
        return c;
    if (a->tid != b->tid)
        return a->tid < b->tid ? -1 : 1;
    for (size_t i = 0; i < a->n && i < b->n; i++) {
        if (a->frames[i].func == b->frames[i].func)
            continue;
        c = cmp_str(s->r->func(s->r->ctx, a->frames[i].func)->name,
                    s->r->func(s->r->ctx, b->frames[i].func)->name);
        if (c)
            return c;
        return a->frames[i].func < b->frames[i].func ? -1 : 1;
    }
    return (a->n > b->n) - (a->n < b->n);
}

static void stack_acc_free(struct stack_acc *a)
{
    free(a->st.e);
    free(a->path);
    free(a->marks);
    free(a->ents);
    free(a->slots);
    free(a->storage);
}

int view_stacks(const struct model *m, const struct resolver *r, const struct view_opts *o,
                bool per_thread, struct stack_table *out)
{
    *out = (struct stack_table){0};
    struct selection sel;
    int err = selection_build(m, o, &sel);
    if (err)
        return err;
    struct stack_acc a = {.m = m, .r = r, .sel = &sel, .per_thread = per_thread};
    err = stack_slots_grow(&a);
    if (!err)
        err = for_each_thread_node(m, &sel, stack_visit_thread, &a);
    if (!err && sel.top == MODEL_ROOT && sel.self[MODEL_ROOT]) {
        /* Samples the full tree could not place under their thread. */
        a.tid = 0;
        a.path_n = 0;
        a.hash = 0;
        err = stack_record(&a, sel.self[MODEL_ROOT]);
    }
    if (!err) {
        out->rows = calloc(a.nents ? a.nents : 1, sizeof(*out->rows));
        if (!out->rows)
            err = -ENOMEM;
    }
    if (!err) {
        for (size_t k = 0; k < a.nents; k++)
            out->rows[k] = (struct stack_row){
                .tid = a.ents[k].tid,
                .count = a.ents[k].count,
                .n = a.ents[k].n,
                .frames = a.storage ? a.storage + a.ents[k].off : NULL,
            };
        out->n = a.nents;
        out->samples = sel.samples;
        out->storage = a.storage; /* the rows point into it */
        a.storage = NULL;
        struct stack_sort s = {r};
        qsort_r(out->rows, out->n, sizeof(*out->rows), stack_cmp, &s);
    }
    stack_acc_free(&a);
    selection_free(&sel);
    if (err)
        stack_table_free(out);
    return err;
}

void stack_table_free(struct stack_table *t)
{
    free(t->rows);
    free(t->storage);
    *t = (struct stack_table){0};
}

uint32_t view_frames_upto(const struct model *m)
{
    uint32_t upto = 0;
    size_t n = model_node_count(m);
    for (size_t i = 1; i < n; i++) {
        frame_id f = model_node(m, (uint32_t)i)->frame;
        if (f != FRAME_NONE && f + 1 > upto)
            upto = f + 1;
    }
    return upto;
}
