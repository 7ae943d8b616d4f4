/*
 * fuzz_symtab.c - the symbol-table builder on a mutated ELF file.
 *
 * The input is an ELF file of the target (an executable or a library, as
 * mapped): it is written to a memfd and opened by a new symbolizer as a
 * module's file, which builds the module's sorted symbol table from
 * .symtab/.dynsym (names demangled) and names its PLT stubs (plt.c); a
 * few addresses around the entry point and the sections are resolved and
 * their function bounds and data objects asked.  The same bytes are then
 * given as an in-memory image (the vDSO's path), and to plt_names over
 * libelf's memory reader.  A finding (crash, ASan or UBSan report, leak,
 * hang) is a bug in the table builder or the PLT naming: a target can map
 * any file it likes.
 */
#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>

#include "symbols/plt.h"
#include "symbols/symbolize.h"

static int count_plt(void *ctx, uint64_t addr, uint64_t size, const char *name)
{
    *(uint64_t *)ctx += addr + size + strlen(name);
    return 0;
}

static uint64_t ask(struct symbolizer *s, uint32_t id, const char *path, uint64_t vaddr)
{
    uint64_t sum = 0, start, size, off;
    const struct sym_result *r = sym_resolve(s, id, "fuzz.so", path, vaddr);
    for (unsigned i = 0; i < r->n; i++)
        sum += strlen(r->f[i].func) + (unsigned)r->f[i].line;
    const char *func;
    if (sym_func_bounds(s, id, "fuzz.so", path, vaddr, &start, &size, &func) == 0)
        sum += start + size + strlen(func);
    const char *obj = sym_data(s, id, "fuzz.so", path, vaddr, &off);
    if (obj)
        sum += strlen(obj) + off;
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        elf_version(EV_CURRENT);
        fd = memfd_create("fuzz_symtab", MFD_CLOEXEC);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();

    /* addresses to look up: the entry point, and the start of each section */
    uint64_t addrs[12] = {0x1000, 0x401000};
    size_t na = 2;
    Elf64_Ehdr eh;
    if (size >= sizeof eh) {
        memcpy(&eh, data, sizeof eh);
        addrs[na++] = eh.e_entry;
        addrs[na++] = eh.e_entry + 0x40;
        for (uint64_t i = 0; i < eh.e_shnum && na < 12; i++) {
            Elf64_Shdr sh;
            uint64_t at = eh.e_shoff + i * sizeof sh;
            if (at > size || sizeof sh > size - at)
                break;
            memcpy(&sh, data + at, sizeof sh);
            if (sh.sh_addr && (sh.sh_flags & SHF_EXECINSTR))
                addrs[na++] = sh.sh_addr + sh.sh_size / 2;
        }
    }
    volatile uint64_t sink = 0;
    struct symbolizer *s = sym_new("");
    if (!s)
        return 0;
    for (size_t i = 0; i < na; i++)
        sink += ask(s, 1, path, addrs[i]);
    if (sym_add_image(s, 2, data, size) == 0)
        for (size_t i = 0; i < na; i++)
            sink += ask(s, 2, NULL, addrs[i]);
    sym_free(s);

    /* libelf may convert a file of the other byte order in place: a copy */
    uint64_t plt = 0;
    char *copy = malloc(size ? size : 1);
    Elf *elf = copy ? elf_memory(memcpy(copy, data, size), size) : NULL;
    if (elf) {
        plt_names(elf, count_plt, &plt);
        elf_end(elf);
    }
    free(copy);
    sink += plt;
    (void)sink;
    return 0;
}
