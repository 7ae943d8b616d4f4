/*
 * test_kallsyms.c - the kernel symbol table on constructed text (unsorted,
 * modules, data symbols, junk, hidden addresses, aliases, markers) and on
 * this machine's /proc/kallsyms.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "symbols/kallsyms.h"

static const char synthetic[] = "ffffffff81002000 T beta\n"
                                "ffffffff81001000 t alpha\n"
                                "ffffffff81004000 D some_data\n"
                                "ffffffff81003000 W gamma_weak\n"
                                "this is not a symbol line\n"
                                "ffffffff81005000 T _etext\n"
                                "ffffffff81003800 r rodata_thing\n"
                                "zzzz T bad_address\n"
                                "ffffffff81001000 T _alias_of_alpha\n"
                                "ffffffff81001000 T alpha_global\n"
                                "\n"
                                "ffffffffc0010000 t ext4_read\t[ext4]\n"
                                "ffffffffc0011000 T ext4_write\t[ext4]\n"
                                "ffffffffc0040000 t xfs_read\t[xfs]\n"
                                "ffffffffc0048000 t nfs_open\t[nfs]\n"
                                "ffffffffc0010800 t broken_module\t[ext4\n"
                                "ffffffff81006000 b bss_thing\n"
                                "ffffffff81000500 TT two_letter_type\n";

static void expect(struct kallsyms *k, uint64_t addr, const char *name, uint64_t off,
                   const char *module)
{
    struct kallsyms_sym s;
    int ret = kallsyms_lookup(k, addr, &s);
    if (!name) {
        if (ret == 0)
            fail_msg("0x%llx: expected a miss, got %s+0x%llx", (unsigned long long)addr, s.name,
                     (unsigned long long)s.offset);
        assert_int_equal(ret, -ENOENT);
        return;
    }
    if (ret != 0)
        fail_msg("0x%llx: expected %s, got a miss", (unsigned long long)addr, name);
    assert_string_equal(s.name, name);
    assert_int_equal(s.offset, off);
    assert_int_equal(s.addr, addr - off);
    if (module)
        assert_string_equal(s.module, module);
    else
        assert_null(s.module);
}

static void test_synthetic(void **state)
{
    (void)state;
    struct kallsyms *k;
    char err[256];
    assert_int_equal(kallsyms_parse(&k, synthetic, strlen(synthetic), err, sizeof err), 0);
    assert_true(kallsyms_usable(k));
    /* alpha (3 aliases: the global without underscore wins), beta, gamma_weak,
     * _etext, ext4_read, ext4_write, xfs_read, nfs_open */
    assert_int_equal(kallsyms_count(k), 8);
    struct kallsyms_stats st;
    kallsyms_get_stats(k, &st);
    assert_int_equal(st.not_text, 3);
    assert_int_equal(st.junk, 4);
    assert_int_equal(st.zero_addr, 0);

    expect(k, 0xffffffff81000fffull, NULL, 0, NULL); /* before the first */
    expect(k, 0, NULL, 0, NULL);
    expect(k, 0xffffffff81001000ull, "alpha_global", 0, NULL);
    expect(k, 0xffffffff81001abcull, "alpha_global", 0xabc, NULL);
    expect(k, 0xffffffff81001fffull, "alpha_global", 0xfff, NULL);
    expect(k, 0xffffffff81002000ull, "beta", 0, NULL);
    /* data between text symbols does not end the function before it */
    expect(k, 0xffffffff81003900ull, "gamma_weak", 0x900, NULL);
    expect(k, 0xffffffff81004fffull, "gamma_weak", 0x1fff, NULL);
    /* at and past the end-of-text marker */
    expect(k, 0xffffffff81005000ull, NULL, 0, NULL);
    expect(k, 0xffffffff81100000ull, NULL, 0, NULL);
    expect(k, 0xffffffffc0010000ull, "ext4_read", 0, "ext4");
    expect(k, 0xffffffffc0010fffull, "ext4_read", 0xfff, "ext4");
    expect(k, 0xffffffffc0011010ull, "ext4_write", 0x10, "ext4");
    /* the last of a module reaches the cap, not the next module */
    expect(k, 0xffffffffc0011000ull + KALLSYMS_TAIL_CAP - 1, "ext4_write", KALLSYMS_TAIL_CAP - 1,
           "ext4");
    expect(k, 0xffffffffc0011000ull + KALLSYMS_TAIL_CAP, NULL, 0, NULL);
    expect(k, 0xffffffffc0040040ull, "xfs_read", 0x40, "xfs");
    /* ... or the next module's first symbol when that comes sooner */
    expect(k, 0xffffffffc0047fffull, "xfs_read", 0x7fff, "xfs");
    expect(k, 0xffffffffc0048000ull, "nfs_open", 0, "nfs");
    /* past the last symbol's reach */
    expect(k, 0xffffffffc0048000ull + KALLSYMS_TAIL_CAP, NULL, 0, NULL);
    expect(k, UINT64_MAX, NULL, 0, NULL);
    assert_int_equal(kallsyms_addr_of(k, "beta"), 0xffffffff81002000ull);
    assert_int_equal(kallsyms_addr_of(k, "some_data"), 0);
    kallsyms_free(k);
    kallsyms_free(NULL);
}

