/*
 * keys.c - see keys.h.  The hot-functions and threads panes have a cursor;
 * the memory and I/O panes only scroll, so there a move scrolls.
 */
#include "ui/keys.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ui/views.h"

void ui_state_init(struct ui_state *st)
{
    memset(st, 0, sizeof *st);
    st->layout = 1;
    st->focus = PANE_HOT;
    st->hot_sort = HC_SELF;
    st->thr_sort = TC_CPU;
    st->recent = true; /* what is hot now, like top */
}

static bool has_cursor(enum ui_pane p)
{
    return p == PANE_HOT || p == PANE_THREADS;
}

static void keep_visible(struct ui_pos *p, size_t rows, int page, bool cursor)
{
    size_t pg = page > 0 ? (size_t)page : 1;
    if (!cursor) {
        /* scrolling only: sel is the scroll offset */
        size_t max = rows > pg ? rows - pg : 0;
        if (p->sel > max)
            p->sel = max;
        p->top = p->sel;
        return;
    }
    if (rows == 0)
        p->sel = 0;
    else if (p->sel >= rows)
        p->sel = rows - 1;
    if (p->sel < p->top)
        p->top = p->sel;
    if (p->sel >= p->top + pg)
        p->top = p->sel - pg + 1;
    if (rows > pg && p->top > rows - pg)
        p->top = rows - pg;
    if (rows <= pg)
        p->top = 0;
}

void ui_clamp(struct ui_state *st, const struct ui_key_ctx *ctx)
{
    for (int i = 0; i < PANE_COUNT; i++)
        keep_visible(&st->pos[i], ctx->rows[i], ctx->page[i], has_cursor((enum ui_pane)i));
}

/* Moves the cursor (or scroll) of pane by delta, clamped. */
static void move(struct ui_state *st, enum ui_pane pane, long delta, const struct ui_key_ctx *ctx)
{
    struct ui_pos *p = &st->pos[pane];
    if (delta < 0 && (size_t)-delta > p->sel)
        p->sel = 0;
    else
        p->sel = (size_t)((long)p->sel + delta);
    keep_visible(p, ctx->rows[pane], ctx->page[pane], has_cursor(pane));
}

static unsigned movement(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    enum ui_pane f = st->focus;
    long page = ctx->page[f] > 1 ? ctx->page[f] - 1 : 1;
    long big = (long)(ctx->rows[f] + 1);
    switch (key) {
    case UI_KEY_UP:
    case 'k':
        move(st, f, -1, ctx);
        break;
    case UI_KEY_DOWN:
    case 'j':
        move(st, f, 1, ctx);
        break;
    case UI_KEY_PGUP:
        move(st, f, -page, ctx);
        break;
    case UI_KEY_PGDN:
        move(st, f, page, ctx);
        break;
    case UI_KEY_HOME:
        move(st, f, -big, ctx);
        break;
    case UI_KEY_END:
        move(st, f, big, ctx);
        break;
    default:
        return UA_NONE;
    }
    return UA_REDRAW;
}

static unsigned cycle_focus(struct ui_state *st, int dir, const struct ui_key_ctx *ctx)
{
    for (int k = 1; k <= PANE_COUNT; k++) {
        int p = ((int)st->focus + dir * k + PANE_COUNT * 2) % PANE_COUNT;
        if (ctx->page[p] > 0) {
            st->focus = (enum ui_pane)p;
            break;
        }
    }
    return UA_REDRAW;
}

static unsigned set_layout(struct ui_state *st, int layout)
{
    static const enum ui_pane focus_of[] = {PANE_HOT, PANE_HOT, PANE_HOT, PANE_THREADS, PANE_MEM};
    st->layout = layout;
    if (layout != 1)
        st->focus = focus_of[layout];
    return UA_REDRAW;
}

/* Numbers sort biggest first, text from A. */
static bool text_col(enum ui_pane p, int col)
{
    if (p == PANE_THREADS)
        return col == TC_NAME || col == TC_FUNC || col == TC_TID || col == TC_STATE;
    return col == HC_FUNC || col == HC_FILE || col == HC_MODULE;
}

