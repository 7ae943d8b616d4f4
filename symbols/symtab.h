/*
 * symtab.h - a sorted function-symbol table for one module.
 *
 * Built once per module from whatever symbols the module has (.symtab from
 * the file or its separate debug file, else .dynsym), then searched by
 * binary search: dwfl_module_addrinfo scans every symbol per call and is far
 * too slow per frame.  Addresses are ELF vaddrs of the module.  Names are
 * owned by the table.  Building from plain arrays (symtab_add/symtab_finish)
 * keeps it unit-testable.
 *
 * Aliases (several names at one address) keep one name, chosen the same way
 * whatever the input order: a sized symbol over an unsized one, then global
 * over weak over local binding, then a name without a leading underscore,
 * then the shorter name, then the smallest by strcmp.  A symbol of size 0
 * extends to the next symbol, but never more than SYMTAB_UNSIZED_CAP bytes.
 * An address past the end of a sized symbol and before the next one is a
 * miss.  Adding is allowed until symtab_finish; lookups only after it.
 */
#ifndef PERTOP_SYMTAB_H
#define PERTOP_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

/* How far an unsized symbol (hand-written assembly, some linker symbols)
 * may reach when no later symbol bounds it. */
#define SYMTAB_UNSIZED_CAP (64u * 1024u)

/* Symbol binding, for choosing between aliases. */
enum symtab_bind { SYMTAB_LOCAL = 0, SYMTAB_WEAK = 1, SYMTAB_GLOBAL = 2 };

struct symtab_entry {
    uint64_t addr;
    uint64_t size; /* after symtab_finish: the size searched (unsized ones fixed up) */
    const char *name;
};

struct symtab;

struct symtab *symtab_new(void);
void symtab_free(struct symtab *t);
/* Copies name.  Binding is taken as global.  Returns 0, -ENOMEM, or -EBUSY
 * after symtab_finish. */
int symtab_add(struct symtab *t, uint64_t addr, uint64_t size, const char *name);
/* Same, with the symbol's binding (enum symtab_bind). */
int symtab_add_bind(struct symtab *t, uint64_t addr, uint64_t size, const char *name,
                    enum symtab_bind bind);
/* Sorts, drops duplicates (prefers sized, global-looking names), fixes sizes. */
void symtab_finish(struct symtab *t);
/* The symbol containing addr, or NULL (also before symtab_finish). */
const struct symtab_entry *symtab_lookup(const struct symtab *t, uint64_t addr);
size_t symtab_count(const struct symtab *t);

#endif
