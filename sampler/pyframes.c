/*
 * pyframes.c - thread states and frame chains of a CPython target, read
 * through a bounded remote reader; code objects cached by address.
 */
#include "pyframes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "pylines.h"

#define SPAN_MAX     512    /* largest struct prefix read in one go */
#define SEEN_SLOTS   2048   /* cycle guard: > PYF_MAX_DEPTH, power of two */
#define INTERPS_MAX  256    /* interpreters followed to find the list tail */
#define TID_SCAN_MAX 4096   /* bytes of struct pthread searched for the tid */
#define PAGE_SIZE_T  4096u  /* target pages: mapped whole or not at all */
#define BLOCK        16384u /* unit of the per-walk read cache */
#define BLOCKS       32u    /* cache slots (512 KiB, fixed) */

struct pyframes {
    struct pycode *cache;
    size_t mask;
    uint8_t *scratch; /* PYF_SCRATCH_MAX: line tables too big to cache */
    struct pyframes_stats st;
    /* Blocks of the target read during the current walk (gen): frames of
     * 3.11+ sit together in the thread's data stack, and code objects of a
     * module together on the heap, so one read serves many small reads (a
     * syscall costs ~2 us whatever its size).  A block that is not mapped
     * whole is read as the one page [lo, hi) wanted.  Only valid within one
     * walk: nothing stale crosses samples. */
    struct {
        uint64_t base;
        uint32_t gen, lo, hi;
    } bmeta[BLOCKS];
    uint8_t (*blocks)[BLOCK];
    /* Cycle guard of the frame walk: slots of an older walk (gen) count as
     * empty, so nothing is cleared per walk. */
    uint32_t gen;
    struct {
        uint64_t addr;
        uint32_t gen;
    } seen[SEEN_SLOTS];
    bool stopped; /* the caller stops the thread around each walk */
};

int pyread_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
    pid_t pid = *(const pid_t *)ctx;
    struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EFAULT;
}

struct pyframes *pyframes_new(size_t cache_entries)
{
    struct pyframes *pf = calloc(1, sizeof *pf);
    size_t n = 1;

    if (!cache_entries)
        cache_entries = 256;
    while ((n < cache_entries || n < 4) && n < 65536)
        n <<= 1;
    if (!pf)
        return NULL;
    pf->cache = calloc(n, sizeof *pf->cache);
    pf->scratch = malloc(PYF_SCRATCH_MAX);
    pf->blocks = malloc(BLOCKS * BLOCK);
    if (!pf->cache || !pf->scratch || !pf->blocks) {
        pyframes_free(pf);
        return NULL;
    }
    pf->mask = n - 1;
    return pf;
}

void pyframes_free(struct pyframes *pf)
{
    if (!pf)
        return;
    free(pf->cache);
    free(pf->scratch);
    free(pf->blocks);
    free(pf);
}

void pyframes_set_stopped(struct pyframes *pf, bool stopped)
{
    pf->stopped = stopped;
}

void pyframes_stats(const struct pyframes *pf, struct pyframes_stats *out)
{
    *out = pf->st;
}

static int rd(const struct pyf_target *t, uint64_t addr, void *buf, size_t len)
{
    if (!addr || addr + len < addr)
        return -EFAULT;
    return t->mem.read(t->mem.ctx, addr, buf, len);
}

static int rd_ptr(const struct pyf_target *t, uint64_t addr, uint64_t *v)
{
    return rd(t, addr, v, sizeof *v);
}

/* Fills slot i with the block at base, or only the page holding addr
 * when the block is not mapped whole. */
