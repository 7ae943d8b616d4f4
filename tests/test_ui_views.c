/*
 * test_ui_views.c - the screen's rows from a model built of plain data and a
 * fake resolver: hot functions (sorting, filtering, thread limit, recent vs
 * cumulative, percentages), threads (share, current function, procstat
 * merge), the memory and I/O panes, the graph, the snapshot text, and the
 * table of view kinds (ui/views.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_resolver.h"
#include "ui/graph.h"
#include "src/model/liveview.h"
#include "src/model/model.h"
#include "ui/pane_func.h"
#include "ui/pane_hot.h"
#include "ui/pane_memio.h"
#include "ui/pane_threads.h"
#include "ui/pane_tree.h"
#include "src/cli.h"
#include "ui/batchview.h"
#include "ui/text.h"
#include "ui/textshot.h"
#include "ui/views.h"

enum { FR_MAIN = 1, FR_RUN, FR_COMPUTE, FR_PARSE, FR_IDLE, FR_THREAD0 = 200 };

#define SEC 1000000000ull

struct fix {
    struct fake_resolver *fake;
    struct resolver r;
    struct model *m;
    uint32_t main_, run, compute, parse, idle;
    struct lv_leaf leaves[8];
    size_t nleaves;
    struct live_frame *f;
};

static int setup(void **state)
{
    struct fix *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->fake = fake_resolver_new();
    struct fake_resolver *f = x->fake;
    x->main_ = fake_func(f, "main", "app", "src/main.c", 10);
    x->run = fake_func(f, "run", "app", "src/main.c", 20);
    x->compute = fake_func(f, "compute_inner", "app", "src/work.c", 30);
    x->parse = fake_func(f, "parse_input", "libparse.so", "parse.c", 40);
    x->idle = fake_func(f, "idle_wait", "libc.so.6", NULL, 0);
    fake_frame(f, FR_MAIN, 1, &x->main_);
    fake_frame(f, FR_RUN, 1, &x->run);
    fake_frame(f, FR_COMPUTE, 1, &x->compute);
    fake_frame(f, FR_PARSE, 1, &x->parse);
    fake_frame(f, FR_IDLE, 1, &x->idle);
    x->r = fake_resolver_iface(f);
    x->m = model_new(NULL);
    x->f = live_frame_new();
    assert_non_null(x->m);
    assert_non_null(x->f);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fix *x = *state;
    live_frame_free(x->f);
    model_free(x->m);
    fake_resolver_free(x->fake);
    free(x);
    return 0;
}

/* count samples of main;run;leaf for tid at time t; remembers the leaf. */
static void add(struct fix *x, pid_t tid, const char *name, uint64_t t, unsigned count,
                frame_id leaf)
{
    frame_id st[3] = {leaf, FR_RUN, FR_MAIN};
    uint32_t node = 0;
    for (unsigned k = 0; k < count; k++)
        node = model_add(x->m, tid, name, 'R', FR_THREAD0 + (frame_id)tid, st, 3, SAMPLE_ONCPU, t,
                         FRAME_NONE);
    size_t i = 0;
    while (i < x->nleaves && x->leaves[i].tid != tid)
        i++;
    x->leaves[i] = (struct lv_leaf){tid, node};
    if (i == x->nleaves)
        x->nleaves++;
}

/* Thread 1 "main": 60 compute early, thread 2 "mixworker-1": 30 parse
 * early and 10 compute late.  Early = t 1 s, late = t 20 s. */
static void add_mix(struct fix *x)
{
    add(x, 1, "main", 1 * SEC, 60, FR_COMPUTE);
    add(x, 2, "mixworker-1", 1 * SEC, 30, FR_PARSE);
    add(x, 2, "mixworker-1", 20 * SEC, 10, FR_COMPUTE);
}

static const struct lv_hot_row *hot(const struct live_frame *f, const char *name)
{
    for (size_t i = 0; i < f->nhot; i++)
        if (!strcmp(f->hot[i].name, name))
            return &f->hot[i];
    return NULL;
}

static void test_hot_cumulative(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    assert_int_equal(lv_build_hot(x->m, &x->r, false, 21 * SEC, 0, 100.0, x->f), 0);
    assert_int_equal(x->f->hot_samples, 100);
    const struct lv_hot_row *c = hot(x->f, "compute_inner");
    assert_non_null(c);
    assert_int_equal(c->self, 70);
    assert_true(c->self_pct > 69.9 && c->self_pct < 70.1);
    assert_true(c->self_s > 0.69 && c->self_s < 0.71); /* 70 samples at 100 Hz */
    assert_string_equal(c->module, "app");
    assert_string_equal(c->file, "src/work.c");
    const struct lv_hot_row *m = hot(x->f, "main");
    assert_int_equal(m->self, 0);
    assert_true(m->total_pct > 99.9);
}

