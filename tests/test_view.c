/*
 * test_view.c - hot functions, distinct stacks, the text snapshot and the
 * folded format, on a model filled with plain data and a fake resolver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_resolver.h"
#include "src/model/model.h"
#include "src/export/snapshot.h"
#include "src/model/view.h"

/* Frame ids: each stands for one pc; the fake resolver says which function
 * chain (innermost first) it resolves to. */
enum {
    FR_MAIN = 1,
    FR_RUN,
    FR_COMPUTE,
    FR_PARSE,
    FR_CHECKSUM_INL, /* mix_bits inlined into checksum */
    FR_FIB_A,        /* two pcs in fib */
    FR_FIB_B,
    FR_EVEN,
    FR_ODD,
    FR_FIB_INL, /* fib inlined into fib */
    FR_LONG,
    FR_WEIRD,
    FR_NOSYM,
    FR_OVERFLOW,
    FR_PY_MAIN_A, /* two Python mains, of two files */
    FR_PY_MAIN_B,
    FR_PY_LEAF,
    FR_THREAD0 = 200, /* + tid: thread pseudo-frames, never resolved */
};

struct fix {
    struct fake_resolver *fake;
    struct resolver r;
    struct model *m;
    uint32_t main_, run, compute, parse, checksum, mix_bits, fib, even, odd, longname, weird, nosym;
};

static const char LONG_NAME[] = "a_rather_long_function_name_that_goes_on_and_on_for_ninety_"
                                "characters_or_so_xyz";

static int setup(void **state)
{
    struct fix *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    x->fake = fake_resolver_new();
    assert_non_null(x->fake);
    struct fake_resolver *f = x->fake;
    x->main_ = fake_func(f, "main", "app", "main.c", 10);
    x->run = fake_func(f, "run", "app", "main.c", 20);
    x->compute = fake_func(f, "compute", "app", "work.c", 30);
    x->parse = fake_func(f, "parse", "libparse.so", "parse.c", 40);
    x->checksum = fake_func(f, "checksum", "app", "sum.c", 50);
    x->mix_bits = fake_func(f, "mix_bits", "app", "sum.h", 60);
    x->fib = fake_func(f, "fib", "app", "fib.c", 70);
    x->even = fake_func(f, "even", "app", "parity.c", 80);
    x->odd = fake_func(f, "odd", "app", "parity.c", 90);
    x->longname = fake_func(f, LONG_NAME, "app", "long.c", 100);
    x->weird = fake_func(f, "operator;weird\nname", "app", NULL, 0);
    x->nosym = fake_func(f, "libstripped.so+0x1f3", "libstripped.so", NULL, 0);
    uint32_t ovf = fake_func(f, "[call tree full]", "", NULL, 0);
    fake_frame(f, FR_MAIN, 1, &x->main_);
    fake_frame(f, FR_RUN, 1, &x->run);
    fake_frame(f, FR_COMPUTE, 1, &x->compute);
    fake_frame(f, FR_PARSE, 1, &x->parse);
    fake_frame(f, FR_CHECKSUM_INL, 2, (uint32_t[]){x->mix_bits, x->checksum});
    fake_frame(f, FR_FIB_A, 1, &x->fib);
    fake_frame(f, FR_FIB_B, 1, &x->fib);
    fake_frame(f, FR_EVEN, 1, &x->even);
    fake_frame(f, FR_ODD, 1, &x->odd);
    fake_frame(f, FR_FIB_INL, 2, (uint32_t[]){x->fib, x->fib});
    fake_frame(f, FR_LONG, 1, &x->longname);
    fake_frame(f, FR_WEIRD, 1, &x->weird);
    fake_frame(f, FR_NOSYM, 1, &x->nosym);
    fake_frame(f, FR_OVERFLOW, 1, &ovf);
    x->r = fake_resolver_iface(f);
    x->m = model_new(NULL);
    assert_non_null(x->m);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fix *x = *state;
    model_free(x->m);
    fake_resolver_free(x->fake);
    free(x);
    return 0;
}

