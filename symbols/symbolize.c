/*
 * symbolize.c - (module, ELF vaddr) -> frames; see symbolize.h.
 *
 * Parts, in file order: the string interner, the result cache, the search
 * for separate debug files, opening a module (one libdwfl session each),
 * and resolving one address (DWARF scopes for inline chains and names, the
 * module's sorted symbol table when there is no DWARF, "module+0x..." when
 * there is nothing).
 *
 * Each module gets its own Dwfl with only that module, reported so that
 * Dwfl addresses are the module's ELF vaddrs: no two modules can overlap,
 * and a module's cached data does not depend on where the target mapped it.
 */
#include "symbols/symbolize.h"
#include "common/hash.h"
#include "common/vec.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols/demangle.h"
#include "symbols/fdetab.h"
#include "symbols/plt.h"
#include "symbols/symtab.h"

#define MAX_DEBUG_DIRS  8
#define CACHE_WAYS      8
#define CACHE_SETS      (SYM_CACHE_ENTRIES / CACHE_WAYS)
#define INTERN_BLOCK    (64u * 1024u)
#define DWARF_EAGER_MAX (8ull << 20) /* decompressed bytes opened with the module */

/* ------------------------------------------------------------ interner */

struct str_block {
    struct str_block *next;
    size_t used, cap;
    char data[];
};

struct interner {
    const char **slots; /* open addressing, power-of-two size */
    size_t nslots, count;
    size_t bytes; /* total stored, for SYM_INTERN_MAX_BYTES */
    struct str_block *blocks;
};

static int interner_grow(struct interner *in)
{
    size_t n = in->nslots ? in->nslots * 2 : 1024;
    const char **slots = calloc(n, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < in->nslots; i++) {
        const char *str = in->slots[i];
        if (!str)
            continue;
        size_t j = hash_bytes(str, strlen(str)) & (n - 1);
        while (slots[j])
            j = (j + 1) & (n - 1);
        slots[j] = str;
    }
    free(in->slots);
    in->slots = slots;
    in->nslots = n;
    return 0;
}

static const char *interner_store(struct interner *in, const char *str, size_t len)
{
    struct str_block *b = in->blocks;
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > INTERN_BLOCK ? len + 1 : INTERN_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = in->blocks;
        in->blocks = b;
    }
    char *p = b->data + b->used;
    memcpy(p, str, len);
    p[len] = '\0';
    b->used += len + 1;
    in->bytes += len + 1;
    return p;
}

/* The interned copy of str, or "?" when memory or the byte budget ran out:
 * callers always get a usable string. */
static const char *interner_get(struct interner *in, const char *str)
{
    size_t len = strlen(str);
    if ((in->count + 1) * 2 > in->nslots && interner_grow(in) < 0)
        return "?";
    size_t j = hash_bytes(str, len) & (in->nslots - 1);
    while (in->slots[j]) {
        if (strcmp(in->slots[j], str) == 0)
            return in->slots[j];
        j = (j + 1) & (in->nslots - 1);
    }
    if (in->bytes + len + 1 > SYM_INTERN_MAX_BYTES)
        return "?";
    const char *p = interner_store(in, str, len);
    if (!p)
        return "?";
    in->slots[j] = p;
    in->count++;
    return p;
}

static void interner_free(struct interner *in)
{
    struct str_block *b = in->blocks;
    while (b) {
        struct str_block *next = b->next;
        free(b);
        b = next;
    }
    free(in->slots);
}

/* ------------------------------------------------------- result cache */

/* Set-associative: a key hashes to one set of CACHE_WAYS entries and
 * evicts the least recently used of them.  O(1), bounded, no deletion
 * bookkeeping; a few conflict misses are the price. */
struct cache_entry {
    uint64_t vaddr;
    uint32_t module_id;
    uint32_t n; /* 0 = empty */
    uint64_t stamp;
    struct sym_frame *frames;
};

static uint64_t cache_hash(uint32_t module_id, uint64_t vaddr)
{
    return hash_mix64(vaddr ^ ((uint64_t)module_id << 40) ^ module_id);
}

static struct cache_entry *cache_set(struct cache_entry *cache, uint32_t module_id, uint64_t vaddr)
{
    return &cache[(cache_hash(module_id, vaddr) % CACHE_SETS) * CACHE_WAYS];
}

/* ------------------------------------------------------------ modules */

struct symbolizer;

/* The functions of one compilation unit by address.  dwarf_getscopes walks
 * the whole CU for every address, which costs milliseconds in a large C++
 * unit; with this index only the one function's subtree is walked. */
struct fn_range {
    Dwarf_Addr lo, hi;
    Dwarf_Die die;
};

struct cu_index {
    Dwarf_Off cu_off;
    size_t n;
    struct fn_range *v; /* sorted by lo */
};

struct sym_module {
    struct symbolizer *owner;
    uint32_t module_id;
    bool used;
    uint64_t stamp;
    const char *short_name;  /* interned basename, for "module+0x..." */
    const char *target_name; /* interned target path, for debuglink dirs */
    Dwfl *dwfl;              /* NULL when the file could not be used */
    Dwfl_Module *mod;
    Dwarf_Addr bias; /* Dwfl address = ELF vaddr + bias (0 as reported) */
    bool has_dwarf;
    bool dwarf_deferred; /* compressed and large: opened when lines are asked */
    struct symtab *syms;
    struct symtab *data; /* sized data objects (a lock's name), NULL when none */
    struct fdetab fdes;  /* function ranges for unnamed addresses, built lazily */
    bool fdes_read;
    struct cu_index **cus; /* sorted by CU offset, built lazily */
    size_t ncus, capcus;
};

/* A module known by its bytes, not a file (the vDSO, read from the target). */
struct sym_image {
    uint32_t module_id;
    uint8_t *data;
    size_t len;
};

