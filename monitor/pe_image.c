/* pe_image.c: PE headers, exports and .pdata from target memory (see pe_image.h). */
#include "pe_image.h"

#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"
#include "target_read.h"

#define PE_FIRST_READ 0x400u      /* enough for the headers of nearly every image */
#define PE_WINDOW_MAX (16u << 20) /* export directory / names span read at once */

/* True when [rva, rva + len) lies inside the image. */
static bool pe_range_ok(const struct pe_image *img, uint64_t rva, uint64_t len)
{
    return rva <= img->size_of_image && len <= img->size_of_image - rva;
}

int pe_image_parse_headers(const uint8_t *buf, size_t len, uint64_t base, uint32_t size_hint,
                           struct pe_image **out)
{
    *out = NULL;
    if (!buf || len < 0x40)
        return KD_ERR_TRUNCATED;
    if (buf[0] != 'M' || buf[1] != 'Z')
        return KD_ERR_FORMAT;
    uint32_t nt = kd_le32(buf + 0x3C);
    if (nt < 0x40 || nt > PE_IMAGE_HEADERS_MAX - 0x18 || (size_t)nt + 0x18 > len)
        return nt > PE_IMAGE_HEADERS_MAX - 0x18 ? KD_ERR_FORMAT : KD_ERR_TRUNCATED;
    if (memcmp(buf + nt, "PE\0\0", 4) != 0)
        return KD_ERR_FORMAT;
    uint16_t machine = kd_le16(buf + nt + 4);
    uint16_t nsect = kd_le16(buf + nt + 6);
    uint16_t opt_size = kd_le16(buf + nt + 0x14);
    size_t opt = (size_t)nt + 0x18;
    size_t sect_table = opt + opt_size;
    if (nsect > PE_IMAGE_MAX_SECTIONS)
        return KD_ERR_LENGTH;
    if (sect_table + (size_t)nsect * 40 > PE_IMAGE_HEADERS_MAX)
        return KD_ERR_FORMAT;
    if (sect_table + (size_t)nsect * 40 > len || opt + 2 > len)
        return KD_ERR_TRUNCATED;
    uint16_t magic = kd_le16(buf + opt);
    bool plus = magic == 0x20B;
    if (!plus && magic != 0x10B)
        return KD_ERR_FORMAT;
    /* Fixed part of the optional header, then the directory array. */
    size_t fixed = plus ? 0x70 : 0x60;
    if (opt_size < fixed)
        return KD_ERR_FORMAT;
    uint32_t size = kd_le32(buf + opt + 0x38);
    if (size > PE_IMAGE_MAX_SIZE)
        return KD_ERR_LENGTH;
    if (size < sect_table || (size_hint && size_hint != size))
        return KD_ERR_FORMAT;
    uint32_t ndirs = kd_le32(buf + opt + fixed - 4);
    if (ndirs > 16)
        ndirs = 16;
    if (fixed + (size_t)ndirs * 8 > opt_size)
        ndirs = (uint32_t)((opt_size - fixed) / 8);

    struct pe_image *img = calloc(1, sizeof *img);
    if (!img)
        return KD_ERR_NOMEM;
    img->base = base;
    img->size_of_image = size;
    img->machine = machine;
    img->pe32plus = plus;
    img->entry_rva = kd_le32(buf + opt + 0x10);
    img->image_base = plus ? kd_le64(buf + opt + 0x18) : kd_le32(buf + opt + 0x1C);
    img->timestamp = kd_le32(buf + nt + 8);
    img->checksum = kd_le32(buf + opt + 0x40);
    img->ndirs = ndirs;
    for (uint32_t i = 0; i < ndirs; i++) {
        const uint8_t *d = buf + opt + fixed + i * 8;
        img->dirs[i].rva = kd_le32(d);
        img->dirs[i].size = kd_le32(d + 4);
    }
    if (nsect) {
        img->sections = calloc(nsect, sizeof *img->sections);
        if (!img->sections) {
            free(img);
            return KD_ERR_NOMEM;
        }
    }
    img->nsections = nsect;
    for (uint16_t i = 0; i < nsect; i++) {
        const uint8_t *s = buf + sect_table + (size_t)i * 40;
        struct pe_section *ps = &img->sections[i];
        for (int c = 0; c < 8 && s[c]; c++)
            ps->name[c] = (s[c] >= 0x20 && s[c] < 0x7F) ? (char)s[c] : '?';
        ps->vsize = kd_le32(s + 8);
        ps->va = kd_le32(s + 12);
        ps->characteristics = kd_le32(s + 36);
    }
    *out = img;
    return KD_OK;
}