static void test_hot_recent_and_thread(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    /* recent (5 s) at 21 s: only the 10 late samples */
    lv_build_hot(x->m, &x->r, true, 21 * SEC, 0, 100.0, x->f);
    assert_int_equal(x->f->hot_samples, 10);
    assert_null(hot(x->f, "parse_input"));
    assert_true(hot(x->f, "compute_inner")->self_pct > 99.9);
    assert_true(x->f->recent);
    /* one thread, cumulative */
    lv_build_hot(x->m, &x->r, false, 21 * SEC, 2, 100.0, x->f);
    assert_int_equal(x->f->hot_samples, 40);
    assert_true(hot(x->f, "parse_input")->self_pct > 74.9);
    assert_int_equal(x->f->tid, 2);
    /* an unknown thread: nothing */
    lv_build_hot(x->m, &x->r, false, 21 * SEC, 99, 100.0, x->f);
    assert_int_equal(x->f->nhot, 0);
}

static const char *name_at(const struct live_frame *f, const size_t *idx, size_t i)
{
    return f->hot[idx[i]].name;
}

static void test_hot_sort_and_filter(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    lv_build_hot(x->m, &x->r, false, 21 * SEC, 0, 100.0, x->f);
    struct ui_state st;
    ui_state_init(&st);
    size_t idx[16];
    size_t n = pane_hot_order(x->f, &st, idx);
    assert_int_equal(n, 4);
    assert_string_equal(name_at(x->f, idx, 0), "compute_inner"); /* most self */
    assert_string_equal(name_at(x->f, idx, 1), "parse_input");
    st.hot_sort = HC_TOTAL;
    pane_hot_order(x->f, &st, idx);
    /* main and run both 100%: ties by self then name */
    assert_string_equal(name_at(x->f, idx, 0), "main");
    assert_string_equal(name_at(x->f, idx, 1), "run");
    st.hot_sort = HC_FUNC;
    st.hot_asc = true;
    pane_hot_order(x->f, &st, idx);
    assert_string_equal(name_at(x->f, idx, 0), "compute_inner");
    assert_string_equal(name_at(x->f, idx, 3), "run");
    st.hot_sort = HC_MODULE;
    st.hot_asc = false;
    pane_hot_order(x->f, &st, idx);
    assert_string_equal(name_at(x->f, idx, 0), "parse_input"); /* libparse.so > app */
    st.hot_sort = HC_FILE;
    st.hot_asc = true;
    pane_hot_order(x->f, &st, idx);
    assert_string_equal(name_at(x->f, idx, 0), "main"); /* main.c:10 before main.c:20 */
    assert_string_equal(name_at(x->f, idx, 1), "run");
    strcpy(st.filter, "INPUT");
    n = pane_hot_order(x->f, &st, idx);
    assert_int_equal(n, 1); /* case-insensitive */
    assert_string_equal(name_at(x->f, idx, 0), "parse_input");
    strcpy(st.filter, "nothing-like-it");
    assert_int_equal(pane_hot_order(x->f, &st, idx), 0);
}

static void test_hot_row_text(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    lv_build_hot(x->m, &x->r, false, 21 * SEC, 0, 100.0, x->f);
    struct ui_line l;
    pane_hot_row(hot(x->f, "compute_inner"), 100, &l);
    assert_non_null(strstr(l.text, "70.0%"));
    assert_non_null(strstr(l.text, "compute_inner"));
    assert_non_null(strstr(l.text, "work.c:30")); /* basename:line */
    assert_non_null(strstr(l.text, "app"));
    assert_true(line_width(&l) <= 100);
    pane_hot_row(hot(x->f, "compute_inner"), 40, &l);
    assert_true(line_width(&l) <= 40);
    assert_null(strstr(l.text, "work.c")); /* narrow: no file column */
    pane_hot_header(NULL, 100, &l);
    assert_int_equal(line_width(&l), 100);
    assert_int_equal(pane_hot_col_at(100, 2), HC_SELF);
    assert_int_equal(pane_hot_col_at(100, 30), HC_FUNC);
}

static const struct lv_thread_row *thr(const struct live_frame *f, pid_t tid)
{
    for (size_t i = 0; i < f->nthr; i++)
        if (f->thr[i].tid == tid)
            return &f->thr[i];
    return NULL;
}

