/*
 * test_annotate.c - attribution of one function's samples to its lines and
 * instructions, and the views built from them.
 *
 * On plain data (a real interner and model, the fake resolver): self at the
 * pc, incl. at the call site, recursion through one call site counted once
 * per stack, inlined code counted at its call site line in the function it
 * was inlined into and at its own line in its own view, Python lines from
 * the code object's full file name.  Source views: function range with
 * context, "source not found" with the --source-path hint, the map
 * rewriting a moved tree, tabs and bad bytes, the size cap, a Python
 * function's block.  On the annot_loop fixture with the real resolver and
 * symbolizer: the instruction view finds the div with its count, source
 * lines interleaved; and the time to build a view for a ~2 KiB function,
 * cold and cached (printed).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "src/annotate/annotate.h"
#include "src/cli.h"
#include "symbols/disasm.h"
#include "fake_resolver.h"
#include "src/model/intern.h"
#include "src/model/model.h"
#include "sampler/unwind/modules.h"
#include "sampler/python/pycode_reg.h"
#include "src/session/resolve.h"
#include "src/annotate/srcfile.h"
#include "symbols/symbolize.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "/tmp/pertop-fixtures"
#endif
#ifndef SRC_DIR
#define SRC_DIR "."
#endif

#define MOD 1u /* module id of the made-up frames */

/* ------------------------------------------------------------- helpers */

struct world {
    struct interner *in;
    struct model *m;
    struct fake_resolver *fr;
    struct resolver r;
    struct pycode_reg *py;
    frame_id thread, overflow;
    struct annot_env *env;
    char dir[64];
};

static frame_id native(struct world *w, uint64_t addr)
{
    return intern_frame(w->in, FRAME_NATIVE, MOD, addr);
}

/* The frame's chain: funcs innermost first, with one line per function. */
static void chain(struct world *w, frame_id id, unsigned n, const uint32_t *funcs, const int *lines)
{
    fake_frame(w->fr, id, n, funcs);
    for (unsigned i = 0; i < n; i++)
        w->fr->frames[id][i].line = lines[i];
}

static void add(struct world *w, const frame_id *frames, size_t n, unsigned times)
{
    for (unsigned i = 0; i < times; i++)
        model_add(w->m, 1, "t", 'R', w->thread, frames, n, SAMPLE_ONCPU, 1, w->overflow);
}

static void world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    w->in = intern_new(1024);
    w->m = model_new(NULL);
    w->fr = fake_resolver_new();
    w->py = pycode_reg_new(16);
    assert_true(w->in && w->m && w->fr && w->py);
    w->thread = intern_frame(w->in, FRAME_THREAD, 0, 1);
    w->overflow = intern_frame(w->in, FRAME_SPECIAL, SPECIAL_OVERFLOW, 0);
    w->r = fake_resolver_iface(w->fr);
    snprintf(w->dir, sizeof w->dir, "/tmp/pertop-annot-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    struct annot_env_cfg cfg = {.in = w->in, .pyreg = w->py};
    w->env = annot_env_new(&cfg);
    assert_non_null(w->env);
}

static void world_free(struct world *w)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
    assert_int_equal(system(cmd), 0);
    annot_env_free(w->env);
    pycode_reg_free(w->py);
    fake_resolver_free(w->fr);
    model_free(w->m);
    intern_free(w->in);
}

static struct annot_counts *collect(struct world *w, uint32_t func)
{
    size_t n = model_node_count(w->m);
    uint64_t *self = calloc(n, sizeof(*self));
    assert_non_null(self);
    model_self_counts(w->m, MODEL_CUMULATIVE, 0, self);
    struct annot_counts *c = annot_collect(w->env, w->m, &w->r, self, func);
    free(self);
    assert_non_null(c);
    return c;
}

static const struct annot_addr_count *at_addr(const struct annot_counts *c, uint64_t addr)
{
    for (size_t i = 0; i < c->naddrs; i++)
        if (c->addrs[i].module == MOD && c->addrs[i].addr == addr)
            return &c->addrs[i];
    return NULL;
}

static const struct annot_line_count *at_line(const struct annot_counts *c, int line)
{
    for (size_t i = 0; i < c->nlines; i++)
        if (c->lines[i].line == line)
            return &c->lines[i];
    return NULL;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* A source of n numbered lines ("line N"). */
static void write_numbered(const char *path, int n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 1; i <= n; i++)
        fprintf(f, "line %d\n", i);
    assert_int_equal(fclose(f), 0);
}

static const struct annot_row *row_of_line(const struct annot_view *v, int line)
{
    for (size_t i = 0; i < v->nrows; i++)
        if (v->rows[i].kind == ANNOT_ROW_SOURCE && v->rows[i].line == line)
            return &v->rows[i];
    return NULL;
}

/* ------------------------------------------------- the made-up program */

/*
 * main (main.c:3) -> work, whose code is:
 *   0x1000 line 12, 0x1010 line 13   its own work
 *   0x1020 line 14                    call leaf (leaf.c:41, at 0x2000)
 *   0x1030 line 15                    helper (help.h:6) inlined here
 *   0x1040 line 16                    call work (recursion)
 */
