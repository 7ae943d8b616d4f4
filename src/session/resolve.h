/*
 * resolve.h - frame ids to function-level frames, for views.
 *
 * Views never call the symbolizer themselves: they go through a struct
 * resolver, so that they can be tested on plain data with a fake one.  A
 * frame id resolves to a chain of function frames, innermost first (inlined
 * functions are frames of their own); each function has a small dense id so
 * views can aggregate per function with arrays.
 *
 * The real resolver (resolver_native_*) goes through the module registry and
 * the symbolizer and caches every chain by frame id.  resolver_prepare must be
 * called (outside the model lock) for every frame id a view will ask about,
 * so the view's walk under the lock does not symbolize; a chain asked for
 * before it was prepared is resolved on the spot.  Function ids are interned
 * by (name, module, definition file).  Thread frames resolve to "[thread]"
 * (views skip that level), specials to "[truncated]", "[unknown]" and
 * "[call tree full]" (module "", no file).
 *
 * Memory: a frame_chain (16 bytes) per interned id plus 24 bytes per chain
 * frame (most chains have one or two) and ~48 bytes per distinct function;
 * bounded by the interner's capacity, at most capacity * (16 + CHAIN_MAX *
 * 64) bytes in the absurd case where every pc is 16 distinct inlines deep.
 */
#ifndef PERTOP_RESOLVE_H
#define PERTOP_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "src/model/intern.h"

#define CHAIN_MAX 16

struct func_info {
    const char *name;   /* demangled function name, or "module+0x1234" */
    const char *module; /* short module name ("libc.so.6"), "" for none */
    const char *file;   /* definition file or NULL */
    int line;           /* definition line, 0 when unknown */
    bool python;        /* a Python function: file is its .py file */
};

struct chain_frame {
    uint32_t func;    /* function id */
    const char *file; /* file:line of this frame's pc or call site, NULL if unknown */
    int line;
    uint8_t inlined;
};

/* f points into the resolver's storage: a fixed array of CHAIN_MAX frames
 * per cached frame id would cost ~400 bytes each, most chains have 1-2. */
struct frame_chain {
    unsigned n; /* 1..CHAIN_MAX */
    const struct chain_frame *f;
};

/* chain() and func() never return NULL (unknown ids give an "[unknown]"
 * chain); the pointers stay valid as long as the resolver. */
struct resolver {
    const struct frame_chain *(*chain)(void *ctx, frame_id id);
    const struct func_info *(*func)(void *ctx, uint32_t func_id);
    uint32_t (*func_count)(void *ctx);
    /* the data object at vaddr of module (a lock's name) and the offset in
     * it, NULL when none; the member itself may be NULL */
    const char *(*data)(void *ctx, uint32_t module, uint64_t vaddr, uint64_t *offset);
    void *ctx;
};

struct interner;
struct modreg;
struct symbolizer;

struct native_resolver;
struct native_resolver *resolver_native_new(const struct interner *in, const struct modreg *reg,
                                            struct symbolizer *sym);
void resolver_native_free(struct native_resolver *r);
/* Resolve (and cache) every frame id below upto that is not cached yet.
 * Interner keys must be stable for those ids (they are: append-only). */
void resolver_native_prepare(struct native_resolver *r, uint32_t upto);
struct resolver resolver_native_iface(struct native_resolver *r);

/* Python frames (FRAME_PYTHON: a = code registry id, b = line) resolve to a
 * function named by the code's qualified name, with the file name cut after
 * the longest sys.path-like prefix (site-packages, dist-packages,
 * lib/pythonX.Y, the script's directory) unless full_filenames.  py gives
 * the script's directory (it may be learnt late); both may be NULL. */
struct pycode_reg;
struct pysample;
void resolver_native_set_python(struct native_resolver *r, const struct pycode_reg *reg,
                                const struct pysample *py, bool full_filenames);
/* The part of file that is shown (a suffix of it: no copy). */
const char *resolve_short_pyfile(const char *file, const char *script_dir);

/* The live target: its vDSO image is read from its memory now (it has no
 * file), and names its frames.  Without it (pid 0, or an image that cannot
 * be read) those frames stay "[vdso]+0x...". */
void resolver_native_set_target(struct native_resolver *r, pid_t pid);
/* Kernel frames (FRAME_KERNEL) named from ksyms, which must outlive r. */
struct kallsyms;
void resolver_native_set_kernel(struct native_resolver *r, struct kallsyms *ksyms);

#endif
