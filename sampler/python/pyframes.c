/*
 * pyframes.c - thread states and frame chains of a CPython target, read
 * through a bounded remote reader; code objects cached by address.
 */
#include "sampler/python/pyframes.h"
#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "sampler/proc/remote.h"
#include "sampler/python/pylines.h"

#define SPAN_MAX      512                     /* largest struct prefix read in one go */
#define SEEN_SLOTS    2048                    /* cycle guard: > PYF_MAX_DEPTH, power of two */
#define INTERPS_MAX   256                     /* interpreters followed to find the list tail */
#define TID_SCAN_MAX  4096                    /* bytes of struct pthread searched for the tid */
#define PAGE_SIZE_T   4096u                   /* target pages: mapped whole or not at all */
#define BLOCK         16384u                  /* unit of the per-walk read cache */
#define BLOCKS        32u                     /* cache slots (512 KiB, fixed) */
#define PYF_IOV_MAX   1024                    /* pieces per process_vm_readv (IOV_MAX) */
#define PYF_IOV_TOTAL (2 * PYF_MAX_DEPTH + 2) /* code heads, chain head, frames */
#define RECHECK_MAX   (128u * 1024u)          /* frames re-read per walk, bytes */
#define MERGE_GAP     1024u                   /* frames this close are re-read as one piece */
#define NO_CHK        UINT32_MAX
#define HINTS         64u /* thread states whose last chain head is remembered */
#define PRE_MAX       64u /* <= 3.10: frames of the last walk read again on a guess */

struct range {
    uint64_t lo, hi;
    uint32_t off;
};
/* One frame as first read: its code object, the byte offset of its
 * instruction, the next frame, and where its re-read copy lands. */
struct raw_frame {
    uint64_t addr, code, next, instr;
    int64_t lasti;
    int owner;
    bool is_entry; /* 3.11: the outermost frame of its eval-loop run */
    uint32_t head; /* index of its code object's head in the batch */
    uint32_t chk;  /* offset of its re-read copy in pf->rbuf, or NO_CHK */
};

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
    /* One walk's snapshot: frames as first read, the distinct code
     * objects (slot of each in cseen, by gen) and the batched read. */
    struct raw_frame *raw; /* [PYF_MAX_DEPTH] */
    struct {
        uint64_t addr;
        uint32_t gen, idx;
    } cseen[SEEN_SLOTS];
    uint64_t *head_addr; /* [PYF_MAX_DEPTH] */
    size_t nheads;
    uint8_t *hbuf;     /* [PYF_MAX_DEPTH][SPAN_MAX]: code heads */
    uint8_t *rbuf;     /* [RECHECK_MAX]: frames read again */
    struct range *rng; /* [PYF_IOV_TOTAL] */
    struct pyiov *iov; /* [PYF_IOV_TOTAL] */
    bool *ok;          /* [PYF_IOV_TOTAL] */
    /* Per thread state, where its chain head was last time: the cframe
     * (3.11, 3.12) and the block of the innermost frame, read on a guess
     * in the same call as the thread state's own field. */
    struct head_hint {
        uint64_t tstate, cframe;
        struct blk {       /* innermost frame's block, then one more: the */
            uint64_t base; /* part [lo, hi) that was mapped last time */
            uint32_t lo, hi;
        } blk[2];
        uint64_t frames[PRE_MAX]; /* <= 3.10: the last walk's frame objects */
        uint32_t nframes;
    } hint[HINTS];
    /* this walk's guessed frame objects, read with the chain head */
    uint8_t (*pre)[SPAN_MAX]; /* [PRE_MAX] */
    uint64_t pre_addr[PRE_MAX];
    bool pre_ok[PRE_MAX];
    size_t npre;
    uint64_t filled; /* the last block collect() had to read */
};

int pyread_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
    return remote_read(*(const pid_t *)ctx, addr, buf, len);
}

