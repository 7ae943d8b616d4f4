/*
 * disasm.h - one function's machine code, read from its ELF file and
 * disassembled with Capstone, for the instruction view.
 *
 * The code is read from the file on disk (not from the target: pertop never
 * reads the target's text after the capture), through the PT_LOAD segment
 * that maps the function's ELF vaddrs.  The file is untrusted: headers are
 * read through libelf, the code read is capped at DISASM_MAX_BYTES, and a
 * byte sequence Capstone cannot decode becomes a one-byte "(bad)" row, so a
 * corrupt or data-filled range still gives a bounded, complete listing.
 *
 * Syntax: AT&T on x86, as objdump -d and perf annotate print by default,
 * so the listing can be compared with theirs.  x86-64, i386 and AArch64
 * files are understood; any other machine gives -ENOTSUP with a message.
 *
 * Branches and calls with a direct target carry it (target), so the view
 * can show labels inside the function and callee names outside it.
 * No global state; a struct disasm is immutable once made.
 */
#ifndef PERTOP_DISASM_H
#define PERTOP_DISASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISASM_MAX_BYTES (256u << 10) /* of one function */
#define DISASM_TEXT_MAX  160          /* bytes of one instruction's text */

struct disasm_insn {
    uint64_t addr;   /* ELF vaddr */
    uint64_t target; /* direct branch/call target, 0 none */
    uint16_t size;
    bool is_call, is_jump, is_ret;
    const char *text; /* "divsd  %xmm1, %xmm0": mnemonic, operands */
};

struct disasm {
    uint64_t start, size; /* range disassembled (size may be cut: truncated) */
    bool truncated;       /* the function was longer than DISASM_MAX_BYTES */
    struct disasm_insn *insn;
    size_t n;
    char *text; /* storage of every insn's text */
};

/* Read [start, start + size) of the ELF file open as fd (not closed,
 * read with pread) and disassemble it.  0, or -errno with a message in err:
 * -ENOEXEC (not ELF / range not in a loaded segment), -ENOTSUP (machine),
 * -EIO, -ENOMEM. */
int disasm_file(int fd, uint64_t start, uint64_t size, struct disasm **out, char *err,
                size_t errsz);
/* The same on code already in memory, for an ELF machine (EM_X86_64...). */
int disasm_buf(unsigned elf_machine, const uint8_t *code, size_t len, uint64_t start,
               struct disasm **out, char *err, size_t errsz);
void disasm_free(struct disasm *d);
/* Index of the instruction containing addr, or SIZE_MAX. */
size_t disasm_find(const struct disasm *d, uint64_t addr);

#endif
