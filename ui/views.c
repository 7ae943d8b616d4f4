/*
 * views.c - see views.h.  The functions here adapt the panes' renderers
 * (ui/pane_*.h) to one signature over the frame; the entries at the end
 * are the one place that says what each view kind is.
 */
#include "ui/views.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "ui/pane_annot.h"
#include "ui/pane_func.h"
#include "ui/pane_hot.h"
#include "ui/pane_tree.h"

/* Title, column header and every row, as the screen draws them. */
static void write_rows(FILE *out, const struct live_frame *f, const char *crumbs, int width,
                       struct ui_line *l)
{
    const struct ui_view_ops *ops = ui_view_ops_of(f->view);
    ops->title(f, crumbs, width, l);
    line_write(l, out);
    ops->header(f, width, l);
    line_write(l, out);
    size_t n = ops->rows(f);
    for (size_t i = 0; i < n; i++) {
        ops->row(f, i, width, l);
        line_write(l, out);
    }
}

/* ------------------------------------------------------------ the panes */

static int hot_write(FILE *out, const struct live_frame *f, const struct ui_view_text *o,
                     struct ui_line *l)
{
    size_t *idx = malloc((f->nhot ? f->nhot : 1) * sizeof *idx);
    if (!idx)
        return -ENOMEM;
    size_t n = pane_hot_order(f, o->st, idx);
    if (o->max_rows && n > o->max_rows)
        n = o->max_rows;
    fprintf(out, "\nHot functions (%s%s)\n", o->st->recent ? "recent 5 s" : "cumulative",
            o->st->filter[0] ? ", filtered" : "");
    pane_hot_header_vs(o->st, f->have_baseline, o->width, l);
    line_write(l, out);
    for (size_t i = 0; i < n; i++) {
        pane_hot_row_vs(&f->hot[idx[i]], f->have_baseline, o->width, l);
        line_write(l, out);
    }
    free(idx);
    return 0;
}

/* ------------------------------------------------------------ function view */

static size_t func_rows(const struct live_frame *f)
{
    return pane_func_rows(&f->fn);
}

static void func_cursor(const struct live_frame *f, size_t sel, struct ui_key_ctx *c)
{
    c->cursor_func = pane_func_row_func(&f->fn, sel);
    c->cursor_func_name = c->cursor_func == PANE_FUNC_NONE ? NULL : f->fn.name;
    for (size_t i = 0; c->cursor_func != PANE_FUNC_NONE && i < f->fn.ncallers + f->fn.ncallees;
         i++) {
        const struct lv_edge_row *e =
            i < f->fn.ncallers ? &f->fn.callers[i] : &f->fn.callees[i - f->fn.ncallers];
        if (e->func == c->cursor_func)
            c->cursor_func_name = e->name;
    }
    c->cursor_module = f->fn.module; /* d: the module of the function in view */
}

static void func_title(const struct live_frame *f, const char *crumbs, int width,
                       struct ui_line *out)
{
    pane_func_title(&f->fn, crumbs, width, out);
}

static void func_header(const struct live_frame *f, int width, struct ui_line *out)
{
    (void)f;
    pane_func_header(width, out);
}

static void func_row(const struct live_frame *f, size_t i, int width, struct ui_line *out)
{
    pane_func_row(&f->fn, i, width, out);
}

static int func_write(FILE *out, const struct live_frame *f, const struct ui_view_text *o,
                      struct ui_line *l)
{
    write_rows(out, f, o->crumbs, o->width, l);
    return 0;
}

/* ------------------------------------------------------------ trees */

static size_t tree_rows(const struct live_frame *f)
{
    return f->ntree;
}

static void tree_cursor(const struct live_frame *f, size_t sel, struct ui_key_ctx *c)
{
    const struct lv_tree_row *r = &f->tree[sel];
    c->cursor_func = r->func;
    c->cursor_func_name = r->name;
    c->cursor_module = r->module;
    c->cursor_hash = r->hash;
    c->cursor_has_children = r->has_children;
    c->cursor_expanded = r->expanded;
    c->cursor_parent = r->parent;
    if (!ui_view_ops_of(f->view)->root_paths || r->depth >= ZOOM_PATH_MAX)
        return; /* Z zooms into the function then */
    /* the path from the root, through the parent rows */
    unsigned n = r->depth + 1;
    size_t k = sel;
    for (unsigned i = n; i-- > 0 && k != SIZE_MAX; k = f->tree[k].parent)
        c->cursor_path[i] = f->tree[k].func;
    c->cursor_npath = n;
}

