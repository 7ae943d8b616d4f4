/*
 * outfile.h - writing a file so that it is never seen half-written.
 *
 * The content goes to PATH.tmpPID in the same folder, which is renamed
 * over PATH only once it was written and closed without error; on any
 * failure the temporary is removed and PATH is left as it was.  Used by
 * --output, the screen's S key and its s snapshots.
 */
#ifndef PERTOP_OUTFILE_H
#define PERTOP_OUTFILE_H

#include <stdio.h>

/* Writes the content to f: 0, or a negative errno that outfile_write
 * returns as it is. */
typedef int (*outfile_fill)(FILE *f, void *ctx);

/* 0, fill's error, or -errno of the open, close or rename. */
int outfile_write(const char *path, outfile_fill fill, void *ctx);

#endif