/* Adds count samples of a stack given root first. */
static void add(struct fix *x, pid_t tid, const char *name, uint64_t time_ns, unsigned count,
                size_t n, const frame_id *root_first)
{
    frame_id leaf_first[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        leaf_first[i] = root_first[n - 1 - i];
    for (unsigned k = 0; k < count; k++)
        model_add(x->m, tid, name, 'R', FR_THREAD0 + (frame_id)tid, leaf_first, n, SAMPLE_ONCPU,
                  time_ns, FR_OVERFLOW);
}

#define ADD(x, tid, name, t, count, ...)                                                           \
    add(x, tid, name, t, count, sizeof((frame_id[]){__VA_ARGS__}) / sizeof(frame_id),              \
        (const frame_id[]){__VA_ARGS__})

/* The basic mix: 10 samples of thread 1. */
static void add_mix(struct fix *x)
{
    ADD(x, 1, "worker", 100, 6, FR_MAIN, FR_RUN, FR_COMPUTE);
    ADD(x, 1, "worker", 100, 3, FR_MAIN, FR_RUN, FR_PARSE);
    ADD(x, 1, "worker", 100, 1, FR_MAIN, FR_RUN, FR_CHECKSUM_INL);
}

static const struct hot_row *row_of(const struct hot_table *t, uint32_t func)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].func == func)
            return &t->rows[i];
    return NULL;
}

static void assert_row(const struct hot_table *t, uint32_t func, uint64_t self, uint64_t total)
{
    const struct hot_row *r = row_of(t, func);
    assert_non_null(r);
    assert_int_equal(r->self, self);
    assert_int_equal(r->total, total);
}

static struct view_opts opts(void)
{
    return (struct view_opts){.window = MODEL_CUMULATIVE, .sort = SORT_SELF};
}

/* ------------------------------------------------------------ view_hot */

static void test_hot_self_total_pct(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct view_opts o = opts();
    struct hot_table t;
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.samples, 10);
    assert_int_equal(t.n, 6); /* main run compute parse checksum mix_bits */
    assert_row(&t, x->compute, 6, 6);
    assert_row(&t, x->parse, 3, 3);
    /* Self goes to the innermost function of an inline chain. */
    assert_row(&t, x->mix_bits, 1, 1);
    assert_row(&t, x->checksum, 0, 1);
    assert_row(&t, x->run, 0, 10);
    assert_row(&t, x->main_, 0, 10);
    assert_float_equal(row_of(&t, x->compute)->self_pct, 60.0, 1e-9);
    assert_float_equal(row_of(&t, x->main_)->total_pct, 100.0, 1e-9);
    assert_float_equal(row_of(&t, x->checksum)->total_pct, 10.0, 1e-9);
    /* The thread level is skipped: no row for an unresolved thread frame. */
    assert_null(row_of(&t, 0));
    /* Sorted by self, descending; ties (0 self) by total, then name. */
    assert_int_equal(t.rows[0].func, x->compute);
    assert_int_equal(t.rows[1].func, x->parse);
    assert_int_equal(t.rows[2].func, x->mix_bits);
    assert_int_equal(t.rows[3].func, x->main_); /* total 10, "main" < "run" */
    assert_int_equal(t.rows[4].func, x->run);
    assert_int_equal(t.rows[5].func, x->checksum);
    hot_table_free(&t);
}

static void test_hot_recursion_counted_once(void **state)
{
    struct fix *x = *state;
    /* Direct recursion through two pcs of fib, and a shallow fib. */
    ADD(x, 1, "w", 1, 4, FR_MAIN, FR_FIB_A, FR_FIB_B, FR_FIB_A);
    ADD(x, 1, "w", 1, 1, FR_MAIN, FR_FIB_A);
    /* Recursion inside one inline chain, under recursion across nodes. */
    ADD(x, 1, "w", 1, 1, FR_MAIN, FR_FIB_INL, FR_FIB_INL);
    /* Mutual recursion. */
    ADD(x, 1, "w", 1, 2, FR_MAIN, FR_EVEN, FR_ODD, FR_EVEN, FR_ODD);
    struct view_opts o = opts();
    struct hot_table t;
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.samples, 8);
    assert_row(&t, x->fib, 6, 6);
    assert_row(&t, x->even, 0, 2);
    assert_row(&t, x->odd, 2, 2);
    assert_row(&t, x->main_, 0, 8);
    assert_float_equal(row_of(&t, x->fib)->total_pct, 75.0, 1e-9);
    /* No total ever exceeds the samples. */
    for (size_t i = 0; i < t.n; i++)
        assert_true(t.rows[i].total <= t.samples);
    hot_table_free(&t);
}

