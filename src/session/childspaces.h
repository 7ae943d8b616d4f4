/*
 * childspaces.h - the address spaces of the target's child processes
 * (--subprocesses): each child's maps and unwinder, made at its first
 * sample, so its stacks unwind and locate in its own mappings.  Modules
 * are shared with the target's registry (a module is a file, whatever
 * process maps it), so frames of one library are one function everywhere.
 *
 * Bounded: CHILDSPACES_MAX at once; the least recently used is closed to
 * make room (a child sampled again later is opened anew).  A child whose
 * maps cannot be read (it exited before its first sample was processed) is
 * remembered as such and its samples keep only their kernel frames.  Used
 * by the processing thread only.
 */
#ifndef PERTOP_CHILDSPACES_H
#define PERTOP_CHILDSPACES_H

#include <stdint.h>
#include <sys/types.h>

#define CHILDSPACES_MAX 32

struct modreg;

struct childspace {
    pid_t pid;
    struct addrspace *as; /* NULL: its maps could not be read */
    struct unwinder *uw;  /* NULL with as */
    uint64_t last_refresh_ns;
    uint64_t used; /* for the eviction */
};

struct childspaces;

/* NULL when out of memory. */
struct childspaces *childspaces_new(struct modreg *reg, unsigned max_depth);
void childspaces_free(struct childspaces *t);
/* pid's space, opened at its first call; never NULL (as may be). */
struct childspace *childspaces_get(struct childspaces *t, pid_t pid);

#endif