static unsigned set_sort(struct ui_state *st, enum ui_pane p, int col)
{
    if (p == PANE_THREADS) {
        st->thr_sort = (enum thr_col)col;
        st->thr_asc = text_col(p, col);
    } else {
        st->hot_sort = (enum hot_col)col;
        st->hot_asc = text_col(PANE_HOT, col);
    }
    return UA_REDRAW;
}

static unsigned step_sort(struct ui_state *st, int dir)
{
    if (st->focus == PANE_THREADS)
        return set_sort(st, PANE_THREADS, ((int)st->thr_sort + dir + TC_COUNT) % TC_COUNT);
    return set_sort(st, PANE_HOT, ((int)st->hot_sort + dir + HC_COUNT) % HC_COUNT);
}

static unsigned invert_sort(struct ui_state *st)
{
    if (st->focus == PANE_THREADS)
        st->thr_asc = !st->thr_asc;
    else
        st->hot_asc = !st->hot_asc;
    return UA_REDRAW;
}

static unsigned filter_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    size_t n = strlen(st->filter);
    if (key == UI_KEY_ESC) {
        st->filter[0] = '\0';
        st->filtering = false;
    } else if (key == UI_KEY_ENTER) {
        st->filtering = false;
    } else if (key == UI_KEY_BACKSPACE) {
        if (n)
            st->filter[n - 1] = '\0';
    } else if (key >= 0x20 && key < 0x7f) {
        if (n + 1 < sizeof st->filter) {
            st->filter[n] = (char)key;
            st->filter[n + 1] = '\0';
        }
    } else {
        return movement(st, key, ctx);
    }
    st->pos[PANE_HOT] = (struct ui_pos){0, 0}; /* the rows changed under the cursor */
    return UA_REDRAW;
}

static unsigned thread_key(struct ui_state *st, const struct ui_key_ctx *ctx)
{
    if (st->tid) {
        st->tid = 0;
        st->tid_name[0] = '\0';
    } else if (ctx->cursor_tid) {
        st->tid = ctx->cursor_tid;
        snprintf(st->tid_name, sizeof st->tid_name, "%s", ctx->cursor_name ? ctx->cursor_name : "");
    } else {
        snprintf(st->msg, sizeof st->msg, "no thread under the cursor of the threads pane");
        return UA_REDRAW;
    }
    st->pos[PANE_HOT] = (struct ui_pos){0, 0};
    st->pos[PANE_THREADS] = (struct ui_pos){0, 0};
    return UA_REDRAW | UA_REFETCH;
}

/* The drill-down keys (below) and the panes' keys call each other. */
static unsigned view_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx);
static bool zoomed(const struct ui_state *st);
static unsigned unzoom(struct ui_state *st);
static unsigned open_func_view(struct ui_state *st, enum live_view v, const struct ui_key_ctx *ctx);
static unsigned drill_common(struct ui_state *st, int key, const struct ui_key_ctx *ctx);

