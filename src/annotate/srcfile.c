/*
 * srcfile.c - see srcfile.h.
 */
#include "src/annotate/srcfile.h"
#include "common/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int srcfile_map_parse(const char *spec, struct srcfile_map *out)
{
    const char *eq = strchr(spec, '=');
    *out = (struct srcfile_map){0};
    if (!eq || eq == spec || !eq[1])
        return -EINVAL;
    size_t olen = (size_t)(eq - spec), nlen = strlen(eq + 1);
    /* "/old/" and "/old" are the same prefix; "/" stays "/" */
    while (olen > 1 && spec[olen - 1] == '/')
        olen--;
    while (nlen > 1 && eq[nlen] == '/')
        nlen--;
    out->old_prefix = strndup(spec, olen);
    out->new_prefix = strndup(eq + 1, nlen);
    if (!out->old_prefix || !out->new_prefix) {
        srcfile_map_free(out);
        return -ENOMEM;
    }
    return 0;
}

void srcfile_map_free(struct srcfile_map *m)
{
    free(m->old_prefix);
    free(m->new_prefix);
    *m = (struct srcfile_map){0};
}

int srcfile_map_path(const struct srcfile_map *maps, size_t nmaps, const char *path, char *out,
                     size_t outsz)
{
    for (size_t i = 0; i < nmaps; i++) {
        const char *old = maps[i].old_prefix;
        size_t n = strlen(old);
        bool root = n == 1 && old[0] == '/';
        /* whole components only: /src must not match /srcfoo */
        if (strncmp(path, old, n) != 0 || (!root && path[n] != '\0' && path[n] != '/'))
            continue;
        const char *rest = root ? path + 1 : path[n] == '/' ? path + n + 1 : path + n;
        const char *sep = rest[0] && strcmp(maps[i].new_prefix, "/") != 0 ? "/" : "";
        int w = snprintf(out, outsz, "%s%s%s", maps[i].new_prefix, sep, rest);
        return w < 0 || (size_t)w >= outsz ? -ENAMETOOLONG : 1;
    }
    return 0;
}

/* Length of the valid UTF-8 sequence at p (at most left bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (p[0] < 0xc2 || p[0] > 0xf4 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* Copies one raw line into dst (SRCFILE_LINE_MAX bytes with the NUL),
 * made safe to display; returns the bytes written. */
static size_t sanitize(const unsigned char *src, size_t len, char *dst)
{
    size_t o = 0, col = 0;
    const size_t cap = SRCFILE_LINE_MAX - 1;
    for (size_t i = 0; i < len && o < cap;) {
        unsigned char c = src[i];
        if (c == '\t') {
            do
                dst[o++] = ' ';
            while (++col % 8 && o < cap);
            i++;
        } else if (c >= 0x20 && c < 0x7f) {
            dst[o++] = (char)c;
            col++;
            i++;
        } else {
            size_t n = c >= 0x80 ? utf8_len(src + i, len - i) : 0;
            if (n && o + n <= cap) {
                memcpy(dst + o, src + i, n);
                o += n;
                i += n;
            } else {
                dst[o++] = '?'; /* control byte or broken UTF-8 */
                i += n ? n : 1;
            }
            col++;
        }
    }
    dst[o] = '\0';
    return o;
}

/* Reads at most SRCFILE_MAX_BYTES of a regular file into a buffer. */
static int slurp(const char *path, unsigned char **buf, size_t *len, struct stat *st)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    char *b = NULL;
    int rc = 0;
    if (fstat(fd, st) < 0)
        rc = -errno;
    else if (!S_ISREG(st->st_mode))
        rc = -EISDIR; /* a fifo or device would block or never end */
    else
        rc = readfile_fd(fd, SRCFILE_MAX_BYTES, &b, len);
    close(fd);
    *buf = (unsigned char *)b;
    return rc;
}

static size_t count_lines(const unsigned char *b, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += b[i] == '\n';
    return n + (len && b[len - 1] != '\n');
}