struct prog {
    uint32_t f_main, f_work, f_leaf, f_helper;
    char work_c[128], help_h[128];
};

static void make_prog(struct world *w, struct prog *p)
{
    snprintf(p->work_c, sizeof p->work_c, "%s/work.c", w->dir);
    snprintf(p->help_h, sizeof p->help_h, "%s/help.h", w->dir);
    write_numbered(p->work_c, 60);
    write_numbered(p->help_h, 20);
    p->f_main = fake_func(w->fr, "main", "prog", "/src/main.c", 2);
    p->f_work = fake_func(w->fr, "work", "prog", p->work_c, 10);
    p->f_leaf = fake_func(w->fr, "leaf", "prog", p->work_c, 40);
    p->f_helper = fake_func(w->fr, "helper", "prog", p->help_h, 5);
    frame_id fa = native(w, 0x1000), fb = native(w, 0x1010), fc = native(w, 0x1020),
             fd = native(w, 0x2000), fe = native(w, 0x1030), fm = native(w, 0x3000),
             frr = native(w, 0x1040);
    chain(w, fa, 1, &p->f_work, (int[]){12});
    chain(w, fb, 1, &p->f_work, (int[]){13});
    chain(w, fc, 1, &p->f_work, (int[]){14});
    chain(w, fd, 1, &p->f_leaf, (int[]){41});
    chain(w, fe, 2, (uint32_t[]){p->f_helper, p->f_work}, (int[]){6, 15});
    chain(w, fm, 1, &p->f_main, (int[]){3});
    chain(w, frr, 1, &p->f_work, (int[]){16});
    add(w, (frame_id[]){fa, fm}, 2, 5);
    add(w, (frame_id[]){fb, fm}, 2, 3);
    add(w, (frame_id[]){fd, fc, fm}, 3, 7);
    add(w, (frame_id[]){fe, fm}, 2, 4);
    add(w, (frame_id[]){fd, fc, frr, frr, fm}, 5, 2);
}

static uint64_t now_ns(void);
static uint64_t cpu_ns(void);

/* --------------------------------------------------------------- tests */

static void test_self_and_incl_per_address(void **state)
{
    (void)state;
    struct world w;
    struct prog p;
    world_init(&w);
    make_prog(&w, &p);
    struct annot_counts *c = collect(&w, p.f_work);
    assert_int_equal(c->kind, ANNOT_FUNC_NATIVE);
    assert_int_equal(c->total, 21);
    assert_int_equal(c->func_total, 21); /* every stack holds work, once */
    assert_int_equal(c->self_total, 12); /* 5 + 3 + 4 inlined helper */
    assert_int_equal(at_addr(c, 0x1000)->self, 5);
    assert_int_equal(at_addr(c, 0x1010)->self, 3);
    assert_int_equal(at_addr(c, 0x1030)->self, 4);
    /* the call to leaf: incl. only, from both stacks that reach it */
    assert_int_equal(at_addr(c, 0x1020)->self, 0);
    assert_int_equal(at_addr(c, 0x1020)->incl, 9);
    /* the recursive call site is twice on one stack: counted once */
    assert_int_equal(at_addr(c, 0x1040)->incl, 2);
    assert_null(at_addr(c, 0x2000)); /* leaf's own code is not work's */
    assert_int_equal(c->any_module, MOD);
    assert_false(c->inlined_only);
    annot_counts_free(c);
    world_free(&w);
}

static void test_lines_and_inline_call_site(void **state)
{
    (void)state;
    struct world w;
    struct prog p;
    world_init(&w);
    make_prog(&w, &p);
    struct annot_counts *c = collect(&w, p.f_work);
    assert_string_equal(c->file, p.work_c);
    assert_int_equal(c->decl_line, 10);
    assert_int_equal(at_line(c, 12)->self, 5);
    assert_int_equal(at_line(c, 13)->self, 3);
    assert_int_equal(at_line(c, 14)->incl, 9);
    /* the inlined helper's samples: at the line where work calls it */
    assert_int_equal(at_line(c, 15)->self, 4);
    assert_int_equal(at_line(c, 16)->incl, 2);
    assert_null(at_line(c, 6)); /* helper's own line is not in work's view */
    assert_null(at_line(c, 41));
    assert_int_equal(c->other_file, 0);
    annot_counts_free(c);

    /* ... and in helper's own view, at its own line, in its own file */
    c = collect(&w, p.f_helper);
    assert_string_equal(c->file, p.help_h);
    assert_int_equal(c->nlines, 1);
    assert_int_equal(at_line(c, 6)->self, 4);
    assert_int_equal(at_addr(c, 0x1030)->self, 4);
    assert_true(c->inlined_only);
    assert_int_equal(c->func_total, 4);
    annot_counts_free(c);

    /* main has no self samples: all its samples go through its call */
    c = collect(&w, p.f_main);
    assert_int_equal(c->self_total, 0);
    assert_int_equal(at_addr(c, 0x3000)->incl, 21);
    assert_int_equal(at_line(c, 3)->incl, 21);
    annot_counts_free(c);
    world_free(&w);
}

