/*
 * test_keys.c - the screen's key handling as a state machine: movement,
 * focus, layouts, sorting, the filter prompt, thread limit, window, pause,
 * and the actions handed back to the loop; plus the layout geometry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ui/keys.h"
#include "ui/layout.h"

static struct ui_key_ctx ctx_all(void)
{
    struct ui_key_ctx c;
    ui_ctx_init(&c);
    const size_t rows[PANE_COUNT] = {100, 5, 20, 30};
    const int page[PANE_COUNT] = {10, 4, 6, 6};
    memcpy(c.rows, rows, sizeof rows);
    memcpy(c.page, page, sizeof page);
    c.cursor_tid = 42;
    c.cursor_name = "mixworker-1";
    return c;
}

static unsigned keys(struct ui_state *st, const char *s, const struct ui_key_ctx *c)
{
    unsigned a = 0;
    for (; *s; s++)
        a |= ui_key(st, (unsigned char)*s, c);
    return a;
}

static void test_defaults_and_quit(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    assert_int_equal(st.layout, 1);
    assert_int_equal(st.focus, PANE_HOT);
    assert_int_equal(st.hot_sort, HC_SELF);
    assert_false(st.hot_asc);
    assert_true(st.recent);
    struct ui_key_ctx c = ctx_all();
    assert_true(ui_key(&st, 'q', &c) & UA_QUIT);
    assert_true(ui_key(&st, UI_KEY_F10, &c) & UA_QUIT);
}

static void test_movement(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    keys(&st, "jjj", &c);
    assert_int_equal(st.pos[PANE_HOT].sel, 3);
    ui_key(&st, 'k', &c);
    ui_key(&st, UI_KEY_UP, &c);
    assert_int_equal(st.pos[PANE_HOT].sel, 1);
    ui_key(&st, UI_KEY_UP, &c);
    ui_key(&st, UI_KEY_UP, &c); /* stops at the top */
    assert_int_equal(st.pos[PANE_HOT].sel, 0);
    ui_key(&st, UI_KEY_PGDN, &c);
    assert_int_equal(st.pos[PANE_HOT].sel, 9); /* a page is the visible rows - 1 */
    ui_key(&st, UI_KEY_END, &c);
    assert_int_equal(st.pos[PANE_HOT].sel, 99);
    assert_int_equal(st.pos[PANE_HOT].top, 90); /* the cursor stays visible */
    ui_key(&st, UI_KEY_DOWN, &c);
    assert_int_equal(st.pos[PANE_HOT].sel, 99);
    ui_key(&st, UI_KEY_HOME, &c);
    assert_int_equal(st.pos[PANE_HOT].sel, 0);
    assert_int_equal(st.pos[PANE_HOT].top, 0);
}

static void test_scroll_only_panes(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    st.focus = PANE_IO;
    ui_key(&st, UI_KEY_END, &c);
    assert_int_equal(st.pos[PANE_IO].top, 24); /* 30 lines, 6 shown */
    ui_key(&st, 'k', &c);
    assert_int_equal(st.pos[PANE_IO].top, 23);
}

static void test_tab_and_layouts(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    ui_key(&st, UI_KEY_TAB, &c);
    assert_int_equal(st.focus, PANE_THREADS);
    c.page[PANE_MEM] = 0; /* not on screen: skipped */
    ui_key(&st, UI_KEY_TAB, &c);
    assert_int_equal(st.focus, PANE_IO);
    ui_key(&st, UI_KEY_TAB, &c);
    assert_int_equal(st.focus, PANE_HOT);
    ui_key(&st, '3', &c);
    assert_int_equal(st.layout, 3);
    assert_int_equal(st.focus, PANE_THREADS);
    ui_key(&st, '4', &c);
    assert_int_equal(st.focus, PANE_MEM);
    ui_key(&st, '2', &c);
    assert_int_equal(st.layout, 2);
    assert_int_equal(st.focus, PANE_HOT);
    ui_key(&st, 'M', &c);
    assert_int_equal(st.layout, 4);
}

