/*
 * test_maps.c - /proc/PID/maps parsing, lookup, and the module registry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sampler/proc/maps.h"
#include "sampler/unwind/modules.h"

static const char sample[] =
    "55d0c1a00000-55d0c1a02000 r--p 00000000 08:01 1234567                    /usr/bin/prog\n"
    "55d0c1a02000-55d0c1a05000 r-xp 00002000 08:01 1234567                    /usr/bin/prog\n"
    "55d0c2000000-55d0c2021000 rw-p 00000000 00:00 0                          [heap]\n"
    "this line is garbage\n"
    "7f0000000000-7f0000001000 r-xp 00000000 fd:02 42  /opt/My App/lib with spaces.so\n"
    "7f0000001000-7f0000002000 r-xp 00001000 00:05 99   /memfd:jit (deleted)\n"
    "7f0000002000-7f0000003000 r-xp 00000000 08:01 77   /tmp/old lib.so (deleted)\n"
    "7f0000003000-7f0000004000 rwxp 00000000 00:00 0 \n"
    "7f0000004000-7f0000003000 r-xp 00000000 00:00 0\n"     /* start > end */
    "7f0000005000-7f0000006000 r?xp 00000000 00:00 0\n"     /* bad perms */
    "7f0000006000-7f0000007000 r-xp 00000000 0800 0 /x\n"   /* bad dev */
    "7f0000008000-7f0000009000 r-xp zz 08:01 1 /x\n"        /* bad offset */
    "17f0000009000-7f000000a000 r-xp 00000000 08:01 1 /x\n" /* 17 hex digits */
    "7ffd1e000000-7ffd1e021000 rw-p 00000000 00:00 0                          [stack]\n"
    "7ffd1e1fc000-7ffd1e1fe000 r-xp 00000000 00:00 0                          [vdso]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

static void test_parse_fields(void **state)
{
    struct maps m;
    assert_int_equal(maps_parse(sample, strlen(sample), &m), 0);
    assert_int_equal(m.n, 10);

    const struct map_entry *e = &m.v[1];
    assert_int_equal(e->start, 0x55d0c1a02000ull);
    assert_int_equal(e->end, 0x55d0c1a05000ull);
    assert_int_equal(e->offset, 0x2000);
    assert_int_equal(e->dev_major, 8);
    assert_int_equal(e->dev_minor, 1);
    assert_int_equal(e->inode, 1234567);
    assert_string_equal(e->perms, "r-xp");
    assert_true(maps_is_exec(e));
    assert_false(maps_is_exec(&m.v[0]));
    assert_false(e->deleted);
    assert_string_equal(e->path, "/usr/bin/prog");

    assert_string_equal(m.v[2].path, "[heap]");
    assert_string_equal(m.v[3].path, "/opt/My App/lib with spaces.so");
    assert_int_equal(m.v[3].dev_major, 0xfd);
    assert_int_equal(m.v[3].dev_minor, 2);
    assert_string_equal(m.v[4].path, "/memfd:jit");
    assert_true(m.v[4].deleted);
    assert_string_equal(m.v[5].path, "/tmp/old lib.so");
    assert_true(m.v[5].deleted);
    assert_string_equal(m.v[6].path, ""); /* anonymous, trailing blank */
    assert_string_equal(m.v[7].path, "[stack]");
    assert_string_equal(m.v[8].path, "[vdso]");
    assert_string_equal(m.v[9].path, "[vsyscall]"); /* last line without newline */
    assert_int_equal(m.v[9].end, 0xffffffffff601000ull);
    maps_free(&m);
    assert_null(m.v);
}

static void test_find_boundaries(void **state)
{
    struct maps m;
    assert_int_equal(maps_parse(sample, strlen(sample), &m), 0);
    assert_null(maps_find(&m, 0));
    assert_null(maps_find(&m, 0x55d0c19fffffull));
    assert_ptr_equal(maps_find(&m, 0x55d0c1a00000ull), &m.v[0]);
    assert_ptr_equal(maps_find(&m, 0x55d0c1a01fffull), &m.v[0]);
    assert_ptr_equal(maps_find(&m, 0x55d0c1a02000ull), &m.v[1]); /* end is exclusive */
    assert_ptr_equal(maps_find(&m, 0x55d0c1a04fffull), &m.v[1]);
    assert_null(maps_find(&m, 0x55d0c1a05000ull)); /* gap */
    assert_ptr_equal(maps_find(&m, 0x7f0000003fffull), &m.v[6]);
    assert_null(maps_find(&m, 0x7f0000004000ull));
    assert_ptr_equal(maps_find(&m, 0x7ffd1e1fd123ull), &m.v[8]);
    assert_ptr_equal(maps_find(&m, 0xffffffffff600fffull), &m.v[9]);
    assert_null(maps_find(&m, UINT64_MAX));
    maps_free(&m);
}

static void test_garbage_only(void **state)
{
    static const char junk[] = "\n\n   \nxyz\n-\n0-0 r-xp 0 0:0 0\n\0\0garbage\n1-2 r-xp";
    struct maps m;
    assert_int_equal(maps_parse(junk, sizeof junk - 1, &m), 0);
    assert_int_equal(m.n, 0);
    assert_null(maps_find(&m, 1));
    maps_free(&m);

    assert_int_equal(maps_parse("", 0, &m), 0);
    assert_int_equal(m.n, 0);
    maps_free(&m);
}

