/*
 * export_pprof.c - the call tree as profile.proto (see export_pprof.h).
 *
 * One walk over the call-tree nodes emits the samples and marks the frames
 * they use; the used frames become locations (marking modules and
 * functions), then mappings and functions, and the string table last, once
 * every string is known.  The whole message is built in memory (a 100k-node
 * tree gives a few MB) and gzipped on the way out.
 */
#include "src/export/export_pprof.h"
#include "common/vec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/hash.h"
#include "src/export/protobuf.h"

#define PAGE_MASK 0xfffull

/* ------------------------------------------------------------ strings */

struct strtab {
    char **s;
    size_t n, cap;
    uint32_t *slots; /* index + 1 */
    size_t scap;
};

static int strtab_grow(struct strtab *t)
{
    size_t ncap = t->scap ? t->scap * 2 : 1024;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        size_t k = hash_str(t->s[i]) & (ncap - 1);
        while (ns[k])
            k = (k + 1) & (ncap - 1);
        ns[k] = (uint32_t)i + 1;
    }
    free(t->slots);
    t->slots = ns;
    t->scap = ncap;
    return 0;
}

/* The string table index of s (NULL = ""), added when new; -ENOMEM. */
static int64_t strtab_id(struct strtab *t, const char *s)
{
    if (!s)
        s = "";
    if ((t->n + 1) * 4 > t->scap * 3 && strtab_grow(t) < 0)
        return -ENOMEM;
    size_t k = hash_str(s) & (t->scap - 1);
    for (; t->slots[k]; k = (k + 1) & (t->scap - 1))
        if (strcmp(t->s[t->slots[k] - 1], s) == 0)
            return t->slots[k] - 1;
    if (vec_reserve(&t->s, &t->cap, t->n + 1, sizeof *t->s) < 0)
        return -ENOMEM;
    if (!(t->s[t->n] = strdup(s)))
        return -ENOMEM;
    t->slots[k] = (uint32_t)t->n + 1;
    return (int64_t)t->n++;
}

static void strtab_free(struct strtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    free(t->slots);
}

/* ------------------------------------------------------------ encoder */

struct enc {
    const struct pprof_source *src;
    struct strtab st;
    struct pb_buf out, msg, sub;
    int err;        /* first -ENOMEM from the string table */
    uint64_t *locs; /* one sample's location ids */
    size_t cap_locs;
    uint8_t *frame_used;       /* per frame id */
    uint8_t *func_used;        /* per function id */
    uint64_t *mod_lo, *mod_hi; /* sampled vaddr range per module, lo > hi = none */
    size_t nframes, nfuncs, nmods;
};

static uint64_t sid(struct enc *e, const char *s)
{
    int64_t id = strtab_id(&e->st, s);
    if (id < 0) {
        e->err = -ENOMEM;
        return 0;
    }
    return (uint64_t)id;
}

static void value_type(struct enc *e, uint32_t field, const char *type, const char *unit)
{
    pb_buf_reset(&e->msg);
    pb_put_varint_opt(&e->msg, 1, sid(e, type));
    pb_put_varint_opt(&e->msg, 2, sid(e, unit));
    pb_put_message(&e->out, field, &e->msg);
}

static void label(struct enc *e, const char *key, const char *str)
{
    pb_buf_reset(&e->sub);
    pb_put_varint_opt(&e->sub, 1, sid(e, key));
    pb_put_varint_opt(&e->sub, 2, sid(e, str));
    pb_put_message(&e->msg, 3, &e->sub);
}

static int push_loc(struct enc *e, size_t n, uint64_t id)
{
    if (vec_reserve(&e->locs, &e->cap_locs, n + 1, sizeof *e->locs) < 0)
        return -ENOMEM;
    e->locs[n] = id;
    return 0;
}

/* One sample for node idx: its frames up to the thread node, leaf first. */
static int sample(struct enc *e, uint32_t idx, uint64_t self)
{
    const struct model *m = e->src->m;
    size_t n = 0;
    pid_t tid = 0;
    for (uint32_t at = idx; at != MODEL_ROOT && at != MODEL_NO_NODE;) {
        const struct model_node *node = model_node(m, at);
        const struct frame_key *k = intern_key(e->src->in, node->frame);
        if (k && k->kind == FRAME_THREAD) {
            tid = (pid_t)k->b;
            break;
        }
        if (k && node->frame < e->nframes) {
            if (push_loc(e, n++, (uint64_t)node->frame + 1) < 0)
                return -ENOMEM;
            e->frame_used[node->frame] = 1;
        }
        at = node->parent;
    }
    uint64_t values[2] = {self, self * e->src->period_ns};
    pb_buf_reset(&e->msg);
    pb_put_packed(&e->msg, 1, e->locs, n);
    pb_put_packed(&e->msg, 2, values, 2);
    char tidbuf[24];
    snprintf(tidbuf, sizeof tidbuf, "%d", (int)tid);
    label(e, "thread", tidbuf);
    const struct model_thread *t = model_thread_find(m, tid);
    if (t && t->name[0])
        label(e, "thread_name", t->name);
    pb_put_message(&e->out, 2, &e->msg);
    return 0;
}

