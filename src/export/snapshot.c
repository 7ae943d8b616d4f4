/*
 * snapshot.c - the text snapshot and the folded stacks format.
 *
 * The text layout is meant to be pasted into a bug report and diffed
 * between runs: fixed header labels, one table row per function, stacks
 * one frame per line.  Only ASCII is written, so a column is a byte.
 */
#include "src/export/snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "src/profile/diff.h"

#define MIN_FUNC_WIDTH 32 /* function names shorter than this are never cut */
#define MIN_FILE_WIDTH 20
#define MAX_FILE_WIDTH 40
#define NUMBERS_WIDTH  25 /* " SELF%  TOTAL%  SAMPLES  " */
#define ELLIPSIS       "..."
#define BASE_WIDTH     9 /* "VS.BASE  " */

void snapshot_opts_default(struct snapshot_opts *o)
{
    o->max_rows = 30;
    o->max_stacks = 5;
    o->width = 100;
    o->baseline = NULL;
}

static int stream_status(FILE *f)
{
    return ferror(f) ? -EIO : 0;
}

/* ------------------------------------------------------------ header */

static void write_exit(FILE *f, int status)
{
    if (WIFEXITED(status))
        fprintf(f, "process:    process exited with status %d\n", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        fprintf(f, "process:    process killed by signal %d (%s)\n", WTERMSIG(status),
                strsignal(WTERMSIG(status)));
    else
        fprintf(f, "process:    process exited (wait status 0x%x)\n", (unsigned)status);
}

static void write_python(FILE *f, const struct run_info *h)
{
    if (!h->python[0])
        return;
    if (h->nonblocking)
        fprintf(f,
                "python:     %s, nonblocking, %" PRIu64 " samples with Python frames, %" PRIu64
                " torn reads dropped (%.1f%%)\n",
                h->python, h->py_samples, h->nb_torn,
                h->py_samples + h->nb_torn
                    ? 100.0 * (double)h->nb_torn / (double)(h->py_samples + h->nb_torn)
                    : 0.0);
    else
        fprintf(f,
                "python:     %s, %" PRIu64 " samples with Python frames (%" PRIu64
                " unmerged, %" PRIu64 " torn)\n",
                h->python, h->py_samples, h->py_unmerged, h->py_torn);
    if (h->pyview == RUN_PYVIEW_FIRST)
        fprintf(f, "frames:     python-first: the interpreter's own native frames below a "
                   "Python frame count as its self time (--native-all keeps them)\n");
    else if (h->pyview == RUN_PYVIEW_NATIVE)
        fprintf(f, "frames:     every native frame of the interpreter (--native-all)\n");
}

static void write_header(FILE *f, const struct run_info *h)
{
    char eng[96];
    fprintf(f, "pertop snapshot\n");
    fprintf(f, "pid:        %d\n", (int)h->pid);
    fprintf(f, "command:    %s\n", h->cmdline[0] ? h->cmdline : "?");
    /* which engine took the samples says how to read them (perf: nobody
     * stopped; ptrace: each thread stopped briefly) */
    fprintf(f, "engine:     %s\n", run_info_engine(h, eng, sizeof eng)[0] ? eng : "?");
    if (h->engine_note[0])
        fprintf(f, "engine note: %s\n", h->engine_note);
    fprintf(f, "duration:   %.1f s\n", h->elapsed_s);
    fprintf(f, "samples:    %" PRIu64 " (lost %" PRIu64 ")\n", h->samples, h->lost);
    fprintf(f, "rate:       %.1f Hz requested, %.1f Hz achieved\n", (double)h->rate_asked,
            h->rate_achieved);
    if (h->processes)
        fprintf(f, "processes:  %u (the target and the children it started)\n", h->processes);
    fprintf(f, "threads:    %u\n", h->threads_seen);
    fprintf(f, "mode:       %s\n", h->idle ? "with idle" : "on-CPU");
    if (h->exited)
        write_exit(f, h->exit_status);
    fprintf(f, "truncated:  %" PRIu64 " stacks\n", h->truncated);
    write_python(f, h);
    if (h->child_note[0])
        fprintf(f, "children:   %s\n", h->child_note);
    for (unsigned i = 0; i < h->nverdict; i++)
        fprintf(f, "%s %s\n", i ? "           " : "verdict:   ", h->verdict[i]);
}

/* ------------------------------------------------------------ hot table */

/* Writes s in exactly width columns: cut at the end (or, for paths, at the
 * start, where the directories are) with an ellipsis, padded with spaces. */
static void put_cell(FILE *f, const char *s, size_t width, bool cut_front)
{
    size_t len = strlen(s);
    if (len <= width) {
        fprintf(f, "%s%*s", s, (int)(width - len), "");
        return;
    }
    size_t keep = width > strlen(ELLIPSIS) ? width - strlen(ELLIPSIS) : 0;
    if (!cut_front) {
        fprintf(f, "%.*s%s", (int)keep, s, ELLIPSIS);
        return;
    }
    /* Cut paths at a directory boundary when one is in the part kept. */
    const char *tail = s + len - keep;
    const char *slash = strchr(tail, '/');
    if (slash && slash[1])
        tail = slash;
    fprintf(f, "%s%s%*s", ELLIPSIS, tail, (int)(keep - strlen(tail)), "");
}

static void file_line(char *buf, size_t size, const char *file, int line)
{
    if (!file)
        snprintf(buf, size, "-");
    else if (line > 0)
        snprintf(buf, size, "%s:%d", file, line);
    else
        snprintf(buf, size, "%s", file);
}

struct columns {
    size_t func, file;
};

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* Widths from the rows shown.  Names come first: when the line is too
 * narrow the file column shrinks (to MIN_FILE_WIDTH), then names are cut,
 * but never below MIN_FUNC_WIDTH.  The module column is last and not cut. */
static struct columns hot_columns(const struct hot_table *t, size_t rows, const struct resolver *r,
                                  unsigned width)
{
    size_t want_func = strlen("FUNCTION"), want_file = strlen("FILE:LINE");
    size_t mod = strlen("MODULE");
    char buf[512];
    for (size_t i = 0; i < rows; i++) {
        const struct func_info *fi = r->func(r->ctx, t->rows[i].func);
        want_func = max_size(want_func, strlen(fi->name ? fi->name : ""));
        file_line(buf, sizeof(buf), fi->file, fi->line);
        want_file = max_size(want_file, strlen(buf));
        mod = max_size(mod, strlen(fi->module ? fi->module : ""));
    }
    want_file = min_size(want_file, MAX_FILE_WIDTH);
    size_t fixed = NUMBERS_WIDTH + 2 + 2 + mod;
    size_t avail = width > fixed ? width - fixed : 0;
    struct columns c = {want_func, want_file};
    if (c.func + c.file <= avail)
        return c;
    c.file =
        max_size(min_size(want_file, MIN_FILE_WIDTH), avail > want_func ? avail - want_func : 0);
    c.func = min_size(want_func, max_size(MIN_FUNC_WIDTH, avail > c.file ? avail - c.file : 0));
    return c;
}

static void write_hot_title(FILE *f, const struct model *m, const struct view_opts *vo)
{
    fprintf(f, "Hot functions (%s, ", vo->window == MODEL_RECENT ? "recent" : "cumulative");
    const struct model_thread *t = vo->tid ? model_thread_find(m, vo->tid) : NULL;
    if (!vo->tid)
        fprintf(f, "all threads");
    else
        fprintf(f, "thread %s-%d", t && t->name[0] ? t->name : "?", (int)vo->tid);
    if (vo->filter && vo->filter[0])
        fprintf(f, ", matching \"%s\"", vo->filter);
    fprintf(f, ")\n");
}

static int write_hot(FILE *f, const struct model *m, const struct resolver *r,
                     const struct view_opts *vo, const struct snapshot_opts *so)
{
    struct hot_table t;
    int err = view_hot(m, r, vo, &t);
    if (err)
        return err;
    size_t rows = t.n < so->max_rows ? t.n : so->max_rows;
    /* the baseline column takes its width from the function's */
    unsigned width = so->baseline && so->width > BASE_WIDTH ? so->width - BASE_WIDTH : so->width;
    struct columns c = hot_columns(&t, rows, r, width);
    write_hot_title(f, m, vo);
    fprintf(f, " SELF%%  TOTAL%%  SAMPLES  ");
    if (so->baseline)
        fprintf(f, "VS.BASE  ");
    put_cell(f, "FUNCTION", c.func, false);
    fputs("  ", f);
    put_cell(f, "FILE:LINE", c.file, false);
    fprintf(f, "  MODULE\n");
    char buf[512];
    for (size_t i = 0; i < rows; i++) {
        const struct hot_row *row = &t.rows[i];
        const struct func_info *fi = r->func(r->ctx, row->func);
        fprintf(f, "%5.1f%%  %5.1f%%  %7" PRIu64 "  ", row->self_pct, row->total_pct, row->self);
        if (so->baseline) {
            char cell[16];
            diff_baseline_cell(so->baseline, fi->name ? fi->name : "?", row->self_pct, cell,
                               sizeof cell);
            fprintf(f, "%7s  ", cell);
        }
        put_cell(f, fi->name ? fi->name : "?", c.func, false);
        fputs("  ", f);
        file_line(buf, sizeof(buf), fi->file, fi->line);
        put_cell(f, buf, c.file, true);
        fputs("  ", f);
        /* The last column is not padded. */
        fprintf(f, "%s\n", fi->module && fi->module[0] ? fi->module : "-");
    }
    if (t.n == 0)
        fprintf(f, "  (no samples)\n");
    else if (t.n > rows)
        fprintf(f, "  ... %zu more functions\n", t.n - rows);
    hot_table_free(&t);
    return 0;
}

/* ------------------------------------------------------------ stacks */

static void write_frame_line(FILE *f, const struct resolver *r, const struct chain_frame *cf)
{
    const struct func_info *fi = r->func(r->ctx, cf->func);
    fprintf(f, "      %s", fi->name ? fi->name : "?");
    if (cf->file && cf->line > 0)
        fprintf(f, " (%s:%d)", cf->file, cf->line);
    else if (cf->file)
        fprintf(f, " (%s)", cf->file);
    else if (fi->module && fi->module[0])
        fprintf(f, " [%s]", fi->module);
    fputc('\n', f);
}

static int write_stacks(FILE *f, const struct model *m, const struct resolver *r,
                        const struct view_opts *vo, const struct snapshot_opts *so)
{
    struct stack_table t;
    int err = view_stacks(m, r, vo, false, &t);
    if (err)
        return err;
    fprintf(f, "Hottest stacks\n");
    double denom = t.samples ? (double)t.samples : 1.0;
    size_t shown = t.n < so->max_stacks ? t.n : so->max_stacks;
    for (size_t i = 0; i < shown; i++) {
        const struct stack_row *row = &t.rows[i];
        fprintf(f, "  #%zu  %.1f%%  (%" PRIu64 " samples)\n", i + 1,
                100.0 * (double)row->count / denom, row->count);
        if (row->n == 0)
            fprintf(f, "      (no frames)\n");
        for (size_t k = 0; k < row->n; k++)
            write_frame_line(f, r, &row->frames[k]);
    }
    if (t.n == 0)
        fprintf(f, "  (no samples)\n");
    stack_table_free(&t);
    return 0;
}

int snapshot_write_text(FILE *f, const struct run_info *run, const struct model *m,
                        const struct resolver *r, const struct view_opts *vo,
                        const struct snapshot_opts *so)
{
    struct snapshot_opts def;
    if (!so) {
        snapshot_opts_default(&def);
        so = &def;
    }
    write_header(f, run);
    fputc('\n', f);
    int err = write_hot(f, m, r, vo, so);
    if (err)
        return err;
    fputc('\n', f);
    err = write_stacks(f, m, r, vo, so);
    if (err)
        return err;
    return stream_status(f);
}

/* ------------------------------------------------------------ folded */

/* A frame name as the folded format needs it: ';' separates frames and a
 * newline ends the record, so neither may appear inside a name. */
static void put_folded_name(FILE *f, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (c == ';')
            c = ':';
        else if (c == '\n' || c == '\r')
            c = ' ';
        fputc(c, f);
    }
}