static void test_zoomed_self_counts(void **state)
{
    (void)state;
    struct world w;
    struct prog p;
    world_init(&w);
    make_prog(&w, &p);
    /* zoom (done by the caller) leaves zeros: only the recursive stack */
    size_t n = model_node_count(w.m);
    uint64_t *self = calloc(n, sizeof(*self));
    model_self_counts(w.m, MODEL_CUMULATIVE, 0, self);
    frame_id fd = native(&w, 0x2000), fc = native(&w, 0x1020), frr = native(&w, 0x1040);
    for (size_t i = 1; i < n; i++) {
        const struct model_node *nd = model_node(w.m, (uint32_t)i);
        const struct model_node *up = model_node(w.m, nd->parent);
        bool keep = nd->frame == fd && up->frame == fc && up->parent != MODEL_NO_NODE &&
                    model_node(w.m, up->parent)->frame == frr;
        if (!keep)
            self[i] = 0;
    }
    struct annot_counts *c = annot_collect(w.env, w.m, &w.r, self, p.f_work);
    assert_int_equal(c->total, 2);
    assert_int_equal(c->self_total, 0);
    assert_int_equal(c->func_total, 2);
    assert_int_equal(at_addr(c, 0x1020)->incl, 2);
    assert_int_equal(at_addr(c, 0x1040)->incl, 2);
    assert_null(at_addr(c, 0x1000)); /* zoomed out: not even listed */
    annot_counts_free(c);
    /* a function id the resolver does not have */
    assert_null(annot_collect(w.env, w.m, &w.r, self, 9999));
    assert_int_equal(errno, EINVAL);
    free(self);
    world_free(&w);
}

/* The walk under the model lock on a big tree: 200k samples over random
 * stacks 24 deep (printed; the bound only catches a blow-up). */
static void test_collect_cost(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    uint32_t f[8];
    for (int i = 0; i < 8; i++)
        f[i] = fake_func(w.fr, i ? "other" : "target", "prog", "/src/x.c", 10 * i);
    frame_id ids[200];
    for (int i = 0; i < 200; i++) {
        ids[i] = native(&w, 0x1000 + 16 * (uint64_t)i);
        chain(&w, ids[i], 1, &f[i % 8], (int[]){i + 1});
    }
    uint64_t rnd = 42;
    for (int k = 0; k < 200000; k++) {
        frame_id st[24];
        for (int d = 0; d < 24; d++) {
            rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
            st[d] = ids[(rnd >> 33) % (d < 4 ? 200 : 20)];
        }
        add(&w, st, 24, 1);
    }
    size_t n = model_node_count(w.m);
    uint64_t *self = calloc(n, sizeof(*self));
    model_self_counts(w.m, MODEL_CUMULATIVE, 0, self);
    uint64_t t0 = now_ns(), c0 = cpu_ns();
    struct annot_counts *c = annot_collect(w.env, w.m, &w.r, self, f[0]);
    double cms = (double)(cpu_ns() - c0) / 1e6, ms = (double)(now_ns() - t0) / 1e6;
    printf("# annot_collect over %zu nodes: %.1f ms CPU (%.1f ms wall)\n", n, cms, ms);
    assert_non_null(c);
    assert_int_equal(c->total, 200000);
    assert_true(c->func_total > 0 && c->func_total <= 200000);
    assert_true(cms < 2000.0);
    annot_counts_free(c);
    free(self);
    world_free(&w);
}

