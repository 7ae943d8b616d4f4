/*
 * readfile.h - reading a descriptor or a file to its end, bounded.
 *
 * Contract:
 *   - readfile_fd() reads fd from its current offset to end of file into a
 *     buffer it allocates, at most max_bytes (clamped to READFILE_MAX_BYTES):
 *     0 with *buf NUL-terminated (*len excludes the NUL; an empty file gives
 *     "" and 0) or a negative errno with *buf NULL and *len 0.  More than
 *     max_bytes is -EFBIG: a file exactly max_bytes long is read whole.  A
 *     regular file's size sizes the first buffer (and one larger than the cap
 *     is refused before any read); a pipe or a procfs file, which say nothing
 *     of their size, start at READFILE_FIRST bytes and grow by doubling.
 *   - readfile_path() is readfile_fd() on path opened O_RDONLY | O_CLOEXEC.
 *   - readfile_buf() reads into a caller's fixed buffer of size bytes, at most
 *     size - 1 of them, and NUL-terminates: the length, or a negative errno
 *     (-EINVAL for size 0).  What does not fit is not read (no error: callers
 *     that must know size their buffer past the largest record).  With
 *     READFILE_ONCE it stops after the first read that returns data: a procfs
 *     record (stat, io, status) is produced whole by that read, and the read
 *     that would return 0 costs a system call per file.
 * Every read retries on EINTR.  No allocation depends on what is read beyond
 * the cap the caller gave.  The descriptor is never closed by readfile_fd.
 */
#ifndef PERTOP_READFILE_H
#define PERTOP_READFILE_H

#include <stddef.h>
#include <sys/types.h>

#define READFILE_MAX_BYTES (1u << 30)  /* hard cap, whatever the caller asks */
#define READFILE_FIRST     (64u << 10) /* first buffer when the size is unknown */
#define READFILE_ONCE      1u          /* readfile_buf: one read returning data */

int readfile_fd(int fd, size_t max_bytes, char **buf, size_t *len);
int readfile_path(const char *path, size_t max_bytes, char **buf, size_t *len);
ssize_t readfile_buf(int fd, char *buf, size_t size, unsigned flags);

#endif
