/*
 * test_export_web.c - the speedscope and SVG exporters and the Markdown
 * report, on stack tables and figures made by hand with a fake resolver:
 * JSON and XML escaping of hostile names, the flame graph's geometry
 * against the counts, the report's sections and their thresholds; and the
 * three formats on the command line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/cli.h"
#include "src/export/export_speedscope.h"
#include "src/export/export_svg.h"
#include "fake_resolver.h"
#include "src/export/json.h"
#include "src/profile/profile.h"
#include "src/export/report.h"

/* ------------------------------------------------------------ helpers */

typedef void (*writer_fn)(FILE *f, const void *arg);

/* Not inlined: gcc then takes the stream's buffer for a local of the
 * caller's (a false -Wdangling-pointer). */
__attribute__((noinline)) static char *capture(writer_fn w, const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    w(f, arg);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void put_json(FILE *f, const void *arg)
{
    json_put_string(f, arg);
}

static void put_xml(FILE *f, const void *arg)
{
    svg_put_text(f, arg, SIZE_MAX);
}

static void expect_json(const char *in, const char *want)
{
    char *got = capture(put_json, in);
    assert_string_equal(got, want);
    free(got);
}

/* A hand-made stack table: rows of function ids, root first. */
#define MAXROWS  16
#define MAXDEPTH 64

struct table {
    struct stack_table t;
    struct stack_row rows[MAXROWS];
    struct chain_frame frames[MAXROWS][MAXDEPTH];
};

static void add_row(struct table *tb, pid_t tid, uint64_t count, size_t n, const uint32_t *funcs)
{
    size_t i = tb->t.n++;
    assert_true(i < MAXROWS && n <= MAXDEPTH);
    for (size_t k = 0; k < n; k++)
        tb->frames[i][k] = (struct chain_frame){.func = funcs[k], .file = "x.c", .line = 5};
    tb->rows[i] = (struct stack_row){.tid = tid, .count = count, .n = n, .frames = tb->frames[i]};
    tb->t.rows = tb->rows;
    tb->t.samples += count;
}

struct fix {
    struct fake_resolver *fake;
    struct resolver r;
    uint32_t main_, work, hash, parse, pyf, unk, evil;
};

static int setup(void **state)
{
    struct fix *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->fake = fake_resolver_new();
    assert_non_null(x->fake);
    x->main_ = fake_func(x->fake, "main", "app", "main.c", 10);
    x->work = fake_func(x->fake, "work", "app", "work.c", 20);
    x->hash = fake_func(x->fake, "hash", "libh.so", "hash.c", 30);
    x->parse = fake_func(x->fake, "parse", "app", "parse.c", 40);
    x->pyf = fake_func(x->fake, "handler", "", "app/views.py", 7);
    x->unk = fake_func(x->fake, "[unknown]", "", NULL, 0);
    x->evil = fake_func(x->fake, "op<\"&'>\x01\xff|`x`", "app", "we\"ird\\path.c", 3);
    x->r = fake_resolver_iface(x->fake);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fix *x = *state;
    fake_resolver_free(x->fake);
    free(x);
    return 0;
}

static const char *thread_names(void *ctx, pid_t tid)
{
    (void)ctx;
    return tid == 100 ? "main" : tid == 101 ? "wrk\"er" : NULL;
}

/* ------------------------------------------------------------ JSON */

static void test_json_escapes(void **state)
{
    (void)state;
    expect_json("plain", "\"plain\"");
    expect_json(NULL, "\"\"");
    expect_json("a\"b\\c", "\"a\\\"b\\\\c\"");
    expect_json("t\tn\nr\r\x01\x1f\x7f", "\"t\\u0009n\\u000ar\\u000d\\u0001\\u001f\\u007f\"");
    /* valid UTF-8 passes through */
    expect_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    /* invalid: stray continuation, 0xff, overlong '/', surrogate, above
     * U+10FFFF, cut short at the end: U+FFFD per bad byte */
    expect_json("a\x80z", "\"a\\ufffdz\"");
    expect_json("\xff", "\"\\ufffd\"");
    expect_json("\xc0\xaf", "\"\\ufffd\\ufffd\"");
    expect_json("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
    expect_json("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    expect_json("ok\xe2\x82", "\"ok\\ufffd\\ufffd\"");
}

static void test_utf8_seq_len(void **state)
{
    (void)state;
    assert_int_equal(utf8_seq_len((const unsigned char *)"A", 1), 1);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xc3\xa9", 1), 0);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xe0\x80\x80", 3), 0);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xe0\xa0\x80", 3), 3);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xf0\x90\x80\x80", 4), 4);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xf5\x80\x80\x80", 4), 0);
}

/* ------------------------------------------------------------ speedscope */

struct ss_arg {
    const struct stack_table *t;
    const struct resolver *r;
    const struct speedscope_opts *o;
};

static void put_ss(FILE *f, const void *arg)
{
    const struct ss_arg *a = arg;
    assert_int_equal(export_speedscope_write(f, a->t, a->r, a->o), 0);
}