static void test_hot_per_thread(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    ADD(x, 2, "other", 100, 4, FR_MAIN, FR_PARSE);
    struct view_opts o = opts();
    struct hot_table t;

    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.samples, 14);
    assert_row(&t, x->parse, 7, 7);
    assert_float_equal(row_of(&t, x->parse)->self_pct, 50.0, 1e-9);
    hot_table_free(&t);

    o.tid = 2;
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.samples, 4);
    assert_int_equal(t.n, 2);
    assert_row(&t, x->parse, 4, 4);
    assert_row(&t, x->main_, 0, 4);
    assert_null(row_of(&t, x->compute));
    assert_float_equal(row_of(&t, x->parse)->self_pct, 100.0, 1e-9);
    hot_table_free(&t);

    o.tid = 99; /* never seen: an empty selection, not an error */
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.samples, 0);
    assert_int_equal(t.n, 0);
    hot_table_free(&t);
}

static void test_hot_filter(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct view_opts o = opts();
    o.filter = "COMP";
    struct hot_table t;
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.rows[0].func, x->compute);
    /* Percentages stay of the whole selection. */
    assert_int_equal(t.samples, 10);
    assert_float_equal(t.rows[0].self_pct, 60.0, 1e-9);
    hot_table_free(&t);

    o.filter = "s"; /* parse, checksum, mix_bits */
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.rows[0].func, x->parse);
    hot_table_free(&t);

    o.filter = "nothing-like-this";
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.n, 0);
    hot_table_free(&t);
}

static void test_hot_sorting(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    ADD(x, 1, "worker", 100, 3, FR_MAIN, FR_FIB_A); /* ties parse on self and total */
    struct view_opts o = opts();
    struct hot_table t;

    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    /* compute 6, then fib and parse tie at 3/3: by name. */
    assert_int_equal(t.rows[0].func, x->compute);
    assert_int_equal(t.rows[1].func, x->fib);
    assert_int_equal(t.rows[2].func, x->parse);
    hot_table_free(&t);

    o.ascending = true;
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    /* Ascending self: the zero-self rows first, ties still main, run, checksum. */
    assert_int_equal(t.rows[0].func, x->main_);
    assert_int_equal(t.rows[1].func, x->run);
    assert_int_equal(t.rows[2].func, x->checksum);
    assert_int_equal(t.rows[t.n - 1].func, x->compute);
    hot_table_free(&t);

    o.sort = SORT_TOTAL;
    o.ascending = false;
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.rows[0].func, x->main_);
    assert_int_equal(t.rows[1].func, x->run);
    assert_int_equal(t.rows[2].func, x->compute);
    hot_table_free(&t);

    o.sort = SORT_NAME;
    o.ascending = true;
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    const char *want[] = {"checksum", "compute", "fib", "main", "mix_bits", "parse", "run"};
    assert_int_equal(t.n, 7);
    for (size_t i = 0; i < t.n; i++)
        assert_string_equal(x->r.func(x->r.ctx, t.rows[i].func)->name, want[i]);
    hot_table_free(&t);

    o.sort = SORT_MODULE;
    o.ascending = false;
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    /* "libparse.so" > "app" descending; within "app" by self. */
    assert_int_equal(t.rows[0].func, x->parse);
    assert_int_equal(t.rows[1].func, x->compute);
    assert_int_equal(t.rows[2].func, x->fib);
    hot_table_free(&t);
}

