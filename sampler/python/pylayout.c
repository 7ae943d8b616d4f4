/*
 * pylayout.c - layout lookup and the 3.13 _Py_DebugOffsets parser.
 */
#include "sampler/python/pylayout.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const struct py_layout *pylayout_find(int major, int minor)
{
    for (size_t i = 0; i < py_layouts_count; i++)
        if (py_layouts[i].major == major && py_layouts[i].minor == minor)
            return &py_layouts[i];
    return NULL;
}

/* Byte positions in the 3.13 _Py_DebugOffsets: every member is a uint64_t
 * after the 8-byte cookie, so a position is 8 * (index of the member). */
enum {
    DO_VERSION = 8,
    DO_FREE_THREADED = 16,
    DO_RT_SIZE = 24,
    DO_RT_INTERP_HEAD = 40,
    DO_IS_SIZE = 48,
    DO_IS_NEXT = 64,
    DO_IS_THREADS_HEAD = 72,
    DO_IS_CEVAL_GIL = 112,
    DO_IS_GIL_STATE = 120,
    DO_IS_GIL_LOCKED = 136,
    DO_IS_GIL_HOLDER = 144,
    DO_TS_SIZE = 152,
    DO_TS_NEXT = 168,
    DO_TS_INTERP = 176,
    DO_TS_FRAME = 184,
    DO_TS_THREAD_ID = 192,
    DO_TS_NATIVE_ID = 200,
    DO_IF_SIZE = 224,
    DO_IF_PREVIOUS = 232,
    DO_IF_EXECUTABLE = 240,
    DO_IF_INSTR_PTR = 248,
    DO_IF_OWNER = 264,
    DO_CO_SIZE = 272,
    DO_CO_FILENAME = 280,
    DO_CO_NAME = 288,
    DO_CO_QUALNAME = 296,
    DO_CO_LINETABLE = 304,
    DO_CO_FIRSTLINENO = 312,
    DO_CO_ADAPTIVE = 344,
    DO_OB_SIZE = 352,
    DO_OB_TYPE = 360,
    DO_BY_SIZE = 512,
    DO_BY_OB_SIZE = 520,
    DO_BY_SVAL = 528,
    DO_UN_SIZE = 536,
    DO_UN_STATE = 544,
    DO_UN_LENGTH = 552,
    DO_UN_ASCII_SIZE = 560,
};

#define DO_MAX_STRUCT (1u << 20) /* no CPython struct is this large */

static uint64_t u64_at(const uint8_t *buf, size_t pos)
{
    uint64_t v;
    memcpy(&v, buf + pos, sizeof v);
    return v;
}

uint64_t pylayout_debug_version(const uint8_t *buf, size_t len)
{
    if (len < 16 || memcmp(buf, PYL_DEBUG_COOKIE, 8) != 0)
        return 0;
    return u64_at(buf, DO_VERSION);
}

struct do_check {
    const uint8_t *buf;
    char *err;
    size_t errsz;
    bool bad;
};

/* Reads a field offset at `pos`, checked against the struct size at
 * `size_pos`: a hostile or corrupted value gives an error, not a layout
 * that sends the walker anywhere. */
static int32_t field(struct do_check *c, size_t size_pos, size_t pos)
{
    uint64_t size = u64_at(c->buf, size_pos), off = u64_at(c->buf, pos);

    if (size == 0 || size > DO_MAX_STRUCT || off >= size) {
        if (!c->bad)
            snprintf(
                c->err, c->errsz,
                "_Py_DebugOffsets: offset %llu at byte %zu is outside its struct of %llu bytes",
                (unsigned long long)off, pos, (unsigned long long)size);
        c->bad = true;
        return PYL_NONE;
    }
    return (int32_t)off;
}