static void test_speedscope(void **state)
{
    struct fix *x = *state;
    struct table tb = {0};
    /* thread 101 is the heavier: it is the profile speedscope opens on */
    add_row(&tb, 101, 50, 3, (uint32_t[]){x->main_, x->work, x->hash});
    add_row(&tb, 100, 30, 2, (uint32_t[]){x->main_, x->parse});
    add_row(&tb, 101, 20, 2, (uint32_t[]){x->main_, x->evil});
    add_row(&tb, 100, 5, 0, NULL);
    struct speedscope_opts o = {.name = "./app --x",
                                .exporter = "pertop 9.9",
                                .period_ns = 2000000,
                                .thread_name = thread_names};
    struct ss_arg a = {&tb.t, &x->r, &o};
    char *out = capture(put_ss, &a);
    assert_non_null(
        strstr(out, "\"$schema\":\"https://www.speedscope.app/file-format-schema.json\""));
    assert_non_null(strstr(out, "\"exporter\":\"pertop 9.9\""));
    assert_non_null(strstr(out, "\"name\":\"./app --x\""));
    /* frames numbered as first met, shared: main 0, work 1, hash 2, parse 3, evil 4 */
    assert_non_null(strstr(out, "{\"name\":\"main\",\"file\":\"main.c\",\"line\":10}"));
    assert_non_null(strstr(out, "{\"name\":\"hash\",\"file\":\"hash.c\",\"line\":30}"));
    assert_non_null(
        strstr(out, "{\"name\":\"op<\\\"&'>\\u0001\\ufffd|`x`\",\"file\":\"we\\\"ird\\\\path.c\""));
    /* profiles by tid: 100 first; weights = count * period */
    const char *p100 = strstr(out, "\"name\":\"main-100\"");
    const char *p101 = strstr(out, "\"name\":\"wrk\\\"er-101\"");
    assert_non_null(p100);
    assert_non_null(p101);
    assert_true(p100 < p101);
    assert_non_null(
        strstr(p100, "\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":70000000"));
    assert_non_null(strstr(p100, "\"samples\":[[0,3],[]],\n\"weights\":[60000000,10000000]"));
    assert_non_null(strstr(p101, "\"endValue\":140000000"));
    assert_non_null(strstr(p101, "\"samples\":[[0,1,2],[0,4]],\n\"weights\":[100000000,40000000]"));
    assert_non_null(strstr(out, "\"activeProfileIndex\":1"));
    free(out);

    /* no period: weights are samples */
    o.period_ns = 0;
    out = capture(put_ss, &a);
    assert_non_null(strstr(out, "\"unit\":\"none\",\"startValue\":0,\"endValue\":35"));
    assert_non_null(strstr(out, "\"weights\":[30,5]"));
    free(out);

    /* nothing sampled: still one (empty) profile for speedscope to open */
    struct table empty = {0};
    a.t = &empty.t;
    out = capture(put_ss, &a);
    assert_non_null(strstr(out, "\"samples\":[],\"weights\":[]"));
    assert_non_null(strstr(out, "\"frames\":[]"));
    free(out);
}

/* ------------------------------------------------------------ SVG */

static void test_xml_text(void **state)
{
    (void)state;
    char *out = capture(put_xml, "a<b>&\"c'");
    assert_string_equal(out, "a&lt;b&gt;&amp;&quot;c&apos;");
    free(out);
    /* control bytes (but tab), invalid UTF-8, U+FFFF: U+FFFD */
    out = capture(put_xml, "x\x01y\tz\xff\xef\xbf\xbf\xc3\xa9");
    assert_string_equal(out, "x\xef\xbf\xbdy\tz\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9");
    free(out);
    /* cut by characters, never inside a UTF-8 sequence or an entity */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(svg_put_text(f, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4), 4);
    fputc('|', f);
    assert_int_equal(svg_put_text(f, "&&&&&", 4), 4);
    fputc('|', f);
    assert_int_equal(svg_put_text(f, "abcdef", 2), 0);
    fputc('|', f);
    assert_int_equal(svg_put_text(f, "abcd", 4), 4);
    fclose(f);
    assert_string_equal(buf, "\xc3\xa9\xc3\xa9..|&amp;&amp;..||abcd");
    free(buf);
}

struct svg_frame {
    char name[64];
    unsigned long long count;
    double x, w;
    unsigned y;
    int rgb[3];
};

/* The frames of an SVG from export_svg_write ("all" too), as the script
 * reads them. */
static size_t parse_frames(const char *svg, struct svg_frame *out, size_t max)
{
    size_t n = 0;
    const char *p = strstr(svg, "<g id=\"frames\">");
    assert_non_null(p);
    for (; (p = strstr(p, "<title>")) && n < max; n++) {
        struct svg_frame *fr = &out[n];
        p += strlen("<title>");
        const char *paren = strstr(p, " (");
        const char *end = strstr(p, "</title>");
        assert_non_null(paren);
        assert_non_null(end);
        snprintf(fr->name, sizeof fr->name, "%.*s", (int)(paren - p), p);
        assert_int_equal(sscanf(paren, " (%llu sample", &fr->count), 1);
        assert_int_equal(sscanf(end,
                                "</title><rect x=\"%lf\" y=\"%u\" width=\"%lf\" height=\"15\" "
                                "rx=\"2\" fill=\"rgb(%d,%d,%d)\"/>",
                                &fr->x, &fr->y, &fr->w, &fr->rgb[0], &fr->rgb[1], &fr->rgb[2]),
                         6);
        p = end;
    }
    return n;
}

static const struct svg_frame *find_frame(const struct svg_frame *fr, size_t n, const char *name,
                                          unsigned y)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(fr[i].name, name) && (!y || fr[i].y == y))
            return &fr[i];
    return NULL;
}

