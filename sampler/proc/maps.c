/*
 * maps.c - parse /proc/PID/maps.
 *
 * A line looks like
 *
 *   55d0c1a00000-55d0c1a21000 r-xp 00002000 08:01 1234567    /usr/bin/prog
 *
 * and the path may be absent (anonymous), a pseudo name ("[vdso]"), contain
 * spaces, or end in " (deleted)".  The text comes from the target's kernel
 * view but is treated as untrusted all the same: a line that does not parse is
 * skipped, never half-used.  The entries and all their path strings live in
 * one allocation, so maps_free is a single free().
 */
#include "sampler/proc/maps.h"
#include "common/range.h"
#include "common/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAPS_MAX_BYTES (64u << 20) /* a maps file larger than this is not believed */
#define DELETED_SUFFIX " (deleted)"

/* Cursor over one line: [p, end). */
struct scan {
    const char *p, *end;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads 1..16 hex digits; more would overflow 64 bits. */
static bool scan_hex(struct scan *s, uint64_t *out)
{
    uint64_t v = 0;
    int n = 0, d;
    while (s->p < s->end && (d = hexval(*s->p)) >= 0) {
        if (++n > 16)
            return false;
        v = (v << 4) | (uint64_t)d;
        s->p++;
    }
    *out = v;
    return n > 0;
}

static bool scan_dec(struct scan *s, uint64_t *out)
{
    uint64_t v = 0;
    int n = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        if (++n > 20 || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s->p - '0');
        s->p++;
    }
    *out = v;
    return n > 0;
}

static bool scan_char(struct scan *s, char c)
{
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

/* At least one blank is required between fields. */
static bool scan_blanks(struct scan *s)
{
    const char *p0 = s->p;
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
        s->p++;
    return s->p > p0;
}

static bool perms_valid(const char *p)
{
    return (p[0] == 'r' || p[0] == '-') && (p[1] == 'w' || p[1] == '-') &&
           (p[2] == 'x' || p[2] == '-') && (p[3] == 'p' || p[3] == 's');
}

/*
 * Parses one line (without its newline) into e; the path is returned as
 * [*path, *path + *pathlen) inside the line, " (deleted)" already removed.
 */
static bool parse_line(const char *line, size_t len, struct map_entry *e, const char **path,
                       size_t *pathlen)
{
    struct scan s = {line, line + len};
    uint64_t major, minor;

    memset(e, 0, sizeof *e);
    if (!scan_hex(&s, &e->start) || !scan_char(&s, '-') || !scan_hex(&s, &e->end))
        return false;
    if (e->start >= e->end || !scan_blanks(&s))
        return false;
    if (s.end - s.p < 4 || !perms_valid(s.p))
        return false;
    memcpy(e->perms, s.p, 4);
    e->perms[4] = '\0';
    s.p += 4;
    if (!scan_blanks(&s) || !scan_hex(&s, &e->offset) || !scan_blanks(&s))
        return false;
    if (!scan_hex(&s, &major) || !scan_char(&s, ':') || !scan_hex(&s, &minor))
        return false;
    if (major > UINT32_MAX || minor > UINT32_MAX)
        return false;
    e->dev_major = (uint32_t)major;
    e->dev_minor = (uint32_t)minor;
    if (!scan_blanks(&s) || !scan_dec(&s, &e->inode))
        return false;
    /* The path is optional; if present it follows padding and runs to the end
     * of the line, spaces included. */
    if (s.p < s.end && !scan_blanks(&s))
        return false;
    const char *pe = s.end;
    while (pe > s.p && (pe[-1] == ' ' || pe[-1] == '\t' || pe[-1] == '\r'))
        pe--;
    size_t sl = sizeof DELETED_SUFFIX - 1;
    if ((size_t)(pe - s.p) > sl && !memcmp(pe - sl, DELETED_SUFFIX, sl)) {
        e->deleted = true;
        pe -= sl;
    }
    *path = s.p;
    *pathlen = (size_t)(pe - s.p);
    return true;
}

static int cmp_start(const void *a, const void *b)
{
    const struct map_entry *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The kernel writes entries sorted and disjoint; text that is not is fixed
 * up (sorted, overlaps dropped) so that maps_find stays a correct bsearch. */
static void make_sorted(struct maps *m)
{
    bool sorted = true;
    for (size_t i = 1; i < m->n && sorted; i++)
        sorted = m->v[i - 1].end <= m->v[i].start;
    if (sorted)
        return;
    qsort(m->v, m->n, sizeof *m->v, cmp_start);
    size_t w = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (w > 0 && m->v[i].start < m->v[w - 1].end)
            continue;
        m->v[w++] = m->v[i];
    }
    m->n = w;
}

int maps_parse(const char *text, size_t len, struct maps *out)
{
    out->v = NULL;
    out->n = 0;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    /* One block: the entries, then every path NUL-terminated.  Paths are
     * substrings of their lines, so len + lines bytes always suffice. */
    if (lines > (SIZE_MAX - len - lines) / sizeof(struct map_entry))
        return -ENOMEM;
    struct map_entry *v = malloc(lines * sizeof *v + len + lines);
    if (!v)
        return -ENOMEM;
    char *strs = (char *)(v + lines);
    size_t n = 0, used = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *path;
        size_t pl;
        /* A NUL inside a line would cut its path short: not a real line. */
        if (!memchr(p, '\0', (size_t)(le - p)) &&
            parse_line(p, (size_t)(le - p), &v[n], &path, &pl)) {
            memcpy(strs + used, path, pl);
            strs[used + pl] = '\0';
            v[n++].path = strs + used;
            used += pl + 1;
        }
        p = nl ? nl + 1 : end;
    }
    out->v = v;
    out->n = n;
    make_sorted(out);
    return 0;
}

int maps_read(pid_t pid, struct maps *out, char *err, size_t errsz)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    out->v = NULL;
    out->n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = -errno;
        snprintf(err, errsz, "cannot open %s: %s", path, strerror(-e));
        return e;
    }
    char *buf = NULL;
    size_t len = 0;
    int rc = readfile_fd(fd, MAPS_MAX_BYTES, &buf, &len);
    close(fd);
    if (rc < 0) {
        snprintf(err, errsz, "cannot read %s: %s", path, strerror(-rc));
        return rc;
    }
    rc = maps_parse(buf, len, out);
    free(buf);
    if (rc < 0)
        snprintf(err, errsz, "cannot parse %s: %s", path, strerror(-rc));
    return rc;
}

void maps_free(struct maps *m)
{
    if (!m)
        return;
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

const struct map_entry *maps_find(const struct maps *m, uint64_t addr)
{
    size_t i = range_find(m->v, m->n, RANGE_FIELDS(struct map_entry, start, end), addr);
    return i == RANGE_NONE ? NULL : &m->v[i];
}

bool maps_is_exec(const struct map_entry *e)
{
    return e->perms[2] == 'x';
}
