/*
 * test_symbolize.c - the symbolizer on the real fixtures: DWARF names and
 * lines, an inline chain, demangled C++, .dynsym of a stripped binary,
 * separate debug files by .gnu_debuglink (next to the file and under the
 * target's root) and by build-id, unknown frames for missing, corrupt and
 * out-of-range input, bounded caches, and the cost of a warm lookup.
 *
 * Expected addresses and lines come from the fixtures themselves (ELF
 * symbols and DWARF read here with libelf/libdw, lines found in the
 * source), not from numbers written into the test.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "symbols/demangle.h"
#include "symbols/plt.h"
#include "symbols/symbolize.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "/tmp/pertop-fixtures"
#endif
#ifndef SRC_DIR
#define SRC_DIR "."
#endif

#define CPU_MIX          FIXTURE_DIR "/cpu_mix"
#define CPU_MIX_STRIPPED FIXTURE_DIR "/cpu_mix_stripped"
#define CPU_MIX_DYN      FIXTURE_DIR "/cpu_mix_dyn" /* cpu_mix_stripped before strip */
#define CXX_MIX          FIXTURE_DIR "/cxx_mix"
#define CPU_MIX_SRC      SRC_DIR "/tests/fixtures/cpu_mix.c"

/* ------------------------------------------------------------- helpers */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = s ? strlen(s) : 0, k = strlen(suffix);
    return s && n >= k && strcmp(s + n - k, suffix) == 0;
}

/* GCC may emit only a clone ("name.isra.0", "name.constprop.0"). */
static bool same_symbol(const char *name, const char *want)
{
    size_t k = strlen(want);
    return !strncmp(name, want, k) && (name[k] == '\0' || name[k] == '.');
}

/* Address and size of a function symbol (or its clone), from .symtab or
 * else .dynsym. */
static bool elf_symbol(const char *path, const char *want, uint64_t *addr, uint64_t *size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    bool found = false;
    for (int pass = 0; pass < 2 && !found && elf; pass++) {
        Elf_Scn *scn = NULL;
        while (!found && (scn = elf_nextscn(elf, scn))) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB))
                continue;
            Elf_Data *data = elf_getdata(scn, NULL);
            size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
            for (size_t i = 0; data && i < n; i++) {
                GElf_Sym sym;
                if (!gelf_getsym(data, (int)i, &sym))
                    continue;
                const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
                if (name && same_symbol(name, want) && sym.st_value) {
                    *addr = sym.st_value;
                    *size = sym.st_size;
                    found = true;
                    break;
                }
            }
        }
    }
    elf_end(elf);
    close(fd);
    return found;
}

/* Every sized function symbol of .symtab, to cb. */
static int for_each_function(const char *path,
                             void (*cb)(const char *name, uint64_t addr, uint64_t size, void *arg),
                             void *arg)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    Elf_Scn *scn = NULL;
    int count = 0;
    while (elf && (scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        for (size_t i = 0; data && i < n; i++) {
            GElf_Sym sym;
            const char *name;
            if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
                !sym.st_value || !sym.st_size || !(name = elf_strptr(elf, sh.sh_link, sym.st_name)))
                continue;
            cb(name, sym.st_value, sym.st_size, arg);
            count++;
        }
    }
    elf_end(elf);
    close(fd);
    return count;
}

/* First line of the file containing needle (1-based), or 0. */
static int source_line(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[512];
    int line = 0, found = 0;
    while (!found && fgets(buf, sizeof buf, f)) {
        line++;
        if (strstr(buf, needle))
            found = line;
    }
    fclose(f);
    return found;
}

/* Find an inlined instance of `callee` directly inside the function
 * `caller` and return an address in the middle of its first range. */
struct inline_search {
    const char *callee, *caller;
    uint64_t addr;
};

static bool find_inline_in(Dwarf_Die *die, const char *func, struct inline_search *q)
{
    Dwarf_Die child;
    if (dwarf_child(die, &child) != 0)
        return false;
    do {
        int tag = dwarf_tag(&child);
        const char *name = dwarf_diename(&child);
        if (tag == DW_TAG_inlined_subroutine && func && name && !strcmp(func, q->caller) &&
            !strcmp(name, q->callee)) {
            Dwarf_Addr base, lo, hi;
            ptrdiff_t off = dwarf_ranges(&child, 0, &base, &lo, &hi);
            if (off > 0 && hi > lo) {
                q->addr = lo + (hi - lo) / 2;
                return true;
            }
        }
        const char *inner = tag == DW_TAG_subprogram ? name : func;
        if (find_inline_in(&child, inner, q))
            return true;
    } while (dwarf_siblingof(&child, &child) == 0);
    return false;
}