int pe_image_read(const struct kd_target *t, uint64_t base, uint32_t size_hint,
                  struct pe_image **out)
{
    uint8_t buf[PE_IMAGE_HEADERS_MAX];
    *out = NULL;
    if (!target_read_kernel_va(base))
        return KD_ERR_ARG;
    size_t have = PE_FIRST_READ;
    if (size_hint && size_hint < have)
        have = size_hint;
    int rc = target_read_bytes(t, base, buf, have);
    if (rc != KD_OK)
        return rc;
    rc = pe_image_parse_headers(buf, have, base, size_hint, out);
    if (rc == KD_ERR_TRUNCATED && have < PE_IMAGE_HEADERS_MAX) {
        /* Large section table: fetch the rest of the header page once. */
        size_t more = PE_IMAGE_HEADERS_MAX;
        if (size_hint && size_hint < more)
            more = size_hint;
        if (more > have) {
            rc = target_read_bytes(t, base + have, buf + have, more - have);
            if (rc != KD_OK)
                return rc;
            rc = pe_image_parse_headers(buf, more, base, size_hint, out);
        }
    }
    return rc;
}

void pe_image_free(struct pe_image *img)
{
    if (!img)
        return;
    free(img->sections);
    free(img->exports);
    free(img->by_name);
    free(img->name_pool);
    free(img->pdata);
    free(img);
}

const struct pe_section *pe_image_section(const struct pe_image *img, uint32_t rva)
{
    for (uint16_t i = 0; i < img->nsections; i++) {
        const struct pe_section *s = &img->sections[i];
        if (rva >= s->va && rva - s->va < s->vsize)
            return s;
    }
    return NULL;
}

/* ---- exports ---------------------------------------------------------------- */

/* A span of the image read into memory, for resolving RVAs without a read each. */
struct pe_span {
    uint32_t rva, len;
    uint8_t *bytes;
};

static int pe_span_read(const struct kd_target *t, const struct pe_image *img, uint64_t rva,
                        uint64_t len, struct pe_span *s)
{
    s->bytes = NULL;
    if (!pe_range_ok(img, rva, len))
        return KD_ERR_FORMAT;
    if (len > PE_WINDOW_MAX)
        return KD_ERR_LENGTH;
    s->rva = (uint32_t)rva;
    s->len = (uint32_t)len;
    s->bytes = malloc(len ? len : 1);
    if (!s->bytes)
        return KD_ERR_NOMEM;
    int rc = target_read_bytes(t, img->base + rva, s->bytes, len);
    if (rc != KD_OK) {
        free(s->bytes);
        s->bytes = NULL;
    }
    return rc;
}

/* Pointer to [rva, rva + len) if the span holds it, else NULL. */
static const uint8_t *pe_span_at(const struct pe_span *s, uint64_t rva, uint64_t len)
{
    if (!s->bytes || rva < s->rva || rva - s->rva > s->len || len > s->len - (rva - s->rva))
        return NULL;
    return s->bytes + (rva - s->rva);
}

/* An array of n 'width'-byte items at rva: from the window, else read apart. */
static int pe_array(const struct kd_target *t, const struct pe_image *img,
                    const struct pe_span *win, uint32_t rva, uint32_t n, uint32_t width,
                    struct pe_span *own, const uint8_t **out)
{
    own->bytes = NULL;
    *out = pe_span_at(win, rva, (uint64_t)n * width);
    if (*out)
        return KD_OK;
    int rc = pe_span_read(t, img, rva, (uint64_t)n * width, own);
    *out = own->bytes;
    return rc;
}

