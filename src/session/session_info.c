/*
 * session_info.c - what a running session tells: the run's facts
 * (session_run_info, one struct run_info for every writer) and what the
 * sampling costs (session_get_stats).  See session.h.
 */
#include "src/session/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sampler/perf/perfengine.h"
#include "sampler/proc/procfs.h"
#include "common/clock.h"
#include "src/export/report.h"
#include "src/model/intern.h"
#include "src/model/model.h"
#include "src/model/view.h"
#include "src/session/processing.h"
#include "src/session/resolve.h"
#include "src/session/runfigs.h"
#include "src/session/sampling.h"
#include "src/session/session_int.h"

/* a median stop longer than this makes the ptrace engine's samples suspect */
#define STOP_WARN_NS 200000ull

void session_get_stats(struct session *s, struct session_stats *out)
{
    memset(out, 0, sizeof *out);
    struct sampling_figs f = {0};
    struct processing_stats p = {0};
    if (s->smp)
        sampling_get(s->smp, &f);
    if (s->proc)
        processing_get_stats(s->proc, &p);
    out->rounds = f.st.rounds;
    out->captured = f.st.samples;
    out->failed = f.st.failed;
    out->stop_ns_total = f.st.stop_ns_total;
    out->stop_ns_max = f.st.stop_ns_max;
    out->stop_ns_median = f.st.stop_ns_median;
    out->clock_samples = f.st.clock_samples;
    out->sampler_cpu_ns = f.cpu_ns;
    out->processing_cpu_ns = p.cpu_ns;
    pthread_mutex_lock(&s->sync);
    out->target_cpu_s = cpumeter_seconds(&s->cpu);
    out->py_walks = s->pystats.walks;
    out->py_walk_torn = s->pystats.torn;
    out->py_retries = s->pystats.retries;
    out->py_walk_ns = s->pystats.walk_ns;
    out->py_reads = s->pystats.reads;
    out->py_refinds = s->pystats.refinds;
    pthread_mutex_unlock(&s->sync);
}

/* What the engine samples on, where there is a choice to tell. */
static const char *engine_detail(const struct session *s)
{
    if (s->engine == &perf_engine_ops)
        return s->cfg.cpu_clock ? "cpu-clock" : "task-clock";
    return "";
}

/* Why Python frames are missing, for the screen: the note of the set-up,
 * or, for a launched command, why the sampler stopped looking. */
static const char *python_note(const struct session *s)
{
    const char *note = s->py_note, *why = NULL;
    if (!note[0] && pysample_gave_up(s->py, &why))
        note = why[0]                           ? why
               : s->cfg.stacks == STACKS_PYTHON ? "no CPython found in the command — --python "
                                                  "shows nothing; try without it"
                                                : "";
    /* for the user, not the log: "pertop: " says nothing there */
    return strncmp(note, "pertop: ", 8) ? note : note + 8;
}

static void run_python(struct session *s, const struct processing_stats *p, uint64_t nb_torn,
                       struct run_info *out)
{
    snprintf(out->python, sizeof out->python, "%s", pysample_describe(s->py));
    out->py_samples = p->py_samples;
    out->py_unmerged = p->py_unmerged;
    out->py_torn = p->py_torn;
    out->nb_torn = nb_torn;
    out->nonblocking = s->cfg.nonblocking;
    if (session_folds_python(s))
        out->pyview = session_native_all(s) ? RUN_PYVIEW_NATIVE : RUN_PYVIEW_FIRST;
    /* an interpreter read: whatever was said before it showed is moot */
    if (!out->python[0])
        snprintf(out->py_note, sizeof out->py_note, "%s", python_note(s));
}

/* Per running thread: a clock engine's samples over the CPU time they
 * stand for; a paced engine's rounds over wall time. */