/* A Python frame as py-spy names it, "function (file.py:LINE)", so two
 * mains of two files are two frames; the line is the one the stack was at
 * (the heaviest path's), or the definition's; without lines "function
 * (file.py)". */
static void put_python_frame(FILE *f, const struct func_info *fi, const struct chain_frame *cf,
                             bool lines)
{
    put_folded_name(f, fi->name && fi->name[0] ? fi->name : "?");
    const char *file = cf->file ? cf->file : fi->file;
    if (!file)
        return;
    fputs(" (", f);
    put_folded_name(f, file);
    int line = cf->file && cf->line > 0 ? cf->line : fi->line;
    if (lines && line > 0)
        fprintf(f, ":%d", line);
    fputc(')', f);
}

/* "process-pid;" of the thread's process, named as its main thread. */
static void put_process(FILE *f, const struct model *m, const struct model_thread *t, pid_t target)
{
    pid_t pid = t && t->pid ? t->pid : target;
    put_folded_name(f, model_process_name(m, pid));
    fprintf(f, "-%d;", (int)pid);
}

static bool has_children(const struct model *m)
{
    for (size_t i = 0; i < model_thread_count(m); i++)
        if (model_thread(m, i)->pid)
            return true;
    return false;
}

static void write_folded_row(FILE *f, const struct model *m, const struct resolver *r,
                             const struct stack_row *row, const struct folded_opts *o,
                             bool processes)
{
    bool threads = o->threads;
    bool first = true;
    if (threads) {
        const struct model_thread *t = model_thread_find(m, row->tid);
        if (processes)
            put_process(f, m, t, o->target_pid);
        put_folded_name(f, t && t->name[0] ? t->name : "thread");
        fprintf(f, "-%d", (int)row->tid);
        first = false;
    }
    for (size_t k = 0; k < row->n; k++) {
        const struct func_info *fi = r->func(r->ctx, row->frames[k].func);
        if (!first)
            fputc(';', f);
        if (fi->python)
            put_python_frame(f, fi, &row->frames[k], o->line_numbers);
        else
            put_folded_name(f, fi->name && fi->name[0] ? fi->name : "?");
        first = false;
    }
    fprintf(f, " %" PRIu64 "\n", row->count);
}

int snapshot_write_folded(FILE *f, const struct model *m, const struct resolver *r,
                          const struct view_opts *vo, const struct folded_opts *o)
{
    struct stack_table t;
    bool threads = o->threads;
    int err = view_stacks(m, r, vo, threads, &t);
    if (err)
        return err;
    bool processes = threads && has_children(m);
    for (size_t i = 0; i < t.n; i++) {
        /* An empty stack has no frame to hang its count on. */
        if (t.rows[i].n == 0 && !threads)
            continue;
        write_folded_row(f, m, r, &t.rows[i], o, processes);
    }
    stack_table_free(&t);
    return stream_status(f);
}
