/*
 * readfile.c - reading a descriptor or a file to its end, bounded (see
 * readfile.h).
 */
#include "common/readfile.h"
#include "common/vec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* One read, retried on EINTR: a signal (the display's SIGWINCH, a timer)
 * must not turn into a failed reading. */
static ssize_t read_retry(int fd, char *buf, size_t n)
{
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

/* The first buffer: the size of a regular file plus the NUL, so that one
 * read fills it and the next sees the end; else READFILE_FIRST.  Never
 * more than limit (max_bytes + 1). */
static int first_cap(int fd, size_t limit, size_t *cap)
{
    struct stat st;
    *cap = READFILE_FIRST < limit ? READFILE_FIRST : limit;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uint64_t)st.st_size >= limit)
            return -EFBIG; /* larger than max_bytes: not worth reading */
        *cap = (size_t)st.st_size + 1;
    }
    return 0;
}

int readfile_fd(int fd, size_t max_bytes, char **bufp, size_t *lenp)
{
    *bufp = NULL;
    *lenp = 0;
    if (max_bytes > READFILE_MAX_BYTES)
        max_bytes = READFILE_MAX_BYTES;
    /* room for max_bytes and the NUL: a buffer that fills up means more */
    size_t limit = max_bytes + 1, cap, len = 0;
    int rc = first_cap(fd, limit, &cap);
    char *buf = rc < 0 ? NULL : malloc(cap);
    if (rc == 0 && !buf)
        rc = -ENOMEM;
    while (rc == 0) {
        /* room for one more byte at least: a full buffer at the limit
         * means more than max_bytes */
        rc = vec_reserve_max(&buf, &cap, len + 1, 1, limit);
        if (rc == -E2BIG)
            rc = -EFBIG;
        if (rc < 0)
            break;
        ssize_t r = read_retry(fd, buf + len, cap - len);
        if (r < 0)
            rc = (int)r;
        else if (r == 0)
            break;
        else
            len += (size_t)r;
    }
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0'; /* len < cap: the loop grows the buffer before each read */
    *bufp = buf;
    *lenp = len;
    return 0;
}

int readfile_path(const char *path, size_t max_bytes, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = readfile_fd(fd, max_bytes, buf, len);
    close(fd);
    return rc;
}

ssize_t readfile_buf(int fd, char *buf, size_t size, unsigned flags)
{
    if (size == 0)
        return -EINVAL;
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t r = read_retry(fd, buf + got, size - 1 - got);
        if (r < 0) {
            buf[got] = '\0';
            return r;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (flags & READFILE_ONCE)
            break;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}
