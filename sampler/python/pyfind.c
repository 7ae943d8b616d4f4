/*
 * pyfind.c - find a CPython interpreter in a process: ELF symbols of the
 * executable and libpython, the load bias, the version.
 */
#include "sampler/python/pyfind.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sampler/proc/maps.h"
#include "sampler/unwind/elfsyms.h"

#define RODATA_SCAN_MAX (64u << 20) /* bytes of .rodata searched for a version */
#define SYMS_MAX        (4u << 20)  /* symbols looked at per table */

struct syms {
    uint64_t runtime, interp_head, tstate_current, code_type, py_version;
    bool have_runtime, have_interp_head, have_py_version;
};

static void note_sym(struct syms *s, const char *name, uint64_t value)
{
    if (!strcmp(name, "_PyRuntime")) {
        s->runtime = value;
        s->have_runtime = true;
    } else if (!strcmp(name, "interp_head")) {
        s->interp_head = value;
        s->have_interp_head = true;
    } else if (!strcmp(name, "Py_Version")) {
        s->py_version = value;
        s->have_py_version = true;
    } else if (!strcmp(name, "_PyThreadState_Current")) {
        s->tstate_current = value;
    } else if (!strcmp(name, "PyCode_Type")) {
        s->code_type = value;
    }
}

static void on_object_sym(void *ctx, const char *name, const GElf_Sym *sym)
{
    if (name[0] == '_' || name[0] == 'P' || name[0] == 'i')
        note_sym(ctx, name, sym->st_value);
}

/* interp_head is static: only in .symtab; _PyRuntime is in .dynsym too. */
static void read_syms(Elf *elf, struct syms *s)
{
    elfsyms_each(elf, STT_OBJECT, SYMS_MAX, on_object_sym, s);
}

/* The bytes of the file at virtual address vaddr, from the section that
 * holds it (Py_Version is a const in .rodata). */
static int read_vaddr(Elf *elf, uint64_t vaddr, void *buf, size_t len)
{
    Elf_Scn *scn = NULL;

    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        Elf_Data *d;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || vaddr < sh.sh_addr ||
            vaddr - sh.sh_addr + len > sh.sh_size)
            continue;
        if (!(d = elf_getdata(scn, NULL)) || vaddr - sh.sh_addr + len > d->d_size)
            return -EINVAL;
        memcpy(buf, (const char *)d->d_buf + (vaddr - sh.sh_addr), len);
        return 0;
    }
    return -ENOENT;
}

/* "X.Y.Z" (with an optional a1/b2/rc1/+ suffix) ending in a NUL: how
 * PY_VERSION sits in .rodata. */
static bool version_at(const char *p, const char *end, int *maj, int *min, int *mic)
{
    int n = 0;
    char tail[8] = "";

    if (p >= end || (*p != '2' && *p != '3') || p[1] != '.')
        return false;
    if (memchr(p, 0, (size_t)(end - p) < 24 ? (size_t)(end - p) : 24) == NULL)
        return false;
    if (sscanf(p, "%d.%d.%d%n%7s", maj, min, mic, &n, tail) < 3 || n == 0)
        return false;
    for (const char *q = p + n; *q; q++)
        if (!isalnum((unsigned char)*q) && *q != '+')
            return false;
    return (*maj == 2 && *min == 7) || (*maj == 3 && *min < 100);
}

static int scan_rodata(Elf *elf, int *maj, int *min, int *mic)
{
    size_t shstrndx;
    Elf_Scn *scn = NULL;

    if (elf_getshdrstrndx(elf, &shstrndx))
        return -ENOENT;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        const char *name;
        Elf_Data *d;
        if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
            strcmp(name, ".rodata") || sh.sh_size > RODATA_SCAN_MAX)
            continue;
        if (!(d = elf_getdata(scn, NULL)) || !d->d_buf)
            return -ENOENT;
        const char *b = d->d_buf, *end = b + d->d_size;
        /* PY_VERSION may be merged by the linker into the tail of a longer
         * string: the install prefix ".../2.7.18" or "Python-2.7.18". */
        for (const char *p = b + 1; p < end; p++)
            if ((p[-1] == 0 || p[-1] == '/' || p[-1] == '-') && version_at(p, end, maj, min, mic))
                return 0;
    }
    return -ENOENT;
}

