/*
 * pane_threads.c - see pane_threads.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r */
#endif
#include "ui/pane_threads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const titles[TC_COUNT] = {"TID", "NAME", "S", "CPU%", "SAMP%", "NOW IN"};

#define PID_W 7 /* the PID column, before TID, when children are followed */

static void widths(int width, bool pids, int w[TC_COUNT])
{
    w[TC_TID] = 7, w[TC_NAME] = 15, w[TC_STATE] = 1, w[TC_CPU] = 6, w[TC_SHARE] = 6;
    int rest = width - (7 + 15 + 1 + 6 + 6 + 5) - (pids ? PID_W + 1 : 0);
    w[TC_FUNC] = rest > 0 ? rest : 0;
}

bool pane_threads_has_pids(const struct live_frame *f)
{
    for (size_t i = 0; i < f->nthr; i++)
        if (f->thr[i].pid)
            return true;
    return false;
}

static bool right_aligned(int c)
{
    return c == TC_TID || c == TC_CPU || c == TC_SHARE;
}

void pane_threads_header(const struct ui_state *st, int width, bool pids, struct ui_line *out)
{
    int w[TC_COUNT];
    widths(width, pids, w);
    line_init(out, ROLE_COLHEAD);
    if (pids) {
        line_col(out, ROLE_COLHEAD, "PID", PID_W, true);
        line_add(out, ROLE_COLHEAD, " ");
    }
    for (int c = 0; c < TC_COUNT; c++) {
        enum ui_role role = st && st->thr_sort == (enum thr_col)c ? ROLE_SORTCOL : ROLE_COLHEAD;
        line_col(out, role, titles[c], w[c], right_aligned(c));
        line_add(out, ROLE_COLHEAD, " ");
    }
    line_cut(out, width);
    line_pad(out, width);
}

int pane_threads_col_at(int width, bool pids, int x)
{
    int w[TC_COUNT];
    widths(width, pids, w);
    int at = pids ? PID_W + 1 : 0;
    for (int c = 0; c < TC_COUNT; c++) {
        if (x >= at && x <= at + w[c])
            return c;
        at += w[c] + 1;
    }
    return -1;
}

static enum ui_role state_role(char s)
{
    return s == 'R'               ? ROLE_BAR_LOW
           : s == 'D'             ? ROLE_BAR_HIGH
           : s == 'Z' || s == 'T' ? ROLE_WARN
                                  : ROLE_DIM;
}

void pane_threads_row(const struct lv_thread_row *r, pid_t target, int width, bool pids,
                      struct ui_line *out)
{
    int w[TC_COUNT];
    widths(width, pids, w);
    char buf[64];
    line_init(out, ROLE_NORMAL);
    if (pids) {
        snprintf(buf, sizeof buf, "%d", (int)(r->pid ? r->pid : target));
        line_col(out, r->pid ? ROLE_VALUE : ROLE_NORMAL, buf, PID_W, true);
        line_add(out, ROLE_NORMAL, " ");
    }
    snprintf(buf, sizeof buf, "%d", (int)r->tid);
    line_col(out, ROLE_NORMAL, buf, w[TC_TID], true);
    line_add(out, ROLE_NORMAL, " ");
    line_col(out, ROLE_VALUE, r->name[0] ? r->name : "?", w[TC_NAME], false);
    line_add(out, ROLE_NORMAL, " ");
    snprintf(buf, sizeof buf, "%c", r->state ? r->state : '?');
    line_col(out, state_role(r->state), buf, w[TC_STATE], false);
    line_add(out, ROLE_NORMAL, " ");
    if (r->have_cpu)
        snprintf(buf, sizeof buf, "%.1f", r->cpu_pct);
    else
        snprintf(buf, sizeof buf, "-");
    line_col(out, r->cpu_pct >= 50.0 ? ROLE_BAR_HIGH : ROLE_NORMAL, buf, w[TC_CPU], true);
    line_add(out, ROLE_NORMAL, " ");
    snprintf(buf, sizeof buf, "%.1f", r->share_pct);
    line_col(out, ROLE_NORMAL, buf, w[TC_SHARE], true);
    line_add(out, ROLE_NORMAL, " ");
    line_col(out, r->func ? ROLE_NORMAL : ROLE_DIM, r->func ? r->func : "-", w[TC_FUNC], false);
    line_cut(out, width);
}

struct order_ctx {
    const struct lv_thread_row *rows;
    enum thr_col col;
    bool asc;
};

static int cmp_num(double a, double b)
{
    return (a > b) - (a < b);
}

static int order_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct order_ctx *o = ctx;
    const struct lv_thread_row *a = &o->rows[*(const size_t *)pa];
    const struct lv_thread_row *b = &o->rows[*(const size_t *)pb];
    int c = 0;
    switch (o->col) {
    case TC_TID:
        c = cmp_num(a->tid, b->tid);
        break;
    case TC_NAME:
        c = strcmp(a->name, b->name);
        break;
    case TC_STATE:
        c = cmp_num(a->state, b->state);
        break;
    case TC_CPU:
        c = cmp_num(a->cpu_pct, b->cpu_pct);
        break;
    case TC_SHARE:
        c = cmp_num((double)a->samples, (double)b->samples);
        break;
    case TC_FUNC:
        c = strcmp(a->func ? a->func : "", b->func ? b->func : "");
        break;
    default:
        break;
    }
    if (c)
        return o->asc ? c : -c;
    if ((c = cmp_num((double)b->samples, (double)a->samples)))
        return c;
    return cmp_num(a->tid, b->tid);
}

size_t pane_threads_order(const struct live_frame *f, const struct ui_state *st, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nthr; i++)
        if (!st->tid || f->thr[i].tid == st->tid)
            idx[n++] = i;
    struct order_ctx o = {f->thr, st->thr_sort, st->thr_asc};
    qsort_r(idx, n, sizeof *idx, order_cmp, &o);
    return n;
}