static bool find_inline(const char *path, struct inline_search *q)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
    bool found = false;
    Dwarf_Off off = 0, next;
    size_t hsize;
    while (dw && !found && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu;
        if (dwarf_offdie(dw, off + hsize, &cu))
            found = find_inline_in(&cu, NULL, q);
        off = next;
    }
    dwarf_end(dw);
    close(fd);
    return found;
}

static void need_file(const char *path)
{
    if (access(path, R_OK) != 0)
        fail_msg("fixture %s missing: build the fixtures first", path);
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

/* A scratch directory removed at the end of each test that makes one. */
struct scratch {
    char dir[64];
};

static void scratch_make(struct scratch *t)
{
    strcpy(t->dir, "/tmp/test_symbolize.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
}

static void scratch_remove(struct scratch *t)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    run(cmd);
}

static bool have_binutils(void)
{
    return run("objcopy --version >/dev/null 2>&1") == 0 &&
           run("strip --version >/dev/null 2>&1") == 0;
}

static void print_result(const char *what, const struct sym_result *r)
{
    for (unsigned i = 0; i < r->n; i++)
        print_message("  %s[%u] %s%s at %s:%d (decl %s:%d)%s%s\n", what, i, r->f[i].func,
                      r->f[i].inlined ? " (inlined)" : "", r->f[i].file ? r->f[i].file : "?",
                      r->f[i].line, r->f[i].decl_file ? r->f[i].decl_file : "?", r->f[i].decl_line,
                      r->f[i].from_symtab ? " [symtab]" : "", r->f[i].unknown ? " [unknown]" : "");
}

/* --------------------------------------------------------------- tests */

static void test_function_line(void **state)
{
    (void)state;
    need_file(CPU_MIX);
    uint64_t addr, size;
    assert_true(elf_symbol(CPU_MIX, "compute_inner", &addr, &size));
    assert_true(size > 8);
    int def = source_line(CPU_MIX_SRC, "void compute_inner(void)");
    assert_true(def > 0);

    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    const struct sym_result *r = sym_resolve(s, 1, "/usr/bin/cpu_mix", CPU_MIX, addr + 4);
    print_result("compute_inner", r);
    assert_int_equal(r->n, 1);
    assert_string_equal(r->f[0].func, "compute_inner");
    assert_true(r->f[0].func == sym_intern(s, "compute_inner"));
    assert_true(ends_with(r->f[0].file, "cpu_mix.c"));
    assert_in_range(r->f[0].line, def, def + 4);
    assert_true(ends_with(r->f[0].decl_file, "cpu_mix.c"));
    assert_int_equal(r->f[0].decl_line, def);
    assert_false(r->f[0].inlined);
    assert_false(r->f[0].from_symtab);
    assert_false(r->f[0].unknown);

    /* The last byte still belongs to it; the symbol's own start too. */
    r = sym_resolve(s, 1, "/usr/bin/cpu_mix", CPU_MIX, addr + size - 1);
    assert_string_equal(r->f[0].func, "compute_inner");
    r = sym_resolve(s, 1, "/usr/bin/cpu_mix", CPU_MIX, addr);
    assert_string_equal(r->f[0].func, "compute_inner");

    struct sym_stats st;
    sym_get_stats(s, &st);
    assert_int_equal(st.lookups, 3);
    assert_int_equal(st.modules, 1);
    assert_int_equal(st.modules_with_dwarf, 1);
    sym_free(s);
}

/* mix_bits is always_inline inside checksum_block: two frames, the inner
 * one with the loop's line, the outer one with the call site's line. */
static void check_inline_chain(struct symbolizer *s, const char *name, const char *open_path,
                               uint64_t addr)
{
    int decl = source_line(CPU_MIX_SRC, "void mix_bits(uint64_t iters)");
    int loop = source_line(CPU_MIX_SRC, "SPIN(iters); /* mix_bits");
    int call = source_line(CPU_MIX_SRC, "mix_bits(w_mix * UNIT);");
    int outer_decl = source_line(CPU_MIX_SRC, "void checksum_block(void)");
    assert_true(decl > 0 && loop > decl && call > loop && outer_decl > 0);

    const struct sym_result *r = sym_resolve(s, 2, name, open_path, addr);
    print_result("inline", r);
    assert_int_equal(r->n, 2);
    assert_string_equal(r->f[0].func, "mix_bits");
    assert_true(r->f[0].inlined);
    assert_true(ends_with(r->f[0].file, "cpu_mix.c"));
    assert_in_range(r->f[0].line, decl, loop);
    assert_int_equal(r->f[0].decl_line, decl);
    assert_string_equal(r->f[1].func, "checksum_block");
    assert_false(r->f[1].inlined);
    assert_true(ends_with(r->f[1].file, "cpu_mix.c"));
    assert_int_equal(r->f[1].line, call);
    assert_int_equal(r->f[1].decl_line, outer_decl);
}

static void test_inline_chain(void **state)
{
    (void)state;
    need_file(CPU_MIX);
    struct inline_search q = {.callee = "mix_bits", .caller = "checksum_block"};
    assert_true(find_inline(CPU_MIX, &q));
    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    check_inline_chain(s, "/usr/bin/cpu_mix", CPU_MIX, q.addr);
    /* Again, from the cache: same answer. */
    check_inline_chain(s, "/usr/bin/cpu_mix", CPU_MIX, q.addr);
    struct sym_stats st;
    sym_get_stats(s, &st);
    assert_int_equal(st.cache_hits, 1);
    sym_free(s);
}

static void test_cxx_names(void **state)
{
    (void)state;
    need_file(CXX_MIX);
    static const struct {
        const char *mangled, *want;
    } cases[] = {
        {"_ZN6shapes4GridIdE5relaxEi", "shapes::Grid<double>::relax(int)"},
        {"_ZN6shapes10accumulateIiEET_i", "int shapes::accumulate<int>(int)"},
    };
    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t addr, size;
        assert_true(elf_symbol(CXX_MIX, cases[i].mangled, &addr, &size));
        const struct sym_result *r = sym_resolve(s, 3, "/usr/bin/cxx_mix", CXX_MIX, addr + 2);
        print_result("cxx", r);
        assert_int_equal(r->n, 1);
        assert_string_equal(r->f[0].func, cases[i].want);
        assert_true(ends_with(r->f[0].file, "cxx_mix.cc"));
        assert_true(r->f[0].line > 0);
        assert_false(r->f[0].from_symtab);
    }
    sym_free(s);
}

