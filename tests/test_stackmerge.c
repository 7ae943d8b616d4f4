/*
 * test_stackmerge.c - native and Python stacks merged: every rule of
 * stackmerge.h on synthetic captures, with the exact merged sequence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "src/model/stackmerge.h"

#define MOD_EXE  3u /* the program: main, _start */
#define MOD_PY   1u /* the interpreter's file: eval loop and call helpers */
#define MOD_EXT  2u /* a C extension */
#define GUARD    4  /* slots past the cap that must stay untouched */
#define MAX_OUT  64
#define SENTINEL 0xa5a5a5a5u

/* A synthetic sample: native frames with their eval flags, Python frames. */
struct sample {
    uint32_t mods[MAX_OUT];
    uint64_t vaddrs[MAX_OUT];
    bool is_eval[MAX_OUT];
    size_t n;
    struct capture_pyframe py[MAX_OUT];
    size_t py_n;
};

/* One expected output frame: native frame i, or Python frame j. */
struct want {
    bool python;
    size_t index;
};
#define NAT(i)                                                                                     \
    {                                                                                              \
        false, (i)                                                                                 \
    }
#define PY(j)                                                                                      \
    {                                                                                              \
        true, (j)                                                                                  \
    }

static void native(struct sample *s, uint32_t mod, bool is_eval)
{
    s->mods[s->n] = mod;
    s->vaddrs[s->n] = 0x1000 * (s->n + 1) + mod; /* distinct for every frame */
    s->is_eval[s->n] = is_eval;
    s->n++;
}

static void python(struct sample *s, bool entry)
{
    size_t j = s->py_n++;
    s->py[j] =
        (struct capture_pyframe){0x7f0000 + j, (int32_t)(10 + j), (uint32_t)(100 + j), entry};
}

static struct stackmerge_in input(const struct sample *s, uint32_t flags)
{
    return (struct stackmerge_in){s->mods, s->vaddrs, s->is_eval, s->n, s->py, s->py_n, flags};
}

/* Runs the merge into buffers of cap slots plus a guard, and checks the
 * exact sequence, that nothing past the cap was written, and the result. */
static struct stackmerge_result check(const struct stackmerge_in *in, size_t cap,
                                      const struct want *w, size_t nw)
{
    uint32_t mods[MAX_OUT + GUARD];
    uint64_t vaddrs[MAX_OUT + GUARD];
    for (size_t i = 0; i < MAX_OUT + GUARD; i++) {
        mods[i] = SENTINEL;
        vaddrs[i] = SENTINEL;
    }
    struct stackmerge_result r = stackmerge(in, mods, vaddrs, cap);
    assert_int_equal(r.n, nw);
    for (size_t i = 0; i < nw; i++) {
        if (w[i].python) {
            const struct capture_pyframe *f = &in->py[w[i].index];
            assert_int_equal(mods[i], STACKMERGE_PY_MARK);
            assert_int_equal(vaddrs[i], (uint64_t)f->id << 32 | (uint32_t)f->line);
        } else {
            assert_int_equal(mods[i], in->mods[w[i].index]);
            assert_int_equal(vaddrs[i], in->vaddrs[w[i].index]);
        }
    }
    for (size_t i = nw; i < cap + GUARD; i++) {
        assert_int_equal(mods[i], SENTINEL);
        assert_int_equal(vaddrs[i], SENTINEL);
    }
    assert_int_equal(r.unmerged, r.how == STACKMERGE_UNMERGED);
    return r;
}

#define CHECK(in, cap, ...)                                                                        \
    check((in), (cap), (const struct want[]){__VA_ARGS__},                                         \
          sizeof((const struct want[]){__VA_ARGS__}) / sizeof(struct want))

/* <= 3.10: an eval frame per Python call, the interpreter's call helpers
 * and a C extension between them stay where they are. */
static void test_one_to_one(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_EXT, false); /* 0: the leaf, in a C extension */
    native(&s, MOD_PY, true);   /* 1 */
    native(&s, MOD_PY, false);  /* 2: _PyFunction_Vectorcall */
    native(&s, MOD_EXT, false); /* 3: the extension called back */
    native(&s, MOD_PY, true);   /* 4 */
    native(&s, MOD_PY, false);  /* 5 */
    native(&s, MOD_PY, true);   /* 6 */
    native(&s, MOD_EXE, false); /* 7: main */
    python(&s, false);
    python(&s, false);
    python(&s, false);
    struct stackmerge_in in = input(&s, CAPTURE_PY);
    struct stackmerge_result r =
        CHECK(&in, MAX_OUT, NAT(0), PY(0), NAT(2), NAT(3), PY(1), NAT(5), PY(2), NAT(7));
    assert_int_equal(r.how, STACKMERGE_ONE_TO_ONE);
    assert_false(r.unmerged);
    assert_false(r.truncated);
}