static void topdown_title(const struct live_frame *f, const char *crumbs, int width,
                          struct ui_line *out)
{
    (void)crumbs;
    pane_tree_title(false, f->tree_samples, width, out);
}

static void inverted_title(const struct live_frame *f, const char *crumbs, int width,
                           struct ui_line *out)
{
    (void)crumbs;
    pane_tree_title(true, f->tree_samples, width, out);
}

static void topdown_header(const struct live_frame *f, int width, struct ui_line *out)
{
    (void)f;
    pane_tree_header(false, width, out);
}

static void inverted_header(const struct live_frame *f, int width, struct ui_line *out)
{
    (void)f;
    pane_tree_header(true, width, out);
}

static void tree_row(const struct live_frame *f, size_t i, int width, struct ui_line *out)
{
    pane_tree_row(&f->tree[i], width, out);
}

static int tree_write(FILE *out, const struct live_frame *f, const struct ui_view_text *o,
                      struct ui_line *l)
{
    write_rows(out, f, o->crumbs, o->width, l);
    if (!f->ntree)
        fputs("(no samples)\n", out);
    return 0;
}

/* ------------------------------------------------------------ source and instructions */

/* f->annot is NULL only when building it ran out of memory. */
static size_t annot_rows(const struct live_frame *f)
{
    return f->annot ? pane_annot_rows(f->annot) : 0;
}

static void annot_cursor(const struct live_frame *f, size_t sel, struct ui_key_ctx *c)
{
    c->cursor_module = f->fn.module;
    c->hottest = pane_annot_next_hot(f->annot, SIZE_MAX);
    c->next_hot = pane_annot_next_hot(f->annot, sel);
    c->prev_hot = pane_annot_prev_hot(f->annot, sel);
}

static void annot_title(const struct live_frame *f, const char *noun, int width,
                        struct ui_line *out)
{
    if (f->annot) {
        pane_annot_title(f->annot, width, out);
        return;
    }
    line_init(out, ROLE_DIM);
    line_add(out, ROLE_WARN, " no %s view: out of memory", noun);
}

static void source_title(const struct live_frame *f, const char *crumbs, int width,
                         struct ui_line *out)
{
    (void)crumbs; /* the title names the function */
    annot_title(f, "source", width, out);
}

static void asm_title(const struct live_frame *f, const char *crumbs, int width,
                      struct ui_line *out)
{
    (void)crumbs;
    annot_title(f, "instruction", width, out);
}

/* Without a view the line keeps the title's warning: the screen shows it
 * on the header's row too. */
static void annot_header(const struct live_frame *f, int width, struct ui_line *out)
{
    if (f->annot)
        pane_annot_header(f->annot, width, out);
}

static void annot_row(const struct live_frame *f, size_t i, int width, struct ui_line *out)
{
    pane_annot_row(f->annot, i, width, out);
}

static void annot_write(FILE *out, const struct live_frame *f, const struct ui_view_text *o,
                        const char *noun, struct ui_line *l)
{
    if (o->crumbs && o->crumbs[0])
        fprintf(out, "%s\n", o->crumbs); /* the way here; the title names the function */
    if (!f->annot) {
        fprintf(out, "(%s view not available)\n", noun);
        return;
    }
    write_rows(out, f, o->crumbs, o->width, l);
}

static int source_write(FILE *out, const struct live_frame *f, const struct ui_view_text *o,
                        struct ui_line *l)
{
    annot_write(out, f, o, "source", l);
    return 0;
}

static int asm_write(FILE *out, const struct live_frame *f, const struct ui_view_text *o,
                     struct ui_line *l)
{
    annot_write(out, f, o, "instruction", l);
    return 0;
}

/* ------------------------------------------------------------ the entries */

static const char *const pane_keys[][2] = {
    {"h", "Help"},      {"q", "Quit"},     {"Tab", "Pane"}, {"1-4", "Layout"}, {"/", "Filter"},
    {"Enter", "Drill"}, {"T", "Tree"},     {"t", "Thread"}, {"w", "Window"},   {"<>", "Sort"},
    {"p", "Pause"},     {"s", "Snapshot"}, {"+-", "Rate"},  {"z", "Zero"},     {"i", "PyNative"},
};

static const char *const func_keys[][2] = {
    {"Esc", "Back"},   {"Enter", "Go to"}, {"v", "Source"}, {"a", "Asm"},      {"T", "Tree"},
    {"B", "Inverted"}, {"Z", "Zoom"},      {"d", "Module"}, {"s", "Snapshot"}, {"h", "Help"},
};

