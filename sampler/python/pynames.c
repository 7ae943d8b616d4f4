/*
 * pynames.c - thread names from threading._active (see pynames.h).
 */
#include "sampler/python/pynames.h"

#include <errno.h>
#include <string.h>

#define HDR       64  /* bytes of a key object read to compare it with a name */
#define CHUNK     128 /* dict entries read at a time */
#define ENTRY_MAX 24  /* bytes of the largest dict entry (hash, key, value) */
#define LOG2_MAX  20  /* larger dicts are not dicts we look into */

static uint64_t u64_at(const uint8_t *b, int32_t off)
{
    uint64_t v;
    memcpy(&v, b + off, 8);
    return v;
}

/* Is the key object whose first HDR bytes are h the string `want`?
 * Only compact ASCII strings (3.x) and 2.7 strs: attribute and module
 * names always are. */
static bool key_is(const struct pyf_target *t, const uint8_t *h, const char *want)
{
    const struct py_layout *L = &t->layout;
    size_t len = strlen(want);
    int32_t data;

    if (L->str_kind == PYL_STR_BYTES) {
        data = L->bytes_sval;
        if (u64_at(h, L->bytes_size) != len)
            return false;
    } else {
        uint32_t state;
        memcpy(&state, h + L->uni_state, 4);
        if (!(state & L->uni_compact_mask) || !(state & L->uni_ascii_mask) ||
            u64_at(h, L->uni_length) != len)
            return false;
        data = L->uni_ascii_size;
    }
    return data >= 0 && (size_t)data + len <= HDR && memcmp(h + data, want, len) == 0;
}

/* ------------------------------------------------------------------ dicts */

/* Where a dict's entries are and how to read them. */
struct dview {
    uint64_t entries; /* first entry */
    size_t n;         /* entries to look at */
    size_t esize;     /* bytes per entry */
    int key_off, val_off;
    uint64_t values; /* split table: value i at values + 8 i; else 0 */
};

/* A keys object (3.x), with the values array of a split table or 0. */
static int keys_view(const struct pyf_target *t, uint64_t keys, uint64_t values, struct dview *v)
{
    const struct py_layout *L = &t->layout;
    uint8_t h[128];
    int64_t nent;

    if (L->dk_indices < 0 || L->dk_indices + 8 > (int32_t)sizeof h || L->dk_nentries < 0 ||
        pyf_read(t, keys, h, (size_t)L->dk_indices))
        return -EFAULT;
    memcpy(&nent, h + L->dk_nentries, 8);
    if (L->dk_size >= 0) { /* 3.6-3.10: index width follows the size */
        int64_t size;
        memcpy(&size, h + L->dk_size, 8);
        if (size < 8 || size > (1 << LOG2_MAX) || (size & (size - 1)))
            return -EINVAL;
        size_t iw = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
        v->entries = keys + (uint64_t)L->dk_indices + (uint64_t)size * iw;
        v->esize = 24, v->key_off = 8, v->val_off = 16;
        if (nent < 0 || nent > size)
            return -EINVAL;
    } else {
        unsigned log2 = h[L->dk_log2_size], log2ib = h[L->dk_log2_index_bytes];
        if (log2 > LOG2_MAX || log2ib > LOG2_MAX + 3 || log2ib < log2 || nent < 0 ||
            nent > (1 << log2))
            return -EINVAL;
        v->entries = keys + (uint64_t)L->dk_indices + (1ull << log2ib);
        if (h[L->dk_kind] == L->dk_kind_general)
            v->esize = 24, v->key_off = 8, v->val_off = 16;
        else
            v->esize = 16, v->key_off = 0, v->val_off = 8; /* str keys: no hash */
    }
    v->n = (size_t)nent < PYN_DICT_MAX ? (size_t)nent : PYN_DICT_MAX;
    v->values = values ? values + (uint64_t)(L->dv_values > 0 ? L->dv_values : 0) : 0;
    return 0;
}

static int dict_view(const struct pyf_target *t, uint64_t dict, struct dview *v)
{
    const struct py_layout *L = &t->layout;
    uint8_t h[64];

    memset(v, 0, sizeof *v);
    if (L->dict_table >= 0) { /* 2.7: open addressing, mask + 1 slots */
        if (L->dict_hashmask < 0 || L->dict_table + 8 > (int32_t)sizeof h ||
            pyf_read(t, dict, h, (size_t)L->dict_table + 8))
            return -EFAULT;
        uint64_t mask = u64_at(h, L->dict_hashmask);
        if (mask < 7 || mask >= (1u << LOG2_MAX) || (mask & (mask + 1)))
            return -EINVAL;
        v->entries = u64_at(h, L->dict_table);
        v->n = mask + 1 < PYN_DICT_MAX ? mask + 1 : PYN_DICT_MAX;
        v->esize = 24, v->key_off = 8, v->val_off = 16;
        return v->entries ? 0 : -EINVAL;
    }
    if (L->dict_keys < 0 || L->dict_values < 0 || L->dict_values + 8 > (int32_t)sizeof h ||
        L->dict_keys + 8 > (int32_t)sizeof h ||
        pyf_read(t, dict, h,
                 (size_t)(L->dict_keys > L->dict_values ? L->dict_keys : L->dict_values) + 8))
        return -EFAULT;
    return keys_view(t, u64_at(h, L->dict_keys), u64_at(h, L->dict_values), v);
}

