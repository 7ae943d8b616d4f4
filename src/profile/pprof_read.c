/*
 * pprof_read.c - profile.proto to struct profile (see pprof_read.h).
 *
 * Three passes over the top-level fields: count what is there, fill the
 * tables (strings, functions, mappings, locations with their lines), then
 * turn each sample into a stack of function names, root first.
 */
#include "src/profile/pprof_read.h"
#include "common/vec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "src/export/protobuf.h"

/* profile.proto field numbers */
enum {
    P_SAMPLE_TYPE = 1,
    P_SAMPLE = 2,
    P_MAPPING = 3,
    P_LOCATION = 4,
    P_FUNCTION = 5,
    P_STRING = 6,
    P_DURATION = 10,
    P_PERIOD_TYPE = 11,
    P_PERIOD = 12,
    P_COMMENT = 13,
    P_DEFAULT_TYPE = 14
};

struct pstr {
    const char *s;
    size_t n;
};

struct pfunc {
    uint64_t id, name;
    int64_t pid; /* profile function id, -1 until first used */
};

struct pmap {
    uint64_t id, start, offset, file;
};

struct ploc {
    uint64_t id, mapping, address;
    size_t line0, nlines; /* into rd.lines: function ids, innermost first */
};

struct rd {
    struct profile *p;
    const char *name;
    char *err;
    size_t errsz;
    struct pstr *str;
    size_t nstr;
    struct pfunc *fn;
    size_t nfn;
    struct pmap *map;
    size_t nmap;
    struct ploc *loc;
    size_t nloc;
    uint64_t *lines;
    size_t nlines, cap_lines;
    uint64_t *types; /* sample type names (string indexes) */
    size_t ntypes;
    uint64_t default_type, period, duration, period_unit;
    uint32_t *ids; /* stack being built, 2 * PROFILE_MAX_DEPTH */
};

static int bad(struct rd *r, const char *what)
{
    snprintf(r->err, r->errsz,
             "pertop: %s: corrupt pprof data (%s) — the file is truncated or not a "
             "profile.proto; export it again",
             r->name, what);
    return -EINVAL;
}

static int oom(struct rd *r)
{
    snprintf(r->err, r->errsz, "pertop: %s: out of memory while reading it", r->name);
    return -ENOMEM;
}

/* ------------------------------------------------------------ gzip */

static int gunzip(struct rd *r, const unsigned char *in, size_t len, unsigned char **out,
                  size_t *outlen)
{
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return oom(r);
    size_t cap = len * 4 < (1u << 16) ? (1u << 16) : len * 4, n = 0;
    if (cap > PROFILE_MAX_INFLATED)
        cap = PROFILE_MAX_INFLATED;
    unsigned char *b = malloc(cap);
    int zrc = Z_OK, rc = 0;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
    while (b && zrc == Z_OK) {
        int grown = vec_reserve_max(&b, &cap, n + 1, 1, PROFILE_MAX_INFLATED);
        if (grown == -E2BIG) {
            rc = bad(r, "more than 1 GiB once uncompressed");
            break;
        }
        if (grown < 0) {
            rc = oom(r);
            break;
        }
        z.next_out = b + n;
        z.avail_out = (uInt)(cap - n);
        zrc = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
    }
    inflateEnd(&z);
    if (rc == 0 && zrc != Z_STREAM_END)
        rc = !b || zrc == Z_MEM_ERROR ? oom(r) : bad(r, "gzip stream truncated or damaged");
    if (rc < 0) {
        free(b);
        return rc;
    }
    *out = b;
    *outlen = n;
    return 0;
}

/* ------------------------------------------------------------ tables */

static int by_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b; /* id is the first member */
    return x < y ? -1 : x > y;
}

static void *find_id(void *base, size_t n, size_t size, uint64_t id)
{
    return id ? bsearch(&id, base, n, size, by_id) : NULL;
}

/* Counts the top-level fields and reads the scalar ones. */
static int pass_count(struct rd *r, const uint8_t *d, size_t len)
{
    struct pb_reader rd;
    struct pb_field f;
    int k;
    pb_reader_init(&rd, d, len);
    while ((k = pb_next(&rd, &f)) > 0) {
        bool isvar = f.wire == PB_VARINT, islen = f.wire == PB_LEN;
        switch (f.num) {
        case P_STRING:
            r->nstr += islen;
            break;
        case P_FUNCTION:
            r->nfn += islen;
            break;
        case P_MAPPING:
            r->nmap += islen;
            break;
        case P_LOCATION:
            r->nloc += islen;
            break;
        case P_SAMPLE_TYPE:
            r->ntypes += islen;
            break;
        case P_PERIOD:
            r->period = isvar ? f.v : 0;
            break;
        case P_DURATION:
            r->duration = isvar ? f.v : 0;
            break;
        case P_DEFAULT_TYPE:
            r->default_type = isvar ? f.v : 0;
            break;
        default:
            break;
        }
    }
    return k < 0 ? bad(r, "a field runs past the end") : 0;
}