static int fill_block(struct pyframes *pf, const struct pyf_target *t, size_t i, uint64_t base,
                      uint64_t addr)
{
    uint32_t lo = 0, hi = BLOCK;

    pf->st.reads++;
    if (rd(t, base, pf->blocks[i], BLOCK) < 0) {
        lo = (uint32_t)((addr - base) & ~(uint64_t)(PAGE_SIZE_T - 1));
        hi = lo + PAGE_SIZE_T;
        pf->st.reads++;
        if (rd(t, base + lo, pf->blocks[i] + lo, PAGE_SIZE_T) < 0)
            return -EFAULT;
    }
    pf->bmeta[i].base = base;
    pf->bmeta[i].gen = pf->gen;
    pf->bmeta[i].lo = lo;
    pf->bmeta[i].hi = hi;
    return 0;
}

/* A read through the walk's block cache; reads that cross a block (or,
 * in a partly mapped block, a page) go straight to the target. */
static int rdc(struct pyframes *pf, const struct pyf_target *t, uint64_t addr, void *buf,
               size_t len)
{
    uint64_t base = addr & ~(uint64_t)(BLOCK - 1);
    size_t i = (size_t)(base / BLOCK) % BLOCKS;
    uint64_t off = addr - base;

    if (!addr || !len || off + len > BLOCK) {
        pf->st.reads++;
        return rd(t, addr, buf, len);
    }
    if ((pf->bmeta[i].gen != pf->gen || pf->bmeta[i].base != base) &&
        fill_block(pf, t, i, base, addr) < 0)
        return -EFAULT;
    if (off < pf->bmeta[i].lo || off + len > pf->bmeta[i].hi) {
        pf->st.reads++;
        return rd(t, addr, buf, len);
    }
    memcpy(buf, pf->blocks[i] + off, len);
    return 0;
}

/* Little helpers over a struct prefix copied in one read. */
static uint64_t ptr_at(const uint8_t *b, int32_t off)
{
    uint64_t v = 0;
    if (off >= 0 && off + 8 <= SPAN_MAX)
        memcpy(&v, b + off, 8);
    return v;
}

static int32_t int_at(const uint8_t *b, int32_t off)
{
    int32_t v = 0;
    if (off >= 0 && off + 4 <= SPAN_MAX)
        memcpy(&v, b + off, 4);
    return v;
}

/* Bytes covering every offset given (PYL_NONE ignored), plus 8. */
static size_t span(const int32_t *offs, size_t n)
{
    int32_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (offs[i] > m)
            m = offs[i];
    return (size_t)m + 8 > SPAN_MAX ? 0 : (size_t)m + 8;
}

/* Open-addressing set of addresses, for cycle guards. */
struct seen {
    uint64_t slot[SEEN_SLOTS];
};

static bool seen_add(struct seen *s, uint64_t a)
{
    size_t h = (size_t)((a >> 3) * 0x9E3779B97F4A7C15ull) & (SEEN_SLOTS - 1);
    for (size_t i = 0; i < SEEN_SLOTS; i++, h = (h + 1) & (SEEN_SLOTS - 1)) {
        if (s->slot[h] == a)
            return false;
        if (!s->slot[h]) {
            s->slot[h] = a;
            return true;
        }
    }
    return false;
}

static bool walk_seen_add(struct pyframes *pf, uint64_t a)
{
    size_t h = (size_t)((a >> 3) * 0x9E3779B97F4A7C15ull) & (SEEN_SLOTS - 1);
    for (size_t i = 0; i < SEEN_SLOTS; i++, h = (h + 1) & (SEEN_SLOTS - 1)) {
        if (pf->seen[h].gen != pf->gen) {
            pf->seen[h].gen = pf->gen;
            pf->seen[h].addr = a;
            return true;
        }
        if (pf->seen[h].addr == a)
            return false;
    }
    return false;
}

/* ---------------------------------------------------------------- strings */