/* Every byte of every function: the outermost frame names the function
 * its symbol says (less GCC's clone suffixes), whether the name comes from
 * DWARF (through the per-CU function index) or from the symbol table. */
struct sweep {
    struct symbolizer *s;
    const char *path;
    unsigned checked;
};

static void sweep_function(const char *name, uint64_t addr, uint64_t size, void *arg)
{
    struct sweep *w = arg;
    char want[512];
    char *dm = demangle(name);
    snprintf(want, sizeof want, "%s", dm ? dm : name);
    free(dm);
    char *cut = strstr(want, " [clone");
    if (cut)
        *cut = '\0';
    else if (!strchr(want, '(') && (cut = strchr(want, '.')))
        *cut = '\0';
    for (uint64_t a = addr; a < addr + size; a++) {
        const struct sym_result *r = sym_resolve(w->s, 1, w->path, w->path, a);
        const struct sym_frame *outer = &r->f[r->n - 1];
        if (strcmp(outer->func, want) != 0)
            fail_msg("%s+0x%" PRIx64 ": outermost frame %s, symbol says %s", w->path, a,
                     outer->func, want);
        assert_false(outer->inlined);
        assert_false(outer->unknown);
        for (unsigned i = 0; i + 1 < r->n; i++)
            assert_true(r->f[i].inlined);
        w->checked++;
    }
}

static void test_every_address(void **state)
{
    (void)state;
    const char *paths[] = {CPU_MIX, CXX_MIX};
    for (size_t i = 0; i < 2; i++) {
        need_file(paths[i]);
        struct sweep w = {.s = sym_new(""), .path = paths[i]};
        assert_non_null(w.s);
        assert_true(for_each_function(paths[i], sweep_function, &w) >= 4);
        print_message("  %s: %u addresses agree\n", paths[i], w.checked);
        assert_true(w.checked > 300);
        sym_free(w.s);
    }
}