/* The varint fields of a small message into v[1..nv) by field number. */
static int small_msg(const struct pb_field *m, uint64_t *v, size_t nv)
{
    struct pb_reader rd;
    struct pb_field f;
    int k;
    memset(v, 0, nv * sizeof *v);
    pb_reader_init(&rd, m->data, m->len);
    while ((k = pb_next(&rd, &f)) > 0)
        if (f.wire == PB_VARINT && f.num < nv)
            v[f.num] = f.v;
    return k;
}

static int add_line_func(struct rd *r, uint64_t func)
{
    if (vec_reserve(&r->lines, &r->cap_lines, r->nlines + 1, sizeof *r->lines) < 0)
        return -ENOMEM;
    r->lines[r->nlines++] = func;
    return 0;
}

static int read_location(struct rd *r, const struct pb_field *m, struct ploc *l)
{
    struct pb_reader rd;
    struct pb_field f;
    int k;
    memset(l, 0, sizeof *l);
    l->line0 = r->nlines;
    pb_reader_init(&rd, m->data, m->len);
    while ((k = pb_next(&rd, &f)) > 0) {
        if (f.wire == PB_VARINT && f.num == 1)
            l->id = f.v;
        else if (f.wire == PB_VARINT && f.num == 2)
            l->mapping = f.v;
        else if (f.wire == PB_VARINT && f.num == 3)
            l->address = f.v;
        else if (f.wire == PB_LEN && f.num == 4) {
            uint64_t line[3];
            if (small_msg(&f, line, 3) < 0)
                return bad(r, "a location's line is malformed");
            if (add_line_func(r, line[1]) < 0)
                return oom(r);
            l->nlines++;
        }
    }
    return k < 0 ? bad(r, "a location is malformed") : 0;
}

static int pass_fill(struct rd *r, const uint8_t *d, size_t len)
{
    struct pb_reader rd;
    struct pb_field f;
    int k;
    size_t is = 0, ifn = 0, im = 0, il = 0, it = 0;
    pb_reader_init(&rd, d, len);
    while ((k = pb_next(&rd, &f)) > 0) {
        uint64_t v[7];
        if (f.wire != PB_LEN)
            continue;
        if (f.num == P_STRING) {
            r->str[is++] = (struct pstr){(const char *)f.data, f.len};
        } else if (f.num == P_FUNCTION) {
            if (small_msg(&f, v, 3) < 0)
                return bad(r, "a function is malformed");
            r->fn[ifn++] = (struct pfunc){.id = v[1], .name = v[2], .pid = -1};
        } else if (f.num == P_MAPPING) {
            if (small_msg(&f, v, 7) < 0)
                return bad(r, "a mapping is malformed");
            r->map[im++] = (struct pmap){.id = v[1], .start = v[2], .offset = v[4], .file = v[5]};
        } else if (f.num == P_LOCATION) {
            int rc = read_location(r, &f, &r->loc[il++]);
            if (rc < 0)
                return rc;
        } else if (f.num == P_SAMPLE_TYPE) {
            if (small_msg(&f, v, 3) < 0)
                return bad(r, "a sample type is malformed");
            r->types[it++] = v[1];
        } else if (f.num == P_PERIOD_TYPE) {
            if (small_msg(&f, v, 3) < 0)
                return bad(r, "the period type is malformed");
            r->period_unit = v[2];
        }
    }
    return k < 0 ? bad(r, "a field runs past the end") : 0;
}

static bool str_is(const struct rd *r, uint64_t idx, const char *s)
{
    return idx < r->nstr && r->str[idx].n == strlen(s) &&
           memcmp(r->str[idx].s, s, r->str[idx].n) == 0;
}