static void test_hot_recent_vs_cumulative(void **state)
{
    struct fix *x = *state;
    const uint64_t s = 1000000000ull;
    ADD(x, 1, "w", 1 * s, 5, FR_MAIN, FR_COMPUTE);  /* long ago */
    ADD(x, 1, "w", 20 * s, 2, FR_MAIN, FR_PARSE);   /* recent */
    ADD(x, 1, "w", 22 * s, 1, FR_MAIN, FR_COMPUTE); /* recent */
    struct view_opts o = opts();
    struct hot_table t;

    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.samples, 8);
    assert_row(&t, x->compute, 6, 6);
    hot_table_free(&t);

    o.window = MODEL_RECENT;
    o.now_ns = 23 * s; /* default window: 5 s */
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.samples, 3);
    assert_row(&t, x->compute, 1, 1);
    assert_row(&t, x->parse, 2, 2);
    assert_int_equal(t.rows[0].func, x->parse);
    assert_float_equal(row_of(&t, x->parse)->self_pct, 200.0 / 3.0, 1e-9);
    hot_table_free(&t);

    o.now_ns = 60 * s; /* all expired */
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_int_equal(t.samples, 0);
    assert_int_equal(t.n, 0);
    hot_table_free(&t);
}

static void test_hot_deep_stack(void **state)
{
    struct fix *x = *state;
    /* 600 frames of fib: the walk must not recurse on the C stack, and
     * fib counts once. */
    frame_id deep[600];
    deep[0] = FR_MAIN;
    for (int i = 1; i < 600; i++)
        deep[i] = i % 2 ? FR_FIB_A : FR_FIB_B;
    frame_id leaf_first[600];
    for (int i = 0; i < 600; i++)
        leaf_first[i] = deep[599 - i];
    model_add(x->m, 1, "w", 'R', FR_THREAD0 + 1, leaf_first, 600, SAMPLE_ONCPU, 1, FR_OVERFLOW);
    model_add(x->m, 1, "w", 'R', FR_THREAD0 + 1, leaf_first, 600, SAMPLE_ONCPU, 1, FR_OVERFLOW);
    struct view_opts o = opts();
    struct hot_table t;
    assert_int_equal(view_hot(x->m, &x->r, &o, &t), 0);
    assert_row(&t, x->fib, 2, 2);
    assert_row(&t, x->main_, 0, 2);
    hot_table_free(&t);
    struct stack_table st;
    assert_int_equal(view_stacks(x->m, &x->r, &o, false, &st), 0);
    assert_int_equal(st.n, 1);
    assert_int_equal(st.rows[0].n, 600);
    stack_table_free(&st);
}

/* ------------------------------------------------------------ view_stacks */

static void test_stacks_merge(void **state)
{
    struct fix *x = *state;
    /* The same function-level stack from two pcs of fib and two threads. */
    ADD(x, 1, "a", 1, 3, FR_MAIN, FR_FIB_A);
    ADD(x, 2, "b", 1, 2, FR_MAIN, FR_FIB_B);
    ADD(x, 2, "b", 1, 4, FR_MAIN, FR_RUN, FR_CHECKSUM_INL);
    ADD(x, 1, "a", 1, 1, FR_MAIN, FR_RUN); /* self in run, a prefix of the other */
    struct view_opts o = opts();
    struct stack_table t;

    assert_int_equal(view_stacks(x->m, &x->r, &o, false, &t), 0);
    assert_int_equal(t.samples, 10);
    assert_int_equal(t.n, 3);
    /* Most samples first: fib merged (5), then the inline chain (4). */
    assert_int_equal(t.rows[0].count, 5);
    assert_int_equal(t.rows[0].tid, 0);
    assert_int_equal(t.rows[0].n, 2);
    assert_int_equal(t.rows[0].frames[0].func, x->main_);
    assert_int_equal(t.rows[0].frames[1].func, x->fib);
    /* Root first: the inline chain is reversed, checksum before mix_bits. */
    assert_int_equal(t.rows[1].count, 4);
    assert_int_equal(t.rows[1].n, 4);
    const uint32_t want[] = {x->main_, x->run, x->checksum, x->mix_bits};
    for (int i = 0; i < 4; i++)
        assert_int_equal(t.rows[1].frames[i].func, want[i]);
    assert_true(t.rows[1].frames[3].inlined);
    assert_false(t.rows[1].frames[2].inlined);
    assert_int_equal(t.rows[1].frames[3].line, 61);
    assert_int_equal(t.rows[2].count, 1);
    assert_int_equal(t.rows[2].n, 2);
    stack_table_free(&t);

    /* Per thread: fib stays split. */
    assert_int_equal(view_stacks(x->m, &x->r, &o, true, &t), 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.rows[0].count, 4);
    assert_int_equal(t.rows[0].tid, 2);
    assert_int_equal(t.rows[1].count, 3);
    assert_int_equal(t.rows[1].tid, 1);
    assert_int_equal(t.rows[2].count, 2);
    assert_int_equal(t.rows[2].tid, 2);
    assert_int_equal(t.rows[3].tid, 1);
    stack_table_free(&t);

    /* One thread's stacks only. */
    o.tid = 1;
    assert_int_equal(view_stacks(x->m, &x->r, &o, false, &t), 0);
    assert_int_equal(t.samples, 4);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.rows[0].count, 3);
    stack_table_free(&t);
}

