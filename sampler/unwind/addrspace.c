/*
 * addrspace.c - the target's address space, seen through its files.
 *
 * as_refresh turns /proc/PID/maps into two sorted arrays:
 *   - exec:  executable mappings of files (and the vdso), each with its
 *            module's ELF image and load bias; what as_find searches;
 *   - files: every file-backed mapping of those same modules (text, rodata
 *            with .eh_frame_hdr/.eh_frame, relro with GOT entries that CIE
 *            personality pointers refer to); what as_read_file_bytes uses to
 *            turn a target address into a file offset.
 * ELF images are opened once per module id and kept until as_free, so a
 * refresh after a dlopen only opens what is new.  All ELF fields are
 * checked against the file size before use: the files are the target's.
 */
#include "sampler/unwind/addrspace.h"
#include "common/range.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define VDSO_NAME "[vdso]"

/* An elf_image and what addrspace keeps privately about it. */
struct image_slot {
    struct elf_image img; /* first: as_region.img points here */
    bool mapped;          /* data is our mmap (not the vdso) */
    bool elf_ok;          /* headers validated; phdrs usable */
    uint64_t phoff;       /* validated program header table */
    uint16_t phnum;
};

/* A file-backed mapping of a module: target [start, end) is file bytes
 * [file_off, file_off + end - start). */
struct file_region {
    uint64_t start, end, file_off;
    struct elf_image *img;
};

struct addrspace {
    pid_t pid;
    struct modreg *reg;
    uint64_t page_size;
    uint64_t refreshes;
    struct as_region *exec;
    size_t nexec, exec_hint;
    struct file_region *files;
    size_t nfiles, file_hint;
    const uint8_t *vdso; /* pertop's own vdso image: same kernel, same bytes */
    size_t vdso_size;
    struct image_slot *images[MODREG_MAX]; /* by module id */
};

/* ------------------------------------------------------------ ELF parsing */

/* True when [off, off+len) lies inside a file of size size. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static bool read_ehdr(const struct elf_image *img, Elf64_Ehdr *eh)
{
    if (!img->data || img->size < sizeof *eh)
        return false;
    memcpy(eh, img->data, sizeof *eh);
    return !memcmp(eh->e_ident, ELFMAG, SELFMAG) && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
           eh->e_ident[EI_DATA] == ELFDATA2LSB && (eh->e_type == ET_EXEC || eh->e_type == ET_DYN);
}

/* Program header i of a validated image (copied: the file may be unaligned). */
static Elf64_Phdr phdr_at(const struct image_slot *s, unsigned i)
{
    Elf64_Phdr ph;
    memcpy(&ph, s->img.data + s->phoff + (uint64_t)i * sizeof ph, sizeof ph);
    return ph;
}

static Elf64_Shdr shdr_at(const struct elf_image *img, uint64_t shoff, uint64_t i)
{
    Elf64_Shdr sh;
    memcpy(&sh, img->data + shoff + i * sizeof sh, sizeof sh);
    return sh;
}

static void scan_phdrs(struct image_slot *s)
{
    struct elf_image *img = &s->img;
    bool have_text = false;
    for (unsigned i = 0; i < s->phnum; i++) {
        Elf64_Phdr ph = phdr_at(s, i);
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && ph.p_memsz &&
            ph.p_vaddr <= UINT64_MAX - ph.p_memsz) {
            uint64_t lo = ph.p_vaddr, hi = ph.p_vaddr + ph.p_memsz;
            img->text_vaddr_lo = have_text && img->text_vaddr_lo < lo ? img->text_vaddr_lo : lo;
            img->text_vaddr_hi = have_text && img->text_vaddr_hi > hi ? img->text_vaddr_hi : hi;
            have_text = true;
        } else if (ph.p_type == PT_GNU_EH_FRAME && in_file(ph.p_offset, ph.p_filesz, img->size)) {
            img->eh_frame_hdr_vaddr = ph.p_vaddr;
            img->eh_frame_hdr_size = ph.p_filesz;
        }
    }
}

/* Section name i of the section-name table, or NULL when out of bounds. */
static const char *section_name(const struct elf_image *img, const Elf64_Shdr *strtab,
                                uint32_t name)
{
    if (name >= strtab->sh_size)
        return NULL;
    const char *p = (const char *)img->data + strtab->sh_offset + name;
    /* The name must be NUL-terminated inside the table. */
    if (!memchr(p, '\0', strtab->sh_size - name))
        return NULL;
    return p;
}