/* Entries [i, i + k) of a view: keys and values (0 for empty slots). */
static int view_chunk(const struct pyf_target *t, const struct dview *v, size_t i, size_t k,
                      uint64_t *keys, uint64_t *vals)
{
    uint8_t buf[CHUNK * ENTRY_MAX];
    uint64_t sv[CHUNK];

    if (pyf_read(t, v->entries + i * v->esize, buf, k * v->esize) < 0)
        return -EFAULT;
    if (v->values && pyf_read(t, v->values + i * 8, sv, k * 8) < 0)
        return -EFAULT;
    for (size_t j = 0; j < k; j++) {
        keys[j] = u64_at(buf + j * v->esize, v->key_off);
        vals[j] = v->values ? sv[j] : u64_at(buf + j * v->esize, v->val_off);
        if (!vals[j])
            keys[j] = 0; /* deleted, or an attribute not set */
    }
    return 0;
}

/* The value under str key `key` in a view, or 0. */
static int view_get(const struct pyf_target *t, const struct dview *v, const char *key,
                    uint64_t *value)
{
    uint64_t keys[CHUNK], vals[CHUNK];
    uint8_t hdr[CHUNK][HDR];
    struct pyiov iov[CHUNK];
    bool ok[CHUNK];
    size_t at[CHUNK];

    *value = 0;
    for (size_t i = 0; i < v->n; i += CHUNK) {
        size_t k = v->n - i < CHUNK ? v->n - i : CHUNK, m = 0;
        if (view_chunk(t, v, i, k, keys, vals) < 0)
            return -EFAULT;
        for (size_t j = 0; j < k; j++)
            if (keys[j]) {
                at[m] = j;
                iov[m] = (struct pyiov){keys[j], hdr[m], HDR};
                m++;
            }
        pyframes_read_batch(t, iov, m, ok); /* every key's head at once */
        for (size_t j = 0; j < m; j++)
            if (ok[j] && key_is(t, hdr[j], key)) {
                *value = vals[at[j]];
                return 0;
            }
    }
    return 0;
}

int pynames_dict_get(const struct pyf_target *t, uint64_t dict, const char *key, uint64_t *value)
{
    struct dview v;
    int rc;

    *value = 0;
    if ((rc = dict_view(t, dict, &v)) < 0)
        return rc;
    return view_get(t, &v, key, value);
}

/* -------------------------------------------------------------- objects */

int pynames_int(const struct pyf_target *t, uint64_t obj, uint64_t *v)
{
    const struct py_layout *L = &t->layout;
    uint8_t b[48];
    uint64_t nd;

    *v = 0;
    if (L->int_ival >= 0) { /* 2.7: thread.get_ident() is an int */
        int64_t x;
        if (pyf_read(t, obj + (uint64_t)L->int_ival, &x, 8) < 0)
            return -EFAULT;
        *v = (uint64_t)x;
        return x >= 0 ? 0 : -EINVAL;
    }
    if (L->long_digits < 16 || L->long_digits + 12 > (int32_t)sizeof b ||
        pyf_read(t, obj, b, sizeof b))
        return -EFAULT;
    if (L->long_tag >= 0) { /* 3.12+: digits << 3 | sign (0 positive, 1 zero) */
        uint64_t tag = u64_at(b, L->long_tag);
        if ((tag & 3) == 1)
            return 0;
        if ((tag & 3) != 0)
            return -EINVAL;
        nd = tag >> 3;
    } else {
        int64_t size = (int64_t)u64_at(b, 16); /* ob_size: signed digit count */
        if (size < 0)
            return -EINVAL;
        nd = (uint64_t)size;
    }
    if (nd > 3)
        return -EINVAL; /* more than 64 bits: not a thread ident */
    for (uint64_t i = 0; i < nd; i++) {
        uint32_t d;
        memcpy(&d, b + L->long_digits + 4 * i, 4);
        if (d >> 30)
            return -EINVAL;
        *v |= (uint64_t)d << (30 * i);
    }
    return 0;
}

