/*
 * demangle.c - C++ and Rust demangling through libiberty; see demangle.h.
 *
 * Rust is tried before C++ because Rust legacy names are valid Itanium
 * names too (_ZN...17h<hash>E), and C++ would print them with the hash.
 * (This is what cplus_demangle does with DMGL_AUTO; note that adding
 * DMGL_RUST to DMGL_AUTO makes it return the Rust result even when that is
 * NULL, so C++ names would never be demangled.)  The callback variants are
 * used because they never call xmalloc, which exits the process when memory
 * runs out; the output is collected in a bounded buffer of our own.  A
 * name whose output would pass that bound is given up at once: the callback
 * jumps back out of libiberty (whose callback variants hold nothing but
 * stack), since libiberty itself may go on for hours otherwise (a Rust v0
 * binder of 2^60 lifetimes prints them one by one).
 */
#include "symbols/demangle.h"
#include "common/vec.h"

#include <ctype.h>
#include <setjmp.h>
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
    jmp_buf full; /* where collect goes when the output is over the cap */
};

static void collect(const char *piece, size_t n, void *opaque)
{
    struct outbuf *b = opaque;
    /* libiberty's Rust demangler hands empty pieces as (NULL, 0) */
    if (n == 0)
        return;
    /* the piece and a NUL, within DEMANGLE_MAX_OUTPUT bytes in all */
    if (n >= SIZE_MAX - b->len ||
        vec_reserve_max(&b->s, &b->cap, b->len + n + 1, 1, DEMANGLE_MAX_OUTPUT) < 0) {
        free(b->s);
        b->s = NULL;
        longjmp(b->full, 1);
    }
    memcpy(b->s + b->len, piece, n);
    b->len += n;
    b->s[b->len] = '\0';
}

typedef int (*demangle_fn)(const char *, int, demangle_callbackref, void *);

/* The name demangled by fn into b (b->s, NUL-terminated, b->len > 0), or
 * false with nothing allocated. */
static bool demangle_with(demangle_fn fn, const char *name, struct outbuf *b)
{
    b->s = NULL;
    b->len = b->cap = 0;
    if (setjmp(b->full))
        return false; /* over the cap: collect freed the buffer */
    if (!fn(name, DMGL_PARAMS | DMGL_ANSI, collect, b) || !b->s || b->len == 0) {
        free(b->s);
        b->s = NULL;
        return false;
    }
    return true;
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

/*
 * libiberty's Rust v0 demangler loops once per lifetime of a binder ("G"
 * and a base-62 count, right after the "F" of a fn type or the "D" of a
 * dyn type), printing them or, inside a part it skips, not even calling
 * collect: a count of 2^60 is hours.  A v0 name with a binder of more than
 * V0_MAX_BINDER lifetimes (real ones have a few) is refused.  The scan
 * cannot tell a binder from an identifier's bytes ("PDFGenerator_x" holds
 * "FGenerator_"), so such a name stays mangled: the price of never hanging.
 */
#define V0_MAX_BINDER 1024u

static int base62_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'z' ? c - 'a' + 10
           : c >= 'A' && c <= 'Z' ? c - 'A' + 36
                                  : -1;
}

static bool v0_huge_binder(const char *name)
{
    for (const char *g = strchr(name, 'G'); g; g = strchr(g + 1, 'G')) {
        if (g == name || (g[-1] != 'F' && g[-1] != 'D'))
            continue;
        uint64_t v = 0; /* the count is the number + 1, + 1 again if not empty */
        const char *q = g + 1;
        for (int d; (d = base62_digit(*q)) >= 0; q++)
            v = v > V0_MAX_BINDER ? v : v * 62 + (uint64_t)d;
        if (*q == '_' && v + 2 > V0_MAX_BINDER)
            return true;
    }
    return false;
}

static bool is_rust_v0(const char *name)
{
    if (name[0] == '_' && name[1] == '_')
        name++;
    return name[0] == '_' && name[1] == 'R';
}

char *demangle(const char *name)
{
    if (!name || !looks_mangled(name) || strnlen(name, DEMANGLE_MAX_INPUT) >= DEMANGLE_MAX_INPUT)
        return NULL;
    if (is_rust_v0(name) && v0_huge_binder(name))
        return NULL;
    struct outbuf b;
    if (!demangle_with(rust_demangle_callback, name, &b) &&
        !demangle_with(cplus_demangle_v3_callback, name, &b))
        return NULL;
    drop_rust_hash(b.s);
    return b.s;
}
