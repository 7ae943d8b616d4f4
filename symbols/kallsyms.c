/*
 * kallsyms.c - kernel text symbols from /proc/kallsyms; see kallsyms.h.
 *
 * Lines are parsed one at a time into an array of entries that refer to
 * names by offset in one string pool (offsets survive the pool growing),
 * then sorted once.  Module names are interned: consecutive lines almost
 * always share theirs, so the last one is compared first.
 */
#include "symbols/kallsyms.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_MODULE UINT32_MAX
#define POOL_MAX  (512u << 20)
#define MAX_MODS  4096u

/* Name markers that end the text before them instead of starting a symbol. */
static const char *const stop_names[] = {"_etext", "_einittext"};

struct ksym {
    uint64_t addr;
    uint32_t name; /* offset in pool */
    uint32_t mod;  /* offset in pool, or NO_MODULE */
    bool global;   /* T/W rather than t/w */
    bool stop;     /* an end-of-text marker */
};

struct kallsyms {
    struct ksym *v;
    size_t n, cap;
    char *pool;
    size_t used, poolcap;
    uint32_t mods[MAX_MODS]; /* interned module names */
    size_t nmods;
    uint32_t last_mod;
    struct kallsyms_stats st;
    char *deferred; /* the file to read at the first lookup, or NULL */
};

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errsz, int ret,
                                                      const char *fmt, ...)
{
    if (err && errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return ret;
}

/* Copies len bytes of s and a NUL into the pool; offset or UINT32_MAX. */
static uint32_t pool_add(struct kallsyms *k, const char *s, size_t len)
{
    if (k->used + len + 1 > k->poolcap) {
        size_t n = k->poolcap ? k->poolcap : 64u * 1024u;
        while (n < k->used + len + 1)
            n *= 2;
        if (n > POOL_MAX)
            return UINT32_MAX;
        char *p = realloc(k->pool, n);
        if (!p)
            return UINT32_MAX;
        k->pool = p;
        k->poolcap = n;
    }
    uint32_t off = (uint32_t)k->used;
    memcpy(k->pool + off, s, len);
    k->pool[off + len] = '\0';
    k->used += len + 1;
    return off;
}

static bool pool_eq(const struct kallsyms *k, uint32_t off, const char *s, size_t len)
{
    return off != NO_MODULE && !strncmp(k->pool + off, s, len) && k->pool[off + len] == '\0';
}

static uint32_t intern_module(struct kallsyms *k, const char *s, size_t len)
{
    if (pool_eq(k, k->last_mod, s, len))
        return k->last_mod;
    for (size_t i = 0; i < k->nmods; i++)
        if (pool_eq(k, k->mods[i], s, len))
            return k->last_mod = k->mods[i];
    uint32_t off = pool_add(k, s, len);
    if (off != UINT32_MAX && k->nmods < MAX_MODS)
        k->mods[k->nmods++] = off;
    return k->last_mod = off;
}

static bool is_stop(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof stop_names / sizeof stop_names[0]; i++)
        if (strlen(stop_names[i]) == len && !memcmp(stop_names[i], s, len))
            return true;
    return false;
}

/* The next whitespace-delimited field of [*p, end). */
static bool field(const char **p, const char *end, const char **f, size_t *flen)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    const char *e = s;
    while (e < end && *e != ' ' && *e != '\t' && *e != '\r')
        e++;
    *f = s;
    *flen = (size_t)(e - s);
    *p = e;
    return e > s;
}

static bool parse_hex(const char *s, size_t len, uint64_t *v)
{
    if (!len || len > 16)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return false;
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return true;
}

/* "ADDR TYPE NAME [\t[MODULE]]": -ENOMEM only; everything else is counted. */
static int parse_line(struct kallsyms *k, const char *p, const char *end)
{
    const char *a, *t, *nm, *md = NULL;
    size_t alen, tlen, nlen, mlen = 0;
    uint64_t addr;
    k->st.lines++;
    if (!field(&p, end, &a, &alen) || !field(&p, end, &t, &tlen) || !field(&p, end, &nm, &nlen) ||
        tlen != 1 || !parse_hex(a, alen, &addr)) {
        k->st.junk++;
        return 0;
    }
    if (field(&p, end, &md, &mlen)) {
        if (mlen < 3 || md[0] != '[' || md[mlen - 1] != ']') {
            k->st.junk++;
            return 0;
        }
        md++;
        mlen -= 2;
    }
    char ty = t[0];
    if (ty != 't' && ty != 'T' && ty != 'w' && ty != 'W') {
        k->st.not_text++;
        return 0;
    }
    if (addr == 0) {
        k->st.zero_addr++;
        return 0;
    }
    if (k->n >= KALLSYMS_MAX_SYMS) {
        k->st.dropped++;
        return 0;
    }
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 4096;
        struct ksym *v = realloc(k->v, nc * sizeof *v);
        if (!v)
            return -ENOMEM;
        k->v = v;
        k->cap = nc;
    }
    uint32_t name = pool_add(k, nm, nlen);
    uint32_t mod = mlen ? intern_module(k, md, mlen) : NO_MODULE;
    if (name == UINT32_MAX || (mlen && mod == UINT32_MAX))
        return -ENOMEM;
    k->v[k->n++] = (struct ksym){.addr = addr,
                                 .name = name,
                                 .mod = mod,
                                 .global = ty == 'T' || ty == 'W',
                                 .stop = is_stop(nm, nlen)};
    return 0;
}

