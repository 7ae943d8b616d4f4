/*
 * drill.c - see drill.h.
 *
 * Two ways over the call tree.  Views that need "is f already on the path"
 * for every function at once (totals, the top-down tree) walk it depth
 * first with an explicit stack.  The function view needs it for one
 * function only, so it makes one pass in node order: a node's parent always
 * has a smaller index, so its state is ready when the node comes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r */
#endif
#include "src/model/drill.h"
#include "common/hash.h"
#include "common/vec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ small tools */

/* Grows a zeroed array of u64 counters so that index idx fits. */
static int fit_u64(uint64_t **a, uint32_t *n, uint32_t idx)
{
    if (idx < *n)
        return 0; /* the common case, without a call */
    size_t cap = *n;
    if (vec_grow(a, &cap, (size_t)idx + 1, sizeof **a, UINT32_MAX, true) < 0)
        return -ENOMEM;
    *n = (uint32_t)cap; /* <= UINT32_MAX */
    return 0;
}

static uint64_t *node_totals(const struct model *m, const uint64_t *self, uint64_t *samples)
{
    size_t n = model_node_count(m);
    uint64_t *total = malloc((n ? n : 1) * sizeof(*total));
    if (!total)
        return NULL;
    model_totals(m, self, total);
    *samples = n ? total[MODEL_ROOT] : 0;
    return total;
}

static bool is_thread_node(const struct model *m, uint32_t node)
{
    return node != MODEL_ROOT && model_node(m, node)->parent == MODEL_ROOT;
}

/* ------------------------------------------------------------ depth-first walk */

/* enter returns < 0 on error, 0 to skip the node's children, 1 to walk
 * them; aux is a value the callback keeps per node (given to the
 * children's enter).  leave is called for every node whose children were
 * walked. */
struct walk_ops {
    int (*enter)(void *ctx, uint32_t node, const struct frame_chain *c, uint32_t parent_aux,
                 uint32_t *aux);
    void (*leave)(void *ctx, uint32_t node, const struct frame_chain *c);
    void *ctx;
};

struct walk_ent {
    uint32_t node, next, aux;
    const struct frame_chain *c;
};

static int walk_push(struct walk_ent **st, size_t *n, size_t *alloc, struct walk_ent e)
{
    if (vec_reserve(st, alloc, *n + 1, sizeof **st) < 0)
        return -ENOMEM;
    (*st)[(*n)++] = e;
    return 0;
}

/* Walks every node below the thread level that has samples. */
static int walk(const struct model *m, const struct resolver *r, const uint64_t *total,
                const struct walk_ops *ops, uint32_t root_aux)
{
    struct walk_ent *st = NULL;
    size_t n = 0, alloc = 0;
    int err = 0;
    for (uint32_t t = model_node(m, MODEL_ROOT)->first_child; t != MODEL_NO_NODE && !err;
         t = model_node(m, t)->next_sibling) {
        if (!total[t])
            continue;
        n = 0;
        err = walk_push(&st, &n, &alloc,
                        (struct walk_ent){t, model_node(m, t)->first_child, root_aux, NULL});
        while (!err && n > 0) {
            struct walk_ent *e = &st[n - 1];
            uint32_t c = e->next;
            while (c != MODEL_NO_NODE && total[c] == 0)
                c = model_node(m, c)->next_sibling;
            if (c == MODEL_NO_NODE) {
                if (e->c)
                    ops->leave(ops->ctx, e->node, e->c);
                n--;
                continue;
            }
            const struct model_node *cn = model_node(m, c);
            e->next = cn->next_sibling;
            const struct frame_chain *ch = r->chain(r->ctx, cn->frame);
            uint32_t aux = 0;
            int go = ops->enter(ops->ctx, c, ch, e->aux, &aux);
            if (go < 0)
                err = go;
            else if (go > 0)
                err = walk_push(&st, &n, &alloc, (struct walk_ent){c, cn->first_child, aux, ch});
        }
    }
    free(st);
    return err;
}

