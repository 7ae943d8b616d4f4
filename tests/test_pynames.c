/*
 * test_pynames.c - thread names from threading._active, on a synthetic
 * memory image: sys.modules -> threading -> _active -> Thread objects with
 * their _name, laid out with the generated tables of 2.7, 3.6, 3.10, 3.11,
 * 3.12 and 3.13 (hash tables, compact dicts, keys kinds, split values,
 * managed, tagged and inline instance values); then broken on purpose.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sampler/python/pynames.h"

#define BASE 0x100000ull
#define SIZE (1u << 20)
#define PRE  64 /* bytes before each object: managed dict and values slots */

struct image {
    uint8_t mem[SIZE];
    uint64_t top;
};

static struct image img;

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    struct image *im = ctx;
    if (addr < BASE || addr + len > BASE + SIZE || addr + len < addr)
        return -EFAULT;
    memcpy(buf, im->mem + (addr - BASE), len);
    return 0;
}

static uint64_t alloc(size_t n)
{
    uint64_t a = BASE + img.top + PRE;
    img.top += (PRE + n + 15) & ~(size_t)15;
    assert_true(img.top <= SIZE);
    return a;
}

static void put64(uint64_t a, int64_t off, uint64_t v)
{
    memcpy(img.mem + (a - BASE) + off, &v, 8);
}

static void put8(uint64_t a, int64_t off, uint8_t v)
{
    img.mem[(a - BASE) + (uint64_t)off] = v;
}

static uint64_t mk_str(const struct py_layout *L, const char *s)
{
    size_t n = strlen(s);
    if (L->str_kind == PYL_STR_BYTES) {
        uint64_t o = alloc((size_t)L->bytes_sval + n + 1);
        put64(o, L->bytes_size, n);
        memcpy(img.mem + (o - BASE) + L->bytes_sval, s, n);
        return o;
    }
    uint64_t o = alloc((size_t)L->uni_ascii_size + n + 1);
    uint32_t state =
        L->uni_compact_mask | L->uni_ascii_mask | (L->uni_kind_mask & -L->uni_kind_mask);
    put64(o, L->uni_length, n);
    memcpy(img.mem + (o - BASE) + L->uni_state, &state, 4);
    memcpy(img.mem + (o - BASE) + L->uni_ascii_size, s, n);
    return o;
}

/* An int: 2.7 int, or 30-bit digits with ob_size (<= 3.11) or lv_tag. */
static uint64_t mk_int(const struct py_layout *L, uint64_t v)
{
    uint64_t o = alloc(64);
    if (L->int_ival >= 0) {
        put64(o, L->int_ival, v);
        return o;
    }
    uint64_t nd = 0;
    for (uint64_t x = v; x; x >>= 30) {
        uint32_t d = (uint32_t)(x & 0x3fffffff);
        memcpy(img.mem + (o - BASE) + L->long_digits + 4 * nd++, &d, 4);
    }
    put64(o, 16, L->long_tag >= 0 ? (nd ? nd << 3 : 1) : nd);
    return o;
}

/* A keys object (3.x) of n entries; values NULL: a split table's keys.
 * general: entries carry a hash (non-str keys). */
static uint64_t mk_keys(const struct py_layout *L, size_t n, const uint64_t *keys,
                        const uint64_t *vals, bool general)
{
    size_t esize = L->dk_size >= 0 || general ? 24 : 16;
    uint64_t k = alloc((size_t)L->dk_indices + 64 + 64 * esize);
    uint64_t e = k + (uint64_t)L->dk_indices + 8; /* 8 one-byte indices */
    assert_true(n <= 5);
    put64(k, L->dk_nentries, n);
    if (L->dk_size >= 0) {
        put64(k, L->dk_size, 8);
    } else {
        put8(k, L->dk_log2_size, 3);
        put8(k, L->dk_log2_index_bytes, 3);
        /* general (hash, key, value); else str keys: unicode (1) with
         * values in the entries, split (2) with values elsewhere */
        put8(k, L->dk_kind, (uint8_t)(general ? L->dk_kind_general : vals ? 1 : 2));
    }
    for (size_t i = 0; i < n; i++) {
        int off = esize == 24 ? 8 : 0;
        put64(e + i * esize, off, keys[i]);
        put64(e + i * esize, off + 8, vals ? vals[i] : 0);
    }
    return k;
}