static void scan_sections(struct elf_image *img, const Elf64_Ehdr *eh)
{
    uint64_t shoff = eh->e_shoff, shnum = eh->e_shnum, shstrndx = eh->e_shstrndx;
    if (!shoff || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        !in_file(shoff, sizeof(Elf64_Shdr), img->size))
        return;
    Elf64_Shdr sh0 = shdr_at(img, shoff, 0);
    if (shnum == 0) /* more than SHN_LORESERVE sections: count is in section 0 */
        shnum = sh0.sh_size;
    if (shstrndx == SHN_XINDEX)
        shstrndx = sh0.sh_link;
    if (shnum > (img->size - shoff) / sizeof(Elf64_Shdr) || shstrndx >= shnum)
        return;
    Elf64_Shdr strtab = shdr_at(img, shoff, shstrndx);
    if (strtab.sh_type == SHT_NOBITS || !in_file(strtab.sh_offset, strtab.sh_size, img->size))
        return;
    for (uint64_t i = 1; i < shnum; i++) {
        Elf64_Shdr sh = shdr_at(img, shoff, i);
        const char *name = section_name(img, &strtab, sh.sh_name);
        if (!name || sh.sh_type == SHT_NOBITS || !in_file(sh.sh_offset, sh.sh_size, img->size))
            continue;
        if (!strcmp(name, ".eh_frame")) {
            img->eh_frame_vaddr = sh.sh_addr;
            img->eh_frame_size = sh.sh_size;
        } else if (!strcmp(name, ".eh_frame_hdr") && !img->eh_frame_hdr_size) {
            img->eh_frame_hdr_vaddr = sh.sh_addr;
            img->eh_frame_hdr_size = sh.sh_size;
        } else if (!strcmp(name, ".debug_frame") && !(sh.sh_flags & SHF_COMPRESSED)) {
            /* A compressed .debug_frame would need inflating: not supported. */
            img->debug_frame_off = sh.sh_offset;
            img->debug_frame_size = sh.sh_size;
        }
    }
}

/* Validates the headers and fills the unwind-section fields of the image. */
static void parse_elf(struct image_slot *s)
{
    Elf64_Ehdr eh;
    if (!read_ehdr(&s->img, &eh))
        return;
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum == PN_XNUM ||
        !in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), s->img.size))
        return;
    s->phoff = eh.e_phoff;
    s->phnum = eh.e_phnum;
    s->elf_ok = true;
    scan_phdrs(s);
    scan_sections(&s->img, &eh);
}

/*
 * bias = target address - ELF vaddr.  The mapping [start, end) shows file
 * bytes from offset; the PT_LOAD that holds those bytes relates file offsets
 * to vaddrs by vaddr - p_vaddr = off - p_offset.  The kernel maps a segment
 * from its page-aligned offset, so "holds" is tested against the rounded-down
 * p_offset, and an executable mapping prefers the executable segment (two
 * segments may share a page of the file).
 */
static uint64_t compute_bias(const struct image_slot *s, const struct map_entry *e,
                             uint64_t page_size)
{
    uint64_t fallback = e->start - e->offset;
    if (!s->elf_ok)
        return fallback;
    bool want_x = maps_is_exec(e), found = false;
    uint64_t bias = fallback;
    for (unsigned i = 0; i < s->phnum; i++) {
        Elf64_Phdr ph = phdr_at(s, i);
        if (ph.p_type != PT_LOAD || !ph.p_filesz || ph.p_offset > UINT64_MAX - ph.p_filesz)
            continue;
        uint64_t lo = ph.p_offset & ~(page_size - 1), hi = ph.p_offset + ph.p_filesz;
        if (e->offset < lo || e->offset >= hi)
            continue;
        uint64_t b = e->start - e->offset + ph.p_offset - ph.p_vaddr;
        if (want_x == !!(ph.p_flags & PF_X))
            return b;
        if (!found) {
            bias = b;
            found = true;
        }
    }
    return bias;
}

/* ------------------------------------------------------------ opening files */

static bool is_vdso(const struct map_entry *e)
{
    return !strcmp(e->path, VDSO_NAME);
}

/* Deleted files and memfds no longer have a usable path: only the mapping
 * itself still reaches their inode. */
static bool needs_map_files(const struct map_entry *e)
{
    return e->deleted || e->path[0] != '/' || !strncmp(e->path, "/memfd:", 7);
}

