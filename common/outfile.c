/*
 * outfile.c - see outfile.h.
 */
#include "common/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
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
    snprintf(tmp, n, "%s.tmp%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int rc = fd < 0 ? -errno : 0;
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