int pyread_pid_v(void *ctx, const struct pyiov *v, size_t n)
{
    pid_t pid = *(const pid_t *)ctx;
    struct iovec local[PYF_IOV_MAX], remote[PYF_IOV_MAX];
    ssize_t got;
    int whole = 0;

    if (n == 0)
        return 0;
    if (n > PYF_IOV_MAX)
        n = PYF_IOV_MAX;
    for (size_t i = 0; i < n; i++) {
        local[i] = (struct iovec){v[i].buf, v[i].len};
        remote[i] = (struct iovec){(void *)(uintptr_t)v[i].addr, v[i].len};
    }
    got = process_vm_readv(pid, local, n, remote, n, 0);
    if (got < 0)
        return errno == EFAULT ? 0 : -errno; /* EFAULT: the first piece failed */
    for (size_t i = 0; i < n && (size_t)got >= v[i].len; i++, whole++)
        got -= (ssize_t)v[i].len;
    return whole;
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
    pf->raw = malloc(PYF_MAX_DEPTH * sizeof *pf->raw);
    pf->head_addr = malloc(PYF_MAX_DEPTH * sizeof *pf->head_addr);
    pf->hbuf = malloc((size_t)PYF_MAX_DEPTH * SPAN_MAX);
    pf->rbuf = malloc(RECHECK_MAX);
    pf->rng = malloc(PYF_IOV_TOTAL * sizeof *pf->rng);
    pf->iov = malloc(PYF_IOV_TOTAL * sizeof *pf->iov);
    pf->ok = malloc(PYF_IOV_TOTAL * sizeof *pf->ok);
    pf->pre = malloc(PRE_MAX * sizeof *pf->pre);
    if (!pf->pre || !pf->cache || !pf->scratch || !pf->blocks || !pf->raw || !pf->head_addr ||
        !pf->hbuf || !pf->rbuf || !pf->rng || !pf->iov || !pf->ok) {
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
    free(pf->raw);
    free(pf->head_addr);
    free(pf->hbuf);
    free(pf->rbuf);
    free(pf->rng);
    free(pf->iov);
    free(pf->ok);
    free(pf->pre);
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

int pyf_read(const struct pyf_target *t, uint64_t addr, void *buf, size_t len)
{
    int rc = remote_check(addr, len);
    return rc < 0 ? rc : t->mem.read(t->mem.ctx, addr, buf, len);
}

int pyf_read_ptr(const struct pyf_target *t, uint64_t addr, uint64_t *v)
{
    int rc = pyf_read(t, addr, v, sizeof *v);
    if (rc < 0)
        *v = 0; /* a fake or a short read may have written part of it */
    return rc;
}

/* Fills slot i with the block at base, or only the page holding addr
 * when the block is not mapped whole. */
static int fill_block(struct pyframes *pf, const struct pyf_target *t, size_t i, uint64_t base,
                      uint64_t addr)
{
    uint32_t lo = 0, hi = BLOCK;

    pf->st.reads++;
    if (pyf_read(t, base, pf->blocks[i], BLOCK) < 0) {
        lo = (uint32_t)((addr - base) & ~(uint64_t)(PAGE_SIZE_T - 1));
        hi = lo + PAGE_SIZE_T;
        pf->st.reads++;
        if (pyf_read(t, base + lo, pf->blocks[i] + lo, PAGE_SIZE_T) < 0)
            return -EFAULT;
    }
    pf->bmeta[i].base = base;
    pf->bmeta[i].gen = pf->gen;
    pf->bmeta[i].lo = lo;
    pf->bmeta[i].hi = hi;
    pf->filled = base;
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
        return pyf_read(t, addr, buf, len);
    }
    if ((pf->bmeta[i].gen != pf->gen || pf->bmeta[i].base != base) &&
        fill_block(pf, t, i, base, addr) < 0)
        return -EFAULT;
    if (off < pf->bmeta[i].lo || off + len > pf->bmeta[i].hi) {
        pf->st.reads++;
        return pyf_read(t, addr, buf, len);
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
    size_t h = (size_t)hash_fib64(a >> 3) & (SEEN_SLOTS - 1);
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
    size_t h = (size_t)hash_fib64(a >> 3) & (SEEN_SLOTS - 1);
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
    if (hsize == 0 || hsize > SPAN_MAX || pyf_read(t, obj, hdr, hsize) < 0)
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
    if (want && pyf_read(t, data_at, data, want * kind) < 0)
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

int pyframes_str(const struct pyf_target *t, uint64_t obj, char *out, size_t cap, bool *truncated)
{
    if (cap < 8) /* room for "..." and a character */
        return -EINVAL;
    return read_str(t, obj, out, cap, truncated);
}

/* ------------------------------------------------------------- code cache */

struct code_id {
    uint64_t name, file, table;
    int32_t firstlineno, firsttraceable;
};

/* The bytes of a code object's head that say what it is. */
static size_t code_span(const struct py_layout *L)
{
    const int32_t offs[] = {L->co_name,        L->co_filename,       L->co_linetable,
                            L->co_firstlineno, L->co_firsttraceable, L->co_qualname,
                            L->ob_type};
    return span(offs, sizeof offs / sizeof offs[0]);
}

/* The identity fields of a code object's head (b, code_span bytes), and a
 * check that it is a code object at all when PyCode_Type is known. */
static int code_head(const struct pyf_target *t, const uint8_t *b, struct code_id *id)
{
    const struct py_layout *L = &t->layout;

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

    if ((size_t)L->bytes_sval > SPAN_MAX ||
        pyf_read(t, e->id_table, hdr, (size_t)L->bytes_sval) < 0)
        return -EFAULT;
    len = (int64_t)ptr_at(hdr, L->bytes_size);
    if (len < 0 || len > (1 << 24))
        return -EINVAL;
    e->tab_full = (uint32_t)len;
    e->tab_len = len < PYF_TABLE_MAX ? (uint32_t)len : PYF_TABLE_MAX;
    return pyf_read(t, e->id_table + (uint64_t)L->bytes_sval, e->tab, e->tab_len);
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
    if (L->co_qualname >= 0 && pyf_read_ptr(t, code + (uint64_t)L->co_qualname, &qual) == 0 &&
        qual && read_str(t, qual, e->qualname, sizeof e->qualname, &tr) < 0)
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
    return &pf->cache[((size_t)(hash_fib64(code >> 4) >> 40) % sets) * WAYS];
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

/* The cache entry of `code` whose head was read into b, (re)loaded when
 * new or when its identity changed (the address was reused by another
 * code object). */
static struct pycode *code_get(struct pyframes *pf, const struct pyf_target *t, uint64_t code,
                               const uint8_t *b)
{
    struct pycode *e = lookup(pf, code);
    struct code_id id;

    if (code_head(t, b, &id) < 0)
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
        if (pyf_read(t, e->id_table + (uint64_t)t->layout.bytes_sval, pf->scratch, len) < 0)
            return -1;
        tab = pf->scratch;
    }
    return pylines_addr2line(t->layout.line_format, tab, len, e->firstlineno, off);
}

/* ------------------------------------------------------------ frame walk */

/* Where the chain head was read: re-read at the end to validate. */
struct head_at {
    uint64_t slot[2], val[2]; /* tstate's field; 3.11/3.12: then the cframe's */
    int n;
};

/* The bytes of a frame the walker looks at. */
static size_t frame_span(const struct py_layout *L)
{
    if (L->frame_kind == PYL_FRAME_OBJECT) {
        const int32_t offs[] = {L->f_back, L->f_code, L->f_lasti};
        return span(offs, 3);
    }
    int32_t instr = L->if_instr_ptr >= 0 ? L->if_instr_ptr : L->if_prev_instr;
    const int32_t offs[] = {L->if_previous, L->if_code, instr, L->if_owner,
                            L->if_is_entry > 0 ? L->if_is_entry : L->if_owner};
    return span(offs, 5);
}

static void parse_frame(const struct py_layout *L, const uint8_t *b, struct raw_frame *r)
{
    if (L->frame_kind == PYL_FRAME_OBJECT) {
        r->code = ptr_at(b, L->f_code);
        r->next = ptr_at(b, L->f_back);
        r->lasti = int_at(b, L->f_lasti);
        r->lasti = r->lasti < 0 ? -1 : r->lasti * L->f_lasti_scale;
        r->owner = -1;
        return;
    }
    r->code = ptr_at(b, L->if_code);
    r->next = ptr_at(b, L->if_previous);
    r->instr = ptr_at(b, L->if_instr_ptr >= 0 ? L->if_instr_ptr : L->if_prev_instr);
    r->owner = b[L->if_owner];
    r->is_entry = L->if_is_entry > 0 && b[L->if_is_entry] != 0;
}

static bool is_shim(const struct py_layout *L, const struct raw_frame *r)
{
    return L->if_owner_cstack >= 0 && r->owner == L->if_owner_cstack;
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

/* Phase 1: follow the chain from head through the block cache into
 * pf->raw, up to cap frames that are not shims. */
static size_t collect(struct pyframes *pf, const struct pyf_target *t, uint64_t head, size_t cap,
                      unsigned *flags)
{
    const struct py_layout *L = &t->layout;
    size_t fs = frame_span(L), nraw = 0, shown = 0;
    uint8_t b[SPAN_MAX];

    for (uint64_t f = head; f;) {
        struct raw_frame *r = &pf->raw[nraw];
        if (shown >= cap || nraw >= PYF_MAX_DEPTH) {
            *flags |= PYF_TRUNCATED;
            break;
        }
        if (!walk_seen_add(pf, f)) {
            *flags |= PYF_CYCLE | PYF_TORN;
            break;
        }
        if (nraw < pf->npre && pf->pre_ok[nraw] && pf->pre_addr[nraw] == f) {
            memcpy(b, pf->pre[nraw], fs); /* where the last walk found it */
        } else if (!fs || rdc(pf, t, f, b, fs) < 0) {
            *flags |= PYF_BADREAD | PYF_TORN;
            break;
        }
        memset(r, 0, sizeof *r);
        r->addr = f;
        parse_frame(L, b, r);
        r->chk = NO_CHK;
        shown += !is_shim(L, r);
        nraw++;
        f = r->next;
    }
    return nraw;
}

/* Index of code object `code` among this walk's heads, added if new. */
static uint32_t head_index(struct pyframes *pf, uint64_t code)
{
    size_t h = (size_t)hash_fib64(code >> 3) & (SEEN_SLOTS - 1);
    for (size_t i = 0; i < SEEN_SLOTS; i++, h = (h + 1) & (SEEN_SLOTS - 1)) {
        if (pf->cseen[h].gen != pf->gen) {
            pf->cseen[h].gen = pf->gen;
            pf->cseen[h].addr = code;
            pf->cseen[h].idx = (uint32_t)pf->nheads;
            pf->head_addr[pf->nheads++] = code;
            return pf->cseen[h].idx;
        }
        if (pf->cseen[h].addr == code)
            return pf->cseen[h].idx;
    }
    return 0; /* cannot happen: more slots than frames */
}

unsigned pyframes_read_batch(const struct pyf_target *t, const struct pyiov *v, size_t n, bool *ok)
{
    size_t i = 0;
    unsigned calls = 0;
    while (i < n) {
        size_t chunk = n - i < PYF_IOV_MAX ? n - i : PYF_IOV_MAX;
        int got;
        calls++;
        if (t->mem.readv) {
            got = t->mem.readv(t->mem.ctx, v + i, chunk);
        } else {
            got = 0;
            while ((size_t)got < chunk &&
                   pyf_read(t, v[i + got].addr, v[i + got].buf, v[i + got].len) == 0)
                got++;
        }
        if (got < 0)
            got = 0;
        for (int k = 0; k < got; k++)
            ok[i + k] = true;
        i += (size_t)got;
        if (i < n && (size_t)got < chunk)
            ok[i++] = false; /* the piece that stopped the batch */
    }
    return calls;
}

static void batch_read(struct pyframes *pf, const struct pyf_target *t, const struct pyiov *v,
                       size_t n, bool *ok)
{
    pf->st.reads += pyframes_read_batch(t, v, n, ok);
}

/* Lays out the re-read of the frames: frames within MERGE_GAP of each
 * other share one piece (3.11+ frames sit together in the data stack).
 * Appends pieces to pf->iov from *niov; false when they do not fit. */
static bool plan_recheck(struct pyframes *pf, const struct pyf_target *t, size_t nraw, size_t *niov)
{
    size_t fs = frame_span(&t->layout), used = 0, first = *niov;
    uint64_t lo = 0, hi = 0;

    for (size_t i = 0; i < nraw; i++) {
        uint64_t a = pf->raw[i].addr;
        if (i > 0 && a + fs + MERGE_GAP >= lo && a <= hi + MERGE_GAP) {
            lo = a < lo ? a : lo;
            hi = a + fs > hi ? a + fs : hi;
        } else {
            if (i > 0)
                pf->rng[*niov - first - 1].hi = hi;
            if (*niov >= PYF_IOV_TOTAL)
                return false;
            lo = a, hi = a + fs;
            pf->rng[*niov - first].lo = lo;
            (*niov)++;
        }
        pf->rng[*niov - first - 1].lo = lo;
        pf->raw[i].chk = (uint32_t)(*niov - first - 1); /* range index for now */
    }
    if (nraw)
        pf->rng[*niov - first - 1].hi = hi;
    for (size_t r = 0; r < *niov - first; r++) {
        size_t len = (size_t)(pf->rng[r].hi - pf->rng[r].lo);
        if (used + len > RECHECK_MAX)
            return false;
        pf->iov[first + r] = (struct pyiov){pf->rng[r].lo, pf->rbuf + used, len};
        pf->rng[r].off = (uint32_t)used;
        used += len;
    }
    for (size_t i = 0; i < nraw; i++) {
        const struct range *g = &pf->rng[pf->raw[i].chk];
        pf->raw[i].chk = g->off + (uint32_t)(pf->raw[i].addr - g->lo);
    }
    return true;
}

/* Did frame r (at depth i of the chain) change since it was read?  The
 * innermost frame's instruction may: it is the running one. */
static bool frame_moved(const struct pyf_target *t, const uint8_t *now, const struct raw_frame *r,
                        size_t i)
{
    struct raw_frame c = {0};
    parse_frame(&t->layout, now, &c);
    if (c.code != r->code || c.next != r->next || c.owner != r->owner)
        return true;
    return i > 0 && (c.instr != r->instr || c.lasti != r->lasti);
}

/* Phase 2: one batched read of the code heads and, unless the thread is
 * stopped, of the chain head and the frames again.  false: torn. */
static bool read_heads(struct pyframes *pf, const struct pyf_target *t, size_t nraw,
                       const struct head_at *h)
{
    size_t hs = code_span(&t->layout), niov = 0, nheads;
    uint64_t again[2] = {0, 0};
    bool recheck = !pf->stopped, planned;

    pf->nheads = 0;
    for (size_t i = 0; i < nraw; i++)
        if (!is_shim(&t->layout, &pf->raw[i]) && pf->raw[i].code)
            pf->raw[i].head = head_index(pf, pf->raw[i].code);
    nheads = pf->nheads;
    for (size_t k = 0; k < nheads; k++)
        pf->iov[niov++] = (struct pyiov){pf->head_addr[k], pf->hbuf + k * SPAN_MAX, hs};
    if (recheck) {
        for (int k = 0; k < h->n; k++)
            pf->iov[niov++] = (struct pyiov){h->slot[k], &again[k], 8};
        planned = plan_recheck(pf, t, nraw, &niov);
        if (!planned)
            return false; /* too large to re-read: cannot vouch for it */
    }
    batch_read(pf, t, pf->iov, niov, pf->ok);
    if (!recheck)
        return true;
    for (int k = 0; k < h->n; k++)
        if (!pf->ok[nheads + k] || again[k] != h->val[k])
            return false;
    for (size_t i = nheads + (size_t)h->n; i < niov; i++)
        if (!pf->ok[i])
            return false;
    for (size_t i = 0; i < nraw; i++)
        if (frame_moved(t, pf->rbuf + pf->raw[i].chk, &pf->raw[i], i))
            return false;
    return true;
}

/* Phase 3: frames with names and lines into out. */
static void emit(struct pyframes *pf, const struct pyf_target *t, size_t nraw,
                 struct pyf_frame *out, size_t *n, unsigned *flags)
{
    const struct py_layout *L = &t->layout;

    for (size_t i = 0; i < nraw; i++) {
        const struct raw_frame *r = &pf->raw[i];
        struct pycode *e = NULL;
        bool skip = false;
        int64_t off;

        if (is_shim(L, r)) {
            if (*n > 0)
                out[*n - 1].entry = 1; /* that run of frames began here */
            continue;
        }
        if (r->code && pf->ok[r->head])
            e = code_get(pf, t, r->code, pf->hbuf + r->head * SPAN_MAX);
        if (!e) {
            *flags |= PYF_TORN; /* not a code object: the chain moved */
            return;
        }
        off = L->frame_kind == PYL_FRAME_OBJECT ? r->lasti : interp_offset(t, r, e, &skip);
        if (!skip) {
            out[*n].code = r->code;
            out[*n].line = code_line(pf, t, e, off);
            out[*n].entry = r->is_entry;
            (*n)++;
        }
    }
}

static void next_gen(struct pyframes *pf)
{
    if (++pf->gen == 0) { /* wrapped: forget every slot once */
        memset(pf->seen, 0, sizeof pf->seen);
        memset(pf->cseen, 0, sizeof pf->cseen);
        memset(pf->bmeta, 0, sizeof pf->bmeta);
        pf->gen = 1;
    }
}

/* What to read on a guess next time: <= 3.10 the frame objects of this
 * walk; 3.11+ the parts of the blocks it read, the head's and the last
 * other one the chain needed. */
static void remember_blocks(struct pyframes *pf, const struct pyf_target *t, struct head_hint *hi,
                            uint64_t head, size_t nraw)
{
    uint64_t base = head & ~(uint64_t)(BLOCK - 1);
    size_t i = (size_t)(base / BLOCK) % BLOCKS;

    if (t->layout.frame_kind == PYL_FRAME_OBJECT) { /* the frames themselves */
        hi->nframes = (uint32_t)(nraw < PRE_MAX ? nraw : PRE_MAX);
        for (size_t k = 0; k < hi->nframes; k++)
            hi->frames[k] = pf->raw[k].addr;
        return;
    }

    memset(&hi->blk[0], 0, sizeof hi->blk[0]);
    if (head && pf->bmeta[i].gen == pf->gen && pf->bmeta[i].base == base)
        hi->blk[0] = (struct blk){base, pf->bmeta[i].lo, pf->bmeta[i].hi};
    if (!pf->filled || pf->filled == base)
        return;
    i = (size_t)(pf->filled / BLOCK) % BLOCKS;
    if (pf->bmeta[i].gen == pf->gen && pf->bmeta[i].base == pf->filled)
        hi->blk[1] = (struct blk){pf->filled, pf->bmeta[i].lo, pf->bmeta[i].hi};
}

/* The chain head, in one target read when the thread is where it was
 * last time: the thread state's field, the cframe's (3.11, 3.12) and the
 * block of the last innermost frame are read together, the last two on a
 * guess; a wrong guess costs the reads frame_head would have made. */
static int frame_head_fast(struct pyframes *pf, const struct pyf_target *t, uint64_t tstate,
                           uint64_t *head, struct head_at *h)
{
    const struct py_layout *L = &t->layout;
    bool cf = L->ts_frame < 0;
    int32_t field = cf ? L->ts_cframe : L->ts_frame;
    struct head_hint *hi = &pf->hint[(tstate >> 4) % HINTS];
    uint64_t first = 0, cur = 0;
    size_t nv = 0, bi[2] = {0, 0}, at[2] = {0, 0}, pre_at;
    struct pyiov v[3 + PRE_MAX];
    bool ok[3 + PRE_MAX];

    if (field < 0 || (cf && L->cframe_current < 0))
        return -EFAULT;
    if (hi->tstate != tstate)
        memset(hi, 0, sizeof *hi), hi->tstate = tstate;
    v[nv++] = (struct pyiov){tstate + (uint64_t)field, &first, 8};
    if (cf && hi->cframe)
        v[nv++] = (struct pyiov){hi->cframe + (uint64_t)L->cframe_current, &cur, 8};
    for (int k = 0; k < 2; k++) {
        const struct blk *g = &hi->blk[k];
        bi[k] = (size_t)(g->base / BLOCK) % BLOCKS;
        if (g->base && g->lo < g->hi && g->hi <= BLOCK && (k == 0 || bi[1] != bi[0])) {
            at[k] = nv;
            v[nv++] = (struct pyiov){g->base + g->lo, pf->blocks[bi[k]] + g->lo, g->hi - g->lo};
        }
    }
    /* <= 3.10: frame objects are scattered over the heap, but a running
     * thread reuses the same ones (free list, each code's zombie frame) */
    pre_at = nv;
    pf->npre = hi->nframes;
    for (size_t k = 0; k < pf->npre; k++) {
        pf->pre_addr[k] = hi->frames[k];
        v[nv++] = (struct pyiov){hi->frames[k], pf->pre[k], frame_span(L)};
    }
    batch_read(pf, t, v, nv, ok);
    if (!ok[0])
        return -EFAULT;
    for (size_t k = 0; k < pf->npre; k++)
        pf->pre_ok[k] = ok[pre_at + k];
    for (int k = 0; k < 2; k++)
        if (at[k] && ok[at[k]]) { /* the guess serves collect() if right */
            pf->bmeta[bi[k]].base = hi->blk[k].base;
            pf->bmeta[bi[k]].gen = pf->gen;
            pf->bmeta[bi[k]].lo = hi->blk[k].lo;
            pf->bmeta[bi[k]].hi = hi->blk[k].hi;
        }
    h->slot[0] = tstate + (uint64_t)field;
    h->val[0] = first;
    h->n = 1;
    *head = first;
    if (cf) {
        *head = 0;
        if (first) {
            h->slot[1] = first + (uint64_t)L->cframe_current;
            h->n = 2;
            if (first != hi->cframe || !ok[1]) {
                pf->st.reads++;
                if (pyf_read_ptr(t, h->slot[1], head) < 0)
                    return -EFAULT;
            } else {
                *head = cur;
            }
            h->val[1] = *head;
        }
    }
    hi->cframe = cf ? first : 0;

    return 0;
}

static int walk_once(struct pyframes *pf, const struct pyf_target *t, uint64_t tstate,
                     struct pyf_frame *out, size_t cap, size_t *n, unsigned *flags)
{
    struct head_at h;
    uint64_t head;
    size_t nraw;
    int rc;

    *n = 0;
    *flags = 0;
    next_gen(pf);
    if ((rc = frame_head_fast(pf, t, tstate, &head, &h)) < 0)
        return rc;
    pf->filled = 0;
    nraw = collect(pf, t, head, cap, flags);
    /* the chain went on in another block: guess it next time too */
    struct head_hint *hi = &pf->hint[(tstate >> 4) % HINTS];
    remember_blocks(pf, t, hi, head, nraw);
    if (!read_heads(pf, t, nraw, &h))
        *flags |= PYF_TORN;
    emit(pf, t, nraw, out, n, flags);
    return 0;
}

int pyframes_walk(struct pyframes *pf, const struct pyf_target *t, uint64_t tstate,
                  struct pyf_frame *out, size_t cap, size_t *n, unsigned *flags)
{
    int rc;

    pf->st.walks++;
    if (cap > PYF_MAX_DEPTH)
        cap = PYF_MAX_DEPTH;
    rc = walk_once(pf, t, tstate, out, cap, n, flags);
    /* A running thread that moved under the read is most often caught in
     * a call or a return: read again at once rather than lose the sample. */
    if (rc == 0 && (*flags & PYF_TORN) && !pf->stopped) {
        pf->st.retries++;
        rc = walk_once(pf, t, tstate, out, cap, n, flags);
    }
    if (rc == 0 && (*flags & PYF_TORN))
        pf->st.torn++;
    if (rc == 0)
        pf->st.frames += *n;
    return rc;
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
            (rc = pyf_read_ptr(t, t->root + (uint64_t)L->rt_interp_main, interp)) == 0 && *interp)
            return 0;
        rc = pyf_read_ptr(t, t->root + (uint64_t)L->rt_interp_head, interp);
        return rc ? rc : *interp ? 0 : -ENOENT;
    }
    /* interp_head: newest first; the main interpreter is the tail. */
    if ((rc = pyf_read_ptr(t, t->root, &p)) < 0)
        return rc;
    for (size_t i = 0; p; i++) {
        if (i == INTERPS_MAX)
            return -ELOOP;
        for (size_t k = 0; k < i; k++)
            if (seen[k] == p)
                return -ELOOP;
        seen[i] = p;
        if ((rc = pyf_read_ptr(t, p + (uint64_t)L->is_next, &next)) < 0)
            return rc;
        *interp = p;
        p = next;
    }
    return *interp ? 0 : -ENOENT;
}

uint64_t pyframes_gil_holder(const struct pyf_target *t, uint64_t interp)
{
    const struct py_layout *L = &t->layout;
    const int32_t offs[] = {L->gil_locked, L->gil_last_holder};
    size_t n = span(offs, 2);
    uint64_t gil = 0, holder = 0;
    uint8_t b[SPAN_MAX];

    if (L->rt_gil >= 0)
        gil = t->root + (uint64_t)L->rt_gil;
    else if (L->is_gil_ptr >= 0 && pyf_read_ptr(t, interp + (uint64_t)L->is_gil_ptr, &gil) < 0)
        return 0;
    if (!gil) {
        /* <= 3.6: the current thread state is the holder. */
        if (t->tstate_current && pyf_read_ptr(t, t->tstate_current, &holder) == 0)
            return holder;
        return 0;
    }
    /* locked and last_holder in one read: they share the struct */
    if (!n || pyf_read(t, gil, b, n) < 0 || !int_at(b, L->gil_locked))
        return 0;
    return ptr_at(b, L->gil_last_holder);
}

int pyframes_tid_offset(const struct pyf_target *t, uint64_t main_pthread_id, pid_t pid)
{
    int32_t w[128];

    /* In 512-byte pieces: the struct may end near the end of a mapping. */
    for (size_t base = 0; base < TID_SCAN_MAX; base += sizeof w) {
        if (pyf_read(t, main_pthread_id + base, w, sizeof w) < 0)
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
             pyf_read(t, th.pthread_id + (uint64_t)tid_offset, &tid, sizeof tid) == 0 && tid > 0)
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
    if ((rc = pyf_read_ptr(t, interp + (uint64_t)L->is_tstate_head, &ts)) < 0)
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
        if (!sz || pyf_read(t, ts, b, sz) < 0 || ptr_at(b, L->ts_interp) != interp) {
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
