/*
 * test_profile.c - profiles read from folded and pprof data: odd folded
 * lines, names compared without Python line suffixes, a pprof written by
 * export_pprof read back (plain and gzipped), and truncated, empty and
 * hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/export/export_pprof.h"
#include "fake_resolver.h"
#include "src/model/intern.h"
#include "src/model/model.h"
#include "src/profile/profile.h"
#include "src/export/protobuf.h"

static char err[512];

static struct profile *parse_ok(const char *text)
{
    struct profile *p = NULL;
    err[0] = '\0';
    int rc = profile_parse(text, strlen(text), "t.folded", &p, err, sizeof err);
    if (rc != 0)
        fail_msg("parse failed: %s", err);
    assert_non_null(p);
    return p;
}

static const struct prof_func *func(const struct profile *p, const char *name)
{
    int64_t id = profile_find(p, name);
    if (id < 0)
        fail_msg("no function %s", name);
    return profile_func(p, (uint32_t)id);
}

static void test_folded_odd_lines(void **state)
{
    (void)state;
    struct profile *p = parse_ok("# a comment\n"
                                 "\n"
                                 "main;run;compute 10\n"
                                 "main;run;std::vector<int>::push_back(int const&) 5\r\n"
                                 "main;operator() (lambda) 3\n"
                                 "  \t\n"
                                 "main;;run;compute 2\n" /* an empty frame is left out */
                                 "main;run;compute 1");  /* no final newline */
    assert_int_equal(profile_format(p), PROFILE_FOLDED);
    assert_int_equal(profile_samples(p), 21);
    assert_int_equal(profile_nstacks(p), 3); /* the repeated stack adds up */
    assert_int_equal(func(p, "compute")->self, 13);
    assert_int_equal(func(p, "std::vector<int>::push_back(int const&)")->self, 5);
    assert_int_equal(func(p, "operator() (lambda)")->self, 3);
    assert_int_equal(func(p, "main")->total, 21);
    assert_int_equal(func(p, "main")->self, 0);
    assert_int_equal(func(p, "run")->total, 18);
    assert_int_equal(profile_find(p, "nothere"), -1);
    const struct prof_stack *s = profile_stack(p, 0);
    assert_int_equal(s->n, 3);
    assert_int_equal(s->count, 13);
    assert_string_equal(profile_func(p, s->funcs[0])->name, "main");
    assert_string_equal(profile_func(p, s->funcs[2])->name, "compute");
    profile_free(p);
}

/* Recursion counts once per stack in the total, self only at the leaf. */
static void test_folded_recursion(void **state)
{
    (void)state;
    struct profile *p = parse_ok("main;fib;fib;fib 4\nmain;fib 1\n");
    assert_int_equal(func(p, "fib")->total, 5);
    assert_int_equal(func(p, "fib")->self, 5);
    assert_int_equal(func(p, "main")->total, 5);
    profile_free(p);
}