/* Appends code point c as UTF-8 if it fits; false when it does not. */
static bool put_utf8(char *out, size_t cap, size_t *n, uint32_t c)
{
    char b[4];
    size_t k;

    if (c < 0x20 || c == 0x7f || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
        c = '?'; /* control or invalid: never printed raw */
    if (c < 0x80) {
        b[0] = (char)c;
        k = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xc0 | c >> 6), b[1] = (char)(0x80 | (c & 63));
        k = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xe0 | c >> 12), b[1] = (char)(0x80 | ((c >> 6) & 63));
        b[2] = (char)(0x80 | (c & 63));
        k = 3;
    } else {
        b[0] = (char)(0xf0 | c >> 18), b[1] = (char)(0x80 | ((c >> 12) & 63));
        b[2] = (char)(0x80 | ((c >> 6) & 63)), b[3] = (char)(0x80 | (c & 63));
        k = 4;
    }
    if (*n + k + 1 > cap)
        return false;
    memcpy(out + *n, b, k);
    *n += k;
    return true;
}

/* Reads a name: PyUnicode (compact only: names always are) or, on 2.7,
 * PyString.  At most cap-1 bytes; longer names end in "...".  0, or
 * -EINVAL when the object does not look like a string of that kind. */
static int read_str(const struct pyf_target *t, uint64_t obj, char *out, size_t cap,
                    bool *truncated)
{
    const struct py_layout *L = &t->layout;
    uint8_t hdr[SPAN_MAX], data[PYF_FILE_MAX * 4];
    size_t n = 0, kind = 1, want, hsize;
    int64_t len;
    uint64_t data_at;

    *truncated = false;
    out[0] = 0;
    if (L->str_kind == PYL_STR_BYTES) {
        hsize = (size_t)L->bytes_sval;
    } else {
        hsize = (size_t)L->uni_compact_size;
    }
    if (hsize == 0 || hsize > SPAN_MAX || rd(t, obj, hdr, hsize) < 0)
        return -EFAULT;
    if (L->str_kind == PYL_STR_BYTES) {
        len = (int64_t)ptr_at(hdr, L->bytes_size);
        data_at = obj + (uint64_t)L->bytes_sval;
    } else {
        uint32_t state = (uint32_t)int_at(hdr, L->uni_state);
        len = (int64_t)ptr_at(hdr, L->uni_length);
        if (!(state & L->uni_compact_mask))
            return -EINVAL;
        kind = (state & L->uni_kind_mask) / (L->uni_kind_mask & -L->uni_kind_mask);
        data_at =
            obj + (uint64_t)((state & L->uni_ascii_mask) ? L->uni_ascii_size : L->uni_compact_size);
    }
    if (len < 0 || (kind != 1 && kind != 2 && kind != 4))
        return -EINVAL;
    want = (size_t)len < cap - 1 ? (size_t)len : cap - 1;
    if (want && rd(t, data_at, data, want * kind) < 0)
        return -EFAULT;
    for (size_t i = 0; i < want; i++) {
        uint32_t c = 0;
        memcpy(&c, data + i * kind, kind); /* little-endian: low bytes first */
        if (c == 0 || !put_utf8(out, cap - 3, &n, c)) {
            if (c == 0)
                return -EINVAL; /* names hold no NUL: not a name */
            *truncated = true;
            break;
        }
    }
    if ((size_t)len > want)
        *truncated = true;
    if (*truncated) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = 0;
    return 0;
}

/* ------------------------------------------------------------- code cache */

struct code_id {
    uint64_t name, file, table;
    int32_t firstlineno, firsttraceable;
};

/* One read of the code object's head: its identity fields, and a check
 * that it is a code object at all when PyCode_Type is known. */
static int code_head(struct pyframes *pf, const struct pyf_target *t, uint64_t code,
                     struct code_id *id)
{
    const struct py_layout *L = &t->layout;
    const int32_t offs[] = {L->co_name,        L->co_filename,       L->co_linetable,
                            L->co_firstlineno, L->co_firsttraceable, L->co_qualname,
                            L->ob_type};
    size_t n = span(offs, sizeof offs / sizeof offs[0]);
    uint8_t b[SPAN_MAX];