/* ------------------------------------------------------------ totals */

struct tot_ctx {
    const uint64_t *self, *total;
    struct drill_funcs *f;
    uint64_t *onpath; /* occurrences on the current path, per function */
    uint32_t nonpath;
};

static int tot_fit(struct tot_ctx *t, uint32_t func)
{
    uint32_t n = t->f->n;
    if (fit_u64(&t->f->self, &n, func) < 0)
        return -ENOMEM;
    n = t->f->n;
    if (fit_u64(&t->f->total, &n, func) < 0)
        return -ENOMEM;
    t->f->n = n;
    return fit_u64(&t->onpath, &t->nonpath, func);
}

static int tot_enter(void *ctx, uint32_t node, const struct frame_chain *c, uint32_t pa,
                     uint32_t *aux)
{
    struct tot_ctx *t = ctx;
    (void)pa, (void)aux;
    for (unsigned i = 0; i < c->n; i++) {
        uint32_t f = c->f[i].func;
        if (tot_fit(t, f) < 0)
            return -ENOMEM;
        /* the outermost occurrence counts the subtree: once per stack */
        if (t->onpath[f]++ == 0)
            t->f->total[f] += t->total[node];
    }
    t->f->self[c->f[0].func] += t->self[node];
    return 1;
}

static void tot_leave(void *ctx, uint32_t node, const struct frame_chain *c)
{
    struct tot_ctx *t = ctx;
    (void)node;
    for (unsigned i = 0; i < c->n; i++)
        if (c->f[i].func < t->nonpath && t->onpath[c->f[i].func])
            t->onpath[c->f[i].func]--;
}

int drill_func_totals(const struct model *m, const struct resolver *r, const uint64_t *self,
                      struct drill_funcs *out)
{
    *out = (struct drill_funcs){0};
    uint64_t *total = node_totals(m, self, &out->samples);
    if (!total)
        return -ENOMEM;
    struct tot_ctx t = {.self = self, .total = total, .f = out};
    uint32_t nf = r->func_count(r->ctx);
    int err = tot_fit(&t, nf ? nf - 1 : 0);
    struct walk_ops ops = {tot_enter, tot_leave, &t};
    if (!err)
        err = walk(m, r, total, &ops, 0);
    /* the resolver may have learnt functions during the walk */
    nf = r->func_count(r->ctx);
    if (!err && nf)
        err = tot_fit(&t, nf - 1);
    free(t.onpath);
    free(total);
    if (err)
        drill_funcs_free(out);
    return err;
}

void drill_funcs_free(struct drill_funcs *f)
{
    free(f->self);
    free(f->total);
    *f = (struct drill_funcs){0};
}

/* ------------------------------------------------------------ find by name */

struct cand {
    uint32_t func;
    uint64_t total;
};

static int cand_cmp(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    if (a->total != b->total)
        return a->total > b->total ? -1 : 1;
    return (a->func > b->func) - (a->func < b->func);
}

static void list_cands(const struct resolver *r, struct cand *c, size_t n, char *buf, size_t bsz)
{
    size_t at = strlen(buf);
    for (size_t i = 0; i < n && i < 5 && at < bsz; i++) {
        const struct func_info *fi = r->func(r->ctx, c[i].func);
        int k = snprintf(buf + at, bsz - at, "%s%s%s%s%s", i ? ", " : "", fi->name,
                         fi->module && fi->module[0] ? " (" : "", fi->module ? fi->module : "",
                         fi->module && fi->module[0] ? ")" : "");
        if (k < 0)
            return;
        at += (size_t)k;
    }
    if (n > 5 && at < bsz)
        snprintf(buf + at, bsz - at, " and %zu more", n - 5);
}

