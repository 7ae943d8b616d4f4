/*
 * plt.c - PLT stub names from the relocations; see plt.h.
 *
 * Two tables come from the relocations: the GOT slots (address -> symbol)
 * of .rela.plt and .rela.dyn, sorted for a binary search, and .rela.plt in
 * file order for the push index of a lazy stub.  An IRELATIVE slot (a call
 * to an IFUNC inside the file that defines it, as in libc) has no symbol;
 * its addend is the IFUNC's resolver, which the dynamic symbol table names.
 */
#include "symbols/plt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define R_JUMP_SLOT 7  /* R_X86_64_JUMP_SLOT */
#define R_GLOB_DAT  6  /* R_X86_64_GLOB_DAT */
#define R_IRELATIVE 37 /* R_X86_64_IRELATIVE */

struct slot {
    uint64_t got;
    uint32_t sym;      /* dynsym index, 0 for IRELATIVE */
    uint64_t resolver; /* IRELATIVE: the addend */
};

struct plt {
    Elf *elf;
    Elf_Data *dynsym;
    size_t ndynsym, dynstr;
    struct slot *slots; /* sorted by got */
    size_t nslots;
    struct slot *lazy; /* .rela.plt in order */
    size_t nlazy;
};

static Elf_Scn *section_named(Elf *elf, size_t shstrndx, const char *want, GElf_Shdr *sh)
{
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        const char *nm;
        if (gelf_getshdr(scn, sh) && (nm = elf_strptr(elf, shstrndx, sh->sh_name)) &&
            !strcmp(nm, want))
            return scn;
    }
    return NULL;
}

/* The dynamic symbol table a relocation section links to. */
static bool load_dynsym(struct plt *p, const GElf_Shdr *rela)
{
    GElf_Shdr sh;
    Elf_Scn *scn = elf_getscn(p->elf, rela->sh_link);
    if (!scn || !gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
        !sh.sh_entsize)
        return false;
    p->dynsym = elf_getdata(scn, NULL);
    if (!p->dynsym)
        return false;
    p->ndynsym = p->dynsym->d_size / sh.sh_entsize;
    p->dynstr = sh.sh_link;
    return true;
}

/* Appends the relocations of one section: to the slots, and to the lazy
 * table when lazy.  -ENOMEM, else 0. */
static int read_relocs(struct plt *p, Elf_Scn *scn, const GElf_Shdr *sh, bool lazy)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || sh->sh_type != SHT_RELA || !sh->sh_entsize || (!p->dynsym && !load_dynsym(p, sh)))
        return 0;
    size_t n = d->d_size / sh->sh_entsize;
    if (n > PLT_MAX_RELOCS - p->nslots)
        n = PLT_MAX_RELOCS - p->nslots;
    struct slot *s = realloc(p->slots, (p->nslots + n + 1) * sizeof *s);
    if (!s)
        return -ENOMEM;
    p->slots = s;
    if (lazy) {
        p->lazy = calloc(n + 1, sizeof *p->lazy);
        if (!p->lazy)
            return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        GElf_Rela r;
        if (!gelf_getrela(d, (int)i, &r))
            break;
        unsigned type = (unsigned)GELF_R_TYPE(r.r_info);
        uint32_t sym = (uint32_t)GELF_R_SYM(r.r_info);
        struct slot e = {.got = r.r_offset, .sym = sym};
        if (type == R_IRELATIVE)
            e = (struct slot){.got = r.r_offset, .resolver = (uint64_t)r.r_addend};
        else if ((type != R_JUMP_SLOT && type != R_GLOB_DAT) || !sym || sym >= p->ndynsym)
            e = (struct slot){0};
        if (lazy)
            p->lazy[p->nlazy++] = e;
        if (e.got)
            p->slots[p->nslots++] = e;
    }
    return 0;
}

static int cmp_slot(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    return x->got < y->got ? -1 : x->got > y->got;
}

static const struct slot *find_slot(const struct plt *p, uint64_t got)
{
    struct slot key = {.got = got};
    return bsearch(&key, p->slots, p->nslots, sizeof key, cmp_slot);
}

/* The name of dynamic symbol i, or of the IFUNC whose resolver is at
 * resolver (i == 0); NULL when there is none. */
