/*
 * header.c - see header.h.  With fewer lines the same items are packed
 * tighter; the command line always comes last, so it is what gets cut.
 */
#include "ui/header.h"

#include <stdio.h>
#include <string.h>

#include "ui/graph.h"

static const char *sort_names_hot[HC_COUNT] = {"self%",    "total%",    "self time",
                                               "function", "file:line", "module"};
static const char *sort_names_thr[TC_COUNT] = {"tid",  "name",    "state",
                                               "cpu%", "samples", "function"};

static void line_title(const struct live_frame *f, const struct ui_state *st, struct ui_line *l)
{
    char el[32];
    fmt_secs(el, sizeof el, f->run.elapsed_s);
    line_init(l, ROLE_NORMAL);
    line_add(l, ROLE_LABEL, "PID ");
    line_add(l, ROLE_VALUE, "%d", (int)f->run.pid);
    line_add(l, ROLE_LABEL, "  %s", f->run.idle ? "with idle" : "on-CPU");
    line_add(l, ROLE_LABEL, "  elapsed ");
    line_add(l, ROLE_VALUE, "%s", el);
    if (st->paused)
        line_add(l, ROLE_WARN, "  PAUSED");
    if (f->run.exited)
        line_add(l, ROLE_WARN, "  process exited");
    line_add(l, ROLE_NORMAL, "  %s", f->run.cmdline);
}

static enum ui_role load_role(double frac)
{
    return frac < 0.5 ? ROLE_BAR_LOW : frac < 0.8 ? ROLE_BAR_MID : ROLE_BAR_HIGH;
}

static void cpu_bar(const struct live_frame *f, int bw, const struct header_opts *o,
                    struct ui_line *l)
{
    double pct = f->have_ps ? f->ps.cpu_pct : 0.0;
    double frac = pct / (100.0 * (o->ncpu > 0 ? o->ncpu : 1));
    int fill = (int)(frac * bw + 0.5);
    fill = fill < 0 ? 0 : fill > bw ? bw : fill;
    char bar[UI_COLS_MAX + 1];
    memset(bar, '|', (size_t)fill);
    bar[fill] = '\0';
    line_add(l, ROLE_LABEL, "CPU[");
    line_add(l, load_role(frac), "%s", bar);
    line_add(l, ROLE_NORMAL, "%*s", bw - fill, "");
    line_add(l, ROLE_LABEL, "] ");
    if (f->have_ps && f->ps.alive)
        line_add(l, ROLE_VALUE, "%5.1f%%", pct);
    else
        line_add(l, ROLE_DIM, "    -%%");
}

static void rss_graph(const struct live_frame *f, int bw, const struct header_opts *o,
                      struct ui_line *l)
{
    char b[32] = "-";
    line_add(l, ROLE_LABEL, "RSS[");
    if (f->have_ps && f->ps.mem.valid) {
        size_t want = o->interval_s > 0 ? (size_t)(60.0 / o->interval_s + 0.5) : 60;
        size_t nh = f->ps.nhistory < want ? f->ps.nhistory : want;
        graph_draw(f->ps.rss_history_kib + f->ps.nhistory - nh, nh, 0, bw, 1, o->utf8, ROLE_GRAPH,
                   l);
        fmt_kib(b, sizeof b, f->ps.mem.rss_kib);
    } else {
        line_add(l, ROLE_NORMAL, "%*s", bw, "");
    }
    line_add(l, ROLE_LABEL, "] ");
    line_add(l, ROLE_VALUE, "%6s", b);
}

/* The engine that takes the samples, next to the rate it holds: its name
 * only (the line is shared with Python's counts); a warning when it is not
 * the one asked for, as the note was written before the screen drew. */
static void engine_item(const struct live_frame *f, struct ui_line *l)
{
    if (!f->run.engine || !f->run.engine[0])
        return;
    line_add(l, ROLE_LABEL, " (");
    line_add(l, f->run.engine_note[0] ? ROLE_WARN : ROLE_VALUE, "%s", f->run.engine);
    line_add(l, ROLE_LABEL, ")");
}

static void counts(const struct live_frame *f, struct ui_line *l, bool rate)
{
    if (f->run.processes) {
        line_add(l, ROLE_LABEL, "  processes ");
        line_add(l, ROLE_VALUE, "%u", f->run.processes);
    }
    line_add(l, ROLE_LABEL, "  threads ");
    line_add(l, ROLE_VALUE, "%u",
             f->have_ps && f->ps.nthreads ? f->ps.nthreads : f->run.threads_now);
    if (rate) {
        line_add(l, ROLE_LABEL, "  rate ");
        line_add(l, ROLE_VALUE, "%u", f->run.rate_asked);
        line_add(l, ROLE_LABEL, "/");
        line_add(l, ROLE_VALUE, "%.0f", f->run.rate_achieved);
        line_add(l, ROLE_LABEL, " Hz");
        engine_item(f, l);
    }
    line_add(l, ROLE_LABEL, "  samples ");
    line_add(l, ROLE_VALUE, "%llu", (unsigned long long)f->run.samples);
    line_add(l, ROLE_LABEL, "  lost ");
    line_add(l, f->run.lost ? ROLE_WARN : ROLE_VALUE, "%llu", (unsigned long long)f->run.lost);
}

/* One line's end: the CPython found and its counts, or why its frames
 * are missing. */
