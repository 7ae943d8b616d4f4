/*
 * fdetab.h - where each function of an ELF file begins and ends, from its
 * unwind entries (.eh_frame FDEs), for files whose symbols are stripped.
 *
 * A stripped library keeps .eh_frame (the unwinder needs it) but loses the
 * symbols of its static functions, so an address there has no name.  Each
 * FDE covers one function, so its range groups the addresses of that
 * function into one, as perf cannot.  Ranges are the file's vaddrs.
 *
 * Promises: the section's bytes are untrusted: every length, pointer and
 * encoded value is checked against the section, at most FDE_MAX_ENTRIES
 * ranges are kept, encodings pertop does not read (indirect, text- or
 * data-relative) skip the entry.  A file without .eh_frame gives an empty
 * table.  Called by: the symbolizer, for an address no symbol names.
 */
#ifndef PERTOP_FDETAB_H
#define PERTOP_FDETAB_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FDE_MAX_ENTRIES (1u << 20)

struct fde_range {
    uint64_t lo, hi; /* [lo, hi) */
};

struct fdetab {
    struct fde_range *v; /* sorted by lo */
    size_t n;
};

/* Reads the FDEs of elf's .eh_frame into t (empty when it has none).
 * 0, or -ENOMEM (t empty). */
int fdetab_build(struct fdetab *t, Elf *elf);

/* The same, from the bytes of an .eh_frame section loaded at vaddr. */
int fdetab_build_from(struct fdetab *t, const uint8_t *sec, size_t len, uint64_t vaddr);

/* The range holding addr, or false. */
bool fdetab_lookup(const struct fdetab *t, uint64_t addr, struct fde_range *out);

void fdetab_free(struct fdetab *t);

#endif
