/*
 * profile.c - profiles read from folded or pprof files (see profile.h).
 *
 * Storage: function names interned in an open-addressing table keyed by the
 * compared name; stacks deduplicated in a second table, their frames in
 * fixed blocks that never move (so struct prof_stack pointers stay valid
 * while stacks are added).  Self and total sums are kept up to date on
 * every add, so readers need no "finish" step.
 */
#include "src/profile/profile.h"
#include "common/vec.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/readfile.h"
#include "src/profile/pprof_read.h"

#define FRAME_BLOCK (1u << 16) /* frames per storage block (at least) */

struct frame_block {
    struct frame_block *next;
    size_t used, cap;
    uint32_t f[];
};

struct profile {
    enum profile_format fmt;
    struct prof_meta meta;

    struct prof_func *funcs;
    uint64_t *mark; /* per function: serial of the last stack that counted its total */
    size_t nfuncs, cap_funcs;
    uint32_t *fslots; /* function id + 1, 0 = empty */
    size_t fcap;      /* power of two */

    struct prof_stack *stacks;
    size_t nstacks, cap_stacks;
    uint32_t *sslots; /* stack index + 1 */
    size_t scap;
    struct frame_block *blocks;
    uint64_t serial;
};

/* ------------------------------------------------------------ building */

struct profile *profile_new(enum profile_format fmt)
{
    struct profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->fmt = fmt;
    return p;
}

void profile_free(struct profile *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nfuncs; i++)
        free((char *)p->funcs[i].name);
    free(p->funcs);
    free(p->mark);
    free(p->fslots);
    free(p->stacks);
    free(p->sslots);
    for (struct frame_block *b = p->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(p);
}

size_t profile_name_norm(char *name, size_t len)
{
    /* "qualname (file.py:123)": drop ":DIGITS" before the ')' */
    if (len < 5 || name[len - 1] != ')')
        return len;
    size_t i = len - 1;
    size_t digits_end = i;
    while (i > 0 && isdigit((unsigned char)name[i - 1]))
        i--;
    if (i == digits_end || i == 0 || name[i - 1] != ':')
        return len;
    /* A FILE that itself ends in ":DIGITS" ("f (x.py:12:12)") is kept whole:
     * cut once, it would be cut again when looked up by its kept name. */
    size_t k = i - 1;
    while (k > 0 && isdigit((unsigned char)name[k - 1]))
        k--;
    if (k < i - 1 && k > 0 && name[k - 1] == ':')
        return len;
    const char *open = NULL;
    for (size_t k = i - 1; k > 0; k--) {
        if (name[k] == '(') {
            open = name + k;
            break;
        }
    }
    if (!open || open == name + 1 || open[-1] != ' ' || open + 1 == name + i - 1)
        return len;
    name[i - 1] = ')';
    name[i] = '\0';
    return i;
}

/* The length of name before a " (FILE)" suffix, or 0 when it has none. */
static size_t bare_len(const char *name, size_t len)
{
    if (len < 5 || name[len - 1] != ')')
        return 0;
    const char *open = memrchr(name, '(', len);
    return open && open > name + 1 && open[-1] == ' ' ? (size_t)(open - 1 - name) : 0;
}

static int grow_slots(uint32_t **slots, size_t *cap, size_t count,
                      uint64_t (*hash_of)(const struct profile *, uint32_t),
                      const struct profile *p)
{
    if (*cap && (count + 1) * 4 <= *cap * 3)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 1024;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < *cap; i++) {
        if (!(*slots)[i])
            continue;
        size_t k = hash_of(p, (*slots)[i] - 1) & (ncap - 1);
        while (ns[k])
            k = (k + 1) & (ncap - 1);
        ns[k] = (*slots)[i];
    }
    free(*slots);
    *slots = ns;
    *cap = ncap;
    return 0;
}

static uint64_t func_hash(const struct profile *p, uint32_t id)
{
    return hash_bytes(p->funcs[id].name, strlen(p->funcs[id].name));
}

/* The id of name[0..len) (compared by its key), added when new; -ENOMEM.
 * Names come from untrusted files: cut at a NUL and at PROFILE_MAX_NAME
 * bytes, control characters shown as '?' (they would reach the terminal). */
