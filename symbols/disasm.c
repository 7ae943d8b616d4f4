/*
 * disasm.c - see disasm.h.
 */
#include "symbols/disasm.h"
#include "common/vec.h"
#include "common/range.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Capstone handle settings for an ELF machine; false when not supported. */
static bool cs_arch_of(unsigned machine, cs_arch *arch, cs_mode *mode)
{
    switch (machine) {
    case EM_X86_64:
        *arch = CS_ARCH_X86;
        *mode = CS_MODE_64;
        return true;
    case EM_386:
        *arch = CS_ARCH_X86;
        *mode = CS_MODE_32;
        return true;
    case EM_AARCH64:
        *arch = CS_ARCH_ARM64;
        *mode = CS_MODE_ARM;
        return true;
    default:
        return false;
    }
}

/* The direct target of a branch or call: its immediate operand. */
static uint64_t direct_target(cs_arch arch, const cs_insn *in)
{
    if (!in->detail)
        return 0;
    if (arch == CS_ARCH_X86) {
        const cs_x86 *x = &in->detail->x86;
        if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM)
            return (uint64_t)x->operands[0].imm;
        return 0;
    }
    /* the target is the last operand: tbz x0, #3, label */
    const cs_arm64 *a = &in->detail->arm64;
    if (a->op_count && a->operands[a->op_count - 1].type == ARM64_OP_IMM)
        return (uint64_t)a->operands[a->op_count - 1].imm;
    return 0;
}

static bool in_group(const cs_insn *in, uint8_t group)
{
    if (!in->detail)
        return false;
    for (unsigned i = 0; i < in->detail->groups_count; i++)
        if (in->detail->groups[i] == group)
            return true;
    return false;
}

/* Appends the text of one instruction to d->text; returns its offset, or
 * SIZE_MAX when out of memory.  Offsets, not pointers: the buffer grows. */
static size_t put_text(struct disasm *d, size_t *cap, size_t *used, const char *mn, const char *ops)
{
    if (vec_reserve(&d->text, cap, *used + DISASM_TEXT_MAX, 1) < 0)
        return SIZE_MAX;
    size_t off = *used;
    int n = snprintf(d->text + off, DISASM_TEXT_MAX, ops[0] ? "%-6s %s" : "%s", mn, ops);
    if (n < 0)
        n = 0;
    if (n >= DISASM_TEXT_MAX)
        n = DISASM_TEXT_MAX - 1;
    *used += (size_t)n + 1;
    return off;
}

/* Decodes the whole range; a byte Capstone cannot decode is one "(bad)"
 * row, as objdump prints, and decoding goes on after it. */
static int decode_all(csh h, cs_arch arch, cs_insn *ci, const uint8_t *code, size_t len,
                      struct disasm *d)
{
    size_t used = 0, tcap = 0, icap = 0, ocap = 0, pos = 0;
    size_t *offs = NULL; /* text offsets, turned into pointers at the end */
    while (pos < len) {
        /* room for one more instruction and its text offset */
        if (vec_reserve(&d->insn, &icap, d->n + 1, sizeof *d->insn) < 0 ||
            vec_reserve(&offs, &ocap, d->n + 1, sizeof *offs) < 0)
            goto nomem;
        const uint8_t *p = code + pos;
        size_t left = len - pos;
        uint64_t addr = d->start + pos;
        struct disasm_insn *di = &d->insn[d->n];
        if (cs_disasm_iter(h, &p, &left, &addr, ci)) {
            *di = (struct disasm_insn){
                .addr = ci->address,
                .size = ci->size,
                .is_call = in_group(ci, CS_GRP_CALL),
                .is_jump = in_group(ci, CS_GRP_JUMP),
                .is_ret = in_group(ci, CS_GRP_RET),
            };
            if (di->is_call || di->is_jump)
                di->target = direct_target(arch, ci);
            offs[d->n] = put_text(d, &tcap, &used, ci->mnemonic, ci->op_str);
            pos += ci->size;
        } else {
            *di = (struct disasm_insn){.addr = d->start + pos, .size = 1};
            offs[d->n] = put_text(d, &tcap, &used, "(bad)", "");
            pos++;
        }
        if (offs[d->n] == SIZE_MAX)
            goto nomem;
        d->n++;
    }
    for (size_t i = 0; i < d->n; i++)
        d->insn[i].text = d->text + offs[i];
    free(offs);
    return 0;
nomem:
    free(offs);
    return -ENOMEM;
}