static void map_files_path(pid_t pid, const struct map_entry *e, char *buf, size_t sz)
{
    snprintf(buf, sz, "/proc/%d/map_files/%llx-%llx", (int)pid, (unsigned long long)e->start,
             (unsigned long long)e->end);
}

static void open_path_for(pid_t pid, const struct map_entry *e, char *buf, size_t sz)
{
    if (is_vdso(e))
        snprintf(buf, sz, "%s", VDSO_NAME);
    else if (needs_map_files(e))
        map_files_path(pid, e, buf, sz);
    else
        snprintf(buf, sz, "/proc/%d/root%s", (int)pid, e->path);
}

/* Opens path and checks it is the mapped inode (a file replaced on disk
 * since it was mapped would give wrong unwind tables).  Returns fd or -errno. */
static int open_checked(const char *path, const struct map_entry *e, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || (uint64_t)st->st_ino != e->inode) {
        close(fd);
        return -ESTALE;
    }
    return fd;
}

/* Maps the module's file read-only into pertop; leaves data NULL on failure. */
static void map_file(struct addrspace *as, struct image_slot *s, const struct module *m,
                     const struct map_entry *e)
{
    struct stat st;
    char alt[96];
    int fd = open_checked(m->open_path, e, &st);
    if (fd < 0 && !needs_map_files(e)) {
        map_files_path(as->pid, e, alt, sizeof alt);
        fd = open_checked(alt, e, &st);
    }
    if (fd < 0)
        return;
    if (st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            s->img.data = p;
            s->img.size = (size_t)st.st_size;
            s->mapped = true;
        }
    }
    close(fd);
}

/* The cached image of module id, created (and its file mapped) on first use.
 * NULL only when memory ran out. */
static struct image_slot *image_get(struct addrspace *as, uint32_t id, const struct map_entry *e)
{
    if (as->images[id])
        return as->images[id];
    struct image_slot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->img.module_id = id;
    if (is_vdso(e)) {
        /* Only if the target's vdso can hold ours: same kernel, same image. */
        if (as->vdso && as->vdso_size <= e->end - e->start) {
            s->img.data = as->vdso;
            s->img.size = as->vdso_size;
        }
    } else {
        map_file(as, s, modreg_get(as->reg, id), e);
    }
    parse_elf(s);
    as->images[id] = s;
    return s;
}

static void image_free(struct image_slot *s)
{
    if (!s)
        return;
    if (s->img.priv && s->img.priv_free)
        s->img.priv_free(s->img.priv);
    if (s->mapped)
        munmap((void *)s->img.data, s->img.size);
    free(s);
}

/* Size of pertop's own vdso image: up to the end of its last header table or
 * loaded bytes, whichever is further. */
static void find_own_vdso(struct addrspace *as)
{
    const uint8_t *base = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
    if (!base)
        return;
    Elf64_Ehdr eh;
    memcpy(&eh, base, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_phentsize != sizeof(Elf64_Phdr))
        return;
    uint64_t size = eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, base + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > size)
            size = ph.p_offset + ph.p_filesz;
    }
    /* Our own kernel's image: a page or a few, never megabytes. */
    if (size < sizeof eh || size > (1u << 20))
        return;
    as->vdso = base;
    as->vdso_size = size;
}

/* ------------------------------------------------------------ refresh */

static bool file_backed(const struct map_entry *e)
{
    return e->path[0] == '/' || is_vdso(e);
}

static uint64_t entry_dev(const struct map_entry *e)
{
    return ((uint64_t)e->dev_major << 32) | e->dev_minor;
}

/* Module id of an entry, registering it; MODULE_NONE when the registry is
 * full. */
static uint32_t intern_entry(struct addrspace *as, const struct map_entry *e)
{
    uint32_t id = modreg_find(as->reg, entry_dev(e), e->inode, e->path);
    if (id != MODULE_NONE)
        return id;
    char open_path[PATH_MAX + 64];
    open_path_for(as->pid, e, open_path, sizeof open_path);
    /* Hold the file open for the session: names are resolved lazily, often
     * after the target has exited and /proc/PID/root is gone. */
    int fd = -1;
    if (!is_vdso(e)) {
        struct stat st;
        fd = open_checked(open_path, e, &st);
        if (fd < 0 && !needs_map_files(e)) {
            map_files_path(as->pid, e, open_path, sizeof open_path);
            fd = open_checked(open_path, e, &st);
        }
        if (fd >= 0)
            snprintf(open_path, sizeof open_path, "/proc/self/fd/%d", fd);
        else
            open_path_for(as->pid, e, open_path, sizeof open_path);
    }
    return modreg_intern_fd(as->reg, entry_dev(e), e->inode, e->path, open_path, fd);
}

