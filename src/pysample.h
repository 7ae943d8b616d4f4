/*
 * pysample.h - CPython frames for the ptrace sampler, and what the
 * processing thread needs to merge them with native frames.
 *
 * Owns the walker (pyframes) and the link to the code registry.  Its
 * ptsampler hooks run on the sampler thread:
 *   round    finds the interpreter (at once with --pid; for a launched
 *            command, again every 200 ms for the first 10 s, as the
 *            interpreter appears only after exec), then lists the thread
 *            states and the GIL holder: once per round, not per thread
 *   want     with --gil, only the thread holding the GIL
 *   stopped  walks the stopped thread's frames into the capture: addresses
 *            and lines only, no names, no allocation
 *   resumed  copies the names of new code objects into the registry
 * The eval-loop address ranges (pysample_is_eval) and pysample_ready are
 * read by the processing thread: they are written once, before `ready` is
 * published with release order, and never change after.
 */
#ifndef PERTOP_PYSAMPLE_H
#define PERTOP_PYSAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ptsampler.h"
#include "pycode_reg.h"

struct pysample;

/* A context for process pid (nothing is read yet).  NULL when out of
 * memory. */
struct pysample *pysample_new(pid_t pid, struct pycode_reg *reg, bool gil_only, bool retry);
void pysample_free(struct pysample *p);

/* Looks for the interpreter now.  1 found and supported, 0 not a Python
 * (or not yet), < 0 found but unusable: err then says why and that native
 * frames are still profiled.  Sampler thread, or before it starts. */
int pysample_find(struct pysample *p, char *err, size_t errsz);

struct ptsampler_hooks pysample_hooks(struct pysample *p);

/* Processing thread (any thread). */
bool pysample_ready(const struct pysample *p);
/* "CPython 3.12.1" once ready, else "". */
const char *pysample_describe(const struct pysample *p);
/* The file holding the interpreter, as the target names it. */
const char *pysample_module_path(const struct pysample *p);
/* Is vaddr (an ELF address of pysample_module_path) inside the eval loop? */
bool pysample_is_eval(const struct pysample *p, uint64_t vaddr);
/* The directory of the script the target runs ("" when unknown), for
 * shortening file names. */
const char *pysample_script_dir(const struct pysample *p);

#endif