static void python_state(const struct live_frame *f, struct ui_line *l)
{
    if (f->run.py_note[0]) {
        line_add(l, ROLE_LABEL, "  python ");
        line_add(l, ROLE_WARN, "%s", f->run.py_note);
        return;
    }
    if (!f->run.python[0])
        return;
    line_add(l, ROLE_LABEL, "  ");
    line_add(l, ROLE_VALUE, "%s", f->run.python);
    line_add(l, ROLE_LABEL, " py ");
    line_add(l, ROLE_VALUE, "%llu", (unsigned long long)f->run.py_samples);
    if (!f->run.nonblocking) {
        line_add(l, ROLE_LABEL, " unmerged ");
        line_add(l, f->run.py_unmerged ? ROLE_WARN : ROLE_VALUE, "%llu",
                 (unsigned long long)f->run.py_unmerged);
    }
    line_add(l, ROLE_LABEL, f->run.nonblocking ? " torn (dropped) " : " torn ");
    /* --nonblocking drops a torn walk: its count is of walks, not samples */
    uint64_t torn = f->run.nonblocking ? f->run.nb_torn : f->run.py_torn;
    line_add(l, torn ? ROLE_WARN : ROLE_VALUE, "%llu", (unsigned long long)torn);
    if (f->run.pyview != RUN_PYVIEW_NONE) {
        line_add(l, ROLE_LABEL, "  frames ");
        line_add(l, ROLE_VALUE, "%s",
                 f->run.pyview == RUN_PYVIEW_FIRST ? "python-first" : "all native");
    }
}

static void line_view(const struct ui_state *st, struct ui_line *l)
{
    line_init(l, ROLE_NORMAL);
    line_add(l, ROLE_LABEL, "view ");
    line_add(l, ROLE_VALUE, "%s", st->recent ? "recent 5s" : "cumulative");
    line_add(l, ROLE_LABEL, "  thread ");
    if (st->tid)
        line_add(l, ROLE_WARN, "%s (%d)", st->tid_name, (int)st->tid);
    else
        line_add(l, ROLE_VALUE, "all");
    bool thr = st->focus == PANE_THREADS;
    line_add(l, ROLE_LABEL, "  sort ");
    line_add(l, ROLE_VALUE, "%s %s",
             thr ? sort_names_thr[st->thr_sort] : sort_names_hot[st->hot_sort],
             (thr ? st->thr_asc : st->hot_asc) ? "asc" : "desc");
    if (st->filter[0] || st->filtering) {
        line_add(l, ROLE_LABEL, "  filter ");
        line_add(l, ROLE_WARN, "%s%s", st->filter, st->filtering ? "_" : "");
    }
}

/* The drill-down view on screen and the zoom every view is narrowed by. */
static void line_drill(const struct live_frame *f, const struct ui_state *st, struct ui_line *l)
{
    /* the zoom first: on a narrow terminal it is what must not be cut */
    if (f->zoom_desc[0] && f->seq) {
        line_add(l, ROLE_LABEL, "  zoom ");
        line_add(l, ROLE_WARN, "%s", f->zoom_desc);
    }
    if (st->nviews) {
        line_add(l, ROLE_LABEL, "  in ");
        line_add(l, ROLE_VALUE, "%s", st->views[st->nviews - 1].name);
    }
}

/* The verdict's first finding, always in sight: the bottleneck named. */
static void line_verdict(const struct live_frame *f, struct ui_line *l)
{
    line_init(l, ROLE_NORMAL);
    if (f->run.child_note[0]) { /* the verdict of a process that only waits: beside the point */
        line_add(l, ROLE_LABEL, "note ");
        line_add(l, ROLE_WARN, "%s", f->run.child_note);
        return;
    }
    line_add(l, ROLE_LABEL, "verdict ");
    if (!f->run.nverdict) {
        line_add(l, ROLE_DIM, "%s", f->run.exited ? "-" : "reading the threads...");
        return;
    }
    /* the count first: a narrow screen cuts the line's end */
    if (f->run.nverdict > 1)
        line_add(l, ROLE_LABEL, "(1 of %u, S writes all) ", f->run.nverdict);
    line_add(l, ROLE_WARN, "%s", f->run.verdict[0]);
}

void header_lines(const struct live_frame *f, const struct ui_state *st, int width, int n,
                  const struct header_opts *o, struct ui_line *out)
{
    if (n <= 0)
        return;
    line_title(f, st, &out[0]);
    int bw = width >= 100 ? 30 : width >= 70 ? 20 : 10;
    if (n >= 4) {
        line_init(&out[1], ROLE_NORMAL);
        cpu_bar(f, bw, o, &out[1]);
        counts(f, &out[1], false);
        line_init(&out[2], ROLE_NORMAL);
        rss_graph(f, bw, o, &out[2]);
        line_add(&out[2], ROLE_LABEL, "  rate ");
        line_add(&out[2], ROLE_VALUE, "%u", f->run.rate_asked);
        line_add(&out[2], ROLE_LABEL, " Hz asked, ");
        line_add(&out[2], ROLE_VALUE, "%.1f", f->run.rate_achieved);
        line_add(&out[2], ROLE_LABEL, " achieved");
        engine_item(f, &out[2]);
        python_state(f, &out[2]);
        line_view(st, &out[3]);
        line_drill(f, st, &out[3]);
        if (n >= 5)
            line_verdict(f, &out[4]);
    } else if (n >= 2) { /* a small screen: the counts on one line, then the verdict */
        line_init(&out[1], ROLE_NORMAL);
        cpu_bar(f, 10, o, &out[1]);
        counts(f, &out[1], true);
        if (n == 3)
            line_verdict(f, &out[2]);
    }
    for (int i = 0; i < n && i < HEADER_LINES_MAX; i++)
        line_cut(&out[i], width);
}
