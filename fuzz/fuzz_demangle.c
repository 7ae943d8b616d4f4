/*
 * fuzz_demangle.c - the demangler wrapper (C++ Itanium, Rust legacy and v0).
 *
 * The input, NUL-terminated, is a symbol name as read from a target's ELF
 * symbol table; it goes to demangle(), and again with "_Z" and "_R" put in
 * front so that most inputs reach libiberty.  A finding (crash, ASan or
 * UBSan report, leak, hang, a stack overflow) is a bug in demangle():
 * whatever libiberty cannot take safely, the wrapper must not hand it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/demangle.h"

static void one(const char *prefix, const uint8_t *data, size_t size)
{
    size_t pl = strlen(prefix);
    char *name = malloc(pl + size + 1);
    if (!name)
        return;
    memcpy(name, prefix, pl);
    memcpy(name + pl, data, size);
    name[pl + size] = '\0';
    char *out = demangle(name);
    if (out && !out[0])
        __builtin_trap(); /* a demangled name is never empty */
    free(out);
    free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one("", data, size);
    one("_Z", data, size);
    one("_R", data, size);
    return 0;
}