static double achieved(struct session *s, const struct engine_stats *st, double elapsed_s)
{
    /* children's CPU is not the target's: per the CPU time the samples
     * stand for (task-clock periods are thread CPU time) */
    if (st->clock_samples && s->cfg.subprocesses && !s->cfg.cpu_clock && st->clock_period_ns)
        return (double)st->clock_samples / ((double)st->clock_period_ns / 1e9);
    if (st->clock_samples) {
        pthread_mutex_lock(&s->sync);
        double cpu = cpumeter_seconds(&s->cpu);
        pthread_mutex_unlock(&s->sync);
        return cpu > 0 ? (double)st->clock_samples / cpu : 0.0;
    }
    return elapsed_s > 0 ? (double)st->rounds / elapsed_s : 0.0;
}

/* The engine note, and for a stopping engine whose median stop passed
 * STOP_WARN_NS, that its samples may land late. */
static void stop_warning(const struct session *s, const struct engine_stats *st, char *buf,
                         size_t size)
{
    int n = snprintf(buf, size, "%s", s->engine_note);
    if (st->stop_ns_median <= STOP_WARN_NS || n < 0 || (size_t)n >= size)
        return;
    snprintf(buf + n, size - (size_t)n,
             "%sthreads took a median %.0f us to stop (over %llu us): samples may skid to the "
             "next system call or tick — the perf engine samples at the instant "
             "(--engine perf; sysctl kernel.perf_event_paranoid=1 or CAP_PERFMON)",
             n ? "; " : "", (double)st->stop_ns_median / 1e3,
             (unsigned long long)(STOP_WARN_NS / 1000));
}

#define VERDICT_EVERY_NS 1000000000ull

#define CHILD_BUSY   0.5  /* children using half a CPU or more... */
#define TARGET_QUIET 0.05 /* ... while the target itself uses next to none */

/* Without --subprocesses, a target that waits while its children work
 * (a shell script, make): its profile is empty, so say where the work is
 * and which option follows it.  Each child's CPU is its average since it
 * started (no state kept between calls). */
static void child_note(struct session *s, const struct report_figs *g, char *buf, size_t size)
{
    buf[0] = '\0';
    if (s->cfg.subprocesses || !g || g->span_s < 1.0 || g->cpu_s > TARGET_QUIET * g->span_s)
        return;
    pid_t kids[64];
    int n = procfs_children(s->pid, kids, sizeof kids / sizeof kids[0]);
    struct timespec ts;
    long tck = sysconf(_SC_CLK_TCK);
    if (n <= 0 || tck <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
        return;
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, busy = 0;
    char names[120] = "";
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        struct proc_stat ps;
        if (procfs_read_stat(kids[i], 0, &ps) < 0)
            continue;
        double age = now - (double)ps.starttime / (double)tck;
        double cpu = age > 0.05 ? (double)(ps.utime + ps.stime) / (double)tck / age : 0;
        if (cpu < 0.1)
            continue;
        busy += cpu;
        if (at < sizeof names)
            at += (size_t)snprintf(names + at, sizeof names - at, "%s%s %d", at ? ", " : "",
                                   ps.comm, (int)kids[i]);
    }
    if (busy >= CHILD_BUSY)
        snprintf(buf, size,
                 "the work is in child processes (%s: %.0f%% CPU) while PID %d waits — "
                 "--subprocesses follows them",
                 names, 100 * busy, (int)s->pid);
}

/* The verdict from the run figures' threads and the on-CPU profile; the
 * stacks (for the functions under page faults) only while RSS grows. */
