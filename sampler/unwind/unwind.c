/*
 * unwind.c - native unwinding of a capture with libunwind, in pertop.
 *
 * libunwind runs "remotely" over accessors that never touch the live target:
 *   - registers come from the capture's user_regs_struct;
 *   - memory inside the stack copy comes from the copy;
 *   - memory inside file-backed mappings of known modules (text, .eh_frame,
 *     .eh_frame_hdr, GOT words named by CIE personality pointers) comes from
 *     the module files through addrspace;
 *   - everything else fails, and the unwind ends there, marked truncated.
 *
 * find_proc_info follows Linux perf: locate the module, hand libunwind the
 * binary-search table of .eh_frame_hdr as a UNW_INFO_FORMAT_REMOTE_TABLE and
 * let dwarf_search_unwind_table find and parse the FDE.  A module whose code
 * is covered only by .debug_frame (built without unwind tables) gets its
 * .debug_frame converted once into an equivalent .eh_frame plus search table
 * in pertop's memory; libunwind reads that through access_mem at synthetic
 * addresses (SYNTH_BASE...) that no user-space target address can equal.
 *
 * Per sample there is no allocation and no system call: parsed headers and
 * converted tables are cached per ELF image (elf_image.priv) and libunwind
 * caches the register rules it derives per instruction address.
 */
#include "sampler/unwind/unwind.h"
#include "common/hash.h"
#include "common/vec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elf.h>
#include <libunwind.h>

/* Exported by libunwind (x86_64 generic build) but not declared in its
 * public headers; Linux perf declares it the same way. */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
                                              unw_dyn_info_t *di, unw_proc_info_t *pi,
                                              int need_unwind_info, void *arg);
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)

/* Synthetic addresses of converted .debug_frame tables: SYNTH_BASE | module
 * id << 32 | offset.  Non-canonical on x86_64, below the vsyscall page, so
 * never a real target address. */
#define SYNTH_BASE  0xfff0000000000000ull
#define SYNTH_SPAN  (1ull << 32)
#define SYNTH_LIMIT (SYNTH_BASE + (uint64_t)MODREG_MAX * SYNTH_SPAN)

/* DWARF pointer encodings (DW_EH_PE_*) used below. */
enum {
    PE_ABSPTR = 0x00,
    PE_UDATA2 = 0x02,
    PE_UDATA4 = 0x03,
    PE_UDATA8 = 0x04,
    PE_SDATA2 = 0x0a,
    PE_SDATA4 = 0x0b,
    PE_SDATA8 = 0x0c,
    PE_DATAREL = 0x30,
    PE_OMIT = 0xff
};

/* .eh_frame_hdr facts, the same for every mapping of the image. */
struct hdr_info {
    bool parsed, ok;
    uint64_t table_off; /* binary-search table, from the start of the header */
    uint64_t fde_count;
};

/* .debug_frame rewritten as .eh_frame (buf[0, eh_len)) followed by a sorted
 * table of (start - text_vaddr_lo, fde offset) int32 pairs.  FDE addresses
 * are absolute target addresses, so the table is valid for one bias. */
struct dbg_table {
    bool built, ok;
    uint64_t bias;
    uint8_t *buf;
    size_t len, eh_len, nent;
};

/* elf_image.priv */
struct img_unwind {
    struct hdr_info hdr;
    struct dbg_table dbg;
};

struct unwinder {
    struct addrspace *as;
    unw_addr_space_t uas;
    unsigned max_depth;
    uint64_t refresh_seen;
    const struct capture *cur; /* the capture being unwound */
    unsigned misses;           /* find_proc_info failures in the current step */
    bool fast;                 /* try the memoised-rule path first */
    struct unwind_stats stats;
    struct rule *rules;                   /* RULE_SLOTS, by hash of ip */
    struct img_unwind *synth[MODREG_MAX]; /* by module id, for SYNTH reads */
};

/* ------------------------------------------------------------ byte reader */

/* Bounded little-endian reader; any overrun clears ok and reads zeros. */
struct rd {
    const uint8_t *p, *end;
    bool ok;
};

