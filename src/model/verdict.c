/*
 * verdict.c - the bottleneck classifier; see verdict.h.
 *
 * Each class sums one part of the threads' time; a finding then names its
 * function (the on-CPU profile's hottest for CPU-bound work, the system
 * call and what it waits on for a wait) and the threads with most of it.
 */
#include "src/model/verdict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* x86_64 system call numbers by the kind of wait they are. */
static const short io_calls[] = {0,   1,   2,   3,   4,   5,   6,   17,  18,  19,  20,
                                 26,  40,  44,  45,  46,  47,  74,  75,  76,  77,  82,
                                 83,  84,  87,  162, 208, 217, 257, 262, 275, 276, 277,
                                 285, 295, 296, 306, 326, 327, 328, 332, 333, 426};
static const short idle_calls[] = {7,   23,  34,  35,  43,  61,  70,  128, 130,
                                   230, 232, 247, 270, 271, 281, 288, 299, 441};
#define SYS_FUTEX 202
#define SYS_FLOCK 73

static bool in_list(const short *v, size_t n, long nr)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == nr)
            return true;
    return false;
}

enum verdict_wait verdict_wait_kind(long nr, uint64_t futex_op)
{
    if (nr == SYS_FUTEX) {
        /* glibc's mutex waits with FUTEX_WAIT (lll_lock_wait) or the PI
         * lock calls; condition variables, semaphores and joins wait with
         * FUTEX_WAIT_BITSET: waiting for an event, not for a lock */
        unsigned cmd = (unsigned)(futex_op & 127);
        return cmd == 0 || cmd == 6 || cmd == 11 || cmd == 13 ? WAIT_LOCK : WAIT_IDLE;
    }
    if (nr == SYS_FLOCK)
        return WAIT_LOCK;
    if (in_list(io_calls, sizeof io_calls / sizeof io_calls[0], nr))
        return WAIT_IO;
    if (in_list(idle_calls, sizeof idle_calls / sizeof idle_calls[0], nr))
        return WAIT_IDLE;
    return WAIT_OTHER;
}

const char *verdict_class_name(enum verdict_class c)
{
    static const char *const names[VERDICT_CLASSES] = {
        "CPU", "I/O wait", "Lock contention", "Memory growth", "CPU starvation", "GIL contention",
        "Idle"};
    return c < VERDICT_CLASSES ? names[c] : "?";
}

/* ------------------------------------------------------------ time */

struct totals {
    double cpu, runq, wait[WAIT_KINDS];
    double active, all;        /* of the working threads */
    double idle_all, wall_all; /* of every thread */
    unsigned working;
};

static double active_of(const struct verdict_thread *t)
{
    return t->cpu_s + t->runq_s + t->wait_s[WAIT_IO] + t->wait_s[WAIT_LOCK] +
           t->wait_s[WAIT_OTHER] + t->wait_s[WAIT_GIL];
}

/* A thread that works: active for VERDICT_IDLE_ACTIVE of its time. */
static bool working(const struct verdict_thread *t)
{
    double own = active_of(t) + t->wait_s[WAIT_IDLE];
    return own > 0 && active_of(t) >= VERDICT_IDLE_ACTIVE * own;
}

static void sum(const struct verdict_in *in, struct totals *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < in->nthreads; i++) {
        const struct verdict_thread *t = &in->threads[i];
        s->idle_all += t->wait_s[WAIT_IDLE];
        s->wall_all += active_of(t) + t->wait_s[WAIT_IDLE];
        if (!working(t))
            continue;
        s->working++;
        s->cpu += t->cpu_s;
        s->runq += t->runq_s;
        for (int k = 0; k < WAIT_KINDS; k++)
            s->wait[k] += t->wait_s[k];
        s->active += active_of(t);
        s->all += active_of(t) + t->wait_s[WAIT_IDLE];
    }
}

