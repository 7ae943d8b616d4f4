/*
 * fdetab.c - function ranges from .eh_frame; see fdetab.h.
 *
 * The section is a run of records, each a CIE (how its FDEs encode their
 * addresses: the 'R' byte of its augmentation) or an FDE (a CIE pointer,
 * then pc_begin and pc_range in that encoding).  Only what the ranges need
 * is read; the CFA programs are skipped.
 */
#include "symbols/fdetab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PE_OMIT     0xff
#define PE_FORMAT   0x0f
#define PE_APPLY    0x70
#define PE_INDIRECT 0x80
#define PE_PCREL    0x10

/* A cursor over [p, end) of the section; ok false once a read overran. */
struct cur {
    const uint8_t *sec, *p, *end;
    uint64_t vaddr; /* of sec[0] */
    bool ok;
};

static uint64_t get_n(struct cur *c, size_t n)
{
    if (!c->ok || (size_t)(c->end - c->p) < n) {
        c->ok = false;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)c->p[i] << (8 * i);
    c->p += n;
    return v;
}

static uint64_t get_uleb(struct cur *c, bool sign)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0x80;
    while (c->ok && (b & 0x80)) {
        if (c->p >= c->end || shift >= 64) {
            c->ok = false;
            return 0;
        }
        b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    }
    if (sign && shift < 64 && (b & 0x40))
        v |= ~0ull << shift;
    return v;
}

static int64_t sext(uint64_t v, unsigned bits)
{
    uint64_t m = 1ull << (bits - 1);
    return (int64_t)((v ^ m) - m);
}

/* One value in encoding enc; false for an encoding not read here. */
static bool get_enc(struct cur *c, uint8_t enc, bool apply, uint64_t *out)
{
    uint64_t at = c->vaddr + (uint64_t)(c->p - c->sec);
    uint64_t v;
    switch (enc & PE_FORMAT) {
    case 0x00:
        v = get_n(c, 8);
        break;
    case 0x01:
        v = get_uleb(c, false);
        break;
    case 0x02:
        v = get_n(c, 2);
        break;
    case 0x03:
        v = get_n(c, 4);
        break;
    case 0x04:
        v = get_n(c, 8);
        break;
    case 0x09:
        v = get_uleb(c, true);
        break;
    case 0x0a:
        v = (uint64_t)sext(get_n(c, 2), 16);
        break;
    case 0x0b:
        v = (uint64_t)sext(get_n(c, 4), 32);
        break;
    case 0x0c:
        v = get_n(c, 8);
        break;
    default:
        return false;
    }
    if (!c->ok)
        return false;
    if (apply) {
        if (enc & PE_INDIRECT)
            return false;
        if ((enc & PE_APPLY) == PE_PCREL)
            v += at;
        else if ((enc & PE_APPLY) != 0)
            return false;
    }
    *out = v;
    return true;
}

/* The FDE pointer encoding of the CIE whose body is [body, end); false
 * when the CIE cannot be read. */
static bool cie_encoding(const struct cur *sec, const uint8_t *body, const uint8_t *end,
                         uint8_t *enc)
{
    struct cur c = {.sec = sec->sec, .p = body, .end = end, .vaddr = sec->vaddr, .ok = true};
    uint8_t version = (uint8_t)get_n(&c, 1);
    const uint8_t *aug = c.p;
    const uint8_t *nul = c.ok ? memchr(aug, 0, (size_t)(end - aug)) : NULL;
    if (!nul || (version != 1 && version != 3))
        return false;
    c.p = nul + 1;
    get_uleb(&c, false); /* code alignment */
    get_uleb(&c, true);  /* data alignment */
    if (version == 1)
        get_n(&c, 1);
    else
        get_uleb(&c, false);
    *enc = 0x00; /* absptr unless 'R' says otherwise */
    if (aug[0] != 'z')
        return c.ok && aug[0] == '\0';
    uint64_t alen = get_uleb(&c, false);
    if (!c.ok || alen > (uint64_t)(end - c.p))
        return false;
    c.end = c.p + alen;
    for (const uint8_t *a = aug + 1; a < nul && c.ok; a++) {
        switch (*a) {
        case 'R':
            *enc = (uint8_t)get_n(&c, 1);
            return c.ok;
        case 'P': {
            uint8_t penc = (uint8_t)get_n(&c, 1);
            uint64_t skip;
            if (!get_enc(&c, penc, false, &skip))
                return false;
            break;
        }
        case 'L':
            get_n(&c, 1);
            break;
        case 'S':
        case 'B':
            break;
        default:
            return false;
        }
    }
    return c.ok;
}

