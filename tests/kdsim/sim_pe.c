/* sim_pe.c: PE32+ mapping, exports, .pdata and UNWIND_INFO (kd-protocol.md §8). */
#include "sim_pe.h"

#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"

#define NT_OPT 0x18 /* OptionalHeader within the NT headers */
#define OPT64_MAGIC 0x20B
#define UNW_FLAG_CHAININFO 4
#define UNWIND_CHAIN_MAX 32

enum {
    UWOP_PUSH_NONVOL = 0,
    UWOP_ALLOC_LARGE = 1,
    UWOP_ALLOC_SMALL = 2,
    UWOP_SET_FPREG = 3,
    UWOP_SAVE_NONVOL = 4,
    UWOP_SAVE_NONVOL_FAR = 5,
    UWOP_EPILOG = 6, /* v1: SAVE_XMM */
    UWOP_SPARE = 7,  /* v1: SAVE_XMM_FAR */
    UWOP_SAVE_XMM128 = 8,
    UWOP_SAVE_XMM128_FAR = 9,
    UWOP_PUSH_MACHFRAME = 10,
};

static bool in_file(size_t len, uint64_t off, uint64_t n)
{
    return off <= len && n <= len - off;
}

static bool in_image(const struct sim_pe *pe, uint32_t rva, uint32_t n)
{
    return rva <= pe->size_of_image && n <= pe->size_of_image - rva;
}

int sim_pe_load(const uint8_t *file, size_t len, struct sim_pe *pe)
{
    if (!pe)
        return KD_ERR_ARG;
    memset(pe, 0, sizeof(*pe));
    if (!file || !in_file(len, 0, 0x40) || file[0] != 'M' || file[1] != 'Z')
        return KD_ERR_FORMAT;
    uint32_t nt = kd_le32(file + 0x3C);
    if (!in_file(len, nt, NT_OPT + 0x70) || kd_le32(file + nt) != 0x00004550 ||
        kd_le16(file + nt + 4) != 0x8664 || kd_le16(file + nt + NT_OPT) != OPT64_MAGIC)
        return KD_ERR_FORMAT;
    unsigned nsec = kd_le16(file + nt + 6);
    uint32_t optsize = kd_le16(file + nt + 0x14);
    uint32_t sectab = nt + NT_OPT + optsize;
    uint32_t headers = kd_le32(file + nt + NT_OPT + 0x3C);
    uint32_t ndirs = kd_le32(file + nt + 0x84);
    pe->image_base = kd_le64(file + nt + 0x30);
    pe->size_of_image = kd_le32(file + nt + 0x50);
    pe->entry = kd_le32(file + nt + NT_OPT + 0x10);
    pe->checksum = kd_le32(file + nt + NT_OPT + 0x40);
    pe->timestamp = kd_le32(file + nt + 8);
    if (nsec > SIM_PE_MAX_SECTIONS || ndirs < 4 || optsize < 0x70 + 4 * 8 ||
        !in_file(len, sectab, (uint64_t)nsec * 40) || pe->size_of_image > (64u << 20) ||
        headers > pe->size_of_image || !in_file(len, 0, headers))
        return KD_ERR_FORMAT;
    pe->export_rva = kd_le32(file + nt + 0x88);
    pe->export_size = kd_le32(file + nt + 0x8C);
    pe->pdata_rva = kd_le32(file + nt + 0x88 + 3 * 8);
    pe->pdata_size = kd_le32(file + nt + 0x8C + 3 * 8);
    pe->image = calloc(1, pe->size_of_image);
    if (!pe->image)
        return KD_ERR_NOMEM;
    memcpy(pe->image, file, headers);
    for (unsigned i = 0; i < nsec; i++) {
        const uint8_t *s = file + sectab + 40 * i;
        struct sim_pe_section *d = &pe->sections[i];
        memcpy(d->name, s, 8);
        d->size = kd_le32(s + 8);
        d->rva = kd_le32(s + 12);
        uint32_t raw = kd_le32(s + 16), rawptr = kd_le32(s + 20);
        uint32_t n = raw < d->size ? raw : d->size;
        if (!in_image(pe, d->rva, d->size) || (n && !in_file(len, rawptr, n))) {
            sim_pe_fini(pe);
            return KD_ERR_FORMAT;
        }
        memcpy(pe->image + d->rva, file + rawptr, n);
    }
    pe->nsections = nsec;
    if (!in_image(pe, pe->export_rva, pe->export_size) ||
        !in_image(pe, pe->pdata_rva, pe->pdata_size)) {
        sim_pe_fini(pe);
        return KD_ERR_FORMAT;
    }
    return KD_OK;
}