static void compute_verdict(struct session *s)
{
    s->nverdict = 0;
    struct report_figs *g = runfigs_copy(s->figs);
    child_note(s, g, s->child_note, sizeof s->child_note);
    if (!g || !s->res || !s->model || !s->in) {
        free(g);
        return;
    }
    pthread_mutex_lock(&s->lock);
    uint32_t upto = intern_count(s->in);
    pthread_mutex_unlock(&s->lock);
    resolver_native_prepare(s->res, upto);
    struct resolver r = resolver_native_iface(s->res);
    struct view_opts vo = {
        .window = MODEL_CUMULATIVE, .now_ns = clock_mono_ns(), .sort = SORT_SELF};
    struct hot_table hot = {0};
    struct stack_table st = {0};
    bool growing = g->rss_last_kib > g->rss_first_kib + 1024;
    pthread_mutex_lock(&s->lock);
    struct model *m = session_view_model(s);
    int rc = view_hot(m, &r, &vo, &hot);
    /* per thread: each thread's hottest function, the evidence, and while
     * RSS grows the page faults' functions */
    if (rc == 0)
        rc = view_stacks(m, &r, &vo, true, &st);
    pthread_mutex_unlock(&s->lock);
    struct verdict_finding v[VERDICT_MAX];
    size_t n = rc == 0 ? report_verdict(g, &hot, growing ? &st : NULL, &st, &r, v, VERDICT_MAX) : 0;
    for (size_t i = 0; i < n && i < RUNINFO_VERDICT_MAX; i++) {
        unsigned k = s->nverdict++;
        report_verdict_line(&v[i], s->verdict[k], RUNINFO_VERDICT_LEN);
        snprintf(s->verdict_func[k], sizeof s->verdict_func[k], "%s",
                 v[i].cls == VERDICT_IDLE ? "" : v[i].func);
        report_evidence(g, &st, &r, &v[i], s->verdict_stack[k], sizeof s->verdict_stack[k]);
    }
    hot_table_free(&hot);
    stack_table_free(&st);
    free(g);
}

static void run_verdict(struct session *s, struct run_info *out)
{
    uint64_t now = clock_mono_ns();
    pthread_mutex_lock(&s->verdict_lock);
    if (!s->verdict_ns || now - s->verdict_ns >= VERDICT_EVERY_NS) {
        s->verdict_ns = now;
        compute_verdict(s);
    }
    out->nverdict = s->nverdict;
    memcpy(out->verdict, s->verdict, sizeof out->verdict);
    memcpy(out->verdict_func, s->verdict_func, sizeof out->verdict_func);
    memcpy(out->child_note, s->child_note, sizeof out->child_note);
    memcpy(out->verdict_stack, s->verdict_stack, sizeof out->verdict_stack);
    pthread_mutex_unlock(&s->verdict_lock);
}

void session_run_info(struct session *s, struct run_info *out)
{
    memset(out, 0, sizeof *out);
    struct sampling_figs f = {.exit_status = -1};
    struct processing_stats p = {0};
    if (s->smp)
        sampling_get(s->smp, &f);
    if (s->proc)
        processing_get_stats(s->proc, &p);
    out->pid = s->pid;
    snprintf(out->cmdline, sizeof out->cmdline, "%s", s->cmdline);
    out->engine = s->engine ? s->engine->name : "";
    out->engine_detail = engine_detail(s);
    stop_warning(s, &f.st, out->engine_note, sizeof out->engine_note);
    out->elapsed_s = session_elapsed(s);
    out->samples = p.processed;
    out->lost = f.st.lost;
    out->truncated = p.truncated;
    out->rate_asked = session_rate(s);
    out->rate_achieved = achieved(s, &f.st, out->elapsed_s);
    out->threads_now = f.st.threads;
    out->threads_seen = f.st.threads_seen;
    out->processes = s->cfg.subprocesses ? f.st.processes_seen : 0;
    out->idle = s->cfg.idle;
    out->exited = session_target_exited(s);
    out->exit_status = f.exit_status;
    pthread_mutex_lock(&s->sync);
    if (out->exit_status < 0)
        out->exit_status = s->exit_status;
    snprintf(out->exit_msg, sizeof out->exit_msg, "%s", s->exit_msg);
    pthread_mutex_unlock(&s->sync);
    run_python(s, &p, f.st.torn, out);
    run_verdict(s, out);
}