static void test_stripped_dynsym(void **state)
{
    (void)state;
    need_file(CPU_MIX_STRIPPED);
    uint64_t addr, size;
    assert_true(elf_symbol(CPU_MIX_STRIPPED, "compute_inner", &addr, &size));
    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    const struct sym_result *r =
        sym_resolve(s, 4, "/usr/bin/cpu_mix_stripped", CPU_MIX_STRIPPED, addr + size / 2);
    print_result("stripped", r);
    assert_int_equal(r->n, 1);
    assert_string_equal(r->f[0].func, "compute_inner");
    assert_true(r->f[0].from_symtab);
    assert_false(r->f[0].unknown);
    assert_null(r->f[0].file);
    assert_int_equal(r->f[0].line, 0);
    /* Just past the sized symbol, in the alignment padding: not it. */
    r = sym_resolve(s, 4, "/usr/bin/cpu_mix_stripped", CPU_MIX_STRIPPED, addr + size);
    assert_string_not_equal(r->f[0].func, "compute_inner");
    /* A static function has no symbol left: its addresses are named by
     * where its unwind entry begins, the function's entry, all alike. */
    uint64_t waddr, wsize;
    assert_true(elf_symbol(CPU_MIX_DYN, "worker", &waddr, &wsize));
    char want[64];
    snprintf(want, sizeof want, "cpu_mix_stripped+0x%" PRIx64, waddr);
    for (uint64_t off = 0; off < wsize; off += wsize / 4 ? wsize / 4 : 1) {
        r = sym_resolve(s, 4, "/usr/bin/cpu_mix_stripped", CPU_MIX_STRIPPED, waddr + off);
        assert_true(r->f[0].unknown);
        assert_string_equal(r->f[0].func, want);
    }
    struct sym_stats st;
    sym_get_stats(s, &st);
    assert_int_equal(st.modules_with_dwarf, 0);
    sym_free(s);
}

static void expect_unknown(const struct sym_result *r, const char *want)
{
    print_result("unknown", r);
    assert_int_equal(r->n, 1);
    assert_true(r->f[0].unknown);
    assert_string_equal(r->f[0].func, want);
    assert_null(r->f[0].file);
}

static void test_unknown(void **state)
{
    (void)state;
    need_file(CPU_MIX);
    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    /* Garbage address in a good module. */
    expect_unknown(sym_resolve(s, 5, "/usr/bin/cpu_mix", CPU_MIX, 0xdeadbeef000ull),
                   "cpu_mix+0xdeadbeef000");
    expect_unknown(sym_resolve(s, 5, "/usr/bin/cpu_mix", CPU_MIX, UINT64_MAX),
                   "cpu_mix+0xffffffffffffffff");
    /* Missing file, twice (the failed open is remembered). */
    expect_unknown(
        sym_resolve(s, 6, "/usr/lib/libgone.so.1", "/nonexistent/usr/lib/libgone.so.1", 0x1234),
        "libgone.so.1+0x1234");
    expect_unknown(
        sym_resolve(s, 6, "/usr/lib/libgone.so.1", "/nonexistent/usr/lib/libgone.so.1", 0x1238),
        "libgone.so.1+0x1238");
    /* No names at all. */
    expect_unknown(sym_resolve(s, 7, NULL, NULL, 0x10), "?+0x10");
    expect_unknown(sym_resolve(s, 8, "", "/nonexistent/x", 0x10), "x+0x10");
    /* A directory is not a module. */
    expect_unknown(sym_resolve(s, 9, "/tmp", "/tmp", 0x10), "tmp+0x10");
    sym_free(s);
}

/* Corrupt files: truncated ELF, ELF magic then garbage, random bytes, a
 * gzip header (libdwfl would decompress it), a FIFO (must not block). */
