/*
 * fuzz_pylines.c - the CPython line-table decoders.
 *
 * Byte 0 picks the format (co_lnotab unsigned and signed, the 3.10
 * co_linetable, the 3.11+ location table), bytes 1-4 the code's
 * co_firstlineno, bytes 5-8 the instruction offset looked up; the rest is
 * the table, as read from the target's code object.  The offset is also
 * looked up at a few points around it.  A finding (crash, ASan or UBSan
 * report, hang) is a bug in a decoder: the table bytes are the target's.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sampler/python/pylines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    static const enum pylines_format fmts[] = {PYLINES_LNOTAB_UNSIGNED, PYLINES_LNOTAB,
                                               PYLINES_LINETABLE_310, PYLINES_LOCATIONS_311};
    enum pylines_format fmt = fmts[data[0] % 4];
    int32_t first;
    int32_t off;
    memcpy(&first, data + 1, 4);
    memcpy(&off, data + 5, 4);
    const uint8_t *tab = data + 9;
    size_t len = size - 9;
    volatile unsigned sink = 0;
    static const int64_t around[] = {0, 1, -1, 2, 64, 1 << 20};
    for (size_t i = 0; i < sizeof around / sizeof around[0]; i++)
        sink += (unsigned)pylines_addr2line(fmt, tab, len, first, (int64_t)off + around[i]);
    sink += (unsigned)pylines_addr2line(fmt, tab, len, first, INT64_MAX);
    sink += (unsigned)pylines_addr2line(fmt, tab, len, first, INT64_MIN);
    (void)sink;
    return 0;
}
