/*
 * zoom.c - see zoom.h.  One pass in node order: a node's parent has a
 * smaller index, so each node's match state follows from its parent's.
 */
#include "src/model/zoom.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool zoom_active(const struct zoom *z)
{
    return z && (z->tid || z->module[0] || z->sub != ZOOM_SUB_NONE);
}

#define FAILED UINT32_MAX

/* Path match state: functions of z->path matched so far (npath: inside the
 * subtree), or FAILED once the stack left the path.  FUNC: 0 or 1. */
static uint32_t sub_step(const struct zoom *z, const struct frame_chain *c, uint32_t st)
{
    if (z->sub == ZOOM_SUB_FUNC) {
        for (unsigned i = 0; i < c->n && !st; i++)
            st = c->f[i].func == z->path[0];
        return st;
    }
    for (unsigned i = c->n; i-- > 0 && st != FAILED && st < z->npath;)
        st = c->f[i].func == z->path[st] ? st + 1 : FAILED;
    return st;
}

static bool module_is(const struct resolver *r, const struct frame_chain *c, const char *module)
{
    const char *m = r->func(r->ctx, c->f[0].func)->module;
    return strcmp(m ? m : "", module) == 0;
}

int zoom_apply(const struct model *m, const struct resolver *r, const struct zoom *z,
               uint64_t *self)
{
    if (!zoom_active(z))
        return 0;
    size_t n = model_node_count(m);
    uint32_t *st = malloc((n ? n : 1) * sizeof(*st));
    if (!st)
        return -ENOMEM;
    uint32_t tnode = MODEL_NO_NODE;
    if (z->tid) {
        const struct model_thread *t = model_thread_find(m, z->tid);
        tnode = t ? t->node : MODEL_NO_NODE;
    }
    uint32_t want = z->sub == ZOOM_SUB_NONE ? 0 : z->sub == ZOOM_SUB_FUNC ? 1 : z->npath;
    for (size_t i = 0; i < n; i++) {
        const struct model_node *nd = model_node(m, (uint32_t)i);
        if (i == MODEL_ROOT) {
            st[i] = FAILED; /* samples the full tree could not place */
        } else if (nd->parent == MODEL_ROOT) {
            st[i] = z->tid && (uint32_t)i != tnode ? FAILED : 0;
        } else {
            uint32_t p = st[nd->parent];
            const struct frame_chain *c = NULL;
            if (p != FAILED && z->sub != ZOOM_SUB_NONE) {
                c = r->chain(r->ctx, nd->frame);
                p = sub_step(z, c, p);
            }
            st[i] = p;
            if (self[i] && p != FAILED && p >= want && z->module[0]) {
                if (!c)
                    c = r->chain(r->ctx, nd->frame);
                if (!module_is(r, c, z->module))
                    self[i] = 0;
            }
        }
        if (st[i] == FAILED || st[i] < want || (z->module[0] && nd->parent == MODEL_ROOT))
            self[i] = 0;
    }
    free(st);
    return 0;
}

void zoom_describe(const struct zoom *z, const struct resolver *r, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (at < n) {                                                                              \
            int k_ = snprintf(buf + at, n - at, __VA_ARGS__);                                      \
            at += k_ > 0 ? (size_t)k_ : 0;                                                         \
        }                                                                                          \
    } while (0)
    if (z->tid)
        PUT("thread %d", (int)z->tid);
    if (z->module[0])
        PUT("%smodule %s", at ? ", " : "", z->module);
    if (z->sub == ZOOM_SUB_FUNC)
        PUT("%sthrough %s", at ? ", " : "", r->func(r->ctx, z->path[0])->name);
    if (z->sub == ZOOM_SUB_PATH) {
        PUT("%sunder ", at ? ", " : "");
        /* a long path shows its start and its end */
        for (uint32_t i = 0; i < z->npath; i++) {
            if (z->npath > 4 && i == 1) {
                PUT(" > ...");
                i = z->npath - 4;
                continue;
            }
            PUT("%s%s", i ? " > " : "", r->func(r->ctx, z->path[i])->name);
        }
    }
#undef PUT
}
