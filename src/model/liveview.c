/*
 * liveview.c - see liveview.h.  Every view starts from the window's self
 * counts narrowed by the zoom (lv_self_counts); the hot rows come from
 * drill_func_totals, the function view and the trees from src/drill.c; the
 * thread rows join the model's thread table, the per-thread window counts
 * of the call tree, each thread's latest leaf and procstat's per-thread
 * numbers.
 */
#include "src/model/liveview.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/annotate/annotate.h"

struct live_frame *live_frame_new(void)
{
    return calloc(1, sizeof(struct live_frame));
}

static void free_func(struct lv_func *fn)
{
    free(fn->callers);
    free(fn->callees);
    memset(fn, 0, sizeof *fn);
}

void live_frame_free(struct live_frame *f)
{
    if (!f)
        return;
    free(f->hot);
    free(f->thr);
    free_func(&f->fn);
    free(f->tree);
    annot_view_free(f->annot);
    free(f);
}

uint64_t *lv_self_counts(const struct model *m, const struct resolver *r, bool recent,
                         uint64_t now_ns, const struct zoom *z)
{
    size_t n = model_node_count(m);
    uint64_t *self = malloc((n ? n : 1) * sizeof(*self));
    if (!self)
        return NULL;
    model_self_counts(m, recent ? MODEL_RECENT : MODEL_CUMULATIVE, now_ns, self);
    if (z && zoom_apply(m, r, z, self) < 0) {
        free(self);
        return NULL;
    }
    return self;
}

int lv_build_hot_self(const struct model *m, const struct resolver *r, const uint64_t *self,
                      double rate_hz, struct live_frame *f)
{
    struct drill_funcs t;
    int err = drill_func_totals(m, r, self, &t);
    if (err)
        return err;
    size_t n = 0;
    for (uint32_t i = 0; i < t.n; i++)
        n += t.total[i] > 0;
    struct lv_hot_row *rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows) {
        drill_funcs_free(&t);
        return -ENOMEM;
    }
    double d = t.samples ? (double)t.samples : 1.0;
    n = 0;
    for (uint32_t i = 0; i < t.n; i++) {
        if (!t.total[i])
            continue;
        const struct func_info *fi = r->func(r->ctx, i);
        rows[n++] = (struct lv_hot_row){
            .func = i,
            .name = fi->name ? fi->name : "?",
            .module = fi->module ? fi->module : "",
            .file = fi->file,
            .line = fi->line,
            .self = t.self[i],
            .total = t.total[i],
            .self_pct = 100.0 * (double)t.self[i] / d,
            .total_pct = 100.0 * (double)t.total[i] / d,
            .self_s = rate_hz > 0 ? (double)t.self[i] / rate_hz : 0.0,
        };
    }
    free(f->hot);
    f->hot = rows;
    f->nhot = n;
    f->hot_samples = t.samples;
    drill_funcs_free(&t);
    return 0;
}

int lv_build_hot(const struct model *m, const struct resolver *r, bool recent, uint64_t now_ns,
                 pid_t tid, double rate_hz, struct live_frame *f)
{
    struct zoom z = {.tid = tid};
    uint64_t *self = lv_self_counts(m, r, recent, now_ns, &z);
    if (!self)
        return -ENOMEM;
    int err = lv_build_hot_self(m, r, self, rate_hz, f);
    free(self);
    if (!err) {
        f->recent = recent;
        f->tid = tid;
    }
    return err;
}

/* ------------------------------------------------------------ drill-down */

static const char *edge_name(const struct resolver *r, uint32_t func)
{
    if (func == DRILL_NO_CALLER)
        return "[no caller]";
    if (func == DRILL_SELF)
        return "[self]";
    const char *n = r->func(r->ctx, func)->name;
    return n ? n : "?";
}

static struct lv_edge_row *edge_rows(const struct resolver *r, const struct drill_edge *e, size_t n,
                                     uint64_t samples)
{
    struct lv_edge_row *rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows)
        return NULL;
    double d = samples ? (double)samples : 1.0;
    for (size_t i = 0; i < n; i++) {
        bool real = e[i].func != DRILL_NO_CALLER && e[i].func != DRILL_SELF;
        const char *mod = real ? r->func(r->ctx, e[i].func)->module : "";
        rows[i] = (struct lv_edge_row){
            .func = e[i].func,
            .name = edge_name(r, e[i].func),
            .module = mod ? mod : "",
            .count = e[i].count,
            .pct = e[i].pct,
            .all_pct = 100.0 * (double)e[i].count / d,
        };
    }
    return rows;
}

