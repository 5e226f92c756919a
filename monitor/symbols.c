/* symbols.c: export-based symbolization and IDT decoding (see symbols.h). */
#include "symbols.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kd_api.h"
#include "kd_le.h"
#include "kd_status.h"
#include "target_read.h"

#define SYMBOLS_KSPECIAL_NEED 0x70 /* through Idtr.Base */

struct module *symbols_kernel(const struct modules *m, uint64_t kern_base)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].base == kern_base && kern_base)
            return &m->v[i];
    return m->n && !kern_base ? &m->v[0] : NULL;
}

void symbols_module_name(const struct modules *m, const struct module *mod, uint64_t kern_base,
                         char *buf, size_t cap)
{
    if (!cap)
        return;
    if (mod == symbols_kernel(m, kern_base) || (kern_base && mod->base == kern_base)) {
        snprintf(buf, cap, "nt");
        return;
    }
    const char *dot = strrchr(mod->name, '.');
    size_t n = dot ? (size_t)(dot - mod->name) : strlen(mod->name);
    if (n == 0) {
        snprintf(buf, cap, "?");
        return;
    }
    snprintf(buf, cap, "%.*s", (int)n, mod->name);
}

/* Climbs CHAININFO links from f to the function's primary entry. */
static void symbols_primary(const struct kd_target *t, const struct pe_image *img,
                            struct pe_runtime_function *f)
{
    for (int i = 0; i < SYMBOLS_CHAIN_MAX; i++) {
        uint8_t h[4], rf[12];
        if (f->unwind + 4u > img->size_of_image ||
            target_read_bytes(t, img->base + f->unwind, h, 4) != KD_OK)
            return;
        if (!((h[0] >> 3) & 4)) /* UNW_FLAG_CHAININFO */
            return;
        uint64_t at = (uint64_t)f->unwind + 4 + 2 * (((uint64_t)h[2] + 1) & ~1ull);
        if (at + 12 > img->size_of_image || target_read_bytes(t, img->base + at, rf, 12) != KD_OK)
            return;
        struct pe_runtime_function p = {kd_le32(rf), kd_le32(rf + 4), kd_le32(rf + 8)};
        if (p.begin >= p.end || p.end > img->size_of_image || (p.unwind & 1) ||
            p.unwind >= img->size_of_image)
            return;
        *f = p;
    }
}

int symbols_resolve(const struct kd_target *t, const struct modules *m, uint64_t kern_base,
                    uint64_t va, struct symbols_hit *out)
{
    memset(out, 0, sizeof *out);
    (void)kern_base; /* naming is symbols_module_name's job; kept for a uniform signature */
    struct module *mod = modules_find(m, va);
    if (!mod)
        return KD_ERR_NOTFOUND;
    out->module = mod;
    out->offset = va - mod->base;
    struct pe_image *img;
    if (modules_pe(t, mod, &img) != KD_OK)
        return KD_OK; /* no headers: module+offset is all we can say */
    uint32_t rva = (uint32_t)(va - mod->base);
    struct pe_runtime_function f;
    if (pe_image_load_pdata(t, img) == KD_OK &&
        pe_image_pdata_lookup(t, img, rva, &f, NULL) == KD_OK) {
        symbols_primary(t, img, &f);
        out->pdata = true;
        out->func_begin = f.begin;
        out->func_end = f.end;
    }
    const struct pe_export *e;
    if (pe_image_load_exports(t, img) != KD_OK || pe_image_export_below(img, rva, &e) != KD_OK)
        return KD_OK;
    /* An export below the covering function's start names another function. */
    if (out->pdata && e->rva < out->func_begin)
        return KD_OK;
    if (!e->name)
        return KD_OK;
    out->export_name = e->name;
    out->offset = rva - e->rva;
    return KD_OK;
}