/* k == m == 1 is one-to-one, whatever the marks say. */
static void test_one_eval_one_frame(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_PY, true);
    native(&s, MOD_EXE, false);
    python(&s, true);
    struct stackmerge_in in = input(&s, CAPTURE_PY);
    struct stackmerge_result r = CHECK(&in, MAX_OUT, PY(0), NAT(1));
    assert_int_equal(r.how, STACKMERGE_ONE_TO_ONE);
}

/* 3.11+: one eval frame runs every Python frame; the native frames above
 * (a C leaf) and below (the interpreter's start-up, main) stay. */
static void test_single_eval(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_EXT, false); /* 0 */
    native(&s, MOD_PY, false);  /* 1: the call into the extension */
    native(&s, MOD_PY, true);   /* 2 */
    native(&s, MOD_PY, false);  /* 3: PyRun_SimpleFile */
    native(&s, MOD_EXE, false); /* 4 */
    for (int j = 0; j < 4; j++)
        python(&s, j == 3); /* 3.12 marks the outermost: one run */
    struct stackmerge_in in = input(&s, CAPTURE_PY);
    struct stackmerge_result r =
        CHECK(&in, MAX_OUT, NAT(0), NAT(1), PY(0), PY(1), PY(2), PY(3), NAT(3), NAT(4));
    assert_int_equal(r.how, STACKMERGE_SINGLE_EVAL);
    assert_false(r.unmerged);
    assert_false(r.truncated);
}

/* 3.12+: a C extension calls back into Python (map calling a lambda):
 * eval, ext, eval.  Each eval frame takes its run, up to its entry mark. */
static void test_by_runs(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_PY, true);   /* 0: runs leaf, via_c */
    native(&s, MOD_EXT, false); /* 1: map_next */
    native(&s, MOD_EXT, false); /* 2 */
    native(&s, MOD_PY, false);  /* 3: PyObject_Vectorcall */
    native(&s, MOD_PY, true);   /* 4: runs outer, <module> */
    native(&s, MOD_EXE, false); /* 5 */
    python(&s, false);          /* leaf */
    python(&s, true);           /* via_c: C entered the eval loop here */
    python(&s, false);          /* outer */
    python(&s, true);           /* <module> */
    struct stackmerge_in in = input(&s, CAPTURE_PY);
    struct stackmerge_result r =
        CHECK(&in, MAX_OUT, PY(0), PY(1), NAT(1), NAT(2), NAT(3), PY(2), PY(3), NAT(5));
    assert_int_equal(r.how, STACKMERGE_BY_RUNS);
    assert_false(r.unmerged);
    assert_false(r.truncated);
}

/* Three runs, one of them a single frame; a C leaf above everything. */
static void test_by_runs_three(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_EXT, false); /* 0 */
    native(&s, MOD_PY, true);   /* 1 */
    native(&s, MOD_EXT, false); /* 2 */
    native(&s, MOD_PY, true);   /* 3 */
    native(&s, MOD_EXT, false); /* 4 */
    native(&s, MOD_PY, true);   /* 5 */
    python(&s, true);           /* run 1: one frame */
    python(&s, false);
    python(&s, true); /* run 2 */
    python(&s, false);
    python(&s, false);
    python(&s, true); /* run 3 */
    struct stackmerge_in in = input(&s, CAPTURE_PY);
    struct stackmerge_result r =
        CHECK(&in, MAX_OUT, NAT(0), PY(0), NAT(2), PY(1), PY(2), NAT(4), PY(3), PY(4), PY(5));
    assert_int_equal(r.how, STACKMERGE_BY_RUNS);
}

/* The marks number k but the outermost frames carry none: no eval frame
 * takes them, and they are dropped (what the merge has always done). */
static void test_by_runs_unmarked_tail_dropped(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_PY, true);
    native(&s, MOD_EXT, false);
    native(&s, MOD_PY, true);
    python(&s, true);
    python(&s, true);
    python(&s, false); /* outer to the last mark */
    struct stackmerge_in in = input(&s, CAPTURE_PY);
    struct stackmerge_result r = CHECK(&in, MAX_OUT, PY(0), NAT(1), PY(1));
    assert_int_equal(r.how, STACKMERGE_BY_RUNS);
    assert_false(r.truncated);
}