static unsigned command_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    switch (key) {
    case 'q':
    case 'Q':
    case UI_KEY_F10:
        return UA_QUIT;
    case 'h':
    case '?':
    case UI_KEY_F1:
        st->help = true;
        return UA_REDRAW;
    case 'D':
        st->diag = true;
        st->diag_sel = 0;
        return UA_REDRAW;
    case UI_KEY_TAB:
        return cycle_focus(st, 1, ctx);
    case UI_KEY_BTAB:
        return cycle_focus(st, -1, ctx);
    case '1':
    case '2':
    case '3':
    case '4':
        return set_layout(st, key - '0');
    case '<':
    case ',':
        return step_sort(st, -1);
    case '>':
    case '.':
        return step_sort(st, 1);
    case 'I':
        return invert_sort(st);
    case 'P':
        return set_sort(st, PANE_THREADS, TC_CPU);
    case 'M':
        /* threads share one address space: memory is the process's */
        return set_layout(st, 4);
    case '/':
        st->filtering = true;
        return UA_REDRAW;
    case UI_KEY_ESC:
        /* Esc at the top: the filter first, then the zoom */
        st->msg[0] = '\0';
        if (!st->filter[0] && zoomed(st))
            return unzoom(st);
        st->filter[0] = '\0';
        return UA_REDRAW;
    case 't':
        return thread_key(st, ctx);
    case 'w':
        st->recent = !st->recent;
        return UA_REDRAW | UA_REFETCH;
    case ' ':
    case 'p':
        st->paused = !st->paused;
        return UA_REDRAW | (st->paused ? 0 : UA_REFETCH);
    case 'z':
        return UA_REDRAW | UA_ZERO;
    case 'i':
        return UA_REDRAW | UA_REFETCH | UA_NATIVE_ALL;
    case '+':
    case '=':
        return UA_REDRAW | UA_RATE_UP;
    case '-':
        return UA_REDRAW | UA_RATE_DOWN;
    case 's':
        return UA_REDRAW | UA_SNAPSHOT;
    case UI_KEY_ENTER:
        if (st->focus != PANE_HOT && st->focus != PANE_THREADS)
            return UA_NONE;
        return open_func_view(st, LIVE_FUNC, ctx);
    default:
        if (st->focus == PANE_HOT || st->focus == PANE_THREADS) {
            unsigned a = drill_common(st, key, ctx);
            if (a != UA_NONE)
                return a;
        }
        return movement(st, key, ctx);
    }
}

/* ------------------------------------------------------------ drill-down */

enum live_view ui_view(const struct ui_state *st)
{
    return st->nviews ? st->views[st->nviews - 1].view : LIVE_MAIN;
}

void ui_ctx_init(struct ui_key_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->cursor_func = UI_NO_FUNC;
    ctx->diag_func = UI_NO_FUNC;
    ctx->cursor_parent = SIZE_MAX;
    ctx->hottest = ctx->next_hot = ctx->prev_hot = SIZE_MAX;
}

void ui_crumbs(const struct ui_state *st, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < st->nviews && at < n; i++) {
        int k = snprintf(buf + at, n - at, "%s > %s", i ? "" : ui_view_ops_of(LIVE_MAIN)->crumb,
                         st->views[i].name);
        at += k > 0 ? (size_t)k : 0;
    }
    /* only the way there: the last entry is the view itself */
    if (st->nviews) {
        char *last = strrchr(buf, '>');
        if (last && last > buf)
            last[-1] = '\0';
    }
}

static unsigned push_view(struct ui_state *st, enum live_view v, uint32_t func, const char *name)
{
    if (st->nviews == UI_VIEWS_MAX) {
        /* a very long walk forgets its oldest steps */
        memmove(&st->views[0], &st->views[1], (UI_VIEWS_MAX - 1) * sizeof st->views[0]);
        st->nviews--;
    }
    struct ui_viewent *e = &st->views[st->nviews++];
    memset(e, 0, sizeof *e);
    e->view = v;
    e->func = func;
    const struct ui_view_ops *ops = ui_view_ops_of(v);
    snprintf(e->name, sizeof e->name, "%s%s", ops->crumb,
             ops->about_func ? (name ? name : "?") : "");
    return UA_REDRAW | UA_REFETCH;
}

static unsigned pop_view(struct ui_state *st)
{
    if (st->nviews)
        st->nviews--;
    return UA_REDRAW | UA_REFETCH;
}

/* The function the keys v, a, Z act on: under the cursor, else (and
 * always in the function view) the function the view is about. */
static uint32_t target_func(const struct ui_state *st, const struct ui_key_ctx *ctx, bool enter,
                            const char **name)
{
    /* in the function view the cursor walks callers and callees (Enter);
     * v, a and Z are about the function the view shows */
    if (ctx->cursor_func != UI_NO_FUNC && (enter || ui_view(st) != LIVE_FUNC)) {
        *name = ctx->cursor_func_name;
        return ctx->cursor_func;
    }
    if (st->nviews && st->views[st->nviews - 1].func != UI_NO_FUNC) {
        const struct ui_viewent *e = &st->views[st->nviews - 1];
        /* the view's own name without its breadcrumb: "source of f" -> f */
        const char *crumb = ui_view_ops_of(e->view)->crumb;
        size_t k = strlen(crumb);
        *name = strncmp(e->name, crumb, k) ? e->name : e->name + k;
        return e->func;
    }
    return UI_NO_FUNC;
}