int lv_build_func(const struct model *m, const struct resolver *r, const uint64_t *self,
                  uint32_t func, struct live_frame *f)
{
    struct drill_fview v;
    int err = drill_func_view(m, r, self, func, &v);
    if (err)
        return err;
    free_func(&f->fn);
    const struct func_info *fi = r->func(r->ctx, func);
    f->fn = (struct lv_func){
        .func = func,
        .name = fi->name ? fi->name : "?",
        .module = fi->module ? fi->module : "",
        .file = fi->file,
        .line = fi->line,
        .self = v.self,
        .total = v.total,
        .samples = v.samples,
        .self_pct = v.self_pct,
        .total_pct = v.total_pct,
        .callers = edge_rows(r, v.callers, v.ncallers, v.samples),
        .callees = edge_rows(r, v.callees, v.ncallees, v.samples),
        .ncallers = v.ncallers,
        .ncallees = v.ncallees,
    };
    drill_fview_free(&v);
    if (!f->fn.callers || !f->fn.callees) {
        free_func(&f->fn);
        return -ENOMEM;
    }
    return 0;
}

int lv_build_tree(const struct model *m, const struct resolver *r, const uint64_t *self,
                  const struct drill_tree_opts *o, struct live_frame *f)
{
    struct drill_tree t;
    int err = drill_tree(m, r, self, o, &t);
    if (err)
        return err;
    struct lv_tree_row *rows = calloc(t.n ? t.n : 1, sizeof(*rows));
    if (!rows) {
        drill_tree_free(&t);
        return -ENOMEM;
    }
    for (size_t i = 0; i < t.n; i++) {
        const struct drill_row *d = &t.rows[i];
        const struct func_info *fi = r->func(r->ctx, d->func);
        rows[i] = (struct lv_tree_row){
            .func = d->func,
            .name = fi->name ? fi->name : "?",
            .module = fi->module ? fi->module : "",
            .depth = d->depth,
            .self = d->self,
            .total = d->total,
            .pct = d->pct,
            .parent_pct = d->parent_pct,
            .has_children = d->has_children,
            .expanded = d->expanded,
            .hash = d->hash,
            .parent = d->parent,
        };
    }
    free(f->tree);
    f->tree = rows;
    f->ntree = t.n;
    f->tree_samples = t.samples;
    drill_tree_free(&t);
    return 0;
}

/* A function named on the command line: found among the sampled ones. */
static int find_named(const struct model *m, const struct resolver *r, const uint64_t *self,
                      struct lv_view_req *v, struct live_frame *f)
{
    struct drill_funcs t;
    int err = drill_func_totals(m, r, self, &t);
    if (err)
        return err;
    char msg[sizeof f->view_err - 16];
    if (drill_find_func(r, t.total, v->func_name, &v->func, msg, sizeof msg) < 0)
        snprintf(f->view_err, sizeof f->view_err, "%s", msg);
    else
        v->func_name = NULL;
    drill_funcs_free(&t);
    return 0;
}

static int build_source(const struct model *m, const struct resolver *r, const uint64_t *self,
                        const struct lv_view_req *v, const struct annot_env *env,
                        struct live_frame *f, struct annot_counts **counts)
{
    /* the function's numbers head the view, as in the function view */
    int err = lv_build_func(m, r, self, v->func, f);
    if (err || !env)
        return err;
    *counts = annot_collect(env, m, r, self, v->func);
    return *counts || errno != ENOMEM ? 0 : -ENOMEM;
}

int lv_build_view(const struct model *m, const struct resolver *r, const uint64_t *self,
                  struct lv_view_req *v, const struct annot_env *env, struct live_frame *f,
                  struct annot_counts **counts)
{
    *counts = NULL;
    f->view = v->view;
    zoom_describe(&v->zoom, r, f->zoom_desc, sizeof f->zoom_desc);
    if (v->zoom.tid && !model_thread_find(m, v->zoom.tid)) {
        /* a mistyped --thread should not look like an idle thread */
        size_t k = strlen(f->zoom_desc);
        snprintf(f->zoom_desc + k, sizeof f->zoom_desc - k,
                 " (never sampled: not a thread of "
                 "the target?)");
    }
    f->view_err[0] = '\0';
    if (v->view == LIVE_MAIN)
        return 0;
    if (v->view == LIVE_TREE || v->view == LIVE_INVERTED) {
        struct drill_tree_opts o = {.kind = v->view == LIVE_TREE ? DRILL_TOPDOWN : DRILL_INVERTED,
                                    .expand = &v->expand,
                                    .expand_all = v->expand_all,
                                    .min_pct = v->min_pct};
        if (v->hot_expand) {
            int added = drill_expand_hottest(m, r, self, o.kind, v->hot_from, &v->expand);
            if (added == -ENOMEM)
                return added;
            f->expand = v->expand;
            f->have_expand = true;
            v->hot_expand = false;
        }
        return lv_build_tree(m, r, self, &o, f);
    }
    if (v->func_name) {
        int err = find_named(m, r, self, v, f);
        if (err || f->view_err[0])
            return err;
    }
    if (v->view == LIVE_FUNC)
        return lv_build_func(m, r, self, v->func, f);
    return build_source(m, r, self, v, env, f, counts);
}

/* ------------------------------------------------------------ threads */

