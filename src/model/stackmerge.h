/*
 * stackmerge.h - one sample's native and Python stacks merged into one.
 *
 * Pure: arrays in, arrays out, no I/O and no state.  The caller unwinds the
 * native stack, says which of its frames are frames of the interpreter's
 * eval loop (is_eval: it knows the interpreter's module and the eval
 * function's range; this module does not) and passes the Python frames the
 * sampler read in the same stop.  This module only decides where the
 * Python frames go: each eval-loop frame is replaced by the Python frames
 * that invocation of the eval loop runs.  How many that is depends on the
 * CPython generation, so the rule is chosen from the counts, with k the
 * eval frames and m the Python frames:
 *
 *   up to 3.10  every Python call is its own eval-loop invocation, so
 *               k == m and eval frame i (innermost first) takes Python
 *               frame i: STACKMERGE_ONE_TO_ONE.  The interpreter's call
 *               frames and C extension frames between them stay in place.
 *   3.11+       Python-to-Python calls stay inside one invocation, so one
 *               eval frame runs many Python frames.  With k == 1 it takes
 *               all m of them: STACKMERGE_SINGLE_EVAL.
 *   3.11+ with C calling back into Python (a C extension, a slot, map):
 *               k > 1 invocations and k != m, and nothing in the counts
 *               says which invocation runs which frames.  The walker marks
 *               the outermost Python frame of each run (capture_pyframe
 *               .entry: 3.11 from the frame's is_entry, 3.12+ from the
 *               shim frame CPython pushes where C enters the eval loop).
 *               When the marks number exactly k, eval frame i takes the
 *               frames up to and including the i-th mark:
 *               STACKMERGE_BY_RUNS.  Python frames outer to the k-th mark
 *               belong to no eval frame and are dropped (in a whole chain
 *               the outermost frame, where C first entered the eval loop,
 *               is marked, so there are none).
 *
 * The checks run in this order: BY_RUNS (k > 1, k != m, marks == k), then
 * ONE_TO_ONE (k == m, which includes k == m == 1), then SINGLE_EVAL
 * (k == 1).  Any other count, k == 0 included, cannot be placed:
 * STACKMERGE_UNMERGED keeps both stacks whole, all Python frames innermost
 * and then every native frame, and sets unmerged.
 * Without Python frames (CAPTURE_PY absent, or py_n == 0) the native stack
 * is copied unchanged: STACKMERGE_NATIVE_ONLY (also when both are empty).
 * Without native frames (--python: n == 0) the Python frames are the
 * stack: STACKMERGE_PYTHON_ONLY.
 * CAPTURE_PY_TORN is not consulted: a torn chain's py_n frames, the ones
 * read before the tear, are merged like any others, and a chain torn at its
 * first frame has py_n == 0 and gives the native stack alone.
 *
 * Output: mods/vaddrs, innermost first.  A native frame is its (module id,
 * vaddr) unchanged; a Python frame has module STACKMERGE_PY_MARK and vaddr
 * id << 32 | (uint32_t)line (line -1 becomes 0xffffffff).  At most cap
 * frames are written: the merge is the same, and frames beyond the cap, the
 * outermost ones, are dropped and truncated is set (as an unwind that
 * stops early keeps the innermost frames).  n + py_n frames always fit.
 */
#ifndef PERTOP_STACKMERGE_H
#define PERTOP_STACKMERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler/capture.h"
#include "sampler/unwind/modules.h"

/* The module id of a Python frame in the merged stack: no module registry
 * id reaches it (MODULE_NONE, the unknown address, is just above). */
#define STACKMERGE_PY_MARK (MODULE_NONE - 1)

/* Which rule placed the Python frames (see the top of this file). */
enum stackmerge_how {
    STACKMERGE_NATIVE_ONLY, /* no Python frames: the native stack as it is */
    STACKMERGE_PYTHON_ONLY, /* no native frames: the Python stack as it is */
    STACKMERGE_ONE_TO_ONE,  /* k == m: one Python frame per eval frame (<= 3.10) */
    STACKMERGE_SINGLE_EVAL, /* k == 1: every Python frame in its place (3.11+) */
    STACKMERGE_BY_RUNS,     /* the entry marks split the frames into k runs */
    STACKMERGE_UNMERGED     /* counts unmatched: Python frames, then native ones */
};

struct stackmerge_in {
    /* native frames, innermost first; is_eval is read only when there are
     * native and Python frames both (stackmerge_needs_eval), else it may
     * be NULL */
    const uint32_t *mods;
    const uint64_t *vaddrs;
    const bool *is_eval;
    size_t n;
    /* the capture's Python frames, innermost first, and its CAPTURE_* flags */
    const struct capture_pyframe *py;
    size_t py_n;
    uint32_t flags;
};

struct stackmerge_result {
    size_t n;                /* frames written, <= cap */
    enum stackmerge_how how; /* the rule that was applied */
    bool unmerged;           /* how == STACKMERGE_UNMERGED */
    bool truncated;          /* cap was too small: outermost frames dropped */
};

/* Whether stackmerge will read in->is_eval: the caller may skip looking up
 * the eval frames otherwise (it costs a lookup per native frame). */
static inline bool stackmerge_needs_eval(size_t n, uint32_t flags, size_t py_n)
{
    return n > 0 && (flags & CAPTURE_PY) && py_n > 0;
}

/* The encoding of a Python frame's vaddr, and back. */
static inline uint64_t stackmerge_py_vaddr(uint32_t id, int32_t line)
{
    return (uint64_t)id << 32 | (uint32_t)line;
}
static inline uint32_t stackmerge_py_id(uint64_t vaddr)
{
    return (uint32_t)(vaddr >> 32);
}
static inline uint32_t stackmerge_py_line(uint64_t vaddr)
{
    return (uint32_t)vaddr;
}

/* The merged stack of in into mods/vaddrs (cap entries each). */
struct stackmerge_result stackmerge(const struct stackmerge_in *in, uint32_t *mods,
                                    uint64_t *vaddrs, size_t cap);

#endif