struct symbolizer {
    char *root; /* "" for none */
    struct sym_image images[SYM_MAX_IMAGES];
    unsigned nimages;
    char *debug_dirs[MAX_DEBUG_DIRS];
    unsigned ndebug_dirs, nextra_dirs;
    struct interner strs;
    struct cache_entry *cache;
    struct sym_module mods[SYM_MAX_MODULES];
    uint64_t clock; /* LRU stamps */
    uint64_t dwarf_eager_max;
    struct sym_stats stats;
    struct sym_result out;
};

static const char *intern(struct symbolizer *s, const char *str)
{
    return str ? interner_get(&s->strs, str) : NULL;
}

const char *sym_intern(struct symbolizer *s, const char *str)
{
    return intern(s, str);
}

static void module_close(struct sym_module *m)
{
    for (size_t i = 0; i < m->ncus; i++) {
        free(m->cus[i]->v);
        free(m->cus[i]);
    }
    free(m->cus);
    if (m->dwfl)
        dwfl_end(m->dwfl);
    symtab_free(m->syms);
    symtab_free(m->data);
    fdetab_free(&m->fdes);
    *m = (struct sym_module){0};
}

struct symbolizer *sym_new(const char *root)
{
    /* libelf refuses to work before this; dwfl_begin does it too, but the
     * debug file search opens ELF files on its own. */
    if (elf_version(EV_CURRENT) == EV_NONE)
        return NULL;
    struct symbolizer *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->root = strdup(root ? root : "");
    s->dwarf_eager_max = DWARF_EAGER_MAX;
    s->cache = calloc((size_t)CACHE_SETS * CACHE_WAYS, sizeof(*s->cache));
    if (!s->root || !s->cache)
        goto fail;
    /* The target's own debug files first: the host's may belong to other
     * builds of the same paths (build-ids are checked either way). */
    if (s->root[0]) {
        if (asprintf(&s->debug_dirs[s->ndebug_dirs], "%s/usr/lib/debug", s->root) < 0)
            goto fail;
        s->ndebug_dirs++;
    }
    s->debug_dirs[s->ndebug_dirs] = strdup("/usr/lib/debug");
    if (!s->debug_dirs[s->ndebug_dirs])
        goto fail;
    s->ndebug_dirs++;
    return s;
fail:
    sym_free(s);
    return NULL;
}

void sym_free(struct symbolizer *s)
{
    for (unsigned k = 0; s && k < s->nimages; k++)
        free(s->images[k].data);
    if (!s)
        return;
    for (unsigned i = 0; i < SYM_MAX_MODULES; i++)
        module_close(&s->mods[i]);
    if (s->cache)
        for (size_t i = 0; i < (size_t)CACHE_SETS * CACHE_WAYS; i++)
            free(s->cache[i].frames);
    free(s->cache);
    for (unsigned i = 0; i < s->ndebug_dirs; i++)
        free(s->debug_dirs[i]);
    interner_free(&s->strs);
    free(s->root);
    free(s);
}

int sym_add_debug_dir(struct symbolizer *s, const char *dir)
{
    if (s->ndebug_dirs >= MAX_DEBUG_DIRS)
        return -ENOSPC;
    char *copy = strdup(dir);
    if (!copy)
        return -ENOMEM;
    /* Added directories go before the standard ones, in the order added. */
    unsigned at = s->nextra_dirs++;
    memmove(&s->debug_dirs[at + 1], &s->debug_dirs[at],
            (s->ndebug_dirs - at) * sizeof(s->debug_dirs[0]));
    s->debug_dirs[at] = copy;
    s->ndebug_dirs++;
    return 0;
}

void sym_get_stats(const struct symbolizer *s, struct sym_stats *out)
{
    *out = s->stats;
    out->modules = out->modules_with_dwarf = 0;
    for (unsigned i = 0; i < SYM_MAX_MODULES; i++) {
        if (!s->mods[i].used || !s->mods[i].dwfl)
            continue;
        out->modules++;
        out->modules_with_dwarf += s->mods[i].has_dwarf;
    }
}

/* ------------------------------------------------ separate debug files */

/* Open path if it is a regular ELF file; with a build-id, only when the
 * file carries the same one (a stale or foreign debug file would give
 * wrong lines).  Returns an fd or -1. */