/* The part of thread t's time a class is about. */
static double part_of(const struct verdict_thread *t, enum verdict_class c)
{
    switch (c) {
    case VERDICT_CPU:
        return t->cpu_s;
    case VERDICT_STARVATION:
        return t->runq_s;
    case VERDICT_IO:
        return t->wait_s[WAIT_IO];
    case VERDICT_LOCK:
        return t->wait_s[WAIT_LOCK];
    case VERDICT_IDLE:
        return t->wait_s[WAIT_IDLE];
    case VERDICT_GIL:
        return t->wait_s[WAIT_GIL];
    default:
        return 0;
    }
}

/* The threads with the most of class c, most first; each one holding at
 * least a tenth of its own time there. */
static void add_threads(const struct verdict_in *in, enum verdict_class c,
                        struct verdict_finding *f)
{
    const struct verdict_thread *top[VERDICT_TIDS] = {0};
    for (size_t i = 0; i < in->nthreads; i++) {
        const struct verdict_thread *t = &in->threads[i];
        double part = part_of(t, c), own = active_of(t) + t->wait_s[WAIT_IDLE];
        if (part <= 0 || own <= 0 || part < 0.1 * own || (c != VERDICT_IDLE && !working(t)))
            continue;
        f->nthreads++;
        for (unsigned k = 0; k < VERDICT_TIDS; k++) {
            if (top[k] && part_of(top[k], c) >= part)
                continue;
            memmove(&top[k + 1], &top[k], (VERDICT_TIDS - 1 - k) * sizeof top[0]);
            top[k] = t;
            break;
        }
    }
    for (unsigned k = 0; k < VERDICT_TIDS && top[k]; k++)
        f->tids[f->ntids++] = top[k]->tid;
}

/* The wait of kind k seen in most readings, over all threads. */
static const struct verdict_seen *most_seen(const struct verdict_in *in, enum verdict_wait k,
                                            const struct verdict_seen **second)
{
    const struct verdict_seen *best = NULL;
    *second = NULL;
    for (size_t i = 0; i < in->nthreads; i++) {
        const struct verdict_seen *s = &in->threads[i].seen[k];
        if (!s->call[0] || !s->readings)
            continue;
        if (!best || s->readings > best->readings) {
            if (best && (strcmp(best->call, s->call) || strcmp(best->target, s->target)))
                *second = best;
            best = s;
        } else if ((!*second || s->readings > (*second)->readings) &&
                   (strcmp(best->call, s->call) || strcmp(best->target, s->target))) {
            *second = s;
        }
    }
    return best;
}

/* ------------------------------------------------------------ findings */

static void set_func(struct verdict_finding *f, const struct verdict_func *fn)
{
    snprintf(f->func, sizeof f->func, "%s", fn->name ? fn->name : "?");
    snprintf(f->file, sizeof f->file, "%s", fn->file ? fn->file : "");
    f->line = fn->line;
}

#define PER_THREAD_SHOWN 3

/* When the busiest threads run different code: "; per thread: parser-12
 * parse_row (61%), writer-13 deflate (70%)", by CPU time, at most
 * PER_THREAD_SHOWN of them.  Nothing when they all run the same function. */
static void per_thread_hot(const struct verdict_in *in, char *buf, size_t size)
{
    const struct verdict_thread *top[PER_THREAD_SHOWN] = {0};
    for (size_t i = 0; i < in->nthreads; i++) {
        const struct verdict_thread *t = &in->threads[i];
        if (!t->hot_func[0] || t->cpu_s <= 0)
            continue;
        for (int k = 0; k < PER_THREAD_SHOWN; k++) {
            if (top[k] && top[k]->cpu_s >= t->cpu_s)
                continue;
            memmove(&top[k + 1], &top[k], (PER_THREAD_SHOWN - 1 - k) * sizeof top[0]);
            top[k] = t;
            break;
        }
    }
    bool differ = false;
    for (int k = 1; k < PER_THREAD_SHOWN && top[k]; k++)
        differ |= strcmp(top[k]->hot_func, top[0]->hot_func) != 0;
    if (!differ)
        return;
    size_t at = (size_t)snprintf(buf, size, "; per thread:");
    for (int k = 0; k < PER_THREAD_SHOWN && top[k] && at < size; k++)
        at += (size_t)snprintf(buf + at, size - at, "%s %s-%d %s (%.0f%%)", k ? "," : "",
                               top[k]->name, (int)top[k]->tid, top[k]->hot_func, top[k]->hot_pct);
}

