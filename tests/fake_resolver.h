/*
 * fake_resolver.h - a resolver over plain data, for view and snapshot tests.
 *
 * Tests make up functions (fake_func) and say which chain of them a frame id
 * stands for (fake_frame, innermost first, as the symbolizer reports inline
 * chains).  Frame ids without a chain resolve to "[unknown]" (function 0).
 */
#ifndef PERTOP_FAKE_RESOLVER_H
#define PERTOP_FAKE_RESOLVER_H

#include <stdint.h>

#include "src/session/resolve.h"

#define FAKE_MAX_FUNCS  64
#define FAKE_MAX_FRAMES 256

struct fake_resolver {
    struct func_info funcs[FAKE_MAX_FUNCS];
    uint32_t nfuncs;
    struct frame_chain chains[FAKE_MAX_FRAMES];
    struct chain_frame frames[FAKE_MAX_FRAMES][CHAIN_MAX];
    struct chain_frame unknown_frame; /* for ids out of range */
    struct frame_chain unknown;
};

/* NULL when out of memory; function 0 is "[unknown]". */
struct fake_resolver *fake_resolver_new(void);
void fake_resolver_free(struct fake_resolver *f);
/* A new function; returns its id. */
uint32_t fake_func(struct fake_resolver *f, const char *name, const char *module, const char *file,
                   int line);
/* Frame id stands for funcs[0..n), innermost first; every frame but the
 * outermost is marked inlined; each frame's line is its function's line + 1
 * (the function's file), or none when the function has no file. */
void fake_frame(struct fake_resolver *f, frame_id id, unsigned n, const uint32_t *funcs);
struct resolver fake_resolver_iface(struct fake_resolver *f);

#endif
