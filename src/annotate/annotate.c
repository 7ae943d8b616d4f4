/*
 * annotate.c - per-line and per-instruction counts of one function, and the
 * source and instruction views built from them (see annotate.h).
 *
 * Counting walks the nodes in index order: a node's parent always has a
 * smaller index, so "the nearest ancestor whose frame is in F" is known for
 * every node in one pass, and recursion is detected by walking only those
 * ancestors.  The built parts that do not depend on counts (a source file's
 * lines, a function's disassembly with its line table) are cached and
 * reference-counted, so a view may outlive its cache entry.
 */
#include "src/annotate/annotate.h"
#include "common/vec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include "symbols/disasm.h"
#include "common/hash.h"
#include "src/model/model.h"
#include "sampler/unwind/modules.h"
#include "sampler/python/pycode_reg.h"
#include "src/session/resolve.h"
#include "src/annotate/srcfile.h"
#include "symbols/symbolize.h"

#define ANCESTOR_STEPS 64 /* recursion depth looked through for a repeated site */
#define MAX_VIEW_ROWS  20000
#define ASM_SRC_FILES  4  /* source files whose text is interleaved */
#define HOT_MAX        10 /* rows highlighted */
#define HOT_SHARE      20 /* ... each with at least 1/HOT_SHARE of the samples */
#define FILES_MAX      16 /* distinct files among one function's lines */

/* ------------------------------------------------------------ the cache */

enum { C_SRC, C_ASM };

struct insn_line {
    const char *file; /* innermost file:line (interned by the symbolizer) */
    int line;
};

struct cached {
    atomic_int refs; /* 1 while in the cache, +1 per view using it */
    int kind;
    uint64_t stamp;
    char key[1024]; /* C_SRC: the path as named */
    uint32_t module;
    uint64_t start;
    struct srcfile *src;     /* C_SRC */
    struct disasm *dis;      /* C_ASM */
    const char *fname;       /* C_ASM: the symbol disassembled */
    struct insn_line *lines; /* C_ASM: [dis->n] */
    const char **text;       /* C_ASM: [dis->n] instruction text with target notes */
    uint32_t *label;         /* C_ASM: [dis->n] label number, 0 none */
    char *notes;             /* C_ASM: storage of decorated texts */
};

struct annot_env {
    struct annot_env_cfg cfg;
    struct srcfile_map maps[ANNOT_MAX_SOURCE_MAPS];
    char root[64]; /* "/proc/PID": its root and cwd, "" without a target */
    struct cached *cache[ANNOT_CACHE_VIEWS];
    uint64_t clock;
};

static void cached_put(struct cached *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    srcfile_free(c->src);
    disasm_free(c->dis);
    free(c->lines);
    free(c->text);
    free(c->label);
    free(c->notes);
    free(c);
}

struct annot_env *annot_env_new(const struct annot_env_cfg *cfg)
{
    if (!cfg || !cfg->in || cfg->nmaps > ANNOT_MAX_SOURCE_MAPS) {
        errno = EINVAL;
        return NULL;
    }
    struct annot_env *e = calloc(1, sizeof(*e));
    if (!e) {
        errno = ENOMEM;
        return NULL;
    }
    e->cfg = *cfg;
    e->cfg.maps = NULL; /* copied below: the caller's strings may go */
    for (size_t i = 0; i < cfg->nmaps; i++) {
        int rc = srcfile_map_parse(cfg->maps[i], &e->maps[i]);
        if (rc < 0) {
            e->cfg.nmaps = i;
            annot_env_free(e);
            errno = -rc;
            return NULL;
        }
    }
    if (cfg->pid > 0)
        snprintf(e->root, sizeof e->root, "/proc/%d", (int)cfg->pid);
    return e;
}

void annot_env_free(struct annot_env *env)
{
    if (!env)
        return;
    for (size_t i = 0; i < env->cfg.nmaps; i++)
        srcfile_map_free(&env->maps[i]);
    for (size_t i = 0; i < ANNOT_CACHE_VIEWS; i++)
        cached_put(env->cache[i]);
    free(env);
}

void annot_env_set_gone(struct annot_env *env, bool gone)
{
    env->cfg.target_gone = gone;
}

/* A cache slot for a new entry: an empty one or the least recently used. */
static struct cached **cache_slot(struct annot_env *env)
{
    struct cached **victim = &env->cache[0];
    for (size_t i = 0; i < ANNOT_CACHE_VIEWS; i++) {
        if (!env->cache[i])
            return &env->cache[i];
        if (env->cache[i]->stamp < (*victim)->stamp)
            victim = &env->cache[i];
    }
    cached_put(*victim);
    *victim = NULL;
    return victim;
}

/* Takes a reference for the caller. */
static struct cached *cache_take(struct annot_env *env, struct cached *c)
{
    c->stamp = ++env->clock;
    atomic_fetch_add(&c->refs, 1);
    return c;
}