/* More eval frames than Python frames, no marks: both stacks whole,
 * Python innermost. */
static void test_unmerged_more_eval(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_PY, true);
    native(&s, MOD_EXT, false);
    native(&s, MOD_PY, true);
    native(&s, MOD_PY, true);
    native(&s, MOD_EXE, false);
    python(&s, false);
    python(&s, false);
    struct stackmerge_in in = input(&s, CAPTURE_PY);
    struct stackmerge_result r =
        CHECK(&in, MAX_OUT, PY(0), PY(1), NAT(0), NAT(1), NAT(2), NAT(3), NAT(4));
    assert_int_equal(r.how, STACKMERGE_UNMERGED);
    assert_true(r.unmerged);
    assert_false(r.truncated);
}

/* Fewer eval frames (but more than one) than Python frames, and marks that
 * do not number k: unmerged too. */
static void test_unmerged_fewer_eval(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_PY, true);
    native(&s, MOD_EXT, false);
    native(&s, MOD_PY, true);
    for (int j = 0; j < 5; j++)
        python(&s, j == 4); /* one mark for two eval frames */
    struct stackmerge_in in = input(&s, CAPTURE_PY);
    struct stackmerge_result r =
        CHECK(&in, MAX_OUT, PY(0), PY(1), PY(2), PY(3), PY(4), NAT(0), NAT(1), NAT(2));
    assert_int_equal(r.how, STACKMERGE_UNMERGED);
    assert_true(r.unmerged);

    for (size_t j = 0; j < s.py_n; j++)
        s.py[j].entry = 0; /* no marks at all */
    in = input(&s, CAPTURE_PY);
    r = CHECK(&in, MAX_OUT, PY(0), PY(1), PY(2), PY(3), PY(4), NAT(0), NAT(1), NAT(2));
    assert_true(r.unmerged);
}

/* Python frames but no eval frame among the native ones (the interpreter's
 * file not found): nowhere to put them. */
static void test_unmerged_no_eval(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_EXT, false);
    native(&s, MOD_EXE, false);
    python(&s, true);
    python(&s, false);
    struct stackmerge_in in = input(&s, CAPTURE_PY);
    struct stackmerge_result r = CHECK(&in, MAX_OUT, PY(0), PY(1), NAT(0), NAT(1));
    assert_int_equal(r.how, STACKMERGE_UNMERGED);
    assert_true(r.unmerged);
}

/* A torn chain: the frames read before the tear merge like any others;
 * torn at the first frame (py_n 0), the native stack stands alone. */
static void test_torn(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_PY, true);
    native(&s, MOD_EXE, false);
    python(&s, false);
    python(&s, false);
    struct stackmerge_in in = input(&s, CAPTURE_PY | CAPTURE_PY_TORN);
    struct stackmerge_result r = CHECK(&in, MAX_OUT, PY(0), PY(1), NAT(1));
    assert_int_equal(r.how, STACKMERGE_SINGLE_EVAL);
    assert_false(r.unmerged);

    s.py_n = 0;
    in = input(&s, CAPTURE_PY | CAPTURE_PY_TORN);
    assert_false(stackmerge_needs_eval(in.n, in.flags, in.py_n));
    in.is_eval = NULL; /* not read */
    r = CHECK(&in, MAX_OUT, NAT(0), NAT(1));
    assert_int_equal(r.how, STACKMERGE_NATIVE_ONLY);
    assert_false(r.unmerged);

    in = input(&s, CAPTURE_PY); /* a thread state with no frame */
    in.is_eval = NULL;
    r = CHECK(&in, MAX_OUT, NAT(0), NAT(1));
    assert_int_equal(r.how, STACKMERGE_NATIVE_ONLY);
}

/* --python: no native frames, the Python frames are the stack. */
static void test_python_only(void **state)
{
    (void)state;
    struct sample s = {0};
    python(&s, false);
    python(&s, true);
    python(&s, false);
    struct stackmerge_in in = {NULL, NULL, NULL, 0, s.py, s.py_n, CAPTURE_PY};
    assert_false(stackmerge_needs_eval(in.n, in.flags, in.py_n));
    struct stackmerge_result r = CHECK(&in, MAX_OUT, PY(0), PY(1), PY(2));
    assert_int_equal(r.how, STACKMERGE_PYTHON_ONLY);
    assert_false(r.unmerged);
    assert_false(r.truncated);
}

/* No Python thread state: the native stack as it is, even with stale
 * Python frames in the capture and eval frames among the native ones. */