/* Which of two aliases at one address to keep (see kallsyms.h): < 0 for a.
 * The end-of-text markers lose to any real symbol at their address. */
static int cmp_alias(const struct kallsyms *k, const struct ksym *a, const struct ksym *b)
{
    if (a->stop != b->stop)
        return a->stop ? 1 : -1;
    if (a->global != b->global)
        return a->global ? -1 : 1;
    const char *x = k->pool + a->name, *y = k->pool + b->name;
    bool ux = x[0] == '_', uy = y[0] == '_';
    if (ux != uy)
        return ux ? 1 : -1;
    size_t lx = strlen(x), ly = strlen(y);
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return strcmp(x, y);
}

static int cmp_sym(const void *pa, const void *pb, void *ctx)
{
    const struct ksym *a = pa, *b = pb;
    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    return cmp_alias(ctx, a, b);
}

static void finish(struct kallsyms *k)
{
    if (k->n) /* an empty table has no array */
        qsort_r(k->v, k->n, sizeof *k->v, cmp_sym, k);
    size_t w = 0;
    for (size_t i = 0; i < k->n; i++)
        if (w == 0 || k->v[w - 1].addr != k->v[i].addr)
            k->v[w++] = k->v[i];
    k->n = w;
    k->st.kept = w;
}

static int done(struct kallsyms *k, struct kallsyms **out, const char *what, char *err,
                size_t errsz)
{
    finish(k);
    *out = k;
    if (k->st.zero_addr && !k->n)
        return fail(err, errsz, 0,
                    "%s: every kernel symbol address reads as 0 (hidden by kernel.kptr_restrict) "
                    "— run as root, or sysctl kernel.kptr_restrict=0, to name kernel frames",
                    what);
    if (!k->n)
        return fail(err, errsz, 0, "%s: no kernel text symbols found", what);
    return fail(err, errsz, 0, "%s: %zu kernel text symbols", what, k->n);
}

int kallsyms_parse(struct kallsyms **out, const char *buf, size_t len, char *err, size_t errsz)
{
    *out = NULL;
    struct kallsyms *k = calloc(1, sizeof *k);
    if (!k)
        return fail(err, errsz, -ENOMEM, "out of memory for the kernel symbols");
    k->last_mod = NO_MODULE;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        int ret = 0;
        if ((size_t)(eol - p) > KALLSYMS_MAX_LINE) {
            k->st.lines++;
            k->st.junk++;
        } else if (eol > p) {
            ret = parse_line(k, p, eol);
        }
        if (ret < 0) {
            kallsyms_free(k);
            return fail(err, errsz, ret, "out of memory for the kernel symbols");
        }
        p = nl ? nl + 1 : end;
    }
    return done(k, out, "kernel symbols", err, errsz);
}

/* Skips the rest of an overlong line; false at end of file. */
static bool skip_line(FILE *f)
{
    int c;
    while ((c = getc(f)) != EOF)
        if (c == '\n')
            return true;
    return false;
}

/* Parses the lines of f into k, unsorted: 0, -ENOMEM or -EIO. */
static int read_into(struct kallsyms *k, FILE *f)
{
    char line[KALLSYMS_MAX_LINE + 2];
    int ret = 0;
    /* one read fills the buffer whole: ~5 reads instead of ~1,200 */
    setvbuf(f, NULL, _IOFBF, 1u << 20);
    while (ret == 0 && fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        if (len && line[len - 1] == '\n') {
            ret = parse_line(k, line, line + len - 1);
        } else if (len > KALLSYMS_MAX_LINE) {
            k->st.lines++;
            k->st.junk++;
            if (!skip_line(f))
                break;
        } else {
            ret = parse_line(k, line, line + len); /* last line, no newline */
        }
    }
    if (ret == 0 && ferror(f))
        ret = -EIO;
    return ret;
}

static struct kallsyms *table_new(void)
{
    struct kallsyms *k = calloc(1, sizeof *k);
    if (k)
        k->last_mod = NO_MODULE;
    return k;
}

static int load_failed(int ret, const char *path, char *err, size_t errsz)
{
    return ret == -ENOMEM ? fail(err, errsz, ret, "out of memory for the kernel symbols")
                          : fail(err, errsz, ret, "error reading %s", path);
}

/* A new table filled from path by read: 0 with *out set, or -errno with
 * the message in err (no table). */
