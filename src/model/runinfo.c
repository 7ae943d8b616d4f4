/*
 * runinfo.c - see runinfo.h.
 */
#include "src/model/runinfo.h"

#include <stdio.h>

const char *run_info_engine(const struct run_info *r, char *buf, size_t size)
{
    const char *name = r->engine ? r->engine : "";
    const char *detail = r->engine_detail ? r->engine_detail : "";
    if (detail[0])
        snprintf(buf, size, "%s (%s)", name, detail);
    else
        snprintf(buf, size, "%s", name);
    return buf;
}
