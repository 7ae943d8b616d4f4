/*
 * outfile.c - see outfile.h.
 */
#include "common/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A stdio stream over a descriptor that remembers why its writes failed. */
struct sink {
    int fd;
    bool close_fd;
    int err; /* errno of the first write or close that failed */
};

static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
    struct sink *s = cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(s->fd, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (!s->err)
                s->err = w < 0 ? errno : EIO;
            break; /* short: stdio sets the stream's error flag */
        }
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static int sink_close(void *cookie)
{
    struct sink *s = cookie;
    if (s->close_fd && close(s->fd) != 0 && !s->err)
        s->err = errno; /* NFS tells a full disk at the close */
    return s->err ? -1 : 0;
}

/* Runs fill on a stream over s, flushed and closed; the errno of a write
 * that failed wins over fill's -EIO, which only echoes it. */
static int fill_sink(struct sink *s, outfile_fill fill, void *ctx)
{
    cookie_io_functions_t io = {.write = sink_write, .close = sink_close};
    FILE *f = fopencookie(s, "w", io);
    if (!f) {
        int e = errno;
        if (s->close_fd)
            close(s->fd);
        return -e;
    }
    int rc = fill(f, ctx);
    bool failed = fclose(f) != 0;
    if ((rc == 0 || rc == -EIO) && s->err)
        return -s->err;
    if (rc == 0 && failed)
        return -EIO;
    return rc;
}

int outfile_write(const char *path, outfile_fill fill, void *ctx)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return -ENOMEM;
    /* a name nobody can guess, created anew (O_EXCL, no symlink followed):
     * in a shared folder such as /tmp another user could otherwise plant a
     * symlink at a predictable temporary name and have root write through
     * it; rename then replaces the final name itself, never what a link
     * there points to */
    snprintf(tmp, n, "%s.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    int rc = fd < 0 ? -errno : 0;
    if (fd >= 0) {
        mode_t mask = umask(0);
        umask(mask);
        if (fchmod(fd, 0666 & ~mask) != 0) /* mkostemp makes it 0600 */
            rc = -errno;
    }
    if (fd >= 0 && rc < 0) {
        close(fd);
        unlink(tmp);
        fd = -1;
    }
    if (fd >= 0) {
        struct sink s = {.fd = fd, .close_fd = true};
        rc = fill_sink(&s, fill, ctx);
        if (rc == 0 && rename(tmp, path) != 0)
            rc = -errno;
        if (rc < 0)
            unlink(tmp);
    }
    free(tmp);
    return rc;
}

int outfile_write_fd(int fd, outfile_fill fill, void *ctx)
{
    struct sink s = {.fd = fd, .close_fd = false};
    return fill_sink(&s, fill, ctx);
}
