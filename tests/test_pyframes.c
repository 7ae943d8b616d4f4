/*
 * test_pyframes.c - the CPython frame walker on a synthetic memory image.
 *
 * A fake remote address space holds a hand-built runtime (or interp_head)
 * -> interpreter -> thread state -> frame chain -> code objects -> strings
 * and line tables, laid out with the generated tables of 2.7, 3.10 and
 * 3.11; then the chain is broken on purpose: torn under the read, cyclic,
 * a null code pointer, an overlong name, a reused code address.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sampler/python/pyframes.h"

#define BASE 0x100000ull
#define SIZE (1u << 20)

struct image {
    uint8_t mem[SIZE];
    uint64_t top;
    int reads, tear_after; /* tear: move the chain head after N reads */
    uint64_t tear_at, tear_to;
    /* A thread that runs while it is read: before every batched read (the
     * walker's validation step), the word at flip_at changes, alternating
     * between its value and flip_to. */
    uint64_t flip_at, flip_to;
    int batches;
};

static struct image img;

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    struct image *im = ctx;
    if (addr < BASE || addr + len > BASE + SIZE || addr + len < addr)
        return -EFAULT;
    if (im->tear_after && ++im->reads == im->tear_after)
        memcpy(im->mem + (im->tear_at - BASE), &im->tear_to, 8);
    memcpy(buf, im->mem + (addr - BASE), len);
    return 0;
}

/* Batched reads: the moment a live thread's chain may change. */
static int fake_readv(void *ctx, const struct pyiov *v, size_t n)
{
    struct image *im = ctx;
    size_t i;
    im->batches++;
    if (im->flip_at) {
        uint64_t was;
        memcpy(&was, im->mem + (im->flip_at - BASE), 8);
        memcpy(im->mem + (im->flip_at - BASE), &im->flip_to, 8);
        im->flip_to = was;
    }
    for (i = 0; i < n; i++)
        if (fake_read(ctx, v[i].addr, v[i].buf, v[i].len) < 0)
            break;
    return (int)i;
}

static uint64_t alloc(size_t n)
{
    uint64_t a = BASE + img.top;
    img.top += (n + 15) & ~(size_t)15;
    assert_true(img.top <= SIZE);
    return a;
}

static void put64(uint64_t a, int32_t off, uint64_t v)
{
    assert_true(off >= 0);
    memcpy(img.mem + (a - BASE) + off, &v, 8);
}

static void put32(uint64_t a, int32_t off, int32_t v)
{
    assert_true(off >= 0);
    memcpy(img.mem + (a - BASE) + off, &v, 4);
}

static uint64_t mk_bytes(const struct py_layout *L, const void *s, size_t n)
{
    uint64_t o = alloc((size_t)L->bytes_sval + n + 1);
    put64(o, L->bytes_size, n);
    memcpy(img.mem + (o - BASE) + L->bytes_sval, s, n);
    return o;
}

/* A compact ASCII str (3.x) or a str (2.7). */
static uint64_t mk_str(const struct py_layout *L, const char *s, size_t n)
{
    if (L->str_kind == PYL_STR_BYTES)
        return mk_bytes(L, s, n);
    uint64_t o = alloc((size_t)L->uni_ascii_size + n + 1);
    put64(o, L->uni_length, n);
    /* compact, ascii, kind 1 (the lowest bit of the kind mask) */
    put32(o, L->uni_state,
          (int32_t)(L->uni_compact_mask | L->uni_ascii_mask |
                    (L->uni_kind_mask & (0u - L->uni_kind_mask))));
    memcpy(img.mem + (o - BASE) + L->uni_ascii_size, s, n);
    return o;
}

/* Line tables giving line first+0 at bytes [0,4) and first+D at [4,8). */
static uint64_t mk_table(const struct py_layout *L, int *delta)
{
    static const uint8_t lnotab[] = {4, 2};
    static const uint8_t lt310[] = {4, 0, 4, 3};
    static const uint8_t loc311[] = {0x80 | 13 << 3 | 1, 0x00, 0x80 | 13 << 3 | 1, 0x0a};
    switch (L->line_format) {
    case PYLINES_LINETABLE_310:
        *delta = 3;
        return mk_bytes(L, lt310, sizeof lt310);
    case PYLINES_LOCATIONS_311:
        *delta = 5;
        return mk_bytes(L, loc311, sizeof loc311);
    default:
        *delta = 2;
        return mk_bytes(L, lnotab, sizeof lnotab);
    }
}