static void test_threads_from_model(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    assert_int_equal(
        lv_build_threads(x->m, &x->r, false, 21 * SEC, 0, x->leaves, x->nleaves, NULL, x->f), 0);
    assert_int_equal(x->f->nthr, 2);
    const struct lv_thread_row *w = thr(x->f, 2);
    assert_string_equal(w->name, "mixworker-1");
    assert_int_equal(w->samples, 40);
    assert_true(w->share_pct > 39.9 && w->share_pct < 40.1);
    assert_string_equal(w->func, "compute_inner"); /* its latest sample */
    assert_false(w->have_cpu);
    /* recent: thread 1 has nothing left in the window */
    lv_build_threads(x->m, &x->r, true, 21 * SEC, 0, x->leaves, x->nleaves, NULL, x->f);
    assert_int_equal(thr(x->f, 1)->samples, 0);
    assert_true(thr(x->f, 2)->share_pct > 99.9);
    /* limited to one thread */
    lv_build_threads(x->m, &x->r, false, 21 * SEC, 1, x->leaves, x->nleaves, NULL, x->f);
    assert_int_equal(x->f->nthr, 1);
    assert_int_equal(x->f->thr[0].tid, 1);
}

static struct procstat_snapshot *make_ps(void)
{
    struct procstat_snapshot *ps = calloc(1, sizeof *ps);
    assert_non_null(ps);
    ps->alive = true;
    ps->cpu_pct = 150.0;
    ps->nthreads = 3;
    ps->nfds = 7;
    ps->mem = (struct procstat_mem){
        .rss_kib = 20480, .anon_kib = 16384, .file_kib = 4096, .hwm_kib = 30720, .valid = true};
    ps->rss_growth_kib_s = 2048;
    ps->minflt_ps = 512;
    ps->io.valid = true;
    ps->read_bps = 1048576;
    ps->write_bps = 2 * 1048576;
    ps->nthread_rows = 3;
    ps->threads[0] =
        (struct procstat_thread){.tid = 1, .name = "main", .state = 'R', .cpu_pct = 99.0};
    ps->threads[1] = (struct procstat_thread){
        .tid = 2, .name = "mixworker-1", .state = 'S', .cpu_pct = 51.0, .write_bps = 2 * 1048576};
    ps->threads[2] = (struct procstat_thread){.tid = 3, .name = "blocker", .state = 'S'};
    ps->threads[2].wait = (struct procstat_wait){
        .blocked = true, .syscall = "read", .fd = 5, .target = "pipe:[4242]", .blocked_s = 12.0};
    for (int i = 0; i < 60; i++)
        ps->rss_history_kib[i] = 1024u * (uint64_t)(i + 1);
    ps->nhistory = 60;
    return ps;
}

static void test_threads_with_procstat(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct procstat_snapshot *ps = make_ps();
    lv_build_threads(x->m, &x->r, false, 21 * SEC, 0, x->leaves, x->nleaves, ps, x->f);
    assert_int_equal(x->f->nthr, 3); /* the never-sampled blocker too */
    const struct lv_thread_row *b = thr(x->f, 3);
    assert_true(b->wait.blocked);
    assert_null(b->func);
    assert_int_equal(b->samples, 0);
    const struct lv_thread_row *w = thr(x->f, 2);
    assert_true(w->have_cpu);
    assert_int_equal(w->state, 'S'); /* procfs is fresher than the last sample */
    assert_int_equal(w->samples, 40);
    struct ui_state st;
    ui_state_init(&st);
    size_t idx[8];
    assert_int_equal(pane_threads_order(x->f, &st, idx), 3);
    assert_int_equal(x->f->thr[idx[0]].tid, 1); /* CPU% descending */
    assert_int_equal(x->f->thr[idx[2]].tid, 3);
    st.thr_sort = TC_NAME;
    st.thr_asc = true;
    pane_threads_order(x->f, &st, idx);
    assert_string_equal(x->f->thr[idx[0]].name, "blocker");
    st.tid = 2;
    assert_int_equal(pane_threads_order(x->f, &st, idx), 1);
    struct ui_line l;
    pane_threads_row(w, 0, 80, false, &l);
    assert_non_null(strstr(l.text, "mixworker-1"));
    assert_non_null(strstr(l.text, "51.0"));
    assert_non_null(strstr(l.text, "compute_inner"));
    free(ps);
}

static size_t find_line(const struct ui_line *l, size_t n, const char *needle)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(l[i].text, needle))
            return i + 1;
    return 0;
}