static void test_corrupt_files(void **state)
{
    (void)state;
    need_file(CPU_MIX);
    struct scratch t;
    scratch_make(&t);
    char path[128], cmd[512];

    FILE *in = fopen(CPU_MIX, "rb");
    assert_non_null(in);
    static unsigned char img[1 << 20];
    size_t len = fread(img, 1, sizeof img, in);
    fclose(in);
    assert_true(len > 4096);

    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    uint64_t addr, size;
    assert_true(elf_symbol(CPU_MIX, "compute_inner", &addr, &size));

    /* Truncated at several points, and with bytes flipped all over. */
    const size_t cuts[] = {16, 64, 200, 1000, len / 2, len - 100};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        snprintf(path, sizeof path, "%s/trunc%zu", t.dir, i);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(img, 1, cuts[i], f);
        fclose(f);
        const struct sym_result *r = sym_resolve(s, 100 + (uint32_t)i, path, path, addr);
        assert_true(r->n >= 1 && r->f[0].func);
    }
    srand(1234);
    for (int k = 0; k < 20; k++) {
        unsigned char *copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, img, len);
        for (int j = 0; j < 200; j++)
            copy[64 + (size_t)rand() % (len - 64)] = (unsigned char)rand();
        snprintf(path, sizeof path, "%s/flip%d", t.dir, k);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(copy, 1, len, f);
        fclose(f);
        free(copy);
        for (uint64_t a = addr; a < addr + 64; a += 16) {
            const struct sym_result *r = sym_resolve(s, 200 + (uint32_t)k, path, path, a);
            assert_true(r->n >= 1 && r->f[0].func);
        }
    }
    snprintf(path, sizeof path, "%s/random", t.dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++)
        fputc(rand() & 0xff, f);
    fclose(f);
    expect_unknown(sym_resolve(s, 300, path, path, 0x40), "random+0x40");

    snprintf(path, sizeof path, "%s/gz", t.dir);
    snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s' 2>/dev/null", CPU_MIX, path);
    if (run(cmd) == 0) {
        char want[64];
        snprintf(want, sizeof want, "gz+0x%" PRIx64, addr);
        expect_unknown(sym_resolve(s, 301, path, path, addr), want);
    }
    snprintf(path, sizeof path, "%s/fifo", t.dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    expect_unknown(sym_resolve(s, 302, path, path, 0x40), "fifo+0x40");

    sym_free(s);
    scratch_remove(&t);
}

/* Split debug info found through .gnu_debuglink: next to the file, and
 * under <root>/usr/lib/debug/<dir of the module in the target>. */
static void test_debuglink(void **state)
{
    (void)state;
    need_file(CPU_MIX);
    if (!have_binutils())
        skip();
    struct inline_search q = {.callee = "mix_bits", .caller = "checksum_block"};
    assert_true(find_inline(CPU_MIX, &q));
    struct scratch t;
    scratch_make(&t);
    char cmd[2048], bin[256];

    /* Debian -dbgsym layout, inside a target root. */
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; mkdir -p root/usr/bin root/usr/lib/debug/usr/bin;"
             "objcopy --only-keep-debug '%s' root/usr/lib/debug/usr/bin/cpu_mix.debug;"
             "strip --strip-all -o stripped '%s';"
             "objcopy --add-gnu-debuglink=root/usr/lib/debug/usr/bin/cpu_mix.debug stripped "
             "root/usr/bin/cpu_mix",
             t.dir, CPU_MIX, CPU_MIX);
    assert_int_equal(run(cmd), 0);
    char root[128];
    snprintf(root, sizeof root, "%s/root", t.dir);
    snprintf(bin, sizeof bin, "%s/usr/bin/cpu_mix", root);
    struct symbolizer *s = sym_new(root);
    assert_non_null(s);
    check_inline_chain(s, "/usr/bin/cpu_mix", bin, q.addr);
    sym_free(s);

    /* Without the root the module's path does not lead there: no DWARF,
     * no .symtab, and .dynsym of a non -rdynamic binary lacks it. */
    s = sym_new("");
    assert_non_null(s);
    const struct sym_result *r = sym_resolve(s, 2, "/usr/bin/cpu_mix", bin, q.addr);
    print_result("no-root", r);
    assert_true(r->f[0].unknown);
    sym_free(s);

    /* Next to the file. */
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; mkdir side; cp root/usr/lib/debug/usr/bin/cpu_mix.debug side/;"
             "cp root/usr/bin/cpu_mix side/cpu_mix",
             t.dir);
    assert_int_equal(run(cmd), 0);
    snprintf(bin, sizeof bin, "%s/side/cpu_mix", t.dir);
    s = sym_new("");
    assert_non_null(s);
    check_inline_chain(s, bin, bin, q.addr);
    sym_free(s);

    /* A debug file from another build (different build-id) is refused. */
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; mkdir other; cp side/cpu_mix other/;"
             "objcopy --only-keep-debug '%s' other/cpu_mix.debug",
             t.dir, CPU_MIX_STRIPPED);
    assert_int_equal(run(cmd), 0);
    snprintf(bin, sizeof bin, "%s/other/cpu_mix", t.dir);
    s = sym_new("");
    assert_non_null(s);
    r = sym_resolve(s, 2, bin, bin, q.addr);
    print_result("foreign", r);
    assert_true(r->f[0].unknown);
    sym_free(s);
    scratch_remove(&t);
}