static uint64_t mk_code(const struct py_layout *L, const char *name, int first, int *delta)
{
    uint64_t co = alloc((size_t)L->code_size + 64);
    uint64_t nm = mk_str(L, name, strlen(name));
    put64(co, L->ob_type, 0xc0de);
    put64(co, L->co_name, nm);
    if (L->co_qualname >= 0)
        put64(co, L->co_qualname, nm);
    put64(co, L->co_filename, mk_str(L, "app.py", 6));
    put32(co, L->co_firstlineno, first);
    put64(co, L->co_linetable, mk_table(L, delta));
    if (L->co_firsttraceable >= 0)
        put32(co, L->co_firsttraceable, 0);
    return co;
}

/* A frame running byte offset 4 (the second line of its table). */
static uint64_t mk_frame(const struct py_layout *L, uint64_t code, uint64_t back)
{
    uint64_t f = alloc(512);
    if (L->frame_kind == PYL_FRAME_OBJECT) {
        put64(f, L->f_back, back);
        put64(f, L->f_code, code);
        put32(f, L->f_lasti, 4 / L->f_lasti_scale);
    } else {
        int32_t ip = L->if_instr_ptr >= 0 ? L->if_instr_ptr : L->if_prev_instr;
        put64(f, L->if_previous, back);
        put64(f, L->if_code, code);
        put64(f, ip, code + (uint64_t)L->co_code_adaptive + 4);
        img.mem[f - BASE + (uint64_t)L->if_owner] = 0;
    }
    return f;
}

struct world {
    struct pyf_target t;
    uint64_t tstate, frames[3], codes[3], pthread;
};

/* runtime/interp_head -> interp -> tstate -> f0 -> f1 -> f2 (outermost). */
static void build(struct world *w, int major, int minor)
{
    const struct py_layout *L = pylayout_find(major, minor);
    uint64_t interp, root, cf;
    int d;

    assert_non_null(L);
    memset(&img, 0, sizeof img);
    memset(w, 0, sizeof *w);
    w->t.layout = *L;
    w->t.mem = (struct pyread){fake_read, &img, NULL};
    w->t.code_type = 0xc0de;
    interp = alloc(8192);
    w->tstate = alloc(1024);
    root = alloc(4096);
    w->t.root = root;
    if (L->root == PYL_ROOT_RUNTIME)
        put64(root, L->rt_interp_main, interp);
    else
        put64(root, 0, interp);
    put64(interp, L->is_tstate_head, w->tstate);
    put64(w->tstate, L->ts_interp, interp);
    w->pthread = alloc(2048);
    put32(w->pthread, 720, 4242); /* glibc's tid slot in struct pthread */
    put64(w->tstate, L->ts_thread_id, w->pthread);
    if (L->ts_native_thread_id >= 0)
        put64(w->tstate, L->ts_native_thread_id, 4242);
    w->codes[2] = mk_code(L, "main", 100, &d);
    w->codes[1] = mk_code(L, "middle", 200, &d);
    w->codes[0] = mk_code(L, "leaf", 300, &d);
    w->frames[2] = mk_frame(L, w->codes[2], 0);
    w->frames[1] = mk_frame(L, w->codes[1], w->frames[2]);
    w->frames[0] = mk_frame(L, w->codes[0], w->frames[1]);
    if (L->ts_frame >= 0) {
        put64(w->tstate, L->ts_frame, w->frames[0]);
    } else {
        cf = alloc(64);
        put64(w->tstate, L->ts_cframe, cf);
        put64(cf, L->cframe_current, w->frames[0]);
    }
}

static uint64_t head_slot(struct world *w)
{
    const struct py_layout *L = &w->t.layout;
    uint64_t cf;
    if (L->ts_frame >= 0)
        return w->tstate + (uint64_t)L->ts_frame;
    memcpy(&cf, img.mem + (w->tstate + (uint64_t)L->ts_cframe - BASE), 8);
    return cf + (uint64_t)L->cframe_current;
}

static int line_delta(const struct py_layout *L)
{
    return L->line_format == PYLINES_LINETABLE_310   ? 3
           : L->line_format == PYLINES_LOCATIONS_311 ? 5
                                                     : 2;
}