static int push(struct fdetab *t, size_t *cap, uint64_t lo, uint64_t len)
{
    if (!len || lo + len < lo || t->n >= FDE_MAX_ENTRIES)
        return 0;
    if (t->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        struct fde_range *nv = realloc(t->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        t->v = nv;
        *cap = nc;
    }
    t->v[t->n++] = (struct fde_range){lo, lo + len};
    return 0;
}

static int by_lo(const void *a, const void *b)
{
    const struct fde_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The FDE whose CIE pointer field is at [p - 4, p): its range, if its CIE
 * can be read (the last one read is remembered: most FDEs share it). */
static int one_fde(struct fdetab *t, size_t *cap, struct cur *c, uint32_t cie_ptr,
                   const uint8_t *end, const uint8_t **last_cie, uint8_t *last_enc)
{
    const uint8_t *field = c->p - 4;
    if (cie_ptr > (size_t)(field - c->sec))
        return 0;
    const uint8_t *cie = field - cie_ptr;
    if (cie != *last_cie) {
        struct cur h = {.sec = c->sec, .p = cie, .end = c->end, .vaddr = c->vaddr, .ok = true};
        uint64_t clen = get_n(&h, 4);
        uint32_t id = (uint32_t)get_n(&h, 4);
        if (!h.ok || clen == 0xffffffffu || clen < 4 || clen - 4 > (uint64_t)(h.end - h.p) ||
            id != 0 || !cie_encoding(c, h.p, h.p + (clen - 4), last_enc))
            return 0;
        *last_cie = cie;
    }
    struct cur f = *c;
    f.end = end;
    uint64_t lo, len;
    if (!get_enc(&f, *last_enc, true, &lo) || !get_enc(&f, *last_enc & PE_FORMAT, false, &len))
        return 0;
    return push(t, cap, lo, len);
}

int fdetab_build_from(struct fdetab *t, const uint8_t *sec, size_t len, uint64_t vaddr)
{
    *t = (struct fdetab){0};
    size_t cap = 0;
    struct cur c = {.sec = sec, .p = sec, .end = sec + len, .vaddr = vaddr, .ok = true};
    const uint8_t *last_cie = NULL;
    uint8_t last_enc = 0;
    while (c.ok && c.p < c.end) {
        uint64_t rlen = get_n(&c, 4);
        if (rlen == 0xffffffffu)
            rlen = get_n(&c, 8);
        if (!c.ok || rlen == 0 || rlen > (uint64_t)(c.end - c.p))
            break; /* the terminator, or a length past the end */
        const uint8_t *next = c.p + rlen;
        uint32_t id = (uint32_t)get_n(&c, 4);
        if (c.ok && id != 0 && one_fde(t, &cap, &c, id, next, &last_cie, &last_enc) < 0) {
            fdetab_free(t);
            return -ENOMEM;
        }
        c.p = next;
        c.ok = true;
    }
    if (t->n)
        qsort(t->v, t->n, sizeof(*t->v), by_lo);
    return 0;
}

int fdetab_build(struct fdetab *t, Elf *elf)
{
    *t = (struct fdetab){0};
    size_t shstrndx;
    if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        const char *nm;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
            !(nm = elf_strptr(elf, shstrndx, sh.sh_name)) || strcmp(nm, ".eh_frame") != 0)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d || !d->d_buf || d->d_size > sh.sh_size)
            return 0;
        return fdetab_build_from(t, d->d_buf, d->d_size, sh.sh_addr);
    }
    return 0;
}

bool fdetab_lookup(const struct fdetab *t, uint64_t addr, struct fde_range *out)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* the first range with lo > addr */
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid].lo <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || addr >= t->v[lo - 1].hi)
        return false;
    *out = t->v[lo - 1];
    return true;
}

void fdetab_free(struct fdetab *t)
{
    free(t->v);
    *t = (struct fdetab){0};
}