static void test_python_lines(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    char py[128];
    snprintf(py, sizeof py, "%s/app/mod.py", w.dir);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/app", w.dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(py, "import os\n"
                   "\n"
                   "\n"
                   "def hot(n):\n"
                   "    total = 0\n"
                   "    for i in range(n):\n"
                   "        total += i * i\n"
                   "\n"
                   "    return total\n"
                   "\n"
                   "\n"
                   "def other():\n"
                   "    pass\n"
                   "x = 1\n"
                   "y = 2\n"
                   "z = 3\n"
                   "w = 4\n");
    struct pycode code = {.addr = 0x5000, .firstlineno = 4};
    snprintf(code.name, sizeof code.name, "hot");
    snprintf(code.qualname, sizeof code.qualname, "hot");
    snprintf(code.file, sizeof code.file, "%s", py);
    uint32_t id = pycode_reg_intern(w.py, &code);
    /* the resolver shows a cut name; the view must read the full one */
    uint32_t f = fake_func(w.fr, "hot", "", "mod.py", 4);
    frame_id l7 = intern_frame(w.in, FRAME_PYTHON, id, 7),
             l6 = intern_frame(w.in, FRAME_PYTHON, id, 6);
    fake_frame(w.fr, l7, 1, &f);
    fake_frame(w.fr, l6, 1, &f);
    /* line 7 in the interpreter's own C code (long_mul) for 4 of its 9;
     * line 6 calls other() (a deeper Python frame, with C below it) */
    struct pycode code2 = {.addr = 0x6000, .firstlineno = 12};
    snprintf(code2.qualname, sizeof code2.qualname, "other");
    snprintf(code2.file, sizeof code2.file, "%s", py);
    uint32_t id2 = pycode_reg_intern(w.py, &code2);
    uint32_t f2 = fake_func(w.fr, "other", "", "mod.py", 12);
    uint32_t fc = fake_func(w.fr, "long_mul", "libpython", "longobject.c", 100);
    frame_id o13 = intern_frame(w.in, FRAME_PYTHON, id2, 13), cn = native(&w, 0x9000);
    fake_frame(w.fr, o13, 1, &f2);
    fake_frame(w.fr, cn, 1, &fc);
    add(&w, (frame_id[]){l7}, 1, 5);
    add(&w, (frame_id[]){cn, l7}, 2, 4);
    add(&w, (frame_id[]){l6}, 1, 1);
    add(&w, (frame_id[]){o13, l6}, 2, 2);
    add(&w, (frame_id[]){cn, o13, l6}, 3, 3);
    struct annot_counts *c = collect(&w, f);
    assert_int_equal(c->kind, ANNOT_FUNC_PYTHON);
    assert_string_equal(c->file, py);
    assert_int_equal(at_line(c, 7)->self, 9); /* the C code below is the line's */
    assert_int_equal(at_line(c, 7)->incl, 0);
    assert_int_equal(at_line(c, 6)->self, 1);
    assert_int_equal(at_line(c, 6)->incl, 5); /* in other(), with its C code */
    assert_int_equal(c->self_total, 10);
    assert_int_equal(c->func_total, 15);
    assert_int_equal(c->naddrs, 0);
    /* other()'s own view: its line with the C code below it */
    struct annot_counts *c2 = collect(&w, f2);
    assert_int_equal(at_line(c2, 13)->self, 5);
    annot_counts_free(c2);

    struct annot_view *v = annot_build(w.env, c, ANNOT_SOURCE);
    assert_string_equal(v->error, "");
    /* the def's block (4-9) with 3 lines of context: 1-12, not the rest */
    assert_int_equal(v->rows[0].line, 1);
    assert_int_equal(v->rows[v->nrows - 1].line, 12);
    assert_string_equal(row_of_line(v, 7)->text, "        total += i * i");
    assert_true(row_of_line(v, 7)->hot);
    assert_int_equal(v->rows[v->hottest].line, 7);
    annot_view_free(v);

    v = annot_build(w.env, c, ANNOT_ASM);
    assert_non_null(strstr(v->error, "no machine code for a Python function"));
    assert_int_equal(v->nrows, 0);
    annot_view_free(v);
    annot_counts_free(c);
    world_free(&w);
}

static void test_source_view_range_and_hot(void **state)
{
    (void)state;
    struct world w;
    struct prog p;
    world_init(&w);
    make_prog(&w, &p);
    struct annot_counts *c = collect(&w, p.f_work);
    struct annot_view *v = annot_build(w.env, c, ANNOT_SOURCE);
    assert_string_equal(v->error, "");
    /* from the definition (10) to the last counted line (16), +-3 */
    assert_int_equal(v->rows[0].line, 7);
    assert_int_equal(v->rows[v->nrows - 1].line, 19);
    assert_string_equal(row_of_line(v, 12)->text, "line 12");
    assert_int_equal(row_of_line(v, 12)->self, 5);
    assert_int_equal(row_of_line(v, 14)->incl, 9);
    assert_int_equal(row_of_line(v, 11)->self, 0);
    assert_int_equal(v->rows[v->hottest].line, 12);
    assert_true(row_of_line(v, 15)->hot); /* 4 of 12 */
    assert_false(row_of_line(v, 11)->hot);
    assert_non_null(strstr(v->title, "work"));
    annot_view_free(v);
    annot_counts_free(c);

    /* a function hot only through its calls: its call lines are the hot ones */
    c = collect(&w, p.f_main);
    snprintf(c->file, sizeof c->file, "%s", p.work_c); /* main.c does not exist */
    v = annot_build(w.env, c, ANNOT_SOURCE);
    assert_int_equal(v->rows[v->hottest].line, 3);
    annot_view_free(v);
    annot_counts_free(c);
    world_free(&w);
}