static int open_debug_candidate(const char *path, const void *id, int idlen)
{
    /* O_NONBLOCK: a FIFO planted at a debug path must not hang us. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        goto reject;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf)
        goto reject;
    bool ok = elf_kind(elf) == ELF_K_ELF;
    if (ok && idlen > 0) {
        const void *fid = NULL;
        ssize_t flen = dwelf_elf_gnu_build_id(elf, &fid);
        ok = flen == idlen && memcmp(fid, id, (size_t)idlen) == 0;
    }
    elf_end(elf);
    if (ok)
        return fd;
reject:
    close(fd);
    return -1;
}

/* Try one candidate path; on success hand libdwfl the fd and a copy of the
 * name (it frees it). */
static int try_debug_path(const char *path, const void *id, int idlen, char **name_out)
{
    int fd = open_debug_candidate(path, id, idlen);
    if (fd < 0)
        return -1;
    char *copy = strdup(path);
    if (!copy) {
        close(fd);
        return -1;
    }
    free(*name_out);
    *name_out = copy;
    return fd;
}

static int find_by_build_id(const struct symbolizer *s, const unsigned char *id, int idlen,
                            char **name_out)
{
    if (idlen < 2 || idlen > 64)
        return -1;
    char hex[2 * 64 + 1];
    for (int i = 0; i < idlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    char path[PATH_MAX];
    for (unsigned i = 0; i < s->ndebug_dirs; i++) {
        int n = snprintf(path, sizeof path, "%s/.build-id/%.2s/%s.debug", s->debug_dirs[i], hex,
                         hex + 2);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        int fd = try_debug_path(path, id, idlen, name_out);
        if (fd >= 0)
            return fd;
    }
    return -1;
}

/* Directory part of path ("" for none), into buf. */
static const char *dir_of(const char *path, char *buf, size_t bufsz)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    size_t len = slash ? (size_t)(slash - path) : 0;
    if (len >= bufsz)
        len = 0;
    memcpy(buf, path, len);
    buf[len] = '\0';
    return buf;
}

/* .gnu_debuglink: next to the file, in its .debug subdirectory, and under
 * each debug directory at the module's path in the target (not the path
 * pertop opened, which carries the /proc/PID/root prefix). */
static int find_by_debuglink(const struct symbolizer *s, const struct sym_module *m,
                             const char *file_name, const char *link, const void *id, int idlen,
                             char **name_out)
{
    /* The link is untrusted: a plain file name, nothing that walks dirs. */
    if (!link[0] || strchr(link, '/') || !strcmp(link, ".") || !strcmp(link, ".."))
        return -1;
    char filedir[PATH_MAX], targetdir[PATH_MAX], path[PATH_MAX];
    dir_of(file_name, filedir, sizeof filedir);
    dir_of(m->target_name, targetdir, sizeof targetdir);
    for (unsigned i = 0; i < 2 + s->ndebug_dirs; i++) {
        int n;
        if (i == 0)
            n = snprintf(path, sizeof path, "%s/%s", filedir, link);
        else if (i == 1)
            n = snprintf(path, sizeof path, "%s/.debug/%s", filedir, link);
        else
            n = snprintf(path, sizeof path, "%s%s/%s", s->debug_dirs[i - 2], targetdir, link);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        /* Never the module's own file again. */
        if (file_name && !strcmp(path, file_name))
            continue;
        int fd = try_debug_path(path, id, idlen, name_out);
        if (fd >= 0)
            return fd;
    }
    return -1;
}

/* The build-id a .gnu_debugaltlink section asks for: the section holds the
 * alt file's name, a NUL, then the id.  Returns its length, or 0. */
static int altlink_build_id(const char *file_name, unsigned char *id, size_t idsz)
{
    int fd = file_name ? open(file_name, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
    if (fd < 0)
        return 0;
    int len = 0;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    size_t shstrndx;
    if (elf && elf_kind(elf) == ELF_K_ELF && elf_getshdrstrndx(elf, &shstrndx) == 0) {
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(elf, scn))) {
            GElf_Shdr sh;
            const char *name;
            if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
                strcmp(name, ".gnu_debugaltlink") != 0)
                continue;
            Elf_Data *d = elf_getdata(scn, NULL);
            const char *p = d ? d->d_buf : NULL;
            const char *nul = p ? memchr(p, '\0', d->d_size) : NULL;
            if (nul) {
                size_t n = d->d_size - (size_t)(nul + 1 - p);
                if (n > 0 && n <= idsz) {
                    memcpy(id, nul + 1, n);
                    len = (int)n;
                }
            }
            break;
        }
    }
    elf_end(elf);
    close(fd);
    return len;
}

/* .gnu_debugaltlink (dwz): libdwfl asks for it through the same callback
 * with the link's path as debuglink, crc 0, and the file holding the link
 * as file_name.  By the alt file's build-id first (Debian links .dwz files
 * there too), then at the path: an absolute one is in the target's file
 * system, a relative one is relative to the file holding the link. */
static int find_altlink(const struct symbolizer *s, const char *file_name, const char *link,
                        char **name_out)
{
    unsigned char id[64];
    int idlen = altlink_build_id(file_name, id, sizeof id);
    if (idlen == 0)
        return -1; /* nothing to check a candidate against */
    int fd = find_by_build_id(s, id, idlen, name_out);
    if (fd >= 0)
        return fd;
    char path[PATH_MAX], dir[PATH_MAX];
    int n;
    if (link[0] == '/')
        n = snprintf(path, sizeof path, "%s%s", s->root, link);
    else
        n = snprintf(path, sizeof path, "%s/%s", dir_of(file_name, dir, sizeof dir), link);
    if (n < 0 || (size_t)n >= sizeof path)
        return -1;
    return try_debug_path(path, id, idlen, name_out);
}

/* Our find_debuginfo callback.  dwfl_standard_find_debuginfo is not used:
 * it resolves .gnu_debuglink against the path pertop opened (under
 * /proc/PID/root), so /usr/lib/debug/<dir>/<link> would be looked up at the
 * wrong place, and it may query debuginfod servers over the network. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, GElf_Addr base,
                          const char *file_name, const char *debuglink, GElf_Word crc,
                          char **debuginfo_file_name)
{
    (void)modname;
    (void)base;
    const struct sym_module *m = *userdata;
    if (!m)
        return -1;
    const struct symbolizer *s = m->owner;
    if (debuglink && strchr(debuglink, '/') && crc == 0)
        return find_altlink(s, file_name, debuglink, debuginfo_file_name);
    const unsigned char *id = NULL;
    GElf_Addr id_vaddr;
    int idlen = dwfl_module_build_id(mod, &id, &id_vaddr);
    if (idlen < 0)
        idlen = 0;
    int fd = find_by_build_id(s, id, idlen, debuginfo_file_name);
    if (fd < 0 && debuglink)
        fd = find_by_debuglink(s, m, file_name, debuglink, id, idlen, debuginfo_file_name);
    return fd;
}

static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = NULL,
};

/* ------------------------------------------------------ opening modules */

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Open the module's file ourselves: a regular file that starts like ELF.
 * libdwfl would happily decompress a gzip or xz file it is handed, which an
 * untrusted target must not be able to make us do. */
