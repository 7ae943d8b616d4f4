/*
 * export_speedscope.c - see export_speedscope.h.
 *
 * Two passes over the table: the first numbers the functions in the order
 * they are first met (the shared frame list), the second writes one
 * profile per thread from the rows grouped by tid.  Rows keep the table's
 * order (heaviest first) within a thread.
 */
#include "src/export/export_speedscope.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "src/export/json.h"

struct ss_ctx {
    FILE *f;
    const struct stack_table *t;
    const struct resolver *r;
    const struct speedscope_opts *o;
    uint32_t *frame_of; /* function id -> frame index + 1, 0 = not used */
    uint32_t *order;    /* function ids in frame order */
    uint32_t nframes, nfuncs;
    size_t *rows; /* row indices grouped by tid */
};

/* Numbers every function used by the table.  Ids are dense and below
 * func_count; one past it (never expected) makes the map larger, not a
 * write out of bounds. */
static int number_frames(struct ss_ctx *c)
{
    c->nfuncs = c->r->func_count(c->r->ctx);
    for (size_t i = 0; i < c->t->n; i++)
        for (size_t k = 0; k < c->t->rows[i].n; k++) {
            uint32_t fn = c->t->rows[i].frames[k].func;
            if (fn == UINT32_MAX)
                return -EINVAL;
            if (fn >= c->nfuncs)
                c->nfuncs = fn + 1;
        }
    c->frame_of = calloc(c->nfuncs ? c->nfuncs : 1, sizeof(*c->frame_of));
    c->order = malloc((c->nfuncs ? c->nfuncs : 1) * sizeof(*c->order));
    if (!c->frame_of || !c->order)
        return -ENOMEM;
    for (size_t i = 0; i < c->t->n; i++) {
        const struct stack_row *row = &c->t->rows[i];
        for (size_t k = 0; k < row->n; k++) {
            uint32_t fn = row->frames[k].func;
            if (!c->frame_of[fn]) {
                c->order[c->nframes++] = fn;
                c->frame_of[fn] = c->nframes;
            }
        }
    }
    return 0;
}

