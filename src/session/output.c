/*
 * output.c - writing the profile in each format (see output.h).
 */
#include "src/session/output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "config.h"
#include "sampler/unwind/modules.h"
#include "src/export/export_pprof.h"
#include "src/export/export_speedscope.h"
#include "src/export/export_svg.h"
#include "src/export/report.h"
#include "src/model/intern.h"
#include "src/model/model.h"
#include "src/model/view.h"
#include "src/profile/profile.h"
#include "src/session/resolve.h"
#include "src/session/runfigs.h"
#include "symbols/symbolize.h"

/* ------------------------------------------------- speedscope, svg, report */

/* Thread names for the writers, which run outside the model lock: copied
 * under it, as the thread table may grow meanwhile.  Each name is used
 * before the next is asked for. */
struct tname_ctx {
    const struct output_src *s;
    char buf[2 * sizeof(((struct model_thread *)0)->name) + 16];
};

/* With --subprocesses a child's thread is named after its process too,
 * "process-pid/thread" (the writers add "-tid"). */
static const char *thread_name_of(void *ctx, pid_t tid)
{
    struct tname_ctx *c = ctx;
    pthread_mutex_lock(c->s->lock);
    const struct model_thread *t = model_thread_find(c->s->model, tid);
    if (t && t->pid)
        snprintf(c->buf, sizeof c->buf, "%s-%d/%s", model_process_name(c->s->model, t->pid),
                 (int)t->pid, t->name);
    else
        snprintf(c->buf, sizeof c->buf, "%s", t ? t->name : "");
    pthread_mutex_unlock(c->s->lock);
    return c->buf;
}

/* Thread time one sample stands for: the mean interval between rounds. */
static uint64_t sample_period_ns(const struct run_info *h)
{
    double hz = h->rate_achieved > 0 ? h->rate_achieved : (double)h->rate_asked;
    return hz > 0 ? (uint64_t)(1e9 / hz + 0.5) : 0;
}

static int write_speedscope(const struct output_src *s, FILE *f, const struct run_info *h,
                            const struct resolver *r, const struct stack_table *t)
{
    struct tname_ctx tn = {.s = s};
    struct speedscope_opts o = {.name = h->cmdline,
                                .exporter = "pertop " PACKAGE_VERSION,
                                .period_ns = sample_period_ns(h),
                                .thread_name = thread_name_of,
                                .thread_ctx = &tn};
    return export_speedscope_write(f, t, r, &o);
}

static int write_svg(const struct output_src *s, FILE *f, const struct run_info *h,
                     const struct resolver *r, const struct stack_table *t, bool threads)
{
    char title[300], sub[200];
    snprintf(title, sizeof title, "pertop: %.280s", h->cmdline[0] ? h->cmdline : "?");
    snprintf(sub, sizeof sub, "pid %d, %" PRIu64 " samples, %.1f s at %u Hz, %s", (int)h->pid,
             h->samples, h->elapsed_s, h->rate_asked, h->idle ? "with idle" : "on-CPU");
    struct tname_ctx tn = {.s = s};
    struct svg_opts o;
    svg_opts_default(&o);
    o.title = title;
    o.subtitle = sub;
    o.threads = threads;
    o.thread_name = thread_name_of;
    o.thread_ctx = &tn;
    return export_svg_write(f, t, r, &o);
}

static int write_report(const struct output_src *s, FILE *f, const struct run_info *h,
                        const struct resolver *r, const struct stack_table *st,
                        const struct stack_table *per_thread, const struct hot_table *hot)
{
    struct report_figs *figs = runfigs_copy(s->figs); /* NULL: none measured */
    struct report_in in = {.run = h,
                           .figs = figs,
                           .hot = hot,
                           .stacks = st,
                           .thread_stacks = per_thread,
                           .r = r,
                           .baseline = s->baseline,
                           .baseline_name = s->baseline_name};
    int rc = report_write(f, &in);
    free(figs);
    return rc;
}

/* The views are taken under the model lock and written outside it, so a
 * big profile written from the screen does not hold up the processing
 * thread (100,000 distinct stacks take about half a second to write). */
