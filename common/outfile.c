/*
 * outfile.c - see outfile.h.
 */
#include "common/outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int outfile_write(const char *path, outfile_fill fill, void *ctx)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, n, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = f ? 0 : -errno;
    if (f) {
        rc = fill(f, ctx);
        /* A writer that saw the stream's error flag says EIO; the write
         * that failed set errno, which a flush of what is left says again
         * (ENOSPC, EDQUOT, EFBIG), and that is what the user must read. */
        errno = 0;
        if (rc == -EIO && fflush(f) != 0 && errno)
            rc = -errno;
        if (fclose(f) != 0 && rc == 0)
            rc = -errno;
        if (rc == 0 && rename(tmp, path) != 0)
            rc = -errno;
        if (rc < 0)
            unlink(tmp);
    }
    free(tmp);
    return rc;
}
