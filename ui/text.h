/*
 * text.h - the screen's lines as plain data: UTF-8 text with colour roles,
 * and the number formats every pane uses.
 *
 * Panes produce ui_lines; ui/screen.c draws them with curses attributes and
 * ui/textshot.c writes them as plain text, so a snapshot shows exactly what
 * the screen does.  Widths are display columns: every byte that does not
 * continue a UTF-8 sequence counts one (enough for the box and braille
 * characters pertop draws; wide CJK names are cut a column early).  No
 * curses here.
 */
#ifndef PERTOP_UI_TEXT_H
#define PERTOP_UI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ui_role {
    ROLE_NORMAL,
    ROLE_DIM,
    ROLE_LABEL,
    ROLE_VALUE,
    ROLE_TITLE,
    ROLE_COLHEAD,
    ROLE_SORTCOL,
    ROLE_SELECTED,
    ROLE_BAR_LOW,
    ROLE_BAR_MID,
    ROLE_BAR_HIGH,
    ROLE_GRAPH,
    ROLE_WARN,
    ROLE_KEY,
    ROLE_KEYLABEL,
    ROLE_COUNT
};

#define UI_LINE_MAX  1024 /* bytes of one line */
#define UI_SPANS_MAX 16
#define UI_COLS_MAX  300 /* wider terminals are drawn 300 columns wide */

struct ui_span {
    uint16_t start, len; /* bytes */
    uint8_t role;
};

struct ui_line {
    char text[UI_LINE_MAX];
    size_t len;
    uint8_t role; /* of everything outside the spans */
    struct ui_span span[UI_SPANS_MAX];
    unsigned nspan;
};

void line_init(struct ui_line *l, enum ui_role role);
/* Appends printf-formatted text in role (the line's own role: no span). */
void line_add(struct ui_line *l, enum ui_role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends s cut or padded to exactly cols columns; right-aligned if right. */
void line_col(struct ui_line *l, enum ui_role role, const char *s, int cols, bool right);
/* Pads with spaces to cols columns (no-op when already that wide). */
void line_pad(struct ui_line *l, int cols);
/* Cuts the line to at most cols columns, keeping spans consistent. */
void line_cut(struct ui_line *l, int cols);
int line_width(const struct ui_line *l);
/* Writes the text and a newline without its trailing blanks: they are
 * padding, not content (snapshots and --batch --view). */
void line_write(const struct ui_line *l, FILE *f);

/* Display columns of s (see above), and the bytes of its first cols columns. */
int text_width(const char *s);
size_t text_bytes_for(const char *s, int cols);

/* "12.3M", "980K", "1.2G" from KiB; "0" for 0. */
void fmt_kib(char *buf, size_t n, uint64_t kib);
/* Bytes per second: "1.2M/s", "0/s". */
void fmt_rate(char *buf, size_t n, double bps);
/* Seconds: "0.12s", "12.3s", "4:05", "1:02:03". */
void fmt_secs(char *buf, size_t n, double s);
/* Counts per second or plain counts: "12", "1.2k", "3.4M". */
void fmt_count(char *buf, size_t n, double v);

#endif