struct svg_arg {
    const struct stack_table *t;
    const struct resolver *r;
    const struct svg_opts *o;
};

static void put_svg(FILE *f, const void *arg)
{
    const struct svg_arg *a = arg;
    assert_int_equal(export_svg_write(f, a->t, a->r, a->o), 0);
}

#define SCALE (1180.0 / 100.0) /* 1200 px wide, 10 px each side, 100 samples */

static void expect_geometry(const struct svg_frame *fr, double x, double w, unsigned y,
                            unsigned long long count)
{
    assert_non_null(fr);
    assert_true(fabs(fr->x - x) < 0.0015);
    assert_true(fabs(fr->w - w) < 0.0015);
    assert_int_equal(fr->y, y);
    assert_int_equal(fr->count, count);
}

static void test_svg_geometry(void **state)
{
    struct fix *x = *state;
    struct table tb = {0};
    add_row(&tb, 0, 60, 3, (uint32_t[]){x->main_, x->work, x->hash});
    add_row(&tb, 0, 30, 2, (uint32_t[]){x->main_, x->parse});
    add_row(&tb, 0, 5, 2, (uint32_t[]){x->main_, x->work});
    add_row(&tb, 0, 5, 1, (uint32_t[]){x->unk});
    struct svg_opts o;
    svg_opts_default(&o);
    o.title = "pertop: <app>";
    struct svg_arg a = {&tb.t, &x->r, &o};
    char *out = capture(put_svg, &a);
    struct svg_frame fr[16];
    size_t n = parse_frames(out, fr, 16);
    assert_int_equal(n, 6); /* all, [unknown], main, parse, work, hash */
    /* 3 levels + all: height 66 + 4 * 16 + 30 = 160; all at 114, then up */
    assert_non_null(strstr(out, "width=\"1200\" height=\"160\""));
    expect_geometry(find_frame(fr, n, "all", 0), 10, 1180, 114, 100);
    /* siblings by name: "[unknown]" < "main"; in main "parse" < "work" */
    expect_geometry(find_frame(fr, n, "[unknown]", 0), 10, 5 * SCALE, 98, 5);
    expect_geometry(find_frame(fr, n, "main", 0), 10 + 5 * SCALE, 95 * SCALE, 98, 95);
    expect_geometry(find_frame(fr, n, "parse", 0), 10 + 5 * SCALE, 30 * SCALE, 82, 30);
    expect_geometry(find_frame(fr, n, "work", 0), 10 + 35 * SCALE, 65 * SCALE, 82, 65);
    /* work's own 5 samples come first, then hash */
    expect_geometry(find_frame(fr, n, "hash", 0), 10 + 40 * SCALE, 60 * SCALE, 66, 60);
    assert_non_null(
        strstr(out, "<g data-s=\"40\" data-loc=\"hash.c:30, libh.so\"><title>hash (60 samples, "
                    "60.00%)</title>"));
    /* kinds: native warm, unknown grey */
    const struct svg_frame *h = find_frame(fr, n, "hash", 0),
                           *u = find_frame(fr, n, "[unknown]", 0);
    assert_true(h->rgb[0] >= 205 && h->rgb[2] <= 55);
    assert_true(u->rgb[0] == u->rgb[1] && u->rgb[1] == u->rgb[2]);
    /* the title is escaped, the script and its hooks are there */
    assert_non_null(strstr(out, ">pertop: &lt;app&gt;</text>"));
    assert_non_null(strstr(out, "onload=\"init(evt)\""));
    assert_non_null(strstr(out, "function zoom(z)"));
    assert_non_null(strstr(out, "function search()"));
    assert_non_null(strstr(out, "<![CDATA["));
    free(out);
}

static void test_svg_min_width_and_kinds(void **state)
{
    struct fix *x = *state;
    struct table tb = {0};
    add_row(&tb, 0, 99999, 2, (uint32_t[]){x->main_, x->work});
    add_row(&tb, 0, 1, 2, (uint32_t[]){x->main_, x->hash});
    struct svg_opts o;
    svg_opts_default(&o);
    struct svg_arg a = {&tb.t, &x->r, &o};
    char *out = capture(put_svg, &a);
    struct svg_frame fr[16];
    size_t n = parse_frames(out, fr, 16);
    /* hash is 0.0118 px wide: omitted, but still in main's width */
    assert_null(find_frame(fr, n, "hash", 0));
    expect_geometry(find_frame(fr, n, "main", 0), 10, 1180, 82, 100000);
    free(out);

    /* 0 min width keeps it; Python frames are blue-green */
    struct table t2 = {0};
    add_row(&t2, 0, 3, 2, (uint32_t[]){x->main_, x->pyf});
    o.min_width = 0;
    a.t = &t2.t;
    out = capture(put_svg, &a);
    n = parse_frames(out, fr, 16);
    const struct svg_frame *p = find_frame(fr, n, "handler", 0);
    assert_non_null(p);
    assert_true(p->rgb[0] <= 110 && p->rgb[1] >= 165 && p->rgb[2] >= 165);
    free(out);
}

