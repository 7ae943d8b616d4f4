/*
 * outfile.h - writing a file so that it is never seen half-written, and
 * saying why a write failed.
 *
 * The content goes to PATH.tmpPID in the same folder, which is renamed
 * over PATH only once it was written and closed without error; on any
 * failure the temporary is removed and PATH is left as it was.  Used by
 * --output, the screen's S key and its s snapshots.
 *
 * The stream handed to the fill function keeps the errno of the first
 * write that failed (stdio itself keeps only an error flag, and a later
 * call may have changed errno), so a full disk says ENOSPC, a quota EDQUOT,
 * a size limit EFBIG, however the writer noticed it.
 */
#ifndef PERTOP_OUTFILE_H
#define PERTOP_OUTFILE_H

#include <stdio.h>

/* Writes the content to f: 0, or a negative errno (-EIO for "the stream
 * said it failed": the write's own errno is returned in its place). */
typedef int (*outfile_fill)(FILE *f, void *ctx);

/* 0, fill's error, or -errno of the open, a write, the close or the
 * rename. */
int outfile_write(const char *path, outfile_fill fill, void *ctx);

/* The same on a descriptor that stays open (stdout): 0, fill's error or
 * -errno of the write that failed. */
int outfile_write_fd(int fd, outfile_fill fill, void *ctx);

#endif