static void test_mem_io_panes(void **state)
{
    struct fix *x = *state;
    struct procstat_snapshot *ps = make_ps();
    x->f->ps = *ps;
    x->f->have_ps = true;
    lv_build_threads(x->m, &x->r, false, 0, 0, NULL, 0, ps, x->f);
    struct ui_line lines[64];
    size_t n = pane_mem_lines(x->f, 60, 10, true, 1.0, lines, 64);
    assert_int_equal(n, 10); /* title, 3 numbers, caption, 5 graph rows */
    assert_true(find_line(lines, n, "RSS 20.0M"));
    assert_true(find_line(lines, n, "peak 30.0M"));
    assert_true(find_line(lines, n, "growth +2.0M/s"));
    assert_true(find_line(lines, n, "anon 16.0M"));
    assert_true(find_line(lines, n, "minor 512"));
    assert_int_equal(line_width(&lines[9]), 60); /* graph rows span the pane */
    n = pane_io_lines(x->f, &(struct ui_state){0}, 80, lines, 64);
    assert_true(find_line(lines, n, "read 1.0M/s"));
    assert_true(find_line(lines, n, "write 2.0M/s"));
    assert_true(find_line(lines, n, "fds 7"));
    size_t b = find_line(lines, n, "blocker");
    assert_true(b);
    assert_non_null(strstr(lines[b - 1].text, "read"));
    assert_non_null(strstr(lines[b - 1].text, "pipe:[4242]"));
    assert_non_null(strstr(lines[b - 1].text, "12.0s"));
    assert_true(find_line(lines, n, "mixworker-1")); /* the thread doing I/O */
    x->f->have_ps = false;
    n = pane_mem_lines(x->f, 60, 10, true, 1.0, lines, 64);
    assert_true(find_line(lines, n, "unavailable"));
    free(ps);
}

static void test_graph(void **state)
{
    (void)state;
    uint64_t v[4] = {0, 50, 100, 100};
    struct ui_line l[2];
    line_init(&l[0], ROLE_NORMAL);
    line_init(&l[1], ROLE_NORMAL);
    graph_draw(v, 4, 100, 3, 2, false, ROLE_GRAPH, l);
    /* ASCII: one value per column, newest right; 4 half-steps tall */
    assert_string_equal(l[0].text, " ##");
    assert_string_equal(l[1].text, "###");
    line_init(&l[0], ROLE_NORMAL);
    graph_draw(v, 4, 100, 2, 1, true, ROLE_GRAPH, l);
    /* braille: two values per cell; 0|50 and 100|100 */
    assert_int_equal(line_width(&l[0]), 2);
    assert_string_equal(l[0].text, "\xe2\xa2\xa0\xe2\xa3\xbf"); /* U+28A0, U+28FF */
}

static void test_text_helpers(void **state)
{
    (void)state;
    char b[32];
    fmt_kib(b, sizeof b, 0);
    assert_string_equal(b, "0");
    fmt_kib(b, sizeof b, 512);
    assert_string_equal(b, "512K");
    fmt_kib(b, sizeof b, 1536);
    assert_string_equal(b, "1.5M");
    fmt_rate(b, sizeof b, 2.5 * 1048576);
    assert_string_equal(b, "2.5M/s");
    fmt_secs(b, sizeof b, 125);
    assert_string_equal(b, "2:05");
    struct ui_line l;
    line_init(&l, ROLE_NORMAL);
    line_add(&l, ROLE_VALUE, "abc");
    line_col(&l, ROLE_NORMAL, "\xe2\xa3\xbfxyz", 3, false);
    assert_int_equal(line_width(&l), 6);
    line_cut(&l, 4);
    assert_string_equal(l.text, "abc\xe2\xa3\xbf");
    assert_int_equal(l.nspan, 1);
}

