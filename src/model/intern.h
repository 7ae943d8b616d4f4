/*
 * intern.h - frames as small ids.
 *
 * A frame is a (kind, a, b) key: a native frame is (module id, ELF vaddr of
 * the pc, or pc-1 for return addresses), a thread pseudo-frame is the tid
 * (the root level of the call tree), a special frame marks a truncated stack
 * or an address outside every module.  Python frames (code object, line)
 * use kind FRAME_PYTHON.  Ids are dense from 0 and never reused;
 * capacity is fixed at creation so memory stays bounded.
 *
 * One writer (the processing thread) calls intern_frame.  Keys never move,
 * so another thread may call intern_key and intern_count concurrently for
 * ids below intern_count() (the count is published after the key).
 * Memory: 24 to 32 bytes per unit of capacity, committed as ids are used.
 */
#ifndef PERTOP_INTERN_H
#define PERTOP_INTERN_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t frame_id;
#define FRAME_NONE UINT32_MAX

enum frame_kind {
    FRAME_NATIVE = 1, /* a = module id, b = ELF vaddr */
    FRAME_THREAD,     /* a = 0, b = tid */
    FRAME_SPECIAL,    /* a = enum frame_special, b = extra (e.g. raw address) */
    FRAME_PYTHON,     /* a = code registry id (pycode_reg.h), b = line (int32 as uint32) */
    FRAME_KERNEL      /* a = 0, b = kernel address (perf engine callchains) */
};

enum frame_special {
    SPECIAL_TRUNCATED = 1, /* stack ended early */
    SPECIAL_UNKNOWN_ADDR,  /* pc outside every known module; b = address */
    SPECIAL_OVERFLOW       /* call tree full: deeper frames dropped */
};

struct frame_key {
    uint32_t kind;
    uint32_t a;
    uint64_t b;
};

struct interner;

/* NULL with errno EINVAL (capacity 0 or above 1<<30) or ENOMEM. */
struct interner *intern_new(uint32_t capacity);
void intern_free(struct interner *in);
/* Returns the id for key, adding it if new; FRAME_NONE when full. */
frame_id intern_frame(struct interner *in, uint32_t kind, uint32_t a, uint64_t b);
/* NULL when id is not (yet) interned. */
const struct frame_key *intern_key(const struct interner *in, frame_id id);
uint32_t intern_count(const struct interner *in);
uint32_t intern_capacity(const struct interner *in);

#endif