static void fill(struct do_check *c, struct py_layout *o)
{
    int32_t gil_state = field(c, DO_IS_SIZE, DO_IS_GIL_STATE);

    o->rt_interp_head = field(c, DO_RT_SIZE, DO_RT_INTERP_HEAD);
    o->is_next = field(c, DO_IS_SIZE, DO_IS_NEXT);
    o->is_tstate_head = field(c, DO_IS_SIZE, DO_IS_THREADS_HEAD);
    o->is_gil_ptr = field(c, DO_IS_SIZE, DO_IS_CEVAL_GIL);
    /* The debug offsets place the GIL fields inside the interpreter's own
     * _gil; pertop wants them relative to the struct is_gil_ptr points at. */
    o->gil_locked = field(c, DO_IS_SIZE, DO_IS_GIL_LOCKED) - gil_state;
    o->gil_last_holder = field(c, DO_IS_SIZE, DO_IS_GIL_HOLDER) - gil_state;
    o->ts_next = field(c, DO_TS_SIZE, DO_TS_NEXT);
    o->ts_interp = field(c, DO_TS_SIZE, DO_TS_INTERP);
    o->ts_frame = field(c, DO_TS_SIZE, DO_TS_FRAME);
    o->ts_thread_id = field(c, DO_TS_SIZE, DO_TS_THREAD_ID);
    o->ts_native_thread_id = field(c, DO_TS_SIZE, DO_TS_NATIVE_ID);
    o->if_previous = field(c, DO_IF_SIZE, DO_IF_PREVIOUS);
    o->if_code = field(c, DO_IF_SIZE, DO_IF_EXECUTABLE);
    o->if_instr_ptr = field(c, DO_IF_SIZE, DO_IF_INSTR_PTR);
    o->if_owner = field(c, DO_IF_SIZE, DO_IF_OWNER);
    o->co_filename = field(c, DO_CO_SIZE, DO_CO_FILENAME);
    o->co_name = field(c, DO_CO_SIZE, DO_CO_NAME);
    o->co_qualname = field(c, DO_CO_SIZE, DO_CO_QUALNAME);
    o->co_linetable = field(c, DO_CO_SIZE, DO_CO_LINETABLE);
    o->co_firstlineno = field(c, DO_CO_SIZE, DO_CO_FIRSTLINENO);
    o->co_code_adaptive = field(c, DO_CO_SIZE, DO_CO_ADAPTIVE);
    o->ob_type = field(c, DO_OB_SIZE, DO_OB_TYPE);
    o->bytes_size = field(c, DO_BY_SIZE, DO_BY_OB_SIZE);
    o->bytes_sval = field(c, DO_BY_SIZE, DO_BY_SVAL);
    o->uni_state = field(c, DO_UN_SIZE, DO_UN_STATE);
    o->uni_length = field(c, DO_UN_SIZE, DO_UN_LENGTH);
    o->uni_ascii_size = field(c, DO_UN_SIZE, DO_UN_ASCII_SIZE);
}

int pylayout_from_debug_offsets(const uint8_t *buf, size_t len, const struct py_layout *base,
                                struct py_layout *out, char *err, size_t errsz)
{
    struct do_check c = {.buf = buf, .err = err, .errsz = errsz};
    uint64_t ver = pylayout_debug_version(buf, len);
    int major = (int)(ver >> 24) & 0xff, minor = (int)(ver >> 16) & 0xff;

    if (!ver) {
        snprintf(err, errsz, "_PyRuntime does not start with _Py_DebugOffsets");
        return -EINVAL;
    }
    if (len < PYL_DEBUG_OFFSETS_SIZE || !base) {
        snprintf(err, errsz, "_Py_DebugOffsets: %zu bytes read, %d needed", len,
                 PYL_DEBUG_OFFSETS_SIZE);
        return -EINVAL;
    }
    /* Only 3.13's shape of the struct is known; 3.14 inserts members. */
    if (major != 3 || minor != 13) {
        snprintf(err, errsz, "_Py_DebugOffsets of Python %d.%d: this pertop knows 3.13's only",
                 major, minor);
        return -ENOTSUP;
    }
    if (u64_at(buf, DO_FREE_THREADED)) {
        snprintf(err, errsz, "free-threaded Python %d.%d is not supported", major, minor);
        return -ENOTSUP;
    }
    *out = *base;
    out->major = (uint8_t)major;
    out->minor = (uint8_t)minor;
    out->probed = "_Py_DebugOffsets";
    fill(&c, out);
    if (c.bad || out->gil_locked < 0 || out->gil_last_holder < 0) {
        if (!c.bad)
            snprintf(err, errsz, "_Py_DebugOffsets: GIL fields outside the GIL state");
        return -EINVAL;
    }
    return 0;
}
