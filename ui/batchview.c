/*
 * batchview.c - see batchview.h.
 */
#include "ui/batchview.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "ui/keys.h"
#include "src/model/liveview.h"
#include "ui/textshot.h"
#include "ui/views.h"

bool batchview_wanted(const struct cli_opts *o)
{
    return o->view != VIEW_HOT || o->zoom_tid || o->zoom_module;
}

void batchview_request(const struct cli_opts *o, struct live_req *req)
{
    memset(req, 0, sizeof *req);
    req->recent = false;
    req->v.view = ui_view_ops_cli(o->view)->kind;
    req->v.func_name = o->view_func;
    req->v.expand_all = true;
    req->v.min_pct = BATCHVIEW_MIN_PCT;
    req->v.zoom.tid = o->zoom_tid;
    if (o->zoom_module)
        snprintf(req->v.zoom.module, sizeof req->v.zoom.module, "%s", o->zoom_module);
}

/* A one-line summary above the view: what was profiled, how much. */
static void summary(FILE *f, const struct live_frame *fr)
{
    fprintf(f, "pertop: PID %d  %s  %.1f s  %llu samples\n", (int)fr->run.pid, fr->run.cmdline,
            fr->run.elapsed_s, (unsigned long long)fr->run.samples);
}

int batchview_print(struct session *s, const struct cli_opts *o, FILE *f, char *err, size_t errsz)
{
    struct live_req req;
    batchview_request(o, &req);
    struct live_frame *fr = live_frame_new();
    if (!fr || session_live(s, &req, clock_mono_ns(), NULL, fr) < 0) {
        live_frame_free(fr);
        snprintf(err, errsz, "pertop: out of memory building the --view output");
        return -ENOMEM;
    }
    struct ui_state st;
    ui_state_init(&st);
    st.recent = false;
    int rc = 0;
    if (fr->view_err[0]) {
        snprintf(err, errsz,
                 "pertop: --view %s:%s: %s — printed the hot functions instead; give an exact "
                 "name from them",
                 ui_view_ops_cli(o->view)->batch_name, o->view_func ? o->view_func : "",
                 fr->view_err);
        fr->view = LIVE_MAIN;
        fr->view_err[0] = '\0';
        rc = -ENOENT;
    }
    summary(f, fr);
    int wrc = textshot_write_view(f, fr, &st, "", BATCHVIEW_WIDTH, o->rows);
    if (wrc < 0) {
        snprintf(err, errsz, "pertop: cannot write the --view output: %s", strerror(-wrc));
        rc = wrc;
    }
    live_frame_free(fr);
    return rc;
}