static void test_source_not_found_and_maps(void **state)
{
    (void)state;
    struct world w;
    struct prog p;
    world_init(&w);
    make_prog(&w, &p);
    struct annot_counts *c = collect(&w, p.f_work);
    snprintf(c->file, sizeof c->file, "/nonexistent/tree/work.c");
    struct annot_view *v = annot_build(w.env, c, ANNOT_SOURCE);
    assert_non_null(strstr(v->error, "source not found: /nonexistent/tree/work.c"));
    assert_non_null(strstr(v->error, "--source-path"));
    assert_int_equal(v->nrows, 0);
    assert_int_equal(v->hottest, SIZE_MAX);
    annot_view_free(v);

    /* the tree moved: --source-path OLD=NEW finds it */
    char map[200];
    snprintf(map, sizeof map, "/nonexistent/tree=%s/", w.dir);
    const char *maps[] = {"/elsewhere=/nope", map};
    struct annot_env_cfg cfg = {.in = w.in, .maps = maps, .nmaps = 2};
    struct annot_env *env = annot_env_new(&cfg);
    assert_non_null(env);
    v = annot_build(env, c, ANNOT_SOURCE);
    assert_string_equal(v->error, "");
    assert_int_equal(row_of_line(v, 12)->self, 5);
    annot_view_free(v);
    /* a file shorter than the function's lines: changed since the build */
    char shortf[160];
    snprintf(shortf, sizeof shortf, "%s/short.c", w.dir);
    write_numbered(shortf, 5);
    struct annot_counts *cs = collect(&w, p.f_work);
    snprintf(cs->file, sizeof cs->file, "%s", shortf);
    v = annot_build(env, cs, ANNOT_SOURCE);
    assert_non_null(strstr(v->error, "has 5 lines, but work starts at line 10"));
    annot_view_free(v);
    annot_counts_free(cs);
    /* a mapped tree that lacks the file says so, naming the mapped path */
    snprintf(c->file, sizeof c->file, "/nonexistent/tree/gone.c");
    v = annot_build(env, c, ANNOT_SOURCE);
    assert_non_null(strstr(v->error, "gone.c"));
    assert_non_null(strstr(v->error, w.dir));
    annot_view_free(v);
    annot_env_free(env);
    annot_counts_free(c);

    const char *bad[] = {"nomap"};
    cfg.maps = bad;
    cfg.nmaps = 1;
    assert_null(annot_env_new(&cfg));
    world_free(&w);
}

static void test_map_path_components(void **state)
{
    (void)state;
    struct srcfile_map m[2];
    char out[256];
    assert_int_equal(srcfile_map_parse("/build/src/=/home/me/src", &m[0]), 0);
    assert_int_equal(srcfile_map_parse("/=/root", &m[1]), 0);
    assert_int_equal(srcfile_map_path(m, 1, "/build/src/a/b.c", out, sizeof out), 1);
    assert_string_equal(out, "/home/me/src/a/b.c");
    /* a prefix of a component is not a match */
    assert_int_equal(srcfile_map_path(m, 1, "/build/srcx/b.c", out, sizeof out), 0);
    assert_int_equal(srcfile_map_path(m, 2, "/build/srcx/b.c", out, sizeof out), 1);
    assert_string_equal(out, "/root/build/srcx/b.c");
    assert_int_equal(srcfile_map_path(m, 1, "/build/src/x.c", out, 8), -ENAMETOOLONG);
    srcfile_map_free(&m[0]);
    srcfile_map_free(&m[1]);
    /* a spec that does not parse leaves an empty map (nothing to free) */
    assert_int_equal(srcfile_map_parse("=x", &m[0]), -EINVAL);
    assert_null(m[0].old_prefix);
    assert_int_equal(srcfile_map_parse("a=", &m[0]), -EINVAL);
    assert_int_equal(srcfile_map_parse("a", &m[0]), -EINVAL);
}

static void test_cli_source_path(void **state)
{
    (void)state;
    struct cli_opts o;
    char err[256];
    char *argv[] = {"pertop", "--source-path", "/a=/b", "--source-path", "/c=/d", "-p", "1", NULL};
    assert_int_equal(cli_parse(7, argv, &o, err, sizeof err), CLI_RUN);
    assert_int_equal(o.nsource_maps, 2);
    assert_string_equal(o.source_maps[1], "/c=/d");
    char *bad[] = {"pertop", "--source-path", "/a", "-p", "1", NULL};
    assert_int_equal(cli_parse(5, bad, &o, err, sizeof err), CLI_ERROR);
    assert_non_null(strstr(err, "OLD=NEW"));
}

static void test_srcfile_sanitizes_and_caps(void **state)
{
    (void)state;
    struct world w;
    world_init(&w);
    char path[128];
    snprintf(path, sizeof path, "%s/odd.c", w.dir);
    write_file(path, "\tx\xff\x01y\r\n"
                     "caf\xc3\xa9\n"
                     "no newline");
    struct srcfile *f;
    assert_int_equal(srcfile_read(path, &f), 0);
    assert_int_equal(f->nlines, 3);
    assert_string_equal(srcfile_line(f, 1), "        x??y");
    assert_string_equal(srcfile_line(f, 2), "caf\xc3\xa9");
    assert_string_equal(srcfile_line(f, 3), "no newline");
    assert_null(srcfile_line(f, 4));
    srcfile_free(f);

    /* a long line is cut */
    FILE *fp = fopen(path, "w");
    for (int i = 0; i < 5000; i++)
        fputc('a', fp);
    fclose(fp);
    assert_int_equal(srcfile_read(path, &f), 0);
    assert_int_equal(strlen(srcfile_line(f, 1)), SRCFILE_LINE_MAX - 1);
    srcfile_free(f);

    /* bigger than the cap: refused, and said so */
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(ftruncate(fd, SRCFILE_MAX_BYTES + 1), 0);
    close(fd);
    assert_int_equal(srcfile_read(path, &f), -EFBIG);
    char err[512];
    assert_int_equal(srcfile_open(NULL, 0, NULL, path, &f, err, sizeof err), -EFBIG);
    assert_non_null(strstr(err, "larger than"));
    /* not a regular file */
    assert_int_equal(srcfile_read(w.dir, &f), -EISDIR);
    world_free(&w);
}

