/*
 * test_fdetab.c - function ranges from .eh_frame bytes built here: pc-
 * relative and absolute encodings, a CIE shared by several FDEs, lookups at
 * the edges, and malformed sections (lengths past the end, a CIE pointer
 * before the section, an unknown version, an indirect encoding), which
 * must give fewer ranges, never a wrong one or a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "symbols/fdetab.h"

struct sec {
    uint8_t b[512];
    size_t n;
};

static void put(struct sec *s, uint64_t v, size_t bytes)
{
    assert_true(s->n + bytes <= sizeof s->b);
    for (size_t i = 0; i < bytes; i++)
        s->b[s->n++] = (uint8_t)(v >> (8 * i));
}

/* A CIE "zR" with FDE encoding enc; returns its offset. */
static size_t cie(struct sec *s, uint8_t enc)
{
    size_t at = s->n;
    put(s, 0, 4); /* length, patched below */
    put(s, 0, 4); /* CIE id */
    put(s, 1, 1); /* version */
    put(s, 'z', 1);
    put(s, 'R', 1);
    put(s, 0, 1);
    put(s, 1, 1);    /* code alignment 1 */
    put(s, 0x78, 1); /* data alignment -8 */
    put(s, 16, 1);   /* return address register */
    put(s, 1, 1);    /* augmentation length */
    put(s, enc, 1);
    put(s, 0, 3); /* DW_CFA_nop padding */
    uint32_t len = (uint32_t)(s->n - at - 4);
    memcpy(s->b + at, &len, 4);
    return at;
}

/* An FDE of the CIE at cie_at covering [lo, lo + len) in encoding enc
 * (pcrel sdata4 when pcrel, else udata8). */
static void fde(struct sec *s, size_t cie_at, uint64_t vaddr, uint64_t lo, uint64_t len, bool pcrel)
{
    size_t at = s->n;
    put(s, 0, 4);
    put(s, (uint32_t)(s->n - cie_at), 4); /* back from this field to the CIE */
    if (pcrel) {
        put(s, (uint32_t)(int32_t)(int64_t)(lo - (vaddr + s->n)), 4);
        put(s, len, 4);
    } else {
        put(s, lo, 8);
        put(s, len, 8);
    }
    put(s, 0, 1); /* augmentation length */
    uint32_t rlen = (uint32_t)(s->n - at - 4);
    memcpy(s->b + at, &rlen, 4);
}

static void expect_range(const struct fdetab *t, uint64_t addr, uint64_t lo, uint64_t hi)
{
    struct fde_range r;
    assert_true(fdetab_lookup(t, addr, &r));
    assert_int_equal(r.lo, lo);
    assert_int_equal(r.hi, hi);
}

static void test_pcrel_and_lookup(void **state)
{
    (void)state;
    const uint64_t va = 0x3000;
    struct sec s = {0};
    size_t c = cie(&s, 0x1b); /* pcrel | sdata4, what GNU ld writes */
    fde(&s, c, va, 0x2000, 0x80, true);
    fde(&s, c, va, 0x1000, 0x40, true); /* out of order: sorted on build */
    fde(&s, c, va, 0x1040, 0x10, true);
    put(&s, 0, 4); /* terminator */
    struct fdetab t;
    assert_int_equal(fdetab_build_from(&t, s.b, s.n, va), 0);
    assert_int_equal(t.n, 3);
    expect_range(&t, 0x1000, 0x1000, 0x1040);
    expect_range(&t, 0x103f, 0x1000, 0x1040);
    expect_range(&t, 0x1040, 0x1040, 0x1050);
    expect_range(&t, 0x2042, 0x2000, 0x2080);
    struct fde_range r;
    assert_false(fdetab_lookup(&t, 0xfff, &r));
    assert_false(fdetab_lookup(&t, 0x1050, &r)); /* the gap between functions */
    assert_false(fdetab_lookup(&t, 0x2080, &r));
    fdetab_free(&t);
    assert_int_equal(t.n, 0);
}