static void location(struct enc *e, frame_id fid)
{
    const struct pprof_source *s = e->src;
    const struct frame_key *k = intern_key(s->in, fid);
    const struct frame_chain *ch = s->r->chain(s->r->ctx, fid);
    pb_buf_reset(&e->msg);
    pb_put_varint(&e->msg, 1, (uint64_t)fid + 1);
    if (k->kind == FRAME_NATIVE && k->a < e->nmods) {
        pb_put_varint(&e->msg, 2, (uint64_t)k->a + 1);
        pb_put_varint_opt(&e->msg, 3, k->b);
        if (k->b < e->mod_lo[k->a])
            e->mod_lo[k->a] = k->b;
        if (k->b > e->mod_hi[k->a])
            e->mod_hi[k->a] = k->b;
    } else if (k->kind == FRAME_SPECIAL && k->a == SPECIAL_UNKNOWN_ADDR) {
        pb_put_varint_opt(&e->msg, 3, k->b);
    }
    for (unsigned i = 0; i < ch->n; i++) { /* innermost first, as pprof wants */
        uint32_t fn = ch->f[i].func;
        pb_buf_reset(&e->sub);
        pb_put_varint(&e->sub, 1, (uint64_t)fn + 1);
        pb_put_varint_opt(&e->sub, 2, ch->f[i].line > 0 ? (uint64_t)ch->f[i].line : 0);
        pb_put_message(&e->msg, 4, &e->sub);
        if (fn < e->nfuncs)
            e->func_used[fn] = 1;
    }
    pb_put_message(&e->out, 4, &e->msg);
}

static void mapping(struct enc *e, uint32_t mod)
{
    const struct module *md = modreg_get(e->src->reg, mod);
    uint64_t start = e->mod_lo[mod] & ~PAGE_MASK;
    const char *bid = mod < e->src->nbuild_ids ? e->src->build_ids[mod] : NULL;
    pb_buf_reset(&e->msg);
    pb_put_varint(&e->msg, 1, (uint64_t)mod + 1);
    pb_put_varint_opt(&e->msg, 2, start);
    pb_put_varint(&e->msg, 3, e->mod_hi[mod] + 1);
    pb_put_varint_opt(&e->msg, 4, start);
    pb_put_varint_opt(&e->msg, 5, sid(e, md ? md->name : ""));
    pb_put_varint_opt(&e->msg, 6, sid(e, bid));
    for (uint32_t f = 7; f <= 10; f++) /* functions, file names, lines, inlines */
        pb_put_varint(&e->msg, f, 1);
    pb_put_message(&e->out, 3, &e->msg);
}

static void function(struct enc *e, uint32_t fn)
{
    const struct func_info *fi = e->src->r->func(e->src->r->ctx, fn);
    uint64_t name = sid(e, fi->name);
    pb_buf_reset(&e->msg);
    pb_put_varint(&e->msg, 1, (uint64_t)fn + 1);
    pb_put_varint_opt(&e->msg, 2, name);
    pb_put_varint_opt(&e->msg, 3, name);
    pb_put_varint_opt(&e->msg, 4, sid(e, fi->file));
    pb_put_varint_opt(&e->msg, 5, fi->line > 0 ? (uint64_t)fi->line : 0);
    pb_put_message(&e->out, 5, &e->msg);
}

static void comment(struct enc *e, const char *key, const char *fmt, double v)
{
    char buf[96], num[48];
    snprintf(num, sizeof num, fmt, v);
    snprintf(buf, sizeof buf, "pertop.%s=%s", key, num);
    pb_put_varint(&e->out, 13, sid(e, buf));
}

static void comment_str(struct enc *e, const char *key, const char *v)
{
    char buf[700];
    snprintf(buf, sizeof buf, "pertop.%s=%s", key, v);
    pb_put_varint(&e->out, 13, sid(e, buf));
}

/* The run's facts, so a file read back (profile.h) says what it was of
 * and which engine sampled it. */
static void run_comments(struct enc *e, const struct run_info *run)
{
    char eng[96], cmd[256];
    /* a long command is cut: the reader keeps comments of under 300 bytes */
    snprintf(cmd, sizeof cmd, "%.255s", run->cmdline);
    if (cmd[0])
        comment_str(e, "command", cmd);
    if (run_info_engine(run, eng, sizeof eng)[0])
        comment_str(e, "engine", eng);
    if (run->engine_note[0])
        comment_str(e, "engine_note", run->engine_note);
    comment(e, "duration_s", "%.3f", run->elapsed_s);
    comment(e, "samples", "%.0f", (double)model_total_samples(e->src->m));
}

