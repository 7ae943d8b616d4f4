/*
 * screen.h - the terminal, through curses: the only module that includes
 * curses.  Opens and restores the terminal, maps curses keys and mouse
 * events to ui_key codes, and draws ui_lines with htop-like colours (or
 * plain attributes with NO_COLOR / --no-color).
 *
 * The terminal is restored on every exit: screen_close on a normal end,
 * and a handler for crash signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT) that puts the saved terminal modes back with async-signal-safe
 * calls only and then lets the signal kill the process as before.
 */
#ifndef PERTOP_UI_SCREEN_H
#define PERTOP_UI_SCREEN_H

#include <stdbool.h>

#include "ui/text.h"

struct screen;

enum { SCREEN_NO_KEY = -1, SCREEN_MOUSE = 0x20000 };

struct screen_mouse {
    int y, x;
    bool click; /* button 1 */
    int wheel;  /* -1 up, +1 down, 0 none */
};

/* NULL when the terminal cannot be used (the caller falls back to text). */
struct screen *screen_open(bool color);
void screen_close(struct screen *s);
bool screen_utf8(const struct screen *s);
void screen_size(const struct screen *s, int *lines, int *cols);
/* After SIGWINCH: asks the terminal for its size and resizes. */
void screen_resize(struct screen *s);
/* A key (character or UI_KEY_*), SCREEN_MOUSE with *m filled, or
 * SCREEN_NO_KEY when none is waiting.  Never blocks. */
int screen_key(struct screen *s, struct screen_mouse *m);

void screen_begin(struct screen *s);
/* Draws l at (y, x), w columns (padded); selected: the whole row as the
 * cursor row. */
void screen_line(struct screen *s, int y, int x, int w, const struct ui_line *l, bool selected);
/* A vertical separator, h rows from (y, x): a box-drawing line in UTF-8,
 * '|' otherwise (not the terminal's alternate charset, which terminals
 * inside tmux or screen often show as letters). */
void screen_vline(struct screen *s, int y, int x, int h, bool utf8);
void screen_end(struct screen *s);

#endif