static int pe_export_cmp_rva(const void *a, const void *b)
{
    const struct pe_export *x = a, *y = b;
    if (x->rva != y->rva)
        return x->rva < y->rva ? -1 : 1;
    if (x->ordinal != y->ordinal)
        return x->ordinal < y->ordinal ? -1 : 1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* qsort has no context pointer: sort indexes through a pointer to the exports. */
struct pe_name_ref {
    const char *name;
    size_t index;
};

static int pe_name_ref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct pe_name_ref *)a)->name, ((const struct pe_name_ref *)b)->name);
}

/* A printable ASCII name of 1..255 bytes ending in NUL inside s, or NULL. */
static const char *pe_name_at(const struct pe_span *s, uint32_t rva, size_t *len)
{
    const uint8_t *p = pe_span_at(s, rva, 1);
    if (!p)
        return NULL;
    size_t room = s->len - (rva - s->rva);
    for (size_t i = 0; i < room && i < PE_IMAGE_NAME_MAX; i++) {
        if (p[i] == 0) {
            *len = i;
            return i ? (const char *)p : NULL;
        }
        if (p[i] < 0x21 || p[i] > 0x7E)
            return NULL;
    }
    return NULL;
}

static int pe_build_exports(const struct kd_target *t, struct pe_image *img,
                            const struct pe_span *win)
{
    const uint8_t *d = pe_span_at(win, win->rva, 40);
    if (!d)
        return KD_ERR_FORMAT;
    uint32_t ord_base = kd_le32(d + 0x10);
    uint32_t nfunc = kd_le32(d + 0x14), nnames = kd_le32(d + 0x18);
    uint32_t afunc = kd_le32(d + 0x1C), anames = kd_le32(d + 0x20), aords = kd_le32(d + 0x24);
    if (nfunc > PE_IMAGE_MAX_EXPORTS || nnames > PE_IMAGE_MAX_EXPORTS)
        return KD_ERR_LENGTH;
    struct pe_span fown = {0}, nown = {0}, oown = {0}, sown = {0};
    const uint8_t *funcs = NULL, *names = NULL, *ords = NULL;
    uint32_t *name_rvas = NULL;
    int rc = pe_array(t, img, win, afunc, nfunc, 4, &fown, &funcs);
    if (rc == KD_OK)
        rc = pe_array(t, img, win, anames, nnames, 4, &nown, &names);
    if (rc == KD_OK)
        rc = pe_array(t, img, win, aords, nnames, 2, &oown, &ords);
    if (rc != KD_OK)
        goto free_arrays;
    /* Names normally sit inside the directory; else read their span once. */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t j = 0; j < nnames; j++) {
        uint32_t r = kd_le32(names + 4 * (size_t)j);
        if (!pe_span_at(win, r, 1) && pe_range_ok(img, r, 1)) {
            lo = r < lo ? r : lo;
            hi = r > hi ? r : hi;
        }
    }
    if (lo != UINT64_MAX) {
        uint64_t end = hi + PE_IMAGE_NAME_MAX;
        if (end > img->size_of_image)
            end = img->size_of_image;
        rc = pe_span_read(t, img, lo, end - lo, &sown);
        if (rc != KD_OK)
            goto free_arrays;
    }
    /* One entry per (function, name); unnamed functions get one entry. */
    size_t cap = (size_t)nfunc + nnames, n = 0, pool_len = 0;
    struct pe_export *ex = calloc(cap ? cap : 1, sizeof *ex);
    uint8_t *named = calloc(nfunc ? nfunc : 1, 1);
    name_rvas = calloc(cap ? cap : 1, sizeof *name_rvas);
    if (!ex || !named || !name_rvas) {
        free(ex);
        free(named);
        rc = KD_ERR_NOMEM;
        goto free_arrays;
    }
    uint32_t dlo = img->dirs[PE_DIR_EXPORT].rva, dsz = img->dirs[PE_DIR_EXPORT].size;
    for (uint32_t j = 0; j < nnames; j++) {
        uint16_t i = kd_le16(ords + 2 * (size_t)j);
        uint32_t nrva = kd_le32(names + 4 * (size_t)j), frva;
        size_t nlen;
        if (i >= nfunc)
            continue;
        frva = kd_le32(funcs + 4 * (size_t)i);
        if (frva == 0 || frva >= img->size_of_image)
            continue;
        const struct pe_span *src = pe_span_at(win, nrva, 1) ? win : &sown;
        if (!pe_name_at(src, nrva, &nlen))
            continue;
        named[i] = 1;
        name_rvas[n] = nrva;
        ex[n++] = (struct pe_export){NULL, frva, ord_base + i, frva - dlo < dsz};
        pool_len += nlen + 1;
    }
    size_t nnamed = n;
    for (uint32_t i = 0; i < nfunc; i++) {
        uint32_t frva = kd_le32(funcs + 4 * (size_t)i);
        if (named[i] || frva == 0 || frva >= img->size_of_image)
            continue;
        ex[n++] = (struct pe_export){NULL, frva, ord_base + i, frva - dlo < dsz};
    }
    free(named);
    img->name_pool = malloc(pool_len ? pool_len : 1);
    struct pe_name_ref *refs = calloc(nnamed ? nnamed : 1, sizeof *refs);
    if (!img->name_pool || !refs) {
        free(ex);
        free(refs);
        rc = KD_ERR_NOMEM;
        goto free_arrays;
    }
    size_t at = 0;
    for (size_t k = 0; k < nnamed; k++) {
        size_t nlen;
        const struct pe_span *src = pe_span_at(win, name_rvas[k], 1) ? win : &sown;
        const char *s = pe_name_at(src, name_rvas[k], &nlen);
        memcpy(img->name_pool + at, s, nlen + 1);
        ex[k].name = img->name_pool + at;
        at += nlen + 1;
    }
    qsort(ex, n, sizeof *ex, pe_export_cmp_rva);
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (ex[k].name)
            refs[m++] = (struct pe_name_ref){ex[k].name, k};
    qsort(refs, m, sizeof *refs, pe_name_ref_cmp);
    img->by_name = calloc(m ? m : 1, sizeof *img->by_name);
    if (!img->by_name) {
        free(ex);
        free(refs);
        rc = KD_ERR_NOMEM;
        goto free_arrays;
    }
    for (size_t k = 0; k < m; k++)
        img->by_name[k] = refs[k].index;
    free(refs);
    img->exports = ex;
    img->nexports = n;
    img->nnamed = m;
