/*
 * srcfile.h - a source file read for display: found, bounded, sanitized.
 *
 * Finding: a path named by DWARF or a code object is rewritten by the
 * first matching --source-path OLD=NEW map (OLD must match whole path
 * components); a rewritten path is the user's own tree and is opened as it
 * is.  Otherwise the file is opened through the target's root
 * (/proc/PID/root/PATH: the target may live in a container), a relative
 * PATH through its working directory (/proc/PID/cwd/PATH: a script named
 * relative to where it was started), then, when that fails (the target
 * exited, or no PID given), as PATH itself.
 *
 * Reading: regular files only, at most SRCFILE_MAX_BYTES (a bigger one is
 * refused with -EFBIG: it is not source a user reads line by line).  Lines
 * are kept for display: tabs expanded to 8 columns, control characters and
 * bytes that are not valid UTF-8 shown as '?', each line cut at
 * SRCFILE_LINE_MAX bytes.  Used by annotate.c; no global state.
 */
#ifndef PERTOP_SRCFILE_H
#define PERTOP_SRCFILE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SRCFILE_MAX_BYTES (8u << 20)
#define SRCFILE_LINE_MAX  512
#define SRCFILE_MAX_LINES (1u << 20)

struct srcfile {
    char path[1024];   /* the path to show (as named, or as rewritten) */
    char opened[1100]; /* the path that was opened (under the root, maybe) */
    size_t nlines;
    const char **line; /* line[0] is line 1; sanitized, NUL-terminated */
    char *text;        /* storage */
    int64_t mtime_ns;  /* of the file read (to notice an edit) */
    uint64_t size;
};

/* One --source-path map. */
struct srcfile_map {
    char *old_prefix, *new_prefix;
};

/* Rewrites path by the first map whose old prefix matches whole components;
 * 1 when rewritten into out, 0 when no map matched, -ENAMETOOLONG. */
int srcfile_map_path(const struct srcfile_map *maps, size_t nmaps, const char *path, char *out,
                     size_t outsz);
/* Splits "OLD=NEW" at the first '=' into a map (copies; trailing '/'
 * removed).  -EINVAL (no '=', empty side), -ENOMEM. */
int srcfile_map_parse(const char *spec, struct srcfile_map *out);
void srcfile_map_free(struct srcfile_map *m);

/* Finds and reads path as described above; proc is the target's
 * "/proc/PID" or NULL.  0, or -errno with one line for the user in err naming the path
 * that was looked for ("source not found: /src/a.c (... --source-path)"). */
int srcfile_open(const struct srcfile_map *maps, size_t nmaps, const char *proc, const char *path,
                 struct srcfile **out, char *err, size_t errsz);
/* Reads an already chosen file (no mapping, no root). */
int srcfile_read(const char *path, struct srcfile **out);
void srcfile_free(struct srcfile *f);
/* Line n (from 1), or NULL past the end. */
const char *srcfile_line(const struct srcfile *f, size_t n);

#endif
