/*
 * pane_func.c - see pane_func.h.
 */
#include "ui/pane_func.h"

#include <stdio.h>
#include <string.h>

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

void pane_func_title(const struct lv_func *fn, const char *crumbs, int width, struct ui_line *out)
{
    line_init(out, ROLE_NORMAL);
    if (crumbs && crumbs[0])
        line_add(out, ROLE_DIM, "%s > ", crumbs);
    line_add(out, ROLE_TITLE, "%s", fn->name ? fn->name : "?");
    line_add(out, ROLE_LABEL, "  self ");
    line_add(out, fn->self_pct >= 10.0 ? ROLE_BAR_HIGH : ROLE_VALUE, "%.1f%%", fn->self_pct);
    line_add(out, ROLE_LABEL, "  total ");
    line_add(out, ROLE_VALUE, "%.1f%%", fn->total_pct);
    line_add(out, ROLE_LABEL, " of %llu samples", (unsigned long long)fn->samples);
    if (fn->module && fn->module[0])
        line_add(out, ROLE_LABEL, "  %s", fn->module);
    if (fn->file)
        line_add(out, ROLE_DIM, "  %s:%d", base_name(fn->file), fn->line);
    line_cut(out, width);
}

/* Columns: samples, share of the function's samples, share of all. */
enum { W_COUNT = 8, W_PCT = 7 };

void pane_func_header(int width, struct ui_line *out)
{
    line_init(out, ROLE_COLHEAD);
    line_col(out, ROLE_COLHEAD, "SAMPLES", W_COUNT, true);
    line_add(out, ROLE_COLHEAD, " ");
    line_col(out, ROLE_COLHEAD, "%FUNC", W_PCT, true);
    line_add(out, ROLE_COLHEAD, " ");
    line_col(out, ROLE_COLHEAD, "%ALL", W_PCT, true);
    line_add(out, ROLE_COLHEAD, "   FUNCTION");
    line_cut(out, width);
    line_pad(out, width);
}

size_t pane_func_rows(const struct lv_func *fn)
{
    return 2 + fn->ncallers + fn->ncallees;
}

/* The edge of row i, NULL for the section lines (0 and 1 + ncallers). */
static const struct lv_edge_row *edge_at(const struct lv_func *fn, size_t i)
{
    if (i == 0 || i == 1 + fn->ncallers)
        return NULL;
    if (i <= fn->ncallers)
        return &fn->callers[i - 1];
    size_t k = i - 2 - fn->ncallers;
    return k < fn->ncallees ? &fn->callees[k] : NULL;
}

static void section(const struct lv_func *fn, bool callers, int width, struct ui_line *out)
{
    line_init(out, ROLE_NORMAL);
    line_add(out, ROLE_LABEL, "%s of %s", callers ? "Callers" : "Callees", fn->name);
    if ((callers ? fn->ncallers : fn->ncallees) == 0)
        line_add(out, ROLE_DIM, "  (none in this window)");
    else if (callers)
        line_add(out, ROLE_DIM, "  (%%FUNC: share of its samples that came through each)");
    else
        line_add(out, ROLE_DIM, "  (%%FUNC: share of its samples spent in each; [self]: in it)");
    line_cut(out, width);
}

void pane_func_row(const struct lv_func *fn, size_t i, int width, struct ui_line *out)
{
    const struct lv_edge_row *e = edge_at(fn, i);
    if (!e) {
        section(fn, i == 0, width, out);
        return;
    }
    char buf[32];
    line_init(out, ROLE_NORMAL);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)e->count);
    line_col(out, ROLE_DIM, buf, W_COUNT, true);
    line_add(out, ROLE_NORMAL, " ");
    snprintf(buf, sizeof buf, "%.1f%%", e->pct);
    line_col(out, e->pct >= 50.0 ? ROLE_BAR_HIGH : ROLE_VALUE, buf, W_PCT, true);
    line_add(out, ROLE_NORMAL, " ");
    snprintf(buf, sizeof buf, "%.1f%%", e->all_pct);
    line_col(out, ROLE_NORMAL, buf, W_PCT, true);
    bool pseudo = e->func == DRILL_NO_CALLER || e->func == DRILL_SELF;
    line_add(out, pseudo ? ROLE_DIM : ROLE_NORMAL, "   %s", e->name);
    if (e->module && e->module[0])
        line_add(out, ROLE_LABEL, "  %s", e->module);
    line_cut(out, width);
}

uint32_t pane_func_row_func(const struct lv_func *fn, size_t i)
{
    const struct lv_edge_row *e = edge_at(fn, i);
    if (!e || e->func == DRILL_NO_CALLER || e->func == DRILL_SELF)
        return PANE_FUNC_NONE;
    return e->func;
}

const char *pane_func_row_module(const struct lv_func *fn, size_t i)
{
    const struct lv_edge_row *e = edge_at(fn, i);
    return e && e->module ? e->module : "";
}
