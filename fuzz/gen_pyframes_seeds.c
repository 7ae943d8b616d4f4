/*
 * gen_pyframes_seeds.c - writes fuzz/corpus/pyframes/: for each CPython
 * layout, a memory image holding one interpreter with one thread of three
 * frames, their code objects, names and line tables, laid out as
 * fuzz_pyframes.c expects (layout index, options, memory at 0x10000), as
 * tests/test_pyframes.c builds its images.  Not part of the build:
 *   cc -I. -D_GNU_SOURCE fuzz/gen_pyframes_seeds.c sampler/python/pylayouts.c \
 *      sampler/python/pylayout.c -o gen && ./gen fuzz/corpus/pyframes
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/python/pylayout.h"

#define BASE 0x10000ull
#define SIZE (64u << 10)

static uint8_t mem[SIZE];
static uint64_t top;

static uint64_t alloc(size_t n)
{
    uint64_t a = BASE + top;
    top += (n + 15) & ~(size_t)15;
    if (top > SIZE)
        abort();
    return a;
}

static void put64(uint64_t a, int32_t off, uint64_t v)
{
    if (off >= 0)
        memcpy(mem + (a - BASE) + off, &v, 8);
}

static void put32(uint64_t a, int32_t off, int32_t v)
{
    if (off >= 0)
        memcpy(mem + (a - BASE) + off, &v, 4);
}

static uint64_t mk_bytes(const struct py_layout *L, const void *s, size_t n)
{
    uint64_t o = alloc((size_t)L->bytes_sval + n + 1);
    put64(o, L->bytes_size, n);
    memcpy(mem + (o - BASE) + L->bytes_sval, s, n);
    return o;
}

static uint64_t mk_str(const struct py_layout *L, const char *s)
{
    size_t n = strlen(s);
    if (L->str_kind == PYL_STR_BYTES)
        return mk_bytes(L, s, n);
    uint64_t o = alloc((size_t)L->uni_ascii_size + n + 1);
    put64(o, L->uni_length, n);
    put32(o, L->uni_state,
          (int32_t)(L->uni_compact_mask | L->uni_ascii_mask |
                    (L->uni_kind_mask & (0u - L->uni_kind_mask))));
    memcpy(mem + (o - BASE) + L->uni_ascii_size, s, n);
    return o;
}

static uint64_t mk_table(const struct py_layout *L)
{
    static const uint8_t lnotab[] = {4, 2};
    static const uint8_t lt310[] = {4, 0, 4, 3};
    static const uint8_t loc311[] = {0x80 | 13 << 3 | 1, 0x00, 0x80 | 13 << 3 | 1, 0x0a};
    switch (L->line_format) {
    case PYLINES_LINETABLE_310:
        return mk_bytes(L, lt310, sizeof lt310);
    case PYLINES_LOCATIONS_311:
        return mk_bytes(L, loc311, sizeof loc311);
    default:
        return mk_bytes(L, lnotab, sizeof lnotab);
    }
}

static uint64_t mk_code(const struct py_layout *L, const char *name, int first)
{
    uint64_t co = alloc((size_t)L->code_size + 64);
    uint64_t nm = mk_str(L, name);
    put64(co, L->ob_type, 0xc0de);
    put64(co, L->co_name, nm);
    put64(co, L->co_qualname, nm);
    put64(co, L->co_filename, mk_str(L, "app.py"));
    put32(co, L->co_firstlineno, first);
    put64(co, L->co_linetable, mk_table(L));
    put32(co, L->co_firsttraceable, 0);
    return co;
}

static uint64_t mk_frame(const struct py_layout *L, uint64_t code, uint64_t back)
{
    uint64_t f = alloc(512);
    if (L->frame_kind == PYL_FRAME_OBJECT) {
        put64(f, L->f_back, back);
        put64(f, L->f_code, code);
        put32(f, L->f_lasti, 4 / L->f_lasti_scale);
    } else {
        int32_t ip = L->if_instr_ptr >= 0 ? L->if_instr_ptr : L->if_prev_instr;
        put64(f, L->if_previous, back);
        put64(f, L->if_code, code);
        put64(f, ip, code + (uint64_t)L->co_code_adaptive + 4);
        mem[f - BASE + (uint64_t)L->if_owner] = 0;
    }
    return f;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    for (size_t li = 0; li < py_layouts_count; li++) {
        const struct py_layout *L = &py_layouts[li];
        memset(mem, 0, sizeof mem);
        top = 0;
        uint64_t root = alloc(2048), interp = alloc(4096), ts = alloc(1024);
        if (L->root == PYL_ROOT_RUNTIME)
            put64(root, L->rt_interp_main, interp);
        else
            put64(root, 0, interp);
        put64(interp, L->is_tstate_head, ts);
        put64(ts, L->ts_interp, interp);
        uint64_t pthread = alloc(1024);
        put32(pthread, 720, 4242); /* glibc's tid slot in struct pthread */
        put64(ts, L->ts_thread_id, pthread);
        put64(ts, L->ts_native_thread_id, 4242);
        uint64_t c2 = mk_code(L, "main", 100), c1 = mk_code(L, "middle", 200),
                 c0 = mk_code(L, "leaf", 300);
        uint64_t f2 = mk_frame(L, c2, 0), f1 = mk_frame(L, c1, f2), f0 = mk_frame(L, c0, f1);
        if (L->ts_frame >= 0) {
            put64(ts, L->ts_frame, f0);
        } else {
            uint64_t cf = alloc(64);
            put64(ts, L->ts_cframe, cf);
            put64(cf, L->cframe_current, f0);
        }
        char path[512];
        snprintf(path, sizeof path, "%s/py%d%d", argv[1], L->major, L->minor);
        FILE *f = fopen(path, "wb");
        if (!f)
            return 1;
        uint8_t hdr[2] = {(uint8_t)li, 4}; /* PyCode_Type checked */
        fwrite(hdr, 1, 2, f);
        fwrite(mem, 1, top, f);
        fclose(f);
    }
    return 0;
}