static void describe_cpu(const struct verdict_in *in, struct verdict_finding *f)
{
    if (!in->nhot) {
        snprintf(f->evidence, sizeof f->evidence, "on a CPU; no on-CPU sample names a function");
        return;
    }
    set_func(f, &in->hot[0]);
    int n = snprintf(f->evidence, sizeof f->evidence,
                     "%.1f%% of the on-CPU samples in its own code", in->hot[0].self_pct);
    if (in->nhot > 1 && n > 0 && (size_t)n < sizeof f->evidence)
        n += snprintf(f->evidence + n, sizeof f->evidence - (size_t)n, ", then %s (%.1f%%)",
                      in->hot[1].name ? in->hot[1].name : "?", in->hot[1].self_pct);
    if (n > 0 && (size_t)n < sizeof f->evidence)
        per_thread_hot(in, f->evidence + n, sizeof f->evidence - (size_t)n);
}

static void describe_wait(const struct verdict_in *in, enum verdict_wait k,
                          struct verdict_finding *f)
{
    const struct verdict_seen *second, *s = most_seen(in, k, &second);
    if (!s) {
        snprintf(f->evidence, sizeof f->evidence, "blocked in system calls");
        return;
    }
    snprintf(f->func, sizeof f->func, "%s", s->func[0] ? s->func : s->call);
    if (s->func[0]) {
        snprintf(f->file, sizeof f->file, "%s", s->file);
        f->line = s->line;
    }
    const char *on = k == WAIT_LOCK ? " on the lock " : " on ";
    int n = snprintf(f->evidence, sizeof f->evidence, "blocked in %s%s%s", s->call,
                     s->target[0] ? on : "", s->target);
    if (second && n > 0 && (size_t)n < sizeof f->evidence)
        n += snprintf(f->evidence + n, sizeof f->evidence - (size_t)n, "; also %s%s%s",
                      second->call, second->target[0] ? on : "", second->target);
    if (second && second->func[0] && n > 0 && (size_t)n < sizeof f->evidence)
        snprintf(f->evidence + n, sizeof f->evidence - (size_t)n, " in %s", second->func);
}

/* The GIL's waiters wait in the interpreter; what they wait for is the
 * Python code the holder runs: the on-CPU profile's hottest function. */
static void describe_gil(const struct verdict_in *in, struct verdict_finding *f)
{
    if (in->nhot)
        set_func(f, &in->hot[0]);
    unsigned waiting = 0;
    for (size_t i = 0; i < in->nthreads; i++)
        waiting += in->threads[i].wait_s[WAIT_GIL] > 0;
    snprintf(f->evidence, sizeof f->evidence,
             "%u thread%s waiting in take_gil for the GIL while one runs Python; the hottest "
             "code holds it (%.1f%% of the on-CPU samples)",
             waiting, waiting == 1 ? "" : "s", in->nhot ? in->hot[0].self_pct : 0.0);
}

static void describe(const struct verdict_in *in, const struct totals *t, struct verdict_finding *f)
{
    switch (f->cls) {
    case VERDICT_CPU:
        describe_cpu(in, f);
        break;
    case VERDICT_STARVATION: {
        describe_cpu(in, f); /* what the waiting threads run when they get a CPU */
        char what[sizeof f->evidence];
        snprintf(what, sizeof what,
                 "%.1f thread-seconds runnable with no CPU free, against %.1f on one", t->runq,
                 t->cpu);
        memcpy(f->evidence, what, sizeof what);
        break;
    }
    case VERDICT_IO:
        describe_wait(in, WAIT_IO, f);
        break;
    case VERDICT_LOCK:
        describe_wait(in, WAIT_LOCK, f);
        break;
    case VERDICT_IDLE:
        describe_wait(in, WAIT_IDLE, f);
        break;
    case VERDICT_GIL:
        describe_gil(in, f);
        break;
    default:
        break;
    }
    add_threads(in, f->cls, f);
}

