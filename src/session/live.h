/*
 * live.h - the refresher: a thread that builds the live screen's frames.
 *
 * Reading procfs (procstat) and symbolizing new frames can take long on a
 * big target, so neither runs on the thread that reads keys.  The refresher
 * builds a frame every interval, and at once when the screen asks for other
 * views (live_request) or for zeroed counts (live_zero); it hands each
 * finished frame over through a slot and makes live_fd readable.  The
 * screen takes frames with live_take and never waits for one.
 *
 * After the target exits the refresher keeps the recent window ending at
 * the moment it saw the exit, so the last views stay on screen.
 */
#ifndef PERTOP_LIVE_H
#define PERTOP_LIVE_H

#include "src/session/session.h"

struct live;
struct live_frame;

/* Starts the refresher thread on s; NULL with errno on failure. */
struct live *live_start(struct session *s, double interval_s, const struct live_req *req);
/* Readable when a new frame waits in the slot; live_take drains it. */
int live_fd(const struct live *l);
/* The newest frame, owned by the caller from now on, or NULL. */
struct live_frame *live_take(struct live *l);
/* Views wanted from now on; a frame for them is built at once. */
void live_request(struct live *l, const struct live_req *req);
/* Zero the counts (under the model lock, on the refresher) and rebuild. */
void live_zero(struct live *l);
/* Writes the profile in fmt to path (session_write, through path.tmp and a
 * rename) on the refresher, which owns the symbolizer; the next frame's msg
 * says where it went or why it failed. */
void live_save(struct live *l, const char *path, enum output_format fmt, bool threads);
/* Stops and joins the thread; frees everything.  NULL is fine. */
void live_stop(struct live *l);

#endif
