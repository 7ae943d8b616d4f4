/*
 * pylines.c - CPython line tables, decoded as the interpreter of each
 * version decodes them (Objects/codeobject.c, PyCode_Addr2Line and the
 * address-range iterators of 3.10+).
 */
#include "sampler/python/pylines.h"

#include <limits.h>
#include <stdbool.h>

/* Lines are summed in 64 bits, held within LINE_SAT of 0 (a table of the
 * target's can add up without bound), and a line outside int is unknown:
 * firstlineno and the deltas are the target's bytes. */
#define LINE_SAT ((int64_t)1 << 40)

static int64_t line_add(int64_t line, int delta)
{
    line += delta;
    return line > LINE_SAT ? LINE_SAT : line < -LINE_SAT ? -LINE_SAT : line;
}

static int line_out(int64_t line)
{
    return line < INT_MIN || line > INT_MAX ? -1 : (int)line;
}

int pylines_lnotab(const uint8_t *tab, size_t len, int firstlineno, int64_t offset,
                   int signed_deltas)
{
    int64_t line = firstlineno;
    int64_t addr = 0;

    if (offset < 0)
        return firstlineno;
    /* An odd trailing byte is ignored, as CPython's size / 2 does. */
    for (size_t i = 0; i + 1 < len; i += 2) {
        addr += tab[i];
        if (addr > offset)
            break;
        line = line_add(line, signed_deltas ? (int8_t)tab[i + 1] : (int)tab[i + 1]);
    }
    return line_out(line);
}

int pylines_linetable310(const uint8_t *tab, size_t len, int firstlineno, int64_t offset)
{
    int64_t start, end = 0;
    int64_t computed = firstlineno;

    if (offset < 0)
        return firstlineno;
    /* Entries of length 0 only carry line deltas; an entry covers
     * [start, end) bytes and has line -1 when its delta is -128. */
    for (size_t i = 0; i + 1 < len; i += 2) {
        int8_t ldelta = (int8_t)tab[i + 1];
        int line = -1;

        start = end;
        end += tab[i];
        if (ldelta != -128) {
            computed = line_add(computed, ldelta);
            line = line_out(computed);
        }
        if (start <= offset && offset < end)
            return line;
    }
    return -1;
}

/* Location-table varints: 6 bits a byte, bit 6 says more follow. */
static size_t scan_varint(const uint8_t *tab, size_t len, size_t i, uint32_t *out)
{
    uint32_t val = 0;
    unsigned shift = 0;

    while (i < len) {
        uint8_t b = tab[i++];
        if (shift < 32)
            val |= (uint32_t)(b & 63) << shift;
        shift += 6;
        if (!(b & 64))
            break;
    }
    *out = val;
    return i;
}

static int line_delta311(const uint8_t *tab, size_t len, size_t i)
{
    int code = (tab[i] >> 3) & 15;
    uint32_t u;

    switch (code) {
    case 13: /* no columns */
    case 14: /* long form */
        scan_varint(tab, len, i + 1, &u);
        return (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
    case 11: /* one-line forms: delta 1 and 2 */
    case 12:
        return code - 10;
    default: /* 15: no location; 0-10: same line */
        return 0;
    }
}

int pylines_locations311(const uint8_t *tab, size_t len, int firstlineno, int64_t offset)
{
    int64_t start, end = 0;
    int64_t computed = firstlineno;
    size_t i = 0;

    if (offset < 0)
        return firstlineno;
    while (i < len) {
        bool no_line = (tab[i] >> 3) == 0x1f;
        int line;

        computed = line_add(computed, line_delta311(tab, len, i));
        line = no_line ? -1 : line_out(computed);
        start = end;
        end += ((tab[i] & 7) + 1) * 2; /* code units of 2 bytes */
        if (start <= offset && offset < end)
            return line;
        /* The next entry starts at the next byte with bit 7 set. */
        do
            i++;
        while (i < len && !(tab[i] & 128));
    }
    return -1;
}

int pylines_addr2line(enum pylines_format fmt, const uint8_t *tab, size_t len, int firstlineno,
                      int64_t offset)
{
    switch (fmt) {
    case PYLINES_LNOTAB_UNSIGNED:
        return pylines_lnotab(tab, len, firstlineno, offset, 0);
    case PYLINES_LNOTAB:
        return pylines_lnotab(tab, len, firstlineno, offset, 1);
    case PYLINES_LINETABLE_310:
        return pylines_linetable310(tab, len, firstlineno, offset);
    case PYLINES_LOCATIONS_311:
        return pylines_locations311(tab, len, firstlineno, offset);
    }
    return -1;
}
