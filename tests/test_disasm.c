/*
 * test_disasm.c - the disassembler on the annot_loop fixture: the div of
 * divide_chain and the sqrtsd of root_steps are found, the listing covers
 * the symbol exactly, the loop's back edge and run_annot's calls carry
 * their targets; and on bad input: undecodable bytes, an unknown machine,
 * a range outside the loaded segments, a file that is not ELF, code longer
 * than the cap.  Symbol addresses are read from the fixture with libelf.
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
#include <unistd.h>

#include <cmocka.h>

#include "symbols/disasm.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "/tmp/pertop-fixtures"
#endif
#ifndef SRC_DIR
#define SRC_DIR "."
#endif

#define ANNOT_LOOP FIXTURE_DIR "/annot_loop"

/* A function symbol of the fixture: address and size from .symtab. */
static int fixture_sym(const char *path, const char *name, uint64_t *addr, uint64_t *size)
{
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -errno;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    int rc = -ENOENT;
    for (Elf_Scn *scn = NULL; elf && rc && (scn = elf_nextscn(elf, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym s;
            if (gelf_getsym(d, (int)i, &s) &&
                strcmp(elf_strptr(elf, sh.sh_link, s.st_name), name) == 0) {
                *addr = s.st_value;
                *size = s.st_size;
                rc = 0;
                break;
            }
        }
    }
    elf_end(elf);
    close(fd);
    return rc;
}

static struct disasm *listing_of(const char *name, uint64_t *addr, uint64_t *size)
{
    assert_int_equal(fixture_sym(ANNOT_LOOP, name, addr, size), 0);
    int fd = open(ANNOT_LOOP, O_RDONLY);
    assert_true(fd >= 0);
    struct disasm *d = NULL;
    char err[256] = "";
    int rc = disasm_file(fd, *addr, *size, &d, err, sizeof err);
    close(fd);
    if (rc != 0)
        fail_msg("disasm_file(%s): %d %s", name, rc, err);
    return d;
}

static size_t find_mnemonic(const struct disasm *d, const char *mn)
{
    size_t n = strlen(mn);
    for (size_t i = 0; i < d->n; i++)
        if (strncmp(d->insn[i].text, mn, n) == 0 &&
            (d->insn[i].text[n] == ' ' || d->insn[i].text[n] == '\0'))
            return i;
    return SIZE_MAX;
}

static void test_divide_chain(void **state)
{
    (void)state;
    uint64_t addr, size;
    struct disasm *d = listing_of("divide_chain", &addr, &size);
    /* the listing covers the symbol exactly, instruction after instruction */
    assert_int_equal(d->insn[0].addr, addr);
    for (size_t i = 1; i < d->n; i++)
        assert_int_equal(d->insn[i].addr, d->insn[i - 1].addr + d->insn[i - 1].size);
    assert_int_equal(d->insn[d->n - 1].addr + d->insn[d->n - 1].size, addr + size);
    assert_false(d->truncated);
    size_t div = find_mnemonic(d, "div");
    if (div == SIZE_MAX)
        div = find_mnemonic(d, "divq");
    assert_true(div != SIZE_MAX);
    assert_non_null(strstr(d->insn[div].text, "%")); /* AT&T operands */
    /* the loop's back edge: a jump to an earlier instruction of the function */
    bool back_edge = false;
    for (size_t i = 0; i < d->n; i++)
        if (d->insn[i].is_jump && d->insn[i].target > addr && d->insn[i].target < d->insn[i].addr &&
            disasm_find(d, d->insn[i].target) != SIZE_MAX)
            back_edge = true;
    assert_true(back_edge);
    bool ret = false; /* Capstone's AT&T says retq */
    for (size_t i = 0; i < d->n; i++)
        ret |= d->insn[i].is_ret && strncmp(d->insn[i].text, "ret", 3) == 0;
    assert_true(ret);
    /* lookups: inside an instruction (a call's pc-1), before, after */
    assert_int_equal(disasm_find(d, d->insn[div].addr + d->insn[div].size - 1), div);
    assert_int_equal(disasm_find(d, addr - 1), SIZE_MAX);
    assert_int_equal(disasm_find(d, addr + size), SIZE_MAX);
    disasm_free(d);
}

static void test_sqrt_and_calls(void **state)
{
    (void)state;
    uint64_t addr, size, div_addr, div_size, root_addr, root_size;
    struct disasm *d = listing_of("root_steps", &addr, &size);
    assert_true(find_mnemonic(d, "sqrtsd") != SIZE_MAX);
    disasm_free(d);

    assert_int_equal(fixture_sym(ANNOT_LOOP, "divide_chain", &div_addr, &div_size), 0);
    assert_int_equal(fixture_sym(ANNOT_LOOP, "root_steps", &root_addr, &root_size), 0);
    d = listing_of("run_annot", &addr, &size);
    bool calls_div = false, calls_root = false;
    for (size_t i = 0; i < d->n; i++) {
        /* a tail call is a jmp: either way the target is the callee */
        if (!d->insn[i].is_call && !d->insn[i].is_jump)
            continue;
        calls_div |= d->insn[i].target == div_addr;
        calls_root |= d->insn[i].target == root_addr;
    }
    assert_true(calls_div);
    assert_true(calls_root);
    disasm_free(d);
}

static void test_bad_bytes(void **state)
{
    (void)state;
    /* 0x06 (push es) does not exist in 64-bit mode */
    uint8_t code[] = {0x06, 0x06, 0x90, 0x06, 0xc3};
    struct disasm *d;
    char err[256];
    assert_int_equal(disasm_buf(EM_X86_64, code, sizeof code, 0x1000, &d, err, sizeof err), 0);
    assert_int_equal(d->n, 5);
    assert_string_equal(d->insn[0].text, "(bad)");
    assert_string_equal(d->insn[2].text, "nop");
    assert_string_equal(d->insn[3].text, "(bad)");
    assert_true(d->insn[4].is_ret);
    assert_int_equal(d->insn[4].addr, 0x1004);
    disasm_free(d);
}

static void test_unknown_machine(void **state)
{
    (void)state;
    uint8_t code[] = {0, 0, 0, 0};
    struct disasm *d = (struct disasm *)1;
    char err[256] = "";
    assert_int_equal(disasm_buf(EM_SPARC, code, sizeof code, 0, &d, err, sizeof err), -ENOTSUP);
    assert_null(d);
    assert_non_null(strstr(err, "no disassembler"));
}

static void test_outside_segments_and_not_elf(void **state)
{
    (void)state;
    struct disasm *d;
    char err[256] = "";
    int fd = open(ANNOT_LOOP, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(disasm_file(fd, 0x7fff00000000ull, 64, &d, err, sizeof err), -ENOEXEC);
    assert_null(d);
    assert_non_null(strstr(err, "not in a loaded part"));
    /* zero-sized: nothing to read */
    assert_int_equal(disasm_file(fd, 0x1000, 0, &d, err, sizeof err), -ENOEXEC);
    close(fd);
    fd = open(SRC_DIR "/tests/fixtures/annot_loop.c", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(disasm_file(fd, 0, 16, &d, err, sizeof err), -ENOEXEC);
    close(fd);
}

static void test_cap(void **state)
{
    (void)state;
    size_t len = DISASM_MAX_BYTES + 4096;
    uint8_t *code = malloc(len);
    assert_non_null(code);
    memset(code, 0x90, len); /* nops */
    struct disasm *d;
    char err[256];
    assert_int_equal(disasm_buf(EM_X86_64, code, len, 0x400000, &d, err, sizeof err), 0);
    assert_true(d->truncated);
    assert_int_equal(d->n, DISASM_MAX_BYTES);
    assert_int_equal(d->insn[d->n - 1].addr, 0x400000 + DISASM_MAX_BYTES - 1);
    disasm_free(d);
    free(code);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_divide_chain),
        cmocka_unit_test(test_sqrt_and_calls),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_unknown_machine),
        cmocka_unit_test(test_outside_segments_and_not_elf),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
