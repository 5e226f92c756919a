/* unwind_modules.c: unwind_lookup over struct modules and pe_image. */
#include "unwind_modules.h"

#include "kd_status.h"

#define SCN_CNT_CODE 0x00000020u
#define SCN_MEM_EXECUTE 0x20000000u

static struct pe_image *image_of(struct unwind_modules *um, uint64_t va, struct module **mod)
{
    struct pe_image *pe = NULL;
    *mod = um->modules ? modules_find(um->modules, va) : NULL;
    if (*mod && modules_pe(um->target, *mod, &pe) != KD_OK)
        pe = NULL;
    return pe;
}

static int find(void *user, uint64_t pc, uint64_t *image_base, uint32_t *begin, uint32_t *end,
                uint32_t *unwind_rva)
{
    struct module *mod;
    struct pe_image *pe = image_of(user, pc, &mod);
    struct pe_runtime_function rf;
    struct unwind_modules *um = user;
    if (!pe || pe_image_load_pdata(um->target, pe) != KD_OK ||
        pe_image_pdata_lookup(um->target, pe, (uint32_t)(pc - mod->base), &rf, NULL) != KD_OK)
        return KD_ERR_NOTFOUND; /* the walker then applies the leaf rule */
    *image_base = mod->base;
    *begin = rf.begin;
    *end = rf.end;
    *unwind_rva = rf.unwind;
    return KD_OK;
}

static int is_code(void *user, uint64_t addr)
{
    struct module *mod;
    struct pe_image *pe = image_of(user, addr, &mod);
    if (!mod)
        return 0;
    if (!pe)
        return 1; /* headers unreadable (paged out): the module range is all we know */
    const struct pe_section *s = pe_image_section(pe, (uint32_t)(addr - mod->base));
    return s && (s->characteristics & (SCN_CNT_CODE | SCN_MEM_EXECUTE)) != 0;
}

void unwind_modules_lookup(struct unwind_modules *um, struct unwind_lookup *out)
{
    out->user = um;
    out->find = find;
    out->is_code = is_code;
    out->read = NULL; /* unwind info is read through the walker's own cache */
}