/* Nothing sampled: only "all", with no samples, and the script still there. */
static void test_svg_empty(void **state)
{
    struct fix *x = *state;
    struct table tb = {0};
    struct svg_arg a = {&tb.t, &x->r, NULL};
    char *out = capture(put_svg, &a);
    struct svg_frame fr[4];
    assert_int_equal(parse_frames(out, fr, 4), 1);
    assert_non_null(strstr(out, "<title>all (0 samples, 0.00%)</title>"));
    assert_non_null(strstr(out, "all (no samples)"));
    assert_non_null(strstr(out, "function zoom(z)"));
    free(out);
}

static void test_svg_threads(void **state)
{
    struct fix *x = *state;
    struct table tb = {0};
    add_row(&tb, 101, 50, 2, (uint32_t[]){x->main_, x->work});
    add_row(&tb, 100, 50, 2, (uint32_t[]){x->main_, x->work});
    struct svg_opts o;
    svg_opts_default(&o);
    o.thread_name = thread_names;
    o.threads = true;
    struct svg_arg a = {&tb.t, &x->r, &o};
    char *out = capture(put_svg, &a);
    struct svg_frame fr[16];
    size_t n = parse_frames(out, fr, 16);
    /* threads at the first level, by name: "main-100" < "wrk\"er-101" */
    assert_int_equal(n, 7);
    expect_geometry(find_frame(fr, n, "main-100", 0), 10, 50 * SCALE, 98, 50);
    expect_geometry(find_frame(fr, n, "wrk&quot;er-101", 0), 10 + 50 * SCALE, 50 * SCALE, 98, 50);
    free(out);

    /* without threads the same stacks of two threads are one frame */
    o.threads = false;
    out = capture(put_svg, &a);
    n = parse_frames(out, fr, 16);
    assert_int_equal(n, 3);
    expect_geometry(find_frame(fr, n, "work", 0), 10, 1180, 66, 100);
    free(out);
}

/* ------------------------------------------------------------ figures */

static void reading(struct procstat_snapshot *s, double t_s, double interval, double cpu,
                    uint64_t rss, uint64_t hwm, uint64_t rchar, uint64_t wchar, double blocked)
{
    memset(s, 0, sizeof *s);
    s->time_ns = (uint64_t)(t_s * 1e9);
    s->interval_s = interval;
    s->alive = true;
    s->cpu_pct = cpu;
    s->nthreads = 2;
    s->mem = (struct procstat_mem){.rss_kib = rss, .hwm_kib = hwm, .valid = true};
    s->io = (struct procstat_io){.rchar = rchar,
                                 .wchar = wchar,
                                 .syscr = rchar / 4096,
                                 .syscw = wchar / 4096,
                                 .valid = true};
    s->majflt_ps = 20;
    s->minflt_ps = 100;
    s->nthread_rows = 2;
    s->threads[0] = (struct procstat_thread){.tid = 6, .name = "app", .state = 'R'};
    s->threads[1] = (struct procstat_thread){.tid = 7, .name = "blocker", .state = 'S'};
    s->threads[1].wait = (struct procstat_wait){
        .blocked = true, .syscall_nr = 0, .syscall = "read", .fd = 3, .blocked_s = blocked};
    snprintf(s->threads[1].wait.target, sizeof s->threads[1].wait.target, "pipe:[5]");
}

/* Three readings a second apart: CPU 50% then 150%, RSS 10 -> 30 MB,
 * 1 MiB/s read, 512 KiB/s written, one thread blocked in read(). */
static void busy_figs(struct report_figs *g)
{
    struct procstat_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    memset(g, 0, sizeof *g);
    reading(s, 10, 0, 0, 10000, 12000, 0, 0, 0);
    report_figs_add(g, s);
    reading(s, 11, 1, 50, 20000, 21000, 1 << 20, 1 << 19, 1);
    report_figs_add(g, s);
    reading(s, 12, 1, 150, 30000, 30000, 2 << 20, 1 << 20, 2);
    report_figs_add(g, s);
    /* the process is gone: nothing is added */
    memset(s, 0, sizeof *s);
    s->time_ns = 20000000000ull;
    report_figs_add(g, s);
    free(s);
}

