/* sim_images.c: loads the embedded images and indexes their symbols. */
#include "sim_images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"

#define CALL_RIP_REL_LEN 6 /* ff 15 rel32 */

static void module_names(struct sim_module *m, const char *file)
{
    snprintf(m->file, sizeof(m->file), "%s", file);
    if (strcmp(file, "ntoskrnl.exe") == 0) {
        snprintf(m->name, sizeof(m->name), "nt");
    } else {
        size_t n = strcspn(file, ".");
        snprintf(m->name, sizeof(m->name), "%.*s", (int)(n < 15 ? n : 15), file);
    }
    bool kernel = strcmp(file, "ntoskrnl.exe") == 0 || strcmp(file, "hal.dll") == 0;
    snprintf(m->path, sizeof(m->path), "\\SystemRoot\\system32\\%s%s", kernel ? "" : "drivers\\",
             file);
}

static int add_fn(struct sim_images *im, struct sim_fn *fn)
{
    if (im->nfns % 64 == 0) {
        struct sim_fn *n = realloc(im->fns, (im->nfns + 64) * sizeof(*n));
        if (!n)
            return KD_ERR_NOMEM;
        im->fns = n;
    }
    im->fns[im->nfns++] = *fn;
    return KD_OK;
}

/* Reads the .simfn records { u32 rva, char name[] } of module mi. */
static int load_symbols(struct sim_images *im, uint16_t mi)
{
    const struct sim_module *m = &im->mods[mi];
    uint32_t rva, size, text = 0, text_size = 0;
    if (sim_pe_section(&m->pe, ".simfn", &rva, &size) != KD_OK)
        return KD_ERR_FORMAT;
    sim_pe_section(&m->pe, ".text", &text, &text_size);
    const uint8_t *p = m->pe.image + rva, *end = p + size;
    while (end - p > 4 && kd_le32(p) != 0) {
        struct sim_fn fn = {.module = mi, .rva = kd_le32(p)};
        const uint8_t *name = p + 4, *nul = memchr(name, 0, (size_t)(end - name));
        if (!nul || fn.rva >= m->size)
            return KD_ERR_FORMAT;
        fn.name = (const char *)name;
        fn.addr = m->base + fn.rva;
        fn.data = fn.rva < text || fn.rva - text >= text_size;
        fn.end = fn.rva;
        fn.exported = sim_pe_export(&m->pe, fn.name, NULL) == KD_OK;
        uint32_t b, e, u;
        if (!fn.data && sim_pe_lookup(&m->pe, fn.rva, &b, &e, &u) == KD_OK && b == fn.rva) {
            fn.end = e;
            fn.unwind = u;
            int st = sim_pe_unwind_at(&m->pe, u, e - b, &fn.full);
            if (st != KD_OK)
                return st;
        }
        int st = add_fn(im, &fn);
        if (st != KD_OK)
            return st;
        p = nul + 1;
    }
    return KD_OK;
}

/* Each .simcs record is the address right after one `call [rip+x]`. */
static int load_callsites(struct sim_images *im, uint16_t mi)
{
    const struct sim_module *m = &im->mods[mi];
    uint32_t rva, size;
    if (sim_pe_section(&m->pe, ".simcs", &rva, &size) != KD_OK)
        return KD_ERR_FORMAT;
    for (uint32_t off = 0; off + 4 <= size; off += 4) {
        uint32_t cs = kd_le32(m->pe.image + rva + off);
        if (cs == 0)
            break;
        if (cs < CALL_RIP_REL_LEN || cs >= m->size || m->pe.image[cs - 6] != 0xFF ||
            m->pe.image[cs - 5] != 0x15)
            return KD_ERR_FORMAT;
        for (size_t i = 0; i < im->nfns; i++) {
            struct sim_fn *f = &im->fns[i];
            if (f->module == mi && !f->data && cs > f->rva && cs < f->end && !f->callsite)
                f->callsite = m->base + cs;
        }
    }
    return KD_OK;
}

int sim_images_init(struct sim_images *im)
{
    if (!im)
        return KD_ERR_ARG;
    memset(im, 0, sizeof(*im));
    int st = KD_ERR_NOMEM;
    im->mods = calloc(sim_images_data_count, sizeof(*im->mods));
    if (!im->mods)
        goto fail;
    for (size_t i = 0; i < sim_images_data_count; i++) {
        struct sim_module *m = &im->mods[i];
        const struct sim_images_blob *b = &sim_images_data_blobs[i];
        st = sim_pe_load(b->data, b->size, &m->pe);
        if (st != KD_OK)
            goto fail;
        im->nmods++;
        module_names(m, b->file);
        m->base = m->pe.image_base;
        m->size = m->pe.size_of_image;
        if ((st = load_symbols(im, (uint16_t)i)) != KD_OK ||
            (st = load_callsites(im, (uint16_t)i)) != KD_OK)
            goto fail;
    }
    return KD_OK;
fail:
    sim_images_fini(im);
    return st;
}

void sim_images_fini(struct sim_images *im)
{
    if (!im)
        return;
    for (size_t i = 0; i < im->nmods; i++)
        sim_pe_fini(&im->mods[i].pe);
    free(im->mods);
    free(im->fns);
    memset(im, 0, sizeof(*im));
}

int sim_images_find(const struct sim_images *im, const char *module, const char *name, uint32_t *fn)
{
    for (size_t i = 0; im && module && name && i < im->nfns; i++) {
        const struct sim_fn *f = &im->fns[i];
        if (strcmp(f->name, name) == 0 && strcmp(im->mods[f->module].name, module) == 0) {
            if (fn)
                *fn = (uint32_t)i;
            return KD_OK;
        }
    }
    return KD_ERR_NOTFOUND;
}

uint64_t sim_images_addr(const struct sim_images *im, const char *module, const char *name)
{
    uint32_t i;
    return sim_images_find(im, module, name, &i) == KD_OK ? im->fns[i].addr : 0;
}

const struct sim_module *sim_images_module_at(const struct sim_images *im, uint64_t addr)
{
    for (size_t i = 0; im && i < im->nmods; i++)
        if (addr >= im->mods[i].base && addr - im->mods[i].base < im->mods[i].size)
            return &im->mods[i];
    return NULL;
}

const struct sim_fn *sim_images_fn_at(const struct sim_images *im, uint64_t addr)
{
    const struct sim_fn *best = NULL;
    for (size_t i = 0; im && i < im->nfns; i++) {
        const struct sim_fn *f = &im->fns[i];
        if (f->data || addr < f->addr)
            continue;
        if (f->end > f->rva && addr - f->addr < f->end - f->rva)
            return f;
        /* A leaf has no .pdata range: take the closest entry at or below addr. */
        if (f->end == f->rva && addr - f->addr < 16 && (!best || f->addr > best->addr))
            best = f;
    }
    return best;
}

int sim_images_unwind_at(const struct sim_images *im, uint32_t fn, uint64_t rip,
                         struct sim_pe_unwind *out)
{
    if (!im || fn >= im->nfns || !out)
        return KD_ERR_ARG;
    const struct sim_fn *f = &im->fns[fn];
    memset(out, 0, sizeof(*out));
    if (!f->unwind)
        return KD_OK;
    return sim_pe_unwind_at(&im->mods[f->module].pe, f->unwind, (uint32_t)(rip - f->addr), out);
}