static int build_exec(struct addrspace *as, const struct maps *m, struct as_region **out,
                      size_t *nout)
{
    struct as_region *v = calloc(m->n ? m->n : 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct map_entry *e = &m->v[i];
        if (!maps_is_exec(e) || !file_backed(e))
            continue;
        uint32_t id = intern_entry(as, e);
        struct image_slot *s = id == MODULE_NONE ? NULL : image_get(as, id, e);
        if (!s)
            continue;
        v[n].start = e->start;
        v[n].end = e->end;
        v[n].bias = compute_bias(s, e, as->page_size);
        v[n].img = &s->img;
        n++;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* Every mapping of a module that has an open image (non-executable ones
 * too), so that rodata and relro can be read from the file. */
static int build_files(struct addrspace *as, const struct maps *m, struct file_region **out,
                       size_t *nout)
{
    struct file_region *v = calloc(m->n ? m->n : 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct map_entry *e = &m->v[i];
        if (!file_backed(e))
            continue;
        uint32_t id = modreg_find(as->reg, entry_dev(e), e->inode, e->path);
        if (id == MODULE_NONE || !as->images[id] || !as->images[id]->img.data)
            continue;
        v[n].start = e->start;
        v[n].end = e->end;
        v[n].file_off = e->offset;
        v[n].img = &as->images[id]->img;
        n++;
    }
    *out = v;
    *nout = n;
    return 0;
}

int as_refresh(struct addrspace *as)
{
    struct maps m;
    char err[160];
    int rc = maps_read(as->pid, &m, err, sizeof err);
    if (rc < 0)
        return rc;
    struct as_region *exec = NULL;
    struct file_region *files = NULL;
    size_t nexec = 0, nfiles = 0;
    rc = build_exec(as, &m, &exec, &nexec);
    if (rc == 0)
        rc = build_files(as, &m, &files, &nfiles);
    maps_free(&m); /* regions copied what they need; paths live in modreg */
    if (rc < 0) {
        free(exec);
        return rc;
    }
    free(as->exec);
    free(as->files);
    as->exec = exec;
    as->nexec = nexec;
    as->exec_hint = 0;
    as->files = files;
    as->nfiles = nfiles;
    as->file_hint = 0;
    as->refreshes++;
    return 0;
}

struct addrspace *as_new(pid_t pid, struct modreg *reg, char *err, size_t errsz)
{
    struct addrspace *as = calloc(1, sizeof *as);
    if (!as) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    as->pid = pid;
    as->reg = reg;
    long ps = sysconf(_SC_PAGESIZE);
    as->page_size = ps > 0 ? (uint64_t)ps : 4096;
    find_own_vdso(as);
    int rc = as_refresh(as);
    if (rc < 0) {
        snprintf(err, errsz, "cannot read the memory map of %d: %s", (int)pid, strerror(-rc));
        as_free(as);
        return NULL;
    }
    return as;
}

/* struct file_region and struct as_region both begin with start, end */
_Static_assert(offsetof(struct file_region, start) == 0 && offsetof(struct file_region, end) == 8 &&
                   offsetof(struct as_region, start) == 0 && offsetof(struct as_region, end) == 8,
               "sort_ranges reads start and end as the first two words");

static int cmp_start(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts n elements of size sz by start and drops those overlapping the one
 * kept before them; returns how many are left. */
static size_t sort_ranges(void *v, size_t n, size_t sz)
{
    size_t kept = 0;
    uint64_t end = 0;
    qsort(v, n, sz, cmp_start);
    for (size_t i = 0; i < n; i++) {
        uint64_t r[2];
        memcpy(r, (char *)v + i * sz, sizeof r); /* start, end */
        if (kept && r[0] < end)
            continue;
        memmove((char *)v + kept++ * sz, (char *)v + i * sz, sz);
        end = r[1];
    }
    return kept;
}

struct addrspace *as_new_image(const uint8_t *data, size_t size, uint64_t bias, char *err,
                               size_t errsz)
{
    struct addrspace *as = calloc(1, sizeof *as);
    struct image_slot *s = calloc(1, sizeof *s);
    if (!as || !s) {
        free(as);
        free(s);
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    as->page_size = 4096;
    as->images[0] = s;
    s->img.data = data;
    s->img.size = size;
    parse_elf(s);
    if (s->elf_ok) {
        as->files = calloc(s->phnum, sizeof *as->files);
        as->exec = calloc(s->phnum, sizeof *as->exec);
    }
    if (!s->elf_ok || !as->files || !as->exec) {
        snprintf(err, errsz, s->elf_ok ? "out of memory" : "not an ELF image with program headers");
        as_free(as);
        return NULL;
    }
    for (unsigned i = 0; i < s->phnum; i++) {
        Elf64_Phdr ph = phdr_at(s, i);
        uint64_t skip = ph.p_vaddr & (as->page_size - 1), start, end;
        if (ph.p_type != PT_LOAD || !ph.p_filesz || !in_file(ph.p_offset, ph.p_filesz, size) ||
            skip != (ph.p_offset & (as->page_size - 1)) ||
            __builtin_add_overflow(bias, ph.p_vaddr - skip, &start) ||
            __builtin_add_overflow(start, skip + ph.p_filesz, &end))
            continue;
        as->files[as->nfiles++] = (struct file_region){start, end, ph.p_offset - skip, &s->img};
        if (ph.p_flags & PF_X)
            as->exec[as->nexec++] = (struct as_region){start, end, bias, &s->img};
    }
    as->nfiles = sort_ranges(as->files, as->nfiles, sizeof *as->files);
    as->nexec = sort_ranges(as->exec, as->nexec, sizeof *as->exec);
    return as;
}

void as_free(struct addrspace *as)
{
    if (!as)
        return;
    for (size_t i = 0; i < MODREG_MAX; i++)
        image_free(as->images[i]);
    free(as->exec);
    free(as->files);
    free(as);
}

/* ------------------------------------------------------------ lookups */

const struct as_region *as_find(struct addrspace *as, uint64_t addr)
{
    /* Consecutive lookups are mostly in the same module: try the last hit. */
    size_t i = range_find_hint(as->exec, as->nexec, RANGE_FIELDS(struct as_region, start, end),
                               addr, &as->exec_hint);
    return i == RANGE_NONE ? NULL : &as->exec[i];
}

static const struct file_region *find_file(struct addrspace *as, uint64_t addr)
{
    size_t i = range_find_hint(as->files, as->nfiles, RANGE_FIELDS(struct file_region, start, end),
                               addr, &as->file_hint);
    return i == RANGE_NONE ? NULL : &as->files[i];
}

int as_data_module(struct addrspace *as, uint64_t addr, uint32_t *module_id, uint64_t *vaddr)
{
    const struct file_region *r = find_file(as, addr);
    if (!r) { /* past a module's file: its .bss, if right after */
        for (size_t i = 0; i < as->nfiles; i++) {
            const struct file_region *f = &as->files[i];
            if (f->end <= addr && addr - f->end < AS_BSS_REACH && (!r || f->end > r->end))
                r = f;
        }
        for (size_t i = 0; r && i < as->nfiles; i++) /* no other mapping in between */
            if (as->files[i].start >= r->end && as->files[i].start <= addr)
                r = NULL;
    }
    if (!r || !r->img)
        return -ENOENT;
    for (size_t i = 0; i < as->nexec; i++) {
        if (as->exec[i].img && as->exec[i].img->module_id == r->img->module_id) {
            *module_id = r->img->module_id;
            *vaddr = addr - as->exec[i].bias;
            return 0;
        }
    }
    return -ENOENT;
}

int as_read_file_bytes(struct addrspace *as, uint64_t addr, void *buf, size_t len)
{
    const struct file_region *r = find_file(as, addr);
    if (!r || len > r->end - addr)
        return -EFAULT;
    uint64_t off = r->file_off + (addr - r->start);
    if (off < r->file_off || !in_file(off, len, r->img->size))
        return -EFAULT; /* past the end of the file: .bss, or a truncated file */
    memcpy(buf, r->img->data + off, len);
    return 0;
}

pid_t as_pid(const struct addrspace *as)
{
    return as->pid;
}

const struct modreg *as_modreg(const struct addrspace *as)
{
    return as->reg;
}

uint64_t as_refresh_count(const struct addrspace *as)
{
    return as->refreshes;
}
