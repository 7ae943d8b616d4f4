/*
 * views.h - one table of operations per view kind (enum live_view): all
 * the ways the screen (ui/tui.c), the text snapshot and --batch --view
 * (ui/textshot.c, ui/batchview.c), the keys (ui/keys.c) and the status line
 * (ui/help.c) treat one kind differently from another.  A new kind is a
 * new entry in ui/views.c; its callers look it up and need no edit.
 *
 * The lookups never return NULL.  LIVE_MAIN is the panes: its entry names
 * the hot list (batch name, cli view, breadcrumb root, status keys) and
 * writes it as text; its drill-down functions (key, rows to row) are NULL,
 * as nothing draws the panes as one view.  Every other kind has every
 * function.  They change only what they are given: the key state, the
 * lines, the stream.
 */
#ifndef PERTOP_UI_VIEWS_H
#define PERTOP_UI_VIEWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "src/cli.h"
#include "src/model/liveview.h"
#include "ui/keys.h"
#include "ui/text.h"

/* What a view's text is written with, besides its frame. */
struct ui_view_text {
    const struct ui_state *st; /* the hot list's sort and filter */
    const char *crumbs;        /* the way there ("" or NULL: none) */
    int width;
    size_t max_rows; /* hot-function rows, 0 = all */
};

struct ui_view_ops {
    enum live_view kind;
    /* --view: the value's name ("callers" of callers:NAME) and what
     * src/cli.c parses it to */
    const char *batch_name;
    enum cli_view cli;
    /* how it is entered: the drill key that opens it (0: none; the
     * function view opens with Enter on a row); about_func: it shows the
     * function under the cursor, else the whole profile (and --view opens
     * the screen in it) */
    int open_key;
    bool about_func;
    /* breadcrumb: for about_func views the function's name follows */
    const char *crumb;
    bool root_paths;      /* rows are paths from the root: Z zooms into one */
    unsigned expand_slot; /* the ui_state.expand set of its open rows */
    /* its own keys, tried before those every view shares: true when key
     * is one of them, with what the caller must do in *a */
    bool (*key)(struct ui_state *st, int key, const struct ui_key_ctx *ctx, unsigned *a);
    const char *const (*status_keys)[2]; /* key and label, for the status line */
    size_t nstatus_keys;
    /* the screen: rows below the title and the column header */
    size_t (*rows)(const struct live_frame *f);
    /* what the key machine needs to know of row sel (sel < rows) */
    void (*cursor)(const struct live_frame *f, size_t sel, struct ui_key_ctx *c);
    void (*title)(const struct live_frame *f, const char *crumbs, int width, struct ui_line *out);
    void (*header)(const struct live_frame *f, int width, struct ui_line *out);
    void (*row)(const struct live_frame *f, size_t i, int width, struct ui_line *out);
    /* the whole view as plain text (snapshot, --batch --view); l is
     * scratch.  0 or -ENOMEM. */
    int (*write)(FILE *out, const struct live_frame *f, const struct ui_view_text *o,
                 struct ui_line *l);
};

/* The entry of v (LIVE_MAIN's when v is out of range). */
const struct ui_view_ops *ui_view_ops_of(enum live_view v);
/* The entry --view v asks for (LIVE_MAIN's when none does). */
const struct ui_view_ops *ui_view_ops_cli(enum cli_view v);

#endif
