/*
 * keys.c - see keys.h.  The hot-functions and threads panes have a cursor;
 * the memory and I/O panes only scroll, so there a move scrolls.
 */
#include "keys.h"

#include <stdio.h>
#include <string.h>

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
        st->filter[0] = '\0';
        st->msg[0] = '\0';
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
    case '+':
    case '=':
        return UA_REDRAW | UA_RATE_UP;
    case '-':
        return UA_REDRAW | UA_RATE_DOWN;
    case 's':
        return UA_REDRAW | UA_SNAPSHOT;
    case UI_KEY_ENTER:
        snprintf(st->msg, sizeof st->msg,
                 "drill-down (callers, callees, source) comes in a later version");
        return UA_REDRAW;
    default:
        return movement(st, key, ctx);
    }
}

unsigned ui_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx)
{
    if (st->help) {
        st->help = false; /* any key leaves the help screen */
        return UA_REDRAW;
    }
    if (st->filtering)
        return filter_key(st, key, ctx);
    if (key != UI_KEY_ESC && st->msg[0])
        st->msg[0] = '\0'; /* a message lasts until the next key */
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