static int64_t intern_func(struct profile *p, const char *raw, size_t len)
{
    char name[PROFILE_MAX_NAME];
    size_t n = 0;
    for (; n < len && n < sizeof name - 1 && raw[n]; n++)
        name[n] = (unsigned char)raw[n] < 0x20 || raw[n] == 0x7f ? '?' : raw[n];
    name[n] = '\0';
    len = profile_name_norm(name, n);
    if (grow_slots(&p->fslots, &p->fcap, p->nfuncs, func_hash, p) < 0)
        return -ENOMEM;
    size_t k = hash_bytes(name, len) & (p->fcap - 1);
    for (; p->fslots[k]; k = (k + 1) & (p->fcap - 1)) {
        const char *s = p->funcs[p->fslots[k] - 1].name;
        if (strncmp(s, name, len) == 0 && s[len] == '\0')
            return p->fslots[k] - 1;
    }
    if (p->nfuncs == UINT32_MAX - 1)
        return -ENOMEM;
    /* funcs and mark have one length: cap_funcs follows once both grew */
    size_t fcap = p->cap_funcs, mcap = p->cap_funcs;
    if (vec_reserve(&p->funcs, &fcap, p->nfuncs + 1, sizeof *p->funcs) < 0 ||
        vec_reserve(&p->mark, &mcap, p->nfuncs + 1, sizeof *p->mark) < 0)
        return -ENOMEM;
    p->cap_funcs = fcap;
    char *copy = strndup(name, len);
    if (!copy)
        return -ENOMEM;
    p->funcs[p->nfuncs] = (struct prof_func){.name = copy};
    p->mark[p->nfuncs] = 0;
    p->fslots[k] = (uint32_t)p->nfuncs + 1;
    return (int64_t)p->nfuncs++;
}

static uint64_t stack_hash_of(const uint32_t *f, uint32_t n)
{
    uint64_t h = n;
    for (uint32_t i = 0; i < n; i++)
        h = hash_combine(h, f[i]);
    return h;
}

static uint64_t stack_hash(const struct profile *p, uint32_t id)
{
    return stack_hash_of(p->stacks[id].funcs, p->stacks[id].n);
}

static uint32_t *store_frames(struct profile *p, const uint32_t *f, uint32_t n)
{
    struct frame_block *b = p->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > FRAME_BLOCK ? n : FRAME_BLOCK;
        b = malloc(sizeof *b + cap * sizeof b->f[0]);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = p->blocks;
        p->blocks = b;
    }
    uint32_t *dst = b->f + b->used;
    memcpy(dst, f, n * sizeof *f);
    b->used += n;
    return dst;
}

/* Adds count to the stack f[0..n) (function ids, root first). */
static int add_ids(struct profile *p, const uint32_t *f, uint32_t n, uint64_t count)
{
    if (grow_slots(&p->sslots, &p->scap, p->nstacks, stack_hash, p) < 0)
        return -ENOMEM;
    size_t k = stack_hash_of(f, n) & (p->scap - 1);
    for (; p->sslots[k]; k = (k + 1) & (p->scap - 1)) {
        struct prof_stack *s = &p->stacks[p->sslots[k] - 1];
        if (s->n == n && memcmp(s->funcs, f, n * sizeof *f) == 0)
            break;
    }
    if (!p->sslots[k]) {
        if (vec_reserve(&p->stacks, &p->cap_stacks, p->nstacks + 1, sizeof *p->stacks) < 0)
            return -ENOMEM;
        const uint32_t *stored = store_frames(p, f, n);
        if (!stored)
            return -ENOMEM;
        p->stacks[p->nstacks] = (struct prof_stack){.count = 0, .n = n, .funcs = stored};
        p->sslots[k] = (uint32_t)++p->nstacks;
    }
    p->stacks[p->sslots[k] - 1].count += count;
    p->meta.samples += count;
    p->funcs[f[n - 1]].self += count;
    p->serial++;
    for (uint32_t i = 0; i < n; i++) {
        /* recursion counts once per stack in the total */
        if (p->mark[f[i]] != p->serial) {
            p->mark[f[i]] = p->serial;
            p->funcs[f[i]].total += count;
        }
    }
    return 0;
}

int profile_add_stack(struct profile *p, const char *const *names, size_t n, uint64_t count)
{
    if (n == 0 || n > PROFILE_MAX_DEPTH)
        return -EINVAL;
    uint32_t ids[PROFILE_MAX_DEPTH];
    for (size_t i = 0; i < n; i++) {
        int64_t id = intern_func(p, names[i], strlen(names[i]));
        if (id < 0)
            return (int)id;
        ids[i] = (uint32_t)id;
    }
    return add_ids(p, ids, (uint32_t)n, count);
}

void profile_set_meta(struct profile *p, const struct prof_meta *meta)
{
    uint64_t samples = p->meta.samples;
    p->meta = *meta;
    p->meta.samples = samples;
}

int64_t profile_intern(struct profile *p, const char *name, size_t len)
{
    return intern_func(p, name, len);
}

int profile_add_ids(struct profile *p, const uint32_t *ids, uint32_t n, uint64_t count)
{
    if (n == 0 || n > PROFILE_MAX_DEPTH)
        return -EINVAL;
    return add_ids(p, ids, n, count);
}

struct prof_meta *profile_meta_mut(struct profile *p)
{
    return &p->meta;
}

