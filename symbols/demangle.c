/*
 * demangle.c - C++ and Rust demangling through libiberty; see demangle.h.
 *
 * Rust is tried before C++ because Rust legacy names are valid Itanium
 * names too (_ZN...17h<hash>E), and C++ would print them with the hash.
 * (This is what cplus_demangle does with DMGL_AUTO; note that adding
 * DMGL_RUST to DMGL_AUTO makes it return the Rust result even when that is
 * NULL, so C++ names would never be demangled.)  The callback variants are
 * used because they never call xmalloc, which exits the process when memory
 * runs out; the output is collected in a bounded buffer of our own.
 */
#include "symbols/demangle.h"
#include "common/vec.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libiberty/demangle.h>

/* Symbol names come from untrusted files.  libiberty bounds its recursion
 * but puts arrays sized by the input length on the stack (~100 bytes per
 * input byte), so the input is capped; real names, even deep template
 * instantiations, are far below it.  The output cap bounds the buffer. */
#define DEMANGLE_MAX_INPUT  (8u * 1024u)
#define DEMANGLE_MAX_OUTPUT (64u * 1024u)

struct outbuf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void collect(const char *piece, size_t n, void *opaque)
{
    struct outbuf *b = opaque;
    /* libiberty's Rust demangler hands empty pieces as (NULL, 0) */
    if (b->failed || n == 0)
        return;
    /* the piece and a NUL, within DEMANGLE_MAX_OUTPUT bytes in all */
    if (n >= SIZE_MAX - b->len ||
        vec_reserve_max(&b->s, &b->cap, b->len + n + 1, 1, DEMANGLE_MAX_OUTPUT) < 0) {
        b->failed = true;
        return;
    }
    memcpy(b->s + b->len, piece, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static bool looks_mangled(const char *name)
{
    /* Itanium C++ and Rust legacy start with _Z, Rust v0 with _R.  Some
     * toolchains (and macOS-style names) add one more underscore. */
    if (name[0] == '_' && name[1] == '_')
        name++;
    return name[0] == '_' && (name[1] == 'Z' || name[1] == 'R');
}

/* Rust legacy names end in "::h" and 16 hex digits, a hash of the crate
 * and its dependencies.  libiberty drops it already; this catches any
 * demangler output that still carries it, since it only adds noise. */
static void drop_rust_hash(char *s)
{
    size_t len = strlen(s);
    if (len < 19)
        return;
    char *h = s + len - 19;
    if (memcmp(h, "::h", 3) != 0)
        return;
    for (int i = 3; i < 19; i++)
        if (!isxdigit((unsigned char)h[i]))
            return;
    *h = '\0';
}

char *demangle(const char *name)
{
    if (!name || !looks_mangled(name) || strnlen(name, DEMANGLE_MAX_INPUT) >= DEMANGLE_MAX_INPUT)
        return NULL;
    const int opts = DMGL_PARAMS | DMGL_ANSI;
    struct outbuf b = {0};
    int ok = rust_demangle_callback(name, opts, collect, &b);
    if (!ok || b.failed || !b.s) {
        free(b.s);
        b = (struct outbuf){0};
        ok = cplus_demangle_v3_callback(name, opts, collect, &b);
    }
    if (!ok || b.failed || !b.s || b.len == 0) {
        free(b.s);
        return NULL;
    }
    drop_rust_hash(b.s);
    return b.s;
}