static bool version_from_name(const char *path, int *maj, int *min)
{
    const char *base = strrchr(path, '/');

    base = base ? base + 1 : path;
    return sscanf(base, "libpython%d.%d", maj, min) == 2;
}

static void set_version(Elf *elf, const struct syms *s, const char *path, struct pyfind_result *out)
{
    uint32_t hex;

    out->major = out->minor = 0;
    out->micro = -1;
    if (s->have_py_version && read_vaddr(elf, s->py_version, &hex, sizeof hex) == 0 &&
        (hex >> 24) == 3) {
        out->major = (int)(hex >> 24);
        out->minor = (int)(hex >> 16) & 0xff;
        out->micro = (int)(hex >> 8) & 0xff;
        out->vsrc = PYFIND_V_PY_VERSION;
    } else if (version_from_name(path, &out->major, &out->minor)) {
        out->vsrc = PYFIND_V_FILENAME;
    } else if (scan_rodata(elf, &out->major, &out->minor, &out->micro) == 0) {
        out->vsrc = PYFIND_V_STRING;
    } else {
        out->vsrc = PYFIND_V_NONE;
    }
}

static int check_version(pid_t pid, struct pyfind_result *out, char *err, size_t errsz)
{
    if (out->vsrc == PYFIND_V_NONE) {
        snprintf(err, errsz,
                 "pertop: PID %d runs a Python whose version cannot be told (%s) — profiling "
                 "native frames only",
                 (int)pid, out->path);
        return -ENOTSUP;
    }
    out->layout = pylayout_find(out->major, out->minor);
    if (!out->layout) {
        snprintf(err, errsz,
                 "pertop: PID %d runs Python %d.%d, which this pertop does not know — profiling "
                 "native frames only",
                 (int)pid, out->major, out->minor);
        return -ENOTSUP;
    }
    return 0;
}

static int file_elf(const char *open_path, int *fd, Elf **elf, char *err, size_t errsz)
{
    elf_version(EV_CURRENT);
    *fd = open(open_path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        int e = errno;
        snprintf(err, errsz, "cannot open %s: %s", open_path, strerror(e));
        return -e;
    }
    *elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
    if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
        snprintf(err, errsz, "%s: not an ELF file", open_path);
        if (*elf)
            elf_end(*elf);
        close(*fd);
        return -ENOEXEC;
    }
    return 0;
}

static int from_elf(Elf *elf, const char *target_path, uint64_t bias, struct pyfind_result *out)
{
    struct syms s = {0};

    read_syms(elf, &s);
    if (!s.have_runtime && !s.have_interp_head)
        return -ENOENT;
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s", target_path);
    out->bias = bias;
    out->runtime = s.have_runtime ? s.runtime + bias : 0;
    out->interp_head = s.have_interp_head ? s.interp_head + bias : 0;
    out->tstate_current = s.tstate_current ? s.tstate_current + bias : 0;
    out->code_type = s.code_type ? s.code_type + bias : 0;
    set_version(elf, &s, target_path, out);
    return 0;
}

int pyfind_file(const char *open_path, const char *target_path, uint64_t bias,
                struct pyfind_result *out, char *err, size_t errsz)
{
    int fd, rc;
    Elf *elf;

    if ((rc = file_elf(open_path, &fd, &elf, err, errsz)) < 0)
        return rc;
    rc = from_elf(elf, target_path, bias, out);
    elf_end(elf);
    close(fd);
    if (rc == -ENOENT) {
        snprintf(err, errsz, "%s has no _PyRuntime or interp_head symbol", target_path);
        return rc;
    }
    return check_version(0, out, err, errsz);
}

/* Load bias of a file whose lowest mapping is m: the PT_LOAD segment
 * holding file offset m->offset is at m->start. */
static int load_bias(Elf *elf, const struct map_entry *m, uint64_t *bias)
{
    size_t n;

    if (elf_getphdrnum(elf, &n))
        return -ENOEXEC;
    for (size_t i = 0; i < n && i < 256; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
            continue;
        uint64_t pg = ph.p_offset & ~(uint64_t)4095;
        if (m->offset >= pg && m->offset < ph.p_offset + ph.p_filesz) {
            *bias = m->start - (ph.p_vaddr + (m->offset - ph.p_offset));
            return 0;
        }
    }
    return -ENOENT;
}