static void test_sorting(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    ui_key(&st, '>', &c);
    assert_int_equal(st.hot_sort, HC_TOTAL);
    assert_false(st.hot_asc); /* numbers: biggest first */
    keys(&st, ">>", &c);
    assert_int_equal(st.hot_sort, HC_FUNC);
    assert_true(st.hot_asc); /* names: from A */
    ui_key(&st, 'I', &c);
    assert_false(st.hot_asc);
    ui_key(&st, '<', &c);
    assert_int_equal(st.hot_sort, HC_TIME);
    keys(&st, "<<<", &c);
    assert_int_equal(st.hot_sort, HC_MODULE); /* wraps around */
    st.focus = PANE_THREADS;
    ui_key(&st, '>', &c);
    assert_int_equal(st.thr_sort, TC_SHARE);
    assert_int_equal(st.hot_sort, HC_MODULE); /* the other pane keeps its own */
    ui_key(&st, 'P', &c);
    assert_int_equal(st.thr_sort, TC_CPU);
    assert_false(st.thr_asc);
}

static void test_click_header(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    ui_click_header(&st, PANE_HOT, HC_MODULE);
    assert_int_equal(st.hot_sort, HC_MODULE);
    assert_true(st.hot_asc);
    ui_click_header(&st, PANE_HOT, HC_MODULE);
    assert_false(st.hot_asc);
    ui_click_header(&st, PANE_THREADS, TC_NAME);
    assert_int_equal(st.focus, PANE_THREADS);
    assert_int_equal(st.thr_sort, TC_NAME);
    assert_int_equal(ui_click_header(&st, PANE_MEM, 0), UA_NONE);
    struct ui_key_ctx c = ctx_all();
    ui_wheel(&st, PANE_HOT, 3, &c);
    assert_int_equal(st.pos[PANE_HOT].sel, 3);
}