static unsigned open_func_view(struct ui_state *st, enum live_view v, const struct ui_key_ctx *ctx)
{
    const char *name = NULL;
    uint32_t f = target_func(st, ctx, v == LIVE_FUNC, &name);
    if (f == UI_NO_FUNC) {
        snprintf(st->msg, sizeof st->msg, "no function under the cursor");
        return UA_REDRAW;
    }
    if (ui_view(st) == v && st->views[st->nviews - 1].func == f)
        return UA_NONE;
    char copy[64];
    snprintf(copy, sizeof copy, "%s", name ? name : "?");
    return push_view(st, v, f, copy);
}

static unsigned open_tree(struct ui_state *st, enum live_view v)
{
    if (ui_view(st) == v)
        return UA_NONE;
    unsigned a = push_view(st, v, UI_NO_FUNC, NULL);
    if (st->expand[ui_view_ops_of(v)->expand_slot].n == 0) {
        /* a tree first shown closed answers nothing: open its hottest
         * path, as 'H' on the top would */
        st->hot_expand = true;
        st->hot_from = DRILL_ROOT_HASH;
        a |= UA_REDRAW | UA_REFETCH;
    }
    return a;
}

static void reset_positions(struct ui_state *st)
{
    st->pos[PANE_HOT] = (struct ui_pos){0, 0};
    st->pos[PANE_THREADS] = (struct ui_pos){0, 0};
    for (unsigned i = 0; i < st->nviews; i++)
        st->views[i].pos = (struct ui_pos){0, 0};
}

static unsigned zoom_subtree(struct ui_state *st, const struct ui_key_ctx *ctx)
{
    if (ui_view_ops_of(ui_view(st))->root_paths && ctx->cursor_npath) {
        st->zoom.sub = ZOOM_SUB_PATH;
        st->zoom.npath = ctx->cursor_npath;
        memcpy(st->zoom.path, ctx->cursor_path, ctx->cursor_npath * sizeof ctx->cursor_path[0]);
    } else {
        const char *name;
        uint32_t f = target_func(st, ctx, false, &name);
        if (f == UI_NO_FUNC) {
            snprintf(st->msg, sizeof st->msg, "no function under the cursor to zoom into");
            return UA_REDRAW;
        }
        st->zoom.sub = ZOOM_SUB_FUNC;
        st->zoom.npath = 1;
        st->zoom.path[0] = f;
    }
    reset_positions(st);
    return UA_REDRAW | UA_REFETCH;
}

static unsigned zoom_module(struct ui_state *st, const struct ui_key_ctx *ctx)
{
    const char *m = ctx->cursor_module;
    if (!m || !m[0]) {
        snprintf(st->msg, sizeof st->msg, "no module (shared object) under the cursor");
        return UA_REDRAW;
    }
    if (!strcmp(st->zoom.module, m))
        st->zoom.module[0] = '\0'; /* d again: the whole process */
    else
        snprintf(st->zoom.module, sizeof st->zoom.module, "%s", m);
    reset_positions(st);
    return UA_REDRAW | UA_REFETCH;
}

static bool zoomed(const struct ui_state *st)
{
    return st->tid || zoom_active(&st->zoom);
}

static unsigned unzoom(struct ui_state *st)
{
    memset(&st->zoom, 0, sizeof st->zoom);
    st->tid = 0;
    st->tid_name[0] = '\0';
    reset_positions(st);
    return UA_REDRAW | UA_REFETCH;
}

static struct drill_expand *tree_expand(struct ui_state *st)
{
    return &st->expand[ui_view_ops_of(ui_view(st))->expand_slot];
}

