/*
 * test_pane_annot.c - the source and instruction views rendered as screen
 * lines from views made of plain data: columns (samples, share, incl., line
 * or address, text), blank counts for cold rows, hot rows in the hot colour,
 * comment and label rows of the instruction view, the note row, an error
 * view, narrow widths, and the n/N movement over hot rows (wrapping, the
 * hottest first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/annotate/annotate.h"
#include "ui/pane_annot.h"
#include "ui/text.h"

static struct annot_row src_rows[] = {
    {.kind = ANNOT_ROW_SOURCE, .line = 9, .text = "int work(void)"},
    {.kind = ANNOT_ROW_SOURCE, .line = 10, .text = "{"},
    {.kind = ANNOT_ROW_SOURCE, .line = 11, .self = 10, .hot = true, .text = "    a = b / c;"},
    {.kind = ANNOT_ROW_SOURCE, .line = 12, .self = 2, .incl = 5, .text = "    call();"},
    {.kind = ANNOT_ROW_SOURCE, .line = 13, .self = 30, .hot = true, .text = "    d = e / f;"},
    {.kind = ANNOT_ROW_SOURCE, .line = 14, .text = "}"},
};

static struct annot_view src_view(void)
{
    struct annot_view v = {.kind = ANNOT_SOURCE,
                           .total = 100,
                           .self_total = 42,
                           .rows = src_rows,
                           .nrows = 6,
                           .line_digits = 2,
                           .hottest = 4};
    snprintf(v.title, sizeof v.title, "source: work  /src/work.c");
    return v;
}

static struct annot_row asm_rows[] = {
    {.kind = ANNOT_ROW_COMMENT, .line = 11, .text = "work.c:11      a = b / c;"},
    {.kind = ANNOT_ROW_INSN, .addr = 0x4011a0, .line = 11, .text = "movq   %rdi, %rax"},
    {.kind = ANNOT_ROW_LABEL, .addr = 0x4011a3, .text = ".L1:"},
    {.kind = ANNOT_ROW_INSN,
     .addr = 0x4011a3,
     .line = 11,
     .self = 40,
     .hot = true,
     .text = "divq   %rcx"},
    {.kind = ANNOT_ROW_INSN, .addr = 0x4011a6, .line = 12, .incl = 7, .text = "callq  0x401000"},
    {.kind = ANNOT_ROW_INSN, .addr = 0x4011ab, .line = 12, .text = "jne    0x4011a3  -> .L1"},
};

static struct annot_view asm_view(void)
{
    struct annot_view v = {.kind = ANNOT_ASM,
                           .total = 80,
                           .self_total = 40,
                           .rows = asm_rows,
                           .nrows = 6,
                           .hottest = 3};
    snprintf(v.title, sizeof v.title, "asm: work  prog");
    return v;
}

static bool has_span(const struct ui_line *l, const char *text, enum ui_role role)
{
    const char *at = strstr(l->text, text);
    if (!at)
        return false;
    size_t off = (size_t)(at - l->text);
    for (unsigned i = 0; i < l->nspan; i++)
        if (l->span[i].role == role && off >= l->span[i].start &&
            off < (size_t)l->span[i].start + l->span[i].len)
            return true;
    return false;
}

static void test_source_rows(void **state)
{
    (void)state;
    struct annot_view v = src_view();
    struct ui_line l;
    assert_int_equal(pane_annot_rows(&v), 6);
    pane_annot_title(&v, 80, &l);
    assert_non_null(strstr(l.text, "source: work"));
    assert_int_equal(line_width(&l), 80);
    pane_annot_header(&v, 80, &l);
    assert_non_null(strstr(l.text, "SAMPLES"));
    assert_non_null(strstr(l.text, "INCL."));
    assert_non_null(strstr(l.text, "LINE"));
    assert_non_null(strstr(l.text, "SOURCE"));
    /* the hottest line: count, share of the function's self samples */
    pane_annot_row(&v, 4, 80, &l);
    assert_string_equal(l.text, "      30  71.4%            13      d = e / f;");
    assert_true(has_span(&l, "30", ROLE_BAR_HIGH));
    assert_true(has_span(&l, "d = e", ROLE_BAR_HIGH));
    /* a call line: self and incl. */
    pane_annot_row(&v, 3, 80, &l);
    assert_string_equal(l.text, "       2   4.8%        5   12      call();");
    assert_false(has_span(&l, "call", ROLE_BAR_HIGH));
    /* a cold line: blank counts */
    pane_annot_row(&v, 0, 80, &l);
    assert_string_equal(l.text, "                            9  int work(void)");
    /* cut to the width */
    pane_annot_row(&v, 4, 30, &l);
    assert_int_equal(line_width(&l), 30);
}

