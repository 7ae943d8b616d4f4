/*
 * profile.h - a profile read from a file (or built from a run): stacks
 * of function names, root first, with sample counts, plus what the file says
 * about its run.
 *
 * Formats, told apart by content, not by file name:
 *   folded  one stack per line, "frame;frame;...;leaf COUNT", root first,
 *           as pertop, stackcollapse-*.pl, py-spy --format raw and others
 *           write it.  Frames may hold spaces and parentheses; lines that
 *           are blank or start with '#' are skipped.  A frame that ends in
 *           " (FILE:LINE)" (py-spy's Python frames) is named without that
 *           suffix, so a function is one function whatever line it was on,
 *           and matches pertop's own frames, which are bare names.
 *   pprof   perftools.profiles.Profile, gzipped or raw: the values of the
 *           "samples" sample type (pertop's and Go's CPU profiles have
 *           one), else of the default sample type, else of the last (as
 *           pprof chooses); a location's inlined lines become frames of
 *           their own.  Comments of the form "pertop.KEY=VALUE" give the
 *           meta (export_pprof.h writes them).
 * Untrusted input: every length is checked against the buffer, string
 * indexes against the table, the file is at most PROFILE_MAX_FILE bytes
 * (and PROFILE_MAX_INFLATED once gunzipped), and no allocation is sized by a
 * value read from the file before it is checked against what is left of it.
 * A corrupt, truncated or empty file gives -EINVAL and one line in err
 * saying which file, what is wrong and what to do.
 *
 * Functions are interned by name: two frames with the same name are the
 * same function.  Counts are whole samples.  Callers: `pertop diff`
 * (diff.h), --baseline (the live screen and batch text), the report.
 */
#ifndef PERTOP_PROFILE_H
#define PERTOP_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_MAX_FILE     (256u << 20) /* bytes read from disk */
#define PROFILE_MAX_INFLATED (1u << 30)   /* bytes of a gunzipped pprof */
#define PROFILE_MAX_DEPTH    4096         /* frames of one stack (deeper: cut at the root) */
#define PROFILE_MAX_NAME     4096         /* bytes of a function name (longer: cut) */

/* What a file says about its run; have_* false (or 0, "") when unknown. */
struct prof_meta {
    char command[256]; /* "" when unknown */
    char engine[96];   /* what sampled it, "perf (task-clock)"; "" when unknown */
    double duration_s; /* 0 when unknown */
    uint64_t samples;  /* sum of the stacks' counts */
    double period_ns;  /* sampling period, 0 when unknown */
    bool have_cpu;
    double cpu_pct; /* of one CPU, averaged over the run */
    bool have_rss;
    double rss_bytes, rss_peak_bytes;
    bool have_io;
    double read_bps, write_bps;
};

enum profile_format { PROFILE_FOLDED, PROFILE_PPROF, PROFILE_LIVE };

/* One distinct stack: function ids, root first. */
struct prof_stack {
    uint64_t count;
    uint32_t n;
    const uint32_t *funcs;
};

/* Per-function sums over the whole profile. */
struct prof_func {
    const char *name;
    uint64_t self;  /* samples whose leaf is this function */
    uint64_t total; /* samples with it anywhere on the stack (once per stack) */
};

struct profile;

/* Reads path (any format above).  0, or -EINVAL (bad content), -ENOENT,
 * -EACCES, -EFBIG ... with one line in err; *out is NULL on failure. */
int profile_load(const char *path, struct profile **out, char *err, size_t errsz);
/* The same on a buffer already in memory; name is used in messages. */
int profile_parse(const void *buf, size_t len, const char *name, struct profile **out, char *err,
                  size_t errsz);
void profile_free(struct profile *p);

/* Building one by hand (the live run, tests): an empty profile, then
 * stacks of names, root first (repeated stacks add up).  NULL / -ENOMEM;
 * -EINVAL when n is 0 or above PROFILE_MAX_DEPTH. */
struct profile *profile_new(enum profile_format fmt);
int profile_add_stack(struct profile *p, const char *const *names, size_t n, uint64_t count);
/* meta->samples is ignored: it is always the sum of the counts. */
void profile_set_meta(struct profile *p, const struct prof_meta *meta);

const struct prof_meta *profile_meta(const struct profile *p);
enum profile_format profile_format(const struct profile *p);
uint64_t profile_samples(const struct profile *p);
size_t profile_nstacks(const struct profile *p);
/* Stacks in the order they were added (a file's order). */
const struct prof_stack *profile_stack(const struct profile *p, size_t i);
size_t profile_nfuncs(const struct profile *p);
/* Sums are kept up to date as stacks are added. */
const struct prof_func *profile_func(const struct profile *p, uint32_t id);
/* The id of the function named name, the line of a "name (FILE:LINE)"
 * ignored; a bare "name" also finds "name (FILE)" and the other way round
 * (profiles written without files); or -1. */
int64_t profile_find(const struct profile *p, const char *name);

/* For format readers (pprof_read.c): a function by name (its id, or
 * -ENOMEM), a stack of ids, root first (-EINVAL when n is 0 or too deep),
 * and the meta to fill in. */
int64_t profile_intern(struct profile *p, const char *name, size_t len);
int profile_add_ids(struct profile *p, const uint32_t *ids, uint32_t n, uint64_t count);
struct prof_meta *profile_meta_mut(struct profile *p);

/* The name a frame is kept and compared by: a Python frame's
 * "name (FILE:LINE)" (LINE all digits, FILE not itself ending in ":DIGITS",
 * so that a kept name is its own normal form) becomes "name (FILE)", in place,
 * so a diff survives an edit that moves code but two functions of one name
 * in different files stay apart.  Returns the new length. */
size_t profile_name_norm(char *name, size_t len);

#endif