static void test_figures(void **state)
{
    (void)state;
    struct report_figs g;
    busy_figs(&g);
    assert_int_equal(g.readings, 3);
    struct prof_meta m = {0};
    report_figs_meta(&g, &m);
    assert_true(m.have_cpu && m.have_rss && m.have_io);
    assert_true(fabs(m.cpu_pct - 100.0) < 1e-9);
    assert_true(fabs(m.rss_bytes - 30000.0 * 1024) < 1e-6);
    assert_true(fabs(m.rss_peak_bytes - 30000.0 * 1024) < 1e-6);
    assert_true(fabs(m.read_bps - 1048576.0) < 1e-6);
    assert_true(fabs(m.write_bps - 524288.0) < 1e-6);
    assert_true(fabs(g.majflt - 40.0) < 1e-9);
    assert_int_equal(g.nwaits, 1);
    assert_int_equal(g.waits[0].seen, 3);
    assert_string_equal(g.waits[0].thread, "blocker");
    assert_string_equal(g.waits[0].target, "pipe:[5]");
    assert_true(fabs(g.waits[0].longest_s - 2.0) < 1e-9);

    /* one reading: no CPU (no interval), RSS known */
    struct report_figs one = {0};
    struct procstat_snapshot *s = calloc(1, sizeof *s);
    reading(s, 1, 0, 0, 500, 600, 0, 0, 0);
    report_figs_add(&one, s);
    free(s);
    struct prof_meta m1 = {0};
    report_figs_meta(&one, &m1);
    assert_false(m1.have_cpu);
    assert_false(m1.have_io);
    assert_true(m1.have_rss && fabs(m1.rss_peak_bytes - 600.0 * 1024) < 1e-6);
}

/* Threads of one name waiting in one place are one entry. */
static void test_figures_wait_pool(void **state)
{
    (void)state;
    struct procstat_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    struct report_figs g = {0};
    for (int k = 0; k < 2; k++) {
        reading(s, 10 + k, k, 0, 1000, 1000, 0, 0, k);
        s->nthread_rows = 5;
        for (int i = 2; i < 5; i++) {
            s->threads[i] = (struct procstat_thread){.tid = 20 + i, .name = "idle", .state = 'S'};
            s->threads[i].wait = (struct procstat_wait){
                .blocked = true, .syscall = "pause", .fd = -1, .blocked_s = 3.0 * k};
        }
        if (k == 1)
            s->threads[4].wait.blocked = false; /* one woke up */
        report_figs_add(&g, s);
    }
    free(s);
    assert_int_equal(g.nwaits, 2);
    const struct report_wait *pool = !strcmp(g.waits[0].thread, "idle") ? &g.waits[0] : &g.waits[1];
    assert_string_equal(pool->thread, "idle");
    assert_int_equal(pool->seen, 2);
    assert_int_equal(pool->threads, 3);
    assert_true(fabs(pool->longest_s - 3.0) < 1e-9);
}

/* The evidence behind a finding: a wait's stack (the blocked thread's,
 * past libc to the function that waits), else the heaviest on-CPU stack
 * through the function; deep stacks keep their innermost frames. */
static void test_evidence(void **state)
{
    struct fix *x = *state;
    struct table tb;
    memset(&tb, 0, sizeof tb);
    add_row(&tb, 0, 10, 2, (uint32_t[]){x->main_, x->hash});
    add_row(&tb, 0, 60, 3, (uint32_t[]){x->main_, x->work, x->hash});
    uint32_t deep[15];
    for (int i = 0; i < 14; i++)
        deep[i] = x->work;
    deep[14] = x->parse;
    add_row(&tb, 0, 5, 15, deep);
    char buf[400];
    struct verdict_finding f = {.cls = VERDICT_CPU};
    snprintf(f.func, sizeof f.func, "hash");
    assert_true(report_evidence(NULL, &tb.t, &x->r, &f, buf, sizeof buf));
    assert_string_equal(buf, "main > work > hash"); /* the heavier of the two */
    snprintf(f.func, sizeof f.func, "parse");
    assert_true(report_evidence(NULL, &tb.t, &x->r, &f, buf, sizeof buf));
    assert_string_equal(buf, "... > work > work > work > work > work > work > work > work > work > "
                             "parse");
    snprintf(f.func, sizeof f.func, "nowhere");
    assert_false(report_evidence(NULL, &tb.t, &x->r, &f, buf, sizeof buf));
    assert_string_equal(buf, "");

    /* a thread blocked in read(), called by read_config */
    uint32_t rd = fake_func(x->fake, "read", "libc.so.6", NULL, 0);
    uint32_t rc = fake_func(x->fake, "read_config", "app", "conf.c", 12);
    fake_frame(x->fake, 1, 1, &rd);
    fake_frame(x->fake, 2, 1, &rc);
    fake_frame(x->fake, 3, 1, &x->main_);
    struct report_figs *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->nwaits = 1;
    g->waits[0] =
        (struct report_wait){.kind = WAIT_IO, .seen = 3, .nframes = 3, .frames = {1, 2, 3}};
    f = (struct verdict_finding){.cls = VERDICT_IO};
    snprintf(f.func, sizeof f.func, "read_config");
    assert_true(report_evidence(g, &tb.t, &x->r, &f, buf, sizeof buf));
    assert_string_equal(buf, "main > read_config > read");
    /* a lock finding does not take an I/O wait's stack */
    f.cls = VERDICT_LOCK;
    assert_false(report_evidence(g, &tb.t, &x->r, &f, buf, sizeof buf));
    /* idle names no function: no evidence */
    f.cls = VERDICT_IDLE;
    assert_false(report_evidence(g, &tb.t, &x->r, &f, buf, sizeof buf));
    /* a short buffer is cut, never overrun */
    f.cls = VERDICT_IO;
    char tiny[8];
    report_evidence(g, &tb.t, &x->r, &f, tiny, sizeof tiny);
    assert_true(strlen(tiny) < sizeof tiny);
    free(g);
}