static void test_asm_rows(void **state)
{
    (void)state;
    struct annot_view v = asm_view();
    struct ui_line l;
    pane_annot_header(&v, 100, &l);
    assert_non_null(strstr(l.text, "ADDRESS"));
    assert_non_null(strstr(l.text, "INSTRUCTION"));
    /* the header's columns sit over the rows' */
    const char *hdr_addr_end = strstr(l.text, "ADDRESS") + strlen("ADDRESS");
    size_t col_end = (size_t)(hdr_addr_end - l.text);
    pane_annot_row(&v, 3, 100, &l);
    assert_string_equal(l.text, "      40 100.0%            4011a3: divq   %rcx");
    assert_int_equal(strstr(l.text, "4011a3:") + strlen("4011a3:") - l.text, col_end);
    assert_true(has_span(&l, "divq", ROLE_BAR_HIGH));
    pane_annot_row(&v, 4, 100, &l);
    assert_string_equal(l.text, "                       7   4011a6: callq  0x401000");
    pane_annot_row(&v, 0, 100, &l);
    assert_non_null(strstr(l.text, "; work.c:11      a = b / c;"));
    assert_true(has_span(&l, "work.c:11", ROLE_DIM));
    pane_annot_row(&v, 2, 100, &l);
    assert_non_null(strstr(l.text, ".L1:"));
    assert_null(strstr(l.text, "4011a3"));
}

static void test_note_and_error(void **state)
{
    (void)state;
    struct annot_view v = asm_view();
    snprintf(v.note, sizeof v.note, "work is inlined: showing main");
    struct ui_line l;
    assert_int_equal(pane_annot_rows(&v), 7);
    pane_annot_row(&v, 0, 80, &l);
    assert_string_equal(l.text, "work is inlined: showing main");
    pane_annot_row(&v, 4, 80, &l); /* the div, one row down */
    assert_non_null(strstr(l.text, "divq"));
    assert_int_equal(pane_annot_next_hot(&v, SIZE_MAX), 4);

    struct annot_view e = {.kind = ANNOT_SOURCE, .hottest = SIZE_MAX};
    snprintf(e.error, sizeof e.error, "source not found: /src/x.c (No such file or directory)");
    assert_int_equal(pane_annot_rows(&e), 1);
    pane_annot_row(&e, 0, 200, &l);
    assert_string_equal(l.text, "source not found: /src/x.c (No such file or directory)");
    assert_true(has_span(&l, "source not found", ROLE_WARN));
    /* the advice after the dash gets a row of its own */
    snprintf(e.error, sizeof e.error,
             "source not found: /src/x.c (No such file or directory) \xe2\x80\x94 if the tree "
             "moved, give --source-path OLD=NEW");
    assert_int_equal(pane_annot_rows(&e), 2);
    pane_annot_row(&e, 0, 60, &l);
    assert_string_equal(l.text, "source not found: /src/x.c (No such file or directory)");
    pane_annot_row(&e, 1, 60, &l);
    assert_string_equal(l.text, "\xe2\x80\x94 if the tree moved, give --source-path OLD=NEW");
    assert_int_equal(pane_annot_next_hot(&e, SIZE_MAX), SIZE_MAX);
    assert_int_equal(pane_annot_prev_hot(&e, 3), SIZE_MAX);
}

static void test_next_hot(void **state)
{
    (void)state;
    struct annot_view v = src_view();
    /* first press: the hottest; then the hot rows in file order, wrapping */
    assert_int_equal(pane_annot_next_hot(&v, SIZE_MAX), 4);
    assert_int_equal(pane_annot_next_hot(&v, 4), 2);
    assert_int_equal(pane_annot_next_hot(&v, 2), 4);
    assert_int_equal(pane_annot_next_hot(&v, 0), 2);
    assert_int_equal(pane_annot_prev_hot(&v, 4), 2);
    assert_int_equal(pane_annot_prev_hot(&v, 2), 4);
    assert_int_equal(pane_annot_prev_hot(&v, 5), 4);
    assert_int_equal(pane_annot_prev_hot(&v, SIZE_MAX), 4);
    /* no samples at all */
    struct annot_view cold = src_view();
    cold.hottest = SIZE_MAX;
    assert_int_equal(pane_annot_next_hot(&cold, SIZE_MAX), SIZE_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_rows),
        cmocka_unit_test(test_asm_rows),
        cmocka_unit_test(test_note_and_error),
        cmocka_unit_test(test_next_hot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
