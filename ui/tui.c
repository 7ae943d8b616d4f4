/*
 * tui.c - see tui.h.
 */
#include "ui/tui.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ui/header.h"
#include "ui/help.h"
#include "ui/keys.h"
#include "ui/layout.h"
#include "src/session/live.h"
#include "src/model/liveview.h"
#include "ui/pane_hot.h"
#include "ui/pane_memio.h"
#include "ui/pane_threads.h"
#include "ui/screen.h"
#include "src/session/session.h"
#include "ui/textshot.h"
#include "ui/views.h"

#define PANE_LINES_MAX 4096 /* lines a memory or I/O pane may produce */

struct tui {
    struct session *s;
    const struct cli_opts *o;
    struct screen *scr;
    struct live *live;
    struct live_frame *frame;
    struct ui_state st;
    struct ui_key_ctx ctx;
    struct ui_layout lay;
    struct header_opts hdr;
    size_t *hot_idx, *thr_idx; /* display order, sized for the frame */
    size_t nhot, nthr;
    struct ui_line *lines; /* scratch for the memory and I/O panes */
    unsigned seq;          /* of the latest request */
    struct live_req req;   /* the latest request (big: kept here, not on the stack) */
    bool quit;
    enum tui_result result;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ drawing */

static int order_frame(struct tui *t)
{
    size_t *h = realloc(t->hot_idx, (t->frame->nhot + 1) * sizeof *h);
    if (h)
        t->hot_idx = h;
    size_t *r = realloc(t->thr_idx, (t->frame->nthr + 1) * sizeof *r);
    if (r)
        t->thr_idx = r;
    if (!h || !r)
        return -ENOMEM;
    t->nhot = pane_hot_order(t->frame, &t->st, t->hot_idx);
    t->nthr = pane_threads_order(t->frame, &t->st, t->thr_idx);
    return 0;
}

/* ------------------------------------------------------------ drill-down views */

/* The frame answers the view on screen (not a request made before). */
static bool view_ready(const struct tui *t)
{
    return t->frame->view == ui_view(&t->st) && t->frame->seq == t->seq;
}

/* Rows of the view area below the header: title, column header, rows. */
static int view_area(const struct tui *t, int *y0)
{
    int lines, cols;
    screen_size(t->scr, &lines, &cols);
    *y0 = t->lay.header.h;
    int h = lines - t->lay.header.h - t->lay.status.h;
    return h > 0 ? h : 0;
}

static void ctx_view(struct tui *t)
{
    struct ui_key_ctx *c = &t->ctx;
    int y0, h = view_area(t, &y0);
    c->view_page = h > 2 ? h - 2 : 1;
    if (!view_ready(t))
        return;
    const struct ui_view_ops *ops = ui_view_ops_of(t->frame->view);
    c->view_rows = ops->rows(t->frame);
    struct ui_pos *p = &t->st.views[t->st.nviews - 1].pos;
    if (p->sel >= c->view_rows)
        p->sel = c->view_rows ? c->view_rows - 1 : 0;
    if (p->sel < p->top)
        p->top = p->sel;
    if (p->sel >= p->top + (size_t)c->view_page)
        p->top = p->sel - (size_t)c->view_page + 1;
    if (c->view_rows)
        ops->cursor(t->frame, p->sel, c);
}

static void draw_view_rows(struct tui *t, int y, int h, int cols)
{
    const struct ui_view_ops *ops = ui_view_ops_of(t->frame->view);
    const struct ui_pos *p = &t->st.views[t->st.nviews - 1].pos;
    struct ui_line l;
    for (int i = 0; i < h && p->top + (size_t)i < t->ctx.view_rows; i++) {
        size_t k = p->top + (size_t)i;
        ops->row(t->frame, k, cols, &l);
        screen_line(t->scr, y + i, 0, cols, &l, k == p->sel);
    }
}

static void draw_view(struct tui *t, int cols)
{
    int y0, h = view_area(t, &y0);
    if (h < 3)
        return;
    const struct live_frame *f = t->frame;
    struct ui_line l;
    char crumbs[512];
    ui_crumbs(&t->st, crumbs, sizeof crumbs);
    line_init(&l, ROLE_DIM);
    if (!view_ready(t)) {
        line_add(&l, ROLE_DIM, " %s > %s: building...", crumbs, t->st.views[t->st.nviews - 1].name);
        screen_line(t->scr, y0, 0, cols, &l, false);
        return;
    }
    if (f->view_err[0]) {
        line_add(&l, ROLE_WARN, " %s", f->view_err);
        screen_line(t->scr, y0, 0, cols, &l, false);
        return;
    }
    const struct ui_view_ops *ops = ui_view_ops_of(f->view);
    ops->title(f, crumbs, cols, &l);
    screen_line(t->scr, y0, 0, cols, &l, false);
    ops->header(f, cols, &l);
    screen_line(t->scr, y0 + 1, 0, cols, &l, false);
    draw_view_rows(t, y0 + 2, h - 2, cols);
}

/* D: the findings, and the row in the profile of the selected one's
 * function (by name: the verdict names functions as the hot rows do). */
static void ctx_diag(struct tui *t)
{
    const struct run_info *run = &t->frame->run;
    t->ctx.diag_rows = run->nverdict;
    if (t->st.diag_sel >= run->nverdict)
        t->st.diag_sel = run->nverdict ? run->nverdict - 1 : 0;
    const char *want = t->st.diag_sel < run->nverdict ? run->verdict_func[t->st.diag_sel] : "";
    for (size_t i = 0; want[0] && i < t->frame->nhot; i++)
        if (t->frame->hot[i].name && !strcmp(t->frame->hot[i].name, want)) {
            t->ctx.diag_func = t->frame->hot[i].func;
            t->ctx.diag_func_name = t->frame->hot[i].name;
            return;
        }
}

/* What the key machine needs to know of the screen as drawn. */
static void update_ctx(struct tui *t, size_t mem_lines, size_t io_lines)
{
    ui_ctx_init(&t->ctx);
    t->ctx.rows[PANE_HOT] = t->nhot;
    t->ctx.rows[PANE_THREADS] = t->nthr;
    t->ctx.rows[PANE_MEM] = mem_lines;
    t->ctx.rows[PANE_IO] = io_lines;
    for (int i = 0; i < PANE_COUNT; i++)
        t->ctx.page[i] = t->lay.pane[i].h > 1 ? t->lay.pane[i].h - 1 : 0;
    ui_clamp(&t->st, &t->ctx);
    size_t sel = t->st.pos[PANE_THREADS].sel;
    if (sel < t->nthr) {
        const struct lv_thread_row *r = &t->frame->thr[t->thr_idx[sel]];
        t->ctx.cursor_tid = r->tid;
        t->ctx.cursor_name = r->name;
        if (t->st.focus == PANE_THREADS && r->func_id != UINT32_MAX) {
            /* Enter on a thread opens the function it is in now */
            t->ctx.cursor_func = r->func_id;
            t->ctx.cursor_func_name = r->func;
        }
    }
    size_t hs = t->st.pos[PANE_HOT].sel;
    if (t->st.focus == PANE_HOT && hs < t->nhot) {
        const struct lv_hot_row *h = &t->frame->hot[t->hot_idx[hs]];
        t->ctx.cursor_func = h->func;
        t->ctx.cursor_func_name = h->name;
        t->ctx.cursor_module = h->module;
    }
    if (t->st.nviews)
        ctx_view(t);
    if (t->st.diag)
        ctx_diag(t);
}

static void draw_empty(struct tui *t, const struct ui_rect *r, const char *why)
{
    struct ui_line l;
    line_init(&l, ROLE_DIM);
    line_add(&l, ROLE_DIM, " %s", why);
    screen_line(t->scr, r->y + 1, r->x, r->w, &l, false);
}

static void draw_hot(struct tui *t, const struct ui_rect *r)
{
    struct ui_line l;
    pane_hot_header_vs(&t->st, t->frame->have_baseline, r->w, &l);
    screen_line(t->scr, r->y, r->x, r->w, &l, false);
    const struct ui_pos *p = &t->st.pos[PANE_HOT];
    for (int i = 0; i < r->h - 1 && p->top + (size_t)i < t->nhot; i++) {
        size_t k = p->top + (size_t)i;
        pane_hot_row_vs(&t->frame->hot[t->hot_idx[k]], t->frame->have_baseline, r->w, &l);
        screen_line(t->scr, r->y + 1 + i, r->x, r->w, &l, k == p->sel && t->st.focus == PANE_HOT);
    }
    if (!t->nhot)
        draw_empty(t, r,
                   t->st.filter[0]         ? "no function matches the filter"
                   : t->frame->run.samples ? "no samples in this window (w: cumulative)"
                                           : "no samples yet");
}

static void draw_threads(struct tui *t, const struct ui_rect *r)
{
    struct ui_line l;
    bool pids = pane_threads_has_pids(t->frame);
    pane_threads_header(&t->st, r->w, pids, &l);
    screen_line(t->scr, r->y, r->x, r->w, &l, false);
    const struct ui_pos *p = &t->st.pos[PANE_THREADS];
    for (int i = 0; i < r->h - 1 && p->top + (size_t)i < t->nthr; i++) {
        size_t k = p->top + (size_t)i;
        pane_threads_row(&t->frame->thr[t->thr_idx[k]], t->frame->run.pid, r->w, pids, &l);
        screen_line(t->scr, r->y + 1 + i, r->x, r->w, &l,
                    k == p->sel && t->st.focus == PANE_THREADS);
    }
    if (!t->nthr)
        draw_empty(t, r, "no threads seen yet");
}

/* The title line stays; the rest scrolls by the pane's offset. */
static size_t draw_lines(struct tui *t, enum ui_pane pane, const struct ui_rect *r, size_t n)
{
    if (!n)
        return 0;
    struct ui_line *title = &t->lines[0];
    if (t->st.focus == pane)
        title->role = ROLE_SORTCOL;
    screen_line(t->scr, r->y, r->x, r->w, title, false);
    size_t top = t->st.pos[pane].top;
    for (int i = 0; i < r->h - 1 && 1 + top + (size_t)i < n; i++)
        screen_line(t->scr, r->y + 1 + i, r->x, r->w, &t->lines[1 + top + (size_t)i], false);
    return n - 1;
}

static void draw_panes(struct tui *t, size_t *mem_n, size_t *io_n)
{
    const struct ui_rect *p = t->lay.pane;
    if (p[PANE_HOT].h)
        draw_hot(t, &p[PANE_HOT]);
    if (p[PANE_THREADS].h)
        draw_threads(t, &p[PANE_THREADS]);
    if (p[PANE_MEM].h)
        *mem_n = draw_lines(t, PANE_MEM, &p[PANE_MEM],
                            pane_mem_lines(t->frame, p[PANE_MEM].w, p[PANE_MEM].h, t->hdr.utf8,
                                           t->o->interval_s, t->lines, PANE_LINES_MAX));
    if (p[PANE_IO].h) {
        *io_n = draw_lines(t, PANE_IO, &p[PANE_IO],
                           pane_io_lines(t->frame, &t->st, p[PANE_IO].w, t->lines, PANE_LINES_MAX));
        if (p[PANE_MEM].h && p[PANE_IO].x > 0)
            screen_vline(t->scr, p[PANE_IO].y, p[PANE_IO].x - 1, p[PANE_IO].h, t->hdr.utf8);
    }
}

static void draw_help(struct tui *t, int lines, int cols)
{
    int y0 = t->lay.header.h, n = lines - y0 - t->lay.status.h;
    size_t k = t->st.diag
                   ? diag_lines(&t->frame->run, t->st.diag_sel, cols, t->lines, PANE_LINES_MAX)
                   : help_lines(cols, t->lines, PANE_LINES_MAX);
    for (int i = 0; i < n && (size_t)i < k; i++)
        screen_line(t->scr, y0 + i, 0, cols, &t->lines[i], false);
}

/* The key context for the state as it is now, without drawing. */
static void refresh_ctx(struct tui *t)
{
    int lines, cols;
    screen_size(t->scr, &lines, &cols);
    if (cols > UI_COLS_MAX)
        cols = UI_COLS_MAX;
    layout_compute(lines, cols, t->st.layout, t->st.focus, &t->lay);
    order_frame(t);
    update_ctx(t, t->ctx.rows[PANE_MEM], t->ctx.rows[PANE_IO]);
}

static void draw(struct tui *t)
{
    int lines, cols;
    refresh_ctx(t);
    screen_size(t->scr, &lines, &cols);
    if (cols > UI_COLS_MAX)
        cols = UI_COLS_MAX;
    screen_begin(t->scr);
    struct ui_line hl[HEADER_LINES_MAX];
    header_lines(t->frame, &t->st, cols, t->lay.header.h, &t->hdr, hl);
    for (int i = 0; i < t->lay.header.h; i++)
        screen_line(t->scr, i, 0, cols, &hl[i], false);
    size_t mem_n = 0, io_n = 0;
    if (t->st.help || t->st.diag)
        draw_help(t, lines, cols);
    else if (t->st.nviews)
        draw_view(t, cols);
    else
        draw_panes(t, &mem_n, &io_n);
    if (t->lay.status.h) {
        struct ui_line sl;
        help_status_line(&t->st, cols, &sl);
        screen_line(t->scr, t->lay.status.y, 0, cols, &sl, false);
    }
    screen_end(t->scr);
    update_ctx(t, mem_n, io_n);
}

/* ------------------------------------------------------------ actions */

static const unsigned rate_steps[] = {1, 5, 10, 25, 49, 99, 199, 499, 999, 1999, 4999, 9999};
#define NSTEPS (sizeof rate_steps / sizeof rate_steps[0])

static unsigned next_rate(unsigned cur, bool up)
{
    if (up) {
        for (size_t i = 0; i < NSTEPS; i++)
            if (rate_steps[i] > cur)
                return rate_steps[i];
        return RATE_MAX;
    }
    for (size_t i = NSTEPS; i-- > 0;)
        if (rate_steps[i] < cur)
            return rate_steps[i];
    return RATE_MIN;
}

static void snapshot(struct tui *t)
{
    struct textshot_opts so = {.width = t->lay.status.w > 80 ? t->lay.status.w : 100,
                               .max_rows = t->o->rows,
                               .hdr = t->hdr};
    for (int i = 0; i < PANE_COUNT; i++)
        so.shown[i] = t->lay.pane[i].h > 0;
    char crumbs[512];
    ui_crumbs(&t->st, crumbs, sizeof crumbs);
    so.crumbs = crumbs;
    if (t->st.nviews && !view_ready(t)) {
        snprintf(t->st.msg, sizeof t->st.msg, "the view is still being built: try again");
        return;
    }
    char path[4096];
    /* back on the panes, a frame made for a view still has the panes' rows:
     * the snapshot is of what is on screen */
    enum live_view shown = t->frame->view;
    if (!t->st.nviews)
        t->frame->view = LIVE_MAIN;
    int rc = textshot_save(t->o->snapshot_dir, t->frame, &t->st, &so, path, sizeof path);
    t->frame->view = shown;
    if (rc == 0)
        snprintf(t->st.msg, sizeof t->st.msg, "snapshot written to %.480s", path);
    else
        snprintf(t->st.msg, sizeof t->st.msg, "cannot write the snapshot in %s: %s",
                 t->o->snapshot_dir ? t->o->snapshot_dir : ".", strerror(-rc));
}

static void fill_request(struct tui *t)
{
    struct live_req *req = &t->req;
    memset(req, 0, sizeof *req);
    req->recent = t->st.recent;
    req->tid = t->st.tid;
    req->seq = ++t->seq;
    struct lv_view_req *v = &req->v;
    v->view = ui_view(&t->st);
    v->func = t->st.nviews ? t->st.views[t->st.nviews - 1].func : UI_NO_FUNC;
    v->zoom = t->st.zoom;
    v->zoom.tid = t->st.tid;
    v->expand = t->st.expand[ui_view_ops_of(v->view)->expand_slot];
    v->hot_expand = t->st.hot_expand;
    v->hot_from = t->st.hot_from;
    t->st.hot_expand = false; /* once: the frame brings the rows it opened */
}

static void request(struct tui *t)
{
    fill_request(t);
    live_request(t->live, &t->req);
}

/* --view tree|inverted, --thread and --module: where the screen starts.
 * A view about a function needs one picked on screen (src/cli.c asks for
 * --batch with those). */
static void start_state(struct tui *t)
{
    ui_ctx_init(&t->ctx);
    const struct ui_view_ops *ops = ui_view_ops_cli(t->o->view);
    if (ops->open_key && !ops->about_func)
        ui_key(&t->st, ops->open_key, &t->ctx);
    t->st.tid = t->o->zoom_tid;
    if (t->st.tid)
        snprintf(t->st.tid_name, sizeof t->st.tid_name, "tid %d", (int)t->st.tid);
    if (t->o->zoom_module)
        snprintf(t->st.zoom.module, sizeof t->st.zoom.module, "%s", t->o->zoom_module);
}

/* 'S': the profile in --format (text when none) next to the snapshots. */
static void save_profile(struct tui *t)
{
    char base[4096], path[4200];
    textshot_name(base, sizeof base, t->o->snapshot_dir, (int)session_pid(t->s), time(NULL));
    size_t stem = strlen(base) - 4; /* without ".txt" */
    const char *ext = cli_format_ext(t->o->format);
    snprintf(path, sizeof path, "%.*s.%s", (int)stem, base, ext);
    for (int k = 2; access(path, F_OK) == 0 && k < 100; k++)
        snprintf(path, sizeof path, "%.*s-%d.%s", (int)stem, base, k, ext);
    live_save(t->live, path, t->o->format, t->o->threads);
    snprintf(t->st.msg, sizeof t->st.msg, "writing the profile (%s)...",
             cli_format_name(t->o->format));
}

/* Python-first views or every interpreter frame: the session keeps both. */
static void toggle_native_all(struct tui *t)
{
    if (!session_folds_python(t->s)) {
        snprintf(t->st.msg, sizeof t->st.msg,
                 "i: no Python frames yet - every native frame is shown already");
        return;
    }
    bool on = !session_native_all(t->s);
    session_set_native_all(t->s, on);
    snprintf(t->st.msg, sizeof t->st.msg, "%s",
             on ? "every native frame of the interpreter (i: Python-first)"
                : "Python-first: the interpreter's own frames count as the Python "
                  "function's self time (i: show them)");
}

static void act(struct tui *t, unsigned a)
{
    if (a & UA_QUIT) {
        t->quit = true;
        t->result = TUI_QUIT;
        return;
    }
    if (a & UA_ZERO) {
        live_zero(t->live);
        snprintf(t->st.msg, sizeof t->st.msg, "counts zeroed");
    }
    if (a & (UA_RATE_UP | UA_RATE_DOWN)) {
        unsigned r = next_rate(session_rate(t->s), (a & UA_RATE_UP) != 0);
        session_set_rate(t->s, r);
        snprintf(t->st.msg, sizeof t->st.msg, "sampling rate %u Hz", session_rate(t->s));
    }
    if (a & UA_NATIVE_ALL)
        toggle_native_all(t);
    if (a & UA_REFETCH)
        request(t);
    if (a & UA_SNAPSHOT)
        snapshot(t);
    if (a & UA_SAVE_PROFILE)
        save_profile(t);
}

/* In a drill-down view the wheel moves its cursor, a click picks a row. */
static void mouse_view(struct tui *t, const struct screen_mouse *m)
{
    struct ui_pos *p = &t->st.views[t->st.nviews - 1].pos;
    int y0, h = view_area(t, &y0);
    if (m->wheel) {
        for (int i = 0; i < 3; i++)
            ui_key(&t->st, m->wheel < 0 ? UI_KEY_UP : UI_KEY_DOWN, &t->ctx);
    } else if (m->click && m->y >= y0 + 2 && m->y < y0 + h) {
        size_t row = p->top + (size_t)(m->y - y0 - 2);
        if (row < t->ctx.view_rows)
            p->sel = row;
    }
}

static void mouse(struct tui *t, const struct screen_mouse *m)
{
    if (t->st.nviews && !t->st.help && !t->st.diag) {
        mouse_view(t, m);
        return;
    }
    int p = layout_pane_at(&t->lay, m->y, m->x);
    if (p < 0)
        return;
    const struct ui_rect *r = &t->lay.pane[p];
    if (m->wheel) {
        ui_wheel(&t->st, (enum ui_pane)p, m->wheel * 3, &t->ctx);
    } else if (m->click && m->y == r->y) {
        bool base = t->frame->have_baseline;
        int col = p == PANE_HOT ? pane_hot_col_at_vs(base, r->w, m->x - r->x)
                  : p == PANE_THREADS
                      ? pane_threads_col_at(r->w, pane_threads_has_pids(t->frame), m->x - r->x)
                      : -1;
        ui_click_header(&t->st, (enum ui_pane)p, col);
    } else if (m->click) {
        t->st.focus = (enum ui_pane)p;
        if (p == PANE_HOT || p == PANE_THREADS)
            t->st.pos[p].sel = t->st.pos[p].top + (size_t)(m->y - r->y - 1);
    }
}

/* Reads every waiting key; true when something changed. */
static bool keys(struct tui *t)
{
    bool any = false;
    struct screen_mouse m;
    for (int k; (k = screen_key(t->scr, &m)) != SCREEN_NO_KEY && !t->quit;) {
        any = true;
        if (k == SCREEN_MOUSE)
            mouse(t, &m);
        else if (k >= 0)
            act(t, ui_key(&t->st, k, &t->ctx));
        /* keys typed ahead ("Down Enter") act on the row the one before
         * moved to, not on what was drawn last */
        refresh_ctx(t);
    }
    return any;
}

/* A stop signal ends the screen; SIGWINCH resizes it.  One signal per
 * wake-up: the signalfd blocks, and poll says when another is there. */
static bool signals(struct tui *t, int sigfd)
{
    struct signalfd_siginfo si;
    if (read(sigfd, &si, sizeof si) != (ssize_t)sizeof si)
        return false;
    if (si.ssi_signo == SIGWINCH) {
        screen_resize(t->scr);
        return true;
    }
    t->quit = true;
    t->result = TUI_SIGNAL;
    return false;
}

static bool new_frame(struct tui *t)
{
    struct live_frame *f = live_take(t->live);
    if (!f)
        return false;
    /* paused: keep showing the old one, unless the user asked for this */
    if (t->st.paused && f->seq == t->frame->seq && !f->msg[0]) {
        live_frame_free(f);
        return false;
    }
    if (f->have_expand && f->seq == t->seq)
        t->st.expand[ui_view_ops_of(f->view)->expand_slot] = f->expand; /* what 'H' opened */
    if (f->msg[0])
        snprintf(t->st.msg, sizeof t->st.msg, "%s", f->msg);
    live_frame_free(t->frame);
    t->frame = f;
    return true;
}

static void loop(struct tui *t, int sigfd)
{
    double start = mono_s();
    draw(t);
    while (!t->quit) {
        struct pollfd p[3] = {
            {.fd = STDIN_FILENO, .events = POLLIN},
            {.fd = sigfd, .events = POLLIN},
            {.fd = live_fd(t->live), .events = POLLIN},
        };
        int ms = 1000;
        if (t->o->duration_s > 0) {
            double left = start + t->o->duration_s - mono_s();
            if (left <= 0) {
                t->result = TUI_DURATION;
                break;
            }
            ms = left < 1.0 ? (int)(left * 1000) + 1 : 1000;
        }
        if (poll(p, 3, ms) < 0 && errno != EINTR)
            break;
        bool redraw = false;
        if (p[1].revents & POLLIN)
            redraw |= signals(t, sigfd);
        if (p[2].revents & POLLIN)
            redraw |= new_frame(t);
        if (p[0].revents & (POLLIN | POLLHUP))
            redraw |= keys(t);
        if (redraw && !t->quit)
            draw(t);
    }
}

static struct live_frame *first_frame(struct session *s)
{
    struct live_frame *f = live_frame_new();
    if (f) {
        session_run_info(s, &f->run); /* the header before the first refresh */
        f->recent = true;
    }
    return f;
}

static bool want_color(const struct cli_opts *o)
{
    const char *nc = getenv("NO_COLOR");
    return !o->no_color && !(nc && nc[0]);
}

enum tui_result tui_run(struct session *s, const struct cli_opts *o, int sigfd)
{
    struct tui t = {.s = s, .o = o};
    ui_state_init(&t.st);
    t.hdr.ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    t.hdr.interval_s = o->interval_s;
    t.frame = first_frame(s);
    t.lines = malloc(PANE_LINES_MAX * sizeof *t.lines);
    start_state(&t);
    fill_request(&t);
    t.live = t.frame && t.lines ? live_start(s, o->interval_s, &t.req) : NULL;
    t.scr = t.live ? screen_open(want_color(o)) : NULL;
    if (t.scr) {
        t.hdr.utf8 = screen_utf8(t.scr);
        loop(&t, sigfd);
        screen_close(t.scr);
    } else {
        t.result = TUI_NO_TERMINAL;
    }
    live_stop(t.live);
    live_frame_free(t.frame);
    free(t.lines);
    free(t.hot_idx);
    free(t.thr_idx);
    return t.result;
}