static const char *slot_name(const struct plt *p, const struct slot *s)
{
    GElf_Sym sym;
    if (s->sym) {
        if (!gelf_getsym(p->dynsym, (int)s->sym, &sym))
            return NULL;
        return elf_strptr(p->elf, p->dynstr, sym.st_name);
    }
    for (size_t i = 1; s->resolver && i < p->ndynsym; i++)
        if (gelf_getsym(p->dynsym, (int)i, &sym) && GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC &&
            sym.st_value == s->resolver)
            return elf_strptr(p->elf, p->dynstr, sym.st_name);
    return NULL;
}

/* What a stub's first instruction says: its GOT slot (jmp *slot(%rip),
 * after an optional endbr64 and bnd prefix) or, for a lazy IBT stub, its
 * .rela.plt index (push imm32).  NULL when neither (PLT0, padding). */
static const struct slot *decode_stub(const struct plt *p, const uint8_t *b, size_t n,
                                      uint64_t addr)
{
    size_t i = 0;
    static const uint8_t endbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
    if (n >= 4 && !memcmp(b, endbr64, 4))
        i = 4;
    if (i < n && b[i] == 0xf2) /* bnd */
        i++;
    if (i + 6 <= n && b[i] == 0xff && b[i + 1] == 0x25) {
        int32_t rel;
        memcpy(&rel, b + i + 2, sizeof rel);
        return find_slot(p, addr + i + 6 + (uint64_t)(int64_t)rel);
    }
    if (i + 5 <= n && b[i] == 0x68) {
        uint32_t k;
        memcpy(&k, b + i + 1, sizeof k);
        return k < p->nlazy && (p->lazy[k].sym || p->lazy[k].resolver) ? &p->lazy[k] : NULL;
    }
    return NULL;
}

/* Names the stubs of one PLT section; count, or fn's negative return. */
static int name_section(const struct plt *p, Elf_Scn *scn, const GElf_Shdr *sh, plt_fn fn,
                        void *ctx, size_t *budget)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || !d->d_buf || sh->sh_type != SHT_PROGBITS || !(sh->sh_flags & SHF_EXECINSTR))
        return 0;
    uint64_t ent = sh->sh_entsize == 8 || sh->sh_entsize == 16 ? sh->sh_entsize : 16;
    size_t size = d->d_size < sh->sh_size ? d->d_size : (size_t)sh->sh_size;
    int named = 0;
    for (uint64_t off = 0; off + ent <= size && *budget; off += ent, (*budget)--) {
        const struct slot *s =
            decode_stub(p, (const uint8_t *)d->d_buf + off, (size_t)ent, sh->sh_addr + off);
        const char *name = s ? slot_name(p, s) : NULL;
        if (!name || !name[0])
            continue;
        int rc = fn(ctx, sh->sh_addr + off, ent, name);
        if (rc < 0)
            return rc;
        named++;
    }
    return named;
}

int plt_names(Elf *elf, plt_fn fn, void *ctx)
{
    GElf_Ehdr eh;
    size_t shstrndx;
    if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
        eh.e_machine != EM_X86_64 || elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    struct plt p = {.elf = elf};
    GElf_Shdr sh;
    Elf_Scn *scn;
    int rc = 0;
    if ((scn = section_named(elf, shstrndx, ".rela.plt", &sh)))
        rc = read_relocs(&p, scn, &sh, true);
    if (rc == 0 && (scn = section_named(elf, shstrndx, ".rela.dyn", &sh)))
        rc = read_relocs(&p, scn, &sh, false);
    if (rc == 0 && p.nslots)
        qsort(p.slots, p.nslots, sizeof *p.slots, cmp_slot);
    static const char *const plts[] = {".plt", ".plt.sec", ".plt.got"};
    size_t budget = PLT_MAX_ENTRIES;
    int total = 0;
    for (size_t i = 0; rc == 0 && (p.nslots || p.nlazy) && i < 3; i++) {
        if (!(scn = section_named(elf, shstrndx, plts[i], &sh)))
            continue;
        int n = name_section(&p, scn, &sh, fn, ctx, &budget);
        if (n < 0)
            rc = n;
        else
            total += n;
    }
    free(p.slots);
    free(p.lazy);
    return rc < 0 ? rc : total;
}