static void good_chain(int major, int minor)
{
    struct world w;
    struct pyframes *pf = pyframes_new(0);
    struct pyf_frame fr[8];
    struct pyf_thread th[4];
    size_t n;
    unsigned fl;
    static const char *names[] = {"leaf", "middle", "main"};

    build(&w, major, minor);
    assert_int_equal(pyframes_threads(&w.t, th, 4, &n, &fl, -1), 0);
    assert_int_equal(n, 1);
    assert_int_equal(fl, 0);
    assert_int_equal(th[0].tstate, w.tstate);
    if (w.t.layout.ts_native_thread_id < 0) {
        assert_int_equal(th[0].tid, 0);
        int off = pyframes_tid_offset(&w.t, th[0].pthread_id, 4242);
        assert_int_equal(off, 720);
        assert_int_equal(pyframes_threads(&w.t, th, 4, &n, &fl, off), 0);
    }
    assert_int_equal(th[0].tid, 4242);

    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    assert_int_equal(fl, 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        const struct pycode *c = pyframes_code(pf, fr[i].code);
        assert_int_equal(fr[i].code, w.codes[i]);
        assert_non_null(c);
        assert_string_equal(c->name, names[i]);
        assert_string_equal(c->qualname, names[i]);
        assert_string_equal(c->file, "app.py");
        assert_int_equal(fr[i].line, 300 - 100 * (int)i + line_delta(&w.t.layout));
    }
    /* Depth cap. */
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 2, &n, &fl), 0);
    assert_int_equal(n, 2);
    assert_true(fl & PYF_TRUNCATED);

    /* Cyclic: the outermost frame points back at the innermost. */
    put64(w.frames[2],
          w.t.layout.frame_kind == PYL_FRAME_OBJECT ? w.t.layout.f_back : w.t.layout.if_previous,
          w.frames[0]);
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    assert_int_equal(n, 3);
    assert_true(fl & PYF_CYCLE);
    assert_true(fl & PYF_TORN);
    put64(w.frames[2],
          w.t.layout.frame_kind == PYL_FRAME_OBJECT ? w.t.layout.f_back : w.t.layout.if_previous,
          0);

    /* Torn once: the chain head moves to the middle frame during the walk
     * (the leaf returned).  The walk sees it, reads again at once and
     * reports the new chain whole: never a mix of both. */
    struct pyframes_stats st0, st1;
    pyframes_stats(pf, &st0);
    img.reads = 0;
    img.tear_after = 4;
    img.tear_at = head_slot(&w);
    img.tear_to = w.frames[1];
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    pyframes_stats(pf, &st1);
    assert_int_equal(st1.retries, st0.retries + 1);
    assert_int_equal(st1.torn, st0.torn);
    assert_false(fl & PYF_TORN);
    assert_int_equal(n, 2);
    assert_int_equal(fr[0].code, w.codes[1]);
    assert_int_equal(fr[1].code, w.codes[2]);
    /* A caller that stops the thread skips that check (and its reads). */
    put64(img.tear_at, 0, w.frames[0]);
    img.reads = 0;
    pyframes_set_stopped(pf, true);
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    assert_false(fl & PYF_TORN);
    pyframes_set_stopped(pf, false);
    img.tear_after = 0;
    put64(img.tear_at, 0, w.frames[0]);

    /* Null code pointer in the middle: the leaf only, flagged. */
    put64(w.frames[1],
          w.t.layout.frame_kind == PYL_FRAME_OBJECT ? w.t.layout.f_code : w.t.layout.if_code, 0);
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    assert_int_equal(n, 1);
    assert_true(fl & PYF_TORN);
    /* A pointer to something that is not a code object: same. */
    put64(w.frames[1],
          w.t.layout.frame_kind == PYL_FRAME_OBJECT ? w.t.layout.f_code : w.t.layout.if_code,
          w.tstate);
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    assert_int_equal(n, 1);
    assert_true(fl & PYF_TORN);
    /* A pointer out of the address space. */
    put64(w.frames[0],
          w.t.layout.frame_kind == PYL_FRAME_OBJECT ? w.t.layout.f_back : w.t.layout.if_previous,
          0xdead0000ull);
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    assert_int_equal(n, 1);
    assert_true(fl & PYF_BADREAD);
    pyframes_free(pf);
}

static void test_chain_27(void **state)
{
    (void)state;
    good_chain(2, 7);
}

static void test_chain_310(void **state)
{
    (void)state;
    good_chain(3, 10);
}

static void test_chain_311(void **state)
{
    (void)state;
    good_chain(3, 11);
}

static void test_chain_313(void **state)
{
    (void)state;
    good_chain(3, 13);
}