static uint64_t mk_dict(const struct py_layout *L, size_t n, const uint64_t *keys,
                        const uint64_t *vals, bool general)
{
    uint64_t d = alloc(128);
    if (L->dict_table >= 0) { /* 2.7: 8 slots, entries at random places */
        uint64_t t = alloc(8 * 24);
        put64(d, L->dict_hashmask, 7);
        put64(d, L->dict_table, t);
        for (size_t i = 0; i < n; i++) {
            put64(t + (2 * i + 1) % 8 * 24, 8, keys[i]);
            put64(t + (2 * i + 1) % 8 * 24, 16, vals[i]);
        }
        return d;
    }
    put64(d, L->dict_used, n);
    put64(d, L->dict_keys, mk_keys(L, n, keys, vals, general));
    return d;
}

/* A Thread-like instance whose attribute `attr` is the str name, kept
 * where the version keeps instance attributes; as_dict: in a dict even on
 * 3.11+ (a materialized __dict__). */
static uint64_t mk_thread(const struct py_layout *L, const char *attr, const char *name,
                          bool as_dict)
{
    uint64_t type = alloc(1024), obj = alloc(64);
    uint64_t k[2] = {mk_str(L, "_target"), mk_str(L, attr)}, v[2] = {mk_int(L, 7), mk_str(L, name)};
    put64(obj, L->ob_type, type);
    if (L->inst_dict == PYL_INST_DICTOFFSET) {
        put64(type, L->tp_dictoffset, 16);
        put64(obj, 16, mk_dict(L, 2, k, v, false));
        return obj;
    }
    if (as_dict) {
        put64(obj, -24, mk_dict(L, 2, k, v, false));
        return obj;
    }
    put64(type, L->ht_cached_keys, mk_keys(L, 2, k, NULL, false));
    uint64_t values = alloc(64);
    if (L->inst_dict == PYL_INST_INLINE_313)
        values = obj + 16;
    put64(values, L->dv_values, v[0]);
    put64(values, L->dv_values + 8, v[1]);
    switch (L->inst_dict) {
    case PYL_INST_MANAGED_311:
        put64(obj, -32, values);
        break;
    case PYL_INST_TAGGED_312:
        put64(obj, -24, values - 1);
        break;
    default:
        put8(values, 3, 1); /* valid */
        break;
    }
    return obj;
}

struct world {
    struct pyf_target t;
    uint64_t interp, active;
};

/* interp -> sys.modules {"os", "threading"} -> threading.__dict__
 * {"local", "_active"} -> _active {ident: Thread}. */
static void build(struct world *w, int major, int minor, bool as_dict)
{
    const struct py_layout *L = pylayout_find(major, minor);
    const char *attr = major == 2 ? "_Thread__name" : "_name";
    assert_non_null(L);
    memset(&img, 0, sizeof img);
    memset(w, 0, sizeof *w);
    w->t.layout = *L;
    w->t.mem = (struct pyread){fake_read, &img, NULL};
    uint64_t ids[2] = {mk_int(L, 0x7f3a12345700ull), mk_int(L, 0x7f3a0bcde640ull)};
    uint64_t th[2] = {mk_thread(L, attr, "MainThread", as_dict),
                      mk_thread(L, attr, "worker-pool-0-with-a-long-name", as_dict)};
    w->active = mk_dict(L, 2, ids, th, true);
    uint64_t mod = alloc(64);
    uint64_t mk[2] = {mk_str(L, "local"), mk_str(L, "_active")}, mv[2] = {mk_int(L, 1), w->active};
    put64(mod, L->md_dict, mk_dict(L, 2, mk, mv, false));
    uint64_t sk[2] = {mk_str(L, "os"), mk_str(L, "threading")}, sv[2] = {mk_int(L, 2), mod};
    w->interp = alloc(8192);
    put64(w->interp, L->is_modules, mk_dict(L, 2, sk, sv, false));
}

static void names_of(int major, int minor, bool as_dict)
{
    struct world w;
    struct pyname out[4];
    size_t n;

    build(&w, major, minor, as_dict);
    assert_int_equal(pynames_read(&w.t, w.interp, out, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].ident, 0x7f3a12345700ull);
    assert_string_equal(out[0].name, "MainThread");
    assert_int_equal(out[1].ident, 0x7f3a0bcde640ull);
    assert_string_equal(out[1].name, "worker-pool-0-with-a-long-name");
    /* cap respected */
    assert_int_equal(pynames_read(&w.t, w.interp, out, 1, &n), 0);
    assert_int_equal(n, 1);
}