void sim_pe_fini(struct sim_pe *pe)
{
    if (!pe)
        return;
    free(pe->image);
    memset(pe, 0, sizeof(*pe));
}

int sim_pe_section(const struct sim_pe *pe, const char *name, uint32_t *rva, uint32_t *size)
{
    for (unsigned i = 0; pe && name && i < pe->nsections; i++) {
        if (strncmp(pe->sections[i].name, name, 8) == 0) {
            if (rva)
                *rva = pe->sections[i].rva;
            if (size)
                *size = pe->sections[i].size;
            return KD_OK;
        }
    }
    return KD_ERR_NOTFOUND;
}

int sim_pe_export(const struct sim_pe *pe, const char *name, uint32_t *rva)
{
    if (!pe || !name || pe->export_size < 0x28)
        return KD_ERR_NOTFOUND;
    const uint8_t *d = pe->image + pe->export_rva;
    uint32_t nfun = kd_le32(d + 0x14), nnames = kd_le32(d + 0x18);
    uint32_t funs = kd_le32(d + 0x1C), names = kd_le32(d + 0x20), ords = kd_le32(d + 0x24);
    if (!in_image(pe, names, nnames * 4) || !in_image(pe, ords, nnames * 2) ||
        !in_image(pe, funs, nfun * 4))
        return KD_ERR_FORMAT;
    size_t want = strlen(name) + 1;
    for (uint32_t i = 0; i < nnames; i++) {
        uint32_t nrva = kd_le32(pe->image + names + 4 * i);
        if (!in_image(pe, nrva, (uint32_t)want) || memcmp(pe->image + nrva, name, want) != 0)
            continue;
        uint16_t ord = kd_le16(pe->image + ords + 2 * i);
        if (ord >= nfun)
            return KD_ERR_FORMAT;
        if (rva)
            *rva = kd_le32(pe->image + funs + 4 * ord);
        return KD_OK;
    }
    return KD_ERR_NOTFOUND;
}

size_t sim_pe_pdata_count(const struct sim_pe *pe)
{
    return pe ? pe->pdata_size / 12 : 0;
}

int sim_pe_pdata_entry(const struct sim_pe *pe, size_t i, uint32_t *begin, uint32_t *end,
                       uint32_t *unwind)
{
    if (i >= sim_pe_pdata_count(pe))
        return KD_ERR_NOTFOUND;
    const uint8_t *e = pe->image + pe->pdata_rva + 12 * i;
    *begin = kd_le32(e);
    *end = kd_le32(e + 4);
    *unwind = kd_le32(e + 8);
    return KD_OK;
}

int sim_pe_lookup(const struct sim_pe *pe, uint32_t rva, uint32_t *begin, uint32_t *end,
                  uint32_t *unwind)
{
    size_t lo = 0, hi = sim_pe_pdata_count(pe);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t b, e, u;
        sim_pe_pdata_entry(pe, mid, &b, &e, &u);
        if (rva < b) {
            hi = mid;
        } else if (rva >= e) {
            lo = mid + 1;
        } else {
            *begin = b;
            *end = e;
            *unwind = u;
            return KD_OK;
        }
    }
    return KD_ERR_NOTFOUND;
}

/* Slots an unwind code occupies (version matters for ops 6 and 7). */
static int code_slots(uint8_t op, uint8_t info, uint8_t version)
{
    switch (op) {
    case UWOP_PUSH_NONVOL:
    case UWOP_ALLOC_SMALL:
    case UWOP_SET_FPREG:
    case UWOP_PUSH_MACHFRAME: return 1;
    case UWOP_ALLOC_LARGE: return info == 0 ? 2 : 3;
    case UWOP_SAVE_NONVOL:
    case UWOP_SAVE_XMM128: return 2;
    case UWOP_SAVE_NONVOL_FAR:
    case UWOP_SAVE_XMM128_FAR: return 3;
    case UWOP_EPILOG: return version >= 2 ? 1 : 2;
    case UWOP_SPARE: return version >= 2 ? 2 : 3;
    default: return -1;
    }
}