/* The same symbols in another order give the same table (aliases too). */
static void test_order_independent(void **state)
{
    (void)state;
    static const char a[] = "ffffffff81001000 T _x\nffffffff81001000 T x_long\n"
                            "ffffffff81001000 t x\nffffffff81001000 T xy\n";
    static const char b[] = "ffffffff81001000 T xy\nffffffff81001000 t x\n"
                            "ffffffff81001000 T x_long\nffffffff81001000 T _x\n";
    struct kallsyms *ka, *kb;
    assert_int_equal(kallsyms_parse(&ka, a, strlen(a), NULL, 0), 0);
    assert_int_equal(kallsyms_parse(&kb, b, strlen(b), NULL, 0), 0);
    expect(ka, 0xffffffff81001004ull, "xy", 4, NULL);
    expect(kb, 0xffffffff81001004ull, "xy", 4, NULL);
    kallsyms_free(ka);
    kallsyms_free(kb);
}

static void test_hidden(void **state)
{
    (void)state;
    static const char hidden[] = "0000000000000000 T _stext\n0000000000000000 t do_one\n"
                                 "0000000000000000 T do_two\t[ext4]\n"
                                 "0000000000000000 D data\n";
    struct kallsyms *k;
    char err[256] = "";
    assert_int_equal(kallsyms_parse(&k, hidden, strlen(hidden), err, sizeof err), 0);
    assert_false(kallsyms_usable(k));
    assert_non_null(strstr(err, "kptr_restrict"));
    struct kallsyms_stats st;
    kallsyms_get_stats(k, &st);
    assert_int_equal(st.zero_addr, 3);
    expect(k, 0, NULL, 0, NULL);
    expect(k, 0x1000, NULL, 0, NULL);
    kallsyms_free(k);

    assert_int_equal(kallsyms_parse(&k, "", 0, err, sizeof err), 0);
    assert_false(kallsyms_usable(k));
    expect(k, 0xffffffff81000000ull, NULL, 0, NULL);
    kallsyms_free(k);
}

