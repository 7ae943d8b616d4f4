/*
 * pylive.h - the CPython live-read engine (--python --nonblocking) behind
 * the engine interface (engine.h).
 *
 * Nothing is stopped and nothing attached: each round reads every Python
 * thread's frames from the live interpreter (pysample_nb_round), finds the
 * threads in the interpreter's own list and their state in /proc, and drops
 * the walks that were torn, counting them.  Paced by the caller.  The
 * engine config's reader is the pysample context (owned by the caller).
 */
#ifndef PERTOP_PYLIVE_H
#define PERTOP_PYLIVE_H

#include "sampler/engine.h"

extern const struct engine_ops python_live_engine_ops;

#endif