static const char *const tree_keys[][2] = {
    {"Esc", "Back"},   {"Enter", "Open/close"}, {"+-", "Open/close"}, {"H", "Hot path"},
    {"Z", "Zoom"},     {"d", "Module"},         {"v", "Source"},      {"a", "Asm"},
    {"s", "Snapshot"}, {"h", "Help"},
};

static const char *const annot_keys[][2] = {
    {"Esc", "Back"}, {"n", "Next hot"}, {"N", "Prev hot"}, {"v", "Source"}, {"a", "Asm"},
    {"Z", "Zoom"},   {"s", "Snapshot"}, {"S", "Profile"},  {"h", "Help"},
};

#define STATUS_KEYS(k) .status_keys = k, .nstatus_keys = sizeof k / sizeof k[0]

static const struct ui_view_ops main_ops = {
    .kind = LIVE_MAIN,
    .batch_name = "hot",
    .cli = VIEW_HOT,
    .crumb = "hot",
    STATUS_KEYS(pane_keys),
    .write = hot_write,
};

static const struct ui_view_ops func_ops = {
    .kind = LIVE_FUNC,
    .batch_name = "callers",
    .cli = VIEW_CALLERS,
    .about_func = true,
    .crumb = "",
    .key = ui_func_key,
    STATUS_KEYS(func_keys),
    .rows = func_rows,
    .cursor = func_cursor,
    .title = func_title,
    .header = func_header,
    .row = func_row,
    .write = func_write,
};

static const struct ui_view_ops tree_ops = {
    .kind = LIVE_TREE,
    .batch_name = "tree",
    .cli = VIEW_TREE,
    .open_key = 'T',
    .crumb = "call tree",
    .root_paths = true,
    .expand_slot = 0,
    .key = ui_tree_key,
    STATUS_KEYS(tree_keys),
    .rows = tree_rows,
    .cursor = tree_cursor,
    .title = topdown_title,
    .header = topdown_header,
    .row = tree_row,
    .write = tree_write,
};

static const struct ui_view_ops inverted_ops = {
    .kind = LIVE_INVERTED,
    .batch_name = "inverted",
    .cli = VIEW_INVERTED,
    .open_key = 'B',
    .crumb = "inverted tree",
    .expand_slot = 1,
    .key = ui_tree_key,
    STATUS_KEYS(tree_keys),
    .rows = tree_rows,
    .cursor = tree_cursor,
    .title = inverted_title,
    .header = inverted_header,
    .row = tree_row,
    .write = tree_write,
};

static const struct ui_view_ops source_ops = {
    .kind = LIVE_SOURCE,
    .batch_name = "source",
    .cli = VIEW_SOURCE,
    .open_key = 'v',
    .about_func = true,
    .crumb = "source of ",
    .key = ui_annot_key,
    STATUS_KEYS(annot_keys),
    .rows = annot_rows,
    .cursor = annot_cursor,
    .title = source_title,
    .header = annot_header,
    .row = annot_row,
    .write = source_write,
};

static const struct ui_view_ops asm_ops = {
    .kind = LIVE_ASM,
    .batch_name = "asm",
    .cli = VIEW_ASM,
    .open_key = 'a',
    .about_func = true,
    .crumb = "instructions of ",
    .key = ui_annot_key,
    STATUS_KEYS(annot_keys),
    .rows = annot_rows,
    .cursor = annot_cursor,
    .title = asm_title,
    .header = annot_header,
    .row = annot_row,
    .write = asm_write,
};

static const struct ui_view_ops *const by_kind[LIVE_VIEW_COUNT] = {
    [LIVE_MAIN] = &main_ops,         [LIVE_FUNC] = &func_ops,     [LIVE_TREE] = &tree_ops,
    [LIVE_INVERTED] = &inverted_ops, [LIVE_SOURCE] = &source_ops, [LIVE_ASM] = &asm_ops,
};

const struct ui_view_ops *ui_view_ops_of(enum live_view v)
{
    return (unsigned)v < LIVE_VIEW_COUNT && by_kind[v] ? by_kind[v] : &main_ops;
}

const struct ui_view_ops *ui_view_ops_cli(enum cli_view v)
{
    for (size_t i = 0; i < LIVE_VIEW_COUNT; i++)
        if (by_kind[i] && by_kind[i]->cli == v)
            return by_kind[i];
    return &main_ops;
}