static void test_names(void **state)
{
    (void)state;
    static const int versions[][2] = {{2, 7}, {3, 6}, {3, 9}, {3, 10}, {3, 11}, {3, 12}, {3, 13}};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        names_of(versions[i][0], versions[i][1], false);
        if (versions[i][0] == 3 && versions[i][1] >= 11)
            names_of(versions[i][0], versions[i][1], true); /* a materialized __dict__ */
    }
}

/* No threading module: no names, no error. */
static void test_not_imported(void **state)
{
    (void)state;
    struct world w;
    struct pyname out[4];
    size_t n = 9;
    build(&w, 3, 12, false);
    const struct py_layout *L = &w.t.layout;
    uint64_t sk[1] = {mk_str(L, "os")}, sv[1] = {mk_int(L, 2)};
    put64(w.interp, L->is_modules, mk_dict(L, 1, sk, sv, false));
    assert_int_equal(pynames_read(&w.t, w.interp, out, 4, &n), 0);
    assert_int_equal(n, 0);
}

/* Ints: multi-digit, zero, negative and too large. */
static void test_ints(void **state)
{
    (void)state;
    struct world w;
    uint64_t v;
    for (int minor = 11; minor <= 12; minor++) {
        build(&w, 3, minor, false);
        const struct py_layout *L = &w.t.layout;
        assert_int_equal(pynames_int(&w.t, mk_int(L, 0xffffffffffffull), &v), 0);
        assert_int_equal(v, 0xffffffffffffull);
        assert_int_equal(pynames_int(&w.t, mk_int(L, 0), &v), 0);
        assert_int_equal(v, 0);
        uint64_t big = mk_int(L, 5);
        put64(big, 16, L->long_tag >= 0 ? 4u << 3 : 4); /* 4 digits: > 64 bits */
        assert_int_equal(pynames_int(&w.t, big, &v), -EINVAL);
        put64(big, 16, L->long_tag >= 0 ? (1u << 3) | 2 : (uint64_t)-1); /* negative */
        assert_int_equal(pynames_int(&w.t, big, &v), -EINVAL);
    }
}

/* Hostile sizes and garbage: refused or bounded, never a crash, never a
 * name with control bytes. */
static void test_hostile(void **state)
{
    (void)state;
    static const int versions[][2] = {{2, 7}, {3, 10}, {3, 11}, {3, 12}, {3, 13}};
    uint64_t rng = 0x9E3779B97F4A7C15ull, v;
    struct pyname out[PYN_MAX];
    size_t n, named = 0;

    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        struct world w;
        build(&w, versions[i][0], versions[i][1], false);
        const struct py_layout *L = &w.t.layout;
        /* a dict claiming 2^40 slots */
        uint64_t d = w.active;
        if (L->dict_table >= 0) {
            put64(d, L->dict_hashmask, (1ull << 40) - 1);
        } else {
            uint64_t k;
            memcpy(&k, img.mem + (d - BASE) + L->dict_keys, 8);
            if (L->dk_size >= 0)
                put64(k, L->dk_size, 1ull << 40);
            else
                put8(k, L->dk_log2_size, 40);
        }
        assert_int_equal(pynames_dict_get(&w.t, d, "x", &v), -EINVAL);
        for (int round = 0; round < 20; round++) {
            build(&w, versions[i][0], versions[i][1], false);
            for (size_t b = 0; b < img.top; b += 8) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                uint64_t g = rng % 3 == 0 ? BASE + (rng >> 8) % img.top : rng >> (rng % 64);
                if (rng % (round & 1 ? 6 : 60) == 0)
                    memcpy(img.mem + b, &g, 8);
            }
            assert_true(pynames_read(&w.t, w.interp, out, PYN_MAX, &n) <= 0);
            assert_true(n <= PYN_MAX);
            named += n;
            for (size_t k = 0; k < n; k++)
                for (const char *p = out[k].name; *p; p++)
                    assert_true((unsigned char)*p >= 0x20);
        }
    }
    print_message("garbage images: %zu threads still named\n", named);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_not_imported),
        cmocka_unit_test(test_ints),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