/* The frame's word at `off` changes under every validation read. */
static void flip_walk(struct world *w, uint64_t at, uint64_t to, bool want_torn)
{
    struct pyframes *pf = pyframes_new(0);
    struct pyframes_stats st;
    struct pyf_frame fr[8];
    size_t n;
    unsigned fl;

    w->t.mem.readv = fake_readv;
    img.flip_at = at;
    img.flip_to = to;
    img.batches = 0;
    assert_int_equal(pyframes_walk(pf, &w->t, w->tstate, fr, 8, &n, &fl), 0);
    pyframes_stats(pf, &st);
    if (want_torn) {
        /* caught both times: counted torn, for the caller to drop */
        assert_true(fl & PYF_TORN);
        assert_int_equal(st.retries, 1);
        assert_int_equal(st.torn, 1);
        assert_true(img.batches >= 2);
    } else {
        assert_int_equal(fl, 0);
        assert_int_equal(n, 3);
        assert_int_equal(st.torn, 0);
        for (size_t i = 0; i < 3; i++)
            assert_int_equal(fr[i].code, w->codes[i]);
    }
    /* A stopped thread is not re-read: nothing to catch. */
    pyframes_set_stopped(pf, true);
    img.flip_at = 0;
    assert_int_equal(pyframes_walk(pf, &w->t, w->tstate, fr, 8, &n, &fl), 0);
    pyframes_stats(pf, &st);
    assert_int_equal(st.retries, want_torn ? 1 : 0);
    w->t.mem.readv = NULL;
    pyframes_free(pf);
}

/* Nonblocking reads of a running thread: every way a chain can change
 * between the snapshot and its validation is caught, even when the head
 * stays put (3.11+ reuse the same data-stack slots for the next call;
 * <= 3.10 reuse a code object's zombie frame); the running leaf's own
 * instruction moving is not a tear. */
static void torn_cases(int major, int minor)
{
    struct world w;
    build(&w, major, minor);
    const struct py_layout *L = &w.t.layout;
    bool fo = L->frame_kind == PYL_FRAME_OBJECT;
    int32_t back = fo ? L->f_back : L->if_previous, code = fo ? L->f_code : L->if_code;
    int32_t ip = fo ? L->f_lasti : L->if_instr_ptr >= 0 ? L->if_instr_ptr : L->if_prev_instr;
    uint64_t ipv = fo ? 5 : w.codes[1] + (uint64_t)L->co_code_adaptive + 2;

    flip_walk(&w, head_slot(&w), w.frames[1], true); /* leaf returned */
    build(&w, major, minor);
    flip_walk(&w, w.frames[1] + (uint64_t)code, w.codes[2], true); /* caller replaced */
    build(&w, major, minor);
    flip_walk(&w, w.frames[0] + (uint64_t)back, w.frames[2], true); /* relinked */
    build(&w, major, minor);
    /* (f_lasti is an int: the flip writes the 8 bytes from it, and the
     * walker reads only the first 4) */
    flip_walk(&w, w.frames[1] + (uint64_t)ip, ipv, true); /* caller moved on */
    build(&w, major, minor);
    ipv = fo ? 6 : w.codes[0] + (uint64_t)L->co_code_adaptive + 6;
    flip_walk(&w, w.frames[0] + (uint64_t)ip, ipv, false); /* the leaf runs */
}

static void test_torn_nonblocking(void **state)
{
    (void)state;
    static const int versions[][2] = {{2, 7}, {3, 6}, {3, 10}, {3, 11}, {3, 12}, {3, 13}};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
        torn_cases(versions[i][0], versions[i][1]);
}

/* A 10,000-character name: kept bounded, marked, never overrun. */
static void test_overlong_name(void **state)
{
    (void)state;
    static char big[10000];
    struct world w;
    struct pyframes *pf = pyframes_new(0);
    struct pyf_frame fr[8];
    size_t n;
    unsigned fl;

    build(&w, 3, 11);
    memset(big, 'x', sizeof big);
    put64(w.codes[0], w.t.layout.co_name, mk_str(&w.t.layout, big, sizeof big));
    put64(w.codes[0], w.t.layout.co_qualname, mk_str(&w.t.layout, big, sizeof big));
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    assert_int_equal(n, 3);
    const struct pycode *c = pyframes_code(pf, fr[0].code);
    assert_non_null(c);
    assert_true(c->name_truncated);
    assert_true(strlen(c->name) < PYF_NAME_MAX);
    assert_memory_equal(c->name + strlen(c->name) - 3, "...", 3);
    pyframes_free(pf);
}

/* The same address, another code object: the cache notices. */
static void test_code_reuse(void **state)
{
    (void)state;
    struct world w;
    struct pyframes *pf = pyframes_new(0);
    struct pyframes_stats st;
    struct pyf_frame fr[8];
    size_t n;
    unsigned fl;

    build(&w, 3, 10);
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    pyframes_stats(pf, &st);
    assert_int_equal(st.code_misses, 3);
    put64(w.codes[0], w.t.layout.co_name, mk_str(&w.t.layout, "other", 5));
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    pyframes_stats(pf, &st);
    assert_int_equal(st.code_invalidated, 1);
    assert_string_equal(pyframes_code(pf, fr[0].code)->name, "other");
    pyframes_free(pf);
}

