/*
 * ptengine.h - the ptrace sampler (ptsampler.h) behind the engine
 * interface (engine.h): paced by the caller, stops each thread briefly.
 * The fallback where perf_event is refused.
 */
#ifndef PERTOP_PTENGINE_H
#define PERTOP_PTENGINE_H

#include "sampler/engine.h"

extern const struct engine_ops ptrace_engine_ops;

#endif