static const char *leaf_func(const struct model *m, const struct resolver *r,
                             const struct lv_leaf *leaves, size_t n, pid_t tid, uint32_t *id)
{
    *id = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        if (leaves[i].tid != tid)
            continue;
        const struct model_node *nd = model_node(m, leaves[i].node);
        /* a sample with no frames ends at the thread's own node */
        if (!nd || nd->parent == MODEL_ROOT || nd->parent == MODEL_NO_NODE)
            return NULL;
        const struct frame_chain *c = r->chain(r->ctx, nd->frame);
        *id = c->f[0].func;
        return r->func(r->ctx, c->f[0].func)->name;
    }
    return NULL;
}

static struct lv_thread_row *row_for(struct live_frame *f, size_t cap, pid_t tid)
{
    for (size_t i = 0; i < f->nthr; i++)
        if (f->thr[i].tid == tid)
            return &f->thr[i];
    if (f->nthr == cap)
        return NULL;
    struct lv_thread_row *row = &f->thr[f->nthr++];
    memset(row, 0, sizeof(*row));
    row->tid = tid;
    row->wait.fd = -1;
    return row;
}

static void merge_ps(struct live_frame *f, size_t cap, pid_t tid,
                     const struct procstat_snapshot *ps)
{
    for (size_t i = 0; i < ps->nthread_rows; i++) {
        const struct procstat_thread *pt = &ps->threads[i];
        if (tid && pt->tid != tid)
            continue;
        struct lv_thread_row *row = row_for(f, cap, pt->tid);
        if (!row)
            return;
        snprintf(row->name, sizeof row->name, "%s", pt->name);
        row->state = pt->state;
        row->have_cpu = true;
        row->cpu_pct = pt->cpu_pct;
        row->read_bps = pt->read_bps;
        row->write_bps = pt->write_bps;
        row->syscalls_ps = pt->syscalls_ps;
        row->wait = pt->wait;
    }
}

/* Adds the model's threads: all of them without ps, else only those ps
 * listed (the others have exited) which are already rows. */
static void merge_model(struct live_frame *f, size_t cap, const struct model *m,
                        const uint64_t *total, uint64_t all, pid_t tid, bool have_ps)
{
    size_t nt = model_thread_count(m);
    for (size_t i = 0; i < nt; i++) {
        const struct model_thread *t = model_thread(m, i);
        if ((tid && t->tid != tid) || (!have_ps && t->exited))
            continue;
        struct lv_thread_row *row = NULL;
        for (size_t k = 0; k < f->nthr && !row; k++)
            if (f->thr[k].tid == t->tid)
                row = &f->thr[k];
        /* a child's threads are not in the target's procfs: from the model,
         * exited or not */
        if (!row && (!have_ps || t->pid)) {
            row = row_for(f, cap, t->tid);
            if (row) {
                snprintf(row->name, sizeof row->name, "%s", t->name);
                row->state = t->state;
            }
        }
        if (!row)
            continue;
        row->pid = t->pid;
        /* 't' is most often pertop's own stop for a sample, caught by the
         * procfs read: show the state the sampler saw just before it */
        if (row->state == 't' && t->state && t->state != 't')
            row->state = t->state;
        row->samples = t->node != MODEL_NO_NODE ? total[t->node] : 0;
        row->share_pct = all ? 100.0 * (double)row->samples / (double)all : 0.0;
    }
}

int lv_build_threads_self(const struct model *m, const struct resolver *r, const uint64_t *self,
                          pid_t tid, const struct lv_leaf *leaves, size_t nleaves,
                          const struct procstat_snapshot *ps, struct live_frame *f)
{
    size_t nodes = model_node_count(m);
    size_t cap = model_thread_count(m) + (ps ? ps->nthread_rows : 0);
    uint64_t *total = malloc((nodes ? nodes : 1) * sizeof(*total));
    struct lv_thread_row *rows = calloc(cap ? cap : 1, sizeof(*rows));
    if (!total || !rows) {
        free(total), free(rows);
        return -ENOMEM;
    }
    model_totals(m, self, total);
    free(f->thr);
    f->thr = rows;
    f->nthr = 0;
    if (ps)
        merge_ps(f, cap, tid, ps);
    merge_model(f, cap, m, total, total[MODEL_ROOT], tid, ps != NULL);
    for (size_t i = 0; i < f->nthr; i++)
        f->thr[i].func = leaf_func(m, r, leaves, nleaves, f->thr[i].tid, &f->thr[i].func_id);
    free(total);
    return 0;
}

int lv_build_threads(const struct model *m, const struct resolver *r, bool recent, uint64_t now_ns,
                     pid_t tid, const struct lv_leaf *leaves, size_t nleaves,
                     const struct procstat_snapshot *ps, struct live_frame *f)
{
    uint64_t *self = lv_self_counts(m, r, recent, now_ns, NULL);
    if (!self)
        return -ENOMEM;
    int err = lv_build_threads_self(m, r, self, tid, leaves, nleaves, ps, f);
    free(self);
    return err;
}