static int open_module_file(const char *open_path)
{
    int fd = open(open_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    unsigned char magic[4];
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        pread(fd, magic, sizeof magic, 0) != (ssize_t)sizeof magic ||
        memcmp(magic, ELFMAG, SELFMAG) != 0) {
        close(fd);
        return -ENOEXEC;
    }
    return fd;
}

static bool in_exec_section(Elf *elf, GElf_Word shndx)
{
    if (!elf || shndx == SHN_UNDEF || shndx >= SHN_LORESERVE)
        return false;
    GElf_Shdr shdr;
    Elf_Scn *scn = elf_getscn(elf, shndx);
    return scn && gelf_getshdr(scn, &shdr) && (shdr.sh_flags & SHF_EXECINSTR);
}

static enum symtab_bind bind_of(unsigned char info)
{
    switch (GELF_ST_BIND(info)) {
    case STB_GLOBAL:
        return SYMTAB_GLOBAL;
    case STB_WEAK:
        return SYMTAB_WEAK;
    default:
        return SYMTAB_LOCAL;
    }
}

/* sym into t when it is code: a function, an IFUNC, or an assembler label
 * in an executable section (NOTYPE covers labels used as functions; only
 * those in code count, or _end and friends would swallow the gaps), at
 * addr, its version dropped and its name demangled.  0 when added or not
 * code, -ENOMEM. */
static int add_code_symbol(struct symtab *t, Elf *elf, const GElf_Sym *sym, GElf_Word shndx,
                           uint64_t addr, const char *name)
{
    int type = GELF_ST_TYPE(sym->st_info);
    if ((type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) ||
        !in_exec_section(elf, shndx))
        return 0;
    /* A symbol version ("clock_gettime@@GLIBC_2.17") names the ABI, not
     * the function: the views show the name alone. */
    char bare[256];
    const char *at = strchr(name, '@');
    if (at && at > name && (size_t)(at - name) < sizeof bare) {
        memcpy(bare, name, (size_t)(at - name));
        bare[at - name] = '\0';
        name = bare;
    }
    char *dm = demangle(name);
    int err = symtab_add_bind(t, addr, sym->st_size, dm ? dm : name, bind_of(sym->st_info));
    free(dm);
    return err;
}

/* A PLT stub as perf names it: the callee, demangled, and "@plt". */
static int add_plt(void *ctx, uint64_t addr, uint64_t size, const char *name)
{
    char *dm = demangle(name);
    char buf[512];
    snprintf(buf, sizeof buf, "%s@plt", dm ? dm : name);
    free(dm);
    return symtab_add_bind(ctx, addr, size, buf, SYMTAB_GLOBAL);
}

/* The module's function symbols (libdwfl picks .symtab, from the debug
 * file if needed, else .dynsym), demangled, in a sorted table; *from is
 * the ELF file they came from (NULL when there are none). */
static int build_symtab(struct sym_module *m, Elf **from)
{
    *from = NULL;
    m->syms = symtab_new();
    if (!m->syms)
        return -ENOMEM;
    int n = dwfl_module_getsymtab(m->mod);
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        Elf *elf = NULL;
        const char *name = dwfl_module_getsym_info(m->mod, i, &sym, &addr, &shndx, &elf, NULL);
        if (!*from)
            *from = elf;
        if (!name || !name[0])
            continue;
        int type = GELF_ST_TYPE(sym.st_info);
        if (type == STT_OBJECT && sym.st_size && shndx != SHN_UNDEF && shndx < SHN_LORESERVE) {
            if (!m->data)
                m->data = symtab_new();
            if (m->data)
                symtab_add_bind(m->data, addr - m->bias, sym.st_size, name, bind_of(sym.st_info));
            continue;
        }
        if (add_code_symbol(m->syms, elf, &sym, shndx, addr - m->bias, name) < 0)
            break; /* out of memory: keep what we have */
    }
    /* the stubs are in the module's own file: a debug file's .plt is empty */
    GElf_Addr bias;
    plt_names(dwfl_module_getelf(m->mod, &bias), add_plt, m->syms);
    symtab_finish(m->syms);
    if (m->data)
        symtab_finish(m->data);
    return 0;
}

/* Bytes the compressed .debug_* sections of elf take once decompressed:
 * libdw decompresses them whole into memory when the DWARF is opened. */
static uint64_t compressed_dwarf_bytes(Elf *elf)
{
    size_t shstrndx;
    uint64_t total = 0;
    if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        GElf_Chdr ch;
        const char *nm;
        if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_COMPRESSED) ||
            !(nm = elf_strptr(elf, shstrndx, sh.sh_name)) || strncmp(nm, ".debug_", 7) != 0 ||
            !gelf_getchdr(scn, &ch))
            continue;
        total += ch.ch_size;
    }
    return total;
}

static void open_dwarf(struct sym_module *m)
{
    Dwarf_Addr dwbias;
    m->dwarf_deferred = false;
    m->has_dwarf = dwfl_module_getdwarf(m->mod, &dwbias) != NULL;
}