/* Which value of a sample counts: "samples", else the default type, else the last. */
static size_t value_index(const struct rd *r)
{
    for (size_t i = 0; i < r->ntypes; i++)
        if (str_is(r, r->types[i], "samples"))
            return i;
    for (size_t i = 0; r->default_type && i < r->ntypes; i++)
        if (r->types[i] == r->default_type)
            return i;
    return r->ntypes ? r->ntypes - 1 : 0;
}

/* ------------------------------------------------------------ samples */

/* The profile function id of pprof function fid; <0 on a bad reference. */
static int64_t func_of(struct rd *r, uint64_t fid)
{
    struct pfunc *fn = find_id(r->fn, r->nfn, sizeof *r->fn, fid);
    if (!fn)
        return bad(r, "a line names a function that is not there");
    if (fn->pid < 0) {
        if (fn->name >= r->nstr)
            return bad(r, "a function name is outside the string table");
        const struct pstr *s = &r->str[fn->name];
        fn->pid = s->n ? profile_intern(r->p, s->s, s->n) : profile_intern(r->p, "?", 1);
        if (fn->pid < 0)
            return oom(r);
    }
    return fn->pid;
}

/* A location without lines: "module+0xOFFSET" or "0xADDRESS". */
static int64_t unsymbolized(struct rd *r, const struct ploc *l)
{
    char name[160];
    const struct pmap *m = find_id(r->map, r->nmap, sizeof *r->map, l->mapping);
    if (m && m->file < r->nstr && r->str[m->file].n) {
        const struct pstr *s = &r->str[m->file];
        const char *base = s->s, *slash;
        size_t n = s->n;
        while ((slash = memchr(base, '/', n))) {
            n -= (size_t)(slash + 1 - base);
            base = slash + 1;
        }
        snprintf(name, sizeof name, "%.*s+0x%" PRIx64, (int)(n > 100 ? 100 : n), base,
                 l->address - m->start + m->offset);
    } else {
        snprintf(name, sizeof name, "0x%" PRIx64, l->address);
    }
    int64_t id = profile_intern(r->p, name, strlen(name));
    return id < 0 ? oom(r) : id;
}

/* Pushes one frame (leaf side first); deeper than the cap drops the root side. */
static void push(struct rd *r, size_t *depth, uint32_t id)
{
    if (*depth < PROFILE_MAX_DEPTH)
        r->ids[(*depth)++] = id;
}

static int sample(struct rd *r, const struct pb_field *m, size_t vidx)
{
    struct pb_reader rd;
    struct pb_field f;
    int k;
    size_t depth = 0;
    uint64_t value = 0;
    bool have_value = false;
    pb_reader_init(&rd, m->data, m->len);
    while ((k = pb_next(&rd, &f)) > 0) {
        size_t cur = 0, i = 0;
        uint64_t v;
        int g;
        if (f.num == 2) {
            while ((g = pb_repeated_next(&f, &cur, &v)) > 0)
                if (i++ == vidx) {
                    value = v;
                    have_value = true;
                }
            if (g < 0)
                return bad(r, "a sample's values are malformed");
        } else if (f.num == 1) {
            while ((g = pb_repeated_next(&f, &cur, &v)) > 0) {
                const struct ploc *l = find_id(r->loc, r->nloc, sizeof *r->loc, v);
                if (!l)
                    return bad(r, "a sample names a location that is not there");
                for (size_t j = 0; j < l->nlines; j++) {
                    int64_t id = func_of(r, r->lines[l->line0 + j]);
                    if (id < 0)
                        return (int)id;
                    push(r, &depth, (uint32_t)id);
                }
                if (l->nlines == 0) {
                    int64_t id = unsymbolized(r, l);
                    if (id < 0)
                        return (int)id;
                    push(r, &depth, (uint32_t)id);
                }
            }
            if (g < 0)
                return bad(r, "a sample's locations are malformed");
        }
    }
    if (k < 0)
        return bad(r, "a sample is malformed");
    if (have_value && (int64_t)value < 0)
        return bad(r, "a sample has a negative value");
    if (!have_value || value == 0 || depth == 0)
        return 0;
    if (profile_samples(r->p) > UINT64_MAX - value)
        return bad(r, "sample values add up past 2^64");
    /* leaf first -> root first */
    for (size_t i = 0; i < depth / 2; i++) {
        uint32_t t = r->ids[i];
        r->ids[i] = r->ids[depth - 1 - i];
        r->ids[depth - 1 - i] = t;
    }
    return profile_add_ids(r->p, r->ids, (uint32_t)depth, value) < 0 ? oom(r) : 0;
}