static void comments(struct enc *e)
{
    if (e->src->run)
        run_comments(e, e->src->run);
    const struct prof_meta *m = e->src->figs;
    if (!m)
        return;
    if (m->have_cpu)
        comment(e, "cpu_pct", "%.1f", m->cpu_pct);
    if (m->have_rss) {
        comment(e, "rss_bytes", "%.0f", m->rss_bytes);
        comment(e, "rss_peak_bytes", "%.0f", m->rss_peak_bytes);
    }
    if (m->have_io) {
        comment(e, "read_bps", "%.0f", m->read_bps);
        comment(e, "write_bps", "%.0f", m->write_bps);
    }
}

static int encode_body(struct enc *e)
{
    const struct pprof_source *s = e->src;
    const char *time_type = s->idle ? "wall" : "cpu";
    sid(e, ""); /* index 0 is the empty string */
    value_type(e, 1, "samples", "count");
    value_type(e, 1, time_type, "nanoseconds");
    size_t nodes = model_node_count(s->m);
    for (uint32_t i = 1; i < nodes; i++) {
        const struct model_node *node = model_node(s->m, i);
        if (node->self && sample(e, i, node->self) < 0)
            return -ENOMEM;
    }
    for (frame_id f = 0; f < e->nframes; f++)
        if (e->frame_used[f])
            location(e, f);
    for (uint32_t mod = 0; mod < e->nmods; mod++)
        if (e->mod_lo[mod] <= e->mod_hi[mod])
            mapping(e, mod);
    for (uint32_t fn = 0; fn < e->nfuncs; fn++)
        if (e->func_used[fn])
            function(e, fn);
    pb_put_varint_opt(&e->out, 9, (uint64_t)s->time_nanos);
    pb_put_varint_opt(&e->out, 10, (uint64_t)s->duration_nanos);
    value_type(e, 11, time_type, "nanoseconds");
    pb_put_varint_opt(&e->out, 12, s->period_ns);
    comments(e);
    pb_put_varint(&e->out, 14, sid(e, time_type));
    for (size_t i = 0; i < e->st.n; i++)
        pb_put_string(&e->out, 6, e->st.s[i]);
    return e->err ? e->err : e->out.err;
}

int export_pprof_encode(const struct pprof_source *src, uint8_t **out, size_t *len)
{
    struct enc e = {.src = src};
    pb_buf_init(&e.out);
    pb_buf_init(&e.msg);
    pb_buf_init(&e.sub);
    e.nframes = intern_count(src->in);
    e.nfuncs = src->r->func_count(src->r->ctx);
    e.nmods = src->reg ? modreg_count(src->reg) : 0;
    e.frame_used = calloc(e.nframes + 1, 1);
    e.func_used = calloc(e.nfuncs + 1, 1);
    e.mod_lo = malloc((e.nmods + 1) * sizeof *e.mod_lo);
    e.mod_hi = calloc(e.nmods + 1, sizeof *e.mod_hi);
    int rc = -ENOMEM;
    if (e.frame_used && e.func_used && e.mod_lo && e.mod_hi) {
        for (size_t i = 0; i < e.nmods; i++)
            e.mod_lo[i] = UINT64_MAX;
        rc = encode_body(&e);
    }
    if (rc == 0) {
        *out = e.out.p;
        *len = e.out.len;
        e.out.p = NULL;
    }
    pb_buf_free(&e.out);
    pb_buf_free(&e.msg);
    pb_buf_free(&e.sub);
    strtab_free(&e.st);
    free(e.locs);
    free(e.frame_used);
    free(e.func_used);
    free(e.mod_lo);
    free(e.mod_hi);
    return rc;
}

/* gzip (level 6: a 2-4x smaller file for little time, as Go's profiles) */
int export_pprof_gzip(FILE *f, const uint8_t *data, size_t len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    unsigned char chunk[1 << 16];
    int zrc = Z_OK, rc = 0;
    z.next_in = (unsigned char *)data;
    while (zrc != Z_STREAM_END && rc == 0) {
        size_t left = len - (size_t)((const uint8_t *)z.next_in - data);
        z.avail_in = (uInt)(left > (1u << 30) ? (1u << 30) : left);
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        zrc = deflate(&z, left > z.avail_in ? Z_NO_FLUSH : Z_FINISH);
        if (zrc == Z_STREAM_ERROR)
            rc = -EIO;
        size_t have = sizeof chunk - z.avail_out;
        if (have && fwrite(chunk, 1, have, f) != have)
            rc = -EIO;
    }
    deflateEnd(&z);
    return rc == 0 && ferror(f) ? -EIO : rc;
}

int export_pprof_write(FILE *f, const struct pprof_source *src)
{
    uint8_t *buf;
    size_t len;
    int rc = export_pprof_encode(src, &buf, &len);
    if (rc < 0)
        return rc;
    rc = export_pprof_gzip(f, buf, len);
    free(buf);
    return rc;
}
