/*
 * resolve.c - the native resolver: frame id -> cached chain of function
 * frames, through the module registry and the symbolizer.
 *
 * Everything handed out (chains, chain frames, function infos) lives in
 * storage that never moves: the chain array is sized to the interner's
 * capacity up front (calloc: committed as used), chain frames and functions
 * live in fixed-size blocks.  So a view may keep pointers while later
 * lookups resolve and cache more.
 */
#include "src/session/resolve.h"

#include <errno.h>
#include <stdlib.h>

#include <string.h>

#include "common/hash.h"
#include "common/vec.h"
#include "sampler/proc/maps.h"
#include "sampler/proc/remote.h"
#include "sampler/unwind/modules.h"
#include "sampler/python/pycode_reg.h"
#include "sampler/python/pysample.h"
#include "symbols/kallsyms.h"
#include "symbols/symbolize.h"

#define FRAME_BLOCK 4096u /* chain frames per storage block */
#define FUNC_BLOCK  1024u /* functions per storage block */
#define FUNC_NONE   UINT32_MAX
#define PY_MODULE   (MODULE_NONE - 1) /* module id of every Python function */
#define KERN_MODULE (MODULE_NONE - 2) /* module id of every kernel function */

/* Functions every resolver has, with fixed ids. */
enum {
    F_UNKNOWN,
    F_TRUNCATED,
    F_OVERFLOW,
    F_THREAD,
    F_PYTHON,
    F_FIXED /* count */
};

static const char *const fixed_names[F_FIXED] = {
    [F_UNKNOWN] = "[unknown]", [F_TRUNCATED] = "[truncated]", [F_OVERFLOW] = "[call tree full]",
    [F_THREAD] = "[thread]",   [F_PYTHON] = "[python]",
};

struct func_entry {
    struct func_info info;
    uint32_t module; /* module id, part of the key with name and file */
};

struct native_resolver {
    const struct interner *in;
    const struct modreg *reg;
    struct symbolizer *sym;

    uint32_t done;              /* ids below are cached in chains */
    struct frame_chain *chains; /* [interner capacity] */
    struct chain_frame fixed_frames[F_FIXED];
    struct frame_chain fixed_chains[F_FIXED];

    struct chain_frame **frame_blocks;
    size_t nframe_blocks, frame_blocks_alloc;
    uint32_t frame_block_used; /* frames used in the last block */

    struct func_entry **func_blocks;
    size_t func_blocks_alloc;
    uint32_t nfuncs;
    uint32_t *func_slots; /* func id + 1, 0 = empty */
    uint32_t func_mask;

    struct kallsyms *ksyms;         /* NULL: kernel frames show as "[unknown]" */
    const struct pycode_reg *pyreg; /* NULL: Python frames show as "[python]" */
    const struct pysample *py;
    bool full_filenames;
    pid_t pid;     /* the target, for its vDSO image; 0: none */
    uint8_t *vdso; /* its vDSO image, or NULL */
    size_t vdso_len;
    uint32_t vdso_for; /* module id the image was given to, MODULE_NONE before */
};

/* Names and files are interned by the symbolizer, so pointers identify
 * them and hashing never reads the strings. */
static uint32_t func_hash(const char *name, uint32_t module, const char *file)
{
    uint64_t h = hash_mix64((uint64_t)(uintptr_t)name ^ ((uint64_t)module << 48));
    return (uint32_t)hash_mix64(h ^ (uint64_t)(uintptr_t)file);
}

static struct func_entry *func_at(const struct native_resolver *r, uint32_t id)
{
    return &r->func_blocks[id / FUNC_BLOCK][id % FUNC_BLOCK];
}