/* ------------------------------------------------------------ reading */

const struct prof_meta *profile_meta(const struct profile *p)
{
    return &p->meta;
}

enum profile_format profile_format(const struct profile *p)
{
    return p->fmt;
}

uint64_t profile_samples(const struct profile *p)
{
    return p->meta.samples;
}

size_t profile_nstacks(const struct profile *p)
{
    return p->nstacks;
}

const struct prof_stack *profile_stack(const struct profile *p, size_t i)
{
    return i < p->nstacks ? &p->stacks[i] : NULL;
}

size_t profile_nfuncs(const struct profile *p)
{
    return p->nfuncs;
}

const struct prof_func *profile_func(const struct profile *p, uint32_t id)
{
    return id < p->nfuncs ? &p->funcs[id] : NULL;
}

static int64_t find_exact(const struct profile *p, const char *name, size_t len)
{
    size_t k = hash_bytes(name, len) & (p->fcap - 1);
    for (; p->fslots[k]; k = (k + 1) & (p->fcap - 1)) {
        const char *s = p->funcs[p->fslots[k] - 1].name;
        if (strncmp(s, name, len) == 0 && s[len] == '\0')
            return p->fslots[k] - 1;
    }
    return -1;
}

int64_t profile_find(const struct profile *p, const char *name)
{
    if (!p->fcap)
        return -1;
    char key[PROFILE_MAX_NAME];
    snprintf(key, sizeof key, "%s", name);
    size_t len = profile_name_norm(key, strlen(key));
    int64_t id = find_exact(p, key, len);
    if (id >= 0)
        return id;
    size_t bare = bare_len(key, len);
    if (bare) /* "work (app.py)" against a profile that names it "work" */
        return find_exact(p, key, bare);
    for (uint32_t i = 0; i < p->nfuncs; i++) { /* "work" against "work (app.py)" */
        const char *s = p->funcs[i].name;
        if (!strncmp(s, key, len) && s[len] == ' ' && s[len + 1] == '(' &&
            bare_len(s, strlen(s)) == len)
            return i;
    }
    return -1;
}

/* ------------------------------------------------------------ folded */

static int set_err(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_err(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0;
}

/* "COUNT" at the end of a line: digits only, no overflow. */
static bool parse_count(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Frames of s[0..end) (';'-separated, empty ones left out). */
static size_t count_frames(const char *s, size_t end)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= end; i++) {
        if (i < end && s[i] != ';')
            continue;
        n += i > start;
        start = i + 1;
    }
    return n;
}

/* One line "a;b;c COUNT" (no newline).  1 added, 0 skipped, <0 error.  A
 * stack deeper than PROFILE_MAX_DEPTH keeps its leaf-most frames; the
 * others are not even interned. */
static int folded_line(struct profile *p, const char *s, size_t n, uint32_t *ids)
{
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || s[0] == '#')
        return 0;
    size_t sp = n;
    while (sp && s[sp - 1] != ' ' && s[sp - 1] != '\t')
        sp--;
    uint64_t count;
    if (sp == 0)
        return -EINVAL;
    if (!parse_count(s + sp, n - sp, &count))
        return all_digits(s + sp, n - sp) ? -ERANGE : -EINVAL;
    size_t end = sp - 1;
    while (end && (s[end - 1] == ' ' || s[end - 1] == '\t'))
        end--;
    size_t total = count_frames(s, end);
    if (total == 0)
        return -EINVAL;
    size_t skip = total > PROFILE_MAX_DEPTH ? total - PROFILE_MAX_DEPTH : 0;
    size_t seen = 0, depth = 0, start = 0;
    for (size_t i = 0; i <= end; i++) {
        if (i < end && s[i] != ';')
            continue;
        if (i > start && seen++ >= skip) {
            int64_t id = intern_func(p, s + start, i - start);
            if (id < 0)
                return (int)id;
            ids[depth++] = (uint32_t)id;
        }
        start = i + 1;
    }
    int rc = add_ids(p, ids, (uint32_t)depth, count);
    return rc < 0 ? rc : 1;
}