static int cmp_row_tid(const void *a, const void *b, void *ctx)
{
    const struct stack_table *t = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    pid_t tx = t->rows[x].tid, ty = t->rows[y].tid;
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int group_rows(struct ss_ctx *c)
{
    c->rows = malloc((c->t->n ? c->t->n : 1) * sizeof(*c->rows));
    if (!c->rows)
        return -ENOMEM;
    for (size_t i = 0; i < c->t->n; i++)
        c->rows[i] = i;
    qsort_r(c->rows, c->t->n, sizeof(*c->rows), cmp_row_tid, (void *)c->t);
    return 0;
}

static void write_frames(struct ss_ctx *c)
{
    fputs("\"shared\":{\"frames\":[", c->f);
    for (uint32_t i = 0; i < c->nframes; i++) {
        const struct func_info *fi = c->r->func(c->r->ctx, c->order[i]);
        fputs(i ? ",\n{\"name\":" : "\n{\"name\":", c->f);
        json_put_string(c->f, fi->name && fi->name[0] ? fi->name : "?");
        if (fi->file && fi->file[0]) {
            fputs(",\"file\":", c->f);
            json_put_string(c->f, fi->file);
            if (fi->line > 0)
                fprintf(c->f, ",\"line\":%d", fi->line);
        }
        fputc('}', c->f);
    }
    fputs("]},\n", c->f);
}

static uint64_t weight_of(const struct ss_ctx *c, uint64_t count)
{
    return c->o->period_ns ? count * c->o->period_ns : count;
}

static void write_profile_name(struct ss_ctx *c, pid_t tid)
{
    if (!tid) {
        json_put_string(c->f, "[samples not placed under a thread]");
        return;
    }
    const char *name = c->o->thread_name ? c->o->thread_name(c->o->thread_ctx, tid) : NULL;
    char buf[320];
    snprintf(buf, sizeof buf, "%.256s-%d", name && name[0] ? name : "thread", (int)tid);
    json_put_string(c->f, buf);
}

/* Rows rows[from..to) are one thread's. */
static void write_profile(struct ss_ctx *c, size_t from, size_t to)
{
    const struct stack_table *t = c->t;
    uint64_t total = 0;
    for (size_t i = from; i < to; i++)
        total += weight_of(c, t->rows[c->rows[i]].count);
    fputs("{\"type\":\"sampled\",\"name\":", c->f);
    write_profile_name(c, t->rows[c->rows[from]].tid);
    fprintf(c->f, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%" PRIu64 ",\n\"samples\":[",
            c->o->period_ns ? "nanoseconds" : "none", total);
    for (size_t i = from; i < to; i++) {
        const struct stack_row *row = &t->rows[c->rows[i]];
        fputs(i > from ? ",[" : "[", c->f);
        for (size_t k = 0; k < row->n; k++)
            fprintf(c->f, k ? ",%" PRIu32 : "%" PRIu32, c->frame_of[row->frames[k].func] - 1);
        fputc(']', c->f);
    }
    fputs("],\n\"weights\":[", c->f);
    for (size_t i = from; i < to; i++)
        fprintf(c->f, i > from ? ",%" PRIu64 : "%" PRIu64, weight_of(c, t->rows[c->rows[i]].count));
    fputs("]}", c->f);
}

/* Index (among the profiles) of the thread with the most samples. */
static size_t heaviest_profile(const struct ss_ctx *c)
{
    size_t best = 0, idx = 0;
    uint64_t best_n = 0, n = 0;
    for (size_t i = 0; i < c->t->n; i++) {
        const struct stack_row *row = &c->t->rows[c->rows[i]];
        n += row->count;
        bool last = i + 1 == c->t->n || c->t->rows[c->rows[i + 1]].tid != row->tid;
        if (!last)
            continue;
        if (n > best_n) {
            best_n = n;
            best = idx;
        }
        idx++;
        n = 0;
    }
    return best;
}

static void write_profiles(struct ss_ctx *c)
{
    fputs("\"profiles\":[\n", c->f);
    if (c->t->n == 0) /* speedscope opens no file without a profile */
        fprintf(c->f,
                "{\"type\":\"sampled\",\"name\":\"(no samples)\",\"unit\":\"%s\","
                "\"startValue\":0,\"endValue\":0,\"samples\":[],\"weights\":[]}",
                c->o->period_ns ? "nanoseconds" : "none");
    size_t from = 0;
    for (size_t i = 0; i < c->t->n; i++) {
        bool last =
            i + 1 == c->t->n || c->t->rows[c->rows[i + 1]].tid != c->t->rows[c->rows[i]].tid;
        if (!last)
            continue;
        if (from)
            fputs(",\n", c->f);
        write_profile(c, from, i + 1);
        from = i + 1;
    }
    fputs("]", c->f);
}

int export_speedscope_write(FILE *f, const struct stack_table *t, const struct resolver *r,
                            const struct speedscope_opts *o)
{
    struct ss_ctx c = {.f = f, .t = t, .r = r, .o = o};
    int err = number_frames(&c);
    if (!err)
        err = group_rows(&c);
    if (!err) {
        fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n", f);
        fputs("\"exporter\":", f);
        json_put_string(f, o->exporter ? o->exporter : "pertop");
        fputs(",\"name\":", f);
        json_put_string(f, o->name && o->name[0] ? o->name : "pertop profile");
        fprintf(f, ",\"activeProfileIndex\":%zu,\n", heaviest_profile(&c));
        write_frames(&c);
        write_profiles(&c);
        fputs("}\n", f);
        err = ferror(f) ? -EIO : 0;
    }
    free(c.frame_of);
    free(c.order);
    free(c.rows);
    return err;
}