static int func_slots_resize(struct native_resolver *r, uint32_t size)
{
    uint32_t *slots = calloc(size, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    uint32_t mask = size - 1;
    for (uint32_t id = 0; id < r->nfuncs; id++) {
        const struct func_entry *e = func_at(r, id);
        uint32_t i = func_hash(e->info.name, e->module, e->info.file) & mask;
        while (slots[i] != 0)
            i = (i + 1) & mask;
        slots[i] = id + 1;
    }
    free(r->func_slots);
    r->func_slots = slots;
    r->func_mask = mask;
    return 0;
}

/* Room for function id nfuncs: a block for it and a hash at most half full. */
static int func_reserve_one(struct native_resolver *r)
{
    size_t b = r->nfuncs / FUNC_BLOCK;
    if (r->nfuncs % FUNC_BLOCK == 0) {
        if (vec_reserve(&r->func_blocks, &r->func_blocks_alloc, b + 1, sizeof(*r->func_blocks)) < 0)
            return -ENOMEM;
        r->func_blocks[b] = malloc(FUNC_BLOCK * sizeof(struct func_entry));
        if (!r->func_blocks[b])
            return -ENOMEM;
    }
    if ((uint64_t)(r->nfuncs + 1) * 2 > (uint64_t)r->func_mask + 1)
        return func_slots_resize(r, (r->func_mask + 1) * 2);
    return 0;
}

/* The id of function (name, module, decl file), added if new; FUNC_NONE
 * when memory ran out. */
static uint32_t func_intern(struct native_resolver *r, const char *name, uint32_t module,
                            const char *module_name, const char *file, int line)
{
    uint32_t i = func_hash(name, module, file) & r->func_mask;
    for (; r->func_slots[i] != 0; i = (i + 1) & r->func_mask) {
        const struct func_entry *e = func_at(r, r->func_slots[i] - 1);
        if (e->info.name == name && e->module == module && e->info.file == file)
            return r->func_slots[i] - 1;
    }
    uint32_t slots_before = r->func_mask;
    if (func_reserve_one(r) < 0)
        return FUNC_NONE;
    if (r->func_mask != slots_before) {
        i = func_hash(name, module, file) & r->func_mask;
        while (r->func_slots[i] != 0)
            i = (i + 1) & r->func_mask;
    }
    uint32_t id = r->nfuncs++;
    *func_at(r, id) = (struct func_entry){
        .info = {.name = name,
                 .module = module_name ? module_name : "",
                 .file = file,
                 .line = line,
                 .python = module == PY_MODULE},
        .module = module,
    };
    r->func_slots[i] = id + 1;
    return id;
}

/* n contiguous chain frames that will never move. */
static struct chain_frame *frames_alloc(struct native_resolver *r, unsigned n)
{
    if (r->nframe_blocks == 0 || r->frame_block_used + n > FRAME_BLOCK) {
        if (vec_reserve(&r->frame_blocks, &r->frame_blocks_alloc, r->nframe_blocks + 1,
                        sizeof(*r->frame_blocks)) < 0)
            return NULL;
        struct chain_frame *b = malloc(FRAME_BLOCK * sizeof(*b));
        if (!b)
            return NULL;
        r->frame_blocks[r->nframe_blocks++] = b;
        r->frame_block_used = 0;
    }
    struct chain_frame *f = r->frame_blocks[r->nframe_blocks - 1] + r->frame_block_used;
    r->frame_block_used += n;
    return f;
}

/* The vDSO has no file: its symbols come from the image mapped in the
 * target, read once while it runs (names are often resolved after it
 * exited), bounded by SYM_IMAGE_MAX: two pages on x86_64. */
static void read_vdso(struct native_resolver *r)
{
    struct maps maps;
    char err[128];
    if (r->pid <= 0 || maps_read(r->pid, &maps, err, sizeof err) < 0)
        return;
    for (size_t i = 0; i < maps.n; i++) {
        const struct map_entry *e = &maps.v[i];
        size_t len = (size_t)(e->end - e->start);
        if (strcmp(e->path, "[vdso]") != 0 || !len || len > SYM_IMAGE_MAX)
            continue;
        r->vdso = malloc(len);
        if (r->vdso && remote_read(r->pid, e->start, r->vdso, len) == 0) {
            r->vdso_len = len;
        } else {
            free(r->vdso);
            r->vdso = NULL;
        }
        break;
    }
    maps_free(&maps);
}

static struct frame_chain resolve_native(struct native_resolver *r, const struct frame_key *k)
{
    const struct module *m = modreg_get(r->reg, k->a);
    if (!m)
        return r->fixed_chains[F_UNKNOWN];
    if (r->vdso && r->vdso_for != k->a && m->name && !strcmp(m->name, "[vdso]")) {
        r->vdso_for = k->a;
        sym_add_image(r->sym, k->a, r->vdso, r->vdso_len);
    }
    const struct sym_result *res = sym_resolve(r->sym, k->a, m->name, m->open_path, k->b);
    if (!res || res->n == 0)
        return r->fixed_chains[F_UNKNOWN];
    unsigned n = res->n < CHAIN_MAX ? res->n : CHAIN_MAX;
    struct chain_frame *f = frames_alloc(r, n);
    if (!f)
        return r->fixed_chains[F_UNKNOWN];
    for (unsigned i = 0; i < n; i++) {
        const struct sym_frame *s = &res->f[i];
        uint32_t func = func_intern(r, s->func, k->a, m->short_name, s->decl_file, s->decl_line);
        f[i] = (struct chain_frame){
            .func = func == FUNC_NONE ? F_UNKNOWN : func,
            .file = s->file,
            .line = s->line,
            .inlined = s->inlined,
        };
    }
    return (struct frame_chain){.n = n, .f = f};
}

/* End of the last occurrence of marker in file (0 if none). */
static size_t after_last(const char *file, const char *marker)
{
    size_t end = 0;
    for (const char *p = strstr(file, marker); p; p = strstr(p + 1, marker))
        end = (size_t)(p - file) + strlen(marker);
    return end;
}

const char *resolve_short_pyfile(const char *file, const char *script_dir)
{
    size_t end = after_last(file, "/site-packages/");
    size_t e = after_last(file, "/dist-packages/");
    end = e > end ? e : end;
    e = after_last(file, "/lib/python");
    if (e) {
        const char *slash = strchr(file + e, '/'); /* past "X.Y" */
        e = slash ? (size_t)(slash - file) + 1 : 0;
        end = e > end ? e : end;
    }
    size_t n = script_dir ? strlen(script_dir) : 0;
    if (n && strncmp(file, script_dir, n) == 0 && file[n] == '/' && n + 1 > end)
        end = n + 1;
    return file + end;
}

static struct frame_chain resolve_python(struct native_resolver *r, const struct frame_key *k)
{
    const struct pycode_entry *e = r->pyreg ? pycode_reg_get(r->pyreg, k->a) : NULL;
    if (!e)
        return r->fixed_chains[F_PYTHON];
    const char *file = e->file[0] ? e->file : NULL;
    if (file && !r->full_filenames)
        file = resolve_short_pyfile(file, r->py ? pysample_script_dir(r->py) : NULL);
    struct chain_frame *f = frames_alloc(r, 1);
    if (!f)
        return r->fixed_chains[F_UNKNOWN];
    uint32_t func = func_intern(r, e->qualname, PY_MODULE, "", file, e->firstlineno);
    *f = (struct chain_frame){
        .func = func == FUNC_NONE ? F_UNKNOWN : func,
        .file = file,
        .line = (int32_t)(uint32_t)k->b,
    };
    return (struct frame_chain){.n = 1, .f = f};
}

/* A kernel frame, named from /proc/kallsyms; a module's functions carry
 * the module's name ("ext4"), the core kernel's "[kernel]". */
static struct frame_chain resolve_kernel(struct native_resolver *r, const struct frame_key *k)
{
    struct kallsyms_sym ks;
    bool found = r->ksyms && kallsyms_lookup(r->ksyms, k->b, &ks) == 0;
    struct chain_frame *f = frames_alloc(r, 1);
    if (!f)
        return r->fixed_chains[F_UNKNOWN];
    uint32_t func = func_intern(r, found ? ks.name : "[unknown]", KERN_MODULE,
                                found && ks.module ? ks.module : "[kernel]", NULL, 0);
    *f = (struct chain_frame){.func = func == FUNC_NONE ? F_UNKNOWN : func};
    return (struct frame_chain){.n = 1, .f = f};
}

static struct frame_chain resolve_one(struct native_resolver *r, frame_id id)
{
    const struct frame_key *k = intern_key(r->in, id);
    if (!k)
        return r->fixed_chains[F_UNKNOWN];
    switch (k->kind) {
    case FRAME_NATIVE:
        return resolve_native(r, k);
    case FRAME_THREAD:
        return r->fixed_chains[F_THREAD];
    case FRAME_PYTHON:
        return resolve_python(r, k);
    case FRAME_KERNEL:
        return resolve_kernel(r, k);
    case FRAME_SPECIAL:
        if (k->a == SPECIAL_TRUNCATED)
            return r->fixed_chains[F_TRUNCATED];
        if (k->a == SPECIAL_OVERFLOW)
            return r->fixed_chains[F_OVERFLOW];
        return r->fixed_chains[F_UNKNOWN];
    default:
        return r->fixed_chains[F_UNKNOWN];
    }
}

struct native_resolver *resolver_native_new(const struct interner *in, const struct modreg *reg,
                                            struct symbolizer *sym)
{
    struct native_resolver *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->in = in;
    r->reg = reg;
    r->sym = sym;
    r->vdso_for = MODULE_NONE;
    r->chains = calloc(intern_capacity(in), sizeof(*r->chains));
    if (!r->chains || func_slots_resize(r, 64) < 0)
        goto fail;
    for (unsigned i = 0; i < F_FIXED; i++) {
        uint32_t id = func_intern(r, fixed_names[i], MODULE_NONE, "", NULL, 0);
        if (id != i)
            goto fail;
        r->fixed_frames[i] = (struct chain_frame){.func = id};
        r->fixed_chains[i] = (struct frame_chain){.n = 1, .f = &r->fixed_frames[i]};
    }
    return r;
fail:
    resolver_native_free(r);
    errno = ENOMEM;
    return NULL;
}

void resolver_native_free(struct native_resolver *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nframe_blocks; i++)
        free(r->frame_blocks[i]);
    free(r->frame_blocks);
    for (size_t i = 0; r->nfuncs && i <= (r->nfuncs - 1) / FUNC_BLOCK; i++)
        free(r->func_blocks[i]);
    free(r->func_blocks);
    free(r->func_slots);
    free(r->chains);
    free(r->vdso);
    free(r);
}