static int parse_folded(const char *buf, size_t len, const char *name, struct profile *p, char *err,
                        size_t errsz)
{
    uint32_t *ids = malloc(PROFILE_MAX_DEPTH * sizeof *ids);
    if (!ids)
        return -ENOMEM;
    size_t lineno = 0, added = 0;
    int rc = 0;
    for (size_t pos = 0; pos < len && rc >= 0;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        lineno++;
        rc = folded_line(p, buf + pos, n, ids);
        if (rc == -EINVAL)
            set_err(err, errsz,
                    "pertop: %s:%zu: not a folded stack line (expected 'frame;frame;... COUNT')"
                    " — pass a folded or pprof profile",
                    name, lineno);
        else if (rc == -ERANGE)
            set_err(err, errsz,
                    "pertop: %s:%zu: the sample count is too large (at most %" PRIu64
                    ") — correct that line, or scale the file's counts down",
                    name, lineno, UINT64_MAX);
        else if (rc > 0)
            added++;
        pos += n + 1;
    }
    free(ids);
    if (rc == -ENOMEM)
        return set_err(err, errsz, "pertop: %s: out of memory while reading it", name), -ENOMEM;
    if (rc >= 0 && added == 0)
        rc = set_err(err, errsz,
                     "pertop: %s: no stacks in this folded file — record one with "
                     "'pertop --batch --output FILE --format folded'",
                     name);
    return rc == -ERANGE ? -EINVAL : rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------ entry points */

#define SNIFF_BYTES 4096 /* how much of a file decides its format */

static bool is_control(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
}

/* Whether line s[0..n) ends in a folded count: blanks, then digits, after
 * something. */
static bool ends_in_count(const unsigned char *s, size_t n)
{
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    size_t d = n;
    while (d && isdigit(s[d - 1]))
        d--;
    return d < n && d >= 2 && (s[d - 1] == ' ' || s[d - 1] == '\t');
}

/* Folded text: the lines that start the file (at least the first whole
 * one, however long; then on to SNIFF_BYTES) all end in a count where they
 * hold a stack, and one does.  Control bytes in frame names (an ESC of a
 * colour code, a BEL) do not matter: the reader shows them as '?'.  A
 * profile.proto does not pass: its "lines" (the runs between 0x0a bytes)
 * are field tags, lengths and ids. */
static bool looks_folded(const unsigned char *b, size_t len)
{
    size_t stacks = 0;
    for (size_t pos = 0; pos < len && (pos < SNIFF_BYTES || stacks == 0);) {
        const unsigned char *nl = memchr(b + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - b) : len;
        size_t k = pos;
        while (k < end && (b[k] == ' ' || b[k] == '\t' || b[k] == '\r'))
            k++;
        if (k < end && b[k] != '#') {
            if (!ends_in_count(b + pos, end - pos))
                return false;
            stacks++;
        }
        pos = end + 1;
    }
    return stacks > 0;
}

/* Binary: control bytes are common (more than one in 16), as in any
 * protobuf; text that is no folded profile has few, and goes to the folded
 * reader, which says which line is wrong. */
static bool looks_binary(const unsigned char *b, size_t len)
{
    size_t n = len < SNIFF_BYTES ? len : SNIFF_BYTES, ctl = 0;
    for (size_t i = 0; i < n; i++)
        ctl += is_control(b[i]);
    return ctl * 16 > n;
}

int profile_parse(const void *buf, size_t len, const char *name, struct profile **out, char *err,
                  size_t errsz)
{
    *out = NULL;
    const unsigned char *b = buf;
    if (len == 0)
        return set_err(err, errsz,
                       "pertop: %s: empty file — pass a folded or pprof profile "
                       "(pertop --output FILE --format folded|pprof)",
                       name);
    /* pprof is gzipped (go tool pprof, pertop) or a bare profile.proto */
    bool gz = len >= 2 && b[0] == 0x1f && b[1] == 0x8b;
    bool pprof = gz || (!looks_folded(b, len) && looks_binary(b, len));
    struct profile *p = profile_new(pprof ? PROFILE_PPROF : PROFILE_FOLDED);
    if (!p) {
        snprintf(err, errsz, "pertop: %s: out of memory while reading it", name);
        return -ENOMEM;
    }
    int rc = pprof ? pprof_read(p, b, len, gz, name, err, errsz)
                   : parse_folded(buf, len, name, p, err, errsz);
    if (rc < 0) {
        profile_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errsz)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errsz, "pertop: cannot read %s: %s — check the path", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        close(fd);
        return set_err(err, errsz, "pertop: %s is a folder — pass a profile file", path);
    }
    /* a pipe (`pertop diff a.folded <(...)`) has no size to trust: read to
     * its end, at most PROFILE_MAX_FILE bytes */
    int rc = readfile_fd(fd, PROFILE_MAX_FILE, buf, len);
    close(fd);
    if (rc == -EFBIG)
        snprintf(err, errsz, "pertop: %s is too big (more than %u MiB) — pass a smaller profile",
                 path, PROFILE_MAX_FILE >> 20);
    else if (rc == -ENOMEM)
        snprintf(err, errsz, "pertop: %s: out of memory while reading it", path);
    else if (rc < 0)
        snprintf(err, errsz, "pertop: cannot read %s: %s", path, strerror(-rc));
    return rc;
}

int profile_load(const char *path, struct profile **out, char *err, size_t errsz)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, err, errsz);
    if (rc < 0)
        return rc;
    rc = profile_parse(buf, len, path, out, err, errsz);
    free(buf);
    return rc;
}
