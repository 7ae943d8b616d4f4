/*
 * screen.c - see screen.h.
 */
#include "ui/screen.h"

#include <curses.h>
#include <langinfo.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "common/busguard.h"
#include "ui/keys.h"

struct screen {
    bool utf8, color;
    attr_t attr[ROLE_COUNT];
};

/* The one piece of global state: a crash handler gets no context, so the
 * terminal modes to restore must be where it can find them.  Written once
 * before the handlers are installed, read only by them. */
static struct termios crash_termios;
static volatile sig_atomic_t crash_armed;

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static void crash_restore(int sig)
{
    if (crash_armed) {
        /* leave the alternate screen, show the cursor, stop mouse reports,
         * reset attributes: what endwin would do, signal-safely */
        static const char reset[] =
            "\033[?1000l\033[?1002l\033[?1006l\033[0m\033[?25h\033[?1049l\r\n";
        tcsetattr(STDOUT_FILENO, TCSANOW, &crash_termios);
        ssize_t n = write(STDOUT_FILENO, reset, sizeof reset - 1);
        (void)n;
        crash_armed = 0;
    }
    /* SA_RESETHAND put the default action back: let it happen */
    raise(sig);
}

static void crash_arm(void)
{
    if (tcgetattr(STDOUT_FILENO, &crash_termios) != 0)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = crash_restore;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = (int)SA_RESETHAND | SA_NODEFER;
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        sigaction(crash_signals[i], &sa, NULL);
    busguard_install(); /* a truncated file's SIGBUS first, then this */
    crash_armed = 1;
}

static void crash_disarm(void)
{
    crash_armed = 0;
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        signal(crash_signals[i], SIG_DFL);
    busguard_install();
}

enum {
    PAIR_LABEL = 1,
    PAIR_HEAD,
    PAIR_SORT,
    PAIR_SEL,
    PAIR_GREEN,
    PAIR_YELLOW,
    PAIR_RED,
    PAIR_GRAPH,
    PAIR_KEY,
    PAIR_KEYLABEL,
    PAIR_DIM
};

static void colour_attrs(struct screen *s)
{
    start_color();
    use_default_colors();
    init_pair(PAIR_LABEL, COLOR_CYAN, -1);
    init_pair(PAIR_HEAD, COLOR_BLACK, COLOR_GREEN);
    init_pair(PAIR_SORT, COLOR_BLACK, COLOR_CYAN);
    init_pair(PAIR_SEL, COLOR_BLACK, COLOR_CYAN);
    init_pair(PAIR_GREEN, COLOR_GREEN, -1);
    init_pair(PAIR_YELLOW, COLOR_YELLOW, -1);
    init_pair(PAIR_RED, COLOR_RED, -1);
    init_pair(PAIR_GRAPH, COLOR_CYAN, -1);
    init_pair(PAIR_KEY, COLOR_WHITE, COLOR_BLACK);
    init_pair(PAIR_KEYLABEL, COLOR_BLACK, COLOR_CYAN);
    init_pair(PAIR_DIM, COLOR_BLUE, -1);
    s->attr[ROLE_NORMAL] = A_NORMAL;
    s->attr[ROLE_DIM] = COLOR_PAIR(PAIR_DIM) | A_BOLD;
    s->attr[ROLE_LABEL] = COLOR_PAIR(PAIR_LABEL);
    s->attr[ROLE_VALUE] = A_BOLD;
    s->attr[ROLE_TITLE] = COLOR_PAIR(PAIR_GREEN) | A_BOLD;
    s->attr[ROLE_COLHEAD] = COLOR_PAIR(PAIR_HEAD);
    s->attr[ROLE_SORTCOL] = COLOR_PAIR(PAIR_SORT) | A_BOLD;
    s->attr[ROLE_SELECTED] = COLOR_PAIR(PAIR_SEL);
    s->attr[ROLE_BAR_LOW] = COLOR_PAIR(PAIR_GREEN);
    s->attr[ROLE_BAR_MID] = COLOR_PAIR(PAIR_YELLOW) | A_BOLD;
    s->attr[ROLE_BAR_HIGH] = COLOR_PAIR(PAIR_RED) | A_BOLD;
    s->attr[ROLE_GRAPH] = COLOR_PAIR(PAIR_GRAPH);
    s->attr[ROLE_WARN] = COLOR_PAIR(PAIR_RED) | A_BOLD;
    s->attr[ROLE_KEY] = COLOR_PAIR(PAIR_KEY) | A_BOLD;
    s->attr[ROLE_KEYLABEL] = COLOR_PAIR(PAIR_KEYLABEL);
}