static void test_name_key(void **state)
{
    (void)state;
    struct {
        const char *in, *want;
    } cases[] = {
        {"compute (work.py:12)", "compute (work.py)"},
        {"Foo.bar (lib/x.py:1)", "Foo.bar (lib/x.py)"},
        {"compute (work.py)", "compute (work.py)"},         /* no line: kept */
        {"compute (work.py:12a)", "compute (work.py:12a)"}, /* not digits */
        {"operator() (lambda)", "operator() (lambda)"},
        {"(a.py:1)", "(a.py:1)"}, /* nothing before */
        {"x (:3)", "x (:3)"},     /* no file */
        {"noparen:12)", "noparen:12)"},
        {"", ""},
        /* a FILE ending in ":DIGITS" is kept whole: cut once, the kept name
         * would be cut again when looked up (the fuzz target found it) */
        {"fib (pp.py:12:12)", "fib (pp.py:12:12)"},
        {"f (C:7)", "f (C)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        size_t n = profile_name_norm(buf, strlen(buf));
        assert_int_equal(n, strlen(cases[i].want));
        assert_string_equal(buf, cases[i].want);
        /* a normal form is its own normal form */
        assert_int_equal(profile_name_norm(buf, n), n);
    }
    /* so every function finds itself by its kept name */
    struct profile *p = parse_ok("main;fib (pp.py:12:12);fib (pp.py:3) 2\nmain;fib (pp.py) 1\n");
    for (uint32_t id = 0; id < profile_nfuncs(p); id++)
        assert_int_equal(profile_find(p, profile_func(p, id)->name), id);
    profile_free(p);
}

/* Two functions of one name in two files stay two; each one line. */
static void test_python_files_apart(void **state)
{
    (void)state;
    struct profile *p = parse_ok("main (a.py:1);run (a.py:5) 3\n"
                                 "main (b.py:1);run (b.py:7) 2\n"
                                 "main (b.py:1);run (b.py:8) 4\n");
    assert_int_equal(profile_nfuncs(p), 4);
    assert_int_equal(func(p, "run (a.py:5)")->self, 3);
    assert_int_equal(func(p, "run (b.py:99)")->self, 6);
    assert_int_equal(func(p, "run (b.py)")->self, 6);
    profile_free(p);
}

/* py-spy's "func (file.py:LINE)" frames: one function whatever the line,
 * and the same as pertop's bare name. */
static void test_python_lines_merge(void **state)
{
    (void)state;
    struct profile *p = parse_ok("<module> (app.py:3);work (app.py:10) 4\n"
                                 "<module> (app.py:3);work (app.py:11) 6\n");
    assert_int_equal(profile_nfuncs(p), 2);
    assert_int_equal(func(p, "work")->self, 10);
    assert_int_equal(func(p, "work (app.py:99)")->self, 10);
    assert_int_equal(profile_nstacks(p), 1);
    profile_free(p);
}

static void expect_einval(const void *buf, size_t len, const char *want_in_err)
{
    struct profile *p = (struct profile *)1;
    err[0] = '\0';
    assert_int_equal(profile_parse(buf, len, "bad.prof", &p, err, sizeof err), -EINVAL);
    assert_null(p);
    if (!strstr(err, want_in_err) || !strstr(err, "bad.prof"))
        fail_msg("error '%s' lacks '%s' or the file name", err, want_in_err);
    assert_null(strchr(err, '\n')); /* one line */
}

static void test_folded_bad(void **state)
{
    (void)state;
    expect_einval("", 0, "empty");
    expect_einval("# only a comment\n\n", 18, "no stacks");
    const char *nocount = "main;run 3\nmain;run\n";
    expect_einval(nocount, strlen(nocount), "bad.prof:2:");
    const char *negative = "main;run -3\n";
    expect_einval(negative, strlen(negative), "bad.prof:1:");
    /* a count past 2^64 - 1: which file and line, what is wrong, what to do */
    const char *huge = "main;run 3\nmain;run 99999999999999999999\n";
    expect_einval(huge, strlen(huge),
                  "bad.prof:2: the sample count is too large (at most 18446744073709551615) — "
                  "correct that line, or scale the file's counts down");
    const char *longer = "main;run 99999999999999999999999\n";
    expect_einval(longer, strlen(longer), "bad.prof:1: the sample count is too large");
    const char *past = "main;run 18446744073709551616\n";
    expect_einval(past, strlen(past), "bad.prof:1: the sample count is too large");
    struct profile *p = parse_ok("main;run 18446744073709551615\n"); /* the largest */
    assert_true(profile_samples(p) == UINT64_MAX);
    profile_free(p);
    const char *onlycount = "  42\n";
    expect_einval(onlycount, strlen(onlycount), "bad.prof:1:");
    const char *semis = ";;; 5\n";
    expect_einval(semis, strlen(semis), "bad.prof:1:");
}

/* A stack deeper than PROFILE_MAX_DEPTH keeps its leaf side. */
static void test_folded_too_deep(void **state)
{
    (void)state;
    size_t depth = PROFILE_MAX_DEPTH + 100;
    char *line = malloc(depth * 8 + 32), *at = line;
    for (size_t i = 0; i < depth; i++)
        at += sprintf(at, "%sf%zu", i ? ";" : "", i);
    strcpy(at, " 7\n");
    struct profile *p = parse_ok(line);
    const struct prof_stack *s = profile_stack(p, 0);
    assert_int_equal(s->n, PROFILE_MAX_DEPTH);
    assert_string_equal(profile_func(p, s->funcs[0])->name, "f100");
    char leaf[16];
    snprintf(leaf, sizeof leaf, "f%zu", depth - 1);
    assert_string_equal(profile_func(p, s->funcs[s->n - 1])->name, leaf);
    assert_int_equal(func(p, leaf)->self, 7);
    assert_int_equal(profile_find(p, "f0"), -1);
    free(line);
    profile_free(p);
}

/* Control bytes never reach a name (they would reach the terminal). */
static void test_control_bytes(void **state)
{
    (void)state;
    struct profile *p = parse_ok("main;ev\x1b[2Jil 3\n");
    assert_int_equal(func(p, "ev?[2Jil")->self, 3);
    profile_free(p);
}

/* A folded file with control bytes in its names is still folded text,
 * not "corrupt pprof data": the format is told by the lines' counts, not
 * by the first control byte. */
static void test_control_bytes_sniffed(void **state)
{
    (void)state;
    struct profile *p = parse_ok("# comment\n"
                                 "main;ring\x07"
                                 "bell;back\x08"
                                 "space 4\n"
                                 "main;start\x01"
                                 "of\x02"
                                 "heading 2\r\n"
                                 "main;del\x7f 1\n");
    assert_int_equal(profile_format(p), PROFILE_FOLDED);
    assert_int_equal(func(p, "back?space")->self, 4);
    assert_int_equal(func(p, "start?of?heading")->self, 2);
    assert_int_equal(func(p, "del?")->self, 1);
    profile_free(p);
    /* every frame in colour: control bytes common, lines still counted */
    p = parse_ok("\x1b[31mmain\x1b[0m;\x1b[32mrun\x1b[0m 5\n"
                 "\x1b[31mmain\x1b[0m;\x1b[33mio\x1b[0m 1\n");
    assert_int_equal(func(p, "?[32mrun?[0m")->self, 5);
    profile_free(p);
    /* a first line longer than the part that is looked at first */
    size_t depth = 2000;
    char *line = malloc(depth * 8 + 32), *at = line;
    for (size_t i = 0; i < depth; i++)
        at += sprintf(at, "%sf\x1b%zu", i ? ";" : "", i);
    strcpy(at, " 7\n");
    p = parse_ok(line);
    assert_int_equal(profile_format(p), PROFILE_FOLDED);
    assert_int_equal(profile_samples(p), 7);
    profile_free(p);
    free(line);
    /* text that is no profile, with a control byte: the folded reader says
     * which line is wrong, not that it is corrupt pprof */
    const char *log = "starting up\x07\nmain;run 3\n";
    expect_einval(log, strlen(log), "bad.prof:1: not a folded stack line");
}

/* ------------------------------------------------------------ pprof */

struct pp {
    struct interner *in;
    struct model *m;
    struct fake_resolver *fake;
    struct resolver r;
    struct run_info run;
    struct prof_meta meta;
    struct pprof_source src;
};

/* Thread 7 "worker": main > run > compute (x6), main > run > [mix inlined
 * into hash] (x3); thread 8: main > parse (x1); a Python frame. */
static void pp_setup(struct pp *x)
{
    memset(x, 0, sizeof *x);
    x->in = intern_new(1024);
    x->m = model_new(NULL);
    x->fake = fake_resolver_new();
    assert_non_null(x->in);
    assert_non_null(x->m);
    assert_non_null(x->fake);
    struct fake_resolver *f = x->fake;
    uint32_t fmain = fake_func(f, "main", "app", "main.c", 10);
    uint32_t frun = fake_func(f, "run", "app", "main.c", 20);
    uint32_t fcomp = fake_func(f, "compute", "app", "work.c", 30);
    uint32_t fhash = fake_func(f, "hash", "app", "hash.c", 40);
    uint32_t fmix = fake_func(f, "mix", "app", "hash.h", 50);
    uint32_t fparse = fake_func(f, "parse", "libparse.so", NULL, 0);
    uint32_t fpy = fake_func(f, "handler", "", "app.py", 5);
    frame_id th7 = intern_frame(x->in, FRAME_THREAD, 0, 7);
    frame_id th8 = intern_frame(x->in, FRAME_THREAD, 0, 8);
    frame_id ovf = intern_frame(x->in, FRAME_SPECIAL, SPECIAL_OVERFLOW, 0);
    frame_id pmain = intern_frame(x->in, FRAME_NATIVE, 0, 0x1100);
    frame_id prun = intern_frame(x->in, FRAME_NATIVE, 0, 0x1200);
    frame_id pcomp = intern_frame(x->in, FRAME_NATIVE, 0, 0x1300);
    frame_id phash = intern_frame(x->in, FRAME_NATIVE, 0, 0x1400);
    frame_id pparse = intern_frame(x->in, FRAME_NATIVE, 1, 0x2000);
    frame_id ppy = intern_frame(x->in, FRAME_PYTHON, 3, 6);
    fake_frame(f, pmain, 1, &fmain);
    fake_frame(f, prun, 1, &frun);
    fake_frame(f, pcomp, 1, &fcomp);
    fake_frame(f, phash, 2, (uint32_t[]){fmix, fhash});
    fake_frame(f, pparse, 1, &fparse);
    fake_frame(f, ppy, 1, &fpy);
    x->r = fake_resolver_iface(f);
    for (int i = 0; i < 6; i++)
        model_add(x->m, 7, "worker", 'R', th7, (frame_id[]){pcomp, prun, pmain}, 3, SAMPLE_ONCPU, 1,
                  ovf);
    for (int i = 0; i < 3; i++)
        model_add(x->m, 7, "worker", 'R', th7, (frame_id[]){phash, prun, pmain}, 3, SAMPLE_ONCPU, 1,
                  ovf);
    model_add(x->m, 8, "", 'R', th8, (frame_id[]){pparse, pmain}, 2, SAMPLE_ONCPU, 1, ovf);
    model_add(x->m, 8, "", 'R', th8, (frame_id[]){ppy, pmain}, 2, SAMPLE_ONCPU, 1, ovf);
    snprintf(x->run.cmdline, sizeof x->run.cmdline, "./app --fast");
    x->run.engine = "perf";
    x->run.engine_detail = "task-clock";
    x->run.elapsed_s = 2.5;
    x->meta.have_cpu = true;
    x->meta.cpu_pct = 37.5;
    x->src = (struct pprof_source){.m = x->m,
                                   .r = &x->r,
                                   .in = x->in,
                                   .run = &x->run,
                                   .figs = &x->meta,
                                   .period_ns = 10101010,
                                   .time_nanos = 1700000000000000000ll,
                                   .duration_nanos = 2500000000ll};
}

static void pp_teardown(struct pp *x)
{
    model_free(x->m);
    intern_free(x->in);
    fake_resolver_free(x->fake);
}

static void check_pp_profile(const struct profile *p)
{
    assert_int_equal(profile_format(p), PROFILE_PPROF);
    assert_int_equal(profile_samples(p), 11);
    assert_int_equal(func(p, "compute")->self, 6);
    assert_int_equal(func(p, "mix")->self, 3); /* the inlined function is the leaf */
    assert_int_equal(func(p, "hash")->self, 0);
    assert_int_equal(func(p, "hash")->total, 3);
    assert_int_equal(func(p, "run")->total, 9);
    assert_int_equal(func(p, "main")->total, 11);
    assert_int_equal(func(p, "parse")->self, 1);
    assert_int_equal(func(p, "handler")->self, 1);
    /* root first: main, run, hash, mix */
    bool seen = false;
    for (size_t i = 0; i < profile_nstacks(p); i++) {
        const struct prof_stack *s = profile_stack(p, i);
        if (s->n == 4) {
            assert_string_equal(profile_func(p, s->funcs[0])->name, "main");
            assert_string_equal(profile_func(p, s->funcs[2])->name, "hash");
            assert_string_equal(profile_func(p, s->funcs[3])->name, "mix");
            seen = true;
        }
    }
    assert_true(seen);
    const struct prof_meta *m = profile_meta(p);
    assert_string_equal(m->command, "./app --fast");
    assert_string_equal(m->engine, "perf (task-clock)");
    assert_true(m->duration_s > 2.49 && m->duration_s < 2.51);
    assert_true(m->have_cpu);
    assert_true(m->cpu_pct > 37.4 && m->cpu_pct < 37.6);
    assert_false(m->have_rss);
    assert_true(m->period_ns == 10101010.0);
}

static void test_pprof_round_trip(void **state)
{
    (void)state;
    struct pp x;
    pp_setup(&x);
    uint8_t *buf;
    size_t len;
    assert_int_equal(export_pprof_encode(&x.src, &buf, &len), 0);
    struct profile *p = NULL;
    assert_int_equal(profile_parse(buf, len, "raw.pb", &p, err, sizeof err), 0);
    check_pp_profile(p);
    profile_free(p);

    /* gzipped, through a stream */
    char *gz = NULL;
    size_t gzlen = 0;
    FILE *f = open_memstream(&gz, &gzlen);
    assert_int_equal(export_pprof_write(f, &x.src), 0);
    fclose(f);
    assert_true(gzlen > 20 && (uint8_t)gz[0] == 0x1f && (uint8_t)gz[1] == 0x8b);
    assert_int_equal(profile_parse(gz, gzlen, "x.pb.gz", &p, err, sizeof err), 0);
    check_pp_profile(p);
    profile_free(p);

    /* every truncation of the gzip data: a clear error, never a crash */
    for (size_t n = 1; n < gzlen; n++) {
        int rc = profile_parse(gz, n, "cut.pb.gz", &p, err, sizeof err);
        assert_int_equal(rc, -EINVAL);
        assert_non_null(strstr(err, "cut.pb.gz"));
    }
    /* every truncation of the raw message: 0 (cut between fields, fewer
     * samples) or -EINVAL */
    for (size_t n = 1; n < len; n++) {
        int rc = profile_parse(buf, n, "cut.pb", &p, err, sizeof err);
        assert_true(rc == 0 || rc == -EINVAL);
        if (rc == 0) {
            assert_true(profile_samples(p) <= 11);
            profile_free(p);
        }
    }
    /* flipped bytes: no crash, 0 or -EINVAL */
    for (size_t i = 0; i < len; i++) {
        uint8_t save = buf[i];
        buf[i] ^= 0xff;
        int rc = profile_parse(buf, len, "flip.pb", &p, err, sizeof err);
        assert_true(rc == 0 || rc == -EINVAL);
        if (rc == 0)
            profile_free(p);
        buf[i] = save;
    }
    free(gz);
    free(buf);
    pp_teardown(&x);
}

/* A hand-made profile.proto with one bad reference. */
enum bad_kind { BAD_NAME_INDEX, BAD_LOCATION, BAD_FUNCTION, BAD_NEGATIVE, BAD_NONE };

static void put_msg(struct pb_buf *out, uint32_t field, struct pb_buf *m)
{
    pb_put_message(out, field, m);
    pb_buf_reset(m);
}

static void handmade(enum bad_kind kind, struct pb_buf *out)
{
    struct pb_buf m, sub;
    pb_buf_init(&m);
    pb_buf_init(&sub);
    pb_put_varint(&m, 1, 1); /* sample type samples/count */
    pb_put_varint(&m, 2, 2);
    put_msg(out, 1, &m);
    uint64_t loc = kind == BAD_LOCATION ? 9 : 1;
    pb_put_packed(&m, 1, &loc, 1);
    uint64_t val = kind == BAD_NEGATIVE ? (uint64_t)-5 : 5;
    pb_put_packed(&m, 2, &val, 1);
    put_msg(out, 2, &m);
    pb_put_varint(&m, 1, 1); /* location 1: function 1 */
    pb_put_varint(&sub, 1, kind == BAD_FUNCTION ? 4 : 1);
    pb_put_varint(&sub, 2, 12);
    put_msg(&m, 4, &sub);
    put_msg(out, 4, &m);
    pb_put_varint(&m, 1, 1);                                 /* function 1 */
    pb_put_varint(&m, 2, kind == BAD_NAME_INDEX ? 1000 : 3); /* name */
    put_msg(out, 5, &m);
    const char *strings[] = {"", "samples", "count", "do_work"};
    for (size_t i = 0; i < 4; i++)
        pb_put_string(out, 6, strings[i]);
    pb_buf_free(&m);
    pb_buf_free(&sub);
}

static void test_pprof_handmade(void **state)
{
    (void)state;
    static const char *const why[] = {"string table", "location", "function", "negative"};
    for (int k = BAD_NAME_INDEX; k <= BAD_NONE; k++) {
        struct pb_buf b;
        pb_buf_init(&b);
        handmade((enum bad_kind)k, &b);
        struct profile *p = NULL;
        int rc = profile_parse(b.p, b.len, "hand.pb", &p, err, sizeof err);
        if (k == BAD_NONE) {
            assert_int_equal(rc, 0);
            assert_int_equal(func(p, "do_work")->self, 5);
            profile_free(p);
        } else {
            assert_int_equal(rc, -EINVAL);
            if (!strstr(err, why[k]))
                fail_msg("case %d: '%s' lacks '%s'", k, err, why[k]);
        }
        pb_buf_free(&b);
    }
}

/* Binary that is no protobuf, and a gzip of text that is no protobuf. */
static void test_pprof_garbage(void **state)
{
    (void)state;
    static const uint8_t junk[] = {0x00, 0x01, 0x02, 0xff, 0xfe, 0x07};
    expect_einval(junk, sizeof junk, "corrupt pprof");
    static const uint8_t badgz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x03, 0xff, 0xff, 0xff};
    expect_einval(badgz, sizeof badgz, "gzip");
    /* a valid profile.proto with no samples */
    struct pb_buf b;
    pb_buf_init(&b);
    pb_put_string(&b, 6, "");
    pb_put_varint(&b, 12, 100);
    expect_einval(b.p, b.len, "no samples");
    pb_buf_free(&b);
}

