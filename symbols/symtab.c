/*
 * symtab.c - sorted function-symbol table; see symtab.h.
 *
 * Symbols are collected in a growable array with their binding, sorted once,
 * and compacted into a plain array of entries that binary search walks.
 * Names live in an arena of fixed blocks so that their addresses never move
 * while the array grows, and freeing is one walk over the blocks.
 */
#include "symbols/symtab.h"
#include "common/vec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Nested sized symbols (a local symbol inside a larger function) are rare;
 * a lookup that misses the nearest symbol looks back this many entries for
 * one that still covers the address. */
#define NEST_LOOKBACK 4

#define ARENA_BLOCK (64u * 1024u)

struct name_block {
    struct name_block *next;
    size_t used, cap;
    char data[];
};

struct raw_sym {
    struct symtab_entry e;
    uint8_t bind;
};

struct symtab {
    struct raw_sym *raw; /* before finish */
    size_t nraw, capraw;
    struct symtab_entry *ents; /* after finish, sorted, unique addresses */
    size_t n;
    bool finished;
    struct name_block *names;
};

struct symtab *symtab_new(void)
{
    return calloc(1, sizeof(struct symtab));
}

void symtab_free(struct symtab *t)
{
    if (!t)
        return;
    struct name_block *b = t->names;
    while (b) {
        struct name_block *next = b->next;
        free(b);
        b = next;
    }
    free(t->raw);
    free(t->ents);
    free(t);
}

static const char *copy_name(struct symtab *t, const char *name)
{
    size_t len = strlen(name) + 1;
    struct name_block *b = t->names;
    if (!b || b->cap - b->used < len) {
        /* A name longer than a block gets a block of its own. */
        size_t cap = len > ARENA_BLOCK ? len : ARENA_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = t->names;
        t->names = b;
    }
    char *p = b->data + b->used;
    memcpy(p, name, len);
    b->used += len;
    return p;
}

int symtab_add_bind(struct symtab *t, uint64_t addr, uint64_t size, const char *name,
                    enum symtab_bind bind)
{
    if (t->finished)
        return -EBUSY;
    if (!name)
        name = "";
    if (vec_reserve(&t->raw, &t->capraw, t->nraw + 1, sizeof *t->raw) < 0)
        return -ENOMEM;
    const char *copy = copy_name(t, name);
    if (!copy)
        return -ENOMEM;
    t->raw[t->nraw++] = (struct raw_sym){
        .e = {.addr = addr, .size = size, .name = copy},
        .bind = (uint8_t)bind,
    };
    return 0;
}

int symtab_add(struct symtab *t, uint64_t addr, uint64_t size, const char *name)
{
    return symtab_add_bind(t, addr, size, name, SYMTAB_GLOBAL);
}

/* Negative when a is the better name for a shared address (see symtab.h). */
static int prefer(const struct raw_sym *a, const struct raw_sym *b)
{
    bool asized = a->e.size != 0, bsized = b->e.size != 0;
    if (asized != bsized)
        return asized ? -1 : 1;
    if (a->bind != b->bind)
        return a->bind > b->bind ? -1 : 1;
    bool aund = a->e.name[0] == '_', bund = b->e.name[0] == '_';
    if (aund != bund)
        return aund ? 1 : -1;
    size_t alen = strlen(a->e.name), blen = strlen(b->e.name);
    if (alen != blen)
        return alen < blen ? -1 : 1;
    int c = strcmp(a->e.name, b->e.name);
    if (c)
        return c;
    /* Same name twice: the larger size wins, so the result is order-free. */
    if (a->e.size != b->e.size)
        return a->e.size > b->e.size ? -1 : 1;
    return 0;
}

static int cmp_raw(const void *pa, const void *pb)
{
    const struct raw_sym *a = pa, *b = pb;
    if (a->e.addr != b->e.addr)
        return a->e.addr < b->e.addr ? -1 : 1;
    return prefer(a, b);
}

static uint64_t clamp_size(uint64_t addr, uint64_t size)
{
    /* Keep addr + size from wrapping around: a corrupt size must not make
     * a symbol cover low addresses. */
    if (size > UINT64_MAX - addr)
        return UINT64_MAX - addr;
    return size;
}

void symtab_finish(struct symtab *t)
{
    if (t->finished)
        return;
    t->finished = true;
    if (t->nraw == 0)
        goto out;
    qsort(t->raw, t->nraw, sizeof(*t->raw), cmp_raw);
    /* The first of each address is the preferred one.  A separate array
     * without the binding keeps the entries the lookup walks small. */
    t->ents = malloc(t->nraw * sizeof(*t->ents));
    if (!t->ents)
        goto out; /* an empty table: every lookup misses, nothing breaks */
    size_t n = 0;
    for (size_t i = 0; i < t->nraw; i++) {
        if (n && t->ents[n - 1].addr == t->raw[i].e.addr)
            continue;
        t->ents[n++] = t->raw[i].e;
    }
    for (size_t i = 0; i < n; i++) {
        struct symtab_entry *e = &t->ents[i];
        if (e->size == 0) {
            uint64_t gap = i + 1 < n ? t->ents[i + 1].addr - e->addr : SYMTAB_UNSIZED_CAP;
            e->size = gap < SYMTAB_UNSIZED_CAP ? gap : SYMTAB_UNSIZED_CAP;
        }
        e->size = clamp_size(e->addr, e->size);
    }
    t->n = n;
    struct symtab_entry *shrunk = realloc(t->ents, (n ? n : 1) * sizeof(*t->ents));
    if (shrunk)
        t->ents = shrunk;
out:
    free(t->raw);
    t->raw = NULL;
    t->nraw = t->capraw = 0;
}

static bool covers(const struct symtab_entry *e, uint64_t addr)
{
    return addr >= e->addr && addr - e->addr < e->size;
}

const struct symtab_entry *symtab_lookup(const struct symtab *t, uint64_t addr)
{
    if (!t || !t->finished || t->n == 0)
        return NULL;
    /* First entry whose address is above addr. */
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ents[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = 0; k <= NEST_LOOKBACK && k < lo; k++) {
        const struct symtab_entry *e = &t->ents[lo - 1 - k];
        if (covers(e, addr))
            return e;
    }
    return NULL;
}

size_t symtab_count(const struct symtab *t)
{
    return t ? t->n : 0;
}
