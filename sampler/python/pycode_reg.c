/*
 * pycode_reg.c - the code registry (see pycode_reg.h): an append-only entry
 * array and an open-addressing hash of ids, both sized at creation.
 */
#include "sampler/python/pycode_reg.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

struct pycode_reg {
    struct pycode_entry *e; /* [cap] */
    uint32_t *slots;        /* id + 1, 0 = empty; [mask + 1], at least 2 * cap */
    uint32_t mask, cap;
    atomic_uint count;
};

/* The name a frame shows: co_qualname where the version has one. */
static const char *code_name(const struct pycode *c)
{
    return c->qualname[0] ? c->qualname : c->name;
}

static uint32_t code_hash(const struct pycode *c)
{
    uint64_t h = hash_mix64(c->addr ^ ((uint64_t)(uint32_t)c->firstlineno << 40));
    /* bounded by the fixed-size fields the strings live in */
    h = hash_fnv1a_str(h, code_name(c), PYF_NAME_MAX);
    h = hash_fnv1a_str(h, c->file, sizeof c->file);
    return (uint32_t)hash_mix64(h);
}

static bool same(const struct pycode_entry *e, const struct pycode *c)
{
    return e->addr == c->addr && e->firstlineno == c->firstlineno &&
           strncmp(e->qualname, code_name(c), sizeof e->qualname) == 0 &&
           strncmp(e->file, c->file, sizeof e->file) == 0;
}

/* Bounded copy that always terminates (the walker's strings are, but the
 * registry does not rely on it). */
static void copy_str(char *dst, const char *src, size_t size)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

struct pycode_reg *pycode_reg_new(uint32_t capacity)
{
    if (capacity < 2)
        capacity = 2;
    struct pycode_reg *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    uint32_t size = 4;
    while (size < capacity * 2u)
        size *= 2;
    r->e = calloc(capacity, sizeof *r->e);
    r->slots = calloc(size, sizeof *r->slots);
    if (!r->e || !r->slots) {
        pycode_reg_free(r);
        return NULL;
    }
    r->cap = capacity;
    r->mask = size - 1;
    copy_str(r->e[PYCODE_UNKNOWN].qualname, "[unknown python code]", PYF_NAME_MAX);
    atomic_init(&r->count, 1);
    return r;
}

void pycode_reg_free(struct pycode_reg *r)
{
    if (!r)
        return;
    free(r->e);
    free(r->slots);
    free(r);
}

uint32_t pycode_reg_intern(struct pycode_reg *r, const struct pycode *c)
{
    if (!c)
        return PYCODE_UNKNOWN;
    uint32_t i = code_hash(c) & r->mask;
    for (; r->slots[i]; i = (i + 1) & r->mask)
        if (same(&r->e[r->slots[i] - 1], c))
            return r->slots[i] - 1;
    uint32_t id = atomic_load_explicit(&r->count, memory_order_relaxed);
    if (id >= r->cap)
        return PYCODE_UNKNOWN;
    struct pycode_entry *e = &r->e[id];
    e->addr = c->addr;
    e->firstlineno = c->firstlineno;
    copy_str(e->qualname, code_name(c), sizeof e->qualname);
    copy_str(e->file, c->file, sizeof e->file);
    r->slots[i] = id + 1;
    atomic_store_explicit(&r->count, id + 1, memory_order_release);
    return id;
}

const struct pycode_entry *pycode_reg_get(const struct pycode_reg *r, uint32_t id)
{
    if (id >= atomic_load_explicit(&r->count, memory_order_acquire))
        return NULL;
    return &r->e[id];
}

uint32_t pycode_reg_count(const struct pycode_reg *r)
{
    return atomic_load_explicit(&r->count, memory_order_acquire);
}
