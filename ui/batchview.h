/*
 * batchview.h - what a --batch run prints at its end for --view, --thread
 * and --module: the view built by the session (session_live, the same
 * code the screen's refresher runs) and written by the screen's renderers
 * (ui/textshot.h), so a batch view is the text the screen would snapshot.
 *
 * Trees are printed fully expanded down to rows of BATCHVIEW_MIN_PCT of
 * the samples (smaller rows would drown the picture in noise; the hot
 * list and --format folded have them all).  A NAME that matches no sampled
 * function, or several: the run is not wasted, the hot functions are
 * printed instead and the caller gets the reason (with the candidates) to
 * show and exit 2.  Called by main after the session stopped sampling.
 */
#ifndef PERTOP_UI_BATCHVIEW_H
#define PERTOP_UI_BATCHVIEW_H

#include <stdbool.h>
#include <stdio.h>

#include "src/cli.h"
#include "src/session/session.h"

#define BATCHVIEW_MIN_PCT 0.5
#define BATCHVIEW_WIDTH   120

/* True when o asks for something else than the plain text snapshot. */
bool batchview_wanted(const struct cli_opts *o);
/* The request that builds o's view (cumulative window). */
void batchview_request(const struct cli_opts *o, struct live_req *req);
/* Builds and writes o's view to f.  0; -ENOENT when NAME matched nothing
 * or several functions (the hot view was written, err says why); -EIO or
 * -ENOMEM (err says so). */
int batchview_print(struct session *s, const struct cli_opts *o, FILE *f, char *err, size_t errsz);

#endif