    if (!n || rdc(pf, t, code, b, n) < 0)
        return -EFAULT;
    if (t->code_type && ptr_at(b, L->ob_type) != t->code_type)
        return -EINVAL;
    id->name = ptr_at(b, L->co_name);
    id->file = ptr_at(b, L->co_filename);
    id->table = ptr_at(b, L->co_linetable);
    id->firstlineno = int_at(b, L->co_firstlineno);
    id->firsttraceable = L->co_firsttraceable >= 0 ? int_at(b, L->co_firsttraceable) : 0;
    if (!id->name || !id->file || !id->table)
        return -EINVAL;
    return 0;
}

/* Reads the line table (a bytes object) into e->tab, up to PYF_TABLE_MAX. */
static int load_table(const struct pyf_target *t, struct pycode *e)
{
    const struct py_layout *L = &t->layout;
    uint8_t hdr[SPAN_MAX];
    int64_t len;

    if ((size_t)L->bytes_sval > SPAN_MAX || rd(t, e->id_table, hdr, (size_t)L->bytes_sval) < 0)
        return -EFAULT;
    len = (int64_t)ptr_at(hdr, L->bytes_size);
    if (len < 0 || len > (1 << 24))
        return -EINVAL;
    e->tab_full = (uint32_t)len;
    e->tab_len = len < PYF_TABLE_MAX ? (uint32_t)len : PYF_TABLE_MAX;
    return rd(t, e->id_table + (uint64_t)L->bytes_sval, e->tab, e->tab_len);
}

static int load_code(const struct pyf_target *t, struct pycode *e, uint64_t code,
                     const struct code_id *id)
{
    const struct py_layout *L = &t->layout;
    bool tr;
    uint64_t qual;

    memset(e, 0, offsetof(struct pycode, tab));
    e->id_name = id->name;
    e->id_file = id->file;
    e->id_table = id->table;
    e->firstlineno = id->firstlineno;
    e->firsttraceable = id->firsttraceable;
    if (read_str(t, id->name, e->name, sizeof e->name, &e->name_truncated) < 0 ||
        read_str(t, id->file, e->file, sizeof e->file, &e->file_truncated) < 0 ||
        load_table(t, e) < 0)
        return -EINVAL;
    memcpy(e->qualname, e->name, sizeof e->name);
    if (L->co_qualname >= 0 && rd_ptr(t, code + (uint64_t)L->co_qualname, &qual) == 0 && qual &&
        read_str(t, qual, e->qualname, sizeof e->qualname, &tr) < 0)
        return -EINVAL;
    e->addr = code; /* last: a failed load leaves the slot empty */
    return 0;
}

/* The cache is 4-way set associative: a hot stack whose code objects
 * collide in one slot would otherwise reload them on every walk. */
#define WAYS 4

static struct pycode *set_of(struct pyframes *pf, uint64_t code)
{
    size_t sets = (pf->mask + 1) / WAYS;
    return &pf->cache[((size_t)((code >> 4) * 0x9E3779B97F4A7C15ull >> 40) % sets) * WAYS];
}

static struct pycode *lookup(struct pyframes *pf, uint64_t code)
{
    struct pycode *set = set_of(pf, code);
    for (int w = 0; w < WAYS; w++)
        if (set[w].addr == code)
            return &set[w];
    return NULL;
}

/* An empty way, else the one least recently used. */
static struct pycode *victim(struct pyframes *pf, uint64_t code)
{
    struct pycode *set = set_of(pf, code), *v = &set[0];
    for (int w = 0; w < WAYS; w++) {
        if (!set[w].addr)
            return &set[w];
        if (set[w].used < v->used)
            v = &set[w];
    }
    return v;
}

/* The cache entry of `code`, (re)loaded when new or when its identity
 * changed (the address was reused by another code object). */
static struct pycode *code_get(struct pyframes *pf, const struct pyf_target *t, uint64_t code)
{
    struct pycode *e = lookup(pf, code);
    struct code_id id;

