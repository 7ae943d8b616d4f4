/*
 * pane_annot.c - see pane_annot.h.
 *
 * Row 0 is the view's note when it has one (inlined function, samples on
 * other lines...), so the reader sees it next to the rows it explains; the
 * row indexes of pane_annot_next_hot count it too.
 */
#include "ui/pane_annot.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "src/annotate/annotate.h"

#define W_SAMPLES 8
#define W_PCT     6
#define W_INCL    8
#define W_ADDR    8 /* hex digits of an address, more when needed */

static size_t note_rows(const struct annot_view *v)
{
    return !v->error[0] && v->note[0] ? 1 : 0;
}

/* An error's advice (after " — ") goes on a row of its own: a long path
 * would push it past the width. */
static const char *advice(const struct annot_view *v)
{
    const char *dash = strstr(v->error, " \xe2\x80\x94 ");
    return dash ? dash + 1 : NULL;
}

size_t pane_annot_rows(const struct annot_view *v)
{
    if (v->error[0])
        return advice(v) ? 2 : 1;
    if (v->nrows == 0)
        return 1;
    return note_rows(v) + v->nrows;
}

void pane_annot_title(const struct annot_view *v, int width, struct ui_line *out)
{
    line_init(out, ROLE_TITLE);
    line_add(out, ROLE_TITLE, "%s", v->title);
    line_cut(out, width);
    line_pad(out, width);
}

/* Width of the line-number or address column. */
static int key_width(const struct annot_view *v)
{
    if (v->kind == ANNOT_SOURCE)
        return v->line_digits > 4 ? v->line_digits : 4;
    /* rows go up in address: the last one is the widest */
    char buf[24];
    int n = v->nrows ? snprintf(buf, sizeof buf, "%" PRIx64, v->rows[v->nrows - 1].addr) : 0;
    return n > W_ADDR ? n : W_ADDR;
}

void pane_annot_header(const struct annot_view *v, int width, struct ui_line *out)
{
    line_init(out, ROLE_COLHEAD);
    line_col(out, ROLE_COLHEAD, "SAMPLES", W_SAMPLES, true);
    line_add(out, ROLE_COLHEAD, " ");
    line_col(out, ROLE_COLHEAD, "SELF%", W_PCT, true);
    line_add(out, ROLE_COLHEAD, " ");
    line_col(out, ROLE_COLHEAD, "INCL.", W_INCL, true);
    line_add(out, ROLE_COLHEAD, " ");
    /* an address column holds "4011a3:", one more than its digits */
    line_col(out, ROLE_COLHEAD, v->kind == ANNOT_SOURCE ? "LINE" : "ADDRESS",
             key_width(v) + (v->kind == ANNOT_ASM), true);
    line_add(out, ROLE_COLHEAD, v->kind == ANNOT_SOURCE ? "  SOURCE" : " INSTRUCTION");
    line_cut(out, width);
    line_pad(out, width);
}

/* The three count columns; blank for zero so hot rows stand out. */
static void counts(const struct annot_view *v, const struct annot_row *r, struct ui_line *out)
{
    char buf[32];
    enum ui_role role = r->hot ? ROLE_BAR_HIGH : r->self ? ROLE_BAR_MID : ROLE_NORMAL;
    if (r->self)
        snprintf(buf, sizeof buf, "%" PRIu64, r->self);
    else
        buf[0] = '\0';
    line_col(out, role, buf, W_SAMPLES, true);
    line_add(out, ROLE_NORMAL, " ");
    if (r->self && v->self_total)
        snprintf(buf, sizeof buf, "%.1f%%", 100.0 * (double)r->self / (double)v->self_total);
    else
        buf[0] = '\0';
    line_col(out, role, buf, W_PCT, true);
    line_add(out, ROLE_NORMAL, " ");
    if (r->incl)
        snprintf(buf, sizeof buf, "%" PRIu64, r->incl);
    else
        buf[0] = '\0';
    line_col(out, r->hot && !r->self ? ROLE_BAR_HIGH : ROLE_VALUE, buf, W_INCL, true);
    line_add(out, ROLE_NORMAL, " ");
}

static void message_row(const char *msg, enum ui_role role, int width, struct ui_line *out)
{
    line_init(out, ROLE_NORMAL);
    line_add(out, role, "%s", msg);
    line_cut(out, width);
}

void pane_annot_row(const struct annot_view *v, size_t i, int width, struct ui_line *out)
{
    if (v->error[0]) {
        const char *adv = advice(v);
        char first[sizeof v->error];
        size_t n = adv ? (size_t)(adv - 1 - v->error) : strlen(v->error);
        snprintf(first, sizeof first, "%.*s", (int)n, v->error);
        message_row(i == 0 ? first : i == 1 && adv ? adv : "", ROLE_WARN, width, out);
        return;
    }
    const char *msg = v->nrows == 0                  ? "(nothing to show)"
                      : i < note_rows(v)             ? v->note
                      : i - note_rows(v) >= v->nrows ? ""
                                                     : NULL;
    if (msg) {
        message_row(msg, ROLE_LABEL, width, out);
        return;
    }
    i -= note_rows(v);
    const struct annot_row *r = &v->rows[i];
    int kw = key_width(v);
    char key[32];
    line_init(out, ROLE_NORMAL);
    switch (r->kind) {
    case ANNOT_ROW_SOURCE:
        counts(v, r, out);
        snprintf(key, sizeof key, "%d", r->line);
        line_col(out, r->self || r->incl ? ROLE_LABEL : ROLE_DIM, key, kw, true);
        line_add(out, ROLE_NORMAL, "  ");
        line_add(out, r->hot ? ROLE_BAR_HIGH : ROLE_NORMAL, "%s", r->text);
        break;
    case ANNOT_ROW_INSN:
        counts(v, r, out);
        snprintf(key, sizeof key, "%" PRIx64 ":", r->addr);
        line_col(out, ROLE_DIM, key, kw + 1, true);
        line_add(out, ROLE_NORMAL, " ");
        line_add(out, r->hot ? ROLE_BAR_HIGH : ROLE_NORMAL, "%s", r->text);
        break;
    case ANNOT_ROW_LABEL:
        line_pad(out, W_SAMPLES + W_PCT + W_INCL + 3 + 2);
        line_add(out, ROLE_KEY, "%s", r->text);
        break;
    default: /* ANNOT_ROW_COMMENT */
        line_pad(out, W_SAMPLES + W_PCT + W_INCL + 3 + kw + 3);
        line_add(out, ROLE_DIM, "; %s", r->text);
        break;
    }
    line_cut(out, width);
}

/* The hot row after (step 1) or before (step nrows - 1) from, wrapping. */
static size_t step_hot(const struct annot_view *v, size_t from, size_t step)
{
    if (v->error[0] || v->hottest == SIZE_MAX)
        return SIZE_MAX;
    size_t off = note_rows(v);
    if (from == SIZE_MAX || from < off)
        return v->hottest + off;
    size_t i = from - off;
    for (size_t k = 0; k < v->nrows; k++) {
        i = (i + step) % v->nrows;
        if (v->rows[i].hot)
            return i + off;
    }
    return v->hottest + off;
}

size_t pane_annot_next_hot(const struct annot_view *v, size_t from)
{
    return step_hot(v, from, 1);
}

size_t pane_annot_prev_hot(const struct annot_view *v, size_t from)
{
    return v->nrows ? step_hot(v, from, v->nrows - 1) : step_hot(v, from, 0);
}