static void test_snapshot_text(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct procstat_snapshot *ps = make_ps();
    lv_build_hot(x->m, &x->r, false, 21 * SEC, 0, 100.0, x->f);
    lv_build_threads(x->m, &x->r, false, 21 * SEC, 0, x->leaves, x->nleaves, ps, x->f);
    x->f->ps = *ps;
    x->f->have_ps = true;
    x->f->run = (struct run_info){.pid = 4242,
                                  .engine = "perf",
                                  .engine_detail = "task-clock",
                                  .samples = 100,
                                  .rate_asked = 99,
                                  .rate_achieved = 98.5,
                                  .exited = true};
    strcpy(x->f->run.cmdline, "app --fast");
    struct ui_state st;
    ui_state_init(&st);
    st.recent = false;
    st.paused = true;
    struct textshot_opts o = {.shown = {true, true, true, true},
                              .width = 100,
                              .max_rows = 2,
                              .hdr = {.ncpu = 2, .interval_s = 1.0, .utf8 = false}};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(textshot_write(f, x->f, &st, &o), 0);
    fclose(f);
    assert_non_null(strstr(buf, "PID 4242"));
    assert_non_null(strstr(buf, "PAUSED"));
    assert_non_null(strstr(buf, "process exited"));
    assert_non_null(strstr(buf, "app --fast"));
    /* the engine next to the rate it holds */
    assert_non_null(strstr(buf, "rate 99 Hz asked, 98.5 achieved (perf)"));
    assert_non_null(strstr(buf, "150.0%"));
    assert_non_null(strstr(buf, "Hot functions (cumulative)"));
    assert_non_null(strstr(buf, "compute_inner"));
    assert_null(strstr(buf, "run ")); /* max_rows 2: compute_inner, parse_input */
    assert_non_null(strstr(buf, "mixworker-1"));
    assert_non_null(strstr(buf, "RSS 20.0M"));
    assert_non_null(strstr(buf, "pipe:[4242]"));
    assert_null(strstr(buf, " \n")); /* no trailing blanks */
    assert_null(strchr(buf, '\033'));
    assert_non_null(strstr(buf, "verdict -")); /* none yet, and the process exited */
    free(buf);
    /* the verdict's first finding under the header, with the count of the rest */
    snprintf(x->f->run.verdict[0], sizeof x->f->run.verdict[0], "%s",
             "Lock contention 83%: locked_work (app.c:113): blocked in futex on the lock big_lock");
    snprintf(x->f->run.verdict[1], sizeof x->f->run.verdict[1], "%s", "CPU 17%: compute_inner");
    x->f->run.nverdict = 2;
    f = open_memstream(&buf, &len);
    textshot_write(f, x->f, &st, &o);
    fclose(f);
    const char *v = strstr(buf, "verdict (1 of 2, S writes all) Lock contention 83%: locked_work");
    assert_non_null(v);
    assert_true(strstr(buf, "app --fast") < v); /* under the header's lines */
    assert_true(v < strstr(buf, "compute_inner"));
    assert_non_null(strstr(v, "\n        CPU 17%: compute_inner\n")); /* and the rest below */
    free(buf);
    x->f->run.nverdict = 0;
    /* only the panes on screen */
    o.shown[PANE_MEM] = o.shown[PANE_IO] = o.shown[PANE_THREADS] = false;
    f = open_memstream(&buf, &len);
    textshot_write(f, x->f, &st, &o);
    fclose(f);
    assert_null(strstr(buf, "RSS 20.0M"));
    assert_null(strstr(buf, "NOW IN"));
    free(buf);
    free(ps);
}

static void test_snapshot_file(void **state)
{
    struct fix *x = *state;
    char name[256];
    textshot_name(name, sizeof name, "/tmp/d", 77, 0);
    assert_non_null(strstr(name, "/tmp/d/pertop-77-19"));
    assert_int_equal(strlen(strstr(name, "pertop-")), strlen("pertop-77-19700101-000000.txt"));
    char dir[] = "/tmp/pertop-ts.XXXXXX";
    assert_non_null(mkdtemp(dir));
    x->f->run.pid = 77;
    struct ui_state st;
    ui_state_init(&st);
    struct textshot_opts o = {.shown = {true}, .width = 80, .hdr = {.ncpu = 1, .interval_s = 1}};
    char p1[512], p2[512];
    assert_int_equal(textshot_save(dir, x->f, &st, &o, p1, sizeof p1), 0);
    assert_int_equal(textshot_save(dir, x->f, &st, &o, p2, sizeof p2), 0);
    assert_string_not_equal(p1, p2); /* the same second: a -2 name */
    assert_int_equal(access(p1, R_OK), 0);
    assert_int_equal(access(p2, R_OK), 0);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
    assert_true(textshot_save("/nonexistent/dir", x->f, &st, &o, p1, sizeof p1) < 0);
}

/* ------------------------------------------------------------ drill-down views */

static uint64_t *self_of(struct fix *x, const struct zoom *z)
{
    uint64_t *self = lv_self_counts(x->m, &x->r, false, 21 * SEC, z);
    assert_non_null(self);
    return self;
}

static char *render(const struct live_frame *f, const char *crumbs)
{
    struct ui_state st;
    ui_state_init(&st);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(textshot_write_view(out, f, &st, crumbs, 100, 0), 0);
    fclose(out);
    return buf;
}