/* ------------------------------------------------------------ report */

struct rep {
    struct table tb;
    struct hot_row rows[8];
    struct hot_table hot;
    struct run_info run;
    struct report_in in;
};

/* 100 samples: hash 60 (under main;work), parse 30, [unknown] 5, evil 5. */
static void make_report(struct fix *x, struct rep *r)
{
    memset(r, 0, sizeof *r);
    add_row(&r->tb, 0, 60, 3, (uint32_t[]){x->main_, x->work, x->hash});
    add_row(&r->tb, 0, 30, 2, (uint32_t[]){x->main_, x->parse});
    add_row(&r->tb, 0, 5, 1, (uint32_t[]){x->unk});
    add_row(&r->tb, 0, 5, 2, (uint32_t[]){x->main_, x->evil});
    r->rows[0] = (struct hot_row){x->hash, 60, 60, 60.0, 60.0};
    r->rows[1] = (struct hot_row){x->parse, 30, 30, 30.0, 30.0};
    r->rows[2] = (struct hot_row){x->evil, 5, 5, 5.0, 5.0};
    r->rows[3] = (struct hot_row){x->unk, 5, 5, 5.0, 5.0};
    r->rows[4] = (struct hot_row){x->main_, 0, 95, 0.0, 95.0};
    r->hot = (struct hot_table){.rows = r->rows, .n = 5, .samples = 100};
    r->run = (struct run_info){.cmdline = "./app --fast",
                               .pid = 42,
                               .engine = "perf",
                               .engine_detail = "task-clock",
                               .elapsed_s = 2.0,
                               .samples = 100,
                               .rate_asked = 99,
                               .rate_achieved = 50,
                               .threads_now = 1,
                               .threads_seen = 2};
    r->in = (struct report_in){
        .run = &r->run, .hot = &r->hot, .stacks = &r->tb.t, .r = &x->r, .max_rows = 3};
}

static void put_report(FILE *f, const void *arg)
{
    assert_int_equal(report_write(f, arg), 0);
}

static void test_report_cpu_only(void **state)
{
    struct fix *x = *state;
    struct rep *r = calloc(1, sizeof *r);
    make_report(x, r);
    /* flat memory, no I/O, nobody blocked */
    struct report_figs g = {.readings = 3,
                            .span_s = 2,
                            .cpu_s = 1.9,
                            .rss_first_kib = 1000,
                            .rss_last_kib = 1100,
                            .hwm_kib = 1200};
    r->in.figs = &g;
    char *out = capture(put_report, &r->in);
    assert_non_null(strstr(out, "## Performance Analysis: ./app --fast\n"));
    free(out);
    /* a command that would format the title: escaped */
    snprintf(r->run.cmdline, sizeof r->run.cmdline, "./app *x* <b> #1 `q` a|b");
    out = capture(put_report, &r->in);
    assert_non_null(
        strstr(out, "## Performance Analysis: ./app \\*x\\* \\<b\\> \\#1 \\`q\\` a\\|b\n"));
    snprintf(r->run.cmdline, sizeof r->run.cmdline, "./app --fast");
    assert_non_null(strstr(out, "### Baseline"));
    /* the run section names the engine, with nothing else to say */
    assert_non_null(strstr(out, "| duration | 2.0 s (pid 42) |\n| engine | perf (task-clock) |\n"));
    assert_non_null(strstr(out, "| threads | 2 seen |"));
    assert_non_null(strstr(out, "| CPU | 95.0% of one CPU (average over 2.0 s) |"));
    assert_null(strstr(out, "| end |"));
    assert_non_null(strstr(out, "| RSS | 1.1 MiB at the end, peak 1.2 MiB"));
    assert_non_null(strstr(out, "### Bottleneck"));
    assert_non_null(strstr(out, "The hottest function is `hash`: 60.0%"));
    assert_non_null(strstr(out, "| 60.0 | 60.0 | 60 | `hash` | `hash.c:30` | `libh.so` |"));
    /* a hostile name cannot break the table or the code spans */
    assert_non_null(
        strstr(out, "| `op<\"&'>\xef\xbf\xbd\xef\xbf\xbd\\|'x'` | `we\"ird\\path.c:3` |"));
    /* 3 rows shown of the 4 with self samples; main (no self) never */
    assert_null(strstr(out, "| 0.0 | 95.0 |"));
    assert_non_null(strstr(out, "1 more function shares the remaining samples."));
    /* hottest stacks, root first, indented, in code blocks */
    assert_non_null(strstr(out, "Stack #1: 60.0% of the samples (60), root first:\n\n```\n"
                                "main (x.c:5)\n  work (x.c:5)\n    hash (x.c:5)\n```\n"));
    assert_non_null(strstr(out, "Stack #3"));
    assert_null(strstr(out, "Stack #4"));
    assert_null(strstr(out, "frames ..."));
    assert_null(strstr(out, "### Waits"));
    assert_null(strstr(out, "### Memory"));
    assert_null(strstr(out, "### I/O"));
    assert_null(strstr(out, "### Result"));
    free(out);

    /* a pool of threads waiting in one place is one line */
    g.nwaits = 1;
    g.waits[0] = (struct report_wait){.tid = 30,
                                      .thread = "idle",
                                      .syscall = "pause",
                                      .seen = 3,
                                      .threads = 1000,
                                      .longest_s = 2.0};
    out = capture(put_report, &r->in);
    assert_non_null(strstr(out, "| `idle` (1000 threads) | `pause` | - | 3 of 3 | 2.0 s |"));
    free(out);
    g.nwaits = 0;

    /* --idle: a Waits section even when nobody was seen blocked */
    r->run.idle = true;
    out = capture(put_report, &r->in);
    assert_non_null(strstr(out, "### Waits"));
    assert_non_null(strstr(out, "No thread was seen blocked"));
    free(out);

    /* no readings at all */
    r->in.figs = NULL;
    r->run.idle = false;
    out = capture(put_report, &r->in);
    assert_non_null(strstr(out, "| CPU | not measured"));
    assert_non_null(strstr(out, "| RSS | not measured |"));
    free(out);

    /* another engine than the one asked for: named, with why, escaped */
    r->run.engine = "ptrace";
    r->run.engine_detail = "";
    snprintf(r->run.engine_note, sizeof r->run.engine_note,
             "perf_event sampling refused (EACCES) | try CAP_PERFMON");
    out = capture(put_report, &r->in);
    assert_non_null(strstr(out, "| engine | ptrace: perf\\_event sampling refused (EACCES) \\| "
                                "try CAP\\_PERFMON |\n"));
    free(out);
    free(r);
}

