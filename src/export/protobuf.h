/*
 * protobuf.h - the protocol buffers wire format, just what profile.proto
 * needs: varints, 64/32-bit fixed fields (skipped on reading), and
 * length-delimited fields (strings, bytes, nested messages, packed
 * repeated varints).  Groups (wire types 3 and 4) are refused.
 *
 * Writing appends to a growing buffer; a failed allocation is remembered
 * (pb_buf.err) so a writer can encode a whole message and check once.
 * Reading never trusts a length: every field is checked against the bytes
 * left, a varint is at most 10 bytes, and nothing is allocated.  Callers:
 * export_pprof.c (writing) and profile.c (reading).
 */
#ifndef PERTOP_PROTOBUF_H
#define PERTOP_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pb_wire { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };

struct pb_buf {
    uint8_t *p;
    size_t len, cap;
    int err; /* 0, or -ENOMEM once an append failed (later appends do nothing) */
};

void pb_buf_init(struct pb_buf *b);
void pb_buf_free(struct pb_buf *b);
/* Empties b, keeping its memory. */
void pb_buf_reset(struct pb_buf *b);

/* A varint field (int64 values are written as their two's complement,
 * as protobuf does for int64; profile.proto's values are never negative
 * in pertop's output). */
void pb_put_varint(struct pb_buf *b, uint32_t field, uint64_t v);
/* The varint only when v != 0 (proto3 leaves out default values). */
void pb_put_varint_opt(struct pb_buf *b, uint32_t field, uint64_t v);
void pb_put_bytes(struct pb_buf *b, uint32_t field, const void *data, size_t n);
void pb_put_string(struct pb_buf *b, uint32_t field, const char *s);
/* A packed repeated varint field; nothing when n == 0. */
void pb_put_packed(struct pb_buf *b, uint32_t field, const uint64_t *v, size_t n);
/* A nested message already encoded in msg. */
void pb_put_message(struct pb_buf *b, uint32_t field, const struct pb_buf *msg);

/* Reading. */
struct pb_reader {
    const uint8_t *p, *end;
};

struct pb_field {
    uint32_t num;
    enum pb_wire wire;
    uint64_t v;          /* PB_VARINT, PB_FIXED64, PB_FIXED32 */
    const uint8_t *data; /* PB_LEN */
    size_t len;
};

void pb_reader_init(struct pb_reader *r, const void *data, size_t len);
/* The next field: 1, 0 at the end, -EINVAL when the bytes are not a valid
 * field (truncated, overlong varint, field number 0, group, bad wire type). */
int pb_next(struct pb_reader *r, struct pb_field *f);
/* One value of a repeated varint field that may be packed (PB_LEN) or not
 * (PB_VARINT): call with the field, then *cursor = 0 first; returns 1 with
 * *out, 0 when done, -EINVAL on a bad packed body. */
int pb_repeated_next(const struct pb_field *f, size_t *cursor, uint64_t *out);

#endif