static void test_func_view_rows(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    uint64_t *self = self_of(x, NULL);
    assert_int_equal(lv_build_func(x->m, &x->r, self, x->run, x->f), 0);
    const struct lv_func *fn = &x->f->fn;
    assert_int_equal(fn->total, 100);
    assert_int_equal(fn->ncallers, 1);
    assert_string_equal(fn->callers[0].name, "main");
    assert_int_equal(fn->ncallees, 2);
    assert_string_equal(fn->callees[0].name, "compute_inner");
    assert_float_equal(fn->callees[0].pct, 70.0, 1e-9);
    assert_string_equal(fn->callees[1].module, "libparse.so");
    /* rows: section, main, section, compute_inner, parse_input */
    assert_int_equal(pane_func_rows(fn), 5);
    assert_int_equal(pane_func_row_func(fn, 0), PANE_FUNC_NONE);
    assert_int_equal(pane_func_row_func(fn, 1), x->main_);
    assert_int_equal(pane_func_row_func(fn, 2), PANE_FUNC_NONE);
    assert_int_equal(pane_func_row_func(fn, 3), x->compute);
    assert_string_equal(pane_func_row_module(fn, 4), "libparse.so");
    struct ui_line l;
    pane_func_row(fn, 3, 80, &l);
    assert_non_null(strstr(l.text, "70.0%"));
    assert_non_null(strstr(l.text, "compute_inner"));
    pane_func_title(fn, "hot > main", 100, &l);
    assert_non_null(strstr(l.text, "hot > main > run"));
    assert_non_null(strstr(l.text, "total 100.0%"));
    x->f->view = LIVE_FUNC;
    char *txt = render(x->f, "hot");
    assert_non_null(strstr(txt, "Callers of run"));
    assert_non_null(strstr(txt, "Callees of run"));
    assert_non_null(strstr(txt, "parse_input"));
    assert_null(strstr(txt, " \n"));
    free(txt);
    /* the leaf: its callees are [self] only */
    assert_int_equal(lv_build_func(x->m, &x->r, self, x->parse, x->f), 0);
    assert_int_equal(x->f->fn.ncallees, 1);
    assert_string_equal(x->f->fn.callees[0].name, "[self]");
    assert_int_equal(pane_func_row_func(&x->f->fn, 3), PANE_FUNC_NONE);
    free(self);
}

static void test_tree_view_rows(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    uint64_t *self = self_of(x, NULL);
    struct drill_expand e = {0};
    drill_expand_set(&e, drill_path_hash(DRILL_ROOT_HASH, x->main_), true);
    struct drill_tree_opts o = {.kind = DRILL_TOPDOWN, .expand = &e};
    assert_int_equal(lv_build_tree(x->m, &x->r, self, &o, x->f), 0);
    assert_int_equal(x->f->ntree, 2);
    assert_string_equal(x->f->tree[0].name, "main");
    assert_true(x->f->tree[0].expanded);
    assert_string_equal(x->f->tree[1].name, "run");
    assert_false(x->f->tree[1].expanded);
    assert_true(x->f->tree[1].has_children);
    struct ui_line l;
    pane_tree_row(&x->f->tree[1], 80, &l);
    assert_non_null(strstr(l.text, "  + run"));
    pane_tree_row(&x->f->tree[0], 80, &l);
    assert_non_null(strstr(l.text, "- main"));
    x->f->view = LIVE_TREE;
    char *txt = render(x->f, "");
    assert_non_null(strstr(txt, "Call tree (top down"));
    assert_non_null(strstr(txt, "TOTAL%"));
    free(txt);
    /* inverted, fully open: leaves first, their callers indented below */
    o = (struct drill_tree_opts){.kind = DRILL_INVERTED, .expand_all = true};
    assert_int_equal(lv_build_tree(x->m, &x->r, self, &o, x->f), 0);
    assert_string_equal(x->f->tree[0].name, "compute_inner");
    assert_float_equal(x->f->tree[0].pct, 70.0, 1e-9);
    assert_string_equal(x->f->tree[1].name, "run");
    assert_int_equal(x->f->tree[1].depth, 1);
    x->f->view = LIVE_INVERTED;
    txt = render(x->f, "");
    assert_non_null(strstr(txt, "Inverted tree"));
    assert_non_null(strstr(txt, "%  - compute_inner"));
    assert_non_null(strstr(txt, "%    - run")); /* one level in */
    free(txt);
    free(self);
}

