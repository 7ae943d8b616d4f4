/*
 * pynames.h - thread names from CPython's threading module.
 *
 * threading.Thread(name=...) names live in the target's heap, not in the
 * OS: sys.modules["threading"].__dict__["_active"] maps each thread's
 * ident (pthread_self(), the thread state's thread_id) to its Thread
 * object, whose "_name" attribute is the name.  pynames_read follows that
 * chain through the reader of a pyf_target, with the dict and instance
 * layouts of the generated tables (2.7 hash tables, 3.6-3.10 compact
 * dicts, 3.11+ keys kinds, split tables, 3.11 managed, 3.12 tagged and
 * 3.13 inline instance values).
 *
 * Everything read is untrusted: dict sizes are capped, every entry is
 * read in bounded chunks, names through pyframes_str (bounded, no control
 * bytes); a chain that does not look right gives -EINVAL or no names,
 * never a guess.  It costs a few dozen target reads (the keys of
 * sys.modules are compared in one batched read), so the caller (pysample)
 * runs it about once a second, not per sample.  No allocation, no state:
 * the caller keeps the result.
 */
#ifndef PERTOP_PYNAMES_H
#define PERTOP_PYNAMES_H

#include <stddef.h>
#include <stdint.h>

#include "sampler/python/pyframes.h"

#define PYN_NAME_MAX 64   /* bytes kept of a thread's name */
#define PYN_MAX      256  /* threads named per read */
#define PYN_DICT_MAX 8192 /* entries looked at per dict */

struct pyname {
    uint64_t ident; /* the Thread's key in _active: pthread_self() of the thread */
    char name[PYN_NAME_MAX];
};

/*
 * The names of the threads in threading._active of interpreter `interp`,
 * up to cap (<= PYN_MAX) into out; *n is how many.  0 (also when the
 * threading module is not imported: *n = 0), or -errno when a pointer of
 * the chain cannot be read or a dict does not look like one.
 */
int pynames_read(const struct pyf_target *t, uint64_t interp, struct pyname *out, size_t cap,
                 size_t *n);

/* Building blocks, for the tests: the value of int object obj (2.7 int,
 * 3.x int of up to 64 bits, not negative) into *v; 0 or -EINVAL. */
int pynames_int(const struct pyf_target *t, uint64_t obj, uint64_t *v);

/* The value stored under the str key `key` in dict object `dict` (0 and
 * *found = 0 when absent). */
int pynames_dict_get(const struct pyf_target *t, uint64_t dict, const char *key, uint64_t *value);

/* Attribute `name` of instance obj (its __dict__ or its values), or 0. */
int pynames_attr(const struct pyf_target *t, uint64_t obj, const char *name, uint64_t *value);

#endif
