/*
 * busguard.h - pertop survives a file truncated under its mappings.
 *
 * pertop maps the target's executables and libraries read-only (libelf,
 * the unwinder's images).  When one of them is truncated in place while
 * mapped, reading a page past its new end raises SIGBUS, which would end
 * pertop.  The guard's handler maps a page of zeros over the faulting page
 * and lets the read go on: the parsers see zeros, which they treat as
 * they treat any corrupt bytes.  Any other SIGBUS goes on to the handler
 * that was there before (the screen's, which restores the terminal) or to
 * the default action.
 *
 * Process-wide, as signal handlers are: install it from main's wiring, and
 * again after anything else installs a SIGBUS handler (it chains to it).
 */
#ifndef PERTOP_BUSGUARD_H
#define PERTOP_BUSGUARD_H

#include <stdint.h>

/* 0, or -errno when the handler could not be installed. */
int busguard_install(void);
/* Pages replaced by zeros so far. */
uint64_t busguard_hits(void);

#endif