static void test_source_through_root(void **state)
{
    (void)state;
    struct world w;
    struct prog p;
    world_init(&w);
    make_prog(&w, &p);
    /* our own root: /proc/PID/root + the path is the same file */
    struct annot_env_cfg cfg = {.in = w.in, .pid = getpid()};
    struct annot_env *env = annot_env_new(&cfg);
    struct annot_counts *c = collect(&w, p.f_work);
    struct annot_view *v = annot_build(env, c, ANNOT_SOURCE);
    assert_string_equal(v->error, "");
    assert_int_equal(row_of_line(v, 13)->self, 3);
    annot_view_free(v);
    /* an edited file is read again */
    write_numbered(p.work_c, 30);
    FILE *f = fopen(p.work_c, "a");
    fputs("appended\n", f);
    fclose(f);
    annot_env_set_gone(env, true);
    v = annot_build(env, c, ANNOT_SOURCE);
    assert_string_equal(v->error, "");
    assert_string_equal(row_of_line(v, 12)->text, "line 12"); /* the new text */
    annot_view_free(v);
    annot_env_free(env);

    /* a relative name (a script started as "python app.py") is found in
     * the target's working directory, not in ours */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* never outlive the test, even when an assertion leaves early */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (chdir(w.dir) == 0)
            sleep(60);
        _exit(1);
    }
    char cwd_link[64], seen[256];
    snprintf(cwd_link, sizeof cwd_link, "/proc/%d/cwd", (int)child);
    for (int i = 0; i < 500; i++) { /* until the child has moved */
        ssize_t k = readlink(cwd_link, seen, sizeof seen - 1);
        if (k > 0 && (seen[k] = '\0', strcmp(seen, w.dir) == 0))
            break;
        usleep(2000);
    }
    cfg.pid = child;
    env = annot_env_new(&cfg);
    snprintf(c->file, sizeof c->file, "work.c");
    v = annot_build(env, c, ANNOT_SOURCE);
    assert_string_equal(v->error, "");
    assert_int_equal(row_of_line(v, 13)->self, 3);
    annot_view_free(v);
    annot_env_set_gone(env, true); /* no target: our cwd has no work.c */
    snprintf(c->file, sizeof c->file, "work.c");
    v = annot_build(env, c, ANNOT_SOURCE);
    assert_non_null(strstr(v->error, "source not found: work.c"));
    annot_view_free(v);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    annot_env_free(env);
    annot_counts_free(c);
    world_free(&w);
}

/* ------------------------------------------- real fixture, real symbols */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time of this thread: what a bound can hold to on a shared machine,
 * where `make check -j2` beside other work stretches wall time. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct real {
    struct interner *in;
    struct modreg *reg;
    struct symbolizer *sym;
    struct native_resolver *nr;
    struct resolver r;
    struct model *m;
    uint32_t mod;
    frame_id thread, overflow;
    struct annot_env *env;
};

static void real_init(struct real *x, const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    x->in = intern_new(4096);
    x->reg = modreg_new();
    x->sym = sym_new("");
    x->m = model_new(NULL);
    x->mod = modreg_intern(x->reg, st.st_dev, st.st_ino, path, path);
    x->nr = resolver_native_new(x->in, x->reg, x->sym);
    x->r = resolver_native_iface(x->nr);
    x->thread = intern_frame(x->in, FRAME_THREAD, 0, 1);
    x->overflow = intern_frame(x->in, FRAME_SPECIAL, SPECIAL_OVERFLOW, 0);
    struct annot_env_cfg cfg = {.in = x->in, .reg = x->reg, .sym = x->sym};
    x->env = annot_env_new(&cfg);
    assert_non_null(x->env);
}

static void real_free(struct real *x)
{
    annot_env_free(x->env);
    resolver_native_free(x->nr);
    model_free(x->m);
    sym_free(x->sym);
    modreg_free(x->reg);
    intern_free(x->in);
}

static uint32_t func_named(struct real *x, const char *name)
{
    for (uint32_t i = 0; i < x->r.func_count(x->r.ctx); i++)
        if (strcmp(x->r.func(x->r.ctx, i)->name, name) == 0)
            return i;
    fail_msg("no function %s", name);
    return 0;
}

static struct annot_counts *real_collect(struct real *x, uint32_t func)
{
    resolver_native_prepare(x->nr, intern_count(x->in));
    size_t n = model_node_count(x->m);
    uint64_t *self = calloc(n, sizeof(*self));
    model_self_counts(x->m, MODEL_CUMULATIVE, 0, self);
    struct annot_counts *c = annot_collect(x->env, x->m, &x->r, self, func);
    free(self);
    assert_non_null(c);
    return c;
}

