/*
 * pane_hot.c - see pane_hot.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr, qsort_r */
#endif
#include "ui/pane_hot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const titles[HC_COUNT] = {"SELF%",    "TOTAL%",    "SELF-T",
                                             "FUNCTION", "FILE:LINE", "MODULE"};

#define BASE_W 7 /* the --baseline column: "VS.BASE", "+12.3", "new" */

/* Column widths; the function column takes what the others leave.  Narrow
 * terminals lose the file and module columns first.  With a baseline its
 * column sits after SELF-T and takes its room from the function's. */
static void widths(int width, bool base, int w[HC_COUNT])
{
    w[HC_SELF] = 6, w[HC_TOTAL] = 7, w[HC_TIME] = 7;
    int rest = width - (w[HC_SELF] + w[HC_TOTAL] + w[HC_TIME] + 3) - (base ? BASE_W + 1 : 0);
    w[HC_FILE] = w[HC_MODULE] = 0;
    if (rest >= 40) {
        w[HC_FILE] = rest / 4 > 28 ? 28 : rest / 4;
        w[HC_MODULE] = rest / 5 > 20 ? 20 : rest / 5;
    }
    w[HC_FUNC] = rest - w[HC_FILE] - w[HC_MODULE] - (w[HC_FILE] ? 1 : 0) - (w[HC_MODULE] ? 1 : 0);
    if (w[HC_FUNC] < 0)
        w[HC_FUNC] = 0;
}

static bool right_aligned(int c)
{
    return c == HC_SELF || c == HC_TOTAL || c == HC_TIME;
}

void pane_hot_header_vs(const struct ui_state *st, bool base, int width, struct ui_line *out)
{
    int w[HC_COUNT];
    widths(width, base, w);
    line_init(out, ROLE_COLHEAD);
    for (int c = 0; c < HC_COUNT; c++) {
        if (!w[c])
            continue;
        enum ui_role role = st && st->hot_sort == (enum hot_col)c ? ROLE_SORTCOL : ROLE_COLHEAD;
        line_col(out, role, titles[c], w[c], right_aligned(c));
        line_add(out, ROLE_COLHEAD, " ");
        if (c == HC_TIME && base) {
            line_col(out, ROLE_COLHEAD, "VS.BASE", BASE_W, true);
            line_add(out, ROLE_COLHEAD, " ");
        }
    }
    line_cut(out, width);
    line_pad(out, width);
}

void pane_hot_header(const struct ui_state *st, int width, struct ui_line *out)
{
    pane_hot_header_vs(st, false, width, out);
}

int pane_hot_col_at_vs(bool base, int width, int x)
{
    int w[HC_COUNT];
    widths(width, base, w);
    int at = 0;
    for (int c = 0; c < HC_COUNT; c++) {
        if (!w[c])
            continue;
        if (x >= at && x <= at + w[c])
            return c;
        at += w[c] + 1;
        if (c == HC_TIME && base) {
            if (x >= at && x <= at + BASE_W)
                return -1; /* the baseline column does not sort */
            at += BASE_W + 1;
        }
    }
    return -1;
}

int pane_hot_col_at(int width, int x)
{
    return pane_hot_col_at_vs(false, width, x);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* More self time than the baseline stands out, less is quiet. */
static enum ui_role base_role(const char *cell)
{
    return cell[0] == '+' || cell[0] == 'n' ? ROLE_WARN : cell[0] == '-' ? ROLE_DIM : ROLE_NORMAL;
}

void pane_hot_row_vs(const struct lv_hot_row *r, bool base, int width, struct ui_line *out)
{
    int w[HC_COUNT];
    widths(width, base, w);
    char buf[64], file[256];
    line_init(out, ROLE_NORMAL);
    snprintf(buf, sizeof buf, "%.1f%%", r->self_pct);
    line_col(out, r->self_pct >= 10.0 ? ROLE_BAR_HIGH : ROLE_VALUE, buf, w[HC_SELF], true);
    line_add(out, ROLE_NORMAL, " ");
    snprintf(buf, sizeof buf, "%.1f%%", r->total_pct);
    line_col(out, ROLE_NORMAL, buf, w[HC_TOTAL], true);
    line_add(out, ROLE_NORMAL, " ");
    fmt_secs(buf, sizeof buf, r->self_s);
    line_col(out, ROLE_DIM, buf, w[HC_TIME], true);
    line_add(out, ROLE_NORMAL, " ");
    if (base) {
        line_col(out, base_role(r->vs_base), r->vs_base, BASE_W, true);
        line_add(out, ROLE_NORMAL, " ");
    }
    line_col(out, ROLE_NORMAL, r->name, w[HC_FUNC], false);
    if (w[HC_FILE]) {
        if (r->file && r->line > 0)
            snprintf(file, sizeof file, "%s:%d", base_name(r->file), r->line);
        else
            snprintf(file, sizeof file, "%s", r->file ? base_name(r->file) : "-");
        line_add(out, ROLE_NORMAL, " ");
        line_col(out, ROLE_DIM, file, w[HC_FILE], false);
    }
    if (w[HC_MODULE]) {
        line_add(out, ROLE_NORMAL, " ");
        line_col(out, ROLE_LABEL, r->module[0] ? r->module : "-", w[HC_MODULE], false);
    }
    line_cut(out, width);
}

void pane_hot_row(const struct lv_hot_row *r, int width, struct ui_line *out)
{
    pane_hot_row_vs(r, false, width, out);
}

struct order_ctx {
    const struct lv_hot_row *rows;
    enum hot_col col;
    bool asc;
};

static int cmp_num(double a, double b)
{
    return (a > b) - (a < b);
}

static int cmp_file(const struct lv_hot_row *a, const struct lv_hot_row *b)
{
    int c = strcmp(a->file ? base_name(a->file) : "", b->file ? base_name(b->file) : "");
    return c ? c : (a->line > b->line) - (a->line < b->line);
}

static int order_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct order_ctx *o = ctx;
    const struct lv_hot_row *a = &o->rows[*(const size_t *)pa];
    const struct lv_hot_row *b = &o->rows[*(const size_t *)pb];
    int c = 0;
    switch (o->col) {
    case HC_SELF:
    case HC_TIME:
        c = cmp_num((double)a->self, (double)b->self);
        break;
    case HC_TOTAL:
        c = cmp_num((double)a->total, (double)b->total);
        break;
    case HC_FUNC:
        c = strcmp(a->name, b->name);
        break;
    case HC_FILE:
        c = cmp_file(a, b);
        break;
    case HC_MODULE:
        c = strcmp(a->module, b->module);
        break;
    default:
        break;
    }
    if (c)
        return o->asc ? c : -c;
    if ((c = cmp_num((double)b->self, (double)a->self)) || (c = strcmp(a->name, b->name)))
        return c;
    return (a->func > b->func) - (a->func < b->func);
}

size_t pane_hot_order(const struct live_frame *f, const struct ui_state *st, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nhot; i++)
        if (!st->filter[0] || strcasestr(f->hot[i].name, st->filter))
            idx[n++] = i;
    struct order_ctx o = {f->hot, st->hot_sort, st->hot_asc};
    qsort_r(idx, n, sizeof *idx, order_cmp, &o);
    return n;
}