/* 3.11+: an incomplete frame (before _co_firsttraceable) is skipped; 3.12+
 * shim frames (owned by the C stack) too. */
static void test_incomplete_and_shim(void **state)
{
    (void)state;
    struct world w;
    struct pyframes *pf = pyframes_new(0);
    struct pyf_frame fr[8];
    size_t n;
    unsigned fl;

    build(&w, 3, 11);
    put32(w.codes[0], w.t.layout.co_firsttraceable, 3); /* leaf at unit 2 < 3 */
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    assert_int_equal(n, 2);
    assert_int_equal(fr[0].code, w.codes[1]);

    build(&w, 3, 12);
    img.mem[w.frames[1] - BASE + (uint64_t)w.t.layout.if_owner] =
        (uint8_t)w.t.layout.if_owner_cstack;
    assert_int_equal(pyframes_walk(pf, &w.t, w.tstate, fr, 8, &n, &fl), 0);
    assert_int_equal(n, 2);
    assert_int_equal(fr[1].code, w.codes[2]);
    assert_int_equal(fl, 0);
    pyframes_free(pf);
}

/* A thread list that loops back on itself. */
static void test_thread_cycle(void **state)
{
    (void)state;
    struct world w;
    struct pyf_thread th[8];
    size_t n;
    unsigned fl;

    build(&w, 3, 10);
    put64(w.tstate, w.t.layout.ts_next, w.tstate);
    assert_int_equal(pyframes_threads(&w.t, th, 8, &n, &fl, -1), 0);
    assert_int_equal(n, 1);
    assert_true(fl & PYF_CYCLE);
}

/* Garbage everywhere: pointers into the image at random.  Nothing may
 * crash, hang, overrun out[] or print a name with control bytes. */
static void test_random_image(void **state)
{
    (void)state;
    static const int versions[][2] = {{2, 7}, {3, 6}, {3, 10}, {3, 11}, {3, 12}, {3, 13}};
    struct pyframes *pf = pyframes_new(16);
    uint64_t rng = 0x2545F4914F6CDD1Dull;
    struct pyf_frame fr[16];
    struct pyf_thread th[16];
    size_t n, frames = 0;
    unsigned fl;

    for (int round = 0; round < 60; round++) {
        struct world w;
        build(&w, versions[round % 6][0], versions[round % 6][1]);
        /* Odd rounds: every word of the image is garbage; even rounds:
         * one word in 8 of the hand-built objects is. */
        size_t end = round & 1 ? SIZE : img.top;
        for (size_t i = 0; i < end; i += 8) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            uint64_t v = rng % 3 == 0 ? BASE + (rng >> 8) % end : rng % 3 == 1 ? rng >> 50 : rng;
            if (round & 1 || rng % 8 == 0)
                memcpy(img.mem + i, &v, 8);
        }
        w.t.code_type = round & 2 ? 0 : 0xc0de; /* half the rounds: no type check */
        for (uint64_t ts = BASE; ts < BASE + end; ts += 8) {
            assert_int_equal(pyframes_walk(pf, &w.t, ts, fr, 16, &n, &fl) <= 0, 1);
            assert_true(n <= 16);
            frames += n;
            for (size_t k = 0; k < n; k++) {
                const struct pycode *c = pyframes_code(pf, fr[k].code);
                assert_non_null(c);
                for (const char *p = c->name; *p; p++)
                    assert_true((unsigned char)*p >= 0x20);
            }
        }
        w.t.root = BASE + (rng >> 12) % SIZE;
        w.t.code_type = 0;
        (void)pyframes_threads(&w.t, th, 16, &n, &fl, -1);
        assert_true(n <= 16);
    }
    print_message("random images: %zu frames decoded from garbage\n", frames);
    pyframes_free(pf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_27),         cmocka_unit_test(test_chain_310),
        cmocka_unit_test(test_chain_311),        cmocka_unit_test(test_chain_313),
        cmocka_unit_test(test_torn_nonblocking), cmocka_unit_test(test_overlong_name),
        cmocka_unit_test(test_code_reuse),       cmocka_unit_test(test_incomplete_and_shim),
        cmocka_unit_test(test_thread_cycle),     cmocka_unit_test(test_random_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
