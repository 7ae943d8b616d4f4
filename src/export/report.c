/*
 * report.c - see report.h.
 *
 * Each section is a function writing Markdown; the sections that only
 * matter sometimes decide for themselves from the figures, with the
 * thresholds of report.h, so the report stays short when nothing is wrong.
 */
#include "src/export/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "src/profile/diff.h"
#include "src/export/json.h"

/* ------------------------------------------------------------ figures */

/* The entry for (thread name, call, target), added if new; NULL when full. */
static int wait_find(const struct report_figs *f, const struct procstat_thread *t, const char *call,
                     const char *target)
{
    for (size_t i = 0; i < f->nwaits; i++) {
        const struct report_wait *w = &f->waits[i];
        if (!strncmp(w->thread, t->name, sizeof w->thread - 1) && !strcmp(w->syscall, call) &&
            !strcmp(w->target, target))
            return (int)i;
    }
    return -1;
}

static struct report_wait *wait_slot(struct report_figs *f, const struct procstat_thread *t,
                                     const char *call, const char *target)
{
    int i = wait_find(f, t, call, target);
    if (i >= 0)
        return &f->waits[i];
    if (f->nwaits == REPORT_WAITS_MAX)
        return NULL;
    struct report_wait *w = &f->waits[f->nwaits++];
    memset(w, 0, sizeof *w);
    w->tid = t->tid;
    w->kind = verdict_wait_kind(t->wait.syscall_nr, t->wait.args[1]);
    w->lock_module = UINT32_MAX;
    w->owner_frame = UINT32_MAX;
    snprintf(w->thread, sizeof w->thread, "%s", t->name);
    snprintf(w->syscall, sizeof w->syscall, "%s", call);
    snprintf(w->target, sizeof w->target, "%s", target);
    return w;
}

/* What a blocked thread waits on: its descriptor's target, or for a futex
 * the address of the word (a lock, a condition...). */
static void wait_target(const struct procstat_thread *t, char *buf, size_t size)
{
    if (t->wait.syscall_nr == 202 && !t->wait.target[0])
        snprintf(buf, size, "0x%" PRIx64, t->wait.args[0]);
    else
        snprintf(buf, size, "%s", t->wait.target);
}

static const struct procstat_thread *find_thread(const struct procstat_snapshot *s, pid_t tid)
{
    for (size_t i = 0; i < s->nthread_rows; i++)
        if (s->threads[i].tid == tid)
            return &s->threads[i];
    return NULL;
}

/* Where a lock is and who holds it, as this reading saw them. */
static void note_owner(struct report_wait *w, const struct procstat_thread *t,
                       const struct procstat_snapshot *s)
{
    if (t->wait_lock_module != UINT32_MAX) {
        w->lock_module = t->wait_lock_module;
        w->lock_vaddr = t->wait_lock_vaddr;
    }
    const struct procstat_thread *o = t->wait_owner ? find_thread(s, t->wait_owner) : NULL;
    w->owner = o ? o->tid : 0;
    if (!o)
        return;
    w->owner_frame = t->wait_owner_frame;
    if (o->wait.blocked)
        snprintf(w->owner_doing, sizeof w->owner_doing, "blocked in %s",
                 o->wait.syscall ? o->wait.syscall : "?");
    else
        snprintf(w->owner_doing, sizeof w->owner_doing, "%s",
                 o->state == 'R' ? "on a CPU or waiting for one" : "not blocked in a call");
}

static void add_waits(struct report_figs *f, const struct procstat_snapshot *s)
{
    for (size_t i = 0; i < s->nthread_rows; i++) {
        const struct procstat_thread *t = &s->threads[i];
        if (!t->wait.blocked)
            continue;
        char target[sizeof f->waits[0].target];
        wait_target(t, target, sizeof target);
        struct report_wait *w = wait_slot(f, t, t->wait.syscall ? t->wait.syscall : "?", target);
        if (!w) {
            f->waits_dropped++;
            continue;
        }
        if (w->now_reading != f->readings) { /* the first of them in this reading */
            w->now_reading = f->readings;
            w->now = 0;
            w->seen++;
        }
        if (++w->now > w->threads)
            w->threads = w->now;
        if (t->wait.blocked_s > w->longest_s)
            w->longest_s = t->wait.blocked_s;
        if (t->nwait_frames) {
            w->nframes = t->nwait_frames;
            memcpy(w->frames, t->wait_frames, t->nwait_frames * sizeof w->frames[0]);
        }
        if (w->kind == WAIT_LOCK)
            note_owner(w, t, s);
    }
}

/* The thread's row, added if new; NULL when the table is full.  Rows stay
 * in the order threads were first seen; a reading's threads are sorted by
 * tid, so the last row looked up is tried first. */
static struct report_thread *thread_row(struct report_figs *f, pid_t tid, size_t *hint)
{
    for (size_t k = 0; k < f->nthreads; k++) {
        size_t i = (*hint + k) % f->nthreads;
        if (f->threads[i].tid == tid) {
            *hint = i + 1;
            return &f->threads[i];
        }
    }
    if (f->nthreads == REPORT_THREADS_MAX)
        return NULL;
    struct report_thread *r = &f->threads[f->nthreads++];
    memset(r, 0, sizeof *r);
    r->tid = tid;
    return r;
}

static void add_threads(struct report_figs *f, const struct procstat_snapshot *s)
{
    size_t hint = 0;
    for (size_t i = 0; i < s->nthread_rows; i++) {
        const struct procstat_thread *t = &s->threads[i];
        struct report_thread *r = thread_row(f, t->tid, &hint);
        if (!r) {
            f->threads_dropped++;
            continue;
        }
        if (!r->readings) {
            for (int k = 0; k < WAIT_KINDS; k++)
                r->wait[k] = -1;
            r->first_ns = s->time_ns;
            r->sched = t->sched_valid;
            r->run0 = t->sched_run_ns;
            r->runq0 = t->sched_wait_ns;
        } else if (s->interval_s > 0) {
            r->cpu_s += t->cpu_pct / 100.0 * s->interval_s;
        }
        memcpy(r->name, t->name, sizeof r->name);
        r->last_ns = s->time_ns;
        r->sched = r->sched && t->sched_valid;
        r->run1 = t->sched_run_ns;
        r->runq1 = t->sched_wait_ns;
        r->readings++;
        if (t->wait.blocked) {
            enum verdict_wait k = verdict_wait_kind(t->wait.syscall_nr, t->wait.args[1]);
            char target[sizeof f->waits[0].target];
            wait_target(t, target, sizeof target);
            r->blocked[k]++;
            int w = wait_find(f, t, t->wait.syscall ? t->wait.syscall : "?", target);
            if (w >= 0)
                r->wait[k] = (int16_t)w;
        }
    }
}