static void test_absolute_and_two_cies(void **state)
{
    (void)state;
    struct sec s = {0};
    size_t a = cie(&s, 0x04); /* udata8, absolute */
    fde(&s, a, 0, 0x500000, 0x100, false);
    size_t b = cie(&s, 0x1b);
    fde(&s, b, 0x9000, 0x8000, 0x20, true);
    fde(&s, a, 0, 0x600000, 0x10, false); /* back to the first CIE */
    struct fdetab t;
    assert_int_equal(fdetab_build_from(&t, s.b, s.n, 0x9000), 0);
    assert_int_equal(t.n, 3); /* no terminator: the end of the section ends it */
    expect_range(&t, 0x5000ff, 0x500000, 0x500100);
    expect_range(&t, 0x8010, 0x8000, 0x8020);
    expect_range(&t, 0x600000, 0x600000, 0x600010);
    fdetab_free(&t);
}

static void test_malformed(void **state)
{
    (void)state;
    struct fdetab t;
    struct fde_range r;
    /* empty and tiny sections */
    assert_int_equal(fdetab_build_from(&t, NULL, 0, 0), 0);
    assert_int_equal(t.n, 0);
    assert_false(fdetab_lookup(&t, 0, &r));
    uint8_t three[3] = {1, 2, 3};
    assert_int_equal(fdetab_build_from(&t, three, sizeof three, 0), 0);
    assert_int_equal(t.n, 0);

    struct sec good = {0};
    size_t c = cie(&good, 0x1b);
    fde(&good, c, 0, 0x100, 0x10, true);
    size_t fde_at = good.n - 17; /* the FDE's length field */

    /* the FDE's length runs past the end: it and what follows are dropped */
    struct sec s = good;
    uint32_t big = 0x7fffffff;
    memcpy(s.b + fde_at, &big, 4);
    assert_int_equal(fdetab_build_from(&t, s.b, s.n, 0), 0);
    assert_int_equal(t.n, 0);

    /* a CIE pointer before the start of the section */
    s = good;
    uint32_t far = 0x10000;
    memcpy(s.b + fde_at + 4, &far, 4);
    assert_int_equal(fdetab_build_from(&t, s.b, s.n, 0), 0);
    assert_int_equal(t.n, 0);

    /* a CIE pointer into the middle of the FDE itself */
    s = good;
    uint32_t self = 2;
    memcpy(s.b + fde_at + 4, &self, 4);
    assert_int_equal(fdetab_build_from(&t, s.b, s.n, 0), 0);
    assert_int_equal(t.n, 0);

    /* an unknown CIE version */
    s = good;
    s.b[c + 8] = 9;
    assert_int_equal(fdetab_build_from(&t, s.b, s.n, 0), 0);
    assert_int_equal(t.n, 0);

    /* an indirect or data-relative encoding is not guessed at */
    s = good;
    s.b[c + 8 + 1 + 3 + 3 + 1] = 0x9b;
    assert_int_equal(fdetab_build_from(&t, s.b, s.n, 0), 0);
    assert_int_equal(t.n, 0);
    s.b[c + 8 + 1 + 3 + 3 + 1] = 0x3b;
    assert_int_equal(fdetab_build_from(&t, s.b, s.n, 0), 0);
    assert_int_equal(t.n, 0);

    /* every truncation of a good section: no crash, no range past it */
    for (size_t n = 0; n < good.n; n++) {
        assert_int_equal(fdetab_build_from(&t, good.b, n, 0), 0);
        assert_true(t.n <= 1);
        fdetab_free(&t);
    }
    assert_int_equal(fdetab_build_from(&t, good.b, good.n, 0), 0);
    assert_int_equal(t.n, 1);
    expect_range(&t, 0x108, 0x100, 0x110);
    fdetab_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcrel_and_lookup),
        cmocka_unit_test(test_absolute_and_two_cies),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
