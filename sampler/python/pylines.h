/*
 * pylines.h - CPython line-number tables: byte offset -> source line.
 *
 * Pure functions over byte strings copied out of a target's code object; no
 * I/O, no allocation.  The table is untrusted: every decoder stops at len,
 * never reads past it, and loops at most len times.  Three formats:
 *
 *   PYLINES_LNOTAB_UNSIGNED  co_lnotab of 2.7 (and 3.0-3.5): (addr, line)
 *                            byte pairs, both increments unsigned.
 *   PYLINES_LNOTAB           co_lnotab of 3.6-3.9: line increment signed.
 *   PYLINES_LINETABLE_310    co_linetable of 3.10: (byte length, signed
 *                            line delta) pairs, -128 = no line.
 *   PYLINES_LOCATIONS_311    co_linetable of 3.11+: location entries
 *                            (varints), each covering 1-8 code units.
 *
 * The offset is always a byte offset into co_code (co_code_adaptive on
 * 3.11+).  Callers convert: f_lasti is bytes up to 3.9, code units (x2) on
 * 3.10, and (prev_instr|instr_ptr - code start) bytes on 3.11+.
 * Used by pyframes (per sample, on cached tables) and by tests.
 */
#ifndef PERTOP_PYLINES_H
#define PERTOP_PYLINES_H

#include <stddef.h>
#include <stdint.h>

enum pylines_format {
    PYLINES_LNOTAB_UNSIGNED,
    PYLINES_LNOTAB,
    PYLINES_LINETABLE_310,
    PYLINES_LOCATIONS_311,
};

/* The line of the instruction at byte `offset`, as PyCode_Addr2Line
 * computes it: >= 0, or -1 when the instruction has no line (3.10+
 * artificial instructions) or the offset lies past the table (3.10+;
 * lnotab gives the last line there, as CPython does).  A negative offset
 * (frame not started) gives firstlineno, as CPython does. */
int pylines_addr2line(enum pylines_format fmt, const uint8_t *tab, size_t len, int firstlineno,
                      int64_t offset);

int pylines_lnotab(const uint8_t *tab, size_t len, int firstlineno, int64_t offset,
                   int signed_deltas);
int pylines_linetable310(const uint8_t *tab, size_t len, int firstlineno, int64_t offset);
int pylines_locations311(const uint8_t *tab, size_t len, int firstlineno, int64_t offset);

#endif
