/*
 * pyfind.h - is a process running CPython, which version, and where.
 *
 * From /proc/PID/maps, the files that may hold the interpreter (libpython*
 * first, then the executable: statically linked interpreters like Debian's
 * python3.11 and programs embedding libpython both work) are opened through
 * /proc/PID/root and their ELF symbol tables (.dynsym and .symtab) searched
 * for _PyRuntime (3.7+) or interp_head (<= 3.6), Py_Version (3.11+),
 * _PyThreadState_Current (<= 3.6) and PyCode_Type.  The version comes from
 * Py_Version, else the libpython file name, else a "X.Y.Z" version string
 * in .rodata (PY_VERSION, bounded scan).  Files are untrusted: sizes are checked and
 * reads bounded by libelf and by caps here.
 *
 * Reads files and /proc only, never the target's memory, except in
 * pyfind_target (the 3.13+ _Py_DebugOffsets, through the reader given).
 * Called once per target (and again when the maps change) by the session.
 */
#ifndef PERTOP_PYFIND_H
#define PERTOP_PYFIND_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampler/python/pyframes.h"

enum pyfind_vsrc { PYFIND_V_NONE, PYFIND_V_PY_VERSION, PYFIND_V_FILENAME, PYFIND_V_STRING };

struct pyfind_result {
    int major, minor, micro;        /* micro -1 when only X.Y is known */
    enum pyfind_vsrc vsrc;          /* where the version came from */
    char path[PATH_MAX];            /* file with the runtime symbol, as the target sees it */
    uint64_t bias;                  /* load bias of that file in the target */
    uint64_t runtime;               /* address of _PyRuntime (3.7+), else 0 */
    uint64_t interp_head;           /* address of interp_head (<= 3.6), else 0 */
    uint64_t tstate_current;        /* address of _PyThreadState_Current, else 0 */
    uint64_t code_type;             /* address of PyCode_Type, else 0 */
    const struct py_layout *layout; /* generated table for the version, or NULL */
};

/*
 * Looks for a CPython in process pid.  0 when found and supported (layout
 * set); -ENOENT when no mapped file has the interpreter's symbols (not a
 * Python, or one without symbols); -ENOTSUP when found but its version has
 * no table here, with a message in err such as "pertop: PID 42 runs Python
 * 3.14, which this pertop does not know — profiling native frames only";
 * other -errno when /proc cannot be read.  *out is filled as far as known in
 * every case.
 */
int pyfind(pid_t pid, struct pyfind_result *out, char *err, size_t errsz);

/* The same on one ELF file (the executable or a libpython), mapped at load
 * bias `bias`: for tests and for files pertop already has open. */
int pyfind_file(const char *open_path, const char *target_path, uint64_t bias,
                struct pyfind_result *out, char *err, size_t errsz);

/*
 * Fills *t for the walker: the layout (3.13+: from the target's own
 * _Py_DebugOffsets, read through mem, falling back to the table with a note
 * in err), the root address, and the type addresses.  0 or -errno.
 */
int pyfind_target(const struct pyfind_result *r, struct pyread mem, struct pyf_target *t, char *err,
                  size_t errsz);

#endif