void symbols_format(const struct kd_target *t, const struct modules *m, uint64_t kern_base,
                    uint64_t va, char *buf, size_t cap)
{
    struct symbols_hit h;
    char mod[MODULES_NAME_MAX];
    if (!cap)
        return;
    if (symbols_resolve(t, m, kern_base, va, &h) != KD_OK || !h.module) {
        snprintf(buf, cap, "0x%016" PRIx64, va);
        return;
    }
    symbols_module_name(m, h.module, kern_base, mod, sizeof mod);
    if (h.export_name && h.offset)
        snprintf(buf, cap, "%s!%s+0x%" PRIx64, mod, h.export_name, h.offset);
    else if (h.export_name)
        snprintf(buf, cap, "%s!%s", mod, h.export_name);
    else
        snprintf(buf, cap, "%s+0x%" PRIx64, mod, h.offset);
}

int symbols_export(const struct kd_target *t, struct module *mod, const char *name, uint64_t *va)
{
    struct pe_image *img;
    const struct pe_export *e;
    *va = 0;
    int rc = modules_pe(t, mod, &img);
    if (rc == KD_OK)
        rc = pe_image_load_exports(t, img);
    if (rc == KD_OK)
        rc = pe_image_export_by_name(img, name, &e);
    if (rc == KD_OK && e->forwarder)
        rc = KD_ERR_NOTFOUND; /* a forwarder has no code here */
    if (rc == KD_OK)
        *va = mod->base + e->rva;
    return rc;
}

int symbols_kebugcheckex(const struct kd_target *t, const struct modules *m, uint64_t kern_base,
                         uint64_t *va)
{
    struct module *nt = symbols_kernel(m, kern_base);
    *va = 0;
    return nt ? symbols_export(t, nt, "KeBugCheckEx", va) : KD_ERR_NOTFOUND;
}

int symbols_idt_gate(const struct kd_target *t, uint16_t cpu, unsigned vector,
                     struct symbols_idt_gate *out)
{
    uint8_t sr[SYMBOLS_KSPECIAL_NEED], g[16];
    uint32_t got = 0;
    memset(out, 0, sizeof *out);
    if (!t || !t->ops || !t->ops->read_control || vector > 255)
        return KD_ERR_ARG;
    int rc =
        t->ops->read_control(t->ctx, cpu, AMD64_DEBUG_CONTROL_SPACE_KSPECIAL, sr, sizeof sr, &got);
    if (rc != KD_OK)
        return rc;
    if (got < sizeof sr)
        return KD_ERR_TRUNCATED;
    out->idtr_limit = kd_le16(sr + 0x66);
    out->idtr_base = kd_le64(sr + 0x68);
    if (!target_read_kernel_va(out->idtr_base) || vector * 16u + 15u > out->idtr_limit)
        return KD_ERR_FORMAT;
    rc = target_read_bytes(t, out->idtr_base + vector * 16u, g, sizeof g);
    if (rc != KD_OK)
        return rc;
    out->handler = kd_le16(g) | (uint64_t)kd_le16(g + 6) << 16 | (uint64_t)kd_le32(g + 8) << 32;
    out->selector = kd_le16(g + 2);
    out->ist = g[4] & 7;
    out->type = g[5] & 0xF;
    out->dpl = (g[5] >> 5) & 3;
    out->present = (g[5] >> 7) & 1;
    return KD_OK;
}

int symbols_double_fault(const struct kd_target *t, const struct modules *m, uint64_t kern_base,
                         uint16_t cpu, struct symbols_double_fault *out)
{
    memset(out, 0, sizeof *out);
    int rc = symbols_idt_gate(t, cpu, 8, &out->gate);
    if (rc != KD_OK)
        return rc;
    if (!out->gate.present || !target_read_kernel_va(out->gate.handler))
        return KD_ERR_FORMAT;
    symbols_format(t, m, kern_base, out->gate.handler, out->symbol, sizeof out->symbol);
    struct module *mod = modules_find(m, out->gate.handler);
    struct pe_image *img;
    if (mod && modules_pe(t, mod, &img) == KD_OK) {
        const struct pe_section *s =
            pe_image_section(img, (uint32_t)(out->gate.handler - mod->base));
        if (s)
            memcpy(out->section, s->name, sizeof out->section);
    }
    /* KVA shadowing routes gates through KVASCODE stubs (...Shadow). */
    out->shadow = strcmp(out->section, "KVASCODE") == 0 || strstr(out->symbol, "Shadow") != NULL;
    return KD_OK;
}