free_arrays:
    free(name_rvas);
    free(fown.bytes);
    free(nown.bytes);
    free(oown.bytes);
    free(sown.bytes);
    return rc;
}

int pe_image_load_exports(const struct kd_target *t, struct pe_image *img)
{
    if (img->exports_loaded)
        return img->exports_status;
    img->exports_loaded = true;
    struct pe_dir dir = img->ndirs > PE_DIR_EXPORT ? img->dirs[PE_DIR_EXPORT] : (struct pe_dir){0};
    struct pe_span win = {0};
    int rc = KD_ERR_NOTFOUND;
    if (dir.rva && dir.size) {
        rc = dir.size < 40 ? KD_ERR_FORMAT : pe_span_read(t, img, dir.rva, dir.size, &win);
        if (rc == KD_OK)
            rc = pe_build_exports(t, img, &win);
    }
    free(win.bytes);
    if (rc != KD_OK) {
        free(img->name_pool);
        img->name_pool = NULL;
    }
    img->exports_status = rc;
    return rc;
}

int pe_image_export_by_name(const struct pe_image *img, const char *name,
                            const struct pe_export **out)
{
    *out = NULL;
    if (!img->exports || !name)
        return KD_ERR_NOTFOUND;
    size_t lo = 0, hi = img->nnamed;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct pe_export *e = &img->exports[img->by_name[mid]];
        int c = strcmp(e->name, name);
        if (c == 0) {
            *out = e;
            return KD_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return KD_ERR_NOTFOUND;
}

int pe_image_export_below(const struct pe_image *img, uint32_t rva, const struct pe_export **out)
{
    *out = NULL;
    size_t lo = 0, hi = img->nexports; /* first index with exports[i].rva > rva */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (img->exports[mid].rva <= rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i > 0; i--) {
        const struct pe_export *e = &img->exports[i - 1];
        if (e->forwarder)
            continue;
        /* Several exports may share the address: prefer a named one. */
        for (size_t j = i - 1; j > 0 && !e->name && img->exports[j - 1].rva == e->rva; j--)
            if (img->exports[j - 1].name && !img->exports[j - 1].forwarder)
                e = &img->exports[j - 1];
        *out = e;
        return KD_OK;
    }
    return KD_ERR_NOTFOUND;
}

/* ---- exception directory ------------------------------------------------------ */

static int pe_rf_cmp(const void *a, const void *b)
{
    const struct pe_runtime_function *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

int pe_image_load_pdata(const struct kd_target *t, struct pe_image *img)
{
    if (img->pdata_loaded)
        return img->pdata_status;
    img->pdata_loaded = true;
    struct pe_dir dir =
        img->ndirs > PE_DIR_EXCEPTION ? img->dirs[PE_DIR_EXCEPTION] : (struct pe_dir){0};
    uint64_t n = dir.size / 12;
    struct pe_span s = {0};
    int rc = KD_ERR_NOTFOUND;
    if (dir.rva && n) {
        if (n > PE_IMAGE_MAX_PDATA)
            rc = KD_ERR_LENGTH;
        else if (!pe_range_ok(img, dir.rva, n * 12))
            rc = KD_ERR_FORMAT;
        else {
            s.bytes = malloc(n * 12);
            rc =
                s.bytes ? target_read_bytes(t, img->base + dir.rva, s.bytes, n * 12) : KD_ERR_NOMEM;
        }
    }
    if (rc == KD_OK) {
        img->pdata = calloc(n, sizeof *img->pdata);
        rc = img->pdata ? KD_OK : KD_ERR_NOMEM;
    }
    if (rc == KD_OK) {
        bool sorted = true;
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t *p = s.bytes + i * 12;
            struct pe_runtime_function f = {kd_le32(p), kd_le32(p + 4), kd_le32(p + 8)};
            if (f.begin >= f.end || f.end > img->size_of_image ||
                (f.unwind & ~1u) >= img->size_of_image) {
                img->pdata_dropped++;
                continue;
            }
            if (img->npdata && f.begin < img->pdata[img->npdata - 1].begin)
                sorted = false;
            img->pdata[img->npdata++] = f;
        }
        /* The loader requires sorted .pdata; sort a bad one rather than misfind. */
        if (!sorted)
            qsort(img->pdata, img->npdata, sizeof *img->pdata, pe_rf_cmp);
    }
    free(s.bytes);
    img->pdata_status = rc;
    return rc;
}

int pe_image_pdata_lookup(const struct kd_target *t, const struct pe_image *img, uint32_t rva,
                          struct pe_runtime_function *out, bool *indirect)
{
    if (indirect)
        *indirect = false;
    memset(out, 0, sizeof *out);
    if (!img->pdata_loaded || img->pdata_status != KD_OK)
        return img->pdata_loaded ? img->pdata_status : KD_ERR_STATE;
    size_t lo = 0, hi = img->npdata; /* first entry with begin > rva */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (img->pdata[mid].begin <= rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || rva >= img->pdata[lo - 1].end)
        return KD_ERR_NOTFOUND;
    struct pe_runtime_function f = img->pdata[lo - 1];
    if (f.unwind & 1) {
        /* Indirect entry: its unwind field is the RVA of the real entry. */
        uint32_t at = f.unwind & ~1u;
        uint8_t b[12];
        if (!pe_range_ok(img, at, 12))
            return KD_ERR_FORMAT;
        int rc = target_read_bytes(t, img->base + at, b, sizeof b);
        if (rc != KD_OK)
            return rc;
        f = (struct pe_runtime_function){kd_le32(b), kd_le32(b + 4), kd_le32(b + 8)};
        if ((f.unwind & 1) || f.begin >= f.end || f.end > img->size_of_image ||
            f.unwind >= img->size_of_image)
            return KD_ERR_FORMAT;
        if (indirect)
            *indirect = true;
    }
    *out = f;
    return KD_OK;
}
