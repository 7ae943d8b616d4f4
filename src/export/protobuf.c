/*
 * protobuf.c - protocol buffers wire format (see protobuf.h).
 */
#include "src/export/protobuf.h"
#include "common/vec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VARINT_MAX 10 /* bytes of a 64-bit varint */

void pb_buf_init(struct pb_buf *b)
{
    memset(b, 0, sizeof *b);
}

void pb_buf_free(struct pb_buf *b)
{
    free(b->p);
    pb_buf_init(b);
}

void pb_buf_reset(struct pb_buf *b)
{
    b->len = 0;
    b->err = 0;
}

static bool reserve(struct pb_buf *b, size_t more)
{
    if (b->err)
        return false;
    if (more <= b->cap - b->len)
        return true;
    if (more > SIZE_MAX - b->len || vec_reserve(&b->p, &b->cap, b->len + more, 1) < 0) {
        b->err = -ENOMEM;
        return false;
    }
    return true;
}

static void put_raw_varint(struct pb_buf *b, uint64_t v)
{
    if (!reserve(b, VARINT_MAX))
        return;
    while (v >= 0x80) {
        b->p[b->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (uint8_t)v;
}

static void put_key(struct pb_buf *b, uint32_t field, enum pb_wire wire)
{
    put_raw_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

void pb_put_varint(struct pb_buf *b, uint32_t field, uint64_t v)
{
    put_key(b, field, PB_VARINT);
    put_raw_varint(b, v);
}

void pb_put_varint_opt(struct pb_buf *b, uint32_t field, uint64_t v)
{
    if (v)
        pb_put_varint(b, field, v);
}

void pb_put_bytes(struct pb_buf *b, uint32_t field, const void *data, size_t n)
{
    put_key(b, field, PB_LEN);
    put_raw_varint(b, n);
    if (n && reserve(b, n)) {
        memcpy(b->p + b->len, data, n);
        b->len += n;
    }
}

void pb_put_string(struct pb_buf *b, uint32_t field, const char *s)
{
    pb_put_bytes(b, field, s, strlen(s));
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void pb_put_packed(struct pb_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
    if (n == 0)
        return;
    size_t body = 0;
    for (size_t i = 0; i < n; i++)
        body += varint_size(v[i]);
    put_key(b, field, PB_LEN);
    put_raw_varint(b, body);
    for (size_t i = 0; i < n; i++)
        put_raw_varint(b, v[i]);
}

void pb_put_message(struct pb_buf *b, uint32_t field, const struct pb_buf *msg)
{
    if (msg->err) {
        b->err = msg->err;
        return;
    }
    pb_put_bytes(b, field, msg->p, msg->len);
}

/* ------------------------------------------------------------ reading */

void pb_reader_init(struct pb_reader *r, const void *data, size_t len)
{
    r->p = data;
    r->end = r->p + len;
}

/* A varint from [*p, end): -EINVAL when it runs past end or past 10 bytes
 * (or its 10th byte carries more than the 64th bit). */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < VARINT_MAX; i++) {
        if (*p >= end)
            return -EINVAL;
        uint8_t c = *(*p)++;
        if (i == VARINT_MAX - 1 && c > 1)
            return -EINVAL;
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -EINVAL;
}

static int get_fixed(const uint8_t **p, const uint8_t *end, size_t n, uint64_t *out)
{
    if ((size_t)(end - *p) < n)
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)(*p)[i] << (8 * i);
    *p += n;
    *out = v;
    return 0;
}

int pb_next(struct pb_reader *r, struct pb_field *f)
{
    if (r->p >= r->end)
        return 0;
    uint64_t key;
    if (get_varint(&r->p, r->end, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return -EINVAL;
    memset(f, 0, sizeof *f);
    f->num = (uint32_t)(key >> 3);
    f->wire = (enum pb_wire)(key & 7);
    switch (f->wire) {
    case PB_VARINT:
        return get_varint(&r->p, r->end, &f->v) < 0 ? -EINVAL : 1;
    case PB_FIXED64:
        return get_fixed(&r->p, r->end, 8, &f->v) < 0 ? -EINVAL : 1;
    case PB_FIXED32:
        return get_fixed(&r->p, r->end, 4, &f->v) < 0 ? -EINVAL : 1;
    case PB_LEN: {
        uint64_t n;
        if (get_varint(&r->p, r->end, &n) < 0 || n > (uint64_t)(r->end - r->p))
            return -EINVAL;
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 1;
    }
    }
    return -EINVAL; /* groups (3, 4) and the unused wire types 6, 7 */
}

int pb_repeated_next(const struct pb_field *f, size_t *cursor, uint64_t *out)
{
    if (f->wire == PB_VARINT) {
        if (*cursor)
            return 0;
        *cursor = 1;
        *out = f->v;
        return 1;
    }
    if (f->wire != PB_LEN)
        return -EINVAL;
    if (*cursor >= f->len)
        return 0;
    const uint8_t *p = f->data + *cursor;
    if (get_varint(&p, f->data + f->len, out) < 0)
        return -EINVAL;
    *cursor = (size_t)(p - f->data);
    return 1;
}
