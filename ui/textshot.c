/*
 * textshot.c - see textshot.h.
 */
#include "ui/textshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui/help.h"
#include "common/outfile.h"
#include "ui/pane_memio.h"
#include "ui/pane_threads.h"
#include "ui/views.h"

#define MEM_LINES 10   /* memory pane with a 5-row graph */
#define IO_LINES  4096 /* enough for every blocked and busy thread */

static int write_threads(FILE *f, const struct live_frame *fr, const struct ui_state *st,
                         const struct textshot_opts *o, struct ui_line *l)
{
    size_t *idx = malloc((fr->nthr ? fr->nthr : 1) * sizeof *idx);
    if (!idx)
        return -ENOMEM;
    size_t n = pane_threads_order(fr, st, idx);
    fputs("\nThreads\n", f);
    bool pids = pane_threads_has_pids(fr);
    pane_threads_header(st, o->width, pids, l);
    line_write(l, f);
    for (size_t i = 0; i < n; i++) {
        pane_threads_row(&fr->thr[idx[i]], fr->run.pid, o->width, pids, l);
        line_write(l, f);
    }
    free(idx);
    return 0;
}

static int write_lines(FILE *f, const struct ui_line *lines, size_t n)
{
    fputc('\n', f);
    for (size_t i = 0; i < n; i++)
        line_write(&lines[i], f);
    return 0;
}

int textshot_write_view(FILE *f, const struct live_frame *fr, const struct ui_state *st,
                        const char *crumbs, int width, size_t max_rows)
{
    struct ui_line *l = malloc(sizeof *l);
    if (!l)
        return -ENOMEM;
    int rc = 0;
    if (fr->zoom_desc[0])
        fprintf(f, "Zoom: %s\n", fr->zoom_desc);
    if (fr->view_err[0]) {
        fprintf(f, "%s\n", fr->view_err);
    } else {
        struct ui_view_text o = {.st = st, .crumbs = crumbs, .width = width, .max_rows = max_rows};
        rc = ui_view_ops_of(fr->view)->write(f, fr, &o, l);
    }
    free(l);
    if (!rc && ferror(f))
        rc = -EIO;
    return rc;
}

int textshot_write(FILE *f, const struct live_frame *fr, const struct ui_state *st,
                   const struct textshot_opts *o)
{
    struct ui_line *l = malloc(IO_LINES * sizeof *l);
    if (!l)
        return -ENOMEM;
    header_lines(fr, st, o->width, HEADER_LINES_MAX, &o->hdr, l);
    for (int i = 0; i < HEADER_LINES_MAX; i++)
        line_write(&l[i], f);
    for (unsigned i = 1; i < fr->run.nverdict; i++) /* the screen shows the first */
        fprintf(f, "        %s\n", fr->run.verdict[i]);
    int rc = 0;
    if (fr->view != LIVE_MAIN) {
        /* a drill-down view fills the screen: it is the snapshot */
        free(l);
        fputc('\n', f);
        return textshot_write_view(f, fr, st, o->crumbs, o->width, o->max_rows);
    }
    if (o->shown[PANE_HOT]) {
        /* the hot list is the text of the panes' own view */
        struct ui_view_text t = {.st = st, .width = o->width, .max_rows = o->max_rows};
        rc = ui_view_ops_of(LIVE_MAIN)->write(f, fr, &t, l);
    }
    if (!rc && o->shown[PANE_THREADS])
        rc = write_threads(f, fr, st, o, l);
    if (!rc && o->shown[PANE_MEM])
        write_lines(
            f, l,
            pane_mem_lines(fr, o->width, MEM_LINES, o->hdr.utf8, o->hdr.interval_s, l, IO_LINES));
    if (!rc && o->shown[PANE_IO])
        write_lines(f, l, pane_io_lines(fr, st, o->width, l, IO_LINES));
    free(l);
    if (!rc && ferror(f))
        rc = -EIO;
    return rc;
}

void textshot_name(char *buf, size_t n, const char *dir, int pid, time_t t)
{
    struct tm tm;
    char stamp[32];
    localtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(buf, n, "%s/pertop-%d-%s.txt", dir && dir[0] ? dir : ".", pid, stamp);
}

/* The final name: base, or base with -2, -3... before ".txt" if taken. */
static int free_name(const char *base, char *path, size_t n)
{
    snprintf(path, n, "%s", base);
    size_t stem = strlen(base) - 4; /* without ".txt" */
    for (int k = 2; access(path, F_OK) == 0; k++) {
        if (k > 99)
            return -EEXIST;
        snprintf(path, n, "%.*s-%d.txt", (int)stem, base, k);
    }
    return 0;
}

struct shot_ctx {
    const struct live_frame *fr;
    const struct ui_state *st;
    const struct textshot_opts *o;
};

static int fill_shot(FILE *f, void *arg)
{
    const struct shot_ctx *c = arg;
    return textshot_write(f, c->fr, c->st, c->o);
}

int textshot_save(const char *dir, const struct live_frame *fr, const struct ui_state *st,
                  const struct textshot_opts *o, char *path, size_t n)
{
    char base[4096];
    textshot_name(base, sizeof base, dir, (int)fr->run.pid, time(NULL));
    int rc = free_name(base, path, n);
    if (rc < 0)
        return rc;
    struct shot_ctx c = {fr, st, o};
    return outfile_write(path, fill_shot, &c);
}