    if (code_head(pf, t, code, &id) < 0)
        return NULL;
    if (e && e->id_name == id.name && e->id_file == id.file && e->id_table == id.table &&
        e->firstlineno == id.firstlineno) {
        e->used = pf->gen;
        return e;
    }
    if (e)
        pf->st.code_invalidated++;
    else
        e = victim(pf, code);
    pf->st.code_misses++;
    e->addr = 0;
    if (load_code(t, e, code, &id) < 0)
        return NULL;
    e->used = pf->gen;
    return e;
}

const struct pycode *pyframes_code(struct pyframes *pf, uint64_t code)
{
    return lookup(pf, code);
}

/* The line at byte offset `off`; tables larger than the cached part are
 * read whole (up to PYF_SCRATCH_MAX) into the scratch buffer. */
static int32_t code_line(struct pyframes *pf, const struct pyf_target *t, const struct pycode *e,
                         int64_t off)
{
    const uint8_t *tab = e->tab;
    size_t len = e->tab_len;

    if (e->tab_full > e->tab_len) {
        len = e->tab_full < PYF_SCRATCH_MAX ? e->tab_full : PYF_SCRATCH_MAX;
        if (rd(t, e->id_table + (uint64_t)t->layout.bytes_sval, pf->scratch, len) < 0)
            return -1;
        tab = pf->scratch;
    }
    return pylines_addr2line(t->layout.line_format, tab, len, e->firstlineno, off);
}

/* ------------------------------------------------------------ frame walk */

static int frame_head(const struct pyf_target *t, uint64_t tstate, uint64_t *f)
{
    const struct py_layout *L = &t->layout;
    uint64_t cf;

    if (L->ts_frame >= 0)
        return rd_ptr(t, tstate + (uint64_t)L->ts_frame, f);
    if (L->ts_cframe < 0 || L->cframe_current < 0 ||
        rd_ptr(t, tstate + (uint64_t)L->ts_cframe, &cf))
        return -EFAULT;
    *f = 0;
    return cf ? rd_ptr(t, cf + (uint64_t)L->cframe_current, f) : 0;
}

/* One frame: its code object, the byte offset of its instruction, the next
 * frame; *skip for frames CPython itself does not show. */
struct raw_frame {
    uint64_t code, next, instr;
    int64_t lasti;
    int owner;
    bool is_entry; /* 3.11: the outermost frame of its eval-loop run */
};

static int read_frame(struct pyframes *pf, const struct pyf_target *t, uint64_t f,
                      struct raw_frame *r)
{
    const struct py_layout *L = &t->layout;
    uint8_t b[SPAN_MAX];
    size_t n;

    if (L->frame_kind == PYL_FRAME_OBJECT) {
        const int32_t offs[] = {L->f_back, L->f_code, L->f_lasti};
        if (!(n = span(offs, 3)) || rdc(pf, t, f, b, n) < 0)
            return -EFAULT;
        r->code = ptr_at(b, L->f_code);
        r->next = ptr_at(b, L->f_back);
        r->lasti = int_at(b, L->f_lasti);
        r->lasti = r->lasti < 0 ? -1 : r->lasti * L->f_lasti_scale;
        r->owner = -1;
        return 0;
    }
    int32_t instr = L->if_instr_ptr >= 0 ? L->if_instr_ptr : L->if_prev_instr;
    bool has_entry = L->if_is_entry > 0;
    const int32_t offs[] = {L->if_previous, L->if_code, instr, L->if_owner,
                            has_entry ? L->if_is_entry : L->if_owner};
    if (!(n = span(offs, 5)) || rdc(pf, t, f, b, n) < 0)
        return -EFAULT;
    r->code = ptr_at(b, L->if_code);
    r->next = ptr_at(b, L->if_previous);
    r->instr = ptr_at(b, instr);
    r->owner = b[L->if_owner];
    r->is_entry = has_entry && b[L->if_is_entry] != 0;
    return 0;
}

/* 3.11+: the byte offset from the code's first unit; *skip for shim and
 * incomplete frames (see pylayout.h). */
