/*
 * graph.c - see graph.h.
 */
#include "ui/graph.h"

#include <string.h>

/* Filled dots from the bottom: left column dots 7,3,2,1, right 8,6,5,4. */
static const uint8_t left_bits[5] = {0, 0x40, 0x44, 0x46, 0x47};
static const uint8_t right_bits[5] = {0, 0x80, 0xa0, 0xb0, 0xb8};

/* The value's height in steps (0..steps); anything above 0 shows. */
static int level(uint64_t v, uint64_t max, int steps)
{
    if (!v || !max)
        return 0;
    int l = (int)((double)v / (double)max * steps + 0.5);
    return l < 1 ? 1 : l > steps ? steps : l;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void braille_row(const int *lv, int nv, int cols, int base, struct ui_line *l,
                        enum ui_role role)
{
    char buf[UI_COLS_MAX * 3 + 1];
    size_t k = 0;
    for (int c = 0; c < cols; c++) {
        int a = lv[2 * c], b = 2 * c + 1 < nv ? lv[2 * c + 1] : 0;
        uint8_t bits = left_bits[clampi(a - base, 0, 4)] | right_bits[clampi(b - base, 0, 4)];
        /* U+2800 + bits in UTF-8 */
        buf[k++] = (char)0xe2;
        buf[k++] = (char)(0xa0 | (bits >> 6));
        buf[k++] = (char)(0x80 | (bits & 0x3f));
    }
    buf[k] = '\0';
    line_add(l, role, "%s", buf);
}

static void ascii_row(const int *lv, int cols, int base, struct ui_line *l, enum ui_role role)
{
    char buf[UI_COLS_MAX + 1];
    for (int c = 0; c < cols; c++) {
        int d = lv[c] - base;
        buf[c] = d >= 2 ? '#' : d == 1 ? '.' : ' ';
    }
    buf[cols] = '\0';
    line_add(l, role, "%s", buf);
}

void graph_draw(const uint64_t *v, size_t n, uint64_t max, int cols, int rows, bool utf8,
                enum ui_role role, struct ui_line *out)
{
    if (cols <= 0 || rows <= 0)
        return;
    if (cols > UI_COLS_MAX)
        cols = UI_COLS_MAX;
    int per_col = utf8 ? 2 : 1, per_row = utf8 ? 4 : 2;
    int nv = cols * per_col;
    int lv[UI_COLS_MAX * 2];
    memset(lv, 0, sizeof lv);
    if (!max)
        for (size_t i = 0; i < n; i++)
            max = v[i] > max ? v[i] : max;
    size_t take = n < (size_t)nv ? n : (size_t)nv;
    /* right-aligned: the newest value is the last slot */
    for (size_t i = 0; i < take; i++)
        lv[nv - (int)take + (int)i] = level(v[n - take + i], max, rows * per_row);
    for (int r = 0; r < rows; r++) {
        int base = (rows - 1 - r) * per_row;
        if (utf8)
            braille_row(lv, nv, cols, base, &out[r], role);
        else
            ascii_row(lv, cols, base, &out[r], role);
    }
}