void report_figs_add(struct report_figs *f, const struct procstat_snapshot *s)
{
    if (!s->alive || !s->mem.valid)
        return;
    if (f->readings == 0) {
        f->first_ns = s->time_ns;
        f->rss_first_kib = s->mem.rss_kib;
    } else if (s->interval_s > 0) {
        /* rates are against the previous reading of the same collector */
        f->cpu_s += s->cpu_pct / 100.0 * s->interval_s;
        f->minflt += s->minflt_ps * s->interval_s;
        f->majflt += s->majflt_ps * s->interval_s;
    }
    f->readings++;
    f->span_s = (double)(s->time_ns - f->first_ns) / 1e9;
    f->rss_last_kib = s->mem.rss_kib;
    f->swap_kib = s->mem.swap_kib;
    if (s->mem.hwm_kib > f->hwm_kib)
        f->hwm_kib = s->mem.hwm_kib;
    if (s->nthreads > f->threads_max)
        f->threads_max = s->nthreads;
    if (s->io.valid) {
        if (!f->io_valid) {
            f->io_first = s->io;
            f->io_first_ns = s->time_ns;
            f->io_valid = true;
        }
        f->io_last = s->io;
        f->io_span_s = (double)(s->time_ns - f->io_first_ns) / 1e9;
    }
    add_waits(f, s);
    add_threads(f, s);
}

static double per_s(uint64_t a, uint64_t b, double span)
{
    return span > 0 && b >= a ? (double)(b - a) / span : 0.0;
}

void report_figs_meta(const struct report_figs *f, struct prof_meta *out)
{
    out->have_cpu = f->readings >= 2 && f->span_s > 0;
    out->cpu_pct = out->have_cpu ? 100.0 * f->cpu_s / f->span_s : 0.0;
    out->have_rss = f->readings >= 1;
    out->rss_bytes = (double)f->rss_last_kib * 1024.0;
    out->rss_peak_bytes =
        (double)(f->hwm_kib > f->rss_last_kib ? f->hwm_kib : f->rss_last_kib) * 1024.0;
    out->have_io = f->io_valid && f->io_span_s > 0;
    out->read_bps = per_s(f->io_first.rchar, f->io_last.rchar, f->io_span_s);
    out->write_bps = per_s(f->io_first.wchar, f->io_last.wchar, f->io_span_s);
}

/* ------------------------------------------------------------ text */

void report_put_text(FILE *f, const char *str, enum md_mode mode)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t len = strlen((const char *)s);
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(s + i, len - i);
        if (n == 0 || s[i] < 0x20 || s[i] == 0x7f) {
            fputs("\xef\xbf\xbd", f);
            i += n ? n : 1;
            continue;
        }
        /* the characters that format text inside a line (a heading's
         * trailing '#'s are dropped): '-', '.', '+' only matter at its start */
        if (mode == MD_PLAIN && strchr("\\`*_<>[]|~#", s[i]))
            fputc('\\', f);
        if (mode == MD_TEXT)
            fwrite(s + i, 1, n, f);
        else if (s[i] == '`' && mode != MD_PLAIN)
            fputc('\'', f);
        else if (s[i] == '|' && mode == MD_CELL)
            fputs("\\|", f);
        else
            fwrite(s + i, 1, n, f);
        i += n;
    }
}

