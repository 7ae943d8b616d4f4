/*
 * diff.c - two profiles compared per function (see diff.h).
 */
#include "src/profile/diff.h"
#include "src/export/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double pct(uint64_t n, uint64_t total)
{
    return total ? 100.0 * (double)n / (double)total : 0.0;
}

double diff_self_change(const struct diff_row *r)
{
    return r->self_after - r->self_before;
}

double diff_total_change(const struct diff_row *r)
{
    return r->total_after - r->total_before;
}

static int row_cmp(const void *a, const void *b)
{
    const struct diff_row *x = a, *y = b;
    double dx = fabs(diff_self_change(x)), dy = fabs(diff_self_change(y));
    if (dx != dy)
        return dx > dy ? -1 : 1;
    dx = fabs(diff_total_change(x));
    dy = fabs(diff_total_change(y));
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void fill_side(struct diff_row *row, const struct prof_func *f, uint64_t total, bool after)
{
    if (after) {
        row->self_after = pct(f->self, total);
        row->total_after = pct(f->total, total);
        row->self_count_after = f->self;
    } else {
        row->self_before = pct(f->self, total);
        row->total_before = pct(f->total, total);
        row->self_count_before = f->self;
    }
}

int diff_profiles(const struct profile *before, const struct profile *after, struct diff_table *out)
{
    memset(out, 0, sizeof *out);
    uint64_t nb = profile_samples(before), na = profile_samples(after);
    if (nb == 0 || na == 0)
        return -EINVAL;
    size_t cap = profile_nfuncs(before) + profile_nfuncs(after);
    out->rows = calloc(cap ? cap : 1, sizeof *out->rows);
    if (!out->rows)
        return -ENOMEM;
    out->samples_before = nb;
    out->samples_after = na;
    /* every function of after, matched in before by name */
    for (uint32_t i = 0; i < profile_nfuncs(after); i++) {
        const struct prof_func *fa = profile_func(after, i);
        struct diff_row *row = &out->rows[out->n++];
        row->name = fa->name;
        fill_side(row, fa, na, true);
        int64_t j = profile_find(before, fa->name);
        row->status = j < 0 ? DIFF_APPEARED : DIFF_BOTH;
        if (j >= 0)
            fill_side(row, profile_func(before, (uint32_t)j), nb, false);
    }
    /* then what only before has */
    for (uint32_t i = 0; i < profile_nfuncs(before); i++) {
        const struct prof_func *fb = profile_func(before, i);
        if (profile_find(after, fb->name) >= 0)
            continue;
        struct diff_row *row = &out->rows[out->n++];
        row->name = fb->name;
        row->status = DIFF_VANISHED;
        fill_side(row, fb, nb, false);
    }
    qsort(out->rows, out->n, sizeof *out->rows, row_cmp);
    return 0;
}

void diff_table_free(struct diff_table *t)
{
    free(t->rows);
    memset(t, 0, sizeof *t);
}

static void side_line(FILE *f, const char *label, const char *file, const struct profile *p)
{
    const struct prof_meta *m = profile_meta(p);
    fprintf(f, "%-7s %s: %" PRIu64 " samples", label, file, profile_samples(p));
    if (m->duration_s > 0)
        fprintf(f, " in %.1f s", m->duration_s);
    if (m->have_cpu)
        fprintf(f, ", CPU %.1f%%", m->cpu_pct);
    if (m->command[0]) {
        fputs(" (", f);
        /* from a profile file anyone may write: control bytes and invalid
         * UTF-8 come out as U+FFFD, as in the other text outputs */
        report_put_text(f, m->command, MD_TEXT);
        fputc(')', f);
    }
    fputc('\n', f);
}

static const char *status_word(enum diff_status s)
{
    return s == DIFF_APPEARED ? "new" : s == DIFF_VANISHED ? "gone" : "";
}

int diff_write_text(FILE *f, const struct diff_table *t, const struct profile *before,
                    const struct profile *after, const char *before_name, const char *after_name,
                    size_t rows)
{
    side_line(f, "before", before_name, before);
    side_line(f, "after", after_name, after);
    size_t appeared = 0, vanished = 0;
    for (size_t i = 0; i < t->n; i++) {
        appeared += t->rows[i].status == DIFF_APPEARED;
        vanished += t->rows[i].status == DIFF_VANISHED;
    }
    fprintf(f,
            "functions: %zu, %zu new, %zu gone; %% of each profile's own samples, change in "
            "points (after - before)\n\n",
            t->n, appeared, vanished);
    fprintf(f, "%-26s   %-26s\n", "  --------- SELF% --------", "  -------- TOTAL% --------");
    fprintf(f, "%8s %8s %8s   %8s %8s %8s  %-4s  %s\n", "BEFORE", "AFTER", "CHANGE", "BEFORE",
            "AFTER", "CHANGE", "", "FUNCTION");
    size_t shown = rows && rows < t->n ? rows : t->n;
    for (size_t i = 0; i < shown; i++) {
        const struct diff_row *r = &t->rows[i];
        fprintf(f, "%8.1f %8.1f %+8.1f   %8.1f %8.1f %+8.1f  %-4s  ", r->self_before, r->self_after,
                diff_self_change(r), r->total_before, r->total_after, diff_total_change(r),
                status_word(r->status));
        report_put_text(f, r->name, MD_TEXT);
        fputc('\n', f);
    }
    if (shown < t->n)
        fprintf(f, "... %zu more functions (--rows 0 shows all)\n", t->n - shown);
    return ferror(f) ? -EIO : 0;
}

void diff_baseline_cell(const struct profile *baseline, const char *name, double self_pct,
                        char *buf, size_t bufsz)
{
    int64_t id = profile_find(baseline, name);
    if (id < 0) {
        snprintf(buf, bufsz, "new");
        return;
    }
    const struct prof_func *f = profile_func(baseline, (uint32_t)id);
    double change = self_pct - pct(f->self, profile_samples(baseline));
    if (fabs(change) < 0.05)
        snprintf(buf, bufsz, "0.0"); /* neither "+0.0" nor "-0.0" */
    else
        snprintf(buf, bufsz, "%+.1f", change);
}