/* A 50-frame recursion: 10 outermost frames, a gap, the 30 innermost. */
static void test_report_deep_stack(void **state)
{
    struct fix *x = *state;
    struct rep *r = calloc(1, sizeof *r);
    make_report(x, r);
    uint32_t deep[50];
    deep[0] = x->main_;
    for (size_t i = 1; i < 50; i++)
        deep[i] = x->work;
    deep[49] = x->hash;
    r->tb.t.n = 0;
    r->tb.t.samples = 0;
    add_row(&r->tb, 0, 100, 50, deep);
    char *out = capture(put_report, &r->in);
    assert_non_null(strstr(out, "\n                  work (x.c:5)\n"
                                "                    ... 10 frames ...\n"
                                "                                        work (x.c:5)\n"));
    /* the leaf is there, at the depth it has */
    char leaf[128];
    snprintf(leaf, sizeof leaf, "\n%*shash (x.c:5)\n```", 80, "");
    assert_non_null(strstr(out, leaf));
    size_t lines = 0;
    const char *b = strstr(out, "Stack #1");
    for (const char *p = b; p && *p && strncmp(p, "```\n\n", 5); p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2 + 1 + 41); /* title, blank, fence, 40 frames + the gap */
    free(out);
    free(r);
}

static void test_report_memory_io_waits(void **state)
{
    struct fix *x = *state;
    struct rep *r = calloc(1, sizeof *r);
    make_report(x, r);
    struct report_figs g;
    busy_figs(&g);
    r->in.figs = &g;
    snprintf(r->run.exit_msg, sizeof r->run.exit_msg, "process 42 exited with status 0");
    char *out = capture(put_report, &r->in);
    assert_non_null(strstr(out, "| I/O | read 1.0 MiB/s, write 512.0 KiB/s"));
    assert_non_null(strstr(out, "| end | process 42 exited with status 0 |"));
    assert_non_null(strstr(out, "### Waits"));
    assert_non_null(strstr(out, "| `blocker-7` | `read` | `pipe:[5]` | 3 of 3 | 2.0 s |"));
    assert_non_null(strstr(out, "### Memory"));
    assert_non_null(strstr(out, "RSS: 9.8 MiB at the first reading, 29.3 MiB at the last"));
    assert_non_null(strstr(out, "page faults: 20.0 major/s"));
    assert_non_null(strstr(out, "### I/O"));
    assert_non_null(
        strstr(out, "all I/O (files, pipes, sockets): read 1.0 MiB/s, write 512.0 KiB/s"));
    free(out);

    /* just under the thresholds: 4000 KiB growth, 200 KiB/s, few calls */
    memset(&g, 0, sizeof g);
    g.readings = 2;
    g.span_s = g.io_span_s = 1;
    g.rss_first_kib = 1000;
    g.rss_last_kib = 5000;
    g.hwm_kib = 5000;
    g.io_valid = true;
    g.io_last.rchar = 200 * 1024;
    g.io_last.syscr = 999;
    out = capture(put_report, &r->in);
    assert_null(strstr(out, "### Memory"));
    assert_null(strstr(out, "### I/O"));
    free(out);
    /* and just over */
    g.rss_last_kib = 1000 + 4096;
    g.io_last.syscr = 1000;
    out = capture(put_report, &r->in);
    assert_non_null(strstr(out, "### Memory"));
    assert_non_null(strstr(out, "### I/O"));
    assert_non_null(strstr(out, "1000 or more read and write system calls"));
    free(out);
    free(r);
}