static void test_load_errors(void **state)
{
    (void)state;
    struct profile *p;
    assert_int_equal(profile_load("/nonexistent/x.folded", &p, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/x.folded"));
    assert_int_equal(profile_load("/", &p, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "is a folder"));
    /* a pipe has no size: read to its end */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(write(pfd[1], "x;y 3\n", 6), 6);
    close(pfd[1]);
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", pfd[0]);
    assert_int_equal(profile_load(fdpath, &p, err, sizeof err), 0);
    assert_int_equal(profile_samples(p), 3);
    profile_free(p);
    close(pfd[0]);
    char path[] = "/tmp/test_profile_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "a;b 2\n", 6), 6);
    close(fd);
    assert_int_equal(profile_load(path, &p, err, sizeof err), 0);
    assert_int_equal(profile_samples(p), 2);
    profile_free(p);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folded_odd_lines),
        cmocka_unit_test(test_folded_recursion),
        cmocka_unit_test(test_name_key),
        cmocka_unit_test(test_python_files_apart),
        cmocka_unit_test(test_python_lines_merge),
        cmocka_unit_test(test_folded_bad),
        cmocka_unit_test(test_folded_too_deep),
        cmocka_unit_test(test_control_bytes),
        cmocka_unit_test(test_control_bytes_sniffed),
        cmocka_unit_test(test_pprof_round_trip),
        cmocka_unit_test(test_pprof_handmade),
        cmocka_unit_test(test_pprof_garbage),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
