/*
 * symbolize.h - (module, ELF vaddr) -> function frames with file:line.
 *
 * One symbolizer per target.  For each module it keeps one libdwfl session
 * (the module reported at base 0, so lookups take ELF vaddrs directly and do
 * not depend on where the target mapped it), a sorted symbol table
 * (symtab.h), and a cache of resolved addresses.  Debug information is found
 * in the file itself, or in a separate debug file by build-id or
 * .gnu_debuglink under /usr/lib/debug (Debian's -dbgsym layout), looked up
 * both on the host and under the target's root.
 *
 * A resolved address is a chain of frames, innermost first: inlined
 * functions are frames of their own, each with the file:line of the pc inside
 * it (for the innermost) or of its call site in the next one.  Names are
 * demangled.  Without DWARF the name comes from .symtab/.dynsym and there is
 * no line; without any symbol the name is "module+0xENTRY", ENTRY the start
 * of the function an unwind entry (FDE) says the address is in, or the
 * address itself when none covers it.
 *
 * Strings returned are interned and live as long as the symbolizer.  Not
 * thread-safe: one thread (the one building views) calls it.
 *
 * Bounds: at most SYM_MAX_MODULES libdwfl sessions are open at once (least
 * recently used closed first), at most SYM_CACHE_ENTRIES resolved addresses
 * are kept, and interned strings stop growing at SYM_INTERN_MAX_BYTES (later
 * new strings come back as "?").  Files are untrusted: a missing, unreadable
 * or corrupt file gives "module+0xOFFSET" frames.  Separate debug files are
 * accepted only when their build-id matches the module's (when it has one);
 * nothing is fetched over the network.
 */
#ifndef PERTOP_SYMBOLIZE_H
#define PERTOP_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYM_MAX_INLINE       16
#define SYM_MAX_MODULES      64
#define SYM_CACHE_ENTRIES    (16u * 1024u)
#define SYM_INTERN_MAX_BYTES (64u * 1024u * 1024u)
#define SYM_MAX_IMAGES       8
#define SYM_IMAGE_MAX        (1u << 20) /* the vDSO is 2 pages */
#define SYM_IMAGE_MAX_SYMS   4096

struct sym_frame {
    const char *func;      /* demangled name; interned (compare pointers) */
    const char *file;      /* source file of this frame's line, or NULL */
    int line;              /* line in file, 0 when unknown */
    const char *decl_file; /* where the function is defined, or NULL */
    int decl_line;
    bool inlined;     /* an inlined instance inside the next frame */
    bool from_symtab; /* name from ELF symbols, no DWARF */
    bool unknown;     /* no symbol at all: func is "module+0xENTRY" (see above) */
};

struct sym_result {
    unsigned n; /* 1..SYM_MAX_INLINE */
    struct sym_frame f[SYM_MAX_INLINE];
};

struct symbolizer;

/* root: prefix for the target's files ("/proc/PID/root"), or "" for none. */
struct symbolizer *sym_new(const char *root);
void sym_free(struct symbolizer *s);

/* Resolve vaddr in the module with id module_id whose file pertop opens at
 * open_path (name is the target's path, used in messages and fallbacks).
 * Always succeeds: unresolvable addresses give one "module+0xOFFSET" frame.
 * The result is valid until the next sym_resolve or sym_free; copy it to
 * keep it.  A module id must always name the same file. */
const struct sym_result *sym_resolve(struct symbolizer *s, uint32_t module_id, const char *name,
                                     const char *open_path, uint64_t vaddr);

/* Symbols for module_id from an ELF image in memory rather than a file:
 * the vDSO, which has no file, from the bytes mapped in the target.  The
 * image is copied; the module's frames are named from its symbol table
 * from then on (no lines: the vDSO has no DWARF).  0, -E2BIG (empty or over
 * SYM_IMAGE_MAX), -EEXIST, -ENOSPC (SYM_MAX_IMAGES already) or -ENOMEM. */
int sym_add_image(struct symbolizer *s, uint32_t module_id, const void *data, size_t len);

/* Look for separate debug files under dir too (by build-id as
 * dir/.build-id/xx/rest.debug, and by .gnu_debuglink as dir/<module's
 * directory>/<link>), before the standard directories.  For tests and for
 * a --debug-dir option.  Affects modules opened afterwards.  Returns 0,
 * -ENOMEM, or -ENOSPC when too many directories were added. */
int sym_add_debug_dir(struct symbolizer *s, const char *dir);

/* The function symbol containing vaddr (the module's sorted symbol table):
 * its first vaddr, its size as searched, and its name (interned).  For the
 * instruction view.  0, or -ENOENT when no symbol contains vaddr or the
 * module cannot be read. */
int sym_func_bounds(struct symbolizer *s, uint32_t module_id, const char *name,
                    const char *open_path, uint64_t vaddr, uint64_t *start, uint64_t *size,
                    const char **func);

/* file:line of vaddr from the line table alone (the innermost line, no
 * inline chain, not cached): a listing asks this for every instruction,
 * where sym_resolve's scope walk would cost milliseconds in a function
 * with deep inlining.  NULL and 0 when unknown. */
void sym_line(struct symbolizer *s, uint32_t module_id, const char *name, const char *open_path,
              uint64_t vaddr, const char **file, int *line);

/* DWARF kept in compressed sections is decompressed whole into memory when
 * opened (about 19 MiB for libc's debug package).  A module whose DWARF
 * would take more than bytes so (default 8 MiB) is named from its symbol
 * table until sym_line asks for its lines, which opens it.  Affects
 * modules opened afterwards. */
void sym_set_dwarf_eager_max(struct symbolizer *s, uint64_t bytes);

/* The data object (a global or static variable with a size) holding vaddr
 * in the module, and vaddr's offset in it; NULL when none does.  Interned. */
const char *sym_data(struct symbolizer *s, uint32_t module_id, const char *name,
                     const char *open_path, uint64_t vaddr, uint64_t *offset);

/* Intern an arbitrary string in the symbolizer's string table. */
const char *sym_intern(struct symbolizer *s, const char *str);

/* Counters for the status line and benchmarks. */
struct sym_stats {
    uint64_t lookups, cache_hits, modules, modules_with_dwarf;
};
void sym_get_stats(const struct symbolizer *s, struct sym_stats *out);

/* The GNU build-id of the ELF file at open_path as lower-case hex in hex
 * (room for 2 * 64 + 1 bytes is enough), for exports that name modules
 * (pprof mappings).  Needs no symbolizer, so any thread may call it.  0, or
 * -ENOENT when the file has no build-id or cannot be read as ELF. */
int sym_build_id(const char *open_path, char *hex, size_t hexsz);

#endif
