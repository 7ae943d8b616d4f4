/*
 * fake_resolver.c - see fake_resolver.h.
 */
#include "fake_resolver.h"

#include <stdlib.h>

struct fake_resolver *fake_resolver_new(void)
{
    struct fake_resolver *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    fake_func(f, "[unknown]", "", NULL, 0);
    for (unsigned i = 0; i < FAKE_MAX_FRAMES; i++)
        f->chains[i] = (struct frame_chain){.n = 1, .f = f->frames[i]};
    f->unknown = (struct frame_chain){.n = 1, .f = &f->unknown_frame};
    return f;
}

void fake_resolver_free(struct fake_resolver *f)
{
    free(f);
}

uint32_t fake_func(struct fake_resolver *f, const char *name, const char *module, const char *file,
                   int line)
{
    if (f->nfuncs == FAKE_MAX_FUNCS)
        abort(); /* a test bug, not a condition to handle */
    f->funcs[f->nfuncs] =
        (struct func_info){.name = name, .module = module, .file = file, .line = line};
    return f->nfuncs++;
}

void fake_frame(struct fake_resolver *f, frame_id id, unsigned n, const uint32_t *funcs)
{
    if (id >= FAKE_MAX_FRAMES || n == 0 || n > CHAIN_MAX)
        abort();
    for (unsigned i = 0; i < n; i++) {
        const struct func_info *fi = &f->funcs[funcs[i]];
        f->frames[id][i] = (struct chain_frame){
            .func = funcs[i],
            .file = fi->file,
            .line = fi->file ? fi->line + 1 : 0,
            .inlined = i + 1 < n,
        };
    }
    f->chains[id].n = n;
}

static const struct frame_chain *fake_chain(void *ctx, frame_id id)
{
    struct fake_resolver *f = ctx;
    /* Unset frames have a zeroed frame: function 0, "[unknown]". */
    return id < FAKE_MAX_FRAMES ? &f->chains[id] : &f->unknown;
}

static const struct func_info *fake_func_info(void *ctx, uint32_t func)
{
    struct fake_resolver *f = ctx;
    return &f->funcs[func < f->nfuncs ? func : 0];
}

static uint32_t fake_func_count(void *ctx)
{
    struct fake_resolver *f = ctx;
    return f->nfuncs;
}

struct resolver fake_resolver_iface(struct fake_resolver *f)
{
    return (struct resolver){
        .chain = fake_chain,
        .func = fake_func_info,
        .func_count = fake_func_count,
        .ctx = f,
    };
}