/* Split debug info found by build-id in a debug directory. */
static void test_build_id_dir(void **state)
{
    (void)state;
    need_file(CPU_MIX);
    if (!have_binutils())
        skip();
    uint64_t addr, size;
    assert_true(elf_symbol(CPU_MIX, "compute_inner", &addr, &size));

    int fd = open(CPU_MIX, O_RDONLY);
    assert_true(fd >= 0);
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    const unsigned char *id = NULL;
    ssize_t idlen = dwelf_elf_gnu_build_id(elf, (const void **)&id);
    assert_true(idlen >= 2);
    char hex[130];
    for (ssize_t i = 0; i < idlen && i < 64; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    elf_end(elf);
    close(fd);

    struct scratch t;
    scratch_make(&t);
    char cmd[2048], bin[256], dbg[256];
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; mkdir -p dbg/.build-id/%.2s bin;"
             "objcopy --only-keep-debug '%s' dbg/.build-id/%.2s/%s.debug;"
             "strip --strip-all -o bin/cpu_mix '%s'",
             t.dir, hex, CPU_MIX, hex, hex + 2, CPU_MIX);
    assert_int_equal(run(cmd), 0);
    snprintf(bin, sizeof bin, "%s/bin/cpu_mix", t.dir);
    snprintf(dbg, sizeof dbg, "%s/dbg", t.dir);

    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    const struct sym_result *r = sym_resolve(s, 1, "/usr/bin/cpu_mix", bin, addr + 4);
    assert_true(r->f[0].unknown); /* not found without the directory */
    sym_free(s);

    s = sym_new("");
    assert_non_null(s);
    assert_int_equal(sym_add_debug_dir(s, dbg), 0);
    r = sym_resolve(s, 1, "/usr/bin/cpu_mix", bin, addr + 4);
    print_result("build-id", r);
    assert_int_equal(r->n, 1);
    assert_string_equal(r->f[0].func, "compute_inner");
    assert_false(r->f[0].from_symtab);
    assert_true(ends_with(r->f[0].file, "cpu_mix.c"));
    assert_true(r->f[0].line > 0);
    struct sym_stats st;
    sym_get_stats(s, &st);
    assert_int_equal(st.modules_with_dwarf, 1);
    /* The directory list is bounded. */
    int err = 0;
    for (int i = 0; i < 20 && err == 0; i++)
        err = sym_add_debug_dir(s, dbg);
    assert_int_equal(err, -ENOSPC);
    sym_free(s);
    scratch_remove(&t);
}

/* A debug file with compressed DWARF past the budget: names from its symbol
 * table until lines are asked for, then DWARF for every later lookup; under
 * the budget it opens at once. */
static void test_compressed_dwarf_deferred(void **state)
{
    (void)state;
    need_file(CPU_MIX);
    if (!have_binutils())
        skip();
    uint64_t addr, size;
    assert_true(elf_symbol(CPU_MIX, "compute_inner", &addr, &size));
    assert_true(size > 16);
    struct scratch t;
    scratch_make(&t);
    char cmd[2048], bin[256];
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; mkdir side;"
             "objcopy --only-keep-debug --compress-debug-sections=zlib '%s' side/cpu_mix.debug;"
             "strip --strip-all -o side/cpu_mix '%s';"
             "cd side; objcopy --add-gnu-debuglink=cpu_mix.debug cpu_mix",
             t.dir, CPU_MIX, CPU_MIX);
    assert_int_equal(run(cmd), 0);
    snprintf(bin, sizeof bin, "%s/side/cpu_mix", t.dir);

    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    sym_set_dwarf_eager_max(s, 64);
    const struct sym_result *r = sym_resolve(s, 1, bin, bin, addr + 4);
    print_result("deferred", r);
    assert_string_equal(r->f[0].func, "compute_inner");
    assert_true(r->f[0].from_symtab);
    assert_null(r->f[0].file);
    const char *file = NULL;
    int line = 0;
    sym_line(s, 1, bin, bin, addr + 4, &file, &line);
    assert_non_null(file);
    assert_true(ends_with(file, "cpu_mix.c") && line > 0);
    r = sym_resolve(s, 1, bin, bin, addr + 8);
    assert_false(r->f[0].from_symtab);
    assert_true(r->f[0].line > 0);
    sym_free(s);

    s = sym_new("");
    assert_non_null(s);
    r = sym_resolve(s, 1, bin, bin, addr + 4);
    assert_false(r->f[0].from_symtab);
    assert_true(ends_with(r->f[0].file, "cpu_mix.c"));
    sym_free(s);
    scratch_remove(&t);
}

