/* Unit tests for the command line: values, ranges, messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "src/cli.h"

static enum cli_result parse(struct cli_opts *o, char *err, size_t n, const char **args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"pertop";
    for (; *args && argc < 31; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return cli_parse(argc, argv, o, err, n);
}

#define PARSE(...) parse(&o, err, sizeof err, (const char *[]){__VA_ARGS__, NULL})

static void test_defaults(void **state)
{
    struct cli_opts o;
    char err[256];
    assert_int_equal(PARSE("--pid", "42"), CLI_RUN);
    assert_int_equal(o.pid, 42);
    assert_int_equal(o.rate_hz, 99);
    assert_int_equal(o.stack_size, 16384);
    assert_int_equal(o.max_depth, 256);
    assert_false(o.batch);
    assert_false(o.idle);
    assert_null(o.command);
    assert_int_equal(o.format, FORMAT_TEXT);
}

static void test_all_options(void **state)
{
    struct cli_opts o;
    char err[256];
    assert_int_equal(PARSE("-p", "7", "-r", "999", "-d", "2.5", "--idle", "--stack-size", "64K",
                           "--batch", "-o", "out.folded", "-f", "folded", "--threads",
                           "--max-depth", "100", "--stats"),
                     CLI_RUN);
    assert_int_equal(o.pid, 7);
    assert_int_equal(o.rate_hz, 999);
    assert_true(o.duration_s > 2.49 && o.duration_s < 2.51);
    assert_true(o.idle);
    assert_int_equal(o.stack_size, 65536);
    assert_true(o.batch);
    assert_string_equal(o.output, "out.folded");
    assert_int_equal(o.format, FORMAT_FOLDED);
    assert_true(o.threads);
    assert_int_equal(o.max_depth, 100);
    assert_true(o.stats);
}

static void test_command(void **state)
{
    struct cli_opts o;
    char err[256];
    assert_int_equal(PARSE("--batch", "--", "prog", "-x", "--pid", "3"), CLI_RUN);
    assert_non_null(o.command);
    assert_string_equal(o.command[0], "prog");
    assert_null(o.command_output);
    assert_false(o.command_stdin_null);
    assert_string_equal(o.command[1], "-x");
    assert_string_equal(o.command[2], "--pid"); /* the command's own options */
    assert_null(o.command[4]);
    assert_int_equal(o.pid, 0);
}

static void expect_error(const char **args, const char *needle)
{
    struct cli_opts o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof err, args), CLI_ERROR);
    if (!strstr(err, needle))
        fail_msg("message '%s' lacks '%s'", err, needle);
    assert_non_null(strstr(err, "pertop: "));
}

static void test_bad_values(void **state)
{
    expect_error((const char *[]){"--rate", "0", "-p", "1", NULL}, "--rate '0'");
    expect_error((const char *[]){"--rate", "1000000", "-p", "1", NULL}, "--rate");
    expect_error((const char *[]){"--rate", "12x", "-p", "1", NULL}, "--rate");
    expect_error((const char *[]){"--duration", "-1", "-p", "1", NULL}, "--duration '-1'");
    expect_error((const char *[]){"--duration", "nan", "-p", "1", NULL}, "--duration");
    expect_error((const char *[]){"--stack-size", "100", "-p", "1", NULL}, "--stack-size");
    expect_error((const char *[]){"--stack-size", "65K", "-p", "1", NULL}, "--stack-size");
    expect_error((const char *[]){"--pid", "-5", NULL}, "--pid");
    expect_error((const char *[]){"--pid", "0", NULL}, "--pid");
    expect_error((const char *[]){"--format", "xml", "-p", "1", NULL}, "xml");
    expect_error((const char *[]){"--bogus", "-p", "1", NULL}, "unknown option '--bogus'");
    expect_error((const char *[]){"-p", NULL}, "missing value");
    expect_error((const char *[]){NULL}, "nothing to profile");
    expect_error((const char *[]){"-p", "1", "--", "prog", NULL}, "not both");
    expect_error((const char *[]){"-p", "1", "--threads", NULL}, "--threads");
    expect_error((const char *[]){"--command-output", "", "--", "x", NULL}, "--command-output");
}

static void test_help_version(void **state)
{
    struct cli_opts o;
    char err[256];
    assert_int_equal(PARSE("--help"), CLI_HELP);
    assert_int_equal(PARSE("-V"), CLI_VERSION);
    assert_non_null(strstr(cli_usage(), "--pid"));
    assert_non_null(strstr(cli_usage(), "Exit status"));
    /* launch mode passes the command's status through: said with the codes */
    assert_non_null(strstr(cli_usage(), "COMMAND ended on its\nown, its exit status, or 128 + "
                                        "the signal that killed it"));
}

static void test_python_options(void **state)
{
    struct cli_opts o;
    char err[256];
    assert_int_equal(PARSE("-p", "1"), CLI_RUN);
    assert_int_equal(o.stacks, STACKS_MERGED);
    assert_false(o.gil);
    assert_false(o.full_filenames);
    assert_int_equal(PARSE("-p", "1", "--python", "--gil", "--full-filenames"), CLI_RUN);
    assert_int_equal(o.stacks, STACKS_PYTHON);
    assert_true(o.gil);
    assert_true(o.full_filenames);
    assert_int_equal(PARSE("-p", "1", "--native"), CLI_RUN);
    assert_int_equal(o.stacks, STACKS_NATIVE);
    assert_int_equal(PARSE("-p", "1", "--native", "--python"), CLI_ERROR);
    assert_non_null(strstr(err, "--python and --native"));
    assert_int_equal(PARSE("-p", "1", "--native", "--gil"), CLI_ERROR);
    assert_non_null(strstr(err, "--gil"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_all_options),
        cmocka_unit_test(test_command),      cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_help_version), cmocka_unit_test(test_python_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