static void test_frames_upto(void **state)
{
    struct fix *x = *state;
    assert_int_equal(view_frames_upto(x->m), 0);
    add_mix(x);
    /* Thread frame 201 is the biggest id in the tree. */
    assert_int_equal(view_frames_upto(x->m), FR_THREAD0 + 2);
}

/* ------------------------------------------------------------ snapshot */

/* The writer's output as a string (caller frees). */
static char *capture_text(struct fix *x, const struct run_info *h, const struct view_opts *o,
                          const struct snapshot_opts *so)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(snapshot_write_text(f, h, x->m, &x->r, o, so), 0);
    fclose(f);
    return buf;
}

static char *capture_folded_lines(struct fix *x, const struct view_opts *o, bool threads,
                                  bool lines)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    struct folded_opts fo = {.threads = threads, .line_numbers = lines};
    assert_int_equal(snapshot_write_folded(f, x->m, &x->r, o, &fo), 0);
    fclose(f);
    return buf;
}

static char *capture_folded(struct fix *x, const struct view_opts *o, bool threads)
{
    return capture_folded_lines(x, o, threads, true);
}

/* Asserts the needles appear in text in this order; returns the end of
 * the last one. */
static const char *assert_in_order(const char *text, const char *const *needles, size_t n)
{
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        const char *q = strstr(p, needles[i]);
        if (!q)
            fail_msg("missing or out of order: \"%s\" in:\n%s", needles[i], text);
        p = q + strlen(needles[i]);
    }
    return p;
}

static const char *line_with(const char *text, const char *needle, char *out, size_t size)
{
    const char *p = strstr(text, needle);
    if (!p)
        return NULL;
    while (p > text && p[-1] != '\n')
        p--;
    size_t n = strcspn(p, "\n");
    snprintf(out, size, "%.*s", (int)n, p);
    return out;
}