static unsigned set_expanded(struct ui_state *st, const struct ui_key_ctx *ctx, bool on)
{
    if (!ctx->view_rows || !ctx->cursor_has_children)
        return UA_NONE;
    if (drill_expand_set(tree_expand(st), ctx->cursor_hash, on) < 0) {
        snprintf(st->msg, sizeof st->msg, "too many rows open: collapse some first");
        return UA_REDRAW;
    }
    return UA_REDRAW | UA_REFETCH;
}

static void move_view_to(struct ui_state *st, size_t row, const struct ui_key_ctx *ctx)
{
    struct ui_pos *p = &st->views[st->nviews - 1].pos;
    p->sel = row;
    keep_visible(p, ctx->view_rows, ctx->view_page, true);
}

static unsigned tree_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    switch (key) {
    case UI_KEY_ENTER:
        return set_expanded(st, ctx, !ctx->cursor_expanded);
    case '+':
    case '=':
    case UI_KEY_RIGHT:
        return set_expanded(st, ctx, true);
    case '-':
    case UI_KEY_LEFT:
        if (ctx->cursor_expanded)
            return set_expanded(st, ctx, false);
        if (ctx->view_rows && ctx->cursor_parent != SIZE_MAX) {
            move_view_to(st, ctx->cursor_parent, ctx); /* as in a file manager */
            return UA_REDRAW;
        }
        return UA_NONE;
    case 'H':
        st->hot_expand = true;
        st->hot_from = ctx->view_rows ? ctx->cursor_hash : DRILL_ROOT_HASH;
        return UA_REDRAW | UA_REFETCH;
    default:
        return UA_NONE;
    }
}

static unsigned annot_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    struct ui_viewent *e = &st->views[st->nviews - 1];
    size_t to = SIZE_MAX;
    if (key == 'n')
        to = e->jumped ? ctx->next_hot : ctx->hottest;
    else if (key == 'N')
        to = e->jumped ? ctx->prev_hot : ctx->hottest;
    else
        return UA_NONE;
    if (to == SIZE_MAX) {
        snprintf(st->msg, sizeof st->msg, "no line or instruction with samples here");
        return UA_REDRAW;
    }
    e->jumped = true;
    move_view_to(st, to, ctx);
    return UA_REDRAW;
}

bool ui_tree_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx, unsigned *a)
{
    *a = tree_key(st, key, ctx);
    /* in the trees these keys open and close rows, nothing else */
    return *a != UA_NONE || key == '+' || key == '=' || key == '-' || key == 'H' ||
           key == UI_KEY_LEFT || key == UI_KEY_RIGHT || key == UI_KEY_ENTER;
}

bool ui_annot_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx, unsigned *a)
{
    *a = annot_key(st, key, ctx);
    return *a != UA_NONE;
}

/* Enter walks to the caller or callee under the cursor. */
bool ui_func_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx, unsigned *a)
{
    if (key != UI_KEY_ENTER)
        return false;
    *a = ctx->cursor_func == UI_NO_FUNC ? UA_NONE : open_func_view(st, LIVE_FUNC, ctx);
    return true;
}

static unsigned view_move(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    struct ui_pos *p = &st->views[st->nviews - 1].pos;
    long page = ctx->view_page > 1 ? ctx->view_page - 1 : 1;
    long d;
    switch (key) {
    case UI_KEY_UP:
    case 'k':
        d = -1;
        break;
    case UI_KEY_DOWN:
    case 'j':
        d = 1;
        break;
    case UI_KEY_PGUP:
        d = -page;
        break;
    case UI_KEY_PGDN:
        d = page;
        break;
    case UI_KEY_HOME:
        d = -(long)(ctx->view_rows + 1);
        break;
    case UI_KEY_END:
        d = (long)(ctx->view_rows + 1);
        break;
    default:
        return UA_NONE;
    }
    if (d < 0 && (size_t)-d > p->sel)
        p->sel = 0;
    else
        p->sel = (size_t)((long)p->sel + d);
    keep_visible(p, ctx->view_rows, ctx->view_page, true);
    return UA_REDRAW;
}

