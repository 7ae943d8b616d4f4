/*
 * plain.c - see plain.h.  The frame is rendered into memory first and written
 * in one go, so a terminal never shows half a frame.
 */
#include "ui/plain.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "ui/batchview.h"
#include "src/cli.h"
#include "src/session/session.h"

int plain_show(struct session *s, const struct cli_opts *o, FILE *out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return -1;
    if (isatty(fileno(out)))
        fputs("\033[H\033[2J", mem);
    int rc;
    if (batchview_wanted(o)) {
        /* A NAME that matched nothing still prints the hot view; the reason
         * goes under it, as the batch run's end would say it. */
        char err[700];
        rc = batchview_print(s, o, mem, err, sizeof err);
        if (rc < 0)
            fprintf(mem, "%s\n", err);
        rc = rc == -ENOENT ? 0 : rc;
    } else {
        rc = session_write(s, mem, FORMAT_TEXT, false);
    }
    fclose(mem);
    if (rc == 0) {
        fwrite(buf, 1, len, out);
        fflush(out);
    }
    free(buf);
    return rc;
}
