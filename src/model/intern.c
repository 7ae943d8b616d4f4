/*
 * intern.c - frames as small ids: an open-addressing hash over an
 * append-only key array.
 *
 * Both arrays are allocated once at full capacity and never move, so a key
 * pointer handed out stays valid for the interner's life and a reader on
 * another thread may look at any id below intern_count().  The slot table
 * is at least twice the capacity, so probes stay short and always end.
 */
#include "src/model/intern.h"
#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>

/* Far more frames than any real profile; keeps the slot table size math in
 * 32 bits. */
#define INTERN_MAX_CAPACITY (1u << 30)

struct interner {
    uint32_t capacity;
    uint32_t count; /* published with release: keys[0..count) are complete */
    uint32_t mask;  /* slot table size - 1 */
    struct frame_key *keys;
    uint32_t *slots; /* id + 1, 0 = empty (so calloc'd memory is an empty table) */
};

static uint64_t key_hash(uint32_t kind, uint32_t a, uint64_t b)
{
    return hash_mix64(b ^ hash_mix64(((uint64_t)kind << 32) | a));
}

struct interner *intern_new(uint32_t capacity)
{
    if (capacity == 0 || capacity > INTERN_MAX_CAPACITY) {
        errno = EINVAL;
        return NULL;
    }
    struct interner *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    uint32_t size = 2;
    while (size < 2 * capacity)
        size *= 2;
    in->capacity = capacity;
    in->mask = size - 1;
    /* calloc of large blocks maps zero pages lazily: memory is committed as
     * ids are used, not at creation. */
    in->keys = calloc(capacity, sizeof(*in->keys));
    in->slots = calloc(size, sizeof(*in->slots));
    if (!in->keys || !in->slots) {
        intern_free(in);
        errno = ENOMEM;
        return NULL;
    }
    return in;
}

void intern_free(struct interner *in)
{
    if (!in)
        return;
    free(in->keys);
    free(in->slots);
    free(in);
}

frame_id intern_frame(struct interner *in, uint32_t kind, uint32_t a, uint64_t b)
{
    uint32_t i = (uint32_t)key_hash(kind, a, b) & in->mask;
    for (;; i = (i + 1) & in->mask) {
        uint32_t s = in->slots[i];
        if (s == 0)
            break;
        const struct frame_key *k = &in->keys[s - 1];
        if (k->b == b && k->a == a && k->kind == kind)
            return s - 1;
    }
    /* Only the writer changes count, so a relaxed read is enough here. */
    uint32_t id = in->count;
    if (id >= in->capacity)
        return FRAME_NONE;
    in->keys[id] = (struct frame_key){.kind = kind, .a = a, .b = b};
    in->slots[i] = id + 1;
    __atomic_store_n(&in->count, id + 1, __ATOMIC_RELEASE);
    return id;
}

const struct frame_key *intern_key(const struct interner *in, frame_id id)
{
    if (id >= intern_count(in))
        return NULL;
    return &in->keys[id];
}

uint32_t intern_count(const struct interner *in)
{
    return __atomic_load_n(&in->count, __ATOMIC_ACQUIRE);
}

uint32_t intern_capacity(const struct interner *in)
{
    return in->capacity;
}
