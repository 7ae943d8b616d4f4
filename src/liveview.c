/*
 * liveview.c - see liveview.h.  The hot rows come from view_hot; the thread
 * rows join the model's thread table, the per-thread window counts of the
 * call tree, each thread's latest leaf and procstat's per-thread numbers.
 */
#include "liveview.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

struct live_frame *live_frame_new(void)
{
    return calloc(1, sizeof(struct live_frame));
}

void live_frame_free(struct live_frame *f)
{
    if (!f)
        return;
    free(f->hot);
    free(f->thr);
    free(f);
}

int lv_build_hot(const struct model *m, const struct resolver *r, bool recent, uint64_t now_ns,
                 pid_t tid, double rate_hz, struct live_frame *f)
{
    struct view_opts vo = {
        .window = recent ? MODEL_RECENT : MODEL_CUMULATIVE,
        .now_ns = now_ns,
        .tid = tid,
        .sort = SORT_SELF,
    };
    struct hot_table t;
    int err = view_hot(m, r, &vo, &t);
    if (err)
        return err;
    struct lv_hot_row *rows = calloc(t.n ? t.n : 1, sizeof(*rows));
    if (!rows) {
        hot_table_free(&t);
        return -ENOMEM;
    }
    for (size_t i = 0; i < t.n; i++) {
        const struct hot_row *h = &t.rows[i];
        const struct func_info *fi = r->func(r->ctx, h->func);
        rows[i] = (struct lv_hot_row){
            .func = h->func,
            .name = fi->name ? fi->name : "?",
            .module = fi->module ? fi->module : "",
            .file = fi->file,
            .line = fi->line,
            .self = h->self,
            .total = h->total,
            .self_pct = h->self_pct,
            .total_pct = h->total_pct,
            .self_s = rate_hz > 0 ? (double)h->self / rate_hz : 0.0,
        };
    }
    free(f->hot);
    f->hot = rows;
    f->nhot = t.n;
    f->hot_samples = t.samples;
    f->recent = recent;
    f->tid = tid;
    hot_table_free(&t);
    return 0;
}

/* ------------------------------------------------------------ threads */

static const char *leaf_func(const struct model *m, const struct resolver *r,
                             const struct lv_leaf *leaves, size_t n, pid_t tid)
{
    for (size_t i = 0; i < n; i++) {
        if (leaves[i].tid != tid)
            continue;
        const struct model_node *nd = model_node(m, leaves[i].node);
        /* a sample with no frames ends at the thread's own node */
        if (!nd || nd->parent == MODEL_ROOT || nd->parent == MODEL_NO_NODE)
            return NULL;
        const struct frame_chain *c = r->chain(r->ctx, nd->frame);
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
        memcpy(row->name, pt->name, sizeof(row->name));
        row->name[sizeof(row->name) - 1] = '\0';
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
        if (!row && !have_ps) {
            row = row_for(f, cap, t->tid);
            if (row) {
                memcpy(row->name, t->name, sizeof(row->name));
                row->state = t->state;
            }
        }
        if (!row)
            continue;
        /* 't' is most often pertop's own stop for a sample, caught by the
         * procfs read: show the state the sampler saw just before it */
        if (row->state == 't' && t->state && t->state != 't')
            row->state = t->state;
        row->samples = t->node != MODEL_NO_NODE ? total[t->node] : 0;
        row->share_pct = all ? 100.0 * (double)row->samples / (double)all : 0.0;
    }
}

int lv_build_threads(const struct model *m, const struct resolver *r, bool recent, uint64_t now_ns,
                     pid_t tid, const struct lv_leaf *leaves, size_t nleaves,
                     const struct procstat_snapshot *ps, struct live_frame *f)
{
    size_t nodes = model_node_count(m);
    size_t cap = model_thread_count(m) + (ps ? ps->nthread_rows : 0);
    uint64_t *self = malloc(nodes * sizeof(*self));
    uint64_t *total = malloc(nodes * sizeof(*total));
    struct lv_thread_row *rows = calloc(cap ? cap : 1, sizeof(*rows));
    if (!self || !total || !rows) {
        free(self), free(total), free(rows);
        return -ENOMEM;
    }
    model_self_counts(m, recent ? MODEL_RECENT : MODEL_CUMULATIVE, now_ns, self);
    model_totals(m, self, total);
    free(f->thr);
    f->thr = rows;
    f->nthr = 0;
    if (ps)
        merge_ps(f, cap, tid, ps);
    merge_model(f, cap, m, total, total[MODEL_ROOT], tid, ps != NULL);
    for (size_t i = 0; i < f->nthr; i++)
        f->thr[i].func = leaf_func(m, r, leaves, nleaves, f->thr[i].tid);
    free(self);
    free(total);
    return 0;
}