/* The instance's own values (3.11+), with the keys of its type. */
static int values_get(const struct pyf_target *t, uint64_t type, uint64_t values, const char *name,
                      uint64_t *value)
{
    uint64_t keys;
    struct dview v;
    int rc;

    if (t->layout.ht_cached_keys < 0 ||
        pyf_read_ptr(t, type + (uint64_t)t->layout.ht_cached_keys, &keys) < 0 || !keys)
        return -EFAULT;
    if ((rc = keys_view(t, keys, values, &v)) < 0)
        return rc;
    return view_get(t, &v, name, value);
}

int pynames_attr(const struct pyf_target *t, uint64_t obj, const char *name, uint64_t *value)
{
    const struct py_layout *L = &t->layout;
    uint64_t type, w = 0, values = 0;
    int64_t off;

    *value = 0;
    if (pyf_read_ptr(t, obj + (uint64_t)L->ob_type, &type) < 0 || !type)
        return -EFAULT;
    switch (L->inst_dict) {
    case PYL_INST_DICTOFFSET:
        if (L->tp_dictoffset < 0 || pyf_read(t, type + (uint64_t)L->tp_dictoffset, &off, 8) < 0)
            return -EFAULT;
        if (off <= 0 || off > 4096)
            return -EINVAL; /* Thread objects keep theirs after the header */
        if (pyf_read_ptr(t, obj + (uint64_t)off, &w) < 0)
            return -EFAULT;
        break;
    case PYL_INST_MANAGED_311:
        if (pyf_read_ptr(t, obj - 32, &values) < 0)
            return -EFAULT;
        if (values)
            return values_get(t, type, values, name, value);
        if (pyf_read_ptr(t, obj - 24, &w) < 0)
            return -EFAULT;
        break;
    case PYL_INST_TAGGED_312:
        if (pyf_read_ptr(t, obj - 24, &w) < 0)
            return -EFAULT;
        if (w & 1) /* CPython stores the values' address minus one */
            return values_get(t, type, w + 1, name, value);
        break;
    case PYL_INST_INLINE_313: {
        uint8_t valid = 0;
        if (pyf_read_ptr(t, obj - 24, &w) < 0)
            return -EFAULT;
        if (w)
            break;
        if (pyf_read(t, obj + 16 + 3, &valid, 1) < 0)
            return -EFAULT;
        return valid ? values_get(t, type, obj + 16, name, value) : 0;
    }
    }
    return w ? pynames_dict_get(t, w, name, value) : 0;
}

/* -------------------------------------------------------------- threads */

/* threading._active, or 0 when threading is not imported. */
static int active_dict(const struct pyf_target *t, uint64_t interp, uint64_t *active)
{
    const struct py_layout *L = &t->layout;
    uint64_t modules, mod, md;
    int rc;

    *active = 0;
    if (L->is_modules < 0 || L->md_dict < 0 ||
        pyf_read_ptr(t, interp + (uint64_t)L->is_modules, &modules) < 0 || !modules)
        return -EFAULT;
    if ((rc = pynames_dict_get(t, modules, "threading", &mod)) < 0 || !mod)
        return rc;
    if (pyf_read_ptr(t, mod + (uint64_t)L->md_dict, &md) < 0 || !md)
        return -EFAULT;
    return pynames_dict_get(t, md, "_active", active);
}

int pynames_read(const struct pyf_target *t, uint64_t interp, struct pyname *out, size_t cap,
                 size_t *n)
{
    uint64_t active, keys[CHUNK], vals[CHUNK];
    /* 2.7's Thread keeps it in self.__name, mangled */
    const char *attr = t->layout.major == 2 ? "_Thread__name" : "_name";
    struct dview v;
    int rc;

    *n = 0;
    if (cap > PYN_MAX)
        cap = PYN_MAX;
    if ((rc = active_dict(t, interp, &active)) < 0 || !active)
        return rc;
    if ((rc = dict_view(t, active, &v)) < 0)
        return rc;
    for (size_t i = 0; i < v.n && *n < cap; i += CHUNK) {
        size_t k = v.n - i < CHUNK ? v.n - i : CHUNK;
        if (view_chunk(t, &v, i, k, keys, vals) < 0)
            return -EFAULT;
        for (size_t j = 0; j < k && *n < cap; j++) {
            uint64_t name = 0;
            bool tr;
            if (!keys[j] || pynames_int(t, keys[j], &out[*n].ident) < 0 || !out[*n].ident ||
                pynames_attr(t, vals[j], attr, &name) < 0 || !name ||
                pyframes_str(t, name, out[*n].name, sizeof out[*n].name, &tr) < 0 ||
                !out[*n].name[0])
                continue; /* a thread whose name cannot be read keeps its OS name */
            (*n)++;
        }
    }
    return 0;
}