int sim_pe_unwind_at(const struct sim_pe *pe, uint32_t unwind_rva, uint32_t rip_off,
                     struct sim_pe_unwind *out)
{
    if (!pe || !out)
        return KD_ERR_ARG;
    memset(out, 0, sizeof(*out));
    bool primary = true;
    for (int depth = 0; depth < UNWIND_CHAIN_MAX; depth++) {
        if (!in_image(pe, unwind_rva, 4))
            return KD_ERR_FORMAT;
        const uint8_t *u = pe->image + unwind_rva;
        uint8_t version = u[0] & 7, flags = u[0] >> 3, ncodes = u[2];
        if (version != 1 && version != 2)
            return KD_ERR_FORMAT;
        if (!in_image(pe, unwind_rva + 4, 2u * ncodes))
            return KD_ERR_FORMAT;
        if (primary) {
            out->prolog = u[1];
            out->frame_reg = u[3] & 0x0F;
            out->frame_off = (uint8_t)((u[3] >> 4) * 16);
        }
        /* Chained parents describe an earlier, finished prolog: all of it applies. */
        bool all = !primary || rip_off >= u[1];
        for (int i = 0; i < ncodes;) {
            uint8_t at = u[4 + 2 * i], op = u[5 + 2 * i] & 0x0F, info = u[5 + 2 * i] >> 4;
            int slots = code_slots(op, info, version);
            if (slots < 0 || i + slots > ncodes)
                return KD_ERR_FORMAT;
            uint32_t sz = 0;
            if (op == UWOP_PUSH_NONVOL)
                sz = 8;
            else if (op == UWOP_ALLOC_SMALL)
                sz = info * 8u + 8;
            else if (op == UWOP_ALLOC_LARGE && info == 0)
                sz = kd_le16(u + 6 + 2 * i) * 8u;
            else if (op == UWOP_ALLOC_LARGE)
                sz = kd_le32(u + 6 + 2 * i);
            bool applies = all || at <= rip_off;
            if (op == UWOP_EPILOG && version >= 2)
                applies = false;
            out->full_size += sz;
            if (applies) {
                out->size += sz;
                if (op == UWOP_PUSH_MACHFRAME) {
                    out->machframe = true;
                    out->mf_errcode = info;
                }
            }
            i += slots;
        }
        if (!(flags & UNW_FLAG_CHAININFO))
            return KD_OK;
        uint32_t chain = unwind_rva + 4 + 2u * ((ncodes + 1u) & ~1u);
        if (!in_image(pe, chain, 12))
            return KD_ERR_FORMAT;
        unwind_rva = kd_le32(pe->image + chain + 8);
        primary = false;
    }
    return KD_ERR_FORMAT;
}

int sim_pe_prolog(const struct sim_pe *pe, uint32_t unwind_rva, struct sim_pe_step *steps,
                  size_t cap, size_t *n)
{
    if (!pe || !steps || !n)
        return KD_ERR_ARG;
    *n = 0;
    if (!in_image(pe, unwind_rva, 4))
        return KD_ERR_FORMAT;
    const uint8_t *u = pe->image + unwind_rva;
    uint8_t version = u[0] & 7, ncodes = u[2];
    if ((version != 1 && version != 2) || !in_image(pe, unwind_rva + 4, 2u * ncodes))
        return KD_ERR_FORMAT;
    size_t count = 0;
    for (int i = 0; i < ncodes;) {
        uint8_t at = u[4 + 2 * i], op = u[5 + 2 * i] & 0x0F, info = u[5 + 2 * i] >> 4;
        int slots = code_slots(op, info, version);
        if (slots < 0 || i + slots > ncodes)
            return KD_ERR_FORMAT;
        if (!(op == UWOP_EPILOG && version >= 2)) {
            if (count == cap)
                return KD_ERR_NOSPACE;
            uint32_t sz = op == UWOP_PUSH_NONVOL   ? 8
                          : op == UWOP_ALLOC_SMALL ? info * 8u + 8
                          : op == UWOP_ALLOC_LARGE
                              ? (info == 0 ? kd_le16(u + 6 + 2 * i) * 8u : kd_le32(u + 6 + 2 * i))
                              : 0;
            steps[count++] = (struct sim_pe_step){at, op, sz};
        }
        i += slots;
    }
    /* Codes are stored last instruction first. */
    for (size_t i = 0; i < count / 2; i++) {
        struct sim_pe_step t = steps[i];
        steps[i] = steps[count - 1 - i];
        steps[count - 1 - i] = t;
    }
    *n = count;
    return KD_OK;
}