static void test_embedded_nul_and_unsorted(void **state)
{
    /* A NUL inside a line is not a real line; unsorted and overlapping
     * entries are sorted and the overlap dropped, keeping bsearch correct. */
    static const char text[] = "3000-4000 r-xp 00000000 00:00 0 /c\n"
                               "1000-2000 r-xp 00000000 00:00 0 /a\0b\n"
                               "1000-2000 r-xp 00000000 00:00 0 /a\n"
                               "1800-2800 r-xp 00000000 00:00 0 /overlap\n"
                               "2000-3000 r-xp 00000000 00:00 0 /b\n";
    struct maps m;
    assert_int_equal(maps_parse(text, sizeof text - 1, &m), 0);
    assert_int_equal(m.n, 3);
    assert_string_equal(m.v[0].path, "/a");
    assert_string_equal(m.v[1].path, "/b");
    assert_string_equal(m.v[2].path, "/c");
    assert_string_equal(maps_find(&m, 0x2fff)->path, "/b");
    assert_string_equal(maps_find(&m, 0x3000)->path, "/c");
    maps_free(&m);
}

static void test_read_self(void **state)
{
    struct maps m;
    char err[128];
    assert_int_equal(maps_read(getpid(), &m, err, sizeof err), 0);
    assert_true(m.n > 5);
    const struct map_entry *e = maps_find(&m, (uint64_t)(uintptr_t)test_read_self);
    assert_non_null(e);
    assert_true(maps_is_exec(e));
    assert_true(e->path[0] == '/');
    int local;
    e = maps_find(&m, (uint64_t)(uintptr_t)&local);
    assert_non_null(e);
    assert_string_equal(e->path, "[stack]");
    maps_free(&m);

    assert_true(maps_read(-5, &m, err, sizeof err) < 0);
    assert_true(strlen(err) > 0);
}

static void test_modreg_identity(void **state)
{
    struct modreg *r = modreg_new();
    assert_non_null(r);
    assert_int_equal(modreg_count(r), 0);
    assert_null(modreg_get(r, 0));
    uint32_t a = modreg_intern(r, 0x801, 10, "/usr/lib/libx.so", "/proc/1/root/usr/lib/libx.so");
    uint32_t b = modreg_intern(r, 0x801, 11, "/usr/lib/libx.so", "/proc/1/root/usr/lib/libx.so");
    uint32_t c = modreg_intern(r, 0x801, 10, "/usr/lib/liby.so", "/y");
    uint32_t v = modreg_intern(r, 0, 0, "[vdso]", NULL);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1); /* same path, new inode: a new module */
    assert_int_equal(c, 2);
    assert_int_equal(v, 3);
    assert_int_equal(modreg_intern(r, 0x801, 10, "/usr/lib/libx.so", "/other"), a);
    assert_int_equal(modreg_find(r, 0x801, 11, "/usr/lib/libx.so"), b);
    assert_int_equal(modreg_find(r, 0x801, 12, "/usr/lib/libx.so"), MODULE_NONE);
    assert_int_equal(modreg_count(r), 4);
    const struct module *m = modreg_get(r, a);
    assert_int_equal(m->id, a);
    assert_string_equal(m->name, "/usr/lib/libx.so");
    assert_string_equal(m->short_name, "libx.so");
    assert_string_equal(m->open_path, "/proc/1/root/usr/lib/libx.so");
    assert_string_equal(modreg_get(r, v)->short_name, "[vdso]");
    assert_null(modreg_get(r, 4));
    modreg_free(r);
}

static void test_modreg_full(void **state)
{
    struct modreg *r = modreg_new();
    char name[32];
    for (uint32_t i = 0; i < MODREG_MAX; i++) {
        snprintf(name, sizeof name, "/lib/m%u.so", i);
        assert_int_equal(modreg_intern(r, 1, i, name, name), i);
    }
    assert_int_equal(modreg_intern(r, 1, 0, "/lib/new.so", "/x"), MODULE_NONE);
    assert_int_equal(modreg_intern(r, 1, 7, "/lib/m7.so", "/x"), 7); /* still found */
    assert_int_equal(modreg_count(r), MODREG_MAX);
    modreg_free(r);
}

/* Readers walk ids below count while a writer adds: every visible entry must
 * be complete (id, name set). */
struct race {
    struct modreg *r;
    _Atomic int done;
};

static void *writer(void *p)
{
    struct race *rc = p;
    char name[32];
    for (uint32_t i = 0; i < 4000; i++) {
        snprintf(name, sizeof name, "/w/%u", i);
        modreg_intern(rc->r, 2, i, name, name);
    }
    rc->done = 1;
    return NULL;
}

static void test_modreg_concurrent_readers(void **state)
{
    struct race rc = {.r = modreg_new()};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, &rc), 0);
    unsigned long seen = 0;
    while (!rc.done) {
        uint32_t n = modreg_count(rc.r);
        for (uint32_t i = n > 64 ? n - 64 : 0; i < n; i++) {
            const struct module *m = modreg_get(rc.r, i);
            assert_non_null(m);
            assert_int_equal(m->id, i);
            assert_non_null(m->name);
            assert_int_equal(m->inode, i);
            seen++;
        }
    }
    pthread_join(t, NULL);
    assert_int_equal(modreg_count(rc.r), 4000);
    modreg_free(rc.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fields), cmocka_unit_test(test_find_boundaries),
        cmocka_unit_test(test_garbage_only), cmocka_unit_test(test_embedded_nul_and_unsorted),
        cmocka_unit_test(test_read_self),    cmocka_unit_test(test_modreg_identity),
        cmocka_unit_test(test_modreg_full),  cmocka_unit_test(test_modreg_concurrent_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