static void test_views_zoomed(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    /* thread 2 only: the hot list and the threads pane narrow too */
    struct zoom z = {.tid = 2};
    uint64_t *self = self_of(x, &z);
    assert_int_equal(lv_build_hot_self(x->m, &x->r, self, 100.0, x->f), 0);
    assert_int_equal(x->f->hot_samples, 40);
    assert_float_equal(hot(x->f, "parse_input")->self_pct, 75.0, 1e-9);
    assert_int_equal(lv_build_threads_self(x->m, &x->r, self, 2, x->leaves, x->nleaves, NULL, x->f),
                     0);
    assert_int_equal(x->f->nthr, 1);
    assert_int_equal(x->f->thr[0].samples, 40);
    assert_int_equal(x->f->thr[0].func_id, x->compute); /* where it is now */
    free(self);
    /* a module: the samples whose innermost frame is in it */
    z = (struct zoom){0};
    strcpy(z.module, "libparse.so");
    self = self_of(x, &z);
    assert_int_equal(lv_build_hot_self(x->m, &x->r, self, 100.0, x->f), 0);
    assert_int_equal(x->f->hot_samples, 30);
    assert_null(hot(x->f, "compute_inner"));
    free(self);
}

static void test_view_by_name(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    uint64_t *self = self_of(x, NULL);
    struct lv_view_req v = {.view = LIVE_FUNC, .func_name = "parse"};
    struct annot_counts *c = NULL;
    assert_int_equal(lv_build_view(x->m, &x->r, self, &v, NULL, x->f, &c), 0);
    assert_string_equal(x->f->view_err, "");
    assert_int_equal(v.func, x->parse);
    assert_string_equal(x->f->fn.name, "parse_input");
    /* no such function: the reason, nothing built */
    v = (struct lv_view_req){.view = LIVE_FUNC, .func_name = "nothing_like_it"};
    assert_int_equal(lv_build_view(x->m, &x->r, self, &v, NULL, x->f, &c), 0);
    assert_non_null(strstr(x->f->view_err, "nothing_like_it"));
    char *txt = render(x->f, "");
    assert_non_null(strstr(txt, "no sampled function matches"));
    free(txt);
    /* the zoom is described for the header */
    v = (struct lv_view_req){.view = LIVE_TREE, .zoom = {.tid = 2}};
    assert_int_equal(lv_build_view(x->m, &x->r, self, &v, NULL, x->f, &c), 0);
    assert_string_equal(x->f->zoom_desc, "thread 2");
    /* H: the frame brings back the rows it opened */
    v = (struct lv_view_req){.view = LIVE_TREE, .hot_expand = true, .hot_from = DRILL_ROOT_HASH};
    assert_int_equal(lv_build_view(x->m, &x->r, self, &v, NULL, x->f, &c), 0);
    assert_true(x->f->have_expand);
    assert_true(x->f->expand.n >= 2);
    assert_string_equal(x->f->tree[x->f->ntree - 1].name, "parse_input");
    free(self);
}

/* ------------------------------------------------------------ the table of view kinds */

static void test_view_ops_every_kind(void **state)
{
    (void)state;
    struct ui_state st;
    for (int v = 0; v < LIVE_VIEW_COUNT; v++) {
        const struct ui_view_ops *ops = ui_view_ops_of((enum live_view)v);
        assert_int_equal(ops->kind, v); /* its own entry, not the fallback */
        assert_non_null(ops->batch_name);
        assert_non_null(ops->crumb);
        assert_non_null(ops->status_keys);
        assert_true(ops->nstatus_keys > 0);
        assert_non_null(ops->write);
        assert_true(ops->expand_slot < sizeof st.expand / sizeof st.expand[0]);
        if (v != LIVE_MAIN) {
            assert_non_null(ops->key);
            assert_non_null(ops->rows);
            assert_non_null(ops->cursor);
            assert_non_null(ops->title);
            assert_non_null(ops->header);
            assert_non_null(ops->row);
        }
        for (int w = 0; w < v; w++) {
            const struct ui_view_ops *o = ui_view_ops_of((enum live_view)w);
            assert_int_not_equal(o->cli, ops->cli);
            assert_string_not_equal(o->batch_name, ops->batch_name);
            assert_false(ops->open_key && o->open_key == ops->open_key);
        }
    }
    assert_ptr_equal(ui_view_ops_of(LIVE_VIEW_COUNT), ui_view_ops_of(LIVE_MAIN));
    /* the two trees keep their open rows apart */
    assert_int_not_equal(ui_view_ops_of(LIVE_TREE)->expand_slot,
                         ui_view_ops_of(LIVE_INVERTED)->expand_slot);
}

/* Each entry's batch name, through the real option parser, comes back as
 * the entry, and the batch request asks for its kind. */
