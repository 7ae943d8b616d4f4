/*
 * demangle.h - C++ and Rust (legacy and v0) name demangling.
 *
 * Returns a malloc'd demangled name, or NULL when name is not mangled or not
 * recognised (the caller keeps the raw name).  Rust legacy hashes (::h0123...)
 * are dropped.
 */
#ifndef PERTOP_DEMANGLE_H
#define PERTOP_DEMANGLE_H

char *demangle(const char *name);

#endif
