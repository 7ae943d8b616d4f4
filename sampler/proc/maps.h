/*
 * maps.h - parse /proc/PID/maps.
 *
 * Pure text parsing (maps_parse) is separate from reading the file
 * (maps_read) so that it can be tested on plain strings.  The file is
 * untrusted input: malformed lines are skipped, never trusted.  Entries are
 * sorted by start address as the kernel writes them; maps_find is a binary
 * search.
 */
#ifndef PERTOP_MAPS_H
#define PERTOP_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct map_entry {
    uint64_t start, end, offset;
    uint64_t inode;
    uint32_t dev_major, dev_minor;
    char perms[5]; /* "r-xp" */
    bool deleted;  /* path ended in " (deleted)" (suffix removed from path) */
    char *path;    /* "" for anonymous mappings; "[stack]", "[vdso]"... */
};

struct maps {
    struct map_entry *v;
    size_t n;
};

int maps_parse(const char *text, size_t len, struct maps *out);
/* Reads /proc/PID/maps; on failure returns -errno and writes err. */
int maps_read(pid_t pid, struct maps *out, char *err, size_t errsz);
void maps_free(struct maps *m);
const struct map_entry *maps_find(const struct maps *m, uint64_t addr);
bool maps_is_exec(const struct map_entry *e);

#endif