static int module_open(struct sym_module *m, const char *open_path)
{
    int fd = open_module_file(open_path);
    if (fd < 0)
        return fd;
    m->dwfl = dwfl_begin(&dwfl_callbacks);
    if (!m->dwfl) {
        close(fd);
        return -ENOMEM;
    }
    /* Base 0 with add_p_vaddr: the module sits at its own ELF vaddrs, also
     * for an ET_DYN whose first PT_LOAD is not at 0.  On success libdwfl
     * owns fd. */
    dwfl_report_begin(m->dwfl);
    m->mod = dwfl_report_elf(m->dwfl, m->target_name, open_path, fd, 0, true);
    if (!m->mod) {
        close(fd);
        goto fail;
    }
    if (dwfl_report_end(m->dwfl, NULL, NULL) != 0)
        goto fail;
    /* The debuginfo callback reaches the symbolizer through this. */
    void **userdata = NULL;
    dwfl_module_info(m->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
    if (userdata)
        *userdata = m;
    if (!dwfl_module_getelf(m->mod, &m->bias))
        goto fail;
    Elf *syms_from;
    int rc = build_symtab(m, &syms_from);
    /* DWARF that would be decompressed into more than dwarf_eager_max bytes
     * (a distribution's debug package: libc's takes about 19 MiB) waits
     * until a view asks for lines (sym_line); the symbol table names the
     * module's functions meanwhile. */
    if (compressed_dwarf_bytes(syms_from) > m->owner->dwarf_eager_max)
        m->dwarf_deferred = true;
    else
        open_dwarf(m);
    return rc;
fail:
    dwfl_end(m->dwfl);
    m->dwfl = NULL;
    m->mod = NULL;
    return -ENOEXEC;
}

/* The function symbols of an ELF image in memory (.symtab, else .dynsym),
 * at their vaddrs.  The bytes are the target's: libelf checks the tables
 * against the image's size, and names are bounded. */
static int image_symtab(struct sym_module *m, const struct sym_image *img)
{
    m->syms = symtab_new();
    Elf *elf = m->syms ? elf_memory((char *)img->data, img->len) : NULL;
    if (!elf)
        return m->syms ? -ENOEXEC : -ENOMEM;
    Elf_Scn *best = NULL;
    GElf_Shdr sh;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn))
        if (gelf_getshdr(scn, &sh) &&
            (sh.sh_type == SHT_SYMTAB || (!best && sh.sh_type == SHT_DYNSYM)))
            best = scn;
    Elf_Data *d = best && gelf_getshdr(best, &sh) && sh.sh_entsize ? elf_getdata(best, NULL) : NULL;
    size_t n = d ? d->d_size / sh.sh_entsize : 0;
    for (size_t i = 1; i < n && i < SYM_IMAGE_MAX_SYMS; i++) {
        GElf_Sym sym;
        const char *name;
        if (!gelf_getsym(d, (int)i, &sym) || !(name = elf_strptr(elf, sh.sh_link, sym.st_name)) ||
            !name[0] || strnlen(name, 256) == 256)
            continue;
        if (add_code_symbol(m->syms, elf, &sym, sym.st_shndx, sym.st_value, name) < 0)
            break;
    }
    elf_end(elf);
    symtab_finish(m->syms);
    return 0;
}

static const struct sym_image *find_image(const struct symbolizer *s, uint32_t module_id)
{
    for (unsigned i = 0; i < s->nimages; i++)
        if (s->images[i].module_id == module_id)
            return &s->images[i];
    return NULL;
}

int sym_add_image(struct symbolizer *s, uint32_t module_id, const void *data, size_t len)
{
    if (!len || len > SYM_IMAGE_MAX)
        return -E2BIG;
    if (find_image(s, module_id))
        return -EEXIST;
    if (s->nimages == SYM_MAX_IMAGES)
        return -ENOSPC;
    uint8_t *copy = malloc(len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, data, len);
    s->images[s->nimages++] = (struct sym_image){.module_id = module_id, .data = copy, .len = len};
    for (unsigned i = 0; i < SYM_MAX_MODULES; i++) /* opened before as nameless: again */
        if (s->mods[i].used && s->mods[i].module_id == module_id)
            module_close(&s->mods[i]);
    for (unsigned i = 0; i < (unsigned)CACHE_SETS * CACHE_WAYS; i++)
        if (s->cache[i].module_id == module_id)
            s->cache[i].n = 0;
    return 0;
}

static struct sym_module *module_get(struct symbolizer *s, uint32_t module_id, const char *name,
                                     const char *open_path)
{
    struct sym_module *victim = &s->mods[0];
    for (unsigned i = 0; i < SYM_MAX_MODULES; i++) {
        struct sym_module *m = &s->mods[i];
        if (m->used && m->module_id == module_id) {
            m->stamp = ++s->clock;
            return m;
        }
        if (!m->used || (victim->used && m->stamp < victim->stamp))
            victim = m;
    }
    module_close(victim);
    struct sym_module *m = victim;
    m->used = true;
    m->owner = s;
    m->module_id = module_id;
    m->stamp = ++s->clock;
    const char *label = name && name[0] ? name : open_path ? open_path : "?";
    m->target_name = intern(s, label);
    m->short_name = intern(s, basename_of(label));
    /* A module that cannot be opened stays in the table without a session,
     * so that its other addresses do not retry the open. */
    const struct sym_image *img = find_image(s, module_id); /* before any file */
    if ((img && image_symtab(m, img) < 0) || (!img && open_path && module_open(m, open_path) < 0)) {
        symtab_free(m->syms);
        m->syms = NULL;
    }
    return m;
}

/* ---------------------------------------------------- resolving an address */

static int clamp_line(Dwarf_Word v)
{
    return v > INT_MAX ? 0 : (int)v;
}

/* Source paths in DWARF are often relative to the compilation directory;
 * views want a path they can open. */
static const char *intern_path(struct symbolizer *s, Dwarf_Die *cu, const char *path)
{
    if (!path)
        return NULL;
    if (path[0] != '/' && cu) {
        Dwarf_Attribute attr;
        const char *comp_dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
        char buf[PATH_MAX];
        if (comp_dir && comp_dir[0] == '/') {
            int n = snprintf(buf, sizeof buf, "%s/%s", comp_dir, path);
            if (n > 0 && (size_t)n < sizeof buf)
                return intern(s, buf);
        }
    }
    return intern(s, path);
}