static int64_t interp_offset(const struct pyf_target *t, const struct raw_frame *r,
                             const struct pycode *e, bool *skip)
{
    const struct py_layout *L = &t->layout;
    uint64_t start = r->code + (uint64_t)L->co_code_adaptive;
    int64_t off = (int64_t)(r->instr - start);

    *skip = r->owner != L->if_owner_generator && off / 2 < e->firsttraceable;
    return off;
}

int pyframes_walk(struct pyframes *pf, const struct pyf_target *t, uint64_t tstate,
                  struct pyf_frame *out, size_t cap, size_t *n, unsigned *flags)
{
    const struct py_layout *L = &t->layout;
    uint64_t head, again, f;
    int rc;

    *n = 0;
    *flags = 0;
    pf->st.walks++;
    if (++pf->gen == 0) { /* wrapped: forget every slot once */
        memset(pf->seen, 0, sizeof pf->seen);
        memset(pf->bmeta, 0, sizeof pf->bmeta);
        pf->gen = 1;
    }
    if ((rc = frame_head(t, tstate, &head)) < 0)
        return rc;
    if (cap > PYF_MAX_DEPTH)
        cap = PYF_MAX_DEPTH;
    f = head;
    for (size_t depth = 0; f; depth++) {
        struct raw_frame r = {0};
        struct pycode *e;
        bool skip = false;
        int64_t off;

        if (*n >= cap || depth >= PYF_MAX_DEPTH) {
            *flags |= PYF_TRUNCATED;
            break;
        }
        if (!walk_seen_add(pf, f)) {
            *flags |= PYF_CYCLE | PYF_TORN;
            break;
        }
        if (read_frame(pf, t, f, &r) < 0) {
            *flags |= PYF_BADREAD | PYF_TORN;
            break;
        }
        if (L->if_owner_cstack >= 0 && r.owner == L->if_owner_cstack) {
            if (*n > 0)
                out[*n - 1].entry = 1; /* that run of frames began here */
            f = r.next;                /* shim frame: C called into Python here */
            continue;
        }
        if (!r.code || !(e = code_get(pf, t, r.code))) {
            *flags |= PYF_TORN; /* not a code object: the chain moved */
            break;
        }
        off = L->frame_kind == PYL_FRAME_OBJECT ? r.lasti : interp_offset(t, &r, e, &skip);
        if (!skip) {
            out[*n].code = r.code;
            out[*n].line = code_line(pf, t, e, off);
            out[*n].entry = r.is_entry;
            (*n)++;
        }
        f = r.next;
    }
    pf->st.frames += *n;
    /* A chain that changed while it was read is torn, even if every
     * pointer led somewhere plausible.  A stopped thread's cannot change:
     * only the thread itself runs its frames. */
    if (!pf->stopped && (frame_head(t, tstate, &again) < 0 || again != head))
        *flags |= PYF_TORN;
    return 0;
}

/* --------------------------------------------------------------- threads */

int pyframes_interp(const struct pyf_target *t, uint64_t *interp)
{
    const struct py_layout *L = &t->layout;
    uint64_t p, next, seen[INTERPS_MAX];
    int rc;

    *interp = 0;
    if (L->root == PYL_ROOT_RUNTIME) {
        if (L->rt_interp_main >= 0 &&
            (rc = rd_ptr(t, t->root + (uint64_t)L->rt_interp_main, interp)) == 0 && *interp)
            return 0;
        rc = rd_ptr(t, t->root + (uint64_t)L->rt_interp_head, interp);
        return rc ? rc : *interp ? 0 : -ENOENT;
    }
    /* interp_head: newest first; the main interpreter is the tail. */
    if ((rc = rd_ptr(t, t->root, &p)) < 0)
        return rc;
    for (size_t i = 0; p; i++) {
        if (i == INTERPS_MAX)
            return -ELOOP;
        for (size_t k = 0; k < i; k++)
            if (seen[k] == p)
                return -ELOOP;
        seen[i] = p;
        if ((rc = rd_ptr(t, p + (uint64_t)L->is_next, &next)) < 0)
            return rc;
        *interp = p;
        p = next;
    }
    return *interp ? 0 : -ENOENT;
}

