/*
 * pane_tree.c - see pane_tree.h.
 */
#include "ui/pane_tree.h"

#include <stdio.h>

enum { W_PCT = 7, INDENT_MAX = 60 };

void pane_tree_title(bool inverted, uint64_t samples, int width, struct ui_line *out)
{
    line_init(out, ROLE_NORMAL);
    line_add(out, ROLE_TITLE, "%s", inverted ? "Inverted tree" : "Call tree");
    line_add(out, ROLE_LABEL, " (%s) of %llu samples",
             inverted ? "bottom up: where time was spent, then who called it"
                      : "top down: each function with everything it called",
             (unsigned long long)samples);
    line_cut(out, width);
}

void pane_tree_header(bool inverted, int width, struct ui_line *out)
{
    line_init(out, ROLE_COLHEAD);
    line_col(out, ROLE_COLHEAD, inverted ? "SAMPLE%" : "TOTAL%", W_PCT, true);
    line_add(out, ROLE_COLHEAD, " ");
    line_col(out, ROLE_COLHEAD, "PARENT%", W_PCT, true);
    line_add(out, ROLE_COLHEAD, " ");
    line_col(out, ROLE_COLHEAD, "SELF%", W_PCT, true);
    line_add(out, ROLE_COLHEAD, "  %s", inverted ? "FUNCTION <- CALLERS" : "FUNCTION -> CALLEES");
    line_cut(out, width);
    line_pad(out, width);
}

void pane_tree_row(const struct lv_tree_row *r, int width, struct ui_line *out)
{
    char buf[32];
    line_init(out, ROLE_NORMAL);
    snprintf(buf, sizeof buf, "%.1f%%", r->pct);
    line_col(out, r->pct >= 10.0 ? ROLE_BAR_HIGH : ROLE_VALUE, buf, W_PCT, true);
    line_add(out, ROLE_NORMAL, " ");
    snprintf(buf, sizeof buf, "%.1f%%", r->parent_pct);
    line_col(out, ROLE_NORMAL, buf, W_PCT, true);
    line_add(out, ROLE_NORMAL, " ");
    double self = r->total && r->pct > 0 ? r->pct * (double)r->self / (double)r->total : 0.0;
    snprintf(buf, sizeof buf, "%.1f%%", self);
    line_col(out, ROLE_DIM, buf, W_PCT, true);
    /* deep trees: the indent stops growing, the depth is written instead */
    unsigned d = r->depth;
    int ind = (int)(d * 2 > INDENT_MAX ? INDENT_MAX : d * 2);
    line_add(out, ROLE_NORMAL, "  %*s", ind, "");
    if (d * 2 > INDENT_MAX)
        line_add(out, ROLE_DIM, "[%u]", d);
    line_add(out, ROLE_KEY, "%s", r->has_children ? (r->expanded ? "-" : "+") : " ");
    line_add(out, ROLE_NORMAL, " %s", r->name);
    if (r->module && r->module[0])
        line_add(out, ROLE_LABEL, "  %s", r->module);
    line_cut(out, width);
}