/* Splits raw into sanitized lines stored in f. */
static int split_lines(struct srcfile *f, const unsigned char *raw, size_t len)
{
    size_t n = count_lines(raw, len);
    if (n > SRCFILE_MAX_LINES)
        n = SRCFILE_MAX_LINES;
    f->line = malloc((n ? n : 1) * sizeof(*f->line));
    /* a sanitized line is never longer than its raw bytes plus tab
     * expansion, capped per line */
    size_t cap = len * 8 + n + 1;
    if (cap > (size_t)n * SRCFILE_LINE_MAX + 1)
        cap = (size_t)n * SRCFILE_LINE_MAX + 1;
    f->text = malloc(cap);
    if (!f->line || !f->text)
        return -ENOMEM;
    size_t pos = 0, o = 0;
    char tmp[SRCFILE_LINE_MAX];
    for (size_t i = 0; i < n; i++) {
        const unsigned char *nl = memchr(raw + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (raw + pos)) : len - pos;
        if (l && raw[pos + l - 1] == '\r')
            l--; /* CRLF files */
        size_t w = sanitize(raw + pos, l, tmp);
        memcpy(f->text + o, tmp, w + 1);
        f->line[i] = (const char *)(uintptr_t)o;
        o += w + 1;
        pos += (nl ? (size_t)(nl - (raw + pos)) + 1 : len - pos);
    }
    for (size_t i = 0; i < n; i++)
        f->line[i] = f->text + (uintptr_t)f->line[i];
    f->nlines = n;
    return 0;
}

int srcfile_read(const char *path, struct srcfile **out)
{
    *out = NULL;
    unsigned char *raw = NULL;
    size_t len = 0;
    struct stat st;
    int rc = slurp(path, &raw, &len, &st);
    if (rc < 0)
        return rc;
    struct srcfile *f = calloc(1, sizeof(*f));
    rc = f ? split_lines(f, raw, len) : -ENOMEM;
    free(raw);
    if (rc < 0) {
        srcfile_free(f);
        return rc;
    }
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->opened, sizeof f->opened, "%s", path);
    f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    f->size = (uint64_t)st.st_size;
    *out = f;
    return 0;
}

void srcfile_free(struct srcfile *f)
{
    if (!f)
        return;
    free(f->line);
    free(f->text);
    free(f);
}

const char *srcfile_line(const struct srcfile *f, size_t n)
{
    return n >= 1 && n <= f->nlines ? f->line[n - 1] : NULL;
}

static void not_found(char *err, size_t errsz, const char *path, int rc, bool mapped)
{
    if (rc == -EFBIG)
        snprintf(err, errsz, "source not shown: %s is larger than %u MiB", path,
                 SRCFILE_MAX_BYTES >> 20);
    else if (mapped)
        snprintf(err, errsz, "source not found: %s (%s) — check the --source-path mapping", path,
                 strerror(-rc));
    else
        snprintf(err, errsz,
                 "source not found: %s (%s) — if the tree moved, give --source-path OLD=NEW", path,
                 strerror(-rc));
}

int srcfile_open(const struct srcfile_map *maps, size_t nmaps, const char *proc, const char *path,
                 struct srcfile **out, char *err, size_t errsz)
{
    char buf[4096];
    *out = NULL;
    if (!path || !path[0]) {
        snprintf(err, errsz,
                 "source not found: no file name in the debug information — "
                 "build with -g");
        return -ENOENT;
    }
    int m = srcfile_map_path(maps, nmaps, path, buf, sizeof buf);
    int rc = m < 0 ? m : -ENOENT;
    if (m == 1) {
        rc = srcfile_read(buf, out);
        if (rc < 0)
            not_found(err, errsz, buf, rc, true);
        return rc;
    }
    /* the target's view of the path: its root, or its working directory
     * for a relative path */
    if (m == 0 && proc && proc[0]) {
        int w = snprintf(buf, sizeof buf, "%s/%s%s", proc, path[0] == '/' ? "root" : "cwd/", path);
        if (w > 0 && (size_t)w < sizeof buf) {
            rc = srcfile_read(buf, out);
            if (rc == 0 || rc == -EFBIG)
                goto done;
        }
    }
    if (m == 0)
        rc = srcfile_read(path, out);
done:
    if (rc == 0)
        snprintf((*out)->path, sizeof(*out)->path, "%s", path);
    else
        not_found(err, errsz, path, rc, false);
    return rc;
}
