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

#include "keys.h"
#include "layout.h"

static struct ui_key_ctx ctx_all(void)
{
    struct ui_key_ctx c = {.rows = {100, 5, 20, 30}, .page = {10, 4, 6, 6}};
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
    unsigned a = ui_key(&st, UI_KEY_ENTER, &c);
    assert_int_equal(a, UA_REDRAW);
    assert_non_null(strstr(st.msg, "later version"));
    ui_key(&st, 'j', &c);
    assert_string_equal(st.msg, ""); /* a message lasts until the next key */
    ui_key(&st, '?', &c);
    assert_true(st.help);
    a = ui_key(&st, 'q', &c); /* any key leaves help, even q */
    assert_false(st.help);
    assert_false(a & UA_QUIT);
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
    assert_int_equal(l.header.h, 4);
    assert_int_equal(l.status.y, 23);
    for (int i = 0; i < PANE_COUNT; i++)
        assert_true(l.pane[i].h >= 4);
    assert_true(l.pane[PANE_HOT].h >= l.pane[PANE_THREADS].h);
    /* panes tile the body without overlap */
    assert_int_equal(l.pane[PANE_HOT].y, 4);
    assert_int_equal(l.pane[PANE_THREADS].y, 4 + l.pane[PANE_HOT].h);
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
    assert_true(l.pane[PANE_HOT].h > 0 && l.pane[PANE_THREADS].h > 0);
    assert_int_equal(l.pane[PANE_MEM].h, 0);
    layout_compute(8, 40, 1, PANE_THREADS, &l);
    assert_int_equal(l.pane[PANE_HOT].h, 0);
    assert_true(l.pane[PANE_THREADS].h > 0); /* the focused pane stays */
    layout_compute(2, 40, 1, PANE_HOT, &l);
    for (int i = 0; i < PANE_COUNT; i++)
        assert_int_equal(l.pane[i].h, 0);
    layout_compute(40, 120, 2, PANE_HOT, &l);
    assert_int_equal(l.pane[PANE_HOT].h, 40 - 4 - 1);
    assert_int_equal(l.pane[PANE_THREADS].h, 0);
    layout_compute(40, 120, 4, PANE_MEM, &l);
    assert_true(l.pane[PANE_MEM].h > 0 && l.pane[PANE_IO].h > 0);
    assert_int_equal(l.pane[PANE_HOT].h, 0);
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
        cmocka_unit_test(test_clamp_after_new_data),
        cmocka_unit_test(test_layout_80x24),
        cmocka_unit_test(test_layout_small_and_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
