/*
 * symtab.h - a sorted function-symbol table for one module.
 *
 * Built once per module from whatever symbols the module has (.symtab from
 * the file or its separate debug file, else .dynsym), then searched by
 * binary search: dwfl_module_addrinfo scans every symbol per call and is far
 * too slow per frame.  Addresses are ELF vaddrs of the module.  Names are
 * owned by the table.  Building from plain arrays (symtab_add/symtab_finish)
 * keeps it unit-testable.
 */
#ifndef PERTOP_SYMTAB_H
#define PERTOP_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

struct symtab_entry {
    uint64_t addr;
    uint64_t size; /* 0 when unknown: extends to the next symbol */
    const char *name;
};

struct symtab;

struct symtab *symtab_new(void);
void symtab_free(struct symtab *t);
/* Copies name.  Returns 0 or -ENOMEM. */
int symtab_add(struct symtab *t, uint64_t addr, uint64_t size, const char *name);
/* Sorts, drops duplicates (prefers sized, global-looking names), fixes sizes. */
void symtab_finish(struct symtab *t);
/* The symbol containing addr, or NULL. */
const struct symtab_entry *symtab_lookup(const struct symtab *t, uint64_t addr);
size_t symtab_count(const struct symtab *t);

#endif