static void test_filter_prompt(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    keys(&st, "jj", &c);
    ui_key(&st, '/', &c);
    assert_true(st.filtering);
    unsigned a = keys(&st, "comq", &c); /* q is text while typing */
    assert_false(a & UA_QUIT);
    assert_string_equal(st.filter, "comq");
    assert_int_equal(st.pos[PANE_HOT].sel, 0); /* rows changed: cursor to the top */
    ui_key(&st, UI_KEY_BACKSPACE, &c);
    assert_string_equal(st.filter, "com");
    ui_key(&st, UI_KEY_ENTER, &c);
    assert_false(st.filtering);
    assert_string_equal(st.filter, "com"); /* Enter keeps it */
    ui_key(&st, '/', &c);
    ui_key(&st, 'x', &c);
    ui_key(&st, UI_KEY_ESC, &c);
    assert_false(st.filtering);
    assert_string_equal(st.filter, ""); /* Esc clears it */
    char big[200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ui_key(&st, '/', &c);
    keys(&st, big, &c);
    assert_int_equal(strlen(st.filter), UI_FILTER_MAX - 1);
}

static void test_thread_window_pause(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    unsigned a = ui_key(&st, 't', &c);
    assert_true(a & UA_REFETCH);
    assert_int_equal(st.tid, 42);
    assert_string_equal(st.tid_name, "mixworker-1");
    ui_key(&st, 't', &c);
    assert_int_equal(st.tid, 0);
    c.cursor_tid = 0;
    a = ui_key(&st, 't', &c);
    assert_false(a & UA_REFETCH);
    assert_true(st.msg[0] != '\0');
    a = ui_key(&st, 'w', &c);
    assert_true(a & UA_REFETCH);
    assert_false(st.recent);
    ui_key(&st, ' ', &c);
    assert_true(st.paused);
    a = ui_key(&st, 'p', &c);
    assert_false(st.paused);
    assert_true(a & UA_REFETCH); /* fresh numbers on resume */
}

static void test_actions_help_enter(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    assert_true(ui_key(&st, 'z', &c) & UA_ZERO);
    assert_true(ui_key(&st, '+', &c) & UA_RATE_UP);
    assert_true(ui_key(&st, '-', &c) & UA_RATE_DOWN);
    assert_true(ui_key(&st, 's', &c) & UA_SNAPSHOT);
    /* i asks the session for the other Python view, fetched anew */
    unsigned a = ui_key(&st, 'i', &c);
    assert_true(a & UA_NATIVE_ALL);
    assert_true(a & UA_REFETCH);
    /* Enter with no function under the cursor: a message, no view */
    a = ui_key(&st, UI_KEY_ENTER, &c);
    assert_int_equal(a, UA_REDRAW);
    assert_non_null(strstr(st.msg, "no function"));
    assert_int_equal(st.nviews, 0);
    ui_key(&st, 'j', &c);
    assert_string_equal(st.msg, ""); /* a message lasts until the next key */
    ui_key(&st, '?', &c);
    assert_true(st.help);
    a = ui_key(&st, 'q', &c); /* any key leaves help, even q */
    assert_false(st.help);
    assert_false(a & UA_QUIT);
}

/* D: the cursor walks the findings, Enter opens the selected finding's
 * function (when it has a row), any other key leaves. */
static void test_diag_findings(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    c.diag_rows = 2;
    ui_key(&st, 'D', &c);
    assert_true(st.diag);
    assert_int_equal(st.diag_sel, 0);
    ui_key(&st, UI_KEY_DOWN, &c);
    ui_key(&st, 'j', &c); /* past the last: stays */
    assert_int_equal(st.diag_sel, 1);
    ui_key(&st, 'k', &c);
    assert_int_equal(st.diag_sel, 0);
    assert_true(st.diag);
    /* its function has no row: a message, D stays */
    unsigned a = ui_key(&st, UI_KEY_ENTER, &c);
    assert_int_equal(a, UA_REDRAW);
    assert_true(st.diag);
    assert_non_null(strstr(st.msg, "no samples"));
    assert_int_equal(st.nviews, 0);
    /* it has one: the function view, D left */
    c.diag_func = 7;
    c.diag_func_name = "locked_work";
    a = ui_key(&st, UI_KEY_ENTER, &c);
    assert_true(a & UA_REFETCH);
    assert_false(st.diag);
    assert_int_equal(ui_view(&st), LIVE_FUNC);
    assert_int_equal(st.views[0].func, 7);
    assert_non_null(strstr(st.views[0].name, "locked_work"));
    /* D again starts at the first finding; x leaves */
    ui_key(&st, UI_KEY_ESC, &c);
    st.diag_sel = 1;
    ui_key(&st, 'D', &c);
    assert_int_equal(st.diag_sel, 0);
    ui_key(&st, 'x', &c);
    assert_false(st.diag);
    assert_int_equal(st.nviews, 0);
}

static void test_clamp_after_new_data(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    ui_key(&st, UI_KEY_END, &c);
    c.rows[PANE_HOT] = 3; /* a new frame with fewer rows */
    ui_clamp(&st, &c);
    assert_int_equal(st.pos[PANE_HOT].sel, 2);
    assert_int_equal(st.pos[PANE_HOT].top, 0);
}

static void test_layout_80x24(void **state)
{
    (void)state;
    struct ui_layout l;
    layout_compute(24, 80, 1, PANE_HOT, &l);
    assert_int_equal(l.header.h, 5); /* title, CPU, RSS, view, verdict */
    assert_int_equal(l.status.y, 23);
    for (int i = 0; i < PANE_COUNT; i++)
        assert_true(l.pane[i].h >= 4);
    assert_true(l.pane[PANE_HOT].h >= l.pane[PANE_THREADS].h);
    /* panes tile the body without overlap */
    assert_int_equal(l.pane[PANE_HOT].y, 5);
    assert_int_equal(l.pane[PANE_THREADS].y, 5 + l.pane[PANE_HOT].h);
    assert_int_equal(l.pane[PANE_MEM].y + l.pane[PANE_MEM].h, 23);
    assert_int_equal(l.pane[PANE_MEM].y, l.pane[PANE_IO].y);
    assert_true(l.pane[PANE_IO].x + l.pane[PANE_IO].w <= 80);
    assert_int_equal(layout_pane_at(&l, 5, 3), PANE_HOT);
    assert_int_equal(layout_pane_at(&l, 0, 3), -1);
}

static void test_layout_small_and_others(void **state)
{
    (void)state;
    struct ui_layout l;
    layout_compute(16, 60, 1, PANE_THREADS, &l);
    assert_int_equal(l.header.h, 3); /* title, counts, verdict */
    assert_true(l.pane[PANE_HOT].h > 0 && l.pane[PANE_THREADS].h > 0);
    assert_int_equal(l.pane[PANE_MEM].h, 0);
    layout_compute(8, 40, 1, PANE_THREADS, &l);
    assert_int_equal(l.pane[PANE_HOT].h, 0);
    assert_true(l.pane[PANE_THREADS].h > 0); /* the focused pane stays */
    layout_compute(2, 40, 1, PANE_HOT, &l);
    for (int i = 0; i < PANE_COUNT; i++)
        assert_int_equal(l.pane[i].h, 0);
    layout_compute(40, 120, 2, PANE_HOT, &l);
    assert_int_equal(l.pane[PANE_HOT].h, 40 - 5 - 1);
    assert_int_equal(l.pane[PANE_THREADS].h, 0);
    layout_compute(40, 120, 4, PANE_MEM, &l);
    assert_true(l.pane[PANE_MEM].h > 0 && l.pane[PANE_IO].h > 0);
    assert_int_equal(l.pane[PANE_HOT].h, 0);
}

/* ------------------------------------------------------------ drill-down */

static struct ui_key_ctx ctx_hot_func(uint32_t func, const char *name, const char *module)
{
    struct ui_key_ctx c = ctx_all();
    c.cursor_func = func;
    c.cursor_func_name = name;
    c.cursor_module = module;
    return c;
}

static void test_drill_function_views_and_back(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_hot_func(7, "compute_middle", "cpu_mix");
    unsigned a = ui_key(&st, UI_KEY_ENTER, &c);
    assert_true(a & UA_REFETCH);
    assert_int_equal(ui_view(&st), LIVE_FUNC);
    assert_int_equal(st.views[0].func, 7);
    /* Enter on a caller moves there; the breadcrumb grows */
    c = ctx_hot_func(5, "compute_outer", "cpu_mix");
    c.view_rows = 6;
    c.view_page = 10;
    a = ui_key(&st, UI_KEY_ENTER, &c);
    assert_true(a & UA_REFETCH);
    assert_int_equal(st.nviews, 2);
    assert_int_equal(st.views[1].func, 5);
    char crumbs[256];
    ui_crumbs(&st, crumbs, sizeof crumbs);
    assert_string_equal(crumbs, "hot > compute_middle");
    /* Enter on a section line (no function) does nothing */
    c.cursor_func = UI_NO_FUNC;
    assert_int_equal(ui_key(&st, UI_KEY_ENTER, &c), UA_NONE);
    /* movement is the view's, not the hot pane's */
    ui_key(&st, 'j', &c);
    ui_key(&st, 'j', &c);
    assert_int_equal(st.views[1].pos.sel, 2);
    assert_int_equal(st.pos[PANE_HOT].sel, 0);
    /* + and - keep changing the rate outside the trees */
    assert_true(ui_key(&st, '+', &c) & UA_RATE_UP);
    /* v and a: the function the view shows, wherever the cursor is */
    c.cursor_func = 9;
    a = ui_key(&st, 'v', &c);
    assert_true(a & UA_REFETCH);
    assert_int_equal(ui_view(&st), LIVE_SOURCE);
    assert_int_equal(st.views[2].func, 5);
    assert_string_equal(st.views[2].name, "source of compute_outer");
    c.cursor_func = UI_NO_FUNC; /* the source view has no function rows */
    ui_key(&st, 'a', &c);
    assert_int_equal(ui_view(&st), LIVE_ASM);
    assert_int_equal(st.views[3].func, 5);
    /* Esc and Backspace go back one view each, then to the panes */
    ui_key(&st, UI_KEY_ESC, &c);
    ui_key(&st, UI_KEY_BACKSPACE, &c);
    assert_int_equal(ui_view(&st), LIVE_FUNC);
    assert_int_equal(st.views[1].pos.sel, 2); /* the cursor where it was */
    ui_key(&st, UI_KEY_ESC, &c);
    ui_key(&st, UI_KEY_ESC, &c);
    assert_int_equal(ui_view(&st), LIVE_MAIN);
    assert_int_equal(st.nviews, 0);
}

static void test_drill_thread_now_in(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    ui_key(&st, UI_KEY_TAB, &c);
    assert_int_equal(st.focus, PANE_THREADS);
    c.cursor_func = 9; /* the function the thread is in now */
    c.cursor_func_name = "parse_input";
    assert_true(ui_key(&st, UI_KEY_ENTER, &c) & UA_REFETCH);
    assert_int_equal(st.views[0].func, 9);
    assert_string_equal(st.views[0].name, "parse_input");
}

static void test_drill_tree_keys(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_all();
    assert_true(ui_key(&st, 'T', &c) & UA_REFETCH);
    assert_int_equal(ui_view(&st), LIVE_TREE);
    assert_int_equal(ui_key(&st, 'T', &c), UA_NONE); /* already there */
    /* the row under the cursor: collapsed, with children */
    c.view_rows = 3;
    c.view_page = 10;
    c.cursor_func = 2;
    c.cursor_hash = 1234;
    c.cursor_has_children = true;
    c.cursor_expanded = false;
    c.cursor_parent = 0;
    assert_true(ui_key(&st, UI_KEY_ENTER, &c) & UA_REFETCH);
    assert_true(drill_expand_has(&st.expand[0], 1234));
    c.cursor_expanded = true;
    ui_key(&st, UI_KEY_ENTER, &c); /* Enter again closes */
    assert_false(drill_expand_has(&st.expand[0], 1234));
    c.cursor_expanded = false;
    /* + and Right open, - and Left close: not the rate */
    unsigned a = ui_key(&st, '+', &c);
    assert_false(a & UA_RATE_UP);
    assert_true(drill_expand_has(&st.expand[0], 1234));
    ui_key(&st, UI_KEY_RIGHT, &c);
    c.cursor_expanded = true;
    a = ui_key(&st, '-', &c);
    assert_false(a & UA_RATE_DOWN);
    assert_false(drill_expand_has(&st.expand[0], 1234));
    /* Left on a closed row goes to its parent row */
    c.cursor_expanded = false;
    st.views[0].pos.sel = 2;
    ui_key(&st, UI_KEY_LEFT, &c);
    assert_int_equal(st.views[0].pos.sel, 0);
    /* - on a leaf at the top: nothing, and not the rate */
    c.cursor_has_children = false;
    c.cursor_parent = SIZE_MAX;
    assert_int_equal(ui_key(&st, '-', &c), UA_NONE);
    /* H: the hottest path below the row, asked of the refresher once */
    a = ui_key(&st, 'H', &c);
    assert_true(a & UA_REFETCH);
    assert_true(st.hot_expand);
    assert_int_equal(st.hot_from, 1234);
    /* the inverted tree keeps its own expansion */
    c.cursor_has_children = true;
    ui_key(&st, 'B', &c);
    assert_int_equal(ui_view(&st), LIVE_INVERTED);
    ui_key(&st, UI_KEY_ENTER, &c);
    assert_true(drill_expand_has(&st.expand[1], 1234));
    assert_false(drill_expand_has(&st.expand[0], 1234));
    /* H with no rows yet starts from the top */
    c.view_rows = 0;
    ui_key(&st, 'H', &c);
    assert_int_equal(st.hot_from, DRILL_ROOT_HASH);
}

static void test_drill_zoom_keys(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_hot_func(4, "inflate", "libz.so.1");
    /* d: the module of the function under the cursor; d again: all */
    assert_true(ui_key(&st, 'd', &c) & UA_REFETCH);
    assert_string_equal(st.zoom.module, "libz.so.1");
    ui_key(&st, 'd', &c);
    assert_string_equal(st.zoom.module, "");
    ui_key(&st, 'd', &c);
    /* Z on the hot list: every stack through the function */
    ui_key(&st, 'Z', &c);
    assert_int_equal(st.zoom.sub, ZOOM_SUB_FUNC);
    assert_int_equal(st.zoom.path[0], 4);
    /* Z in the call tree: the path of the row from the root */
    ui_key(&st, 'T', &c);
    c.view_rows = 5;
    c.cursor_npath = 3;
    c.cursor_path[0] = 1, c.cursor_path[1] = 2, c.cursor_path[2] = 3;
    ui_key(&st, 'Z', &c);
    assert_int_equal(st.zoom.sub, ZOOM_SUB_PATH);
    assert_int_equal(st.zoom.npath, 3);
    assert_int_equal(st.zoom.path[2], 3);
    /* Esc goes back to the list; there Esc clears the filter first, then
     * the zoom (and the thread limit) */
    ui_key(&st, UI_KEY_ESC, &c);
    assert_int_equal(st.nviews, 0);
    st.tid = 42;
    strcpy(st.filter, "inf");
    ui_key(&st, UI_KEY_ESC, &c);
    assert_string_equal(st.filter, "");
    assert_true(zoom_active(&st.zoom));
    assert_true(ui_key(&st, UI_KEY_ESC, &c) & UA_REFETCH);
    assert_false(zoom_active(&st.zoom));
    assert_int_equal(st.tid, 0);
    /* no module under the cursor: a message */
    c.cursor_module = "";
    assert_false(ui_key(&st, 'd', &c) & UA_REFETCH);
    assert_true(st.msg[0] != '\0');
}

static void test_drill_annot_keys(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_hot_func(3, "parse_row", "app");
    ui_key(&st, 'v', &c);
    assert_int_equal(ui_view(&st), LIVE_SOURCE);
    c.view_rows = 100;
    c.view_page = 20;
    c.hottest = 40;
    c.next_hot = 55;
    c.prev_hot = 12;
    ui_key(&st, 'n', &c); /* first: the hottest */
    assert_int_equal(st.views[0].pos.sel, 40);
    ui_key(&st, 'n', &c);
    assert_int_equal(st.views[0].pos.sel, 55);
    ui_key(&st, 'N', &c);
    assert_int_equal(st.views[0].pos.sel, 12);
    assert_true(st.views[0].pos.top <= 12);
    c.next_hot = c.hottest = SIZE_MAX;
    ui_key(&st, 'n', &c);
    assert_int_equal(st.views[0].pos.sel, 12);
    assert_true(st.msg[0] != '\0');
    /* S writes the profile; s snapshots the view */
    assert_true(ui_key(&st, 'S', &c) & UA_SAVE_PROFILE);
    assert_true(ui_key(&st, 's', &c) & UA_SNAPSHOT);
    /* keys of the panes do nothing here */
    assert_int_equal(ui_key(&st, '/', &c), UA_NONE);
    assert_false(st.filtering);
}

static void test_drill_view_stack_bounded(void **state)
{
    (void)state;
    struct ui_state st;
    ui_state_init(&st);
    struct ui_key_ctx c = ctx_hot_func(1, "a", "m");
    ui_key(&st, UI_KEY_ENTER, &c);
    for (uint32_t i = 2; i < 2 * UI_VIEWS_MAX; i++) {
        c.cursor_func = i;
        ui_key(&st, UI_KEY_ENTER, &c);
    }
    assert_int_equal(st.nviews, UI_VIEWS_MAX);
    assert_int_equal(st.views[UI_VIEWS_MAX - 1].func, 2 * UI_VIEWS_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_quit),
        cmocka_unit_test(test_movement),
        cmocka_unit_test(test_scroll_only_panes),
        cmocka_unit_test(test_tab_and_layouts),
        cmocka_unit_test(test_sorting),
        cmocka_unit_test(test_click_header),
        cmocka_unit_test(test_filter_prompt),
        cmocka_unit_test(test_thread_window_pause),
        cmocka_unit_test(test_actions_help_enter),
        cmocka_unit_test(test_diag_findings),
        cmocka_unit_test(test_clamp_after_new_data),
        cmocka_unit_test(test_drill_function_views_and_back),
        cmocka_unit_test(test_drill_thread_now_in),
        cmocka_unit_test(test_drill_tree_keys),
        cmocka_unit_test(test_drill_zoom_keys),
        cmocka_unit_test(test_drill_annot_keys),
        cmocka_unit_test(test_drill_view_stack_bounded),
        cmocka_unit_test(test_layout_80x24),
        cmocka_unit_test(test_layout_small_and_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
