/*
 * pprof_read.h - reading a perftools.profiles.Profile (gzipped or raw) into
 * a struct profile (profile.h), for profile_parse.
 *
 * The input is untrusted: lengths go through protobuf.h's checked reader,
 * string, function, location and mapping references are checked before use,
 * arrays are sized by counts of fields actually present in the buffer (each
 * field takes at least two bytes), the gunzipped size is capped at
 * PROFILE_MAX_INFLATED, and value sums may not overflow.  The values used
 * are those of the "samples" sample type when there is one, else the
 * default sample type, else the last (pprof's own rule).
 */
#ifndef PERTOP_PPROF_READ_H
#define PERTOP_PPROF_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "src/profile/profile.h"

/* Fills p (empty) from buf; gz when buf is gzip data.  0, or -EINVAL /
 * -ENOMEM with one line in err naming name. */
int pprof_read(struct profile *p, const unsigned char *buf, size_t len, bool gz, const char *name,
               char *err, size_t errsz);

#endif
