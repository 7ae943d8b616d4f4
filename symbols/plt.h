/*
 * plt.h - names for the PLT stubs of an x86_64 ELF file, as perf and
 * objdump give them ("puts@plt").
 *
 * A PLT stub has no symbol of its own, so without this a sample in one is
 * named after whatever symbol precedes the section (often _init).  Each stub
 * jumps through a GOT slot (jmp *slot(%rip), possibly after endbr64 and a
 * bnd prefix); the relocation of that slot (.rela.plt JUMP_SLOT, or
 * .rela.dyn GLOB_DAT for .plt.got) names the symbol.  A lazy-binding stub of
 * an IBT .plt (endbr64; push N; jmp PLT0) is named from .rela.plt entry N.
 * The first stub of .plt (PLT0, the resolver's trampoline) is not named.
 *
 * Promises: the file's bytes are untrusted: every index and offset is
 * checked against its section, at most PLT_MAX_ENTRIES stubs and
 * PLT_MAX_RELOCS relocations are read, a file without these sections (or
 * not x86_64) gives 0 names.  Called by: the symbolizer, while it builds a
 * module's symbol table from the module's own file.
 */
#ifndef PERTOP_PLT_H
#define PERTOP_PLT_H

#include <gelf.h>
#include <stdint.h>

#define PLT_MAX_ENTRIES (1u << 18)
#define PLT_MAX_RELOCS  (1u << 20)

/* One named stub: addr and size in the file's vaddrs, name without "@plt". */
typedef int (*plt_fn)(void *ctx, uint64_t addr, uint64_t size, const char *name);

/* Calls fn for every stub of elf it can name; the count, or fn's first
 * negative return, or -ENOMEM. */
int plt_names(Elf *elf, plt_fn fn, void *ctx);

#endif