static void test_snapshot_text(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    ADD(x, 1, "worker", 100, 2, FR_MAIN, FR_LONG);
    struct run_info h = {
        .pid = 4242,
        .cmdline = "./cpu_mix --threads 2",
        .engine = "perf",
        .engine_detail = "task-clock",
        .elapsed_s = 10.0,
        .samples = 12,
        .lost = 3,
        .rate_asked = 99,
        .rate_achieved = 97.5,
        .threads_now = 2,
        .threads_seen = 3,
        .idle = false,
        .exited = true,
        .exit_status = 7 << 8, /* exited with status 7 */
        .truncated = 1,
    };
    struct view_opts o = opts();
    struct snapshot_opts so;
    snapshot_opts_default(&so);
    char *text = capture_text(x, &h, &o, &so);
    const char *header[] = {
        "pid:",
        "4242",
        "./cpu_mix --threads 2",
        "engine:     perf (task-clock)\n",
        "10.0 s",
        "12",
        "lost 3",
        "99.0 Hz requested",
        "97.5 Hz achieved",
        "threads:",
        "3",
        "on-CPU",
        "process exited with status 7",
        "truncated:",
        "1",
    };
    const char *p = assert_in_order(text, header, sizeof(header) / sizeof(*header));
    const char *table[] = {
        "SELF%",
        "TOTAL%",
        "SAMPLES",
        "FUNCTION",
        "FILE:LINE",
        "MODULE",
        "compute",
        "work.c:30",
        "app",
        "parse",
        "parse.c:40",
        "libparse.so",
        "a_rather_long_function",
        "mix_bits",
        "main",
        "run",
        "checksum",
    };
    p = assert_in_order(p, table, sizeof(table) / sizeof(*table));
    const char *stacks[] = {
        "Hottest stacks",      "50.0%", "main (main.c:11)", "run (main.c:21)",
        "compute (work.c:31)", "25.0%", "main (main.c:11)", "run (main.c:21)",
        "parse (parse.c:41)",  "16.7%", "main (main.c:11)", "a_rather_long",
    };
    assert_in_order(p, stacks, sizeof(stacks) / sizeof(*stacks));

    /* A row holds the numbers: self%, total%, self samples. */
    char line[256];
    assert_non_null(line_with(text, "compute ", line, sizeof(line)));
    assert_non_null(strstr(line, " 50.0%"));
    assert_non_null(strstr(line, "      6  "));
    /* The 100-column default cuts the 90-character name, with an ellipsis,
     * and every table row fits the width. */
    assert_non_null(line_with(text, "a_rather_long", line, sizeof(line)));
    assert_null(strstr(line, LONG_NAME));
    assert_non_null(strstr(line, "..."));
    /* Stack lines are not cut. */
    assert_non_null(strstr(text, LONG_NAME));
    assert_true(strlen(line) <= 100);
    free(text);

    /* Narrow width still shows 20-character names whole. */
    so.width = 40;
    so.max_stacks = 1;
    h.exited = false;
    h.idle = true;
    text = capture_text(x, &h, &o, &so);
    assert_non_null(strstr(text, "a_rather_long_functi"));
    assert_non_null(strstr(text, "with idle"));
    assert_null(strstr(text, "exited"));
    assert_null(strstr(text, "#2"));
    free(text);

    /* Killed by a signal. */
    h.exited = true;
    h.exit_status = 9;
    text = capture_text(x, &h, &o, &so);
    assert_non_null(strstr(text, "killed by signal 9"));
    assert_null(strstr(text, "engine note:"));
    free(text);

    /* Not the engine asked for: named, and why, on the next line. */
    h.engine = "ptrace";
    h.engine_detail = "";
    snprintf(h.engine_note, sizeof h.engine_note, "perf_event sampling refused (EACCES)");
    text = capture_text(x, &h, &o, &so);
    assert_non_null(strstr(text, "\nengine:     ptrace\nengine note: perf_event sampling "
                                 "refused (EACCES)\nduration:"));
    free(text);
}

static void test_snapshot_text_max_rows(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    struct run_info h = {.pid = 1, .cmdline = "x"};
    struct view_opts o = opts();
    struct snapshot_opts so;
    snapshot_opts_default(&so);
    so.max_rows = 2;
    char *text = capture_text(x, &h, &o, &so);
    const char *rows[] = {"compute", "parse", "4 more functions", "Hottest stacks"};
    assert_in_order(text, rows, 4);
    char line[256];
    assert_null(line_with(text, "  mix_bits  ", line, sizeof(line)));
    free(text);
}