int drill_find_func(const struct resolver *r, const uint64_t *total_by_func_or_NULL,
                    const char *name, uint32_t *func, char *err, size_t errsz)
{
    uint32_t nf = r->func_count(r->ctx);
    struct cand *c = malloc((nf ? nf : 1) * sizeof(*c));
    if (!c) {
        snprintf(err, errsz, "out of memory looking up '%s'", name);
        return -ENOMEM;
    }
    size_t nexact = 0, nsub = 0;
    for (uint32_t f = 0; f < nf; f++) {
        const char *fn = r->func(r->ctx, f)->name;
        uint64_t tot = total_by_func_or_NULL ? total_by_func_or_NULL[f] : 0;
        if (!fn || (total_by_func_or_NULL && !tot))
            continue; /* with counts, only functions that were sampled */
        if (!strcmp(fn, name)) {
            /* exact matches go first in the array */
            c[nsub] = c[nexact];
            c[nexact++] = (struct cand){f, tot};
            nsub++;
        } else if (strstr(fn, name)) {
            c[nsub++] = (struct cand){f, tot};
        }
    }
    size_t n = nexact ? nexact : nsub;
    qsort(c, n, sizeof(*c), cand_cmp);
    int rc = 0;
    if (n == 1) {
        *func = c[0].func;
    } else if (n == 0) {
        snprintf(err, errsz, "no sampled function matches '%s'", name);
        rc = -ENOENT;
    } else {
        snprintf(err, errsz, "'%s' matches %zu functions: ", name, n);
        list_cands(r, c, n, err, errsz);
        rc = -EEXIST;
    }
    free(c);
    return rc;
}

/* ------------------------------------------------------------ function view */

#define NOT_ON_PATH (UINT32_MAX - 2)
#define PENDING     (UINT32_MAX - 3)

struct fv_acc {
    uint64_t *callers, *callees;
    uint32_t ncallers, ncallees;
    uint64_t no_caller, self;
};

/* Walks chain c (root first) from the parent's state: the caller of F's
 * outermost occurrence and what F's innermost occurrence called. */
static void fv_step(const struct frame_chain *c, uint32_t func, uint32_t prev, uint32_t *caller,
                    uint32_t *callee)
{
    for (unsigned i = c->n; i-- > 0;) {
        uint32_t g = c->f[i].func;
        if (g == func) {
            if (*caller == NOT_ON_PATH)
                *caller = prev;
            *callee = PENDING;
        } else if (*callee == PENDING) {
            *callee = g;
        }
        prev = g;
    }
}

static int fv_count(struct fv_acc *a, uint32_t caller, uint32_t callee, uint64_t w)
{
    if (caller == DRILL_NO_CALLER)
        a->no_caller += w;
    else if (fit_u64(&a->callers, &a->ncallers, caller) < 0)
        return -ENOMEM;
    else
        a->callers[caller] += w;
    if (callee == PENDING)
        a->self += w;
    else if (fit_u64(&a->callees, &a->ncallees, callee) < 0)
        return -ENOMEM;
    else
        a->callees[callee] += w;
    return 0;
}

static int fv_pass(const struct model *m, const struct resolver *r, const uint64_t *self,
                   uint32_t func, struct fv_acc *a)
{
    size_t n = model_node_count(m);
    /* per node: caller of the outermost F, callee of the innermost F, and
     * the node's innermost function */
    uint32_t *st = malloc((n ? n : 1) * 3 * sizeof(*st));
    if (!st)
        return -ENOMEM;
    int err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        uint32_t *s = &st[i * 3];
        const struct model_node *nd = model_node(m, (uint32_t)i);
        if (i == MODEL_ROOT || nd->parent == MODEL_ROOT) {
            s[0] = s[1] = NOT_ON_PATH;
            s[2] = DRILL_NO_CALLER;
            continue;
        }
        const uint32_t *p = &st[(size_t)nd->parent * 3];
        s[0] = p[0], s[1] = p[1];
        const struct frame_chain *c = r->chain(r->ctx, nd->frame);
        fv_step(c, func, p[2], &s[0], &s[1]);
        s[2] = c->f[0].func;
        if (self[i] && s[0] != NOT_ON_PATH)
            err = fv_count(a, s[0], s[1], self[i]);
    }
    free(st);
    return err;
}