static int write_web(const struct output_src *s, FILE *f, enum output_format fmt, bool threads,
                     const struct run_info *h, const struct resolver *r, const struct view_opts *vo)
{
    struct stack_table st = {0}, pt = {0};
    struct hot_table hot = {0};
    bool per_thread = fmt == FORMAT_SPEEDSCOPE || (fmt == FORMAT_SVG && threads);
    pthread_mutex_lock(s->lock);
    int rc = view_stacks(s->model, r, vo, per_thread, &st);
    if (rc == 0 && fmt == FORMAT_REPORT)
        rc = view_hot(s->model, r, vo, &hot);
    if (rc == 0 && fmt == FORMAT_REPORT) /* the verdict's per-thread functions */
        rc = view_stacks(s->model, r, vo, true, &pt);
    pthread_mutex_unlock(s->lock);
    if (rc == 0)
        rc = fmt == FORMAT_REPORT       ? write_report(s, f, h, r, &st, &pt, &hot)
             : fmt == FORMAT_SPEEDSCOPE ? write_speedscope(s, f, h, r, &st)
                                        : write_svg(s, f, h, r, &st, threads);
    hot_table_free(&hot);
    stack_table_free(&st);
    stack_table_free(&pt);
    return rc;
}

/* ------------------------------------------------- pprof, baseline, profile */

/* Build-ids of every module, read from the files before the model lock is
 * taken (the registry is append-only: ids below n stay valid). */
static char **module_build_ids(const struct output_src *s, size_t *n)
{
    *n = modreg_count(s->reg);
    char **ids = calloc(*n ? *n : 1, sizeof *ids);
    char hex[2 * 64 + 1];
    for (size_t i = 0; ids && i < *n; i++) {
        const struct module *m = modreg_get(s->reg, (uint32_t)i);
        if (m && m->open_path && sym_build_id(m->open_path, hex, sizeof hex) == 0)
            ids[i] = strdup(hex); /* NULL when out of memory: no build-id, no failure */
    }
    return ids;
}

static int write_pprof(const struct output_src *s, FILE *f, const struct run_info *h,
                       const struct resolver *r)
{
    size_t nids;
    char **ids = module_build_ids(s, &nids);
    if (!ids)
        return -ENOMEM;
    struct prof_meta figs = {0};
    runfigs_meta(s->figs, &figs); /* CPU %, RSS and peak, I/O rates when measured */
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t dur = (int64_t)(h->elapsed_s * 1e9);
    struct pprof_source src = {
        .r = r,
        .reg = s->reg,
        .build_ids = (const char *const *)ids,
        .nbuild_ids = nids,
        .run = h,
        .figs = &figs,
        .period_ns = sample_period_ns(h),
        .idle = h->idle,
        .time_nanos = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - dur,
        .duration_nanos = dur,
    };
    uint8_t *buf = NULL;
    size_t len = 0;
    pthread_mutex_lock(s->lock);
    src.m = s->model;
    src.in = s->in;
    int rc = export_pprof_encode(&src, &buf, &len);
    pthread_mutex_unlock(s->lock);
    /* gzip and write outside the lock: the processing thread keeps going */
    if (rc == 0)
        rc = export_pprof_gzip(f, buf, len);
    free(buf);
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

int output_write(FILE *f, const struct output_src *s, enum output_format fmt, bool threads)
{
    const struct run_info *h = s->run;
    struct view_opts vo = {
        .window = MODEL_CUMULATIVE, .now_ns = clock_mono_ns(), .sort = SORT_SELF};
    if (fmt == FORMAT_SPEEDSCOPE || fmt == FORMAT_SVG || fmt == FORMAT_REPORT)
        return write_web(s, f, fmt, threads, h, s->r, &vo);
    if (fmt == FORMAT_PPROF)
        return write_pprof(s, f, h, s->r);
    struct snapshot_opts so;
    snapshot_opts_default(&so);
    so.max_rows = s->rows;
    so.baseline = s->baseline;
    pthread_mutex_lock(s->lock);
    struct folded_opts fo = {
        .threads = threads, .line_numbers = s->line_numbers, .target_pid = h->pid};
    int rc = fmt == FORMAT_FOLDED ? snapshot_write_folded(f, s->model, s->r, &vo, &fo)
                                  : snapshot_write_text(f, h, s->model, s->r, &vo, &so);
    pthread_mutex_unlock(s->lock);
    return rc;
}