/* "12.3 MiB", "512 KiB", "100 B" (binary units, as the screen shows). */
static const char *bytes_str(double b, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    double a = fabs(b);
    while (a >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        a /= 1024.0;
        b /= 1024.0;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return buf;
}

static void put_func_line(FILE *f, const struct func_info *fi, const char *file, int line)
{
    report_put_text(f, fi->name && fi->name[0] ? fi->name : "?", MD_CODE);
    if (file && line > 0) {
        fputs(" (", f);
        report_put_text(f, file, MD_CODE);
        fprintf(f, ":%d)", line);
    } else if (file) {
        fputs(" (", f);
        report_put_text(f, file, MD_CODE);
        fputc(')', f);
    } else if (fi->module && fi->module[0]) {
        fputs(" [", f);
        report_put_text(f, fi->module, MD_CODE);
        fputc(']', f);
    }
}

/* ------------------------------------------------------------ verdict */

/* A thread's time over its readings: schedstat's on-CPU and run-queue
 * time where the kernel has it, the rest split between the kinds of call
 * the readings found it blocked in. */
static void thread_time(const struct report_thread *r, struct verdict_thread *v)
{
    memset(v, 0, sizeof *v);
    v->tid = r->tid;
    memcpy(v->name, r->name, sizeof v->name);
    v->wall_s = (double)(r->last_ns - r->first_ns) / 1e9;
    if (r->sched && r->run1 >= r->run0 && r->runq1 >= r->runq0) {
        v->cpu_s = (double)(r->run1 - r->run0) / 1e9;
        v->runq_s = (double)(r->runq1 - r->runq0) / 1e9;
    } else {
        v->cpu_s = r->cpu_s;
    }
    if (v->cpu_s > v->wall_s)
        v->cpu_s = v->wall_s;
    if (v->cpu_s + v->runq_s > v->wall_s)
        v->runq_s = v->wall_s - v->cpu_s;
    double rest = v->wall_s - v->cpu_s - v->runq_s;
    unsigned blocked = 0;
    for (int k = 0; k < WAIT_KINDS; k++)
        blocked += r->blocked[k];
    for (int k = 0; k < WAIT_KINDS; k++)
        v->wait_s[k] = blocked ? rest * r->blocked[k] / blocked : 0;
    if (!blocked)
        v->wait_s[WAIT_OTHER] = rest;
}

static bool runtime_module(const char *m);

/* The function a wait's stack waits from: its first frame, leaf first,
 * outside the kernel and the C runtime (read() is libc's; read_config is
 * the user's).  "" when the stack is unknown or all runtime. */
static void waiting_func(const struct report_wait *w, const struct resolver *r,
                         struct verdict_seen *s)
{
    for (size_t i = 0; r && i < w->nframes; i++) {
        const struct frame_chain *c = r->chain(r->ctx, w->frames[i]);
        if (!c->n)
            continue;
        /* the function the code is in, not a helper inlined into it
         * (take_gil, not the PyCOND_TIMEDWAIT it inlines) */
        const struct chain_frame *cf = &c->f[c->n - 1];
        const struct func_info *fi = r->func(r->ctx, cf->func);
        if (!fi->name || fi->name[0] == '[' || runtime_module(fi->module) ||
            !strcmp(fi->module ? fi->module : "", "[kernel]"))
            continue;
        snprintf(s->func, sizeof s->func, "%s", fi->name);
        snprintf(s->file, sizeof s->file, "%s", cf->file ? cf->file : fi->file ? fi->file : "");
        s->line = cf->file ? cf->line : fi->line;
        return;
    }
}

static const char *thread_name(const struct report_figs *g, pid_t tid)
{
    for (size_t k = 0; k < g->nthreads; k++)
        if (g->threads[k].tid == tid)
            return g->threads[k].name;
    return "?";
}

/* snprintf that cuts quietly: these lines are for people, a long name
 * may end them early. */
__attribute__((format(printf, 3, 4))) static void put(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

/* A lock by its name when a global or static holds it ("big_lock",
 * "table+0x40"), its address, and its holder: "big_lock (0x5600...),
 * held by worker-17 (on a CPU or waiting for one)". */
static void lock_target(const struct report_figs *g, const struct report_wait *w,
                        const struct resolver *r, struct verdict_seen *s)
{
    uint64_t off = 0;
    const char *name = w->lock_module != UINT32_MAX && r && r->data
                           ? r->data(r->ctx, w->lock_module, w->lock_vaddr, &off)
                           : NULL;
    char lock[160];
    if (name && off)
        put(lock, sizeof lock, "%s+0x%" PRIx64 " (%s)", name, off, w->target);
    else if (name)
        put(lock, sizeof lock, "%s (%s)", name, w->target);
    else
        put(lock, sizeof lock, "%s", w->target);
    const char *running = NULL;
    if (w->owner && w->owner_frame != UINT32_MAX && r) {
        const struct frame_chain *c = r->chain(r->ctx, w->owner_frame);
        running = c->n ? r->func(r->ctx, c->f[c->n - 1].func)->name : NULL;
    }
    if (w->owner && running)
        put(s->target, sizeof s->target, "%s, held by %s-%d (%s, last seen in %s)", lock,
            thread_name(g, w->owner), (int)w->owner, w->owner_doing, running);
    else if (w->owner)
        put(s->target, sizeof s->target, "%s, held by %s-%d (%s)", lock, thread_name(g, w->owner),
            (int)w->owner, w->owner_doing);
    else
        put(s->target, sizeof s->target, "%s, holder unknown", lock);
}

/* s from one entry of the waits table: the call, what it waits on, and
 * the function that waits there. */
static void fill_seen(const struct report_figs *g, const struct report_wait *w,
                      const struct resolver *r, struct verdict_seen *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->call, sizeof s->call, "%s", w->syscall);
    snprintf(s->target, sizeof s->target, "%s", w->target);
    s->readings = w->seen;
    waiting_func(w, r, s);
    if (w->kind == WAIT_LOCK)
        lock_target(g, w, r, s);
}

/* Each kind's wait: the thread's own latest, else the one its name (the
 * waits table is by thread name) was seen in most. */
static void thread_seen(const struct report_figs *g, const struct report_thread *rt,
                        const struct resolver *r, struct verdict_thread *v)
{
    for (int k = 0; k < WAIT_KINDS; k++) {
        if (rt->wait[k] < 0 || (size_t)rt->wait[k] >= g->nwaits)
            continue;
        const struct report_wait *w = &g->waits[rt->wait[k]];
        fill_seen(g, w, r, &v->seen[w->kind]);
    }
    for (size_t i = 0; i < g->nwaits; i++) { /* what its name saw, for the kinds it has not */
        const struct report_wait *w = &g->waits[i];
        struct verdict_seen *s = &v->seen[w->kind];
        if (rt->wait[w->kind] >= 0 || strncmp(w->thread, v->name, sizeof w->thread) ||
            w->seen <= s->readings)
            continue;
        fill_seen(g, w, r, s);
    }
}

/* A CPython thread whose wait is in take_gil waits for the GIL, not for
 * work: its condition-variable wait is contention. */
static void gil_waits(struct verdict_thread *v)
{
    struct verdict_seen *s = &v->seen[WAIT_IDLE];
    if (strcmp(s->func, "take_gil") != 0)
        return;
    v->wait_s[WAIT_GIL] += v->wait_s[WAIT_IDLE];
    v->wait_s[WAIT_IDLE] = 0;
    v->seen[WAIT_GIL] = *s;
    memset(s, 0, sizeof *s);
}

static void hot_funcs(const struct hot_table *hot, const struct resolver *r,
                      struct verdict_func *out, size_t max, size_t *n)
{
    *n = 0;
    for (size_t i = 0; hot && r && i < hot->n && *n < max; i++) {
        if (!hot->rows[i].self)
            break;
        const struct func_info *fi = r->func(r->ctx, hot->rows[i].func);
        out[(*n)++] = (struct verdict_func){.name = fi->name,
                                            .file = fi->file,
                                            .line = fi->line,
                                            .self_pct = hot->rows[i].self_pct,
                                            .total_pct = hot->rows[i].total_pct};
    }
}

static bool is_fault_entry(const char *name)
{
    return !strcmp(name, "asm_exc_page_fault") || !strcmp(name, "exc_page_fault") ||
           !strcmp(name, "page_fault");
}

/* A C runtime library: its memset or memcpy touches the memory, but the
 * user's code that called it is what allocates. */
static bool runtime_module(const char *m)
{
    static const char *const libs[] = {"libc.so",    "libc-",   "ld-linux", "libstdc++",
                                       "libpthread", "libm.so", "libgcc_s"};
    for (size_t i = 0; m && i < sizeof libs / sizeof libs[0]; i++)
        if (!strncmp(m, libs[i], strlen(libs[i])))
            return true;
    return false;
}

/* The user functions that take page faults: in each stack, the frame
 * above the kernel's fault entry (the code touching new memory; past the C
 * runtime's memset and the like, to its caller), summed by function; the
 * top few by share of the samples. */
static size_t fault_funcs(const struct stack_table *st, const struct resolver *r,
                          struct verdict_func *out, size_t max)
{
    struct {
        uint32_t func;
        const char *file;
        int line;
        uint64_t n;
    } acc[16];
    size_t nacc = 0;
    for (size_t i = 0; st && r && i < st->n; i++) {
        const struct stack_row *row = &st->rows[i];
        for (size_t k = 1; k < row->n; k++) {
            const struct func_info *fi = r->func(r->ctx, row->frames[k].func);
            if (!fi->name || !is_fault_entry(fi->name))
                continue;
            size_t at = k - 1;
            while (at > 0 && runtime_module(r->func(r->ctx, row->frames[at].func)->module))
                at--;
            const struct chain_frame *u = &row->frames[at];
            size_t j = 0;
            while (j < nacc && acc[j].func != u->func)
                j++;
            if (j == nacc && nacc < 16)
                acc[nacc++] = (typeof(acc[0])){.func = u->func, .file = u->file, .line = u->line};
            if (j < nacc)
                acc[j].n += row->count;
            break;
        }
    }
    size_t n = 0;
    while (n < max && nacc) {
        size_t best = 0;
        for (size_t j = 1; j < nacc; j++)
            if (acc[j].n > acc[best].n)
                best = j;
        const struct func_info *fi = r->func(r->ctx, acc[best].func);
        double pct = st->samples ? 100.0 * (double)acc[best].n / (double)st->samples : 0;
        out[n++] = (struct verdict_func){.name = fi->name,
                                         .file = acc[best].file ? acc[best].file : fi->file,
                                         .line = acc[best].file ? acc[best].line : fi->line,
                                         .self_pct = pct};
        acc[best] = acc[--nacc];
    }
    return n;
}

#define THREAD_FUNCS 16 /* candidates kept per thread for its hottest function */

/* Each thread's hottest function by own code, from stacks per thread
 * (rows with a tid): the leaf frames' functions counted per thread. */
static void thread_hot(const struct stack_table *pt, const struct resolver *r,
                       struct verdict_thread *t, size_t n)
{
    struct cand {
        uint32_t func;
        uint64_t count;
    } *c = calloc(n * THREAD_FUNCS, sizeof *c);
    uint64_t *all = calloc(n, sizeof *all);
    for (size_t i = 0; c && all && pt && r && i < pt->n; i++) {
        const struct stack_row *row = &pt->rows[i];
        size_t k = 0;
        while (k < n && t[k].tid != row->tid)
            k++;
        if (k == n || !row->tid || !row->n)
            continue;
        all[k] += row->count;
        uint32_t fn = row->frames[row->n - 1].func;
        struct cand *mine = &c[k * THREAD_FUNCS];
        size_t j = 0;
        while (j < THREAD_FUNCS && mine[j].count && mine[j].func != fn)
            j++;
        if (j < THREAD_FUNCS)
            mine[j] = (struct cand){fn, mine[j].count + row->count};
    }
    for (size_t k = 0; c && all && k < n; k++) {
        const struct cand *mine = &c[k * THREAD_FUNCS], *best = NULL;
        for (size_t j = 0; j < THREAD_FUNCS && mine[j].count; j++)
            if (!best || mine[j].count > best->count)
                best = &mine[j];
        const struct func_info *fi = best ? r->func(r->ctx, best->func) : NULL;
        if (!fi || !fi->name || fi->name[0] == '[')
            continue;
        snprintf(t[k].hot_func, sizeof t[k].hot_func, "%s", fi->name);
        t[k].hot_pct = 100.0 * (double)best->count / (double)all[k];
    }
    free(c);
    free(all);
}

size_t report_verdict(const struct report_figs *g, const struct hot_table *hot,
                      const struct stack_table *st, const struct stack_table *per_thread,
                      const struct resolver *r, struct verdict_finding *out, size_t max)
{
    if (!g || g->nthreads == 0)
        return 0;
    struct verdict_thread *t = calloc(g->nthreads, sizeof *t);
    if (!t)
        return 0;
    for (size_t i = 0; i < g->nthreads; i++) {
        thread_time(&g->threads[i], &t[i]);
        thread_seen(g, &g->threads[i], r, &t[i]);
        gil_waits(&t[i]);
    }
    thread_hot(per_thread, r, t, g->nthreads);
    struct verdict_func funcs[2], faults[4];
    size_t nfuncs;
    hot_funcs(hot, r, funcs, 2, &nfuncs);
    size_t nfaults = fault_funcs(st, r, faults, 4);
    struct verdict_in in = {.threads = t,
                            .nthreads = g->nthreads,
                            .hot = funcs,
                            .nhot = nfuncs,
                            .faults = faults,
                            .nfaults = nfaults,
                            .span_s = g->span_s,
                            .rss_first_kib = g->rss_first_kib,
                            .rss_last_kib = g->rss_last_kib};
    size_t n = verdict_compute(&in, out, max);
    free(t);
    return n;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

void report_verdict_line(const struct verdict_finding *f, char *buf, size_t size)
{
    char where[300] = "";
    if (f->file[0] && f->line > 0)
        snprintf(where, sizeof where, " (%s:%d)", base_name(f->file), f->line);
    else if (f->file[0])
        snprintf(where, sizeof where, " (%s)", base_name(f->file));
    const char *cls = verdict_class_name(f->cls);
    if (f->cls == VERDICT_MEMORY)
        snprintf(buf, size, "%s: %s%s%s%s", cls, f->func[0] ? f->func : "", where,
                 f->func[0] ? ": " : "", f->evidence);
    else if (f->cls == VERDICT_IDLE)
        snprintf(buf, size, "%s: %.0f%% of the threads' time waiting for work; %s", cls,
                 100 * f->share, f->evidence);
    else
        snprintf(buf, size, "%s %.0f%%: %s%s: %s", cls, 100 * f->share, f->func[0] ? f->func : "?",
                 where, f->evidence);
}

/* ------------------------------------------------------------ evidence */

#define EVIDENCE_FRAMES 10 /* innermost frames shown; the rest is "... > " */

struct names {
    const char *v[EVIDENCE_FRAMES * 2];
    size_t n, dropped;
};

/* Names root first into nm, keeping the innermost EVIDENCE_FRAMES. */
static void names_push(struct names *nm, const char *name)
{
    if (nm->n == EVIDENCE_FRAMES) {
        memmove(nm->v, nm->v + 1, (EVIDENCE_FRAMES - 1) * sizeof nm->v[0]);
        nm->n--;
        nm->dropped++;
    }
    nm->v[nm->n++] = name ? name : "?";
}

static void names_text(const struct names *nm, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    if (nm->dropped)
        at += (size_t)snprintf(buf, size, "... > ");
    for (size_t i = 0; i < nm->n && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? " > " : "", nm->v[i]);
}

/* The stack of a wait whose waiting function is f's, root first. */
static bool wait_evidence(const struct report_figs *g, const struct resolver *r,
                          const struct verdict_finding *f, struct names *nm)
{
    enum verdict_wait want = f->cls == VERDICT_IO     ? WAIT_IO
                             : f->cls == VERDICT_LOCK ? WAIT_LOCK
                                                      : WAIT_IDLE;
    const struct report_wait *best = NULL;
    for (size_t i = 0; i < g->nwaits; i++) {
        const struct report_wait *w = &g->waits[i];
        if (!w->nframes || (w->kind != want && f->cls != VERDICT_GIL))
            continue;
        struct verdict_seen s = {0};
        waiting_func(w, r, &s);
        if (!strcmp(s.func, f->func) && (!best || w->seen > best->seen))
            best = w;
    }
    if (!best)
        return false;
    for (size_t i = best->nframes; i-- > 0;) {
        const struct frame_chain *c = r->chain(r->ctx, best->frames[i]);
        for (unsigned k = c->n; k-- > 0;)
            names_push(nm, r->func(r->ctx, c->f[k].func)->name);
    }
    return true;
}

static bool same_name(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* The heaviest on-CPU stack through f's function, root first, up to it
 * and the frames it calls there. */
static bool stack_evidence(const struct stack_table *st, const struct resolver *r,
                           const struct verdict_finding *f, struct names *nm)
{
    const struct stack_row *best = NULL;
    for (size_t i = 0; st && i < st->n; i++) {
        const struct stack_row *row = &st->rows[i];
        if (best && row->count <= best->count)
            continue;
        for (size_t k = 0; k < row->n; k++)
            if (same_name(r->func(r->ctx, row->frames[k].func)->name, f->func)) {
                best = row;
                break;
            }
    }
    if (!best)
        return false;
    for (size_t k = 0; k < best->n; k++)
        names_push(nm, r->func(r->ctx, best->frames[k].func)->name);
    return true;
}

bool report_evidence(const struct report_figs *g, const struct stack_table *st,
                     const struct resolver *r, const struct verdict_finding *f, char *buf,
                     size_t size)
{
    if (!size)
        return false;
    buf[0] = '\0';
    if (!r || !f->func[0] || f->cls == VERDICT_IDLE)
        return false;
    struct names nm = {0};
    bool waits = f->cls == VERDICT_IO || f->cls == VERDICT_LOCK || f->cls == VERDICT_GIL;
    bool ok = waits && g ? wait_evidence(g, r, f, &nm) : false;
    if (!ok)
        ok = stack_evidence(st, r, f, &nm);
    if (ok)
        names_text(&nm, buf, size);
    return ok;
}

/* The threads of a finding, as "name-tid" in code spans. */
static void put_threads(FILE *f, const struct verdict_finding *v, const struct report_figs *g)
{
    if (!v->ntids)
        return;
    fputs(v->nthreads == 1 ? " Thread " : " Threads ", f);
    for (unsigned i = 0; i < v->ntids; i++) {
        fputs(i ? ", `" : "`", f);
        report_put_text(f, thread_name(g, v->tids[i]), MD_CODE);
        fprintf(f, "-%d`", (int)v->tids[i]);
    }
    if (v->nthreads > v->ntids)
        fprintf(f, " and %u more", v->nthreads - v->ntids);
    fputc('.', f);
}

static void write_finding(FILE *f, const struct verdict_finding *v, const struct report_figs *g)
{
    fprintf(f, "- **%s** — ", verdict_class_name(v->cls));
    if (v->cls == VERDICT_IDLE)
        fprintf(f, "%.0f%% of the threads' time is spent waiting for work, in `", 100 * v->share);
    else if (v->cls != VERDICT_MEMORY)
        fprintf(f, "%.0f%% of the working time, in `", 100 * v->share);
    if (v->cls != VERDICT_MEMORY || v->func[0]) {
        if (v->cls == VERDICT_MEMORY)
            fputc('`', f);
        report_put_text(f, v->func[0] ? v->func : "?", MD_CODE);
        fputc('`', f);
    }
    if (v->file[0]) {
        fputs(" (`", f);
        report_put_text(f, base_name(v->file), MD_CODE);
        if (v->line > 0)
            fprintf(f, ":%d", v->line);
        fputs("`)", f);
    }
    fputs(": ", f);
    report_put_text(f, v->evidence, MD_PLAIN);
    fputc('.', f);
    if (v->cls != VERDICT_IDLE && v->cls != VERDICT_MEMORY && v->busy < 0.5)
        fprintf(f, " The working thread%s work%s %.0f%% of the time, and wait%s for work the rest.",
                v->working == 1 ? "" : "s", v->working == 1 ? "s" : "", 100 * v->busy,
                v->working == 1 ? "s" : "");
    put_threads(f, v, g);
    fputc('\n', f);
}

static void write_verdict(FILE *f, const struct report_in *in)
{
    fputs("### Verdict\n\n", f);
    struct verdict_finding v[VERDICT_MAX];
    size_t n =
        report_verdict(in->figs, in->hot, in->stacks, in->thread_stacks, in->r, v, VERDICT_MAX);
    if (n == 0) {
        fputs("Not enough readings of the process's threads to tell where its time goes.\n\n", f);
        return;
    }
    for (size_t i = 0; i < n; i++)
        write_finding(f, &v[i], in->figs);
    fputc('\n', f);
}

/* ------------------------------------------------------------ sections */

/* The run's own rows of the Baseline table: what sampled it, how much. */
static void write_run_rows(FILE *f, const struct run_info *run)
{
    char eng[96];
    fprintf(f, "| duration | %.1f s (pid %d) |\n", run->elapsed_s, (int)run->pid);
    /* the engine says how to read the samples: perf stops nobody, ptrace
     * stops each thread briefly; the note says why it is not the one
     * asked for */
    fputs("| engine | ", f);
    report_put_text(f, run_info_engine(run, eng, sizeof eng)[0] ? eng : "unknown", MD_PLAIN);
    if (run->engine_note[0]) {
        fputs(": ", f);
        report_put_text(f, run->engine_note, MD_PLAIN);
    }
    fputs(" |\n", f);
    fprintf(f,
            "| samples | %" PRIu64 " (%s), %u Hz asked, %.1f Hz achieved per thread, %" PRIu64
            " lost |\n",
            run->samples, run->idle ? "on-CPU and waiting threads" : "on-CPU threads",
            run->rate_asked, run->rate_achieved, run->lost);
    fprintf(f, "| threads | %u seen |\n", run->threads_seen);
    if (run->exit_msg[0]) {
        fputs("| end | ", f);
        report_put_text(f, run->exit_msg, MD_PLAIN);
        fputs(" |\n", f);
    }
}

static void write_baseline(FILE *f, const struct report_in *in)
{
    char a[32], b[32];
    fputs("### Baseline\n\n| figure | value |\n|---|---|\n", f);
    write_run_rows(f, in->run);
    struct prof_meta m = {0};
    if (in->figs)
        report_figs_meta(in->figs, &m);
    if (m.have_cpu)
        fprintf(f, "| CPU | %.1f%% of one CPU (average over %.1f s) |\n", m.cpu_pct,
                in->figs->span_s);
    else
        fputs("| CPU | not measured (the process ended before a second reading) |\n", f);
    if (m.have_rss)
        fprintf(f, "| RSS | %s at the end, peak %s (VmHWM, since the process started) |\n",
                bytes_str(m.rss_bytes, a, sizeof a), bytes_str(m.rss_peak_bytes, b, sizeof b));
    else
        fputs("| RSS | not measured |\n", f);
    if (m.have_io)
        fprintf(f, "| I/O | read %s/s, write %s/s (files, pipes and sockets) |\n",
                bytes_str(m.read_bps, a, sizeof a), bytes_str(m.write_bps, b, sizeof b));
    else
        fputs("| I/O | not measured (/proc/PID/io unreadable or a single reading) |\n", f);
    fputc('\n', f);
}

static void write_hot_rows(FILE *f, const struct report_in *in, size_t rows)
{
    fputs("| self % | total % | samples | function | file:line | module |\n"
          "|---:|---:|---:|---|---|---|\n",
          f);
    for (size_t i = 0; i < rows; i++) {
        const struct hot_row *h = &in->hot->rows[i];
        const struct func_info *fi = in->r->func(in->r->ctx, h->func);
        fprintf(f, "| %.1f | %.1f | %" PRIu64 " | `", h->self_pct, h->total_pct, h->self);
        report_put_text(f, fi->name && fi->name[0] ? fi->name : "?", MD_CELL);
        fputs("` | ", f);
        if (fi->file) {
            fputc('`', f);
            report_put_text(f, fi->file, MD_CELL);
            if (fi->line > 0)
                fprintf(f, ":%d", fi->line);
            fputc('`', f);
        } else {
            fputc('-', f);
        }
        fputs(" | ", f);
        if (fi->module && fi->module[0]) {
            fputc('`', f);
            report_put_text(f, fi->module, MD_CELL);
            fputc('`', f);
        } else {
            fputc('-', f);
        }
        fputs(" |\n", f);
    }
}

static void write_stack_block(FILE *f, const struct report_in *in, const struct stack_row *row,
                              size_t rank, double denom)
{
    fprintf(f, "\nStack #%zu: %.1f%% of the samples (%" PRIu64 "), root first:\n\n```\n", rank,
            100.0 * (double)row->count / denom, row->count);
    if (row->n == 0)
        fputs("(no frames)\n", f);
    /* deep recursion would bury the leaf: keep both ends */
    size_t skip_from = row->n, skip_to = row->n;
    if (row->n > REPORT_STACK_FRAMES) {
        skip_from = REPORT_STACK_ROOTS;
        skip_to = row->n - (REPORT_STACK_FRAMES - REPORT_STACK_ROOTS);
    }
    for (size_t k = 0; k < row->n; k++) {
        const struct chain_frame *cf = &row->frames[k];
        if (k == skip_from)
            fprintf(f, "%*s... %zu frames ...\n", (int)(2 * k), "", skip_to - skip_from);
        if (k >= skip_from && k < skip_to)
            continue;
        fprintf(f, "%*s", (int)(k < 40 ? 2 * k : 80), "");
        put_func_line(f, in->r->func(in->r->ctx, cf->func), cf->file, cf->line);
        fputc('\n', f);
    }
    fputs("```\n", f);
}

/* What share of the threads' wall time the on-CPU samples stand for. */
static void write_cpu_share(FILE *f, const struct report_figs *g, bool idle)
{
    double cpu = 0, wall = 0;
    for (size_t i = 0; g && !idle && i < g->nthreads; i++) {
        struct verdict_thread v;
        thread_time(&g->threads[i], &v);
        cpu += v.cpu_s;
        wall += v.wall_s;
    }
    if (wall <= 0)
        return;
    fprintf(f,
            "On a CPU %.1f%% of the threads' wall time (%.1f of %.1f thread-seconds): the "
            "shares below are of that time only%s.\n\n",
            100 * cpu / wall, cpu, wall,
            cpu < 0.5 * wall ? "; the Verdict above says where the rest goes" : "");
}

static void write_bottleneck(FILE *f, const struct report_in *in)
{
    fputs("### Bottleneck\n\n", f);
    write_cpu_share(f, in->figs, in->run->idle);
    const struct hot_table *t = in->hot;
    if (!t || t->n == 0 || t->samples == 0) {
        fputs("No samples: the process did not run on a CPU while it was sampled (try --idle "
              "to see where it waits).\n\n",
              f);
        return;
    }
    const struct hot_row *top = &t->rows[0];
    const struct func_info *fi = in->r->func(in->r->ctx, top->func);
    fputs("The hottest function is `", f);
    report_put_text(f, fi->name && fi->name[0] ? fi->name : "?", MD_CODE);
    fprintf(f, "`: %.1f%% of the samples in its own code, %.1f%% with what it calls.\n\n",
            top->self_pct, top->total_pct);
    /* functions that only call others are in the stacks below, not here */
    size_t with_self = 0;
    while (with_self < t->n && t->rows[with_self].self > 0)
        with_self++;
    size_t rows = with_self < in->max_rows ? with_self : in->max_rows;
    write_hot_rows(f, in, rows);
    if (with_self > rows)
        fprintf(f, "\n%zu more function%s share%s the remaining samples.\n", with_self - rows,
                with_self - rows == 1 ? "" : "s", with_self - rows == 1 ? "s" : "");
    const struct stack_table *st = in->stacks;
    if (st && st->n) {
        double denom = st->samples ? (double)st->samples : 1.0;
        size_t shown = st->n < in->max_stacks ? st->n : in->max_stacks;
        fputs("\nThe hottest stacks, as evidence:\n", f);
        for (size_t i = 0; i < shown; i++)
            write_stack_block(f, in, &st->rows[i], i + 1, denom);
    }
    fputc('\n', f);
}

static int cmp_waits(const void *a, const void *b)
{
    const struct report_wait *x = a, *y = b;
    if (x->seen != y->seen)
        return x->seen > y->seen ? -1 : 1;
    if (x->threads != y->threads)
        return x->threads > y->threads ? -1 : 1;
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void write_waits(FILE *f, const struct report_in *in)
{
    const struct report_figs *g = in->figs;
    size_t n = g ? g->nwaits : 0;
    if (!in->run->idle && n == 0)
        return;
    fputs("### Waits\n\n", f);
    if (in->run->idle)
        fputs("Sampled with --idle: the tables above count waiting threads too, so a function "
              "that blocks (a read, a lock, a sleep) shows as hot.\n\n",
              f);
    if (n == 0) {
        fputs("No thread was seen blocked in a system call.\n\n", f);
        return;
    }
    struct report_wait w[REPORT_WAITS_MAX];
    memcpy(w, g->waits, n * sizeof w[0]);
    qsort(w, n, sizeof w[0], cmp_waits);
    fprintf(f,
            "Threads seen blocked in a system call, in %u readings of /proc during the "
            "run:\n\n| thread | waits in | on | readings | longest |\n"
            "|---|---|---|---:|---:|\n",
            g->readings);
    for (size_t i = 0; i < n; i++) {
        fputs("| `", f);
        report_put_text(f, w[i].thread[0] ? w[i].thread : "?", MD_CELL);
        if (w[i].threads > 1)
            fprintf(f, "` (%u threads) | `", w[i].threads);
        else
            fprintf(f, "-%d` | `", (int)w[i].tid);
        report_put_text(f, w[i].syscall, MD_CELL);
        fputs("` | ", f);
        if (w[i].target[0]) {
            fputc('`', f);
            report_put_text(f, w[i].target, MD_CELL);
            fputc('`', f);
        } else {
            fputc('-', f);
        }
        fprintf(f, " | %u of %u | %.1f s |\n", w[i].seen, g->readings, w[i].longest_s);
    }
    if (g->waits_dropped)
        fprintf(f, "\n(%u more observations of other waits were not kept.)\n", g->waits_dropped);
    fputc('\n', f);
}

static uint64_t rss_growth_kib(const struct report_figs *g)
{
    return g->rss_last_kib > g->rss_first_kib ? g->rss_last_kib - g->rss_first_kib : 0;
}

/* Why memory matters (a phrase for the report), or NULL when it does not. */
static const char *mem_reason(const struct report_figs *g)
{
    if (!g || !g->readings)
        return NULL;
    uint64_t grow = rss_growth_kib(g);
    if (grow >= REPORT_MEM_GROWTH_KIB && (double)grow >= REPORT_MEM_GROWTH_FRAC * g->rss_first_kib)
        return "RSS grew by 4 MiB or more, and by 10% or more, during the run";
    if (g->hwm_kib >= REPORT_MEM_PEAK_KIB)
        return "its peak RSS is 1 GiB or more";
    if (g->span_s > 0 && g->majflt / g->span_s >= REPORT_MEM_MAJFLT_PS)
        return "it takes 10 or more major page faults a second";
    if (g->swap_kib > 0)
        return "part of it is in swap";
    return NULL;
}

static void write_memory(FILE *f, const struct report_in *in)
{
    const struct report_figs *g = in->figs;
    const char *why = mem_reason(g);
    if (!why)
        return;
    char a[32], b[32], c[32], d[32];
    double span = g->span_s > 0 ? g->span_s : 1.0;
    fprintf(f, "### Memory\n\nShown because %s.\n\n", why);
    fprintf(
        f, "- RSS: %s at the first reading, %s at the last, %.1f s later (%s%s, %s/s)\n",
        bytes_str((double)g->rss_first_kib * 1024, a, sizeof a),
        bytes_str((double)g->rss_last_kib * 1024, b, sizeof b), g->span_s,
        g->rss_last_kib >= g->rss_first_kib ? "+" : "-",
        bytes_str(fabs((double)g->rss_last_kib - (double)g->rss_first_kib) * 1024, c, sizeof c),
        bytes_str(((double)g->rss_last_kib - (double)g->rss_first_kib) * 1024 / span, d, sizeof d));
    fprintf(f, "- peak RSS (VmHWM): %s\n", bytes_str((double)g->hwm_kib * 1024, a, sizeof a));
    fprintf(f, "- page faults: %.1f major/s, %.0f minor/s\n", g->majflt / span, g->minflt / span);
    fprintf(f, "- swap: %s\n\n", bytes_str((double)g->swap_kib * 1024, a, sizeof a));
}

struct io_rates {
    double rd, wr, disk_rd, disk_wr, calls;
};

static bool io_rates(const struct report_figs *g, struct io_rates *r)
{
    if (!g || !g->io_valid || g->io_span_s <= 0)
        return false;
    const struct procstat_io *a = &g->io_first, *b = &g->io_last;
    double s = g->io_span_s;
    r->rd = per_s(a->rchar, b->rchar, s);
    r->wr = per_s(a->wchar, b->wchar, s);
    r->disk_rd = per_s(a->read_bytes, b->read_bytes, s);
    r->disk_wr = per_s(a->write_bytes, b->write_bytes, s);
    r->calls = per_s(a->syscr, b->syscr, s) + per_s(a->syscw, b->syscw, s);
    return true;
}

static void write_io(FILE *f, const struct report_in *in)
{
    struct io_rates r;
    if (!io_rates(in->figs, &r))
        return;
    bool bytes = r.rd + r.wr >= REPORT_IO_BPS, calls = r.calls >= REPORT_IO_CALLS_PS;
    if (!bytes && !calls)
        return;
    char a[32], b[32];
    fprintf(f, "### I/O\n\nShown because %s.\n\n",
            bytes ? "the process reads and writes 256 KiB/s or more"
                  : "the process makes 1000 or more read and write system calls a second");
    fprintf(f, "- all I/O (files, pipes, sockets): read %s/s, write %s/s\n",
            bytes_str(r.rd, a, sizeof a), bytes_str(r.wr, b, sizeof b));
    fprintf(f, "- disk (what reached the block layer): read %s/s, write %s/s\n",
            bytes_str(r.disk_rd, a, sizeof a), bytes_str(r.disk_wr, b, sizeof b));
    fprintf(f, "- read and write system calls: %.0f/s\n", r.calls);
    fprintf(f, "- averaged over %.1f s\n\n", in->figs->io_span_s);
}

/* ------------------------------------------------------------ result */

/* This run as a profile of function names, for diff_profiles. */
static int current_profile(const struct report_in *in, struct profile **out)
{
    struct profile *p = profile_new(PROFILE_LIVE);
    if (!p)
        return -ENOMEM;
    const struct stack_table *st = in->stacks;
    int err = 0;
    for (size_t i = 0; st && i < st->n && !err; i++) {
        const struct stack_row *row = &st->rows[i];
        if (row->n == 0)
            continue;
        const char **names = malloc(row->n * sizeof(*names));
        if (!names) {
            err = -ENOMEM;
            break;
        }
        for (size_t k = 0; k < row->n; k++) {
            const struct func_info *fi = in->r->func(in->r->ctx, row->frames[k].func);
            names[k] = fi->name && fi->name[0] ? fi->name : "?";
        }
        size_t n = row->n < PROFILE_MAX_DEPTH ? row->n : PROFILE_MAX_DEPTH;
        err = profile_add_stack(p, names + (row->n - n), n, row->count);
        free(names);
    }
    if (err) {
        profile_free(p);
        return err;
    }
    *out = p;
    return 0;
}

static void put_pct_change(FILE *f, double before, double after, enum diff_status st)
{
    fprintf(f, " %.1f | %.1f | ", before, after);
    if (st == DIFF_APPEARED)
        fputs("new |", f);
    else if (st == DIFF_VANISHED)
        fputs("gone |", f);
    else
        fprintf(f, "%+.1f |", after - before);
}

static void write_figure_row(FILE *f, const char *what, bool known, double before, double after,
                             bool as_bytes, const char *unit)
{
    char a[32], b[32], c[32];
    if (!known)
        return;
    if (as_bytes)
        fprintf(f, "| %s | %s%s | %s%s | %s%s%s |\n", what, bytes_str(before, a, sizeof a), unit,
                bytes_str(after, b, sizeof b), unit, after >= before ? "+" : "-",
                bytes_str(fabs(after - before), c, sizeof c), unit);
    else
        fprintf(f, "| %s | %.1f%s | %.1f%s | %+.1f%s |\n", what, before, unit, after, unit,
                after - before, unit);
}

static void write_result_figures(FILE *f, const struct report_in *in, const struct prof_meta *b,
                                 const struct prof_meta *a)
{
    fputs("| figure | before | after | change |\n|---|---:|---:|---:|\n", f);
    fprintf(f, "| samples | %" PRIu64 " | %" PRIu64 " | |\n", profile_samples(in->baseline),
            in->run->samples);
    write_figure_row(f, "duration", b->duration_s > 0, b->duration_s, in->run->elapsed_s, false,
                     " s");
    write_figure_row(f, "CPU", b->have_cpu && a->have_cpu, b->cpu_pct, a->cpu_pct, false, "%");
    write_figure_row(f, "RSS at the end", b->have_rss && a->have_rss, b->rss_bytes, a->rss_bytes,
                     true, "");
    write_figure_row(f, "peak RSS", b->have_rss && a->have_rss, b->rss_peak_bytes,
                     a->rss_peak_bytes, true, "");
    write_figure_row(f, "read", b->have_io && a->have_io, b->read_bps, a->read_bps, true, "/s");
    write_figure_row(f, "write", b->have_io && a->have_io, b->write_bps, a->write_bps, true, "/s");
    if (!b->have_cpu && !b->have_rss && !b->have_io)
        fputs("\nThe baseline file carries no run figures (a folded file never does; a pprof "
              "file written by pertop does): only function shares compare.\n",
              f);
}

static void write_result_funcs(FILE *f, const struct report_in *in, const struct diff_table *d)
{
    size_t rows = d->n < in->max_rows ? d->n : in->max_rows;
    fputs("\nFunctions whose share moved most (percent of each run's samples; change in "
          "points):\n\n| function | self before | self after | change | total before | "
          "total after | change |\n|---|---:|---:|---:|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < rows; i++) {
        const struct diff_row *r = &d->rows[i];
        fputs("| `", f);
        report_put_text(f, r->name, MD_CELL);
        fputs("` |", f);
        put_pct_change(f, r->self_before, r->self_after, r->status);
        put_pct_change(f, r->total_before, r->total_after, r->status);
        fputc('\n', f);
    }
    if (d->n > rows)
        fprintf(f, "\n%zu more functions moved less.\n", d->n - rows);
}

static int write_result(FILE *f, const struct report_in *in)
{
    if (!in->baseline)
        return 0;
    struct profile *cur = NULL;
    int err = current_profile(in, &cur);
    if (err)
        return err;
    const struct prof_meta *b = profile_meta(in->baseline);
    struct prof_meta a = {0};
    if (in->figs)
        report_figs_meta(in->figs, &a);
    fputs("### Result\n\nBefore: `", f);
    report_put_text(f, in->baseline_name ? in->baseline_name : "baseline", MD_CODE);
    fputc('`', f);
    if (b->command[0]) {
        fputs(" (`", f);
        report_put_text(f, b->command, MD_CODE);
        fputs("`)", f);
    }
    fputs("; after: this run.\n\n", f);
    write_result_figures(f, in, b, &a);
    struct diff_table d;
    err = diff_profiles(in->baseline, cur, &d);
    if (err == -EINVAL)
        fputs("\nNo function comparison: one of the two runs has no samples.\n", f);
    else if (!err) {
        write_result_funcs(f, in, &d);
        diff_table_free(&d);
    }
    fputc('\n', f);
    profile_free(cur);
    return err == -EINVAL ? 0 : err;
}

/* ------------------------------------------------------------ report */

int report_write(FILE *f, const struct report_in *in)
{
    struct report_in def = *in;
    if (!def.max_rows)
        def.max_rows = 10;
    if (!def.max_stacks)
        def.max_stacks = 3;
    fputs("## Performance Analysis: ", f);
    report_put_text(f, in->run->cmdline[0] ? in->run->cmdline : "(unknown command)", MD_PLAIN);
    fputs("\n\n", f);
    write_verdict(f, &def);
    write_baseline(f, &def);
    write_bottleneck(f, &def);
    write_waits(f, &def);
    write_memory(f, &def);
    write_io(f, &def);
    int err = write_result(f, &def);
    if (err)
        return err;
    return ferror(f) ? -EIO : 0;
}