static void mono_attrs(struct screen *s)
{
    for (int i = 0; i < ROLE_COUNT; i++)
        s->attr[i] = A_NORMAL;
    s->attr[ROLE_VALUE] = s->attr[ROLE_TITLE] = s->attr[ROLE_WARN] = A_BOLD;
    s->attr[ROLE_BAR_HIGH] = s->attr[ROLE_KEY] = A_BOLD;
    s->attr[ROLE_COLHEAD] = s->attr[ROLE_SELECTED] = s->attr[ROLE_KEYLABEL] = A_REVERSE;
    s->attr[ROLE_SORTCOL] = A_REVERSE | A_BOLD;
}

struct screen *screen_open(bool color)
{
    struct screen *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    crash_arm();
    if (!initscr()) {
        crash_disarm();
        free(s);
        return NULL;
    }
    s->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    cbreak(); /* Ctrl-C stays a signal: it arrives on main's signalfd */
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25); /* Esc clears the filter at once */
    curs_set(0);
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);
    s->color = color && has_colors();
    if (s->color)
        colour_attrs(s);
    else
        mono_attrs(s);
    return s;
}

void screen_close(struct screen *s)
{
    if (!s)
        return;
    mousemask(0, NULL);
    curs_set(1);
    endwin();
    crash_disarm();
    free(s);
}

bool screen_utf8(const struct screen *s)
{
    return s->utf8;
}

void screen_size(const struct screen *s, int *lines, int *cols)
{
    (void)s;
    getmaxyx(stdscr, *lines, *cols);
}

void screen_resize(struct screen *s)
{
    (void)s;
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        resizeterm(ws.ws_row, ws.ws_col);
}

static int map_key(int ch)
{
    switch (ch) {
    case KEY_UP:
        return UI_KEY_UP;
    case KEY_DOWN:
        return UI_KEY_DOWN;
    case KEY_LEFT:
        return UI_KEY_LEFT;
    case KEY_RIGHT:
        return UI_KEY_RIGHT;
    case KEY_PPAGE:
        return UI_KEY_PGUP;
    case KEY_NPAGE:
        return UI_KEY_PGDN;
    case KEY_HOME:
        return UI_KEY_HOME;
    case KEY_END:
        return UI_KEY_END;
    case KEY_ENTER:
    case '\n':
    case '\r':
        return UI_KEY_ENTER;
    case KEY_BACKSPACE:
    case 127:
    case 8:
        return UI_KEY_BACKSPACE;
    case 27:
        return UI_KEY_ESC;
    case '\t':
        return UI_KEY_TAB;
    case KEY_BTAB:
        return UI_KEY_BTAB;
    case KEY_F(1):
        return UI_KEY_F1;
    case KEY_F(10):
        return UI_KEY_F10;
    default:
        return ch;
    }
}

int screen_key(struct screen *s, struct screen_mouse *m)
{
    (void)s;
    int ch = getch();
    if (ch == ERR)
        return SCREEN_NO_KEY;
    if (ch == KEY_RESIZE)
        return SCREEN_NO_KEY - 1; /* handled through SIGWINCH; just redraw */
    if (ch == 12) {
        /* Ctrl-L: something wrote to the terminal behind curses' back */
        clearok(curscr, TRUE);
        return SCREEN_NO_KEY - 1;
    }
    if (ch != KEY_MOUSE)
        return map_key(ch);
    MEVENT ev;
    if (getmouse(&ev) != OK)
        return SCREEN_NO_KEY;
    memset(m, 0, sizeof *m);
    m->y = ev.y;
    m->x = ev.x;
    m->click = (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) != 0;
    m->wheel = (ev.bstate & BUTTON4_PRESSED) ? -1 : (ev.bstate & BUTTON5_PRESSED) ? 1 : 0;
    return SCREEN_MOUSE;
}

void screen_begin(struct screen *s)
{
    (void)s;
    erase(); /* not clear(): curses sends only what changed, so no flicker */
}

void screen_line(struct screen *s, int y, int x, int w, const struct ui_line *l, bool selected)
{
    if (w <= 0)
        return;
    struct ui_line c = *l;
    line_cut(&c, w);
    line_pad(&c, w);
    move(y, x);
    if (selected) {
        attrset(s->attr[ROLE_SELECTED]);
        addnstr(c.text, (int)c.len);
        attrset(A_NORMAL);
        return;
    }
    size_t at = 0;
    for (unsigned i = 0; i <= c.nspan; i++) {
        size_t start = i < c.nspan ? c.span[i].start : c.len;
        if (start > at) {
            attrset(s->attr[c.role]);
            addnstr(c.text + at, (int)(start - at));
        }
        if (i == c.nspan)
            break;
        attrset(s->attr[c.span[i].role]);
        addnstr(c.text + start, c.span[i].len);
        at = start + c.span[i].len;
    }
    attrset(A_NORMAL);
}

void screen_vline(struct screen *s, int y, int x, int h, bool utf8)
{
    attrset(s->attr[ROLE_DIM]);
    for (int i = 0; i < h; i++)
        mvaddstr(y + i, x, utf8 ? "\u2502" : "|");
    attrset(A_NORMAL);
}

void screen_end(struct screen *s)
{
    (void)s;
    refresh();
}
