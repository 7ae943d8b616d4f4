/*
 * kallsyms.h - the kernel's function symbols, for naming the kernel frames
 * of perf samples.
 *
 * Owns: one table parsed from /proc/kallsyms (or any file or buffer of that
 * format): text symbols only (types t T w W), each with its module ("ext4"
 * for "[ext4]", NULL for the core kernel), sorted once by address; names
 * live in the table.  Promises: bounded work and memory whatever the input
 * (lines over KALLSYMS_MAX_LINE and symbols past KALLSYMS_MAX_SYMS are
 * dropped and counted, junk lines skipped, the file's order not trusted);
 * lookups are a binary search, no allocation.  Several names at one address
 * keep one, chosen whatever the input order: global over local, then no
 * leading underscore, then the shorter, then strcmp.  Called by: the perf
 * engine adapter (src/session) to resolve kernel callchains.
 *
 * A symbol reaches the next one of its own module; the last of a module, or
 * one followed by another module's, reaches KALLSYMS_TAIL_CAP bytes at most.
 * The end-of-text markers (_etext, _einittext) end the symbol before them:
 * an address at or past them, up to the next symbol, is a miss.  When
 * kernel.kptr_restrict hides the addresses (all read as 0) the table holds
 * nothing: kallsyms_usable() is false and every lookup misses.
 */
#ifndef PERTOP_KALLSYMS_H
#define PERTOP_KALLSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KALLSYMS_PATH     "/proc/kallsyms"
#define KALLSYMS_MAX_LINE 1024u      /* a kernel name is at most 512 bytes */
#define KALLSYMS_MAX_SYMS (4u << 20) /* ~20x a distribution kernel with modules */
#define KALLSYMS_TAIL_CAP (64u * 1024u)

struct kallsyms;

struct kallsyms_sym {
    uint64_t addr;      /* start of the symbol */
    uint64_t offset;    /* of the looked-up address from addr */
    const char *name;   /* owned by the table */
    const char *module; /* NULL for the core kernel */
};

/* What parsing skipped, for messages and tests. */
struct kallsyms_stats {
    size_t lines;     /* lines read */
    size_t kept;      /* text symbols in the table (aliases merged) */
    size_t not_text;  /* data, bss, rodata... symbols */
    size_t zero_addr; /* text symbols at address 0 (hidden by kptr_restrict) */
    size_t junk;      /* lines that do not parse, or over KALLSYMS_MAX_LINE */
    size_t dropped;   /* text symbols past KALLSYMS_MAX_SYMS */
};

/* Reads path (NULL: /proc/kallsyms).  0 with *out set, or -errno with a
 * message in err.  A table whose addresses are all hidden still loads (0),
 * with kallsyms_usable false and the reason in err. */
int kallsyms_load(struct kallsyms **out, const char *path, char *err, size_t errsz);

/* The same, read at the first lookup, count or stats: only the first
 * lines are read now, to tell whether the addresses show (kallsyms_usable).
 * The whole file costs ~70 ms of CPU on a distribution kernel, which a run
 * that never meets a kernel frame should not pay, nor any run's start-up.
 * A read that fails then leaves the table empty: every lookup misses.  The
 * table is then not safe to share between threads until it has loaded. */
int kallsyms_defer(struct kallsyms **out, const char *path, char *err, size_t errsz);

/* The same from len bytes of text at buf (need not be NUL-terminated). */
int kallsyms_parse(struct kallsyms **out, const char *buf, size_t len, char *err, size_t errsz);

void kallsyms_free(struct kallsyms *k);

/* True when the table holds symbols with real (non-zero) addresses. */
bool kallsyms_usable(const struct kallsyms *k);

size_t kallsyms_count(struct kallsyms *k);
void kallsyms_get_stats(struct kallsyms *k, struct kallsyms_stats *out);

/* The symbol with the highest start <= addr, with addr's offset in it:
 * 0, or -ENOENT before the first symbol, past the reach of the one found,
 * or in an empty/hidden table. */
int kallsyms_lookup(struct kallsyms *k, uint64_t addr, struct kallsyms_sym *out);

/* The address of the first symbol called name (any module), or 0.  A
 * linear scan: for tests and one-off checks, not per sample. */
uint64_t kallsyms_addr_of(struct kallsyms *k, const char *name);

#endif
