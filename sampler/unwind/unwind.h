/*
 * unwind.h - native stack unwinding of a capture, inside pertop.
 *
 * libunwind remote unwinding over a custom address space whose accessors
 * read the registers and stack copy of a capture, and everything else (text,
 * .eh_frame, .eh_frame_hdr) from the module files through addrspace.h.
 * find_proc_info goes through .eh_frame_hdr and dwarf_search_unwind_table,
 * with a .debug_frame fallback.  Never reads the live target.  Plain frames
 * take a faster path of CFI rules memoised per address (libunwind as built
 * by distributions makes system calls on every step); the rest of such a
 * sample goes to libunwind.
 *
 * Output is return addresses leaf first.  pcs[0] is the interrupted pc; the
 * others are return addresses (callers should look up pc-1 for the call
 * site).  A stack that ends before reaching the outermost frame keeps what it
 * has and is marked truncated.
 */
#ifndef PERTOP_UNWIND_H
#define PERTOP_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler/unwind/addrspace.h"
#include "sampler/capture.h"

#define UNWIND_DEPTH_DEFAULT 256
#define UNWIND_DEPTH_MAX     1024

enum {
    UNWIND_TRUNCATED = 1u << 0,   /* stopped early: error, no unwind info, copy too short */
    UNWIND_DEPTH_CAPPED = 1u << 1 /* hit max depth */
};

struct unwind_result {
    size_t n;
    uint32_t flags; /* UNWIND_* */
    uint64_t pcs[UNWIND_DEPTH_MAX];
};

struct unwind_stats {
    uint64_t samples; /* unwind_capture calls */
    uint64_t slow;    /* of which the fast path handed to libunwind: signal frames, CFI
                       * expressions, no CFI (not counted with the fast path off) */
};

struct unwinder;

struct unwinder *unwind_new(struct addrspace *as, unsigned max_depth, char *err, size_t errsz);
void unwind_free(struct unwinder *u);
/* Unwind one capture.  Always fills out (at least the pc, n >= 1). */
void unwind_capture(struct unwinder *u, const struct capture *c, struct unwind_result *out);
void unwind_get_stats(const struct unwinder *u, struct unwind_stats *out);
/* On by default: frames with plain CFI rules are stepped from rules memoised
 * per address, the rest of the sample goes to libunwind.  Off sends every
 * sample to libunwind (tests compare the two). */
void unwind_set_fast_path(struct unwinder *u, bool on);

#endif
