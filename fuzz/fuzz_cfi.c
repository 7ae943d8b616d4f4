/*
 * fuzz_cfi.c - pertop's own CFI parsing: .eh_frame_hdr and .eh_frame
 * rules, .debug_frame converted to .eh_frame, and the cached-rule stepper.
 *
 * The input is a capture and then an ELF image: bytes 0-3 the pc (an
 * offset into the image's executable span), byte 4 options (bit 0: the
 * fast path off, every step through libunwind over pertop's tables; bit 1:
 * a second capture at the pc of the first word of the stack), bytes 8-135
 * rax..r15 but rsp and rip, bytes 136-647 the stack copy at rsp, and the
 * rest the ELF file of the module, mapped at 0x10000000 by as_new_image
 * (no process).  unwind_capture runs on it (twice: rules memoised from the
 * first).  A finding (crash, ASan or UBSan report, leak, hang) is a bug in
 * the unwinder: the module files and the stack are the target's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/capture.h"
#include "sampler/unwind/addrspace.h"
#include "sampler/unwind/unwind.h"

#define BIAS      0x10000000ull
#define STACK_AT  0x7ffe0000ull
#define STACK_LEN 512u
#define HDR       (8u + 16u * 8u + STACK_LEN)

static uint64_t u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* lowest and highest executable vaddr, from the image's program headers */
static void text_span(const uint8_t *img, size_t size, uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    if (size < 64)
        return;
    uint64_t phoff = u64(img + 32);
    uint16_t phnum;
    memcpy(&phnum, img + 56, 2);
    for (unsigned i = 0; i < phnum; i++) {
        uint64_t at = phoff + (uint64_t)i * 56;
        if (at > size || size - at < 56)
            break;
        uint32_t type, flags;
        memcpy(&type, img + at, 4);
        memcpy(&flags, img + at + 4, 4);
        uint64_t va = u64(img + at + 16), sz = u64(img + at + 40);
        if (type == 1 && (flags & 1) && sz && !*hi) {
            *lo = va;
            *hi = va + sz;
        }
    }
}

static void run(struct unwinder *u, struct capture *c, volatile uint64_t *sink)
{
    static struct unwind_result out;
    unwind_capture(u, c, &out);
    if (out.n < 1 || out.n > UNWIND_DEPTH_MAX)
        __builtin_trap();
    for (size_t i = 0; i < out.n; i++)
        *sink += out.pcs[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HDR + 64)
        return 0;
    const uint8_t *img = data + HDR;
    size_t img_size = size - HDR;
    /* the image in a buffer of its own size: a read past it is seen */
    uint8_t *copy = malloc(img_size);
    if (!copy)
        return 0;
    memcpy(copy, img, img_size);
    char err[160];
    struct addrspace *as = as_new_image(copy, img_size, BIAS, err, sizeof err);
    struct unwinder *u = as ? unwind_new(as, 64, err, sizeof err) : NULL;
    if (!u) {
        as_free(as);
        free(copy);
        return 0;
    }
    unwind_set_fast_path(u, !(data[4] & 1));
    uint64_t lo, hi;
    text_span(img, img_size, &lo, &hi);
    uint32_t pc_off;
    memcpy(&pc_off, data, 4);

    struct capture c;
    memset(&c, 0, sizeof c);
    uint64_t r[16];
    memcpy(r, data + 8, sizeof r);
    c.regs = (struct capture_regs){r[0], r[1],  r[2],  r[3],  r[4],  r[5],  r[6],  STACK_AT, r[8],
                                   r[9], r[10], r[11], r[12], r[13], r[14], r[15], 0,        0};
    c.regs.rip = BIAS + lo + (hi > lo ? pc_off % (hi - lo) : 0);
    c.stack_addr = STACK_AT;
    c.stack_len = STACK_LEN;
    c.stack_cap = STACK_LEN;
    c.stack = malloc(STACK_LEN);
    if (c.stack) {
        memcpy(c.stack, data + 8 + 16 * 8, STACK_LEN);
        volatile uint64_t sink = 0;
        run(u, &c, &sink);
        run(u, &c, &sink);
        if (data[4] & 2) {
            c.regs.rip = u64(c.stack);
            run(u, &c, &sink);
        }
        struct unwind_stats st;
        unwind_get_stats(u, &st);
        (void)sink;
    }
    free(c.stack);
    unwind_free(u);
    as_free(as);
    free(copy);
    return 0;
}