int disasm_buf(unsigned elf_machine, const uint8_t *code, size_t len, uint64_t start,
               struct disasm **out, char *err, size_t errsz)
{
    cs_arch arch;
    cs_mode mode;
    *out = NULL;
    if (!cs_arch_of(elf_machine, &arch, &mode)) {
        snprintf(err, errsz, "no disassembler for ELF machine %u (x86-64, i386, AArch64 only)",
                 elf_machine);
        return -ENOTSUP;
    }
    bool truncated = len > DISASM_MAX_BYTES;
    if (truncated)
        len = DISASM_MAX_BYTES;
    csh h;
    if (cs_open(arch, mode, &h) != CS_ERR_OK) {
        snprintf(err, errsz, "cannot start the disassembler (Capstone)");
        return -ENOMEM;
    }
    if (arch == CS_ARCH_X86)
        cs_option(h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
    cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
    cs_insn *ci = cs_malloc(h);
    struct disasm *d = calloc(1, sizeof(*d));
    int rc = ci && d ? 0 : -ENOMEM;
    if (rc == 0) {
        *d = (struct disasm){.start = start, .size = len, .truncated = truncated};
        rc = decode_all(h, arch, ci, code, len, d);
    }
    if (ci)
        cs_free(ci, 1);
    cs_close(&h);
    if (rc < 0) {
        snprintf(err, errsz, "out of memory disassembling %zu bytes", len);
        disasm_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* File offset of [start, start + size) through the PT_LOAD that maps it
 * (file-backed part only). */
static int code_offset(Elf *elf, uint64_t start, uint64_t size, uint64_t *off)
{
    size_t nph;
    if (elf_getphdrnum(elf, &nph) != 0)
        return -ENOEXEC;
    for (size_t i = 0; i < nph && i < 4096; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
            continue;
        if (start >= ph.p_vaddr && start - ph.p_vaddr < ph.p_filesz &&
            size <= ph.p_filesz - (start - ph.p_vaddr)) {
            *off = ph.p_offset + (start - ph.p_vaddr);
            return 0;
        }
    }
    return -ENOEXEC;
}

/* Reads len bytes at off fully (short files give -EIO). */
static int read_exact(int fd, uint8_t *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        got += (size_t)n;
    }
    return 0;
}

static int elf_machine_and_offset(int fd, uint64_t start, uint64_t size, unsigned *machine,
                                  uint64_t *off)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return -ENOEXEC;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    GElf_Ehdr eh;
    int rc = -ENOEXEC;
    if (elf && elf_kind(elf) == ELF_K_ELF && gelf_getehdr(elf, &eh)) {
        *machine = eh.e_machine;
        rc = code_offset(elf, start, size, off);
    }
    if (elf)
        elf_end(elf);
    return rc;
}

int disasm_file(int fd, uint64_t start, uint64_t size, struct disasm **out, char *err, size_t errsz)
{
    *out = NULL;
    bool truncated = size > DISASM_MAX_BYTES;
    uint64_t len = truncated ? DISASM_MAX_BYTES : size;
    unsigned machine = 0;
    uint64_t off = 0;
    if (size == 0 || elf_machine_and_offset(fd, start, len, &machine, &off) < 0) {
        snprintf(err, errsz, "the code at 0x%llx is not in a loaded part of the ELF file",
                 (unsigned long long)start);
        return -ENOEXEC;
    }
    uint8_t *code = malloc(len);
    if (!code) {
        snprintf(err, errsz, "out of memory reading %llu bytes of code", (unsigned long long)len);
        return -ENOMEM;
    }
    int rc = read_exact(fd, code, len, off);
    if (rc < 0)
        snprintf(err, errsz, "cannot read the code at 0x%llx from the ELF file",
                 (unsigned long long)start);
    else
        rc = disasm_buf(machine, code, len, start, out, err, errsz);
    free(code);
    if (rc == 0 && truncated)
        (*out)->truncated = true;
    return rc;
}

void disasm_free(struct disasm *d)
{
    if (!d)
        return;
    free(d->insn);
    free(d->text);
    free(d);
}

/* An instruction covers [addr, addr + size). */
static void insn_bounds(const void *ctx, const void *elem, uint64_t *start, uint64_t *end)
{
    const struct disasm_insn *in = elem;
    (void)ctx;
    *start = in->addr;
    *end = in->addr + in->size;
}

size_t disasm_find(const struct disasm *d, uint64_t addr)
{
    return range_search(d->insn, d->n, sizeof *d->insn, addr, insn_bounds, NULL);
}