static bool is_libpython(const char *path)
{
    const char *base = strrchr(path, '/');
    return !strncmp(base ? base + 1 : path, "libpython", 9);
}

static const struct map_entry *first_mapping(const struct maps *m, const char *path)
{
    const struct map_entry *best = NULL;

    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].path, path) && (!best || m->v[i].offset < best->offset))
            best = &m->v[i];
    return best;
}

static int try_mapping(pid_t pid, const struct maps *m, const char *path, struct pyfind_result *out,
                       char *err, size_t errsz)
{
    const struct map_entry *e = first_mapping(m, path);
    char open_path[PATH_MAX + 32];
    uint64_t bias = 0;
    int fd, rc;
    Elf *elf;

    if (!e)
        return -ENOENT;
    snprintf(open_path, sizeof open_path, "/proc/%d/root%s", (int)pid, path);
    if (e->deleted) /* the file is gone: the mapping itself still reads */
        snprintf(open_path, sizeof open_path, "/proc/%d/map_files/%llx-%llx", (int)pid,
                 (unsigned long long)e->start, (unsigned long long)e->end);
    if ((rc = file_elf(open_path, &fd, &elf, err, errsz)) < 0)
        return rc;
    rc = load_bias(elf, e, &bias);
    if (rc == 0)
        rc = from_elf(elf, path, bias, out);
    elf_end(elf);
    close(fd);
    return rc;
}

int pyfind(pid_t pid, struct pyfind_result *out, char *err, size_t errsz)
{
    struct maps m = {0};
    char exe[PATH_MAX];
    ssize_t len;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = maps_read(pid, &m, err, errsz)) < 0)
        return rc;
    rc = -ENOENT;
    /* libpython first: an embedding program or python itself links it. */
    for (size_t i = 0; i < m.n && rc == -ENOENT; i++)
        if (is_libpython(m.v[i].path) && (i == 0 || strcmp(m.v[i].path, m.v[i - 1].path)))
            rc = try_mapping(pid, &m, m.v[i].path, out, err, errsz);
    if (rc == -ENOENT) {
        char link[64];
        snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
        len = readlink(link, exe, sizeof exe - 1);
        if (len > 0) {
            exe[len] = 0;
            if (len > 10 && !strcmp(exe + len - 10, " (deleted)"))
                exe[len - 10] = 0;
            rc = try_mapping(pid, &m, exe, out, err, errsz);
        }
    }
    maps_free(&m);
    if (rc == -ENOENT) {
        snprintf(err, errsz,
                 "PID %d: no CPython interpreter found (no _PyRuntime or interp_head "
                 "symbol in its executable or a libpython)",
                 (int)pid);
        return rc;
    }
    if (rc < 0)
        return rc;
    return check_version(pid, out, err, errsz);
}

int pyfind_target(const struct pyfind_result *r, struct pyread mem, struct pyf_target *t, char *err,
                  size_t errsz)
{
    uint8_t buf[PYL_DEBUG_OFFSETS_SIZE];
    int rc;

    if (!r->layout) {
        snprintf(err, errsz, "no layout for Python %d.%d", r->major, r->minor);
        return -ENOTSUP;
    }
    memset(t, 0, sizeof *t);
    t->layout = *r->layout;
    t->root = r->layout->root == PYL_ROOT_RUNTIME ? r->runtime : r->interp_head;
    t->tstate_current = r->tstate_current;
    t->code_type = r->code_type;
    t->mem = mem;
    if (!t->root) {
        snprintf(err, errsz, "%s: no %s symbol for Python %d.%d", r->path,
                 r->layout->root == PYL_ROOT_RUNTIME ? "_PyRuntime" : "interp_head", r->major,
                 r->minor);
        return -ENOENT;
    }
    if (r->major == 3 && r->minor >= 13) {
        /* The target's own description wins over the table; a table of the
         * same minor is the fallback if it is unreadable. */
        char why[256];
        rc = pyf_read(t, r->runtime, buf, sizeof buf);
        if (rc == 0)
            rc = pylayout_from_debug_offsets(buf, sizeof buf, r->layout, &t->layout, why,
                                             sizeof why);
        else
            snprintf(why, sizeof why, "cannot read _PyRuntime: %s", strerror(-rc));
        if (rc < 0)
            snprintf(err, errsz, "%s; using the built-in table of %d.%d", why, r->major, r->minor);
    }
    return 0;
}