/* Overlong lines are skipped whole; a missing final newline is fine. */
static void test_bounds(void **state)
{
    (void)state;
    size_t big = KALLSYMS_MAX_LINE + 100;
    char *buf = malloc(big + 256);
    assert_non_null(buf);
    int n = snprintf(buf, 256, "ffffffff81001000 T first\nffffffff81002000 T ");
    memset(buf + n, 'a', big);
    n += (int)big;
    n += snprintf(buf + n, 256, "\nffffffff81003000 T last");
    struct kallsyms *k;
    assert_int_equal(kallsyms_parse(&k, buf, (size_t)n, NULL, 0), 0);
    assert_int_equal(kallsyms_count(k), 2);
    expect(k, 0xffffffff81002800ull, "first", 0x1800, NULL);
    expect(k, 0xffffffff81003000ull, "last", 0, NULL);
    kallsyms_free(k);

    /* and the same through a file */
    char path[] = "/tmp/test_kallsyms.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, (size_t)n), n);
    close(fd);
    char err[256];
    assert_int_equal(kallsyms_load(&k, path, err, sizeof err), 0);
    assert_int_equal(kallsyms_count(k), 2);
    struct kallsyms_stats st;
    kallsyms_get_stats(k, &st);
    assert_int_equal(st.junk, 1);
    expect(k, 0xffffffff81003004ull, "last", 4, NULL);
    kallsyms_free(k);
    unlink(path);
    free(buf);

    assert_int_equal(kallsyms_load(&k, "/nonexistent/kallsyms", err, sizeof err), -ENOENT);
    assert_null(k);
    assert_non_null(strstr(err, "/nonexistent/kallsyms"));
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* A deferred table reads only the first lines until its first lookup: the
 * file rewritten in between is the one it names from.  Hidden addresses are
 * told at once; a file gone by the first lookup leaves it empty. */
static void test_deferred(void **state)
{
    (void)state;
    char path[] = "/tmp/test_kallsyms.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_text(path, "ffffffff81001000 T old_name\n");
    struct kallsyms *k;
    char err[256];
    assert_int_equal(kallsyms_defer(&k, path, err, sizeof err), 0);
    assert_true(kallsyms_usable(k));
    write_text(path, "ffffffff81002000 T zeta\nffffffff81001000 T alpha\t[ext4]\n"
                     "ffffffff81003000 D data\n");
    expect(k, 0xffffffff81001010ull, "alpha", 0x10, "ext4");
    expect(k, 0xffffffff81002000ull, "zeta", 0, NULL);
    assert_int_equal(kallsyms_count(k), 2);
    kallsyms_free(k);

    write_text(path, "0000000000000000 T _stext\n0000000000000000 t do_one\n");
    assert_int_equal(kallsyms_defer(&k, path, err, sizeof err), 0);
    assert_false(kallsyms_usable(k));
    assert_non_null(strstr(err, "kptr_restrict"));
    kallsyms_free(k);

    write_text(path, "ffffffff81001000 T gone\n");
    assert_int_equal(kallsyms_defer(&k, path, err, sizeof err), 0);
    assert_true(kallsyms_usable(k));
    unlink(path);
    expect(k, 0xffffffff81001000ull, NULL, 0, NULL);
    assert_int_equal(kallsyms_count(k), 0);
    kallsyms_free(k);

    assert_int_equal(kallsyms_defer(&k, "/nonexistent/kallsyms", err, sizeof err), -ENOENT);
    assert_null(k);
}

/* The address of name as the file lists it (a text symbol), or 0. */
static uint64_t file_addr_of(const char *name)
{
    FILE *f = fopen(KALLSYMS_PATH, "re");
    char line[KALLSYMS_MAX_LINE + 2], nm[KALLSYMS_MAX_LINE];
    unsigned long long a;
    char ty;
    uint64_t found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        if (sscanf(line, "%llx %c %1023s", &a, &ty, nm) == 3 && !strcmp(nm, name) &&
            (ty == 't' || ty == 'T'))
            found = a;
    if (f)
        fclose(f);
    return found;
}

static void test_real(void **state)
{
    (void)state;
    struct kallsyms *k;
    char err[256];
    int ret = kallsyms_load(&k, NULL, err, sizeof err);
    if (ret == -ENOENT || ret == -EACCES) {
        print_message("no %s here: %s\n", KALLSYMS_PATH, err);
        skip();
    }
    assert_int_equal(ret, 0);
    if (!kallsyms_usable(k)) {
        print_message("%s\n", err);
        kallsyms_free(k);
        skip();
    }
    const char *names[] = {"do_sys_openat2", "ksys_read"};
    int checked = 0;
    for (size_t i = 0; i < 2; i++) {
        uint64_t addr = file_addr_of(names[i]);
        if (!addr)
            continue;
        struct kallsyms_sym s;
        assert_int_equal(kallsyms_lookup(k, addr, &s), 0);
        assert_string_equal(s.name, names[i]);
        assert_int_equal(s.offset, 0);
        assert_null(s.module);
        assert_int_equal(kallsyms_lookup(k, addr + 3, &s), 0);
        assert_string_equal(s.name, names[i]);
        assert_int_equal(s.offset, 3);
        checked++;
    }
    assert_true(checked > 0);
    struct kallsyms_stats st;
    kallsyms_get_stats(k, &st);
    print_message("%zu lines, %zu text symbols kept, %zu not text, %zu junk\n", st.lines, st.kept,
                  st.not_text, st.junk);
    kallsyms_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic), cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_hidden),    cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_deferred),  cmocka_unit_test(test_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
