/*
 * session_live.c - the screen's frames of a session (session_live) and
 * what its source and instruction views need.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "src/annotate/annotate.h"
#include "src/model/intern.h"
#include "src/model/liveview.h"
#include "src/model/model.h"
#include "src/profile/diff.h"
#include "src/session/processing.h"
#include "src/session/resolve.h"
#include "src/session/session_int.h"

/* Threads that Python's threading module named: the samples carry those
 * names, /proc only the OS ones.  Under s->lock. */
static void python_thread_names(struct session *s, struct live_frame *f)
{
    for (size_t i = 0; i < f->nthr; i++) {
        const struct model_thread *t = model_thread_find(session_view_model(s), f->thr[i].tid);
        if (t && t->name[0])
            snprintf(f->thr[i].name, sizeof f->thr[i].name, "%.*s", (int)sizeof t->name, t->name);
    }
}

int session_live(struct session *s, const struct live_req *req, uint64_t now_ns,
                 const struct procstat_snapshot *ps, struct live_frame *f)
{
    /* the achieved rate is the caller's, over the last refresh (it knows
     * the previous frame): the run's mean would hide a change made with +/- */
    double recent = f->run.rate_achieved;
    session_run_info(s, &f->run);
    f->run.rate_achieved = recent;
    pthread_mutex_lock(&s->lock);
    uint32_t upto = intern_count(s->in);
    pthread_mutex_unlock(&s->lock);
    /* symbolize outside the lock: the processing thread keeps going */
    resolver_native_prepare(s->res, upto);
    struct resolver r = resolver_native_iface(s->res);
    double rate = recent > 0 ? recent : (double)f->run.rate_asked;
    /* the request's view (drill-down) and zoom: every view starts from the
     * same zoomed self counts */
    struct lv_view_req v = req->v;
    if (req->tid)
        v.zoom.tid = req->tid;
    bool annot = v.view == LIVE_SOURCE || v.view == LIVE_ASM;
    struct annot_env *env = annot ? session_annot_env(s) : NULL;
    struct annot_counts *counts = NULL;
    f->seq = req->seq;
    f->recent = req->recent;
    f->tid = v.zoom.tid;
    pthread_mutex_lock(&s->lock);
    struct model *m = session_view_model(s);
    uint64_t *self = lv_self_counts(m, &r, req->recent, now_ns, &v.zoom);
    int rc = self ? lv_build_hot_self(m, &r, self, rate, f) : -ENOMEM;
    if (rc == 0) {
        /* the leaves are copied compactly so the builder scans few */
        struct lv_leaf *lv = NULL;
        long n = processing_leaves(s->proc, m, &lv);
        rc =
            n >= 0 ? lv_build_threads_self(m, &r, self, v.zoom.tid, lv, (size_t)n, ps, f) : -ENOMEM;
        free(lv);
        if (rc == 0 && pysample_ready(s->py))
            python_thread_names(s, f);
    }
    if (rc == 0)
        rc = lv_build_view(m, &r, self, &v, env, f, &counts);
    pthread_mutex_unlock(&s->lock);
    free(self);
    /* file reads and disassembly outside the lock */
    if (counts)
        f->annot = annot_build(env, counts, v.view == LIVE_SOURCE ? ANNOT_SOURCE : ANNOT_ASM);
    annot_counts_free(counts);
    f->have_baseline = s->baseline != NULL;
    for (size_t i = 0; s->baseline && rc == 0 && i < f->nhot; i++) {
        /* a Python function (no module, a file) by name and file, as the
         * folded output and the baseline's reader name it */
        const struct lv_hot_row *h = &f->hot[i];
        char key[512];
        if (h->module && !h->module[0] && h->file)
            snprintf(key, sizeof key, "%s (%s)", h->name, h->file);
        else
            snprintf(key, sizeof key, "%s", h->name);
        diff_baseline_cell(s->baseline, key, h->self_pct, f->hot[i].vs_base,
                           sizeof f->hot[i].vs_base);
    }
    return rc;
}

struct annot_env *session_annot_env(struct session *s)
{
    if (!s->annot) {
        struct annot_env_cfg cfg = {
            .in = s->in,
            .reg = s->reg,
            .sym = s->sym,
            .pyreg = s->pyreg,
            .pid = s->pid,
            .maps = s->cfg.source_maps,
            .nmaps = s->cfg.nsource_maps,
        };
        s->annot = annot_env_new(&cfg);
    }
    /* once the target is gone its /proc/PID/root is too: plain paths */
    if (s->annot)
        annot_env_set_gone(s->annot, session_target_exited(s));
    return s->annot;
}