static void comment(struct rd *r, const struct pstr *s)
{
    struct prof_meta *m = profile_meta_mut(r->p);
    char buf[300];
    if (s->n >= sizeof buf || s->n < 8 || memcmp(s->s, "pertop.", 7) != 0)
        return;
    memcpy(buf, s->s, s->n);
    buf[s->n] = '\0';
    char *eq = strchr(buf, '=');
    if (!eq)
        return;
    *eq++ = '\0';
    const char *key = buf + 7;
    double v = strtod(eq, NULL);
    if (strcmp(key, "command") == 0)
        snprintf(m->command, sizeof m->command, "%s", eq);
    else if (strcmp(key, "engine") == 0)
        snprintf(m->engine, sizeof m->engine, "%s", eq);
    else if (strcmp(key, "duration_s") == 0)
        m->duration_s = v;
    else if (strcmp(key, "cpu_pct") == 0)
        m->have_cpu = true, m->cpu_pct = v;
    else if (strcmp(key, "rss_bytes") == 0)
        m->have_rss = true, m->rss_bytes = v;
    else if (strcmp(key, "rss_peak_bytes") == 0)
        m->have_rss = true, m->rss_peak_bytes = v;
    else if (strcmp(key, "read_bps") == 0)
        m->have_io = true, m->read_bps = v;
    else if (strcmp(key, "write_bps") == 0)
        m->have_io = true, m->write_bps = v;
}

static int pass_samples(struct rd *r, const uint8_t *d, size_t len)
{
    struct pb_reader rd;
    struct pb_field f;
    int k, rc = 0;
    size_t vidx = value_index(r);
    pb_reader_init(&rd, d, len);
    while (rc == 0 && (k = pb_next(&rd, &f)) > 0) {
        if (f.num == P_SAMPLE && f.wire == PB_LEN)
            rc = sample(r, &f, vidx);
        else if (f.num == P_COMMENT) {
            size_t cur = 0;
            uint64_t v;
            while (pb_repeated_next(&f, &cur, &v) > 0)
                if (v < r->nstr)
                    comment(r, &r->str[v]);
        }
    }
    return rc;
}

static int decode(struct rd *r, const uint8_t *d, size_t len)
{
    int rc = pass_count(r, d, len);
    if (rc < 0)
        return rc;
    /* each counted field took at least 2 bytes of d: sizes are bounded by len */
    r->str = calloc(r->nstr + 1, sizeof *r->str);
    r->fn = calloc(r->nfn + 1, sizeof *r->fn);
    r->map = calloc(r->nmap + 1, sizeof *r->map);
    r->loc = calloc(r->nloc + 1, sizeof *r->loc);
    r->types = calloc(r->ntypes + 1, sizeof *r->types);
    r->ids = malloc(PROFILE_MAX_DEPTH * sizeof *r->ids);
    if (!r->str || !r->fn || !r->map || !r->loc || !r->types || !r->ids)
        return oom(r);
    if ((rc = pass_fill(r, d, len)) < 0)
        return rc;
    qsort(r->fn, r->nfn, sizeof *r->fn, by_id);
    qsort(r->map, r->nmap, sizeof *r->map, by_id);
    qsort(r->loc, r->nloc, sizeof *r->loc, by_id);
    if ((rc = pass_samples(r, d, len)) < 0)
        return rc;
    struct prof_meta *m = profile_meta_mut(r->p);
    if (r->duration && m->duration_s == 0)
        m->duration_s = (double)r->duration / 1e9;
    if (str_is(r, r->period_unit, "nanoseconds"))
        m->period_ns = (double)r->period;
    if (profile_samples(r->p) == 0) {
        snprintf(r->err, r->errsz,
                 "pertop: %s: this pprof profile has no samples — record a longer run", r->name);
        return -EINVAL;
    }
    return 0;
}

int pprof_read(struct profile *p, const unsigned char *buf, size_t len, bool gz, const char *name,
               char *err, size_t errsz)
{
    struct rd r = {.p = p, .name = name, .err = err, .errsz = errsz};
    unsigned char *plain = NULL;
    size_t plen = len;
    int rc = 0;
    if (gz)
        rc = gunzip(&r, buf, len, &plain, &plen);
    if (rc == 0)
        rc = decode(&r, gz ? plain : buf, plen);
    free(plain);
    free(r.str);
    free(r.fn);
    free(r.map);
    free(r.loc);
    free(r.lines);
    free(r.types);
    free(r.ids);
    return rc;
}
