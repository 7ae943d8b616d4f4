/*
 * modules.h - registry of the target's mapped files (modules).
 *
 * A module is one ELF file (or the vdso) mapped into the target, identified by
 * (device, inode, path) so that a library unloaded and loaded again at another
 * address keeps its id, and frames interned as (module id, ELF vaddr) stay
 * stable.  The registry is append-only with a fixed capacity: entries never
 * move or change once added, so the symbolizer on another thread may read any
 * id below modreg_count() without a lock; adding takes an internal lock.
 */
#ifndef PERTOP_MODULES_H
#define PERTOP_MODULES_H

#include <stdint.h>
#include <sys/types.h>

#define MODREG_MAX  8192
#define MODULE_NONE UINT32_MAX

struct module {
    uint32_t id;
    uint64_t dev, inode;
    const char *name;       /* path as the target sees it, or "[vdso]" */
    const char *short_name; /* basename of name */
    const char *open_path;  /* path pertop opens: /proc/self/fd/N while the registry holds
                             * the file open, else /proc/PID/root/... or map_files */
    int fd;                 /* held open for the session, or -1 */
};

struct modreg;

struct modreg *modreg_new(void);
void modreg_free(struct modreg *r);
/* Returns the id of the matching module, adding it if new; MODULE_NONE when
 * the registry is full or memory ran out. */
uint32_t modreg_intern(struct modreg *r, uint64_t dev, uint64_t inode, const char *name,
                       const char *open_path);
/* Like modreg_intern, and the registry takes ownership of fd (>= 0): it is
 * kept open until modreg_free, so the file can still be read (symbolized)
 * after the target exits or the file is deleted; closed at once when the
 * module was already registered or could not be added. */
uint32_t modreg_intern_fd(struct modreg *r, uint64_t dev, uint64_t inode, const char *name,
                          const char *open_path, int fd);
/* The id of a module already registered, or MODULE_NONE; never adds. */
uint32_t modreg_find(struct modreg *r, uint64_t dev, uint64_t inode, const char *name);
const struct module *modreg_get(const struct modreg *r, uint32_t id);
uint32_t modreg_count(const struct modreg *r);

#endif
