/*
 * modules.c - append-only registry of the target's modules.
 *
 * Readers on other threads call modreg_get/modreg_count without a lock: a
 * slot is written completely before count is raised with a release store, and
 * readers load count with acquire, so every id they can see refers to a fully
 * written, never again modified entry.  Writers (modreg_intern) serialise on
 * a mutex and find existing entries through an open-addressing hash of ids.
 */
#include "sampler/unwind/modules.h"
#include "common/hash.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Power of two, at least twice MODREG_MAX so that probing stays short. */
#define MODREG_HASH_SLOTS (MODREG_MAX * 2)

struct modreg {
    pthread_mutex_t lock;
    _Atomic uint32_t count;
    uint32_t hash[MODREG_HASH_SLOTS]; /* module ids; MODULE_NONE = empty */
    struct module v[MODREG_MAX];
};

static uint64_t identity_hash(uint64_t dev, uint64_t inode, const char *name)
{
    return hash_combine(hash_combine(hash_str(name), dev), inode);
}

static bool same_identity(const struct module *m, uint64_t dev, uint64_t inode, const char *name)
{
    return m->dev == dev && m->inode == inode && !strcmp(m->name, name);
}

struct modreg *modreg_new(void)
{
    struct modreg *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (pthread_mutex_init(&r->lock, NULL)) {
        free(r);
        return NULL;
    }
    memset(r->hash, 0xff, sizeof r->hash);
    atomic_init(&r->count, 0);
    return r;
}

void modreg_free(struct modreg *r)
{
    if (!r)
        return;
    uint32_t n = atomic_load_explicit(&r->count, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++) {
        free((void *)r->v[i].name); /* one block holds all three strings */
        if (r->v[i].fd >= 0)
            close(r->v[i].fd);
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Returns the hash slot holding the module, or the empty slot where it would
 * go.  Never full: at most MODREG_MAX of MODREG_HASH_SLOTS slots are used. */
static uint32_t *hash_slot(struct modreg *r, uint64_t dev, uint64_t inode, const char *name)
{
    size_t i = identity_hash(dev, inode, name) & (MODREG_HASH_SLOTS - 1);
    for (;;) {
        uint32_t *slot = &r->hash[i];
        if (*slot == MODULE_NONE || same_identity(&r->v[*slot], dev, inode, name))
            return slot;
        i = (i + 1) & (MODREG_HASH_SLOTS - 1);
    }
}

/* Fills a new entry's strings from one allocation. */
static int fill_strings(struct module *m, const char *name, const char *open_path)
{
    size_t nl = strlen(name) + 1, ol = strlen(open_path) + 1;
    char *buf = malloc(nl + ol);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, name, nl);
    memcpy(buf + nl, open_path, ol);
    const char *slash = strrchr(buf, '/');
    m->name = buf;
    m->short_name = slash && slash[1] ? slash + 1 : buf;
    m->open_path = buf + nl;
    return 0;
}

uint32_t modreg_intern(struct modreg *r, uint64_t dev, uint64_t inode, const char *name,
                       const char *open_path)
{
    return modreg_intern_fd(r, dev, inode, name, open_path, -1);
}

uint32_t modreg_intern_fd(struct modreg *r, uint64_t dev, uint64_t inode, const char *name,
                          const char *open_path, int fd)
{
    uint32_t id = MODULE_NONE;
    bool kept = false;
    if (!name) {
        if (fd >= 0)
            close(fd);
        return MODULE_NONE;
    }
    if (!open_path)
        open_path = name;
    pthread_mutex_lock(&r->lock);
    uint32_t *slot = hash_slot(r, dev, inode, name);
    uint32_t n = atomic_load_explicit(&r->count, memory_order_relaxed);
    if (*slot != MODULE_NONE) {
        id = *slot;
    } else if (n < MODREG_MAX) {
        struct module *m = &r->v[n];
        if (fill_strings(m, name, open_path) == 0) {
            m->id = n;
            m->dev = dev;
            m->inode = inode;
            m->fd = fd;
            kept = true;
            *slot = n;
            id = n;
            /* Publish: the entry is complete before readers can see id n. */
            atomic_store_explicit(&r->count, n + 1, memory_order_release);
        }
    }
    pthread_mutex_unlock(&r->lock);
    if (!kept && fd >= 0)
        close(fd);
    return id;
}

uint32_t modreg_find(struct modreg *r, uint64_t dev, uint64_t inode, const char *name)
{
    if (!name)
        return MODULE_NONE;
    pthread_mutex_lock(&r->lock);
    uint32_t id = *hash_slot(r, dev, inode, name);
    pthread_mutex_unlock(&r->lock);
    return id;
}

const struct module *modreg_get(const struct modreg *r, uint32_t id)
{
    uint32_t n = atomic_load_explicit(&((struct modreg *)r)->count, memory_order_acquire);
    return id < n ? &r->v[id] : NULL;
}

uint32_t modreg_count(const struct modreg *r)
{
    return atomic_load_explicit(&((struct modreg *)r)->count, memory_order_acquire);
}