/* More addresses than the cache holds and more modules than may stay
 * open: answers stay right while entries and sessions are evicted. */
static void test_bounded(void **state)
{
    (void)state;
    need_file(CPU_MIX);
    uint64_t inner, inner_size, outer, outer_size;
    assert_true(elf_symbol(CPU_MIX, "compute_inner", &inner, &inner_size));
    assert_true(elf_symbol(CPU_MIX, "compute_outer", &outer, &outer_size));
    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    for (uint32_t id = 0; id < SYM_MAX_MODULES + 8; id++) {
        const struct sym_result *r = sym_resolve(s, 1000 + id, "cpu_mix", CPU_MIX, inner);
        assert_string_equal(r->f[0].func, "compute_inner");
    }
    struct sym_stats st;
    sym_get_stats(s, &st);
    assert_true(st.modules <= SYM_MAX_MODULES);
    for (uint64_t i = 0; i < SYM_CACHE_ENTRIES + 1000; i++) {
        uint64_t a = outer + i % outer_size;
        const struct sym_result *r =
            sym_resolve(s, 1000 + (uint32_t)(i / outer_size), "cpu_mix", CPU_MIX, a);
        assert_string_equal(r->f[0].func, "compute_outer");
    }
    sym_free(s);
}

static void test_intern(void **state)
{
    (void)state;
    struct symbolizer *s = sym_new(NULL);
    assert_non_null(s);
    const char *a = sym_intern(s, "hello");
    char buf[] = "hello";
    assert_true(a == sym_intern(s, buf));
    assert_string_equal(a, "hello");
    assert_true(a != sym_intern(s, "hello2"));
    assert_null(sym_intern(s, NULL));
    char name[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(name, sizeof name, "n%d", i);
        assert_string_equal(sym_intern(s, name), name);
    }
    assert_true(a == sym_intern(s, "hello"));
    sym_free(s);
}

/* Costs: first lookup (opens the module), uncached lookups in an open
 * module, and cached ones.  A warm lookup must stay around a microsecond;
 * the bound asserted is loose so that a slow CI machine does not fail. */
static void measure(const char *what, const char *path)
{
    uint64_t lo, size;
    assert_true(elf_symbol(path, "compute_inner", &lo, &size));
    uint64_t hi_a, hi_size;
    assert_true(elf_symbol(path, "run_cycle", &hi_a, &hi_size));
    uint64_t start = lo < hi_a ? lo : hi_a, end = (lo < hi_a ? hi_a + hi_size : lo + size);

    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    uint64_t t0 = now_ns();
    sym_resolve(s, 1, "cpu_mix", path, lo);
    uint64_t cold = now_ns() - t0;

    /* Every address in the span, uncached but with the module open. */
    t0 = now_ns();
    unsigned n = 0;
    for (uint64_t a = start; a < end; a++, n++)
        sym_resolve(s, 1, "cpu_mix", path, a);
    uint64_t miss = (now_ns() - t0) / (n ? n : 1);

    const unsigned rounds = 200;
    t0 = now_ns();
    for (unsigned k = 0; k < rounds; k++)
        for (uint64_t a = start; a < end; a++)
            sym_resolve(s, 1, "cpu_mix", path, a);
    double warm = (double)(now_ns() - t0) / ((double)rounds * (n ? n : 1));
    print_message("%s: cold %.1f us (module open + first lookup), uncached %.2f us, "
                  "warm %.3f us per lookup (%u addresses)\n",
                  what, cold / 1000.0, miss / 1000.0, warm / 1000.0, n);
    struct sym_stats st;
    sym_get_stats(s, &st);
    assert_true(st.cache_hits >= (uint64_t)rounds * n);
    assert_true(warm < 5000.0); /* ns */
    sym_free(s);
}