static int read_path(const char *path, int (*read)(struct kallsyms *, FILE *),
                     struct kallsyms **out, char *err, size_t errsz)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        return fail(err, errsz, -e, "cannot read %s: %s", path, strerror(e));
    }
    struct kallsyms *k = table_new();
    int ret = k ? read(k, f) : -ENOMEM;
    fclose(f);
    if (ret < 0) {
        kallsyms_free(k);
        return load_failed(ret, path, err, errsz);
    }
    *out = k;
    return 0;
}

int kallsyms_load(struct kallsyms **out, const char *path, char *err, size_t errsz)
{
    *out = NULL;
    if (!path)
        path = KALLSYMS_PATH;
    struct kallsyms *k;
    int ret = read_path(path, read_into, &k, err, errsz);
    return ret < 0 ? ret : done(k, out, path, err, errsz);
}

/* The first text symbol of f, parsed into k: its address tells whether
 * kptr_restrict hides them. */
static int probe_first(struct kallsyms *k, FILE *f)
{
    char line[KALLSYMS_MAX_LINE + 2];
    int ret = 0;
    for (int i = 0; i < 64 && ret == 0 && !k->n && !k->st.zero_addr && fgets(line, sizeof line, f);
         i++)
        ret = parse_line(k, line, line + strcspn(line, "\n"));
    return ret;
}

int kallsyms_defer(struct kallsyms **out, const char *path, char *err, size_t errsz)
{
    *out = NULL;
    if (!path)
        path = KALLSYMS_PATH;
    struct kallsyms *k;
    int ret = read_path(path, probe_first, &k, err, errsz);
    if (ret < 0)
        return ret;
    if (!k->n) /* hidden or empty: nothing to wait for */
        return done(k, out, path, err, errsz);
    kallsyms_free(k);
    k = table_new();
    if (k)
        k->deferred = strdup(path);
    if (!k || !k->deferred) {
        kallsyms_free(k);
        return fail(err, errsz, -ENOMEM, "out of memory for the kernel symbols");
    }
    *out = k;
    return fail(err, errsz, 0, "%s: kernel symbols, read at the first kernel frame", path);
}

/* A deferred table reads its file now; a failure leaves it empty (every
 * lookup misses, as with a hidden table). */
static void load_deferred(struct kallsyms *k)
{
    char *path = k->deferred;
    if (!path)
        return;
    k->deferred = NULL;
    FILE *f = fopen(path, "re");
    if (f && read_into(k, f) < 0)
        k->n = 0;
    finish(k);
    if (f)
        fclose(f);
    free(path);
}

void kallsyms_free(struct kallsyms *k)
{
    if (!k)
        return;
    free(k->v);
    free(k->pool);
    free(k->deferred);
    free(k);
}

bool kallsyms_usable(const struct kallsyms *k)
{
    return k && (k->n > 0 || k->deferred);
}

size_t kallsyms_count(struct kallsyms *k)
{
    if (k)
        load_deferred(k);
    return k ? k->n : 0;
}

void kallsyms_get_stats(struct kallsyms *k, struct kallsyms_stats *out)
{
    memset(out, 0, sizeof *out);
    if (k)
        load_deferred(k);
    if (k)
        *out = k->st;
}

/* How far the symbol at index i reaches (exclusive). */
static uint64_t reach(const struct kallsyms *k, size_t i)
{
    const struct ksym *s = &k->v[i];
    uint64_t cap = s->addr + KALLSYMS_TAIL_CAP < s->addr ? UINT64_MAX : s->addr + KALLSYMS_TAIL_CAP;
    if (i + 1 == k->n)
        return cap;
    const struct ksym *next = &k->v[i + 1];
    if (next->mod == s->mod || next->stop)
        return next->addr;
    return next->addr < cap ? next->addr : cap;
}

int kallsyms_lookup(struct kallsyms *k, uint64_t addr, struct kallsyms_sym *out)
{
    if (k)
        load_deferred(k);
    if (!k || !k->n || addr < k->v[0].addr)
        return -ENOENT;
    size_t lo = 0, hi = k->n; /* v[lo].addr <= addr < v[hi].addr */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (k->v[mid].addr <= addr)
            lo = mid;
        else
            hi = mid;
    }
    const struct ksym *s = &k->v[lo];
    if (s->stop || addr >= reach(k, lo))
        return -ENOENT;
    out->addr = s->addr;
    out->offset = addr - s->addr;
    out->name = k->pool + s->name;
    out->module = s->mod == NO_MODULE ? NULL : k->pool + s->mod;
    return 0;
}

uint64_t kallsyms_addr_of(struct kallsyms *k, const char *name)
{
    if (k)
        load_deferred(k);
    for (size_t i = 0; k && i < k->n; i++)
        if (!strcmp(k->pool + k->v[i].name, name))
            return k->v[i].addr;
    return 0;
}