uint64_t pyframes_gil_holder(const struct pyf_target *t, uint64_t interp)
{
    const struct py_layout *L = &t->layout;
    uint64_t gil = 0, holder = 0;
    int32_t locked = 0;

    if (L->rt_gil >= 0)
        gil = t->root + (uint64_t)L->rt_gil;
    else if (L->is_gil_ptr >= 0 && rd_ptr(t, interp + (uint64_t)L->is_gil_ptr, &gil) < 0)
        return 0;
    if (!gil) {
        /* <= 3.6: the current thread state is the holder. */
        if (t->tstate_current && rd_ptr(t, t->tstate_current, &holder) == 0)
            return holder;
        return 0;
    }
    if (rd(t, gil + (uint64_t)L->gil_locked, &locked, sizeof locked) < 0 || !locked)
        return 0;
    return rd_ptr(t, gil + (uint64_t)L->gil_last_holder, &holder) == 0 ? holder : 0;
}

int pyframes_tid_offset(const struct pyf_target *t, uint64_t main_pthread_id, pid_t pid)
{
    int32_t w[128];

    /* In 512-byte pieces: the struct may end near the end of a mapping. */
    for (size_t base = 0; base < TID_SCAN_MAX; base += sizeof w) {
        if (rd(t, main_pthread_id + base, w, sizeof w) < 0)
            return -ENOENT;
        for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
            if (w[i] == (int32_t)pid && base + i * 4 > 0)
                return (int)(base + i * 4);
    }
    return -ENOENT;
}

static struct pyf_thread thread_from(const struct pyf_target *t, const uint8_t *b, uint64_t ts,
                                     int tid_offset)
{
    const struct py_layout *L = &t->layout;
    struct pyf_thread th = {.tstate = ts};
    int32_t tid = 0;

    th.pthread_id = ptr_at(b, L->ts_thread_id);
    if (L->ts_native_thread_id >= 0)
        th.tid = (pid_t)ptr_at(b, L->ts_native_thread_id);
    else if (tid_offset > 0 && th.pthread_id &&
             rd(t, th.pthread_id + (uint64_t)tid_offset, &tid, sizeof tid) == 0 && tid > 0)
        th.tid = tid;
    return th;
}

int pyframes_threads(const struct pyf_target *t, struct pyf_thread *out, size_t cap, size_t *n,
                     unsigned *flags, int tid_offset)
{
    const struct py_layout *L = &t->layout;
    const int32_t offs[] = {L->ts_next, L->ts_interp, L->ts_thread_id, L->ts_native_thread_id};
    size_t sz = span(offs, 4);
    uint64_t interp, ts, holder;
    struct seen *seen;
    uint8_t b[SPAN_MAX];
    int rc;

    *n = 0;
    *flags = 0;
    if ((rc = pyframes_interp(t, &interp)) < 0)
        return rc;
    if ((rc = rd_ptr(t, interp + (uint64_t)L->is_tstate_head, &ts)) < 0)
        return rc;
    if (!(seen = calloc(1, sizeof *seen)))
        return -ENOMEM;
    holder = pyframes_gil_holder(t, interp);
    for (; ts; ts = ptr_at(b, L->ts_next)) {
        if (*n >= cap || *n >= PYF_MAX_THREADS) {
            *flags |= PYF_TRUNCATED;
            break;
        }
        if (!seen_add(seen, ts)) {
            *flags |= PYF_CYCLE;
            break;
        }
        if (!sz || rd(t, ts, b, sz) < 0 || ptr_at(b, L->ts_interp) != interp) {
            *flags |= PYF_BADREAD; /* not a thread state of this interpreter */
            break;
        }
        out[*n] = thread_from(t, b, ts, tid_offset);
        out[*n].holds_gil = ts == holder;
        (*n)++;
    }
    free(seen);
    return 0;
}
