/*
 * help.c - see help.h.
 */
#include "ui/help.h"

#include <string.h>

#include "ui/views.h"
#include "src/model/runinfo.h"

static const char *const help_text[][2] = {
    {"", "pertop - live profiler: where the process spends its time"},
    {"", ""},
    {"q F10", "quit (pertop detaches; the process keeps running)"},
    {"h ? F1", "this help (any key returns)"},
    {"Ctrl-L", "repaint the whole screen"},
    {"Up Down j k", "move the cursor of the focused pane"},
    {"PgUp PgDn", "move by a page"},
    {"Home End", "go to the first or the last row"},
    {"Tab", "focus the next pane"},
    {"1 2 3 4", "layout: all panes / hot functions / threads / memory and I/O"},
    {"< >", "sort the focused pane by the previous or the next column"},
    {"I", "invert the sort order"},
    {"P", "sort the threads by CPU %"},
    {"M", "memory and I/O layout (threads share one address space)"},
    {"/", "filter function names as you type; Enter keeps it, Esc clears it"},
    {"t", "limit every pane to the thread under the threads cursor (again: all)"},
    {"w", "recent window (last 5 s) or cumulative counts"},
    {"space p", "pause the display (sampling goes on)"},
    {"z", "zero the counts"},
    {"i", "CPython: show every native frame of the interpreter, or fold them into"},
    {"", "              the Python function they run for (the default: Python-first)"},
    {"+ -", "raise or lower the sampling rate"},
    {"s", "save the view on screen as text: pertop-PID-DATE-TIME.txt"},
    {"S", "save the profile in --format (text when none): pertop-PID-DATE-TIME.EXT"},
    {"D", "the verdict: every finding with its evidence stack; Enter opens its function"},
    {"", ""},
    {"", "Drill-down (every view below the header; Esc or Backspace goes back):"},
    {"Enter", "function view of the function under the cursor (hot list, or the"},
    {"", "              function a thread is in now): callers and callees with shares"},
    {"", "              of its samples; Enter on one of them moves there"},
    {"T B", "call tree top down (like perf report --children), inverted (bottom up)"},
    {"Enter + Right", "in a tree: open the row (Enter again closes it)"},
    {"- Left", "in a tree: close the row, or go to its parent"},
    {"H", "in a tree: open the hottest path below the row"},
    {"v a", "source lines / instructions of the function, with sample counts"},
    {"n N", "in source or instructions: next / previous hot line (first: the hottest)"},
    {"Z", "zoom every view into the subtree under the tree row (elsewhere: into the"},
    {"", "              stacks through the function under the cursor)"},
    {"d", "zoom into the module (shared object) of the function; d again: all"},
    {"Esc", "at the top: clear the filter, then remove the zoom and thread limit"},
    {"mouse", "click a column header to sort by it, wheel to scroll (views: a row)"},
    {"", ""},
    {"", "Columns: SELF% samples with the function innermost, TOTAL% anywhere on"},
    {"", "the stack, SELF-T self samples as thread time; S is R running, S sleeping,"},
    {"", "D in uninterruptible wait, T stopped, Z zombie; NOW IN is the innermost"},
    {"", "function of the thread's latest sample."},
};

size_t help_lines(int width, struct ui_line *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof help_text / sizeof help_text[0] && n < max; i++, n++) {
        line_init(&out[n], ROLE_NORMAL);
        if (help_text[i][0][0])
            line_col(&out[n], ROLE_KEY, help_text[i][0], 13, false);
        else if (i == 0)
            line_add(&out[n], ROLE_TITLE, "%s", help_text[i][1]);
        if (i != 0)
            line_add(&out[n], ROLE_NORMAL, "%s%s", help_text[i][0][0] ? " " : "", help_text[i][1]);
        line_cut(&out[n], width);
    }
    return n;
}

/* text over as many lines as it takes, cut at spaces: the first line
 * after lead, the others indented under it, in role. */
static size_t wrap(const char *lead, const char *text, enum ui_role role, int width,
                   struct ui_line *out, size_t max)
{
    size_t n = 0, len = strlen(text);
    int w = width > 12 ? width - 6 : 6;
    for (size_t at = 0; at < len && n < max; n++) {
        size_t take = len - at;
        if (take > (size_t)w) {
            take = (size_t)w;
            while (take > (size_t)w / 2 && text[at + take] != ' ')
                take--;
        }
        line_init(&out[n], ROLE_NORMAL);
        line_add(&out[n], role, "%s%.*s", n ? "      " : lead, (int)take, text + at);
        line_cut(&out[n], width);
        at += take;
        while (at < len && text[at] == ' ')
            at++;
    }
    return n;
}

size_t diag_lines(const struct run_info *run, unsigned sel, int width, struct ui_line *out,
                  size_t max)
{
    size_t n = 0;
    if (max < 4)
        return 0;
    line_init(&out[n], ROLE_NORMAL);
    line_add(&out[n++], ROLE_TITLE, "Verdict: what the bottleneck is");
    line_init(&out[n], ROLE_NORMAL);
    line_add(&out[n++], ROLE_DIM,
             "Up/Down pick a finding, Enter opens its function, any other key returns");
    line_init(&out[n++], ROLE_NORMAL);
    if (!run->nverdict) {
        line_init(&out[n], ROLE_NORMAL);
        line_add(&out[n++], ROLE_DIM,
                 "no finding yet: pertop reads each thread's state every "
                 "250 ms and judges after a few readings");
    }
    for (unsigned i = 0; i < run->nverdict && n < max; i++) {
        enum ui_role role = i == sel ? ROLE_SELECTED : i == 0 ? ROLE_WARN : ROLE_NORMAL;
        n += wrap(i == sel ? "> " : "  ", run->verdict[i], role, width, out + n, max - n);
        if (run->verdict_stack[i][0] && n < max)
            n += wrap("  stack: ", run->verdict_stack[i], ROLE_DIM, width, out + n, max - n);
        if (n < max)
            line_init(&out[n++], ROLE_NORMAL);
    }
    return n;
}

static void put_keys(struct ui_line *out, const char *const (*k)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        line_add(out, ROLE_KEY, "%s", k[i][0]);
        line_add(out, ROLE_KEYLABEL, "%s ", k[i][1]);
    }
}

void help_status_line(const struct ui_state *st, int width, struct ui_line *out)
{
    line_init(out, ROLE_KEYLABEL);
    if (st->filtering) {
        line_add(out, ROLE_KEY, "Filter:");
        line_add(out, ROLE_KEYLABEL, " %s_   Enter keep  Esc clear", st->filter);
    } else if (st->msg[0]) {
        line_add(out, ROLE_KEYLABEL, "%s", st->msg);
    } else {
        /* the keys of the view on screen */
        const struct ui_view_ops *ops = ui_view_ops_of(ui_view(st));
        put_keys(out, ops->status_keys, ops->nstatus_keys);
    }
    line_cut(out, width);
    line_pad(out, width);
}
