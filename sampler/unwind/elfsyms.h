/*
 * elfsyms.h - the defined symbols of an ELF file, from .symtab and .dynsym.
 *
 * Both tables are walked: a stripped build keeps only .dynsym, and static
 * symbols are only in .symtab.  The file is untrusted: at most max symbols
 * are looked at per table, and entries that libelf cannot read are skipped.
 * Used by the CPython finder and sampler to find runtime symbols and the
 * eval loop's address ranges.
 */
#ifndef PERTOP_ELFSYMS_H
#define PERTOP_ELFSYMS_H

#include <gelf.h>
#include <stddef.h>

typedef void (*elfsym_fn)(void *ctx, const char *name, const GElf_Sym *sym);

/* Calls fn for every defined symbol of type stt (STT_FUNC, STT_OBJECT...)
 * with a non-empty name. */
void elfsyms_each(Elf *elf, unsigned stt, size_t max, elfsym_fn fn, void *ctx);

#endif