/* The address of the first instruction of sym whose text starts with mn. */
static uint64_t insn_addr(struct real *x, uint64_t start, const char *mn)
{
    uint64_t s, size;
    const char *fn;
    assert_int_equal(sym_func_bounds(x->sym, x->mod, "annot_loop", FIXTURE_DIR "/annot_loop", start,
                                     &s, &size, &fn),
                     0);
    int fd = open(FIXTURE_DIR "/annot_loop", O_RDONLY);
    struct disasm *d;
    char err[256];
    assert_int_equal(disasm_file(fd, s, size, &d, err, sizeof err), 0);
    close(fd);
    uint64_t a = 0;
    for (size_t i = 0; i < d->n && !a; i++)
        if (strncmp(d->insn[i].text, mn, strlen(mn)) == 0)
            a = d->insn[i].addr;
    disasm_free(d);
    assert_true(a != 0);
    return a;
}

static uint64_t sym_addr(const char *path, const char *name)
{
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    uint64_t addr = 0;
    for (Elf_Scn *scn = NULL; !addr && (scn = elf_nextscn(elf, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym s;
            if (gelf_getsym(d, (int)i, &s) && !strcmp(elf_strptr(elf, sh.sh_link, s.st_name), name))
                addr = s.st_value;
        }
    }
    elf_end(elf);
    close(fd);
    return addr;
}

static void test_asm_view_on_fixture(void **state)
{
    (void)state;
    const char *path = FIXTURE_DIR "/annot_loop";
    struct real x;
    real_init(&x, path);
    uint64_t dc = sym_addr(path, "divide_chain"), ra = sym_addr(path, "run_annot");
    assert_true(dc && ra);
    uint64_t div = insn_addr(&x, dc, "div");
    frame_id fdiv = intern_frame(x.in, FRAME_NATIVE, x.mod, div);
    frame_id fother = intern_frame(x.in, FRAME_NATIVE, x.mod, dc);
    frame_id fcall = intern_frame(x.in, FRAME_NATIVE, x.mod, insn_addr(&x, ra, "call") + 2);
    for (int i = 0; i < 30; i++)
        model_add(x.m, 1, "t", 'R', x.thread, (frame_id[]){fdiv, fcall}, 2, SAMPLE_ONCPU, 1,
                  x.overflow);
    model_add(x.m, 1, "t", 'R', x.thread, (frame_id[]){fother, fcall}, 2, SAMPLE_ONCPU, 1,
              x.overflow);
    resolver_native_prepare(x.nr, intern_count(x.in));
    struct annot_counts *c = real_collect(&x, func_named(&x, "divide_chain"));
    assert_int_equal(c->self_total, 31);

    uint64_t t0 = now_ns();
    struct annot_view *v = annot_build(x.env, c, ANNOT_ASM);
    uint64_t t1 = now_ns();
    assert_string_equal(v->error, "");
    const struct annot_row *h = &v->rows[v->hottest];
    assert_int_equal(h->kind, ANNOT_ROW_INSN);
    assert_int_equal(h->addr, div);
    assert_int_equal(h->self, 30);
    assert_true(strncmp(h->text, "div", 3) == 0);
    /* the hot line's source is interleaved above its instructions */
    bool comment = false, label = false;
    for (size_t i = 0; i < v->nrows; i++) {
        comment |= v->rows[i].kind == ANNOT_ROW_COMMENT && strstr(v->rows[i].text, "HOT-LINE");
        label |= v->rows[i].kind == ANNOT_ROW_LABEL;
    }
    assert_true(comment);
    assert_true(label); /* the loop's head */
    annot_view_free(v);

    /* the source view: the HOT-LINE is the hottest, the whole function shown */
    struct annot_view *s = annot_build(x.env, c, ANNOT_SOURCE);
    assert_string_equal(s->error, "");
    assert_non_null(strstr(s->rows[s->hottest].text, "HOT-LINE"));
    assert_non_null(strstr(s->rows[s->nrows - 1 - 3].text, "}")); /* function end + 3 */
    annot_view_free(s);
    annot_counts_free(c);

    /* run_annot: hot only through its call, at the call instruction */
    c = real_collect(&x, func_named(&x, "run_annot"));
    v = annot_build(x.env, c, ANNOT_ASM);
    assert_string_equal(v->error, "");
    h = &v->rows[v->hottest];
    assert_int_equal(h->incl, 31);
    assert_non_null(strstr(h->text, "<divide_chain>"));
    annot_view_free(v);
    annot_counts_free(c);
    printf("# asm view of divide_chain, cold: %.2f ms\n", (double)(t1 - t0) / 1e6);
    real_free(&x);
}

/* A function of this test binary about 2 KiB long whose code has lines
 * (DWARF), so both views do their real work. */
static int pick_2k(struct real *x, const char *exe, uint64_t *addr, uint64_t *size, char *name,
                   size_t namesz)
{
    elf_version(EV_CURRENT);
    int fd = open(exe, O_RDONLY);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    int rc = -ENOENT;
    for (Elf_Scn *scn = NULL; rc && (scn = elf_nextscn(elf, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t i = 0; rc && i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym s;
            if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
                s.st_size < 1800 || s.st_size > 2600)
                continue;
            const struct sym_result *r = sym_resolve(x->sym, x->mod, exe, exe, s.st_value + 16);
            if (!r->f[0].file || r->f[0].line <= 0 || r->f[r->n - 1].from_symtab)
                continue;
            *addr = s.st_value;
            *size = s.st_size;
            snprintf(name, namesz, "%s", elf_strptr(elf, sh.sh_link, s.st_name));
            rc = 0;
        }
    }
    elf_end(elf);
    close(fd);
    return rc;
}

/* A cold symbolizer, resolver and view cache (the counts stay valid: views
 * do not use the resolver). */
static void fresh_symbols(struct real *x)
{
    annot_env_free(x->env);
    resolver_native_free(x->nr);
    sym_free(x->sym);
    x->sym = sym_new("");
    x->nr = resolver_native_new(x->in, x->reg, x->sym);
    x->r = resolver_native_iface(x->nr);
    struct annot_env_cfg cfg = {.in = x->in, .reg = x->reg, .sym = x->sym};
    x->env = annot_env_new(&cfg);
    assert_true(x->sym && x->nr && x->env);
}

static void test_build_time_2k(void **state)
{
    (void)state;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    uint64_t addr = 0, size = 0;
    char name[256];
    struct real x;
    real_init(&x, exe);
    if (pick_2k(&x, exe, &addr, &size, name, sizeof name) < 0) {
        real_free(&x);
        skip();
    }
    fresh_symbols(&x);
    /* samples spread over the function */
    for (uint64_t a = addr; a < addr + size; a += 64) {
        frame_id f = intern_frame(x.in, FRAME_NATIVE, x.mod, a);
        model_add(x.m, 1, "t", 'R', x.thread, &f, 1, SAMPLE_ONCPU, 1, x.overflow);
    }
    resolver_native_prepare(x.nr, intern_count(x.in));
    const struct frame_chain *ch =
        x.r.chain(x.r.ctx, intern_frame(x.in, FRAME_NATIVE, x.mod, addr));
    struct annot_counts *c = real_collect(&x, ch->f[ch->n - 1].func);
    /* [view][cold, cached]: wall time of the last try, and the least CPU
     * time of three cold builds (each with cold symbols) */
    double ms[2][2], cpu[2][2] = {{1e9, 1e9}, {1e9, 1e9}};
    for (int k = 0; k < 2; k++) {
        for (int tries = 0; tries < 3; tries++) {
            fresh_symbols(&x);
            for (int pass = 0; pass < 2; pass++) {
                uint64_t t0 = now_ns(), c0 = cpu_ns();
                struct annot_view *v = annot_build(x.env, c, k ? ANNOT_SOURCE : ANNOT_ASM);
                double used = (double)(cpu_ns() - c0) / 1e6;
                ms[k][pass] = (double)(now_ns() - t0) / 1e6;
                cpu[k][pass] = used < cpu[k][pass] ? used : cpu[k][pass];
                assert_non_null(v);
                if (v->error[0])
                    fail_msg("%s view of %s: %s", k ? "source" : "asm", name, v->error);
                /* 2 KiB is far more than 20 instructions; its source may be a
                 * few dozen lines, or fewer in a sanitizer build */
                assert_true(v->nrows > (k ? 3u : 20u));
                annot_view_free(v);
            }
        }
    }
    printf("# %s (%llu bytes), CPU ms (wall ms): asm view %.2f (%.2f) cold, %.2f (%.2f) cached; "
           "source view %.2f (%.2f) cold, %.2f (%.2f) cached\n",
           name, (unsigned long long)size, cpu[0][0], ms[0][0], cpu[0][1], ms[0][1], cpu[1][0],
           ms[1][0], cpu[1][1], ms[1][1]);
    assert_true(cpu[0][0] < 50.0);
    assert_true(cpu[1][0] < 50.0);
    assert_true(cpu[0][1] * 10 < cpu[0][0]); /* the cache is what a refresh uses */
    annot_counts_free(c);
    real_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_and_incl_per_address),
        cmocka_unit_test(test_lines_and_inline_call_site),
        cmocka_unit_test(test_zoomed_self_counts),
        cmocka_unit_test(test_collect_cost),
        cmocka_unit_test(test_python_lines),
        cmocka_unit_test(test_source_view_range_and_hot),
        cmocka_unit_test(test_source_not_found_and_maps),
        cmocka_unit_test(test_map_path_components),
        cmocka_unit_test(test_cli_source_path),
        cmocka_unit_test(test_srcfile_sanitizes_and_caps),
        cmocka_unit_test(test_source_through_root),
        cmocka_unit_test(test_asm_view_on_fixture),
        cmocka_unit_test(test_build_time_2k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