static void test_view_ops_batch_names(void **state)
{
    (void)state;
    for (int v = 0; v < LIVE_VIEW_COUNT; v++) {
        const struct ui_view_ops *ops = ui_view_ops_of((enum live_view)v);
        char arg[64], err[256];
        snprintf(arg, sizeof arg, "%s%s", ops->batch_name, ops->about_func ? ":parse_input" : "");
        char *argv[] = {"pertop", "--batch", "--view", arg, "--pid", "1", NULL};
        struct cli_opts o;
        assert_int_equal(cli_parse(6, argv, &o, err, sizeof err), CLI_RUN);
        assert_int_equal(o.view, ops->cli);
        assert_ptr_equal(ui_view_ops_cli(o.view), ops);
        if (ops->about_func)
            assert_string_equal(o.view_func, "parse_input");
        else
            assert_null(o.view_func);
        struct live_req req;
        batchview_request(&o, &req);
        assert_int_equal(req.v.view, v);
    }
}

/* What the key machine learns of the row under the cursor. */
static void test_view_ops_cursor(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    uint64_t *self = self_of(x, NULL);
    struct drill_expand e = {0};
    drill_expand_set(&e, drill_path_hash(DRILL_ROOT_HASH, x->main_), true);
    struct drill_tree_opts o = {.kind = DRILL_TOPDOWN, .expand = &e};
    assert_int_equal(lv_build_tree(x->m, &x->r, self, &o, x->f), 0);
    x->f->view = LIVE_TREE;
    const struct ui_view_ops *ops = ui_view_ops_of(LIVE_TREE);
    assert_int_equal(ops->rows(x->f), 2);
    struct ui_key_ctx c;
    ui_ctx_init(&c);
    ops->cursor(x->f, 1, &c);
    assert_int_equal(c.cursor_func, x->run);
    assert_string_equal(c.cursor_func_name, "run");
    assert_true(c.cursor_has_children);
    assert_false(c.cursor_expanded);
    assert_int_equal(c.cursor_parent, 0);
    assert_int_equal(c.cursor_npath, 2); /* Z zooms into main > run */
    assert_int_equal(c.cursor_path[0], x->main_);
    assert_int_equal(c.cursor_path[1], x->run);
    /* inverted rows are no paths from the root: Z zooms into the function */
    o = (struct drill_tree_opts){.kind = DRILL_INVERTED, .expand_all = true};
    assert_int_equal(lv_build_tree(x->m, &x->r, self, &o, x->f), 0);
    x->f->view = LIVE_INVERTED;
    ui_ctx_init(&c);
    ui_view_ops_of(LIVE_INVERTED)->cursor(x->f, 1, &c);
    assert_int_equal(c.cursor_func, x->run);
    assert_int_equal(c.cursor_npath, 0);
    /* the function view: the callee under the cursor, the function's module */
    assert_int_equal(lv_build_func(x->m, &x->r, self, x->run, x->f), 0);
    x->f->view = LIVE_FUNC;
    ops = ui_view_ops_of(LIVE_FUNC);
    assert_int_equal(ops->rows(x->f), 5);
    ui_ctx_init(&c);
    ops->cursor(x->f, 3, &c);
    assert_int_equal(c.cursor_func, x->compute);
    assert_string_equal(c.cursor_func_name, "compute_inner");
    assert_string_equal(c.cursor_module, "app");
    ops->cursor(x->f, 0, &c); /* the "Callers" section line */
    assert_int_equal(c.cursor_func, PANE_FUNC_NONE);
    assert_null(c.cursor_func_name);
    free(self);
}

/* A source or instruction view that could not be built (out of memory). */
static void test_view_ops_no_annot(void **state)
{
    struct fix *x = *state;
    x->f->view = LIVE_ASM;
    const struct ui_view_ops *ops = ui_view_ops_of(LIVE_ASM);
    assert_int_equal(ops->rows(x->f), 0);
    struct ui_line l;
    ops->title(x->f, "hot > run", 80, &l);
    assert_string_equal(l.text, " no instruction view: out of memory");
    ops->header(x->f, 80, &l); /* nothing to head: the warning stays */
    assert_string_equal(l.text, " no instruction view: out of memory");
    char *txt = render(x->f, "hot > run");
    assert_string_equal(txt, "hot > run\n(instruction view not available)\n");
    free(txt);
    x->f->view = LIVE_SOURCE;
    txt = render(x->f, "");
    assert_string_equal(txt, "(source view not available)\n");
    free(txt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hot_cumulative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hot_recent_and_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hot_sort_and_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hot_row_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_from_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_with_procstat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_io_panes, setup, teardown),
        cmocka_unit_test(test_graph),
        cmocka_unit_test(test_text_helpers),
        cmocka_unit_test_setup_teardown(test_snapshot_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_func_view_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_view_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views_zoomed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_by_name, setup, teardown),
        cmocka_unit_test(test_view_ops_every_kind),
        cmocka_unit_test(test_view_ops_batch_names),
        cmocka_unit_test_setup_teardown(test_view_ops_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_ops_no_annot, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
