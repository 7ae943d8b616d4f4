/*
 * diff.h - two profiles compared function by function, and the table as
 * text (`pertop diff BEFORE AFTER`, --baseline).
 *
 * Every figure is a percentage of its own profile's samples, so runs of
 * different lengths or rates compare; a change is in points (after minus
 * before).  Functions are matched by name (profile.h).  A function in only
 * one profile is APPEARED (only after) or VANISHED (only before): its other
 * side is 0.  Rows are sorted by the size of the self change, then of the
 * total change, then by name, so the functions that moved most come first
 * whichever way they moved.  Pure: no I/O except diff_write_text's stream.
 */
#ifndef PERTOP_DIFF_H
#define PERTOP_DIFF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "src/profile/profile.h"

enum diff_status { DIFF_BOTH, DIFF_APPEARED, DIFF_VANISHED };

struct diff_row {
    const char *name;                 /* points into one of the profiles */
    double self_before, self_after;   /* % of each profile's samples */
    double total_before, total_after; /* % of each profile's samples */
    uint64_t self_count_before, self_count_after;
    enum diff_status status;
};

struct diff_table {
    struct diff_row *rows;
    size_t n;
    uint64_t samples_before, samples_after;
};

/* 0, -ENOMEM, or -EINVAL when a profile has no samples (nothing to
 * normalise by).  The table points into both profiles: free it first. */
int diff_profiles(const struct profile *before, const struct profile *after,
                  struct diff_table *out);
void diff_table_free(struct diff_table *t);

/* Change of self % in points (after - before). */
double diff_self_change(const struct diff_row *r);
double diff_total_change(const struct diff_row *r);

/* The text table: the two files' totals (samples, duration when known,
 * command when known), then one row per function, at most rows (0 = all),
 * with "new" / "gone" for appeared / vanished.  names label the columns'
 * sources (file names).  0 or -EIO. */
int diff_write_text(FILE *f, const struct diff_table *t, const struct profile *before,
                    const struct profile *after, const char *before_name, const char *after_name,
                    size_t rows);

/* The baseline column: "+12.3", "-4.0", "0.0" or "new", for a function
 * with self_pct now, given its baseline profile (matched by name). */
void diff_baseline_cell(const struct profile *baseline, const char *name, double self_pct,
                        char *buf, size_t bufsz);

#endif