/* An edited source file is read again (a stat per view build). */
static bool src_fresh(const struct srcfile *f)
{
    struct stat st;
    return stat(f->opened, &st) == 0 && (uint64_t)st.st_size == f->size &&
           (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == f->mtime_ns;
}

/* The source file path (as named by the debug information), read through
 * the maps and the target's root; a reference the caller puts, or NULL with
 * the user's message in err. */
static struct cached *source_get(struct annot_env *env, const char *path, char *err, size_t errsz)
{
    for (size_t i = 0; i < ANNOT_CACHE_VIEWS; i++) {
        struct cached *c = env->cache[i];
        if (c && c->kind == C_SRC && strcmp(c->key, path) == 0) {
            /* read through the target, which is gone now: read again */
            bool via_target =
                env->root[0] && !strncmp(c->src->opened, env->root, strlen(env->root));
            if (src_fresh(c->src) && !(via_target && env->cfg.target_gone))
                return cache_take(env, c);
            cached_put(c);
            env->cache[i] = NULL;
            break;
        }
    }
    struct srcfile *f;
    const char *root = env->cfg.target_gone ? NULL : env->root;
    if (srcfile_open(env->maps, env->cfg.nmaps, root, path, &f, err, errsz) < 0)
        return NULL;
    struct cached *c = calloc(1, sizeof(*c));
    if (!c) {
        srcfile_free(f);
        snprintf(err, errsz, "out of memory reading %s", path);
        return NULL;
    }
    atomic_init(&c->refs, 1);
    c->kind = C_SRC;
    c->src = f;
    snprintf(c->key, sizeof c->key, "%s", path);
    *cache_slot(env) = c;
    return cache_take(env, c);
}

/* ---------------------------------------------------- counting (no I/O) */

/* (k1, k2) -> self/incl, open addressing. */
struct acc_entry {
    uint64_t k1, k2;
    uint64_t self, incl;
};

struct acc {
    struct acc_entry *v;
    size_t n, cap;
    uint32_t *slots; /* index + 1 */
    size_t mask;
};

static uint64_t acc_hash(uint64_t k1, uint64_t k2)
{
    return hash_combine(hash_fib64(k1), k2);
}

static int acc_grow(struct acc *a)
{
    /* a->cap follows only once the slot table for it exists: a table
     * sized for fewer entries would fill up.  Doubling from a power of two
     * keeps cap, and so the table, a power of two. */
    size_t cap = a->cap;
    if (vec_reserve(&a->v, &cap, a->n + 1, sizeof *a->v) < 0)
        return -ENOMEM;
    size_t nslots = cap * 2;
    uint32_t *slots = calloc(nslots, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    a->cap = cap;
    free(a->slots);
    a->slots = slots;
    a->mask = nslots - 1;
    for (size_t i = 0; i < a->n; i++) {
        size_t s = acc_hash(a->v[i].k1, a->v[i].k2) & a->mask;
        while (a->slots[s])
            s = (s + 1) & a->mask;
        a->slots[s] = (uint32_t)i + 1;
    }
    return 0;
}

static int acc_add(struct acc *a, uint64_t k1, uint64_t k2, uint64_t self, uint64_t incl)
{
    if (a->n == a->cap && acc_grow(a) < 0)
        return -ENOMEM;
    size_t s = acc_hash(k1, k2) & a->mask;
    for (; a->slots[s]; s = (s + 1) & a->mask) {
        struct acc_entry *e = &a->v[a->slots[s] - 1];
        if (e->k1 == k1 && e->k2 == k2) {
            e->self += self;
            e->incl += incl;
            return 0;
        }
    }
    a->v[a->n] = (struct acc_entry){k1, k2, self, incl};
    a->slots[s] = (uint32_t)++a->n;
    return 0;
}

static void acc_free(struct acc *a)
{
    free(a->v);
    free(a->slots);
}

/* Where a node's frame is in F: its code address and its line. */
struct site {
    bool native, python;
    uint32_t module;
    uint64_t addr;
    const char *file;
    int line;
    bool inlined;
};

/* The outermost frame of F in node's chain, or false. */
static bool site_of(const struct annot_env *env, const struct resolver *r, frame_id frame,
                    uint32_t func, struct site *s)
{
    const struct frame_chain *ch = r->chain(r->ctx, frame);
    int j = -1;
    for (unsigned k = 0; k < ch->n; k++)
        if (ch->f[k].func == func)
            j = (int)k;
    if (j < 0)
        return false;
    const struct frame_key *key = intern_key(env->cfg.in, frame);
    *s = (struct site){.file = ch->f[j].file, .line = ch->f[j].line, .inlined = ch->f[j].inlined};
    if (key && key->kind == FRAME_NATIVE) {
        s->native = true;
        s->module = key->a;
        s->addr = key->b;
    } else if (key && key->kind == FRAME_PYTHON) {
        /* the full path: the resolver's is cut for display */
        const struct pycode_entry *pe =
            env->cfg.pyreg ? pycode_reg_get(env->cfg.pyreg, key->a) : NULL;
        s->python = true;
        s->file = pe && pe->file[0] ? pe->file : s->file;
        s->line = (int)(int32_t)(uint32_t)key->b;
    }
    return true;
}

/* A node whose frame is in F, kept for the recursion check of the nodes
 * below it (an array hop per ancestor instead of a chain lookup). */
struct fsite {
    uint32_t up; /* the nearest F ancestor's fsite, NO_SITE at the top */
    uint32_t module;
    uint64_t addr;
    const char *file;
    int line;
    bool native;
    /* Python F frames: their line's count is settled at the end */
    bool python, line_dup;
    uint32_t node;
    uint64_t total, pysub; /* pysub: samples in deeper Python frames */
};

#define NO_SITE UINT32_MAX

struct walk {
    const struct annot_env *env;
    const struct model *m;
    const struct resolver *r;
    uint32_t func;
    uint32_t *fsite_of; /* per node: its nearest ancestor-or-self F site */
    uint32_t *pyanc;    /* per node: nearest ancestor-or-self Python frame (or NULL) */
    struct fsite *sites;
    size_t nsites, capsites;
    struct acc addrs, lines;
    struct annot_counts *c;
    bool seen_native, seen_python, seen_outer;
};

static bool same_file(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether an F frame above (from site k up) already counted this stack at
 * the same address (want_addr) or line. */
static bool ancestor_has(const struct walk *w, uint32_t k, const struct site *s, bool want_addr)
{
    for (unsigned steps = 0; k != NO_SITE && steps < ANCESTOR_STEPS; steps++) {
        const struct fsite *a = &w->sites[k];
        if (want_addr ? a->native && a->module == s->module && a->addr == s->addr
                      : a->line == s->line && same_file(a->file, s->file))
            return true;
        k = a->up;
    }
    return false;
}

/* Remembers node's F site; its index, or NO_SITE when out of memory. */
static uint32_t push_site(struct walk *w, uint32_t up, const struct site *s)
{
    if (vec_reserve(&w->sites, &w->capsites, w->nsites + 1, sizeof *w->sites) < 0)
        return NO_SITE;
    w->sites[w->nsites] = (struct fsite){.up = up,
                                         .module = s->module,
                                         .addr = s->addr,
                                         .file = s->file,
                                         .line = s->line,
                                         .native = s->native};
    return (uint32_t)w->nsites++;
}

/* The first F frame of a stack: note where F's code is. */
static void note_location(struct walk *w, const struct site *s)
{
    w->seen_native |= s->native;
    w->seen_python |= s->python;
    if (s->native && (!s->inlined || !w->seen_outer)) {
        w->c->any_module = s->module;
        w->c->any_addr = s->addr;
        w->seen_outer |= !s->inlined;
    }
}

/* Python frames: a line's own time includes the interpreter's and C code's
 * below it, up to the next Python frame (what py-spy and Austin call time
 * on that line); samples in a deeper Python frame are the line's incl.
 * Moves them from the nearest Python ancestor, when that is an F frame. */
static void track_python(struct walk *w, uint32_t i, const struct model_node *n, uint64_t total)
{
    if (!w->pyanc)
        return;
    uint32_t pa = i == MODEL_ROOT ? MODEL_NO_NODE : w->pyanc[n->parent];
    const struct frame_key *k = i == MODEL_ROOT ? NULL : intern_key(w->env->cfg.in, n->frame);
    bool py = k && k->kind == FRAME_PYTHON;
    w->pyanc[i] = py ? i : pa;
    if (!py || !total || pa == MODEL_NO_NODE)
        return;
    uint32_t s = w->fsite_of[n->parent];
    if (s != NO_SITE && w->sites[s].python && w->sites[s].node == pa)
        w->sites[s].pysub += total;
}

/* A Python frame of F: counted at the end (finish_python), once its deeper
 * Python frames are known. */
static int count_python(struct walk *w, uint32_t i, uint32_t up, const struct site *s,
                        uint64_t total)
{
    bool line_dup = ancestor_has(w, up, s, false);
    uint32_t k = push_site(w, up, s);
    if (k == NO_SITE)
        return -ENOMEM;
    w->sites[k].python = true;
    w->sites[k].line_dup = line_dup;
    w->sites[k].node = i;
    w->sites[k].total = total;
    w->fsite_of[i] = k;
    return 0;
}

static int finish_python(struct walk *w)
{
    for (size_t k = 0; k < w->nsites; k++) {
        const struct fsite *f = &w->sites[k];
        if (!f->python || f->line <= 0)
            continue;
        uint64_t own = f->total - f->pysub;
        w->c->self_total += own;
        int rc = acc_add(&w->lines, (uint64_t)(uintptr_t)f->file, (uint64_t)f->line, own,
                         f->line_dup ? 0 : f->pysub);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int count_node(struct walk *w, uint32_t i, uint64_t self, uint64_t total)
{
    const struct model_node *n = model_node(w->m, i);
    uint32_t up = i == MODEL_ROOT ? NO_SITE : w->fsite_of[n->parent];
    struct site s;
    track_python(w, i, n, total);
    w->fsite_of[i] = up;
    if (i == MODEL_ROOT || total == 0 || !site_of(w->env, w->r, n->frame, w->func, &s))
        return 0;
    if (up == NO_SITE)
        w->c->func_total += total; /* once per stack: the outermost F */
    note_location(w, &s);
    if (s.python)
        return count_python(w, i, up, &s, total);
    w->c->self_total += self;
    uint64_t incl = total - self;
    bool addr_dup = incl && s.native && ancestor_has(w, up, &s, true);
    bool line_dup = incl && ancestor_has(w, up, &s, false);
    int rc = 0;
    if (incl && (w->fsite_of[i] = push_site(w, up, &s)) == NO_SITE)
        return -ENOMEM; /* a leaf has no nodes below: no site needed */
    if (s.native)
        rc = acc_add(&w->addrs, ((uint64_t)s.module << 32) | 1, s.addr, self, addr_dup ? 0 : incl);
    if (rc == 0 && s.line > 0)
        rc = acc_add(&w->lines, (uint64_t)(uintptr_t)s.file, (uint64_t)s.line, self,
                     line_dup ? 0 : incl);
    return rc;
}

static int cmp_addr(const void *pa, const void *pb)
{
    const struct annot_addr_count *a = pa, *b = pb;
    if (a->module != b->module)
        return a->module < b->module ? -1 : 1;
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int cmp_line(const void *pa, const void *pb)
{
    const struct annot_line_count *a = pa, *b = pb;
    return (a->line > b->line) - (a->line < b->line);
}

/* The file whose lines the view shows: F's definition file when it has
 * lines there, else the file with the most samples (a Python function's
 * full file name, or F's lines in a header).  Linear in F's lines: the
 * distinct files are few (FILES_MAX counted; beyond, the first ones win). */
static const char *pick_file(const struct walk *w, const char *decl)
{
    const char *files[FILES_MAX];
    uint64_t sum[FILES_MAX];
    size_t nf = 0;
    for (size_t i = 0; i < w->lines.n; i++) {
        const struct acc_entry *e = &w->lines.v[i];
        const char *f = (const char *)(uintptr_t)e->k1;
        if (decl && !w->seen_python && same_file(f, decl))
            return decl;
        size_t k = 0;
        while (k < nf && !same_file(files[k], f))
            k++;
        if (k == nf && nf == FILES_MAX)
            continue;
        if (k == nf) {
            files[nf] = f;
            sum[nf++] = 0;
        }
        sum[k] += e->self + e->incl;
    }
    size_t best = 0;
    for (size_t k = 1; k < nf; k++)
        if (sum[k] > sum[best])
            best = k;
    return nf ? files[best] : decl;
}

static int finish_counts(struct walk *w, const struct func_info *fi)
{
    struct annot_counts *c = w->c;
    c->addrs = malloc((w->addrs.n ? w->addrs.n : 1) * sizeof(*c->addrs));
    c->lines = malloc((w->lines.n ? w->lines.n : 1) * sizeof(*c->lines));
    if (!c->addrs || !c->lines)
        return -ENOMEM;
    for (size_t i = 0; i < w->addrs.n; i++) {
        const struct acc_entry *e = &w->addrs.v[i];
        c->addrs[c->naddrs++] = (struct annot_addr_count){
            .module = (uint32_t)(e->k1 >> 32), .addr = e->k2, .self = e->self, .incl = e->incl};
    }
    qsort(c->addrs, c->naddrs, sizeof(*c->addrs), cmp_addr);
    const char *file = pick_file(w, fi->file);
    snprintf(c->file, sizeof c->file, "%s", file ? file : "");
    for (size_t i = 0; i < w->lines.n; i++) {
        const struct acc_entry *e = &w->lines.v[i];
        if (!file || !same_file((const char *)(uintptr_t)e->k1, file)) {
            c->other_file += e->self + e->incl;
            continue;
        }
        c->lines[c->nlines++] =
            (struct annot_line_count){.line = (int)e->k2, .self = e->self, .incl = e->incl};
    }
    qsort(c->lines, c->nlines, sizeof(*c->lines), cmp_line);
    /* one file's lines may come from several code ids: merge equal lines */
    size_t o = 0;
    for (size_t i = 0; i < c->nlines; i++) {
        if (o && c->lines[o - 1].line == c->lines[i].line) {
            c->lines[o - 1].self += c->lines[i].self;
            c->lines[o - 1].incl += c->lines[i].incl;
        } else {
            c->lines[o++] = c->lines[i];
        }
    }
    c->nlines = o;
    return 0;
}

static enum annot_func_kind guess_kind(const struct walk *w, const struct func_info *fi)
{
    if (w->seen_python)
        return ANNOT_FUNC_PYTHON;
    if (w->seen_native)
        return ANNOT_FUNC_NATIVE;
    /* not in this window's tree: go by what the resolver knows */
    if (fi->name[0] == '[')
        return ANNOT_FUNC_OTHER;
    size_t n = fi->file ? strlen(fi->file) : 0;
    if (!fi->module[0] && n > 3 && strcmp(fi->file + n - 3, ".py") == 0)
        return ANNOT_FUNC_PYTHON;
    return fi->module[0] ? ANNOT_FUNC_NATIVE : ANNOT_FUNC_OTHER;
}

struct annot_counts *annot_collect(const struct annot_env *env, const struct model *m,
                                   const struct resolver *r, const uint64_t *self, uint32_t func)
{
    if (!env || func >= r->func_count(r->ctx)) {
        errno = EINVAL;
        return NULL;
    }
    size_t n = model_node_count(m);
    struct walk w = {.env = env, .m = m, .r = r, .func = func};
    uint64_t *total = malloc((n ? n : 1) * sizeof(*total));
    w.fsite_of = malloc((n ? n : 1) * sizeof(*w.fsite_of));
    /* Python frames are told apart only for a Python function (the
     * resolver gives them no module) of a Python target */
    const struct func_info *fi = r->func(r->ctx, func);
    bool py = env->cfg.pyreg && !fi->module[0];
    w.pyanc = py ? malloc((n ? n : 1) * sizeof(*w.pyanc)) : NULL;
    w.c = calloc(1, sizeof(*w.c));
    int rc = total && w.fsite_of && w.c && (w.pyanc || !py) ? 0 : -ENOMEM;
    if (rc == 0) {
        w.c->func = func;
        w.c->any_module = MODULE_NONE;
        snprintf(w.c->name, sizeof w.c->name, "%s", fi->name);
        snprintf(w.c->module, sizeof w.c->module, "%s", fi->module);
        w.c->decl_line = fi->line;
        model_totals(m, self, total);
        w.c->total = n ? total[MODEL_ROOT] : 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = count_node(&w, (uint32_t)i, self[i], total[i]);
        if (rc == 0)
            rc = finish_python(&w);
        w.c->kind = guess_kind(&w, fi);
        w.c->inlined_only = w.seen_native && !w.seen_outer;
        if (rc == 0)
            rc = finish_counts(&w, fi);
    }
    free(total);
    free(w.fsite_of);
    free(w.pyanc);
    free(w.sites);
    acc_free(&w.addrs);
    acc_free(&w.lines);
    if (rc < 0) {
        annot_counts_free(w.c);
        errno = -rc;
        return NULL;
    }
    return w.c;
}

void annot_counts_free(struct annot_counts *c)
{
    if (!c)
        return;
    free(c->addrs);
    free(c->lines);
    free(c);
}

/* ------------------------------------------------------------- views */

/* Text made for one view (comment and label rows), in blocks that never
 * move. */
struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
};

struct view_priv {
    struct cached *refs[1 + ASM_SRC_FILES];
    size_t nrefs;
    struct arena_block *blocks;
    size_t cap_rows;
};

static const char *vstr(struct annot_view *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *vstr(struct annot_view *v, const char *fmt, ...)
{
    struct view_priv *p = v->priv;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return "";
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    struct arena_block *b = p->blocks;
    if (!b || b->used + len + 1 > b->cap) {
        size_t cap = 64 * 1024;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return "";
        *b = (struct arena_block){.next = p->blocks, .cap = cap};
        p->blocks = b;
    }
    char *s = b->data + b->used;
    memcpy(s, buf, len);
    s[len] = '\0';
    b->used += len + 1;
    return s;
}

static struct annot_view *view_new(enum annot_kind kind, const struct annot_counts *c)
{
    struct annot_view *v = calloc(1, sizeof(*v));
    struct view_priv *p = calloc(1, sizeof(*p));
    if (!v || !p) {
        free(v);
        free(p);
        return NULL;
    }
    v->kind = kind;
    v->priv = p;
    v->hottest = SIZE_MAX;
    v->total = c->total;
    v->self_total = c->self_total;
    return v;
}

void annot_view_free(struct annot_view *v)
{
    if (!v)
        return;
    struct view_priv *p = v->priv;
    for (size_t i = 0; i < p->nrefs; i++)
        cached_put(p->refs[i]);
    while (p->blocks) {
        struct arena_block *b = p->blocks;
        p->blocks = b->next;
        free(b);
    }
    free(p);
    free(v->rows);
    free(v);
}

static void view_keep(struct annot_view *v, struct cached *c)
{
    struct view_priv *p = v->priv;
    if (p->nrefs < sizeof p->refs / sizeof p->refs[0])
        p->refs[p->nrefs++] = c;
    else
        cached_put(c); /* never: callers stay within the array */
}

static struct annot_row *row_add(struct annot_view *v)
{
    struct view_priv *p = v->priv;
    if (vec_reserve(&v->rows, &p->cap_rows, v->nrows + 1, sizeof *v->rows) < 0)
        return NULL;
    struct annot_row *r = &v->rows[v->nrows++];
    *r = (struct annot_row){.text = ""};
    return r;
}

/* The few hottest rows are hot; ranked by self, or by incl. when the
 * function has no self samples (hot only through its callees). */
static void mark_hot(struct annot_view *v)
{
    bool by_incl = v->self_total == 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < v->nrows; i++)
        sum += by_incl ? v->rows[i].incl : v->rows[i].self;
    for (unsigned k = 0; k < HOT_MAX; k++) {
        size_t best = SIZE_MAX;
        uint64_t best_n = 0;
        for (size_t i = 0; i < v->nrows; i++) {
            const struct annot_row *r = &v->rows[i];
            uint64_t n = by_incl ? r->incl : r->self;
            if (!r->hot && n > best_n) {
                best = i;
                best_n = n;
            }
        }
        if (best == SIZE_MAX || (k > 0 && best_n * HOT_SHARE < sum))
            break;
        v->rows[best].hot = true;
        if (k == 0)
            v->hottest = best;
    }
}

static struct annot_view *view_error(struct annot_view *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct annot_view *view_error(struct annot_view *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->error, sizeof v->error, fmt, ap);
    va_end(ap);
    v->nrows = 0;
    v->hottest = SIZE_MAX;
    return v;
}

static int digits(long n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

static const struct annot_line_count *line_count(const struct annot_counts *c, int line)
{
    size_t lo = 0, hi = c->nlines;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->lines[mid].line < line)
            lo = mid + 1;
        else if (c->lines[mid].line > line)
            hi = mid;
        else
            return &c->lines[mid];
    }
    return NULL;
}

static int indent_of(const char *s, bool *blank)
{
    int n = 0;
    while (s[n] == ' ')
        n++;
    *blank = s[n] == '\0' || s[n] == '#';
    return n;
}

/* Last line of the Python block that starts at line first (a def or
 * class, maybe after decorators): lines indented deeper than it, blank
 * lines and comments.  Tabs are already spaces. */
static size_t python_block_end(const struct srcfile *f, size_t first)
{
    const char *l = srcfile_line(f, first);
    if (!l)
        return first;
    bool blank;
    int base = indent_of(l, &blank);
    size_t i = first + 1, last = first;
    /* decorators and a signature over several lines */
    while ((l = srcfile_line(f, i)) && indent_of(l, &blank) == base && !blank &&
           (l[base] == '@' || !strncmp(l + base, "def ", 4) || !strncmp(l + base, "async ", 6) ||
            !strncmp(l + base, "class ", 6)))
        last = i++;
    for (; (l = srcfile_line(f, i)); i++) {
        int ind = indent_of(l, &blank);
        if (blank)
            continue;
        if (ind <= base && l[ind] != ')' && l[ind] != ']')
            break;
        last = i;
    }
    return last;
}

/* Lines [*lo, *hi] to show: the function's lines and every counted line,
 * with context around them. */
static void source_range(const struct annot_counts *c, const struct srcfile *f, int code_hi,
                         size_t *lo, size_t *hi)
{
    size_t first = c->decl_line > 0 ? (size_t)c->decl_line : 0;
    size_t last = code_hi > 0 ? (size_t)code_hi : first;
    if (c->nlines) {
        size_t a = (size_t)c->lines[0].line, b = (size_t)c->lines[c->nlines - 1].line;
        first = first && first < a ? first : a;
        last = last > b ? last : b;
    }
    if (c->kind == ANNOT_FUNC_PYTHON && first) {
        size_t e = strcmp(c->name, "<module>") == 0 ? f->nlines : python_block_end(f, first);
        last = last > e ? last : e;
    }
    if (!first)
        first = 1;
    *lo = first > ANNOT_CONTEXT_LINES ? first - ANNOT_CONTEXT_LINES : 1;
    *hi = last + ANNOT_CONTEXT_LINES;
    if (*hi > f->nlines)
        *hi = f->nlines;
    if (*hi >= *lo && *hi - *lo >= MAX_VIEW_ROWS)
        *hi = *lo + MAX_VIEW_ROWS - 1; /* absurd line numbers: keep it bounded */
}

static const char *short_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static struct cached *asm_get(struct annot_env *env, const struct annot_counts *c, uint32_t *module,
                              char *err, size_t errsz);

/* The last line of F's code in its file, from the line table of its
 * instructions (0 when unknown), so the source view shows the whole
 * function.  Lines of code inlined from F's own file below F would stretch
 * it: only lines within MAX_VIEW_ROWS of F's first line count (helpers are
 * mostly defined above their callers). */
static int code_last_line(struct annot_env *env, const struct annot_counts *c)
{
    if (c->kind != ANNOT_FUNC_NATIVE || c->inlined_only || !env->cfg.sym || !env->cfg.reg)
        return 0;
    char err[256];
    uint32_t module;
    struct cached *a = asm_get(env, c, &module, err, sizeof err);
    int last = 0;
    for (size_t i = 0; a && i < a->dis->n; i++) {
        const struct insn_line *l = &a->lines[i];
        if (l->line > last && same_file(l->file, c->file) && l->line >= c->decl_line &&
            l->line < c->decl_line + MAX_VIEW_ROWS)
            last = l->line;
    }
    cached_put(a);
    return last;
}

static void title_of(struct annot_view *v, const struct annot_counts *c, const char *what,
                     const char *where)
{
    double pct = c->total ? 100.0 * (double)c->func_total / (double)c->total : 0.0;
    snprintf(v->title, sizeof v->title,
             "%s: %.160s  %.160s  in its code %llu, total %llu (%.1f%%) of %llu", what, c->name,
             where, (unsigned long long)c->self_total, (unsigned long long)c->func_total, pct,
             (unsigned long long)c->total);
}

static struct annot_view *build_source(struct annot_env *env, const struct annot_counts *c,
                                       struct annot_view *v)
{
    title_of(v, c, "source", c->file[0] ? c->file : "?");
    if (c->kind == ANNOT_FUNC_OTHER)
        return view_error(v, "no source for %s: it is not a function of the program", c->name);
    if (!c->file[0])
        return view_error(v,
                          "source not found: %s has no line information — build it with -g "
                          "(or install its -dbgsym package)",
                          c->name);
    int code_hi = code_last_line(env, c);
    struct cached *s = source_get(env, c->file, v->error, sizeof v->error);
    if (!s)
        return v;
    view_keep(v, s);
    const struct srcfile *f = s->src;
    size_t lo, hi;
    source_range(c, f, code_hi, &lo, &hi);
    if (lo > hi)
        return view_error(v,
                          "%.200s has %zu lines, but %.100s starts at line %d \xe2\x80\x94 "
                          "the file changed since the build? (or give --source-path)",
                          f->path, f->nlines, c->name, c->decl_line);
    v->line_digits = digits((long)hi);
    for (size_t n = lo; n <= hi; n++) {
        struct annot_row *r = row_add(v);
        if (!r)
            return view_error(v, "out of memory building the source view");
        const struct annot_line_count *lc = line_count(c, (int)n);
        *r = (struct annot_row){.kind = ANNOT_ROW_SOURCE, .line = (int)n, .text = f->line[n - 1]};
        if (lc) {
            r->self = lc->self;
            r->incl = lc->incl;
        }
    }
    if (c->nlines && (size_t)c->lines[c->nlines - 1].line > f->nlines)
        snprintf(v->note, sizeof v->note,
                 "samples on line %d, past the end of %.100s (%zu lines): the file changed since "
                 "the build?",
                 c->lines[c->nlines - 1].line, short_name(f->path), f->nlines);
    else if (c->other_file)
        snprintf(v->note, sizeof v->note, "%llu samples on lines of other files (inlined code)",
                 (unsigned long long)c->other_file);
    mark_hot(v);
    return v;
}

/* ------------------------------------------------- instruction listing */

/* The hottest address of F (its container when F is inlined). */
static const struct annot_addr_count *hottest_addr(const struct annot_counts *c)
{
    const struct annot_addr_count *best = NULL;
    for (size_t i = 0; i < c->naddrs; i++)
        if (!best || c->addrs[i].self + c->addrs[i].incl > best->self + best->incl)
            best = &c->addrs[i];
    return best;
}

/* Labels for branch targets inside the listing, numbered in address
 * order; branches and calls get a note naming their target. */
static int decorate(struct annot_env *env, const struct module *mod, struct cached *a)
{
    const struct disasm *d = a->dis;
    a->label = calloc(d->n ? d->n : 1, sizeof(*a->label));
    a->text = calloc(d->n ? d->n : 1, sizeof(*a->text));
    size_t nbranch = 0, used = 0;
    for (size_t i = 0; i < d->n; i++)
        nbranch += d->insn[i].target != 0;
    size_t cap = nbranch * (DISASM_TEXT_MAX + 48) + 1;
    a->notes = malloc(cap);
    if (!a->label || !a->text || !a->notes)
        return -ENOMEM;
    for (size_t i = 0; i < d->n; i++) {
        size_t t = d->insn[i].target ? disasm_find(d, d->insn[i].target) : SIZE_MAX;
        if (t != SIZE_MAX && d->insn[t].addr == d->insn[i].target)
            a->label[t] = 1;
    }
    uint32_t next = 0;
    for (size_t i = 0; i < d->n; i++)
        if (a->label[i])
            a->label[i] = ++next;
    for (size_t i = 0; i < d->n; i++) {
        const struct disasm_insn *in = &d->insn[i];
        a->text[i] = in->text;
        size_t t = in->target ? disasm_find(d, in->target) : SIZE_MAX;
        char note[48] = "";
        uint64_t fs, fz;
        const char *fn;
        if (t != SIZE_MAX && a->label[t])
            snprintf(note, sizeof note, "  -> .L%u", a->label[t]);
        else if (in->is_call && in->target &&
                 sym_func_bounds(env->cfg.sym, mod->id, mod->name, mod->open_path, in->target, &fs,
                                 &fz, &fn) == 0)
            snprintf(note, sizeof note, "  <%.40s>", fn);
        if (!note[0])
            continue;
        /* the text and its note, stored in notes (offsets until the end) */
        int w = snprintf(a->notes + used, cap - used, "%s%s", in->text, note);
        if (w < 0 || (size_t)w >= cap - used)
            continue; /* out of note room: the plain text stays */
        a->text[i] = (const char *)(uintptr_t)(used + 1); /* +1: never 0 */
        used += (size_t)w + 1;
    }
    for (size_t i = 0; i < d->n; i++)
        if (a->text[i] != d->insn[i].text)
            a->text[i] = a->notes + ((uintptr_t)a->text[i] - 1);
    return 0;
}

/* The line of every instruction (innermost: where inlined code came from). */
static int map_lines(struct annot_env *env, const struct module *mod, struct cached *a)
{
    const struct disasm *d = a->dis;
    a->lines = calloc(d->n ? d->n : 1, sizeof(*a->lines));
    if (!a->lines)
        return -ENOMEM;
    for (size_t i = 0; i < d->n; i++)
        sym_line(env->cfg.sym, mod->id, mod->name, mod->open_path, d->insn[i].addr,
                 &a->lines[i].file, &a->lines[i].line);
    return 0;
}

static int disassemble(const struct module *mod, uint64_t start, uint64_t size, struct disasm **out,
                       char *err, size_t errsz)
{
    int fd = mod->fd;
    if (fd < 0)
        fd = open(mod->open_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errsz, "cannot read the machine code: %s: %s", mod->name, strerror(errno));
        return -errno;
    }
    char why[256];
    int rc = disasm_file(fd, start, size, out, why, sizeof why);
    if (rc < 0)
        snprintf(err, errsz, "cannot disassemble %s: %s", mod->name, why);
    if (fd != mod->fd)
        close(fd);
    return rc;
}

/* The cached listing of the function containing F's hottest code (a
 * reference the caller puts), or NULL with a message. */
static struct cached *asm_get(struct annot_env *env, const struct annot_counts *c, uint32_t *module,
                              char *err, size_t errsz)
{
    const struct annot_addr_count *h = hottest_addr(c);
    *module = h ? h->module : c->any_module;
    uint64_t addr = h ? h->addr : c->any_addr;
    const struct module *mod = env->cfg.reg ? modreg_get(env->cfg.reg, *module) : NULL;
    if (!mod || !env->cfg.sym) {
        snprintf(err, errsz, "no machine code for %s: no samples in its code in this window",
                 c->name);
        return NULL;
    }
    uint64_t start, size;
    const char *fname;
    if (sym_func_bounds(env->cfg.sym, mod->id, mod->name, mod->open_path, addr, &start, &size,
                        &fname) < 0) {
        snprintf(err, errsz, "no machine code for %s: no symbol covers 0x%llx in %s", c->name,
                 (unsigned long long)addr, mod->name);
        return NULL;
    }
    for (size_t i = 0; i < ANNOT_CACHE_VIEWS; i++) {
        struct cached *e = env->cache[i];
        if (e && e->kind == C_ASM && e->module == mod->id && e->start == start)
            return cache_take(env, e);
    }
    struct cached *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errsz, "out of memory disassembling %s", fname);
        return NULL;
    }
    a->kind = C_ASM;
    a->module = mod->id;
    a->start = start;
    a->fname = fname;
    atomic_init(&a->refs, 1);
    int rc = disassemble(mod, start, size, &a->dis, err, errsz);
    if (rc == 0 && (map_lines(env, mod, a) < 0 || decorate(env, mod, a) < 0)) {
        snprintf(err, errsz, "out of memory disassembling %s", fname);
        rc = -ENOMEM;
    }
    if (rc < 0) {
        cached_put(a);
        return NULL;
    }
    *cache_slot(env) = a;
    return cache_take(env, a);
}

/* Source text of file:line for a comment row; the first ASM_SRC_FILES
 * files are read (through the cache), others show no text. */
static const char *src_text(struct annot_env *env, struct annot_view *v, const char *file, int line)
{
    struct view_priv *p = v->priv;
    for (size_t i = 1; i < p->nrefs; i++)
        if (strcmp(p->refs[i]->key, file) == 0)
            return srcfile_line(p->refs[i]->src, (size_t)line);
    if (p->nrefs >= 1 + ASM_SRC_FILES)
        return NULL;
    char err[256];
    struct cached *s = source_get(env, file, err, sizeof err);
    if (!s)
        return NULL;
    view_keep(v, s);
    return srcfile_line(s->src, (size_t)line);
}

static int asm_rows(struct annot_env *env, struct annot_view *v, const struct cached *a)
{
    const char *file = NULL;
    int line = 0;
    for (size_t i = 0; i < a->dis->n; i++) {
        const struct insn_line *l = &a->lines[i];
        struct annot_row *r;
        if (l->line > 0 && (l->line != line || !same_file(l->file, file))) {
            file = l->file;
            line = l->line;
            const char *t = file ? src_text(env, v, file, line) : NULL;
            if (!(r = row_add(v)))
                return -ENOMEM;
            *r = (struct annot_row){.kind = ANNOT_ROW_COMMENT, .line = line};
            r->text = vstr(v, "%s:%d%s%s", file ? short_name(file) : "?", line, t ? "  " : "",
                           t ? t : "");
        }
        if (a->label[i]) {
            if (!(r = row_add(v)))
                return -ENOMEM;
            *r = (struct annot_row){.kind = ANNOT_ROW_LABEL, .addr = a->dis->insn[i].addr};
            r->text = vstr(v, ".L%u:", a->label[i]);
        }
        if (!(r = row_add(v)))
            return -ENOMEM;
        *r = (struct annot_row){.kind = ANNOT_ROW_INSN,
                                .addr = a->dis->insn[i].addr,
                                .line = l->line,
                                .text = a->text[i]};
    }
    return 0;
}

/* Adds F's address counts to the instruction rows; returns the samples
 * whose address is outside the listing. */
static uint64_t asm_counts(struct annot_view *v, const struct annot_counts *c,
                           const struct cached *a, uint32_t module)
{
    uint64_t elsewhere = 0;
    size_t *row_of = malloc((a->dis->n ? a->dis->n : 1) * sizeof(*row_of));
    if (!row_of)
        return 0;
    for (size_t i = 0, k = 0; i < v->nrows; i++)
        if (v->rows[i].kind == ANNOT_ROW_INSN)
            row_of[k++] = i;
    v->self_total = 0;
    for (size_t i = 0; i < c->naddrs; i++) {
        const struct annot_addr_count *ac = &c->addrs[i];
        size_t k = ac->module == module ? disasm_find(a->dis, ac->addr) : SIZE_MAX;
        if (k == SIZE_MAX) {
            elsewhere += ac->self + ac->incl;
            continue;
        }
        v->rows[row_of[k]].self += ac->self;
        v->rows[row_of[k]].incl += ac->incl;
        v->self_total += ac->self;
    }
    free(row_of);
    return elsewhere;
}

static struct annot_view *build_asm(struct annot_env *env, const struct annot_counts *c,
                                    struct annot_view *v)
{
    title_of(v, c, "asm", c->module[0] ? c->module : "?");
    if (c->kind == ANNOT_FUNC_PYTHON)
        return view_error(v,
                          "no machine code for a Python function: %s runs in the interpreter "
                          "(press v for its source)",
                          c->name);
    if (c->kind == ANNOT_FUNC_OTHER)
        return view_error(v, "no machine code for %s: it is not a function of the program",
                          c->name);
    uint32_t module;
    struct cached *a = asm_get(env, c, &module, v->error, sizeof v->error);
    if (!a)
        return v;
    view_keep(v, a);
    if (asm_rows(env, v, a) < 0)
        return view_error(v, "out of memory building the instruction view");
    uint64_t elsewhere = asm_counts(v, c, a, module);
    v->line_digits = 0;
    if (strcmp(a->fname, c->name) != 0)
        snprintf(v->note, sizeof v->note,
                 "%.80s is inlined: showing %.80s, where its hottest code is", c->name, a->fname);
    if (elsewhere)
        snprintf(v->note + strlen(v->note), sizeof v->note - strlen(v->note),
                 "%s%llu samples in its code outside %.80s (a .cold part or another copy)",
                 v->note[0] ? "; " : "", (unsigned long long)elsewhere, a->fname);
    if (a->dis->truncated)
        snprintf(v->note + strlen(v->note), sizeof v->note - strlen(v->note),
                 "%sonly the first %u KiB are shown", v->note[0] ? "; " : "",
                 DISASM_MAX_BYTES >> 10);
    mark_hot(v);
    return v;
}

struct annot_view *annot_build(struct annot_env *env, const struct annot_counts *c,
                               enum annot_kind kind)
{
    struct annot_view *v = view_new(kind, c);
    if (!v)
        return NULL;
    return kind == ANNOT_ASM ? build_asm(env, c, v) : build_source(env, c, v);
}
