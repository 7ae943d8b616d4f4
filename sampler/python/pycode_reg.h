/*
 * pycode_reg.h - Python code objects as small, stable ids.
 *
 * The walker's names (pyframes_code) are valid only until its next walk, on
 * the sampler thread; the processing thread and the resolver need them much
 * later.  So the sampler thread copies each code object it sees once into
 * this registry, keyed by (address, first line, qualified name, file name):
 * an address reused by another code object gets a new id.  Entries are
 * appended into storage allocated up front and never change once published,
 * so any thread may read an id below pycode_reg_count() without a lock
 * (the count is published with release order after the entry is written).
 * One writer: the sampler thread.  Id 0 is "[unknown python code]", given
 * when the registry is full.
 */
#ifndef PERTOP_PYCODE_REG_H
#define PERTOP_PYCODE_REG_H

#include <stdint.h>

#include "sampler/python/pyframes.h"

#define PYCODE_REG_DEFAULT 16384 /* entries: ~400 bytes each, committed as used */
#define PYCODE_UNKNOWN     0

struct pycode_entry {
    uint64_t addr;
    int32_t firstlineno;
    char qualname[PYF_NAME_MAX];
    char file[PYF_FILE_MAX];
};

struct pycode_reg;

/* capacity: entries, at least 2; NULL when out of memory. */
struct pycode_reg *pycode_reg_new(uint32_t capacity);
void pycode_reg_free(struct pycode_reg *r);
/* The id of code object c (added if new); PYCODE_UNKNOWN when c is NULL or
 * the registry is full.  Writer thread only; never allocates. */
uint32_t pycode_reg_intern(struct pycode_reg *r, const struct pycode *c);
/* Any thread: the entry of id, or NULL when id is not published. */
const struct pycode_entry *pycode_reg_get(const struct pycode_reg *r, uint32_t id);
uint32_t pycode_reg_count(const struct pycode_reg *r);

#endif
