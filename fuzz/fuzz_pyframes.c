/*
 * fuzz_pyframes.c - the CPython walkers over a fake remote address space.
 *
 * Byte 0 picks one of pertop's CPython layouts (2.7 to 3.13); byte 1 sets
 * options: bit 0 every address reads (modulo the image) instead of a fault
 * outside it, bit 1 batched reads (a readv hook), bit 2 code objects are
 * type-checked (PyCode_Type at 0xc0de), bit 3 the target counts as
 * stopped, bit 4 the layout comes from the image's _Py_DebugOffsets (3.13),
 * bit 5 a <= 3.6 _PyThreadState_Current at the image's second word.  The
 * rest is the target's memory at 0x10000, where _PyRuntime (or
 * interp_head) is, zero-filled to a whole page as a mapping is.  Then, as the sampler does: the
 * interpreter, its thread list, the GIL holder, the tid offset, each thread's frames (twice: the
 * code cache hit), their code objects and lines, and the threads' names.
 * A finding (crash, ASan or UBSan report, leak, hang) is a bug in a
 * walker: all of that memory is the target's, torn, cyclic or hostile.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/python/pyframes.h"
#include "sampler/python/pylayout.h"
#include "sampler/python/pynames.h"

#define BASE 0x10000ull

struct image {
    const uint8_t *mem;
    size_t len;
    bool wrap;
};

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    const struct image *im = ctx;
    if (im->wrap && im->len) {
        size_t off = (size_t)(addr % im->len);
        for (size_t done = 0, n; done < len; done += n, off = 0) {
            n = im->len - off < len - done ? im->len - off : len - done;
            memcpy((uint8_t *)buf + done, im->mem + off, n);
        }
        return 0;
    }
    if (addr < BASE || addr - BASE > im->len || len > im->len - (addr - BASE))
        return -EFAULT;
    memcpy(buf, im->mem + (addr - BASE), len);
    return 0;
}

static int fake_readv(void *ctx, const struct pyiov *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (fake_read(ctx, v[i].addr, v[i].buf, v[i].len) < 0)
            break;
    return (int)i;
}

static uint64_t code_sum(const struct pycode *c)
{
    if (!c)
        return 0;
    return strlen(c->name) + strlen(c->qualname) + strlen(c->file) + (uint64_t)c->firstlineno;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t len = size - 2, mapped = (len + 4095) & ~(size_t)4095;
    uint8_t *mem = calloc(1, mapped ? mapped : 1);
    if (!mem)
        return 0;
    memcpy(mem, data + 2, len);
    struct image im = {mem, mapped, data[1] & 1};
    struct pyf_target t;
    memset(&t, 0, sizeof t);
    t.layout = py_layouts[data[0] % py_layouts_count];
    t.mem = (struct pyread){fake_read, &im, data[1] & 2 ? fake_readv : NULL};
    t.root = BASE;
    t.code_type = data[1] & 4 ? 0xc0de : 0;
    if (data[1] & 32)
        t.tstate_current = BASE + 8;
    char err[160];
    if (data[1] & 16) {
        struct py_layout dl;
        const struct py_layout *base = pylayout_find(3, 13);
        if (pylayout_from_debug_offsets(im.mem, im.len, base, &dl, err, sizeof err) == 0)
            t.layout = dl;
    }
    volatile uint64_t sink = 0;
    struct pyframes *pf = pyframes_new(8);
    if (!pf) {
        free(mem);
        return 0;
    }
    pyframes_set_stopped(pf, data[1] & 8);
    uint64_t interp = 0;
    if (pyframes_interp(&t, &interp) == 0)
        sink += pyframes_gil_holder(&t, interp);
    struct pyf_thread th[16];
    size_t nth = 0;
    unsigned flags = 0;
    if (pyframes_threads(&t, th, 16, &nth, &flags, -1) == 0 && nth) {
        int off = pyframes_tid_offset(&t, th[nth - 1].pthread_id, 4242);
        if (off >= 0)
            pyframes_threads(&t, th, 16, &nth, &flags, off);
    }
    struct pyf_frame fr[64];
    for (size_t i = 0; i < nth; i++) {
        for (int pass = 0; pass < 2; pass++) {
            size_t n = 0;
            if (pyframes_walk(pf, &t, th[i].tstate, fr, 64, &n, &flags) < 0)
                break;
            for (size_t j = 0; j < n; j++)
                sink += code_sum(pyframes_code(pf, fr[j].code)) + (uint64_t)fr[j].line;
        }
        char s[64];
        bool trunc;
        if (pyframes_str(&t, th[i].tstate, s, sizeof s, &trunc) == 0)
            sink += strlen(s);
    }
    if (interp) {
        struct pyname names[8];
        size_t nn = 0;
        if (pynames_read(&t, interp, names, 8, &nn) == 0)
            for (size_t i = 0; i < nn; i++)
                sink += strlen(names[i].name);
    }
    struct pyframes_stats st;
    pyframes_stats(pf, &st);
    pyframes_free(pf);
    free(mem);
    (void)sink;
    return 0;
}
