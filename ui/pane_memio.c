/*
 * pane_memio.c - see pane_memio.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r */
#endif
#include "ui/pane_memio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/graph.h"

static void title(struct ui_line *l, const char *text, int width)
{
    line_init(l, ROLE_COLHEAD);
    line_add(l, ROLE_COLHEAD, "%s", text);
    line_cut(l, width);
    line_pad(l, width);
}

static void kv(struct ui_line *l, const char *label, const char *value)
{
    line_add(l, ROLE_LABEL, "%s ", label);
    line_add(l, ROLE_VALUE, "%s  ", value);
}

static void kv_kib(struct ui_line *l, const char *label, uint64_t kib)
{
    char b[32];
    fmt_kib(b, sizeof b, kib);
    kv(l, label, b);
}

static void kv_rate(struct ui_line *l, const char *label, double bps)
{
    char b[32];
    fmt_rate(b, sizeof b, bps);
    kv(l, label, b);
}

static void kv_count(struct ui_line *l, const char *label, double v)
{
    char b[32];
    fmt_count(b, sizeof b, v);
    kv(l, label, b);
}

static size_t mem_numbers(const struct procstat_snapshot *ps, int width, struct ui_line *out)
{
    const struct procstat_mem *m = &ps->mem;
    char b[32];
    line_init(&out[0], ROLE_NORMAL);
    kv_kib(&out[0], "RSS", m->rss_kib);
    kv_kib(&out[0], "peak", m->hwm_kib);
    snprintf(b, sizeof b, "%s", ps->rss_growth_kib_s < 0 ? "-" : "+");
    fmt_kib(b + 1, sizeof b - 1,
            (uint64_t)(ps->rss_growth_kib_s < 0 ? -ps->rss_growth_kib_s : ps->rss_growth_kib_s));
    strncat(b, "/s", sizeof b - strlen(b) - 1);
    kv(&out[0], "growth", b);
    line_init(&out[1], ROLE_NORMAL);
    kv_kib(&out[1], "anon", m->anon_kib);
    kv_kib(&out[1], "file", m->file_kib);
    kv_kib(&out[1], "shmem", m->shmem_kib);
    kv_kib(&out[1], "swap", m->swap_kib);
    line_init(&out[2], ROLE_NORMAL);
    line_add(&out[2], ROLE_LABEL, "faults/s ");
    kv_count(&out[2], "minor", ps->minflt_ps);
    kv_count(&out[2], "major", ps->majflt_ps);
    for (int i = 0; i < 3; i++)
        line_cut(&out[i], width);
    return 3;
}

size_t pane_mem_lines(const struct live_frame *f, int width, int height, bool utf8,
                      double interval_s, struct ui_line *out, size_t max)
{
    if (max < 8)
        return 0;
    title(&out[0], f->have_ps && !f->ps.alive ? " Memory (last reading)" : " Memory", width);
    if (!f->have_ps || !f->ps.mem.valid) {
        line_init(&out[1], ROLE_DIM);
        line_add(&out[1], ROLE_DIM, "memory numbers unavailable");
        return 2;
    }
    size_t n = 1 + mem_numbers(&f->ps, width, &out[1]);
    int rows = height - (int)n - 1;
    if (rows < 1)
        return n;
    if ((size_t)rows > max - n - 1)
        rows = (int)(max - n - 1);
    size_t want = interval_s > 0 ? (size_t)(60.0 / interval_s + 0.5) : 60;
    size_t nh = f->ps.nhistory < want ? f->ps.nhistory : want;
    const uint64_t *v = f->ps.rss_history_kib + (f->ps.nhistory - nh);
    uint64_t peak = 0;
    for (size_t i = 0; i < nh; i++)
        peak = v[i] > peak ? v[i] : peak;
    char b[32];
    fmt_kib(b, sizeof b, peak);
    line_init(&out[n], ROLE_DIM);
    line_add(&out[n], ROLE_DIM, "RSS, last minute (top %s)", b);
    line_cut(&out[n], width);
    n++;
    for (int r = 0; r < rows; r++)
        line_init(&out[n + (size_t)r], ROLE_NORMAL);
    graph_draw(v, nh, peak, width, rows, utf8, ROLE_GRAPH, &out[n]);
    return n + (size_t)rows;
}

/* ------------------------------------------------------------ I/O */

static size_t io_process(const struct procstat_snapshot *ps, int width, struct ui_line *out)
{
    line_init(&out[0], ROLE_NORMAL);
    line_init(&out[1], ROLE_NORMAL);
    if (!ps->io.valid) {
        line_add(&out[0], ROLE_DIM, "I/O counters unavailable (/proc/PID/io)  ");
    } else {
        kv_rate(&out[0], "read", ps->read_bps);
        kv_rate(&out[0], "write", ps->write_bps);
        kv_rate(&out[0], "disk r", ps->disk_read_bps);
        kv_rate(&out[0], "w", ps->disk_write_bps);
        kv_count(&out[1], "syscalls/s r", ps->syscr_ps);
        kv_count(&out[1], "w", ps->syscw_ps);
    }
    kv_count(&out[1], "fds", ps->nfds);
    line_cut(&out[0], width);
    line_cut(&out[1], width);
    return 2;
}

