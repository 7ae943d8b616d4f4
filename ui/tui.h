/*
 * tui.h - the live screen's loop: keys, signals and frames on one poll.
 *
 * Runs on main's thread.  It never waits for the target or the symbolizer:
 * frames come from the refresher (src/live.h) through an eventfd, keys
 * from stdin, stop signals and SIGWINCH from main's signalfd, and a key is
 * answered with a redraw at once from the frame at hand.  Returns when the
 * user quits, a stop signal arrives or --duration ends; the target is left
 * to the caller (session_stop detaches it).
 */
#ifndef PERTOP_UI_TUI_H
#define PERTOP_UI_TUI_H

#include <stdbool.h>

#include "src/cli.h"

struct session;

enum tui_result {
    TUI_QUIT,       /* q */
    TUI_SIGNAL,     /* SIGINT, SIGTERM, SIGHUP */
    TUI_DURATION,   /* --duration ended */
    TUI_NO_TERMINAL /* the screen could not start: use the text display */
};

enum tui_result tui_run(struct session *s, const struct cli_opts *o, int sigfd);

#endif
