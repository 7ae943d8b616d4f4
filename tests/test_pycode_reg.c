/* Unit tests for the code registry and the shortening of Python file names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sampler/python/pycode_reg.h"
#include "src/session/resolve.h"

static struct pycode make_code(uint64_t addr, const char *qualname, const char *file, int line)
{
    struct pycode c;
    memset(&c, 0, sizeof c);
    c.addr = addr;
    snprintf(c.name, sizeof c.name, "%s", qualname);
    snprintf(c.qualname, sizeof c.qualname, "%s", qualname);
    snprintf(c.file, sizeof c.file, "%s", file);
    c.firstlineno = line;
    return c;
}

static void test_same_code_same_id(void **state)
{
    struct pycode_reg *r = pycode_reg_new(16);
    struct pycode a = make_code(0x1000, "Klass.method", "/app/x.py", 10);
    uint32_t id = pycode_reg_intern(r, &a);
    assert_int_not_equal(id, PYCODE_UNKNOWN);
    assert_int_equal(pycode_reg_intern(r, &a), id);
    const struct pycode_entry *e = pycode_reg_get(r, id);
    assert_non_null(e);
    assert_string_equal(e->qualname, "Klass.method");
    assert_string_equal(e->file, "/app/x.py");
    assert_int_equal(e->firstlineno, 10);
    assert_int_equal(pycode_reg_count(r), 2); /* the unknown entry and this one */
    pycode_reg_free(r);
}

/* An address reused by another code object is another id; the old entry
 * (which samples already refer to) is untouched. */
static void test_reused_address(void **state)
{
    struct pycode_reg *r = pycode_reg_new(16);
    struct pycode a = make_code(0x1000, "f", "/app/x.py", 10);
    struct pycode b = make_code(0x1000, "g", "/app/x.py", 20);
    uint32_t ia = pycode_reg_intern(r, &a), ib = pycode_reg_intern(r, &b);
    assert_int_not_equal(ia, ib);
    assert_string_equal(pycode_reg_get(r, ia)->qualname, "f");
    assert_string_equal(pycode_reg_get(r, ib)->qualname, "g");
    pycode_reg_free(r);
}

/* Before 3.11 there is no qualified name: co_name is used. */
static void test_name_without_qualname(void **state)
{
    struct pycode_reg *r = pycode_reg_new(16);
    struct pycode a = make_code(0x1000, "f", "/app/x.py", 10);
    a.qualname[0] = '\0';
    uint32_t id = pycode_reg_intern(r, &a);
    assert_int_equal(pycode_reg_intern(r, &a), id);
    assert_string_equal(pycode_reg_get(r, id)->qualname, "f");
    pycode_reg_free(r);
}

static void test_full(void **state)
{
    struct pycode_reg *r = pycode_reg_new(3);
    char name[16];
    uint32_t last = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "f%d", i);
        struct pycode c = make_code(0x1000 + (uint64_t)i * 64, name, "/x.py", i);
        last = pycode_reg_intern(r, &c);
    }
    assert_int_equal(last, PYCODE_UNKNOWN);
    assert_int_equal(pycode_reg_count(r), 3);
    assert_null(pycode_reg_get(r, 3));
    assert_int_equal(pycode_reg_intern(r, NULL), PYCODE_UNKNOWN);
    pycode_reg_free(r);
}

static void test_short_names(void **state)
{
    assert_string_equal(
        resolve_short_pyfile("/usr/lib/python3/dist-packages/requests/api.py", NULL),
        "requests/api.py");
    assert_string_equal(
        resolve_short_pyfile("/venv/lib/python3.12/site-packages/numpy/core/x.py", NULL),
        "numpy/core/x.py");
    assert_string_equal(resolve_short_pyfile("/opt/py/lib/python3.12/threading.py", NULL),
                        "threading.py");
    assert_string_equal(resolve_short_pyfile("/home/u/app/main.py", "/home/u/app"), "main.py");
    assert_string_equal(resolve_short_pyfile("/home/u/app/pkg/mod.py", "/home/u/app"),
                        "pkg/mod.py");
    /* the longest prefix wins: a script dir inside site-packages */
    assert_string_equal(resolve_short_pyfile("/v/lib/python3.9/site-packages/t/a/b.py",
                                             "/v/lib/python3.9/site-packages/t"),
                        "a/b.py");
    /* a prefix that is only a string prefix, not a directory */
    assert_string_equal(resolve_short_pyfile("/home/u/apple/x.py", "/home/u/app"),
                        "/home/u/apple/x.py");
    assert_string_equal(resolve_short_pyfile("<string>", "/home/u/app"), "<string>");
    assert_string_equal(resolve_short_pyfile("x.py", ""), "x.py");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_code_same_id),     cmocka_unit_test(test_reused_address),
        cmocka_unit_test(test_name_without_qualname), cmocka_unit_test(test_full),
        cmocka_unit_test(test_short_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