/* Keys every drill-down view shares; UA_NONE when key is not one. */
static unsigned drill_common(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    /* v a T B: every view but the function view has a key that opens it
     * from anywhere (ui/views.c) */
    for (int v = 0; v < LIVE_VIEW_COUNT; v++) {
        const struct ui_view_ops *ops = ui_view_ops_of((enum live_view)v);
        if (ops->open_key && key == ops->open_key)
            return ops->about_func ? open_func_view(st, ops->kind, ctx) : open_tree(st, ops->kind);
    }
    switch (key) {
    case 'Z':
        return zoom_subtree(st, ctx);
    case 'd':
        return zoom_module(st, ctx);
    case 'S':
        return UA_REDRAW | UA_SAVE_PROFILE;
    default:
        return UA_NONE;
    }
}

static unsigned view_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    unsigned a = UA_NONE;
    if (key == UI_KEY_ESC || key == UI_KEY_BACKSPACE)
        return pop_view(st);
    if (ui_view_ops_of(ui_view(st))->key(st, key, ctx, &a))
        return a;
    if ((a = drill_common(st, key, ctx)) != UA_NONE)
        return a;
    if ((a = view_move(st, key, ctx)) != UA_NONE)
        return a;
    if (key == 't' && !st->tid) {
        snprintf(st->msg, sizeof st->msg, "t: pick a thread in the threads pane (Esc back there)");
        return UA_REDRAW;
    }
    if (key == '/' || key == UI_KEY_TAB || key == UI_KEY_BTAB || (key >= '1' && key <= '4') ||
        key == '<' || key == '>' || key == ',' || key == '.' || key == 'I' || key == 'P' ||
        key == 'M' || key == UI_KEY_ENTER)
        return UA_NONE; /* keys of the panes: not here */
    return command_key(st, key, ctx);
}

/* D: the cursor walks the findings, Enter opens the function of the one
 * under it; any other key leaves. */
static unsigned diag_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    switch (key) {
    case UI_KEY_DOWN:
    case 'j':
        if (st->diag_sel + 1 < ctx->diag_rows)
            st->diag_sel++;
        return UA_REDRAW;
    case UI_KEY_UP:
    case 'k':
        if (st->diag_sel > 0)
            st->diag_sel--;
        return UA_REDRAW;
    case UI_KEY_ENTER:
        if (ctx->diag_func == UI_NO_FUNC) {
            snprintf(st->msg, sizeof st->msg, "%s",
                     ctx->diag_rows ? "this finding's function has no samples to drill into yet"
                                    : "no finding yet");
            return UA_REDRAW;
        }
        st->diag = false;
        return push_view(st, LIVE_FUNC, ctx->diag_func, ctx->diag_func_name);
    default:
        st->diag = false;
        return UA_REDRAW;
    }
}

unsigned ui_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    if (st->help) {
        st->help = false; /* any key leaves the help screen */
        return UA_REDRAW;
    }
    if (st->diag) {
        if (key != UI_KEY_ESC && st->msg[0])
            st->msg[0] = '\0';
        return diag_key(st, key, ctx);
    }
    if (st->filtering)
        return filter_key(st, key, ctx);
    if (key != UI_KEY_ESC && st->msg[0])
        st->msg[0] = '\0'; /* a message lasts until the next key */
    if (st->nviews)
        return view_key(st, key, ctx);
    return command_key(st, key, ctx);
}

unsigned ui_click_header(struct ui_state *st, enum ui_pane pane, int col)
{
    if (pane == PANE_HOT && col >= 0 && col < HC_COUNT) {
        if (st->hot_sort == (enum hot_col)col)
            st->hot_asc = !st->hot_asc; /* a second click inverts, as in htop */
        else
            set_sort(st, pane, col);
    } else if (pane == PANE_THREADS && col >= 0 && col < TC_COUNT) {
        if (st->thr_sort == (enum thr_col)col)
            st->thr_asc = !st->thr_asc;
        else
            set_sort(st, pane, col);
    } else {
        return UA_NONE;
    }
    st->focus = pane;
    return UA_REDRAW;
}

unsigned ui_wheel(struct ui_state *st, enum ui_pane pane, int delta, const struct ui_key_ctx *ctx)
{
    move(st, pane, delta, ctx);
    return UA_REDRAW;
}
