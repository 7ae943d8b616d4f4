/*
 * keys.h - the screen's state, and the keys and mouse events that change
 * it: a pure state machine over a plain struct, so every key is testable
 * without a terminal.
 *
 * ui_key takes a key (a character, or a UI_KEY_* code that ui/screen.c maps
 * from curses) and returns what the caller must do (UA_* flags): redraw,
 * ask the refresher for other views, zero, change the rate, write a
 * snapshot, quit.  The caller passes what the state machine cannot know
 * (rows per pane, visible rows, the thread under the threads pane's
 * cursor) in a ui_key_ctx.
 */
#ifndef PERTOP_UI_KEYS_H
#define PERTOP_UI_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "src/model/drill.h"
#include "src/model/liveview.h"
#include "src/model/zoom.h"

enum ui_pane { PANE_HOT, PANE_THREADS, PANE_MEM, PANE_IO, PANE_COUNT };

enum hot_col { HC_SELF, HC_TOTAL, HC_TIME, HC_FUNC, HC_FILE, HC_MODULE, HC_COUNT };
enum thr_col { TC_TID, TC_NAME, TC_STATE, TC_CPU, TC_SHARE, TC_FUNC, TC_COUNT };

enum {
    UI_KEY_UP = 0x10000,
    UI_KEY_DOWN,
    UI_KEY_LEFT,
    UI_KEY_RIGHT,
    UI_KEY_PGUP,
    UI_KEY_PGDN,
    UI_KEY_HOME,
    UI_KEY_END,
    UI_KEY_ENTER,
    UI_KEY_BACKSPACE,
    UI_KEY_ESC,
    UI_KEY_TAB,
    UI_KEY_BTAB,
    UI_KEY_F1,
    UI_KEY_F10,
};

enum ui_action {
    UA_NONE = 0,
    UA_REDRAW = 1 << 0,
    UA_REFETCH = 1 << 1, /* window or thread changed: new frame needed */
    UA_QUIT = 1 << 2,
    UA_SNAPSHOT = 1 << 3,
    UA_ZERO = 1 << 4,
    UA_RATE_UP = 1 << 5,
    UA_RATE_DOWN = 1 << 6,
    UA_SAVE_PROFILE = 1 << 7, /* 'S': the profile in --format to a file */
    UA_NATIVE_ALL = 1 << 8,   /* 'i': a CPython's interpreter frames shown or folded */
};

#define UI_FILTER_MAX 64
#define UI_MSG_MAX    512

struct ui_pos {
    size_t sel; /* cursor row */
    size_t top; /* first visible row */
};

/* One drill-down view on the view stack: the breadcrumb is the stack. */
#define UI_VIEWS_MAX 32
#define UI_NO_FUNC   UINT32_MAX
struct ui_viewent {
    enum live_view view;
    uint32_t func; /* LIVE_FUNC, LIVE_SOURCE, LIVE_ASM */
    char name[64]; /* for the breadcrumb */
    struct ui_pos pos;
    bool jumped; /* source/asm: 'n' went to the hottest row already */
};

struct ui_state {
    int layout; /* 1 all panes, 2 hot functions, 3 threads, 4 memory and I/O */
    enum ui_pane focus;
    struct ui_pos pos[PANE_COUNT];
    enum hot_col hot_sort;
    bool hot_asc;
    enum thr_col thr_sort;
    bool thr_asc;
    char filter[UI_FILTER_MAX];
    bool filtering; /* typing into the filter */
    bool recent;    /* recent window, else cumulative */
    pid_t tid;      /* every pane limited to this thread, 0 = all */
    char tid_name[64];
    bool paused;
    bool help;
    bool diag;            /* the verdict's findings in full (D) */
    unsigned diag_sel;    /* the finding under D's cursor */
    char msg[UI_MSG_MAX]; /* status-line message, "" = none */
    /* drill-down: the view stack (0 = the panes), the trees' expanded rows
     * (top down, inverted), the zoom (its thread is tid above), and an 'H'
     * waiting to be sent */
    struct ui_viewent views[UI_VIEWS_MAX];
    unsigned nviews;
    struct drill_expand expand[2];
    struct zoom zoom;
    bool hot_expand;
    uint64_t hot_from;
};

struct ui_key_ctx {
    size_t rows[PANE_COUNT]; /* rows each pane has */
    int page[PANE_COUNT];    /* rows each pane shows (0 = not shown) */
    pid_t cursor_tid;        /* thread under the threads pane's cursor, 0 = none */
    const char *cursor_name;
    /* the drill-down view on screen (its frame has arrived) */
    size_t view_rows;
    int view_page;
    /* the function under the cursor of the focused pane or view
     * (UI_NO_FUNC: none), with its name and module */
    uint32_t cursor_func;
    const char *cursor_func_name, *cursor_module;
    /* trees: the row under the cursor */
    uint64_t cursor_hash;
    bool cursor_has_children, cursor_expanded;
    size_t cursor_parent;                /* row of its parent, SIZE_MAX at the top */
    uint32_t cursor_path[ZOOM_PATH_MAX]; /* top-down tree: functions from the root */
    unsigned cursor_npath;
    /* source and instruction views: hot rows around the cursor (SIZE_MAX none) */
    size_t hottest, next_hot, prev_hot;
    /* D: how many findings, and the function of the one under the cursor
     * in the profile (UI_NO_FUNC when it has no row), with its name */
    size_t diag_rows;
    uint32_t diag_func;
    const char *diag_func_name;
};

void ui_state_init(struct ui_state *st);
/* The view on screen: LIVE_MAIN for the panes. */
enum live_view ui_view(const struct ui_state *st);
/* The breadcrumb: "hot > run_cycle > call tree" ("" on the panes). */
void ui_crumbs(const struct ui_state *st, char *buf, size_t n);
/* A ui_key_ctx with nothing under any cursor. */
void ui_ctx_init(struct ui_key_ctx *ctx);
unsigned ui_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx);
/* A click on a column header of pane (col = its column index). */
unsigned ui_click_header(struct ui_state *st, enum ui_pane pane, int col);
/* Wheel over pane: delta rows (negative = up). */
unsigned ui_wheel(struct ui_state *st, enum ui_pane pane, int delta, const struct ui_key_ctx *ctx);
/* Keeps every cursor inside its pane's rows and page (after new data). */
void ui_clamp(struct ui_state *st, const struct ui_key_ctx *ctx);

/* The keys of the drill-down views of their own, before the keys every
 * view shares (ui/views.c says which view has which): true when key is
 * one of them, with what the caller must do in *a. */
bool ui_func_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx, unsigned *a);
bool ui_tree_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx, unsigned *a);
bool ui_annot_key(struct ui_state *st, int key, const struct ui_key_ctx *ctx, unsigned *a);

#endif