static void test_report_result(void **state)
{
    struct fix *x = *state;
    struct rep *r = calloc(1, sizeof *r);
    make_report(x, r);
    struct report_figs g;
    busy_figs(&g);
    r->in.figs = &g;
    struct profile *base = profile_new(PROFILE_FOLDED);
    assert_non_null(base);
    /* before: parse 80%, hash 10%, old 10%; after: parse 30, hash 60 */
    assert_int_equal(profile_add_stack(base, (const char *[]){"main", "parse"}, 2, 80), 0);
    assert_int_equal(profile_add_stack(base, (const char *[]){"main", "work", "hash"}, 3, 10), 0);
    assert_int_equal(profile_add_stack(base, (const char *[]){"main", "old"}, 2, 10), 0);
    struct prof_meta bm = {.duration_s = 4.0, .have_cpu = true, .cpu_pct = 200.0};
    snprintf(bm.command, sizeof bm.command, "./app --slow");
    profile_set_meta(base, &bm);
    r->in.baseline = base;
    r->in.baseline_name = "before.pb.gz";
    r->in.max_rows = 10;
    char *out = capture(put_report, &r->in);
    assert_non_null(strstr(out, "### Result"));
    assert_non_null(strstr(out, "Before: `before.pb.gz` (`./app --slow`); after: this run."));
    assert_non_null(strstr(out, "| samples | 100 | 100 | |"));
    assert_non_null(strstr(out, "| duration | 4.0 s | 2.0 s | -2.0 s |"));
    assert_non_null(strstr(out, "| CPU | 200.0% | 100.0% | -100.0% |"));
    assert_non_null(strstr(out, "| `parse` | 80.0 | 30.0 | -50.0 | 80.0 | 30.0 | -50.0 |"));
    assert_non_null(strstr(out, "| `hash` | 10.0 | 60.0 | +50.0 | 10.0 | 60.0 | +50.0 |"));
    assert_non_null(strstr(out, "| `old` | 10.0 | 0.0 | gone | 10.0 | 0.0 | gone |"));
    assert_non_null(strstr(out, "| `[unknown]` | 0.0 | 5.0 | new |"));
    /* sorted by the size of the change: hash and parse (50 points) first */
    const char *hash = strstr(out, "| `hash` |"), *parse = strstr(out, "| `parse` |");
    const char *old = strstr(out, "| `old` |");
    assert_true(hash && parse && old && hash < old && parse < old);
    free(out);
    profile_free(base);
    free(r);
}

/* ------------------------------------------------------------ cli */

static enum cli_result parse(const char **args, struct cli_opts *o, char *err)
{
    char *argv[16] = {"pertop"};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    return cli_parse(argc, argv, o, err, 256);
}

static void test_cli_formats(void **state)
{
    (void)state;
    struct cli_opts o;
    char err[256];
    static const struct {
        const char *name, *ext;
        enum output_format f;
    } fmts[] = {{"speedscope", "json", FORMAT_SPEEDSCOPE},
                {"svg", "svg", FORMAT_SVG},
                {"report", "md", FORMAT_REPORT}};
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        assert_int_equal(parse((const char *[]){"-p", "1", "-f", fmts[i].name, NULL}, &o, err),
                         CLI_RUN);
        assert_int_equal(o.format, fmts[i].f);
        assert_string_equal(cli_format_name(o.format), fmts[i].name);
        assert_string_equal(cli_format_ext(o.format), fmts[i].ext);
    }
    /* --threads: the svg's first level; speedscope is per thread anyway */
    assert_int_equal(parse((const char *[]){"-p", "1", "-f", "svg", "--threads", NULL}, &o, err),
                     CLI_RUN);
    assert_true(o.threads);
    assert_int_equal(parse((const char *[]){"-p", "1", "-f", "report", "--threads", NULL}, &o, err),
                     CLI_ERROR);
    assert_non_null(strstr(err, "--threads"));
    assert_int_equal(parse((const char *[]){"-p", "1", "-f", "html", NULL}, &o, err), CLI_ERROR);
    assert_non_null(strstr(err, "speedscope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_utf8_seq_len),
        cmocka_unit_test_setup_teardown(test_speedscope, setup, teardown),
        cmocka_unit_test(test_xml_text),
        cmocka_unit_test_setup_teardown(test_svg_geometry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_svg_min_width_and_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_svg_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_svg_empty, setup, teardown),
        cmocka_unit_test(test_figures),
        cmocka_unit_test(test_figures_wait_pool),
        cmocka_unit_test_setup_teardown(test_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_cpu_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_memory_io_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_deep_stack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_result, setup, teardown),
        cmocka_unit_test(test_cli_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