void resolver_native_prepare(struct native_resolver *r, uint32_t upto)
{
    uint32_t have = intern_count(r->in);
    if (upto > have)
        upto = have;
    /* Ids are resolved in order, so "done" is the whole cache state. */
    for (; r->done < upto; r->done++)
        r->chains[r->done] = resolve_one(r, r->done);
}

static const struct frame_chain *native_chain(void *ctx, frame_id id)
{
    struct native_resolver *r = ctx;
    if (id >= r->done)
        resolver_native_prepare(r, id + 1);
    if (id >= r->done)
        return &r->fixed_chains[F_UNKNOWN];
    return &r->chains[id];
}

static const struct func_info *native_func(void *ctx, uint32_t func_id)
{
    struct native_resolver *r = ctx;
    if (func_id >= r->nfuncs)
        func_id = F_UNKNOWN;
    return &func_at(r, func_id)->info;
}

static uint32_t native_func_count(void *ctx)
{
    const struct native_resolver *r = ctx;
    return r->nfuncs;
}

static const char *native_data(void *ctx, uint32_t module, uint64_t vaddr, uint64_t *offset)
{
    struct native_resolver *r = ctx;
    const struct module *m = modreg_get(r->reg, module);
    return m ? sym_data(r->sym, module, m->name, m->open_path, vaddr, offset) : NULL;
}

struct resolver resolver_native_iface(struct native_resolver *r)
{
    return (struct resolver){
        .chain = native_chain,
        .func = native_func,
        .func_count = native_func_count,
        .data = native_data,
        .ctx = r,
    };
}

void resolver_native_set_python(struct native_resolver *r, const struct pycode_reg *reg,
                                const struct pysample *py, bool full_filenames)
{
    r->pyreg = reg;
    r->py = py;
    r->full_filenames = full_filenames;
}

void resolver_native_set_target(struct native_resolver *r, pid_t pid)
{
    r->pid = pid;
    if (!r->vdso)
        read_vdso(r);
}

void resolver_native_set_kernel(struct native_resolver *r, struct kallsyms *ksyms)
{
    r->ksyms = ksyms;
}