static void test_no_python(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_EXT, false);
    native(&s, MOD_PY, true);
    native(&s, MOD_EXE, false);
    python(&s, false); /* left over: CAPTURE_PY is what counts */
    struct stackmerge_in in = input(&s, CAPTURE_ONCPU);
    assert_false(stackmerge_needs_eval(in.n, in.flags, in.py_n));
    in.is_eval = NULL; /* not read */
    struct stackmerge_result r = CHECK(&in, MAX_OUT, NAT(0), NAT(1), NAT(2));
    assert_int_equal(r.how, STACKMERGE_NATIVE_ONLY);
    assert_false(r.unmerged);
    assert_false(r.truncated);
    assert_true(stackmerge_needs_eval(in.n, CAPTURE_PY, in.py_n));
}

static void test_both_empty(void **state)
{
    (void)state;
    struct stackmerge_in in = {NULL, NULL, NULL, 0, NULL, 0, 0};
    struct stackmerge_result r = check(&in, MAX_OUT, NULL, 0);
    assert_int_equal(r.how, STACKMERGE_NATIVE_ONLY);
    assert_false(r.truncated);
}

/* A cap below the merged size: the innermost cap frames of the same merge,
 * nothing written past them, truncated set; a cap that fits exactly is no
 * truncation. */
static void test_capacity(void **state)
{
    (void)state;
    struct sample s = {0};
    native(&s, MOD_EXT, false);
    native(&s, MOD_PY, true);
    native(&s, MOD_EXT, false);
    native(&s, MOD_PY, true);
    native(&s, MOD_EXE, false);
    python(&s, false);
    python(&s, false);
    struct stackmerge_in in = input(&s, CAPTURE_PY);
    struct stackmerge_result r = CHECK(&in, 5, NAT(0), PY(0), NAT(2), PY(1), NAT(4));
    assert_false(r.truncated);
    r = CHECK(&in, 3, NAT(0), PY(0), NAT(2));
    assert_int_equal(r.how, STACKMERGE_ONE_TO_ONE);
    assert_true(r.truncated);
    r = check(&in, 0, NULL, 0);
    assert_true(r.truncated);

    s.is_eval[3] = false; /* single eval: the cap falls inside the Python frames */
    in = input(&s, CAPTURE_PY);
    r = CHECK(&in, 2, NAT(0), PY(0));
    assert_int_equal(r.how, STACKMERGE_SINGLE_EVAL);
    assert_true(r.truncated);

    s.is_eval[1] = false; /* unmerged: the Python frames come first */
    in = input(&s, CAPTURE_PY);
    r = CHECK(&in, 2, PY(0), PY(1));
    assert_int_equal(r.how, STACKMERGE_UNMERGED);
    assert_true(r.unmerged);
    assert_true(r.truncated);
}

/* Line -1 (no line table entry) is 0xffffffff in the low half, the id in
 * the high half untouched. */
static void test_line_unknown(void **state)
{
    (void)state;
    struct sample s = {0};
    python(&s, false);
    s.py[0].id = 0x12345678u;
    s.py[0].line = -1;
    uint32_t mods[1];
    uint64_t vaddrs[1];
    struct stackmerge_in in = {NULL, NULL, NULL, 0, s.py, s.py_n, CAPTURE_PY};
    struct stackmerge_result r = stackmerge(&in, mods, vaddrs, 1);
    assert_int_equal(r.n, 1);
    assert_int_equal(mods[0], STACKMERGE_PY_MARK);
    assert_int_equal(vaddrs[0], 0x12345678ffffffffull);
    assert_int_equal(stackmerge_py_id(vaddrs[0]), 0x12345678u);
    assert_int_equal(stackmerge_py_line(vaddrs[0]), 0xffffffffu);
    assert_int_equal((int32_t)stackmerge_py_line(vaddrs[0]), -1);
    assert_int_equal(stackmerge_py_vaddr(7, 42), 7ull << 32 | 42);
    assert_int_equal(STACKMERGE_PY_MARK, MODULE_NONE - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_to_one),
        cmocka_unit_test(test_one_eval_one_frame),
        cmocka_unit_test(test_single_eval),
        cmocka_unit_test(test_by_runs),
        cmocka_unit_test(test_by_runs_three),
        cmocka_unit_test(test_by_runs_unmarked_tail_dropped),
        cmocka_unit_test(test_unmerged_more_eval),
        cmocka_unit_test(test_unmerged_fewer_eval),
        cmocka_unit_test(test_unmerged_no_eval),
        cmocka_unit_test(test_torn),
        cmocka_unit_test(test_python_only),
        cmocka_unit_test(test_no_python),
        cmocka_unit_test(test_both_empty),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_line_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