static void add(struct verdict_finding *out, size_t max, size_t *n, enum verdict_class c,
                double share)
{
    if (*n >= max)
        return;
    memset(&out[*n], 0, sizeof out[*n]);
    out[*n].cls = c;
    out[*n].share = share;
    (*n)++;
}

static void add_memory(const struct verdict_in *in, struct verdict_finding *out, size_t max,
                       size_t *n)
{
    if (in->span_s <= 0 || in->rss_last_kib <= in->rss_first_kib || *n >= max)
        return;
    double grown = (double)(in->rss_last_kib - in->rss_first_kib);
    if (grown / in->span_s < VERDICT_GROWTH_KIB_S ||
        grown < VERDICT_GROWTH_FRAC * (double)in->rss_first_kib)
        return;
    double fault_pct = 0;
    for (size_t i = 0; i < in->nfaults; i++)
        fault_pct += in->faults[i].self_pct;
    add(out, max, n, VERDICT_MEMORY, fault_pct / 100.0);
    struct verdict_finding *f = &out[*n - 1];
    if (in->nfaults)
        set_func(f, &in->faults[0]);
    snprintf(f->evidence, sizeof f->evidence, "RSS grew %.1f MiB/s (%.1f -> %.1f MiB in %.1f s)%s",
             grown / 1024.0 / in->span_s, (double)in->rss_first_kib / 1024.0,
             (double)in->rss_last_kib / 1024.0, in->span_s,
             in->nfaults ? "; the function touching the new memory (page faults)" : "");
}

/* By share, highest first; idle last: it is context, not a bottleneck. */
static int cmp_share(const void *a, const void *b)
{
    const struct verdict_finding *x = a, *y = b;
    if ((x->cls == VERDICT_IDLE) != (y->cls == VERDICT_IDLE))
        return x->cls == VERDICT_IDLE ? 1 : -1;
    return x->share < y->share ? 1 : x->share > y->share ? -1 : (int)x->cls - (int)y->cls;
}

size_t verdict_compute(const struct verdict_in *in, struct verdict_finding *out, size_t max)
{
    struct totals t;
    sum(in, &t);
    size_t n = 0;
    if (t.wall_all <= 0 || max == 0)
        return 0;
    if (!t.working) {
        add(out, max, &n, VERDICT_IDLE, t.idle_all / t.wall_all);
    } else {
        const struct {
            enum verdict_class c;
            double part;
        } parts[] = {{VERDICT_CPU, t.cpu},
                     {VERDICT_STARVATION, t.runq},
                     {VERDICT_IO, t.wait[WAIT_IO]},
                     {VERDICT_LOCK, t.wait[WAIT_LOCK]},
                     {VERDICT_GIL, t.wait[WAIT_GIL]}};
        const size_t nparts = sizeof parts / sizeof parts[0];
        size_t best = 0;
        for (size_t i = 1; i < nparts; i++)
            if (parts[i].part > parts[best].part)
                best = i;
        for (size_t i = 0; i < nparts; i++)
            if (i == best || parts[i].part >= VERDICT_MIN_SHARE * t.active)
                add(out, max, &n, parts[i].c, parts[i].part / t.active);
    }
    for (size_t i = 0; i < n; i++) {
        describe(in, &t, &out[i]);
        out[i].busy = t.all > 0 ? t.active / t.all : 0;
        out[i].working = t.working;
    }
    add_memory(in, out, max, &n);
    qsort(out, n, sizeof out[0], cmp_share);
    return n;
}