/* A function DIE's name: the demangled linkage name when there is one
 * (fully qualified, with template arguments and parameters), else
 * DW_AT_name, following abstract origins and specifications. */
static const char *die_func_name(struct symbolizer *s, Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (!linkage)
        linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    if (linkage) {
        char *dm = demangle(linkage);
        if (dm) {
            const char *r = intern(s, dm);
            free(dm);
            return r;
        }
    }
    const char *name = dwarf_diename(die);
    if (name)
        return intern(s, name);
    return linkage ? intern(s, linkage) : NULL;
}

static bool die_udata(Dwarf_Die *die, unsigned at, Dwarf_Word *val)
{
    Dwarf_Attribute attr;
    return dwarf_formudata(dwarf_attr(die, at, &attr), val) == 0;
}

/* Call site of an inlined instance: the line in the function it was
 * inlined into. */
static void call_site(struct symbolizer *s, Dwarf_Die *inl, const char **file, int *line)
{
    Dwarf_Word v;
    Dwarf_Die cu;
    Dwarf_Files *files;
    size_t nfiles;
    *file = NULL;
    *line = die_udata(inl, DW_AT_call_line, &v) ? clamp_line(v) : 0;
    if (!die_udata(inl, DW_AT_call_file, &v) || !dwarf_diecu(inl, &cu, NULL, NULL) ||
        dwarf_getsrcfiles(&cu, &files, &nfiles) != 0 || v >= nfiles)
        return;
    *file = intern_path(s, &cu, dwarf_filesrc(files, v, NULL, NULL));
}

static void decl_of(struct symbolizer *s, Dwarf_Die *die, struct sym_frame *f)
{
    Dwarf_Die cu;
    int line = 0;
    const char *file = dwarf_decl_file(die);
    if (file && dwarf_diecu(die, &cu, NULL, NULL))
        f->decl_file = intern_path(s, &cu, file);
    else
        f->decl_file = intern(s, file);
    if (dwarf_decl_line(die, &line) == 0 && line > 0)
        f->decl_line = line;
}

static bool is_function_tag(int tag)
{
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
           tag == DW_TAG_entry_point;
}

/* file:line of the address itself, from the line table. */
static void pc_line(struct symbolizer *s, struct sym_module *m, Dwarf_Addr addr, const char **file,
                    int *line)
{
    *file = NULL;
    *line = 0;
    Dwfl_Line *l = dwfl_module_getsrc(m->mod, addr);
    if (!l)
        return;
    int lineno = 0;
    const char *src = dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL);
    if (!src)
        return;
    *file = intern_path(s, dwfl_linecu(l), src);
    *line = lineno > 0 ? lineno : 0;
}

/* ------------------------------------------ function index and scopes */

/* Children of these may be functions (C++ out-of-line members, functions
 * in namespaces); function bodies are not entered: nested functions are
 * rare and fall back to dwarf_getscopes. */
static bool holds_functions(int tag)
{
    return tag == DW_TAG_namespace || tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
           tag == DW_TAG_union_type || tag == DW_TAG_module;
}

struct fn_list {
    struct fn_range *v;
    size_t n, cap;
    unsigned budget; /* DIEs left to visit: hostile DWARF must end */
};

static int fn_list_add(struct fn_list *l, Dwarf_Addr lo, Dwarf_Addr hi, const Dwarf_Die *die)
{
    if (vec_reserve(&l->v, &l->cap, l->n + 1, sizeof *l->v) < 0)
        return -ENOMEM;
    l->v[l->n++] = (struct fn_range){.lo = lo, .hi = hi, .die = *die};
    return 0;
}

static int collect_functions(Dwarf_Die *parent, struct fn_list *l, int depth)
{
    Dwarf_Die child;
    if (depth > 32 || dwarf_child(parent, &child) != 0)
        return 0;
    do {
        if (l->budget == 0)
            return 0;
        l->budget--;
        int tag = dwarf_tag(&child);
        if (tag == DW_TAG_subprogram || tag == DW_TAG_entry_point) {
            Dwarf_Addr base, lo, hi;
            ptrdiff_t off = 0;
            while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0)
                if (hi > lo && fn_list_add(l, lo, hi, &child) < 0)
                    return -ENOMEM;
        } else if (holds_functions(tag)) {
            if (collect_functions(&child, l, depth + 1) < 0)
                return -ENOMEM;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return 0;
}

static int cmp_fn_range(const void *pa, const void *pb)
{
    const struct fn_range *a = pa, *b = pb;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return a->hi < b->hi ? -1 : a->hi > b->hi;
}

static struct cu_index *cu_index_build(Dwarf_Die *cudie)
{
    struct cu_index *ci = calloc(1, sizeof(*ci));
    if (!ci)
        return NULL;
    struct fn_list l = {.budget = 1u << 22};
    if (collect_functions(cudie, &l, 0) < 0) {
        free(l.v);
        free(ci);
        return NULL;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof(*l.v), cmp_fn_range);
    ci->cu_off = dwarf_dieoffset(cudie);
    ci->n = l.n;
    ci->v = l.v;
    return ci;
}

/* The module's index of the CU, built on first use; NULL without memory. */
static struct cu_index *cu_index_get(struct sym_module *m, Dwarf_Die *cudie)
{
    Dwarf_Off off = dwarf_dieoffset(cudie);
    size_t lo = 0, hi = m->ncus;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->cus[mid]->cu_off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->ncus && m->cus[lo]->cu_off == off)
        return m->cus[lo];
    if (vec_reserve(&m->cus, &m->capcus, m->ncus + 1, sizeof *m->cus) < 0)
        return NULL;
    struct cu_index *ci = cu_index_build(cudie);
    if (!ci)
        return NULL;
    memmove(&m->cus[lo + 1], &m->cus[lo], (m->ncus - lo) * sizeof(m->cus[0]));
    m->cus[lo] = ci;
    m->ncus++;
    return ci;
}

