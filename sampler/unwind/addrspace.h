/*
 * addrspace.h - the target's address space as the unwinder sees it.
 *
 * Owns the current /proc/PID/maps, the module registry entries for mapped
 * files, and a per-module cache of ELF images (the file mapped read-only into
 * pertop, with the location of .eh_frame_hdr, .eh_frame and .debug_frame and
 * its program headers).  Translates a target address to (module, ELF vaddr)
 * and reads module bytes at a target address from the file, never from the
 * live target.  Files are opened through /proc/PID/root (containers), deleted
 * or memfd mappings through /proc/PID/map_files; the vdso image is taken from
 * pertop's own (same kernel).  Used by the processing thread only.
 */
#ifndef PERTOP_ADDRSPACE_H
#define PERTOP_ADDRSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler/proc/maps.h"
#include "sampler/unwind/modules.h"

struct elf_image {
    uint32_t module_id;
    const uint8_t *data; /* whole file, read-only; NULL when it could not be opened */
    size_t size;
    /* ELF vaddrs (unbiased) and sizes of unwind sections; 0 when absent. */
    uint64_t eh_frame_hdr_vaddr, eh_frame_hdr_size;
    uint64_t eh_frame_vaddr, eh_frame_size;
    uint64_t debug_frame_off, debug_frame_size; /* file offset: not loaded */
    uint64_t text_vaddr_lo, text_vaddr_hi;      /* span of executable PT_LOADs */
    void *priv;                                 /* unwinder's per-image cache */
    void (*priv_free)(void *priv);              /* how as_free releases priv */
};

/* One executable mapping resolved to its module. */
struct as_region {
    uint64_t start, end; /* target addresses */
    uint64_t bias;       /* target address - ELF vaddr */
    struct elf_image *img;
};

struct addrspace;

struct addrspace *as_new(pid_t pid, struct modreg *reg, char *err, size_t errsz);
/* An address space of one ELF image held in memory, with no process
 * behind it: each PT_LOAD of the image is mapped at bias + p_vaddr as the
 * loader maps it (from its page-aligned file offset), the executable ones
 * as regions of module id 0.  data must outlive the address space; as_refresh
 * cannot be used on it.  For tests and the unwinder's fuzz target.  NULL
 * when memory runs out or the image has no valid program headers. */
struct addrspace *as_new_image(const uint8_t *data, size_t size, uint64_t bias, char *err,
                               size_t errsz);
void as_free(struct addrspace *as);

/* Re-read /proc/PID/maps (after a miss, a dlopen, an exec).  Rate-limited by
 * the caller.  Returns 0 or -errno. */
int as_refresh(struct addrspace *as);

/* The executable region holding addr, or NULL.  Valid until the next
 * as_refresh; the elf_image it points to lives until as_free. */
const struct as_region *as_find(struct addrspace *as, uint64_t addr);

/* Copy len bytes at target address addr from the backing file of its module
 * (text, .eh_frame...).  Returns 0, or -EFAULT when not file-backed. */
int as_read_file_bytes(struct addrspace *as, uint64_t addr, void *buf, size_t len);

/* The module whose file is mapped at data address addr (or whose .bss
 * follows its last file mapping, up to AS_BSS_REACH bytes on), and addr's
 * ELF vaddr in it; 0, or -ENOENT (the heap, a stack, an anonymous mapping
 * of no module's).  The bias is that of the module's code mappings. */
#define AS_BSS_REACH (64u << 20)
int as_data_module(struct addrspace *as, uint64_t addr, uint32_t *module_id, uint64_t *vaddr);

pid_t as_pid(const struct addrspace *as);
const struct modreg *as_modreg(const struct addrspace *as);
uint64_t as_refresh_count(const struct addrspace *as);

#endif