static int by_io(const void *pa, const void *pb, void *ctx)
{
    const struct lv_thread_row *rows = ctx;
    const struct lv_thread_row *a = &rows[*(const size_t *)pa], *b = &rows[*(const size_t *)pb];
    double x = a->read_bps + a->write_bps, y = b->read_bps + b->write_bps;
    return (x < y) - (x > y);
}

static void io_thread_row(const struct lv_thread_row *t, int width, struct ui_line *l)
{
    char r[32], w[32], s[32];
    fmt_rate(r, sizeof r, t->read_bps);
    fmt_rate(w, sizeof w, t->write_bps);
    fmt_count(s, sizeof s, t->syscalls_ps);
    line_init(l, ROLE_NORMAL);
    line_add(l, ROLE_NORMAL, "%7d ", (int)t->tid);
    line_col(l, ROLE_VALUE, t->name, 15, false);
    line_add(l, ROLE_NORMAL, " %9s %9s %7s", r, w, s);
    line_cut(l, width);
}

static size_t io_threads(const struct live_frame *f, pid_t tid, int width, struct ui_line *out,
                         size_t max)
{
    size_t *idx = malloc((f->nthr ? f->nthr : 1) * sizeof *idx);
    size_t n = 0, k = 0;
    if (!idx)
        return 0;
    for (size_t i = 0; i < f->nthr; i++) {
        const struct lv_thread_row *t = &f->thr[i];
        if ((!tid || t->tid == tid) && t->read_bps + t->write_bps + t->syscalls_ps > 0)
            idx[n++] = i;
    }
    qsort_r(idx, n, sizeof *idx, by_io, f->thr);
    line_init(&out[k], ROLE_LABEL);
    line_add(&out[k], ROLE_LABEL, "%7s %-15s %9s %9s %7s", "TID", "NAME", "READ", "WRITE",
             "SYSC/s");
    line_cut(&out[k++], width);
    for (size_t i = 0; i < n && k < max; i++)
        io_thread_row(&f->thr[idx[i]], width, &out[k++]);
    if (!n && k < max) {
        line_init(&out[k], ROLE_DIM);
        line_add(&out[k++], ROLE_DIM, "no thread is doing I/O");
    }
    free(idx);
    return k;
}

static void blocked_row(const struct lv_thread_row *t, int width, struct ui_line *l)
{
    char fd[16], for_s[32];
    snprintf(fd, sizeof fd, t->wait.fd >= 0 ? "%d" : "-", t->wait.fd);
    fmt_secs(for_s, sizeof for_s, t->wait.blocked_s);
    line_init(l, ROLE_NORMAL);
    line_add(l, ROLE_NORMAL, "%7d ", (int)t->tid);
    line_col(l, ROLE_VALUE, t->name, 15, false);
    line_add(l, ROLE_NORMAL, " ");
    line_col(l, ROLE_BAR_MID, t->wait.syscall ? t->wait.syscall : "?", 16, false);
    line_add(l, ROLE_NORMAL, " %4s %7s ", fd, for_s);
    line_add(l, ROLE_DIM, "%s", t->wait.target[0] ? t->wait.target : "");
    line_cut(l, width);
}

static size_t io_blocked(const struct live_frame *f, pid_t tid, int width, struct ui_line *out,
                         size_t max)
{
    size_t k = 0;
    line_init(&out[k], ROLE_LABEL);
    line_add(&out[k], ROLE_LABEL, "%7s %-15s %-16s %4s %7s %s", "TID", "NAME", "BLOCKED IN", "FD",
             "FOR", "TARGET");
    line_cut(&out[k++], width);
    for (size_t i = 0; i < f->nthr && k < max; i++) {
        const struct lv_thread_row *t = &f->thr[i];
        if (t->wait.blocked && (!tid || t->tid == tid))
            blocked_row(t, width, &out[k++]);
    }
    if (k == 1 && k < max) {
        line_init(&out[k], ROLE_DIM);
        line_add(&out[k++], ROLE_DIM, "no thread is blocked in a syscall");
    }
    return k;
}

size_t pane_io_lines(const struct live_frame *f, const struct ui_state *st, int width,
                     struct ui_line *out, size_t max)
{
    if (max < 8)
        return 0;
    title(&out[0], " I/O", width);
    if (!f->have_ps) {
        line_init(&out[1], ROLE_DIM);
        line_add(&out[1], ROLE_DIM, "I/O numbers unavailable");
        return 2;
    }
    size_t n = 1 + io_process(&f->ps, width, &out[1]);
    n += io_blocked(f, st->tid, width, &out[n], max - n);
    if (n < max)
        n += io_threads(f, st->tid, width, &out[n], max - n);
    return n;
}