static const struct fn_range *cu_index_find(const struct cu_index *ci, Dwarf_Addr pc)
{
    size_t lo = 0, hi = ci->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ci->v[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Ranges of different functions do not overlap in sane DWARF; look a
     * little further back in case they do. */
    for (size_t k = 0; k < 4 && k < lo; k++)
        if (pc < ci->v[lo - 1 - k].hi)
            return &ci->v[lo - 1 - k];
    return NULL;
}

static bool is_scope_tag(int tag)
{
    return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
           tag == DW_TAG_try_block || tag == DW_TAG_catch_block || tag == DW_TAG_with_stmt ||
           tag == DW_TAG_common_block;
}

#define MAX_SCOPE_DEPTH 64

/* From the function's DIE down to the innermost scope holding pc.  Fills
 * out[] innermost first; returns the count. */
static int descend_scopes(const Dwarf_Die *fn, Dwarf_Addr pc, Dwarf_Die *out)
{
    Dwarf_Die path[MAX_SCOPE_DEPTH];
    int depth = 0;
    unsigned budget = 1u << 20;
    path[depth++] = *fn;
    bool deeper = true;
    while (deeper && depth < MAX_SCOPE_DEPTH) {
        deeper = false;
        Dwarf_Die child;
        if (dwarf_child(&path[depth - 1], &child) != 0)
            break;
        do {
            if (budget == 0)
                break;
            budget--;
            if (is_scope_tag(dwarf_tag(&child)) && dwarf_haspc(&child, pc) == 1) {
                path[depth++] = child;
                deeper = true;
                break;
            }
        } while (dwarf_siblingof(&child, &child) == 0);
    }
    for (int i = 0; i < depth; i++)
        out[i] = path[depth - 1 - i];
    return depth;
}

/* The chain of scopes at pc, innermost first, into a malloc'd array.
 * Fast path through the CU's function index; otherwise as eu-addr2line -i
 * does it: dwarf_getscopes finds the innermost scope (above an inlined
 * instance it continues in the abstract tree), dwarf_getscopes_die on that
 * DIE gives its real parents, the functions it was inlined into. */
static int scope_chain(struct sym_module *m, Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **chain)
{
    struct cu_index *ci = cu_index_get(m, cudie);
    const struct fn_range *fr = ci ? cu_index_find(ci, pc) : NULL;
    if (fr) {
        *chain = malloc(MAX_SCOPE_DEPTH * sizeof(**chain));
        if (*chain)
            return descend_scopes(&fr->die, pc, *chain);
    }
    Dwarf_Die *scopes = NULL;
    int nscopes = dwarf_getscopes(cudie, pc, &scopes);
    int n = nscopes > 0 ? dwarf_getscopes_die(&scopes[0], chain) : 0;
    free(scopes);
    return n;
}

/* Function frames at addr from DWARF, innermost first: each inlined
 * instance is a frame, then the function it sits in. */
static int dwarf_frames(struct symbolizer *s, struct sym_module *m, Dwarf_Addr addr,
                        struct sym_result *r)
{
    Dwarf_Addr cubias = 0;
    Dwarf_Die *cudie = dwfl_module_addrdie(m->mod, addr, &cubias);
    if (!cudie)
        return 0;
    Dwarf_Die *chain = NULL;
    int nchain = scope_chain(m, cudie, addr - cubias, &chain);

    Dwarf_Die *prev_inline = NULL;
    for (int i = 0; i < nchain && r->n < SYM_MAX_INLINE; i++) {
        Dwarf_Die *die = &chain[i];
        int tag = dwarf_tag(die);
        if (!is_function_tag(tag))
            continue;
        bool inlined = tag == DW_TAG_inlined_subroutine;
        /* Too deep: keep the innermost ones and the real function last. */
        if (inlined && r->n == SYM_MAX_INLINE - 1) {
            prev_inline = die;
            continue;
        }
        struct sym_frame *f = &r->f[r->n];
        *f = (struct sym_frame){.inlined = inlined};
        f->func = die_func_name(s, die);
        if (!f->func)
            f->func = intern(s, "??");
        if (r->n == 0)
            pc_line(s, m, addr, &f->file, &f->line);
        else if (prev_inline)
            call_site(s, prev_inline, &f->file, &f->line);
        decl_of(s, die, f);
        r->n++;
        if (!inlined)
            break;
        prev_inline = die;
    }
    free(chain);
    return (int)r->n;
}

/* Where the function holding vaddr begins, from its unwind entry: a
 * stripped library's static functions have no symbol, but their addresses
 * still group into one function each.  The table is read the first time
 * the module has an address without a name.  False when no entry covers
 * vaddr. */
static bool fde_function_start(struct sym_module *m, uint64_t vaddr, uint64_t *start)
{
    if (!m->mod)
        return false;
    if (!m->fdes_read) {
        m->fdes_read = true;
        GElf_Addr bias;
        fdetab_build(&m->fdes, dwfl_module_getelf(m->mod, &bias));
    }
    struct fde_range r;
    if (!fdetab_lookup(&m->fdes, vaddr, &r))
        return false;
    *start = r.lo;
    return true;
}

/* No symbol names vaddr: "module+0xENTRY", the entry of the function its
 * unwind entry covers, so a hot static function of a stripped library is
 * one row, not one per address (and ENTRY is where to look for it); the
 * address itself where no entry covers it. */
static void unknown_frame(struct symbolizer *s, struct sym_module *m, uint64_t vaddr,
                          struct sym_frame *f)
{
    char buf[512];
    uint64_t at = vaddr;
    if (!fde_function_start(m, vaddr, &at))
        at = vaddr;
    snprintf(buf, sizeof buf, "%s+0x%" PRIx64, m->short_name ? m->short_name : "?", at);
    *f = (struct sym_frame){.func = intern(s, buf), .unknown = true};
}

static void resolve_uncached(struct symbolizer *s, struct sym_module *m, uint64_t vaddr,
                             struct sym_result *r)
{
    r->n = 0;
    if (m->dwfl) {
        Dwarf_Addr addr = vaddr + m->bias;
        if (m->has_dwarf)
            dwarf_frames(s, m, addr, r);
        /* The outermost DWARF frame should be a real function; if the chain
         * stopped at an inlined one (odd DWARF), or there was none, the
         * symbol table names the function. */
        bool need_outer = r->n == 0 || r->f[r->n - 1].inlined;
        const struct symtab_entry *e = need_outer ? symtab_lookup(m->syms, vaddr) : NULL;
        if (e && r->n < SYM_MAX_INLINE) {
            struct sym_frame *f = &r->f[r->n];
            *f = (struct sym_frame){.func = intern(s, e->name), .from_symtab = true};
            if (r->n == 0 && m->has_dwarf)
                pc_line(s, m, addr, &f->file, &f->line);
            r->n++;
        }
    } else if (m->syms) { /* an image: symbols only */
        const struct symtab_entry *e = symtab_lookup(m->syms, vaddr);
        if (e)
            r->f[r->n++] = (struct sym_frame){.func = intern(s, e->name), .from_symtab = true};
    }
    if (r->n == 0) {
        unknown_frame(s, m, vaddr, &r->f[0]);
        r->n = 1;
    }
}

static void cache_store(struct symbolizer *s, uint32_t module_id, uint64_t vaddr,
                        const struct sym_result *r)
{
    struct cache_entry *set = cache_set(s->cache, module_id, vaddr);
    struct cache_entry *victim = &set[0];
    for (unsigned w = 0; w < CACHE_WAYS; w++) {
        if (set[w].n == 0) {
            victim = &set[w];
            break;
        }
        if (set[w].stamp < victim->stamp)
            victim = &set[w];
    }
    struct sym_frame *frames = malloc(r->n * sizeof(*frames));
    if (!frames)
        return; /* not cached; the answer is still right */
    memcpy(frames, r->f, r->n * sizeof(*frames));
    free(victim->frames);
    *victim = (struct cache_entry){
        .vaddr = vaddr,
        .module_id = module_id,
        .n = r->n,
        .stamp = ++s->clock,
        .frames = frames,
    };
}

const struct sym_result *sym_resolve(struct symbolizer *s, uint32_t module_id, const char *name,
                                     const char *open_path, uint64_t vaddr)
{
    s->stats.lookups++;
    struct cache_entry *set = cache_set(s->cache, module_id, vaddr);
    for (unsigned w = 0; w < CACHE_WAYS; w++) {
        struct cache_entry *c = &set[w];
        if (c->n && c->vaddr == vaddr && c->module_id == module_id) {
            c->stamp = ++s->clock;
            s->stats.cache_hits++;
            s->out.n = c->n;
            memcpy(s->out.f, c->frames, c->n * sizeof(c->frames[0]));
            return &s->out;
        }
    }
    struct sym_module *m = module_get(s, module_id, name, open_path);
    resolve_uncached(s, m, vaddr, &s->out);
    cache_store(s, module_id, vaddr, &s->out);
    return &s->out;
}

int sym_func_bounds(struct symbolizer *s, uint32_t module_id, const char *name,
                    const char *open_path, uint64_t vaddr, uint64_t *start, uint64_t *size,
                    const char **func)
{
    struct sym_module *m = module_get(s, module_id, name, open_path);
    const struct symtab_entry *e = m->syms ? symtab_lookup(m->syms, vaddr) : NULL;
    if (!e)
        return -ENOENT;
    *start = e->addr;
    *size = e->size;
    *func = intern(s, e->name);
    return 0;
}

const char *sym_data(struct symbolizer *s, uint32_t module_id, const char *name,
                     const char *open_path, uint64_t vaddr, uint64_t *offset)
{
    struct sym_module *m = module_get(s, module_id, name, open_path);
    const struct symtab_entry *e = m->data ? symtab_lookup(m->data, vaddr) : NULL;
    if (!e || vaddr - e->addr >= e->size)
        return NULL;
    *offset = vaddr - e->addr;
    return intern(s, e->name);
}

void sym_set_dwarf_eager_max(struct symbolizer *s, uint64_t bytes)
{
    s->dwarf_eager_max = bytes;
}

void sym_line(struct symbolizer *s, uint32_t module_id, const char *name, const char *open_path,
              uint64_t vaddr, const char **file, int *line)
{
    struct sym_module *m = module_get(s, module_id, name, open_path);
    *file = NULL;
    *line = 0;
    if (m->dwfl && m->dwarf_deferred)
        open_dwarf(m);
    if (m->dwfl && m->has_dwarf)
        pc_line(s, m, vaddr + m->bias, file, line);
}

int sym_build_id(const char *open_path, char *hex, size_t hexsz)
{
    if (elf_version(EV_CURRENT) == EV_NONE || hexsz == 0)
        return -ENOENT;
    /* O_NONBLOCK: a FIFO in place of a module must not hang the export */
    int fd = open(open_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -ENOENT;
    struct stat st;
    Elf *elf = NULL;
    ssize_t n = -1;
    const unsigned char *id = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf && elf_kind(elf) == ELF_K_ELF)
        n = dwelf_elf_gnu_build_id(elf, (const void **)&id);
    int rc = n > 0 && (size_t)n * 2 < hexsz ? 0 : -ENOENT;
    for (ssize_t i = 0; rc == 0 && i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    if (elf)
        elf_end(elf);
    close(fd);
    return rc;
}
