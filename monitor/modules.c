/* modules.c: PsLoadedModuleList walk and lazy PE cache (see modules.h). */
#include "modules.h"

#include <stdlib.h>
#include <string.h>

#include "addr_set.h"
#include "kd_le.h"
#include "kd_status.h"
#include "target_read.h"

struct modules *modules_new(void)
{
    return calloc(1, sizeof(struct modules));
}

static void modules_clear(struct module *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pe_image_free(v[i].pe);
}

void modules_free(struct modules *m)
{
    if (!m)
        return;
    modules_clear(m->v, m->n);
    free(m->v);
    free(m);
}

static size_t modules_put_utf8(uint32_t c, char *out, size_t at, size_t cap)
{
    char b[4];
    size_t n;
    if (c < 0x80) {
        b[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xC0 | (c >> 6));
        b[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xE0 | (c >> 12));
        b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (c >> 18));
        b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    if (at + n + 1 > cap)
        return 0; /* does not fit whole: stop on a character boundary */
    memcpy(out + at, b, n);
    return n;
}

size_t modules_utf16_to_utf8(const uint8_t *in, size_t n, char *out, size_t cap)
{
    size_t at = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t c = kd_le16(in + i);
        if (c >= 0xD800 && c < 0xDC00 && i + 3 < n) {
            uint32_t lo = kd_le16(in + i + 2);
            if (lo >= 0xDC00 && lo < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            } else {
                c = '?';
            }
        } else if ((c >= 0xD800 && c < 0xE000) || c < 0x20 || c == 0x7F) {
            c = '?';
        }
        size_t w = modules_put_utf8(c, out, at, cap);
        if (!w)
            break;
        at += w;
    }
    out[at] = 0;
    return at;
}

/* A UNICODE_STRING at us (16 bytes) into out; "" when absent or unreadable. */
static void modules_read_name(const struct kd_target *t, const uint8_t *us, char *out, size_t cap)
{
    uint8_t buf[2 * MODULES_PATH_MAX];
    uint16_t len = kd_le16(us), max = kd_le16(us + 2);
    uint64_t ptr = kd_le64(us + 8);
    out[0] = 0;
    if (len == 0 || (len & 1) || len > max || !target_read_kernel_va(ptr))
        return;
    size_t want = len < 2 * (cap - 1) ? len : 2 * (cap - 1);
    if (want > sizeof buf)
        want = sizeof buf;
    if (target_read_bytes(t, ptr, buf, want) == KD_OK)
        modules_utf16_to_utf8(buf, want, out, cap);
}

static int modules_push(struct modules *m, const struct module *mod)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct module *v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return KD_ERR_NOMEM;
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = *mod;
    return KD_OK;
}

/* Moves a cached PE from the previous walk's entries when the module is the same. */
static void modules_adopt_pe(struct module *mod, struct module *old, size_t nold)
{
    for (size_t i = 0; i < nold; i++) {
        struct module *o = &old[i];
        if (o->entry == mod->entry && o->base == mod->base && o->size == mod->size) {
            mod->pe = o->pe;
            mod->pe_status = o->pe_status;
            mod->pe_tried = o->pe_tried;
            o->pe = NULL;
            return;
        }
    }
}

int modules_walk(const struct kd_target *t, uint64_t list_head, struct modules *m)
{
    struct module *old = m->v;
    size_t nold = m->n;
    struct addr_set seen;
    uint8_t e[MODULES_ENTRY_SIZE];
    uint64_t prev = list_head, cur;
    int rc;

    m->v = NULL;
    m->n = m->cap = 0;
    m->list_head = list_head;
    m->complete = false;
    addr_set_init(&seen, MODULES_MAX);
    rc = target_read_kernel_va(list_head) ? target_read_u64(t, list_head, &cur) : KD_ERR_ARG;
    while (rc == KD_OK && cur != list_head) {
        int added;
        if (!target_read_kernel_va(cur) || (cur & 7)) {
            rc = KD_ERR_FORMAT;
            break;
        }
        added = addr_set_add(&seen, cur);
        if (added <= 0) {
            rc = added == 0 ? KD_ERR_FORMAT : added; /* a loop, or the cap */
            break;
        }
        rc = target_read_bytes(t, cur, e, sizeof e);
        if (rc != KD_OK)
            break;
        if (kd_le64(e + 8) != prev) { /* Blink must point at where we came from */
            rc = KD_ERR_FORMAT;
            break;
        }
        struct module mod;
        memset(&mod, 0, sizeof mod);
        mod.entry = cur;
        mod.base = kd_le64(e + 0x30);
        mod.size = kd_le32(e + 0x40);
        modules_read_name(t, e + 0x58, mod.name, sizeof mod.name);
        modules_read_name(t, e + 0x48, mod.path, sizeof mod.path);
        modules_adopt_pe(&mod, old, nold);
        rc = modules_push(m, &mod);
        if (rc != KD_OK) {
            pe_image_free(mod.pe);
            break;
        }
        prev = cur;
        cur = kd_le64(e);
    }
    if (rc == KD_OK)
        m->complete = true;
    addr_set_fini(&seen);
    modules_clear(old, nold);
    free(old);
    m->walk_status = rc;
    return rc;
}

struct module *modules_find(const struct modules *m, uint64_t va)
{
    for (size_t i = 0; i < m->n; i++) {
        struct module *mod = &m->v[i];
        if (mod->size && va >= mod->base && va - mod->base < mod->size)
            return mod;
    }
    return NULL;
}

static int modules_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

struct module *modules_find_name(const struct modules *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (modules_ieq(m->v[i].name, name))
            return &m->v[i];
    return NULL;
}

int modules_pe(const struct kd_target *t, struct module *mod, struct pe_image **out)
{
    *out = NULL;
    if (!mod->pe_tried) {
        mod->pe_tried = true;
        mod->pe_status = pe_image_read(t, mod->base, mod->size, &mod->pe);
    }
    *out = mod->pe;
    return mod->pe_status;
}

void modules_forget_pe(struct module *mod)
{
    pe_image_free(mod->pe);
    mod->pe = NULL;
    mod->pe_tried = false;
    mod->pe_status = KD_OK;
}