static uint64_t rd_uint(struct rd *r, unsigned n)
{
    uint64_t v = 0;
    if (!r->ok || (size_t)(r->end - r->p) < n) {
        r->ok = false;
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return v;
}

/* Skips a LEB128 number; returns its bytes (for copying verbatim). */
static size_t rd_leb_skip(struct rd *r)
{
    const uint8_t *p0 = r->p;
    while (r->ok && r->p < r->end && r->p - p0 < 10) {
        if (!(*r->p++ & 0x80))
            return (size_t)(r->p - p0);
    }
    r->ok = false;
    return 0;
}

static uint64_t rd_uleb(struct rd *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (r->ok && r->p < r->end && shift < 64) {
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
        shift += 7;
    }
    r->ok = false;
    return 0;
}

/* ------------------------------------------------------------ growable output */

struct out {
    uint8_t *buf;
    size_t len, cap;
    bool ok;
};

static void out_bytes(struct out *o, const void *p, size_t n)
{
    if (!o->ok)
        return;
    /* a synthetic table must fit its SYNTH_SPAN window: half of it at most */
    if (n > SIZE_MAX - o->len ||
        vec_reserve_max(&o->buf, &o->cap, o->len + n, 1, SYNTH_SPAN / 2) < 0) {
        o->ok = false;
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void out_uint(struct out *o, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    out_bytes(o, b, n);
}

static void out_patch32(struct out *o, size_t at, uint32_t v)
{
    if (o->ok)
        for (unsigned i = 0; i < 4; i++)
            o->buf[at + i] = (uint8_t)(v >> (8 * i));
}

/* Pads with DW_CFA_nop so that the next entry starts 8-aligned, and writes
 * the entry's length field now that its size is known. */
static void out_close_entry(struct out *o, size_t start)
{
    while (o->ok && (o->len - start) % 8)
        out_uint(o, 0, 1);
    out_patch32(o, start, (uint32_t)(o->len - start - 4));
}

/* ------------------------------------------------------------ .debug_frame */

/* One CIE of .debug_frame and where its converted copy went. */
struct cie_conv {
    uint64_t in_off;
    size_t out_off;
    bool ok;
    bool has_z; /* FDEs carry augmentation data to skip */
};

struct conv {
    const uint8_t *sec;
    size_t sec_size;
    uint64_t bias, text_lo, text_hi;
    struct out eh;
    struct cie_conv *cies;
    size_t ncies, cap_cies;
    int32_t *table; /* pairs */
    size_t nent, cap_ent;
};

/* Reads the header of the entry at off: its id/pointer field and the body
 * that follows it.  Returns false at the end or on a malformed length. */
static bool entry_at(const struct conv *c, uint64_t off, uint64_t *id, bool *is64, struct rd *body,
                     uint64_t *next)
{
    struct rd r = {c->sec + off, c->sec + c->sec_size, off < c->sec_size};
    uint64_t len = rd_uint(&r, 4);
    *is64 = len == 0xffffffffu;
    if (*is64)
        len = rd_uint(&r, 8);
    else if (len >= 0xfffffff0u)
        return false;
    if (!r.ok || len > (uint64_t)(r.end - r.p))
        return false;
    *next = (uint64_t)(r.p - c->sec) + len;
    body->p = r.p;
    body->end = r.p + len;
    body->ok = true;
    *id = rd_uint(body, *is64 ? 8 : 4);
    return body->ok || len == 0;
}

/* Converts the CIE body (after its id) into an .eh_frame CIE. */
static bool convert_cie(struct conv *c, struct rd *r, struct cie_conv *cc)
{
    uint8_t version = (uint8_t)rd_uint(r, 1);
    const uint8_t *aug = r->p;
    const uint8_t *nul = r->ok ? memchr(r->p, '\0', (size_t)(r->end - r->p)) : NULL;
    if (!nul || (version != 1 && version != 3 && version != 4))
        return false;
    r->p = nul + 1;
    if (version == 4 && (rd_uint(r, 1) != 8 || rd_uint(r, 1) != 0))
        return false; /* address size 8, no segment selector */
    const uint8_t *align = r->p;
    rd_leb_skip(r);
    rd_leb_skip(r);
    size_t align_len = (size_t)(r->p - align);
    uint64_t ra = version == 1 ? rd_uint(r, 1) : rd_uleb(r);
    bool signal = false;
    cc->has_z = aug[0] == 'z';
    if (cc->has_z) {
        uint64_t alen = rd_uleb(r);
        const uint8_t *adata = r->p;
        if (!r->ok || alen > (uint64_t)(r->end - r->p))
            return false;
        /* 'R' would change how FDE addresses are encoded: only the default
         * absolute 8-byte form is understood here.  'P' and 'L' only matter
         * for exceptions and their data is skipped. */
        for (const uint8_t *a = aug + 1; *a; a++) {
            if (*a == 'S')
                signal = true;
            else if (*a == 'R' && adata < r->p + alen && *adata != PE_ABSPTR && *adata != PE_UDATA8)
                return false;
        }
        r->p += alen;
    } else if (aug[0]) {
        return false; /* augmentation we cannot size */
    }
    if (!r->ok)
        return false;

    size_t start = c->eh.len;
    cc->out_off = start;
    out_uint(&c->eh, 0, 4); /* length, patched */
    out_uint(&c->eh, 0, 4); /* CIE id of .eh_frame */
    out_uint(&c->eh, ra <= 0xff ? 1 : 3, 1);
    out_bytes(&c->eh, signal ? "zRS" : "zR", signal ? 4 : 3);
    out_bytes(&c->eh, align, align_len);
    if (ra <= 0xff) {
        out_uint(&c->eh, ra, 1);
    } else {
        for (; ra >= 0x80; ra >>= 7)
            out_uint(&c->eh, (ra & 0x7f) | 0x80, 1);
        out_uint(&c->eh, ra, 1);
    }
    out_uint(&c->eh, 1, 1);                           /* augmentation data length */
    out_uint(&c->eh, PE_UDATA8, 1);                   /* FDE addresses: absolute, 8 bytes */
    out_bytes(&c->eh, r->p, (size_t)(r->end - r->p)); /* initial instructions */
    out_close_entry(&c->eh, start);
    return c->eh.ok;
}

/* The converted CIE at .debug_frame offset off, converting it on first use.
 * CIEs usually precede their FDEs within a unit: search from the end. */
static struct cie_conv *cie_get(struct conv *c, uint64_t off)
{
    for (size_t i = c->ncies; i-- > 0;)
        if (c->cies[i].in_off == off)
            return c->cies[i].ok ? &c->cies[i] : NULL;
    if (vec_reserve(&c->cies, &c->cap_cies, c->ncies + 1, sizeof *c->cies) < 0)
        return NULL;
    struct cie_conv *cc = &c->cies[c->ncies++];
    memset(cc, 0, sizeof *cc);
    cc->in_off = off;
    uint64_t id, next;
    bool is64;
    struct rd body;
    if (entry_at(c, off, &id, &is64, &body, &next) && id == (is64 ? UINT64_MAX : 0xffffffffu))
        cc->ok = convert_cie(c, &body, cc);
    return cc->ok ? cc : NULL;
}

static bool table_add(struct conv *c, int32_t start, int32_t fde)
{
    /* an entry is two int32: its start and its FDE */
    if (vec_reserve(&c->table, &c->cap_ent, c->nent + 1, 2 * sizeof *c->table) < 0)
        return false;
    c->table[2 * c->nent] = start;
    c->table[2 * c->nent + 1] = fde;
    c->nent++;
    return true;
}

/*
 * Converts one FDE.  FDEs of code outside the image's executable span (or
 * of sections the linker discarded, left at address 0) are dropped: the
 * table only needs to answer for addresses that can be in as_find regions.
 * DW_CFA_set_loc operands are copied unchanged; compilers do not emit it.
 */
static void convert_fde(struct conv *c, uint64_t cie_off, struct rd *r)
{
    struct cie_conv *cc = cie_get(c, cie_off);
    if (!cc)
        return;
    uint64_t loc = rd_uint(r, 8), range = rd_uint(r, 8);
    if (cc->has_z) {
        uint64_t alen = rd_uleb(r);
        if (alen > (uint64_t)(r->end - r->p))
            return;
        r->p += alen;
    }
    if (!r->ok || !loc || !range || loc < c->text_lo || loc >= c->text_hi ||
        range > c->text_hi - loc || loc - c->text_lo > INT32_MAX || c->eh.len > INT32_MAX)
        return;
    size_t start = c->eh.len;
    out_uint(&c->eh, 0, 4);
    out_uint(&c->eh, (uint32_t)(start + 4 - cc->out_off), 4); /* back to the CIE */
    out_uint(&c->eh, loc + c->bias, 8);
    out_uint(&c->eh, range, 8);
    out_uint(&c->eh, 0, 1); /* no augmentation data */
    out_bytes(&c->eh, r->p, (size_t)(r->end - r->p));
    out_close_entry(&c->eh, start);
    if (c->eh.ok && !table_add(c, (int32_t)(loc - c->text_lo), (int32_t)start))
        c->eh.ok = false;
}

static int cmp_entry(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* Appends the sorted table after the converted entries (8-aligned, so every
 * aligned 8-byte read libunwind makes stays inside the buffer). */
static bool finish_table(struct conv *c, struct dbg_table *t)
{
    qsort(c->table, c->nent, 2 * sizeof(int32_t), cmp_entry);
    t->eh_len = c->eh.len;
    out_bytes(&c->eh, c->table, c->nent * 2 * sizeof(int32_t));
    if (!c->eh.ok || c->eh.len >= SYNTH_SPAN)
        return false;
    t->buf = c->eh.buf;
    t->len = c->eh.len;
    t->nent = c->nent;
    c->eh.buf = NULL;
    return true;
}

static void dbg_build(struct dbg_table *t, const struct elf_image *img, uint64_t bias)
{
    struct conv c = {
        .sec = img->data + img->debug_frame_off,
        .sec_size = img->debug_frame_size,
        .bias = bias,
        .text_lo = img->text_vaddr_lo,
        .text_hi = img->text_vaddr_hi,
        .eh = {.ok = true},
    };
    uint64_t off = 0, id, next;
    bool is64;
    struct rd body;
    while (off < c.sec_size && entry_at(&c, off, &id, &is64, &body, &next)) {
        bool cie = id == (is64 ? UINT64_MAX : 0xffffffffu);
        if (!cie && body.ok)
            convert_fde(&c, id, &body);
        if (!c.eh.ok)
            break;
        off = next;
    }
    free(t->buf);
    t->buf = NULL;
    t->built = true;
    t->bias = bias;
    t->ok = c.eh.ok && c.nent > 0 && finish_table(&c, t);
    free(c.eh.buf);
    free(c.cies);
    free(c.table);
}

/* ------------------------------------------------------------ per-image cache */

static void img_unwind_free(void *p)
{
    struct img_unwind *iu = p;
    if (iu)
        free(iu->dbg.buf);
    free(iu);
}

static struct img_unwind *img_unwind_get(struct elf_image *img)
{
    if (!img->priv) {
        img->priv = calloc(1, sizeof(struct img_unwind));
        img->priv_free = img_unwind_free;
    }
    return img->priv;
}

static unsigned encoded_size(uint8_t enc)
{
    switch (enc & 0x0f) {
    case PE_ABSPTR:
    case PE_UDATA8:
    case PE_SDATA8:
        return 8;
    case PE_UDATA4:
    case PE_SDATA4:
        return 4;
    case PE_UDATA2:
    case PE_SDATA2:
        return 2;
    default:
        return 0; /* LEB128: not used in .eh_frame_hdr */
    }
}

/*
 * .eh_frame_hdr: version 1, three encodings, eh_frame_ptr, fde_count, then
 * the table of (initial location, FDE address) pairs, both datarel sdata4,
 * which is the only table form libunwind's remote search understands.
 */
static void hdr_parse(struct hdr_info *h, struct addrspace *as, const struct as_region *reg)
{
    const struct elf_image *img = reg->img;
    uint8_t b[4 + 16];
    h->parsed = true;
    if (img->eh_frame_hdr_size < sizeof b ||
        as_read_file_bytes(as, reg->bias + img->eh_frame_hdr_vaddr, b, sizeof b) < 0)
        return;
    uint8_t ptr_enc = b[1], cnt_enc = b[2], tab_enc = b[3];
    unsigned ptr_size = ptr_enc == PE_OMIT ? 0 : encoded_size(ptr_enc);
    unsigned cnt_size = encoded_size(cnt_enc);
    if (b[0] != 1 || tab_enc != (PE_DATAREL | PE_SDATA4) || (ptr_enc != PE_OMIT && !ptr_size) ||
        cnt_enc == PE_OMIT || (cnt_enc & 0x70) || !cnt_size)
        return;
    struct rd r = {b + 4 + ptr_size, b + sizeof b, true};
    uint64_t count = rd_uint(&r, cnt_size);
    h->table_off = 4 + ptr_size + cnt_size;
    /* The count is the file's word: never let it reach past the section. */
    uint64_t room = (img->eh_frame_hdr_size - h->table_off) / 8;
    h->fde_count = count < room ? count : room;
    h->ok = r.ok && h->fde_count > 0;
}

/* ------------------------------------------------------------ accessors */

static int search_eh_frame_hdr(struct unwinder *u, const struct as_region *reg,
                               struct img_unwind *iu, unw_word_t ip, unw_proc_info_t *pi,
                               int need_unwind_info)
{
    if (!iu->hdr.parsed)
        hdr_parse(&iu->hdr, u->as, reg);
    if (!iu->hdr.ok)
        return -UNW_ENOINFO;
    uint64_t hdr = reg->bias + reg->img->eh_frame_hdr_vaddr;
    unw_dyn_info_t di;
    memset(&di, 0, sizeof di);
    di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
    di.start_ip = reg->start;
    di.end_ip = reg->end;
    di.u.rti.segbase = hdr;
    di.u.rti.table_data = hdr + iu->hdr.table_off;
    di.u.rti.table_len = iu->hdr.fde_count * 8 / sizeof(unw_word_t);
    return dwarf_search_unwind_table(u->uas, ip, &di, pi, need_unwind_info, u);
}

static int search_debug_frame(struct unwinder *u, const struct as_region *reg,
                              struct img_unwind *iu, unw_word_t ip, unw_proc_info_t *pi,
                              int need_unwind_info)
{
    const struct elf_image *img = reg->img;
    if (!img->debug_frame_size || img->text_vaddr_hi <= img->text_vaddr_lo)
        return -UNW_ENOINFO;
    /* Built once; again only if the module came back at another address. */
    if (!iu->dbg.built || iu->dbg.bias != reg->bias)
        dbg_build(&iu->dbg, img, reg->bias);
    if (!iu->dbg.ok)
        return -UNW_ENOINFO;
    uint64_t lo = reg->bias + img->text_vaddr_lo, hi = reg->bias + img->text_vaddr_hi;
    if (ip < lo || ip >= hi)
        return -UNW_ENOINFO;
    u->synth[img->module_id] = iu;
    uint64_t base = SYNTH_BASE + (uint64_t)img->module_id * SYNTH_SPAN;
    /* IP_OFFSET: table starts are relative to start_ip, FDE offsets to
     * segbase, so the two may live in different address ranges. */
    unw_dyn_info_t di;
    memset(&di, 0, sizeof di);
    di.format = UNW_INFO_FORMAT_IP_OFFSET;
    di.start_ip = lo;
    di.end_ip = hi;
    di.u.rti.segbase = base;
    di.u.rti.table_data = base + iu->dbg.eh_len;
    di.u.rti.table_len = iu->dbg.nent * 8 / sizeof(unw_word_t);
    return dwarf_search_unwind_table(u->uas, ip, &di, pi, need_unwind_info, u);
}

static int find_proc_info(unw_addr_space_t uas, unw_word_t ip, unw_proc_info_t *pi,
                          int need_unwind_info, void *arg)
{
    struct unwinder *u = arg;
    const struct as_region *reg = as_find(u->as, ip);
    struct img_unwind *iu = reg && reg->img->data ? img_unwind_get(reg->img) : NULL;
    int ret = -UNW_ENOINFO;
    if (iu) {
        ret = search_eh_frame_hdr(u, reg, iu, ip, pi, need_unwind_info);
        if (ret < 0)
            ret = search_debug_frame(u, reg, iu, ip, pi, need_unwind_info);
    }
    if (ret < 0)
        u->misses++;
    return ret;
}

static void put_unwind_info(unw_addr_space_t uas, unw_proc_info_t *pi, void *arg)
{
    /* Nothing to release: libunwind owns what it parsed from our tables. */
}

static int get_dyn_info_list_addr(unw_addr_space_t uas, unw_word_t *dilap, void *arg)
{
    return -UNW_ENOINFO; /* no dynamically registered unwind info (JITs) */
}

static int synth_read(struct unwinder *u, uint64_t addr, unw_word_t *val)
{
    uint64_t rel = addr - SYNTH_BASE;
    struct img_unwind *iu = u->synth[rel / SYNTH_SPAN];
    uint64_t off = rel % SYNTH_SPAN;
    if (!iu || !iu->dbg.ok || off > iu->dbg.len || iu->dbg.len - off < sizeof *val)
        return -UNW_EINVAL;
    memcpy(val, iu->dbg.buf + off, sizeof *val);
    return 0;
}

static int access_mem(unw_addr_space_t uas, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    struct unwinder *u = arg;
    const struct capture *c = u->cur;
    if (write)
        return -UNW_EINVAL; /* the capture is read-only */
    uint64_t off = addr - c->stack_addr;
    if (addr >= c->stack_addr && off < c->stack_len && c->stack_len - off >= sizeof *val) {
        memcpy(val, c->stack + off, sizeof *val);
        return 0;
    }
    if (addr >= SYNTH_BASE && addr < SYNTH_LIMIT)
        return synth_read(u, addr, val);
    if (as_read_file_bytes(u->as, addr, val, sizeof *val) == 0)
        return 0;
    return -UNW_EINVAL; /* beyond the copy, or not in a file: never the live target */
}

static int access_reg(unw_addr_space_t uas, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
    const struct capture_regs *r = &((struct unwinder *)arg)->cur->regs;
    if (write)
        return -UNW_EREADONLYREG;
    switch (reg) {
    case UNW_X86_64_RAX:
        *val = r->rax;
        break;
    case UNW_X86_64_RDX:
        *val = r->rdx;
        break;
    case UNW_X86_64_RCX:
        *val = r->rcx;
        break;
    case UNW_X86_64_RBX:
        *val = r->rbx;
        break;
    case UNW_X86_64_RSI:
        *val = r->rsi;
        break;
    case UNW_X86_64_RDI:
        *val = r->rdi;
        break;
    case UNW_X86_64_RBP:
        *val = r->rbp;
        break;
    case UNW_X86_64_RSP:
        *val = r->rsp;
        break;
    case UNW_X86_64_R8:
        *val = r->r8;
        break;
    case UNW_X86_64_R9:
        *val = r->r9;
        break;
    case UNW_X86_64_R10:
        *val = r->r10;
        break;
    case UNW_X86_64_R11:
        *val = r->r11;
        break;
    case UNW_X86_64_R12:
        *val = r->r12;
        break;
    case UNW_X86_64_R13:
        *val = r->r13;
        break;
    case UNW_X86_64_R14:
        *val = r->r14;
        break;
    case UNW_X86_64_R15:
        *val = r->r15;
        break;
    case UNW_X86_64_RIP:
        *val = r->rip;
        break;
    default:
        return -UNW_EBADREG;
    }
    return 0;
}

static int access_fpreg(unw_addr_space_t uas, unw_regnum_t reg, unw_fpreg_t *val, int write,
                        void *arg)
{
    return -UNW_EBADREG; /* not captured; CFI of x86_64 code does not need them */
}

static int resume(unw_addr_space_t uas, unw_cursor_t *cu, void *arg)
{
    return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t uas, unw_word_t addr, char *buf, size_t len,
                         unw_word_t *offp, void *arg)
{
    return -UNW_ENOINFO; /* symbols are the symbolizer's job */
}

static unw_accessors_t accessors = {
    .find_proc_info = find_proc_info,
    .put_unwind_info = put_unwind_info,
    .get_dyn_info_list_addr = get_dyn_info_list_addr,
    .access_mem = access_mem,
    .access_reg = access_reg,
    .access_fpreg = access_fpreg,
    .resume = resume,
    .get_proc_name = get_proc_name,
};

/* ------------------------------------------------------------ fast path */

/*
 * Debian's libunwind blocks signals (two sigprocmask system calls) around
 * every access to its register-state cache and its memory pool, that is on
 * every unw_step, cached or not: ~1 us each on a VM, several per frame.  So
 * the common frame is stepped here, from rules memoised per instruction
 * address: CFA = register + offset, return address and callee-saved
 * registers at CFA + offset, undefined, or unchanged.  The FDEs are found
 * the same way as for libunwind (.eh_frame_hdr, converted .debug_frame).
 * Anything else (expressions, signal frames, register-to-register rules,
 * no unwind info) sends the whole sample to libunwind, which stays the
 * reference: tests compare both paths on the same captures.
 */

#define RULE_SLOTS 8192 /* memoised addresses; power of two */
#define RULE_NREG  7    /* rbx, rbp, r12, r13, r14, r15, return address */
#define DW_NREG    17   /* DWARF x86_64 registers 0..16 (16 = return address) */
#define DW_RSP     7
#define DW_RA      16
#define CFI_MAX    4096 /* longest CIE or FDE read for rules */
#define CFI_STACK  8    /* DW_CFA_remember_state depth */

enum { RULE_SAME = 0, RULE_UNDEF, RULE_OFFSET };
enum { RULE_EMPTY = 0, RULE_OK, RULE_SLOW };

/* Rules to unwind one frame whose pc (or return address - 1) is ip. */
struct rule {
    uint64_t ip;
    uint8_t state; /* RULE_EMPTY, RULE_OK, RULE_SLOW */
    bool covered;  /* some FDE covers ip (its rules may still be too complex) */
    uint8_t cfa_reg;
    uint8_t kind[RULE_NREG];
    int32_t cfa_off;
    int32_t off[RULE_NREG];
};

/* DWARF register number -> rule slot, or -1 for registers without rules. */
static int rule_slot(uint64_t dw)
{
    switch (dw) {
    case 3:
        return 0;
    case 6:
        return 1;
    case 12:
        return 2;
    case 13:
        return 3;
    case 14:
        return 4;
    case 15:
        return 5;
    case DW_RA:
        return 6;
    default:
        return -1;
    }
}

static const uint8_t slot_reg[RULE_NREG] = {3, 6, 12, 13, 14, 15, DW_RA};

/* One row of the CFI table while the program runs. */
struct cfi_row {
    uint64_t cfa_reg;
    int64_t cfa_off;
    uint8_t kind[RULE_NREG];
    int64_t off[RULE_NREG];
};

struct cie_info {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    bool has_z;
    const uint8_t *insns, *insns_end;
};

static int64_t rd_sleb(struct rd *r)
{
    int64_t v = 0;
    unsigned shift = 0;
    while (r->ok && r->p < r->end && shift < 64) {
        uint8_t b = *r->p++;
        v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= (int64_t)(~0ull << shift);
            return v;
        }
    }
    r->ok = false;
    return 0;
}

/* Bytes at a target or synthetic address, from files or converted tables. */
static bool table_read(struct unwinder *u, uint64_t addr, void *buf, size_t len)
{
    if (addr >= SYNTH_BASE && addr < SYNTH_LIMIT) {
        uint64_t rel = addr - SYNTH_BASE, off = rel % SYNTH_SPAN;
        struct img_unwind *iu = u->synth[rel / SYNTH_SPAN];
        if (!iu || !iu->dbg.ok || off > iu->dbg.len || len > iu->dbg.len - off)
            return false;
        memcpy(buf, iu->dbg.buf + off, len);
        return true;
    }
    return as_read_file_bytes(u->as, addr, buf, len) == 0;
}

/* Binary search of a table of (start, fde) int32 pairs: the FDE address of
 * the last entry whose start <= rel. */
static bool table_search(struct unwinder *u, uint64_t table, uint64_t n, int64_t rel,
                         uint64_t fde_base, uint64_t *fde)
{
    uint64_t lo = 0, hi = n;
    int32_t e[2];
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (!table_read(u, table + mid * 8, e, 8))
            return false;
        if (rel < e[0])
            hi = mid;
        else
            lo = mid + 1;
    }
    if (hi == 0 || !table_read(u, table + (hi - 1) * 8, e, 8))
        return false;
    *fde = fde_base + (uint64_t)(int64_t)e[1];
    return true;
}

/* A CIE or FDE at addr copied into buf (at most CFI_MAX bytes). */
static bool entry_read(struct unwinder *u, uint64_t addr, uint8_t *buf, struct rd *body)
{
    uint32_t len;
    if (!table_read(u, addr, &len, 4) || len == 0 || len > CFI_MAX - 4)
        return false; /* 64-bit entries (0xffffffff) are left to libunwind */
    if (!table_read(u, addr, buf, 4 + (size_t)len))
        return false;
    body->p = buf + 4;
    body->end = buf + 4 + len;
    body->ok = true;
    return true;
}

static bool read_encoded(struct rd *r, uint8_t enc, uint64_t field_addr, bool apply, uint64_t *out)
{
    unsigned size = encoded_size(enc);
    if (enc == PE_OMIT || (enc & 0x80) || !size)
        return false;
    uint64_t v = rd_uint(r, size);
    if ((enc & 0x08) && size < 8 && (v >> (8 * size - 1)) & 1) /* signed forms */
        v |= ~0ull << (8 * size);
    if (!apply || (enc & 0x70) == 0)
        *out = v;
    else if ((enc & 0x70) == 0x10) /* pcrel */
        *out = field_addr + v;
    else
        return false;
    return r->ok;
}

/* CIE of .eh_frame form (also what .debug_frame was converted to). */
static bool parse_cie(struct rd *r, struct cie_info *ci)
{
    if (rd_uint(r, 4) != 0)
        return false;
    uint8_t version = (uint8_t)rd_uint(r, 1);
    const uint8_t *aug = r->p;
    const uint8_t *nul = r->ok ? memchr(r->p, '\0', (size_t)(r->end - r->p)) : NULL;
    if (!nul || (version != 1 && version != 3))
        return false;
    r->p = nul + 1;
    ci->code_align = rd_uleb(r);
    ci->data_align = rd_sleb(r);
    uint64_t ra = version == 1 ? rd_uint(r, 1) : rd_uleb(r);
    ci->fde_enc = PE_ABSPTR;
    ci->has_z = aug[0] == 'z';
    if (ra != DW_RA || (aug[0] && !ci->has_z))
        return false;
    if (ci->has_z) {
        uint64_t alen = rd_uleb(r);
        if (!r->ok || alen > (uint64_t)(r->end - r->p))
            return false;
        struct rd a = {r->p, r->p + alen, true};
        for (const uint8_t *l = aug + 1; *l; l++) {
            uint8_t enc = (uint8_t)rd_uint(&a, 1);
            if (*l == 'R') {
                ci->fde_enc = enc;
            } else if (*l == 'P') {
                uint64_t ignored;
                if (!read_encoded(&a, enc & 0x7f, 0, false, &ignored))
                    return false;
            } else if (*l != 'L') {
                return false; /* 'S' (signal frame) and unknown letters */
            }
        }
        r->p += alen;
    }
    ci->insns = r->p;
    ci->insns_end = r->end;
    return r->ok;
}

static bool row_set(struct cfi_row *row, uint64_t reg, uint8_t kind, int64_t off)
{
    int s = rule_slot(reg);
    if (s < 0)
        return false; /* rules for other registers: libunwind's business */
    row->kind[s] = kind;
    row->off[s] = off;
    return true;
}

static bool row_restore(struct cfi_row *row, uint64_t reg, const struct cfi_row *init)
{
    int s = rule_slot(reg);
    if (s < 0)
        return false;
    row->kind[s] = init->kind[s];
    row->off[s] = init->off[s];
    return true;
}

/* v * align into *out, false when the product does not fit: both are the
 * file's numbers, so no signed overflow (the rule is then not modelled). */
static bool scaled(int64_t v, int64_t align, int64_t *out)
{
    return !__builtin_mul_overflow(v, align, out);
}

/*
 * Runs a CFA program until the row that covers target.  Returns false for
 * anything the fast path does not model.  loc is the address of the row.
 */
static bool run_cfi(struct rd *r, const struct cie_info *ci, uint64_t *loc, uint64_t target,
                    struct cfi_row *row, const struct cfi_row *init)
{
    struct cfi_row stack[CFI_STACK];
    unsigned depth = 0;
    while (r->ok && r->p < r->end) {
        uint8_t op = (uint8_t)rd_uint(r, 1);
        uint64_t reg, delta = 0;
        int64_t off;
        bool advance = false;
        switch (op & 0xc0) {
        case 0x40:
            delta = op & 0x3f;
            advance = true;
            break;
        case 0x80:
            if (!scaled((int64_t)rd_uleb(r), ci->data_align, &off) ||
                !row_set(row, op & 0x3f, RULE_OFFSET, off))
                return false;
            continue;
        case 0xc0:
            if (!row_restore(row, op & 0x3f, init))
                return false;
            continue;
        }
        if (!advance) {
            switch (op) {
            case 0x00: /* nop */
                break;
            case 0x02:
                delta = rd_uint(r, 1);
                advance = true;
                break;
            case 0x03:
                delta = rd_uint(r, 2);
                advance = true;
                break;
            case 0x04:
                delta = rd_uint(r, 4);
                advance = true;
                break;
            case 0x05: /* offset_extended */
                reg = rd_uleb(r);
                if (!scaled((int64_t)rd_uleb(r), ci->data_align, &off) ||
                    !row_set(row, reg, RULE_OFFSET, off))
                    return false;
                break;
            case 0x06:
                if (!row_restore(row, rd_uleb(r), init))
                    return false;
                break;
            case 0x07:
                if (!row_set(row, rd_uleb(r), RULE_UNDEF, 0))
                    return false;
                break;
            case 0x08:
                if (!row_set(row, rd_uleb(r), RULE_SAME, 0))
                    return false;
                break;
            case 0x0a: /* remember_state */
                if (depth == CFI_STACK)
                    return false;
                stack[depth++] = *row;
                break;
            case 0x0b: /* restore_state */
                if (depth == 0)
                    return false;
                *row = stack[--depth];
                break;
            case 0x0c: /* def_cfa */
                row->cfa_reg = rd_uleb(r);
                row->cfa_off = (int64_t)rd_uleb(r);
                break;
            case 0x0d:
                row->cfa_reg = rd_uleb(r);
                break;
            case 0x0e:
                row->cfa_off = (int64_t)rd_uleb(r);
                break;
            case 0x11: /* offset_extended_sf */
                reg = rd_uleb(r);
                if (!scaled(rd_sleb(r), ci->data_align, &off) ||
                    !row_set(row, reg, RULE_OFFSET, off))
                    return false;
                break;
            case 0x12: /* def_cfa_sf */
                row->cfa_reg = rd_uleb(r);
                if (!scaled(rd_sleb(r), ci->data_align, &row->cfa_off))
                    return false;
                break;
            case 0x13:
                if (!scaled(rd_sleb(r), ci->data_align, &row->cfa_off))
                    return false;
                break;
            case 0x2e: /* GNU_args_size: only matters for landing pads */
                rd_uleb(r);
                break;
            case 0x2f: /* GNU_negative_offset_extended */
                reg = rd_uleb(r);
                if (!scaled((int64_t)rd_uleb(r), ci->data_align, &off) || off == INT64_MIN ||
                    !row_set(row, reg, RULE_OFFSET, -off))
                    return false;
                break;
            default: /* set_loc, register, expressions, val_*: not modelled */
                return false;
            }
        }
        if (advance) {
            *loc += delta * ci->code_align;
            if (*loc > target)
                return r->ok;
        }
    }
    return r->ok;
}

enum { FDE_OK, FDE_UNSUPPORTED, FDE_NOT_COVERING };

/* Fills ru with the row of the FDE at fde_addr covering ip: FDE_OK,
 * FDE_NOT_COVERING (ip is past this FDE: a table's nearest entry below), or
 * FDE_UNSUPPORTED. */
static int rule_from_fde(struct unwinder *u, uint64_t fde_addr, uint64_t ip, struct rule *ru)
{
    uint8_t fbuf[CFI_MAX], cbuf[CFI_MAX];
    struct rd f, c;
    if (!entry_read(u, fde_addr, fbuf, &f))
        return FDE_UNSUPPORTED;
    uint32_t cie_ptr = (uint32_t)rd_uint(&f, 4);
    if (!cie_ptr || !entry_read(u, fde_addr + 4 - cie_ptr, cbuf, &c))
        return FDE_UNSUPPORTED;
    struct cie_info ci;
    uint64_t start, range;
    if (!parse_cie(&c, &ci) || !read_encoded(&f, ci.fde_enc, fde_addr + 8, true, &start) ||
        !read_encoded(&f, ci.fde_enc & 0x0f, 0, false, &range))
        return FDE_UNSUPPORTED;
    if (ip < start || ip - start >= range)
        return FDE_NOT_COVERING;
    if (ci.has_z) {
        uint64_t alen = rd_uleb(&f);
        if (!f.ok || alen > (uint64_t)(f.end - f.p))
            return FDE_UNSUPPORTED;
        f.p += alen;
    }
    struct cfi_row row, init;
    memset(&row, 0, sizeof row); /* RULE_SAME everywhere */
    struct rd ci_r = {ci.insns, ci.insns_end, true};
    uint64_t loc = start;
    if (!run_cfi(&ci_r, &ci, &loc, UINT64_MAX, &row, &row) || loc != start)
        return FDE_UNSUPPORTED;
    init = row;
    if (!run_cfi(&f, &ci, &loc, ip, &row, &init))
        return FDE_UNSUPPORTED;
    int ra = rule_slot(DW_RA);
    if (row.cfa_reg >= DW_NREG || row.cfa_off < INT32_MIN || row.cfa_off > INT32_MAX ||
        row.kind[ra] == RULE_SAME)
        return FDE_UNSUPPORTED;
    ru->cfa_reg = (uint8_t)row.cfa_reg;
    ru->cfa_off = (int32_t)row.cfa_off;
    for (int s = 0; s < RULE_NREG; s++) {
        if (row.off[s] < INT32_MIN || row.off[s] > INT32_MAX)
            return FDE_UNSUPPORTED;
        ru->kind[s] = row.kind[s];
        ru->off[s] = (int32_t)row.off[s];
    }
    return FDE_OK;
}

/*
 * Rules for ip from .eh_frame_hdr, else from the converted .debug_frame: a
 * binary built without unwind tables still has .eh_frame_hdr for its crt
 * code, whose nearest entry below ip then does not cover ip.
 */
static bool rule_lookup(struct unwinder *u, const struct as_region *reg, struct img_unwind *iu,
                        uint64_t ip, struct rule *ru)
{
    const struct elf_image *img = reg->img;
    uint64_t fde;
    if (!iu->hdr.parsed)
        hdr_parse(&iu->hdr, u->as, reg);
    if (iu->hdr.ok) {
        uint64_t hdr = reg->bias + img->eh_frame_hdr_vaddr;
        if (table_search(u, hdr + iu->hdr.table_off, iu->hdr.fde_count, (int64_t)(ip - hdr), hdr,
                         &fde)) {
            int r = rule_from_fde(u, fde, ip, ru);
            ru->covered = r != FDE_NOT_COVERING;
            if (r != FDE_NOT_COVERING)
                return r == FDE_OK;
        }
    }
    if (!img->debug_frame_size || img->text_vaddr_hi <= img->text_vaddr_lo)
        return false;
    if (!iu->dbg.built || iu->dbg.bias != reg->bias)
        dbg_build(&iu->dbg, img, reg->bias);
    uint64_t lo = reg->bias + img->text_vaddr_lo, hi = reg->bias + img->text_vaddr_hi;
    if (!iu->dbg.ok || ip < lo || ip >= hi)
        return false;
    u->synth[img->module_id] = iu;
    uint64_t base = SYNTH_BASE + (uint64_t)img->module_id * SYNTH_SPAN;
    if (!table_search(u, base + iu->dbg.eh_len, iu->dbg.nent, (int64_t)(ip - lo), base, &fde))
        return false;
    int r = rule_from_fde(u, fde, ip, ru);
    ru->covered = r != FDE_NOT_COVERING;
    return r == FDE_OK;
}

static struct rule *rule_get(struct unwinder *u, uint64_t ip)
{
    struct rule *ru = &u->rules[(hash_fib64(ip) >> 40) & (RULE_SLOTS - 1)];
    if (ru->state != RULE_EMPTY && ru->ip == ip)
        return ru;
    memset(ru, 0, sizeof *ru);
    ru->ip = ip;
    ru->state = RULE_SLOW;
    const struct as_region *reg = as_find(u->as, ip);
    struct img_unwind *iu = reg && reg->img->data ? img_unwind_get(reg->img) : NULL;
    if (iu && rule_lookup(u, reg, iu, ip, ru))
        ru->state = RULE_OK;
    return ru;
}

static bool stack_word(const struct capture *c, uint64_t addr, uint64_t *val)
{
    uint64_t off = addr - c->stack_addr;
    if (addr < c->stack_addr || off >= c->stack_len || c->stack_len - off < 8)
        return false;
    memcpy(val, c->stack + off, 8);
    return true;
}

enum { FAST_NEXT, FAST_END, FAST_TRUNC, FAST_SLOW };

/* One frame with rule ru: regs/known become the caller's. */
static int fast_step(const struct capture *c, const struct rule *ru, uint64_t *regs,
                     uint32_t *known)
{
    if (!(*known & (1u << ru->cfa_reg)))
        return FAST_SLOW;
    uint64_t cfa = regs[ru->cfa_reg] + (uint64_t)(int64_t)ru->cfa_off, ra;
    int s = rule_slot(DW_RA);
    if (ru->kind[s] == RULE_UNDEF)
        return FAST_END; /* _start, clone: the outermost frame */
    if (!stack_word(c, cfa + (uint64_t)(int64_t)ru->off[s], &ra))
        return FAST_TRUNC;
    for (s = 0; s < RULE_NREG - 1; s++) {
        uint8_t r = slot_reg[s];
        if (ru->kind[s] == RULE_UNDEF)
            *known &= ~(1u << r);
        else if (ru->kind[s] == RULE_OFFSET &&
                 !stack_word(c, cfa + (uint64_t)(int64_t)ru->off[s], &regs[r]))
            *known &= ~(1u << r); /* saved beyond the copy: unknown, not fatal */
        else if (ru->kind[s] == RULE_OFFSET)
            *known |= 1u << r;
    }
    regs[DW_RSP] = cfa;
    regs[DW_RA] = ra;
    return ra ? FAST_NEXT : FAST_END;
}

static void regs_from_capture(const struct capture_regs *r, uint64_t *regs)
{
    const uint64_t v[DW_NREG] = {r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi,
                                 r->rbp, r->rsp, r->r8,  r->r9,  r->r10, r->r11,
                                 r->r12, r->r13, r->r14, r->r15, r->rip};
    memcpy(regs, v, sizeof v);
}

/* How far into _start its call of the next frame can be. */
#define ENTRY_SPAN 64

/* True when the bytes before ra end in a call instruction: direct
 * (e8 rel32) or indirect through a register or memory (ff /2, REX or not). */
static bool after_call(struct unwinder *u, uint64_t ra)
{
    uint8_t b[8];
    if (ra < sizeof b || as_read_file_bytes(u->as, ra - sizeof b, b, sizeof b) < 0)
        return false;
    if (b[3] == 0xe8)
        return true;
    /* ff with ModRM reg field 2, instruction lengths 2, 3, 6 and 7 */
    static const struct {
        uint8_t len, mod;
    } forms[] = {{2, 3}, {3, 1}, {3, 0}, {6, 2}, {6, 0}, {7, 2}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        size_t at = sizeof b - forms[i].len;
        uint8_t modrm = b[at + 1];
        if (b[at] == 0xff && ((modrm >> 3) & 7) == 2 && (modrm >> 6) == forms[i].mod)
            return true;
    }
    return false;
}

/*
 * A leaf pc that no FDE covers: hand-written assembly whose CFI ends early
 * (glibc's clone3 ends its FDE before the syscall, as the child's frame is
 * not the parent's).  If the word at sp is a return address - it points
 * into a module right after a call - the leaf pushed nothing: take it.
 */
static bool leaf_without_cfi(struct unwinder *u, const struct capture *c, uint64_t *regs)
{
    uint64_t ra;
    if (!stack_word(c, regs[DW_RSP], &ra) || !as_find(u->as, ra) || !after_call(u, ra))
        return false;
    regs[DW_RSP] += 8;
    regs[DW_RA] = ra;
    return true;
}

/* The first instruction of a new thread or process: the clone system call
 * returned 0 in the child, whose stack holds no caller. */
static bool clone_child_start(struct unwinder *u, const struct capture *c)
{
    uint8_t b[2];
    return c->regs.rax == 0 && c->regs.rip >= 2 &&
           as_read_file_bytes(u->as, c->regs.rip - 2, b, sizeof b) == 0 && b[0] == 0x0f &&
           b[1] == 0x05;
}

/* pc is in the first bytes of a module's ELF entry point (a return address
 * past it, a leaf at or past it): the frame is _start, the outermost, whose
 * copy in the dynamic loader has no CFI. */
static bool in_entry(struct unwinder *u, uint64_t pc, bool leaf)
{
    const struct as_region *reg = as_find(u->as, pc);
    if (!reg || !reg->img->data || reg->img->size < sizeof(Elf64_Ehdr))
        return false;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)reg->img->data;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
        return false;
    uint64_t at = pc - reg->bias;
    return eh->e_entry && (leaf ? at >= eh->e_entry : at > eh->e_entry) &&
           at - eh->e_entry <= ENTRY_SPAN;
}

/* Returns false when the sample needs libunwind. */
static bool fast_unwind(struct unwinder *u, const struct capture *c, struct unwind_result *out)
{
    uint64_t regs[DW_NREG];
    uint32_t known = (1u << DW_NREG) - 1;
    regs_from_capture(&c->regs, regs);
    for (;;) {
        uint64_t ip = regs[DW_RA], sp = regs[DW_RSP];
        /* A return address points after the call: look up the call. */
        const struct rule *ru = rule_get(u, out->n == 1 ? ip : ip - 1);
        if (ru->state != RULE_OK && !ru->covered) {
            if (out->n == 1 && leaf_without_cfi(u, c, regs)) {
                out->pcs[out->n++] = regs[DW_RA];
                continue;
            }
            if ((out->n == 1 && clone_child_start(u, c)) || in_entry(u, ip, out->n == 1))
                return true;
        }
        if (ru->state != RULE_OK)
            return false;
        int r = fast_step(c, ru, regs, &known);
        if (r == FAST_SLOW)
            return false;
        if (r == FAST_TRUNC || (r == FAST_NEXT && regs[DW_RA] == ip && regs[DW_RSP] == sp))
            out->flags |= UNWIND_TRUNCATED;
        if (r != FAST_NEXT || (out->flags & UNWIND_TRUNCATED))
            return true;
        if (out->n >= u->max_depth) {
            out->flags |= UNWIND_DEPTH_CAPPED;
            return true;
        }
        out->pcs[out->n++] = regs[DW_RA];
    }
}

/* ------------------------------------------------------------ public */

struct unwinder *unwind_new(struct addrspace *as, unsigned max_depth, char *err, size_t errsz)
{
    struct unwinder *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    u->as = as;
    u->fast = true;
    u->rules = calloc(RULE_SLOTS, sizeof *u->rules);
    if (!u->rules) {
        snprintf(err, errsz, "out of memory");
        free(u);
        return NULL;
    }
    u->max_depth = max_depth == 0                 ? UNWIND_DEPTH_DEFAULT
                   : max_depth > UNWIND_DEPTH_MAX ? UNWIND_DEPTH_MAX
                                                  : max_depth;
    u->uas = unw_create_addr_space(&accessors, 0);
    if (!u->uas) {
        snprintf(err, errsz, "libunwind: cannot create an address space");
        free(u->rules);
        free(u);
        return NULL;
    }
    /* Register rules derived from CFI are cached per instruction address:
     * after warm-up a step costs a hash lookup, not a CFI parse. */
    unw_set_caching_policy(u->uas, UNW_CACHE_GLOBAL);
    u->refresh_seen = as_refresh_count(as);
    return u;
}

void unwind_free(struct unwinder *u)
{
    if (!u)
        return;
    unw_destroy_addr_space(u->uas);
    free(u->rules);
    free(u);
}

/* One unw_step: 1 = a new frame in *ip, 0 = done, -1 = stop, truncated. */
static int step(struct unwinder *u, unw_cursor_t *cur, uint64_t *ip, uint64_t *sp)
{
    uint64_t old_ip = *ip, old_sp = *sp;
    u->misses = 0;
    int r = unw_step(cur);
    /* Without CFI for the frame libunwind guesses (frame pointers, PLT
     * shapes): a guess that claims the end proves nothing, and a guess that
     * lands outside any module is garbage. */
    if (r < 0 || (r == 0 && u->misses))
        return -1;
    if (r == 0)
        return 0;
    unw_word_t nip, nsp;
    if (unw_get_reg(cur, UNW_REG_IP, &nip) < 0 || unw_get_reg(cur, UNW_REG_SP, &nsp) < 0)
        return -1;
    if ((nip == old_ip && nsp == old_sp) || (u->misses && !as_find(u->as, nip)))
        return -1;
    *ip = nip;
    *sp = nsp;
    return 1;
}

void unwind_capture(struct unwinder *u, const struct capture *c, struct unwind_result *out)
{
    out->n = 0;
    out->flags = 0;
    out->pcs[out->n++] = c->regs.rip;
    /* Tables cached by address are stale once the maps may have changed. */
    uint64_t rc = as_refresh_count(u->as);
    if (rc != u->refresh_seen) {
        unw_flush_cache(u->uas, 0, 0);
        memset(u->rules, 0, RULE_SLOTS * sizeof *u->rules);
        u->refresh_seen = rc;
    }
    u->stats.samples++;
    if (u->fast) {
        if (fast_unwind(u, c, out))
            return;
        u->stats.slow++;
    }
    out->n = 1;
    out->flags = 0;
    u->cur = c;
    unw_cursor_t cur;
    if (unw_init_remote(&cur, u->uas, u) < 0) {
        out->flags |= UNWIND_TRUNCATED;
        return;
    }
    uint64_t ip = c->regs.rip, sp = c->regs.rsp;
    for (;;) {
        int r = step(u, &cur, &ip, &sp);
        if (r < 0)
            out->flags |= UNWIND_TRUNCATED;
        if (r <= 0)
            break;
        if (out->n >= u->max_depth) {
            out->flags |= UNWIND_DEPTH_CAPPED;
            break;
        }
        out->pcs[out->n++] = ip;
    }
    u->cur = NULL;
}

void unwind_get_stats(const struct unwinder *u, struct unwind_stats *out)
{
    *out = u->stats;
}

void unwind_set_fast_path(struct unwinder *u, bool on)
{
    u->fast = on;
}