static int edge_cmp(const void *pa, const void *pb)
{
    const struct drill_edge *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->func > b->func) - (a->func < b->func);
}

/* counts[0..n) plus one pseudo entry into a sorted edge list. */
static struct drill_edge *edges(const uint64_t *counts, uint32_t n, uint32_t pseudo, uint64_t pw,
                                uint64_t total, size_t *out_n)
{
    size_t k = pw ? 1 : 0;
    for (uint32_t i = 0; i < n; i++)
        k += counts[i] > 0;
    struct drill_edge *e = calloc(k ? k : 1, sizeof(*e));
    if (!e)
        return NULL;
    double d = total ? (double)total : 1.0;
    k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (counts[i])
            e[k++] = (struct drill_edge){i, counts[i], 100.0 * (double)counts[i] / d};
    if (pw)
        e[k++] = (struct drill_edge){pseudo, pw, 100.0 * (double)pw / d};
    qsort(e, k, sizeof(*e), edge_cmp);
    *out_n = k;
    return e;
}

int drill_func_view(const struct model *m, const struct resolver *r, const uint64_t *self,
                    uint32_t func, struct drill_fview *out)
{
    *out = (struct drill_fview){.func = func};
    struct fv_acc a = {0};
    int err = fv_pass(m, r, self, func, &a);
    if (!err) {
        for (uint32_t i = 0; i < a.ncallers; i++)
            out->total += a.callers[i];
        out->total += a.no_caller;
        out->self = a.self;
        size_t n = model_node_count(m);
        for (size_t i = 0; i < n; i++)
            out->samples += self[i];
        out->callers =
            edges(a.callers, a.ncallers, DRILL_NO_CALLER, a.no_caller, out->total, &out->ncallers);
        out->callees = edges(a.callees, a.ncallees, DRILL_SELF, a.self, out->total, &out->ncallees);
        if (!out->callers || !out->callees)
            err = -ENOMEM;
        double d = out->samples ? (double)out->samples : 1.0;
        out->self_pct = 100.0 * (double)out->self / d;
        out->total_pct = 100.0 * (double)out->total / d;
    }
    free(a.callers);
    free(a.callees);
    if (err)
        drill_fview_free(out);
    return err;
}

void drill_fview_free(struct drill_fview *v)
{
    free(v->callers);
    free(v->callees);
    v->callers = v->callees = NULL;
    v->ncallers = v->ncallees = 0;
}

/* ------------------------------------------------------------ expansion set */

uint64_t drill_path_hash(uint64_t parent, uint32_t func)
{
    return hash_combine(parent, func);
}