static void test_folded(void **state)
{
    struct fix *x = *state;
    add_mix(x);
    ADD(x, 2, "io;thread", 100, 2, FR_MAIN, FR_WEIRD);
    ADD(x, 2, "io;thread", 100, 1, FR_MAIN, FR_NOSYM);
    ADD(x, 1, "worker", 100, 2, FR_MAIN, FR_FIB_A);
    ADD(x, 2, "io;thread", 100, 1, FR_MAIN, FR_FIB_B);
    struct view_opts o = opts();

    char *text = capture_folded(x, &o, false);
    assert_string_equal(text, "main;run;compute 6\n"
                              "main;fib 3\n"
                              "main;run;parse 3\n"
                              "main;operator:weird name 2\n"
                              "main;libstripped.so+0x1f3 1\n"
                              "main;run;checksum;mix_bits 1\n");
    free(text);

    text = capture_folded(x, &o, true);
    assert_string_equal(text, "worker-1;main;run;compute 6\n"
                              "worker-1;main;run;parse 3\n"
                              "worker-1;main;fib 2\n"
                              "io:thread-2;main;operator:weird name 2\n"
                              "worker-1;main;run;checksum;mix_bits 1\n"
                              "io:thread-2;main;fib 1\n"
                              "io:thread-2;main;libstripped.so+0x1f3 1\n");
    free(text);

    o.tid = 2;
    text = capture_folded(x, &o, true);
    assert_string_equal(text, "io:thread-2;main;operator:weird name 2\n"
                              "io:thread-2;main;fib 1\n"
                              "io:thread-2;main;libstripped.so+0x1f3 1\n");
    free(text);
}

/* Python frames as py-spy writes them: "function (file.py:LINE)", the
 * line the stack was at; two mains of two files stay two; without line
 * numbers "function (file.py)". */
static void test_folded_python(void **state)
{
    struct fix *x = *state;
    struct fake_resolver *f = x->fake;
    uint32_t ma = fake_func(f, "main", "", "a.py", 1), mb = fake_func(f, "main", "", "b.py", 1);
    uint32_t leaf = fake_func(f, "leaf_parse", "", "lib/parse.py", 40);
    f->funcs[ma].python = f->funcs[mb].python = f->funcs[leaf].python = true;
    fake_frame(f, FR_PY_MAIN_A, 1, &ma);
    fake_frame(f, FR_PY_MAIN_B, 1, &mb);
    fake_frame(f, FR_PY_LEAF, 1, &leaf);
    ADD(x, 1, "t", 100, 3, FR_PY_MAIN_A, FR_PY_LEAF);
    ADD(x, 1, "t", 100, 2, FR_PY_MAIN_B, FR_PY_LEAF);
    ADD(x, 1, "t", 100, 1, FR_PY_MAIN_B, FR_COMPUTE);
    struct view_opts o = opts();
    char *text = capture_folded(x, &o, false);
    assert_string_equal(text, "main (a.py:2);leaf_parse (lib/parse.py:41) 3\n"
                              "main (b.py:2);leaf_parse (lib/parse.py:41) 2\n"
                              "main (b.py:2);compute 1\n");
    free(text);
    text = capture_folded_lines(x, &o, false, false);
    assert_string_equal(text, "main (a.py);leaf_parse (lib/parse.py) 3\n"
                              "main (b.py);leaf_parse (lib/parse.py) 2\n"
                              "main (b.py);compute 1\n");
    free(text);
}

static void test_folded_overflow_and_empty(void **state)
{
    struct fix *x = *state;
    /* A sample with no frames has no frame to hang on without threads. */
    model_add(x->m, 3, "t", 'R', FR_THREAD0 + 3, NULL, 0, SAMPLE_ONCPU, 1, FR_OVERFLOW);
    ADD(x, 3, "t", 1, 1, FR_MAIN);
    struct view_opts o = opts();
    char *text = capture_folded(x, &o, false);
    assert_string_equal(text, "main 1\n");
    free(text);
    text = capture_folded(x, &o, true);
    assert_string_equal(text, "t-3 1\nt-3;main 1\n");
    free(text);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_hot_self_total_pct),
        T(test_hot_recursion_counted_once),
        T(test_hot_per_thread),
        T(test_hot_filter),
        T(test_hot_sorting),
        T(test_hot_recent_vs_cumulative),
        T(test_hot_deep_stack),
        T(test_stacks_merge),
        T(test_frames_upto),
        T(test_snapshot_text),
        T(test_snapshot_text_max_rows),
        T(test_folded),
        T(test_folded_overflow_and_empty),
        T(test_folded_python),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
