/*
 * childspaces.c - the child processes' address spaces; see childspaces.h.
 */
#include "src/session/childspaces.h"

#include <stdlib.h>

#include "common/clock.h"
#include "sampler/unwind/addrspace.h"
#include "sampler/unwind/unwind.h"

struct childspaces {
    struct modreg *reg;
    unsigned max_depth;
    uint64_t clock;
    struct childspace v[CHILDSPACES_MAX];
    unsigned n;
};

struct childspaces *childspaces_new(struct modreg *reg, unsigned max_depth)
{
    struct childspaces *t = calloc(1, sizeof *t);
    if (t) {
        t->reg = reg;
        t->max_depth = max_depth;
    }
    return t;
}

static void close_one(struct childspace *c)
{
    unwind_free(c->uw);
    as_free(c->as);
    *c = (struct childspace){0};
}

void childspaces_free(struct childspaces *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->n; i++)
        close_one(&t->v[i]);
    free(t);
}

static void open_one(struct childspaces *t, struct childspace *c, pid_t pid)
{
    char err[256];
    c->pid = pid;
    c->as = as_new(pid, t->reg, err, sizeof err);
    c->uw = c->as ? unwind_new(c->as, t->max_depth, err, sizeof err) : NULL;
    if (c->as && !c->uw) {
        as_free(c->as);
        c->as = NULL;
    }
    c->last_refresh_ns = clock_mono_ns();
}

struct childspace *childspaces_get(struct childspaces *t, pid_t pid)
{
    struct childspace *lru = NULL;
    for (unsigned i = 0; i < t->n; i++) {
        if (t->v[i].pid == pid) {
            t->v[i].used = ++t->clock;
            return &t->v[i];
        }
        if (!lru || t->v[i].used < lru->used)
            lru = &t->v[i];
    }
    struct childspace *c = t->n < CHILDSPACES_MAX ? &t->v[t->n++] : lru;
    if (c == lru)
        close_one(c);
    open_one(t, c, pid);
    c->used = ++t->clock;
    return c;
}