static size_t expand_lower(const struct drill_expand *e, uint64_t h)
{
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (e->h[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool drill_expand_has(const struct drill_expand *e, uint64_t h)
{
    if (!e)
        return false;
    size_t i = expand_lower(e, h);
    return i < e->n && e->h[i] == h;
}

int drill_expand_set(struct drill_expand *e, uint64_t h, bool on)
{
    size_t i = expand_lower(e, h);
    bool has = i < e->n && e->h[i] == h;
    if (on && !has) {
        if (e->n == DRILL_EXPAND_MAX)
            return -ENOSPC;
        memmove(&e->h[i + 1], &e->h[i], (e->n - i) * sizeof(e->h[0]));
        e->h[i] = h;
        e->n++;
    } else if (!on && has) {
        memmove(&e->h[i], &e->h[i + 1], (e->n - i - 1) * sizeof(e->h[0]));
        e->n--;
    }
    return 0;
}

/* ------------------------------------------------------------ function trees */

struct fnode {
    uint32_t func, parent, first_child, next_sibling;
    uint64_t self, total, hash;
    bool expanded, more; /* more: has children that were not built */
};

struct ftree {
    struct fnode *n;
    size_t count, alloc;
    uint32_t *slots; /* (parent, func) -> node + 1 */
    size_t nslots;   /* power of two */
    const struct drill_tree_opts *o;
    const uint64_t *self, *total;
};

static size_t slot_of(const struct ftree *t, uint32_t parent, uint32_t func)
{
    /* every bit of parent and func must reach the low bits */
    return (size_t)hash_mix64((uint64_t)parent << 32 | func) & (t->nslots - 1);
}

static int ft_rehash(struct ftree *t)
{
    size_t ns = t->nslots ? t->nslots * 2 : 1024;
    uint32_t *s = calloc(ns, sizeof(*s));
    if (!s)
        return -ENOMEM;
    free(t->slots);
    t->slots = s;
    t->nslots = ns;
    for (size_t i = 1; i < t->count; i++) {
        size_t k = slot_of(t, t->n[i].parent, t->n[i].func);
        while (s[k])
            k = (k + 1) & (ns - 1);
        s[k] = (uint32_t)i + 1;
    }
    return 0;
}

/* The child func of node parent, made when new; UINT32_MAX on ENOMEM. */
static uint32_t ft_child(struct ftree *t, uint32_t parent, uint32_t func)
{
    size_t k = slot_of(t, parent, func);
    for (; t->slots[k]; k = (k + 1) & (t->nslots - 1)) {
        struct fnode *c = &t->n[t->slots[k] - 1];
        if (c->parent == parent && c->func == func)
            return t->slots[k] - 1;
    }
    /* node ids are uint32_t, UINT32_MAX is "none" */
    if (vec_reserve_max(&t->n, &t->alloc, t->count + 1, sizeof *t->n, UINT32_MAX - 2) < 0)
        return UINT32_MAX;
    uint32_t i = (uint32_t)t->count++;
    struct fnode *p = &t->n[parent];
    uint64_t h = drill_path_hash(p->hash, func);
    t->n[i] = (struct fnode){.func = func,
                             .parent = parent,
                             .first_child = UINT32_MAX,
                             .next_sibling = p->first_child,
                             .hash = h,
                             .expanded = t->o->expand_all || drill_expand_has(t->o->expand, h)};
    p->first_child = i;
    t->slots[k] = i + 1;
    if (t->count * 2 > t->nslots && ft_rehash(t) < 0)
        return UINT32_MAX;
    return i;
}

static int ft_init(struct ftree *t, const struct drill_tree_opts *o, const uint64_t *self,
                   const uint64_t *total)
{
    *t = (struct ftree){.o = o, .self = self, .total = total, .alloc = 256};
    t->n = malloc(t->alloc * sizeof(*t->n));
    if (!t->n || ft_rehash(t) < 0)
        return -ENOMEM;
    t->n[0] = (struct fnode){.func = UINT32_MAX,
                             .parent = UINT32_MAX,
                             .first_child = UINT32_MAX,
                             .next_sibling = UINT32_MAX,
                             .hash = DRILL_ROOT_HASH,
                             .expanded = true};
    t->count = 1;
    return 0;
}

static void ft_free(struct ftree *t)
{
    free(t->n);
    free(t->slots);
}

/* Top down: a node's chain (root first) extends its parent's path; the
 * walk stops at a collapsed row, whose total already holds the subtree. */
static int td_enter(void *ctx, uint32_t node, const struct frame_chain *c, uint32_t pa,
                    uint32_t *aux)
{
    struct ftree *t = ctx;
    uint32_t cur = pa;
    for (unsigned i = c->n; i-- > 0;) {
        if (!t->n[cur].expanded) {
            t->n[cur].more = true;
            return 0;
        }
        cur = ft_child(t, cur, c->f[i].func);
        if (cur == UINT32_MAX)
            return -ENOMEM;
        t->n[cur].total += t->total[node];
    }
    t->n[cur].self += t->self[node];
    *aux = cur;
    if (t->n[cur].expanded)
        return 1;
    if (t->total[node] > t->self[node])
        t->n[cur].more = true;
    return 0;
}

static void td_leave(void *ctx, uint32_t node, const struct frame_chain *c)
{
    (void)ctx, (void)node, (void)c;
}

/* Bottom up: each stack, leaf first, up to its thread. */
static int bu_stack(struct ftree *t, const struct model *m, const struct resolver *r, uint32_t node,
                    uint64_t w)
{
    uint32_t cur = 0;
    for (; !is_thread_node(m, node); node = model_node(m, node)->parent) {
        const struct frame_chain *c = r->chain(r->ctx, model_node(m, node)->frame);
        for (unsigned i = 0; i < c->n; i++) {
            if (!t->n[cur].expanded) {
                t->n[cur].more = true;
                return 0;
            }
            cur = ft_child(t, cur, c->f[i].func);
            if (cur == UINT32_MAX)
                return -ENOMEM;
            t->n[cur].total += w;
        }
    }
    t->n[cur].self += w;
    return 0;
}

static int ft_build(struct ftree *t, const struct model *m, const struct resolver *r)
{
    if (t->o->kind == DRILL_TOPDOWN) {
        struct walk_ops ops = {td_enter, td_leave, t};
        return walk(m, r, t->total, &ops, 0);
    }
    size_t n = model_node_count(m);
    for (size_t i = 1; i < n; i++) {
        if (!t->self[i] || is_thread_node(m, (uint32_t)i))
            continue;
        int err = bu_stack(t, m, r, (uint32_t)i, t->self[i]);
        if (err)
            return err;
    }
    return 0;
}

/* ------------------------------------------------------------ flattening */

struct flat {
    uint32_t node;
    size_t parent_row;
    uint32_t depth;
};

struct kid_sort {
    const struct fnode *n;
};

/* Biggest first; ties by function id so the order is stable. */
static int kid_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct kid_sort *k = ctx;
    const struct fnode *a = &k->n[*(const uint32_t *)pa], *b = &k->n[*(const uint32_t *)pb];
    if (a->total != b->total)
        return a->total < b->total ? -1 : 1; /* ascending: pushed, so popped biggest first */
    return (a->func < b->func) - (a->func > b->func);
}

static int push_kids(const struct ftree *t, uint32_t node, size_t row, uint32_t depth,
                     uint64_t samples, struct flat **st, size_t *sn, size_t *salloc)
{
    size_t k = 0;
    for (uint32_t c = t->n[node].first_child; c != UINT32_MAX; c = t->n[c].next_sibling)
        k++;
    if (vec_reserve(st, salloc, *sn + k, sizeof **st) < 0)
        return -ENOMEM;
    uint32_t *kids = malloc((k ? k : 1) * sizeof(*kids));
    if (!kids)
        return -ENOMEM;
    k = 0;
    for (uint32_t c = t->n[node].first_child; c != UINT32_MAX; c = t->n[c].next_sibling)
        if (!t->o->expand_all || 100.0 * (double)t->n[c].total >= t->o->min_pct * (double)samples)
            kids[k++] = c;
    struct kid_sort ks = {t->n};
    qsort_r(kids, k, sizeof(*kids), kid_cmp, &ks);
    for (size_t i = 0; i < k; i++)
        (*st)[(*sn)++] = (struct flat){kids[i], row, depth};
    free(kids);
    return 0;
}

static int flatten(const struct ftree *t, uint64_t samples, struct drill_tree *out)
{
    struct flat *st = NULL;
    size_t sn = 0, salloc = 0, alloc = 0;
    int err = push_kids(t, 0, SIZE_MAX, 0, samples, &st, &sn, &salloc);
    double d = samples ? (double)samples : 1.0;
    while (!err && sn > 0) {
        struct flat e = st[--sn];
        const struct fnode *f = &t->n[e.node];
        if ((err = vec_reserve(&out->rows, &alloc, out->n + 1, sizeof *out->rows)) < 0)
            break;
        uint64_t ptot = e.parent_row == SIZE_MAX ? samples : out->rows[e.parent_row].total;
        bool kids = f->first_child != UINT32_MAX || f->more;
        out->rows[out->n] = (struct drill_row){
            .depth = e.depth,
            .func = f->func,
            .self = f->self,
            .total = f->total,
            .pct = 100.0 * (double)f->total / d,
            .parent_pct = ptot ? 100.0 * (double)f->total / (double)ptot : 0.0,
            .has_children = kids,
            .expanded = kids && f->expanded && f->first_child != UINT32_MAX,
            .hash = f->hash,
            .parent = e.parent_row,
        };
        size_t row = out->n++;
        if (f->expanded)
            err = push_kids(t, e.node, row, e.depth + 1, samples, &st, &sn, &salloc);
    }
    free(st);
    return err;
}

int drill_tree(const struct model *m, const struct resolver *r, const uint64_t *self,
               const struct drill_tree_opts *o, struct drill_tree *out)
{
    *out = (struct drill_tree){0};
    uint64_t *total = node_totals(m, self, &out->samples);
    if (!total)
        return -ENOMEM;
    struct ftree t;
    int err = ft_init(&t, o, self, total);
    if (!err)
        err = ft_build(&t, m, r);
    if (!err)
        err = flatten(&t, out->samples, out);
    ft_free(&t);
    free(total);
    if (err)
        drill_tree_free(out);
    return err;
}

void drill_tree_free(struct drill_tree *t)
{
    free(t->rows);
    *t = (struct drill_tree){0};
}

/* The hottest child of the row with path hash h in a tree built with
 * expansion e (h expanded): its hash, 0 when the row has no children,
 * -ENOENT when there is no such row. */
static int hottest_child(const struct model *m, const struct resolver *r, const uint64_t *self,
                         const uint64_t *total, enum drill_tree_kind kind,
                         const struct drill_expand *e, uint64_t h, uint64_t *child)
{
    struct drill_tree_opts o = {.kind = kind, .expand = e};
    struct ftree t;
    int err = ft_init(&t, &o, self, total);
    if (!err)
        err = ft_build(&t, m, r);
    uint32_t cur = UINT32_MAX;
    for (size_t i = 0; !err && i < t.count && cur == UINT32_MAX; i++)
        if (t.n[i].hash == h)
            cur = (uint32_t)i;
    if (!err && cur == UINT32_MAX)
        err = -ENOENT;
    uint32_t best = UINT32_MAX;
    for (uint32_t c = err ? UINT32_MAX : t.n[cur].first_child; c != UINT32_MAX;
         c = t.n[c].next_sibling)
        if (best == UINT32_MAX || t.n[c].total > t.n[best].total ||
            (t.n[c].total == t.n[best].total && t.n[c].func < t.n[best].func))
            best = c;
    *child = best == UINT32_MAX ? 0 : t.n[best].hash;
    ft_free(&t);
    return err;
}

/* One level at a time, each build only as deep as the path opened so far:
 * on a big model that is far cheaper than building the whole tree. */
int drill_expand_hottest(const struct model *m, const struct resolver *r, const uint64_t *self,
                         enum drill_tree_kind kind, uint64_t from, struct drill_expand *e)
{
    uint64_t samples;
    uint64_t *total = node_totals(m, self, &samples);
    if (!total)
        return -ENOMEM;
    int added = 0, err = 0;
    for (uint64_t h = from; h && !err;) {
        bool fresh = h != DRILL_ROOT_HASH && !drill_expand_has(e, h);
        if (fresh && (err = drill_expand_set(e, h, true)) < 0)
            break;
        uint64_t child = 0;
        err = hottest_child(m, r, self, total, kind, e, h, &child);
        if (fresh && (err || !child))
            drill_expand_set(e, h, false); /* a leaf stays closed */
        else if (fresh)
            added++;
        h = child;
    }
    free(total);
    return err ? err : added;
}