static void test_lookup_cost(void **state)
{
    (void)state;
    need_file(CPU_MIX);
    need_file(CPU_MIX_STRIPPED);
    measure("dwarf", CPU_MIX);
    measure("dynsym", CPU_MIX_STRIPPED);
}

/* The PLT stubs objdump names in file (its "<name@plt>:" lines), up to max. */
static size_t objdump_plt(const char *file, uint64_t *addr, char (*name)[64], size_t max)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "objdump -d --no-show-raw-insn '%s' 2>/dev/null", file);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    char line[512];
    while (p && n < max && fgets(line, sizeof line, p)) {
        unsigned long long a;
        char nm[128];
        if (sscanf(line, "%llx <%127[^>]>:", &a, nm) != 2)
            continue;
        size_t len = strlen(nm);
        if (len <= 4 || strcmp(nm + len - 4, "@plt") || len >= 64)
            continue;
        addr[n] = a;
        snprintf(name[n++], 64, "%s", nm);
    }
    if (p)
        pclose(p);
    return n;
}

/* Every stub objdump names, pertop names the same ("callee@plt"), on this
 * test program itself (it calls libc through its PLT); a byte into a stub
 * too.  Without the PLT names these fall to the preceding symbol (_init). */
static void test_plt_names_match_objdump(void **state)
{
    (void)state;
    uint64_t addr[256];
    char name[256][64], self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1); /* objdump's own, in it */
    assert_true(sl > 0);
    self[sl] = '\0';
    size_t n = objdump_plt(self, addr, name, 256);
    if (n == 0) {
        print_message("objdump finds no PLT stub here (or is not installed)\n");
        skip();
    }
    struct symbolizer *s = sym_new("");
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        for (uint64_t off = 0; off < 8; off += 7) {
            const struct sym_result *r = sym_resolve(s, 1, "self", self, addr[i] + off);
            assert_int_equal(r->n, 1);
            if (strcmp(r->f[0].func, name[i]))
                fail_msg("0x%" PRIx64 ": pertop says %s, objdump %s", addr[i] + off, r->f[0].func,
                         name[i]);
        }
    }
    sym_free(s);
}

static int count_names(void *ctx, uint64_t addr, uint64_t size, const char *name)
{
    (void)addr;
    (void)name;
    assert_true(size == 8 || size == 16);
    (*(int *)ctx)++;
    return 0;
}

/* Mutated bytes anywhere in the file (relocations, symbol indexes, stub
 * bytes, section headers) give fewer or other names, never a crash or a
 * read out of bounds (run under the sanitizers in CI). */
static void test_plt_hostile_bytes(void **state)
{
    (void)state;
    int fd = open("/proc/self/exe", O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    size_t len = (size_t)st.st_size;
    char *orig = malloc(len), *buf = malloc(len);
    assert_non_null(orig);
    assert_non_null(buf);
    assert_int_equal(pread(fd, orig, len, 0), (ssize_t)len);
    close(fd);
    Elf *elf = elf_memory(orig, len);
    int clean = 0;
    assert_true(plt_names(elf, count_names, &clean) >= 0);
    elf_end(elf);
    assert_true(clean > 0);
    srand(12345);
    for (int round = 0; round < 300; round++) {
        memcpy(buf, orig, len);
        for (int k = 0; k < 64; k++)
            buf[(size_t)rand() % len] = (char)rand();
        /* and a cut at a random length */
        size_t cut = round % 3 == 0 ? (size_t)rand() % len : len;
        elf = elf_memory(buf, cut);
        int named = 0;
        if (elf)
            plt_names(elf, count_names, &named);
        elf_end(elf);
    }
    free(orig);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_function_line),     cmocka_unit_test(test_inline_chain),
        cmocka_unit_test(test_cxx_names),         cmocka_unit_test(test_every_address),
        cmocka_unit_test(test_stripped_dynsym),   cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_corrupt_files),     cmocka_unit_test(test_debuglink),
        cmocka_unit_test(test_build_id_dir),      cmocka_unit_test(test_compressed_dwarf_deferred),
        cmocka_unit_test(test_bounded),           cmocka_unit_test(test_intern),
        cmocka_unit_test(test_lookup_cost),       cmocka_unit_test(test_plt_names_match_objdump),
        cmocka_unit_test(test_plt_hostile_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
