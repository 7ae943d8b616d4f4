/*
 * plain.c - see plain.h.  The frame is rendered into memory first and written
 * in one go, so a terminal never shows half a frame.
 */
#include "plain.h"

#include <stdlib.h>
#include <unistd.h>

#include "session.h"

int plain_show(struct session *s, FILE *out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return -1;
    if (isatty(fileno(out)))
        fputs("\033[H\033[2J", mem);
    int rc = session_write(s, mem, FORMAT_TEXT, false);
    fclose(mem);
    if (rc == 0) {
        fwrite(buf, 1, len, out);
        fflush(out);
    }
    free(buf);
    return rc;
}
