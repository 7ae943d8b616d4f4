/*
 * elfsyms.c - see elfsyms.h.
 */
#include "sampler/unwind/elfsyms.h"

void elfsyms_each(Elf *elf, unsigned stt, size_t max, elfsym_fn fn, void *ctx)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        Elf_Data *d;
        if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
            continue;
        if (!sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
            continue;
        size_t n = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; i < n && i < max; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
                GELF_ST_TYPE(sym.st_info) != stt)
                continue;
            const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
            if (name && name[0])
                fn(ctx, name, &sym);
        }
    }
}
