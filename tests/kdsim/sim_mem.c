/* sim_mem.c: sparse address space and software breakpoints of kdsim. */
#include "sim_mem.h"

#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"

struct sim_region {
    uint64_t addr;
    uint64_t size;
    uint8_t *bytes;
};

struct sim_bp_slot {
    bool used;
    uint64_t addr;
    uint8_t original;
};

struct sim_mem {
    struct sim_region *regions; /* sorted by addr, never overlapping */
    size_t count, cap;
    struct sim_bp_slot bps[SIM_MEM_BP_MAX];
};

int sim_mem_new(struct sim_mem **out)
{
    if (!out)
        return KD_ERR_ARG;
    *out = calloc(1, sizeof(**out));
    return *out ? KD_OK : KD_ERR_NOMEM;
}

void sim_mem_free(struct sim_mem *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++)
        free(m->regions[i].bytes);
    free(m->regions);
    free(m);
}

/* Index of the region holding addr, or -1. */
static long find_region(const struct sim_mem *m, uint64_t addr)
{
    size_t lo = 0, hi = m->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->regions[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const struct sim_region *r = &m->regions[lo - 1];
    return addr - r->addr < r->size ? (long)(lo - 1) : -1;
}

int sim_mem_map(struct sim_mem *m, uint64_t addr, uint64_t size, uint8_t **bytes)
{
    if (bytes)
        *bytes = NULL;
    if (!m || size == 0 || addr + size < addr || size > ((uint64_t)1 << 32))
        return KD_ERR_ARG;
    size_t pos = 0;
    while (pos < m->count && m->regions[pos].addr < addr)
        pos++;
    if (pos > 0 && m->regions[pos - 1].addr + m->regions[pos - 1].size > addr)
        return KD_ERR_ARG;
    if (pos < m->count && m->regions[pos].addr < addr + size)
        return KD_ERR_ARG;
    if (m->count == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        struct sim_region *n = realloc(m->regions, ncap * sizeof(*n));
        if (!n)
            return KD_ERR_NOMEM;
        m->regions = n;
        m->cap = ncap;
    }
    uint8_t *b = calloc(1, (size_t)size);
    if (!b)
        return KD_ERR_NOMEM;
    memmove(&m->regions[pos + 1], &m->regions[pos], (m->count - pos) * sizeof(*m->regions));
    m->regions[pos] = (struct sim_region){addr, size, b};
    m->count++;
    if (bytes)
        *bytes = b;
    return KD_OK;
}

uint8_t *sim_mem_ptr(struct sim_mem *m, uint64_t addr, uint64_t len)
{
    long i = m ? find_region(m, addr) : -1;
    if (i < 0)
        return NULL;
    struct sim_region *r = &m->regions[i];
    if (len > r->size - (addr - r->addr))
        return NULL;
    return r->bytes + (addr - r->addr);
}

/* Walks [addr, addr + len) through adjacent regions; returns the bytes covered. */
static uint64_t mapped_run(const struct sim_mem *m, uint64_t addr, uint64_t len)
{
    uint64_t done = 0;
    while (done < len) {
        long i = find_region(m, addr + done);
        if (i < 0)
            break;
        const struct sim_region *r = &m->regions[i];
        uint64_t avail = r->size - (addr + done - r->addr);
        done += avail < len - done ? avail : len - done;
    }
    return done;
}

bool sim_mem_mapped(const struct sim_mem *m, uint64_t addr, uint64_t len)
{
    if (!m || addr + len < addr)
        return false;
    return mapped_run(m, addr, len) == len;
}

static void copy_out(const struct sim_mem *m, uint64_t addr, uint8_t *buf, uint32_t n)
{
    uint32_t done = 0;
    while (done < n) {
        const struct sim_region *r = &m->regions[find_region(m, addr + done)];
        uint64_t off = addr + done - r->addr;
        uint64_t avail = r->size - off;
        uint32_t k = avail < n - done ? (uint32_t)avail : n - done;
        memcpy(buf + done, r->bytes + off, k);
        done += k;
    }
}

int sim_mem_read(const struct sim_mem *m, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got)
{
    if (got)
        *got = 0;
    if (!m || (!buf && len) || !got)
        return KD_ERR_ARG;
    if (len == 0)
        return KD_OK;
    uint64_t end = addr + len < addr ? UINT64_MAX : addr + len;
    uint32_t n = (uint32_t)mapped_run(m, addr, end - addr);
    copy_out(m, addr, buf, n);
    *got = n;
    return n ? KD_OK : KD_ERR_TARGET;
}

int sim_mem_read_clean(const struct sim_mem *m, uint64_t addr, uint8_t *buf, uint32_t len,
                       uint32_t *got)
{
    int st = sim_mem_read(m, addr, buf, len, got);
    for (size_t i = 0; st == KD_OK && i < SIM_MEM_BP_MAX; i++) {
        const struct sim_bp_slot *b = &m->bps[i];
        if (b->used && b->addr >= addr && b->addr - addr < *got)
            buf[b->addr - addr] = b->original;
    }
    return st;
}

int sim_mem_write(struct sim_mem *m, uint64_t addr, const uint8_t *buf, uint32_t len,
                  uint32_t *done)
{
    if (done)
        *done = 0;
    if (!m || (!buf && len) || !done)
        return KD_ERR_ARG;
    uint64_t end = addr + len < addr ? UINT64_MAX : addr + len;
    uint32_t n = (uint32_t)mapped_run(m, addr, end - addr);
    for (uint32_t k = 0; k < n;) {
        struct sim_region *r = &m->regions[find_region(m, addr + k)];
        uint64_t off = addr + k - r->addr;
        uint64_t avail = r->size - off;
        uint32_t c = avail < n - k ? (uint32_t)avail : n - k;
        memcpy(r->bytes + off, buf + k, c);
        k += c;
    }
    /* A patched byte stays 0xCC; what the writer meant goes to the saved copy. */
    for (size_t i = 0; i < SIM_MEM_BP_MAX; i++) {
        struct sim_bp_slot *b = &m->bps[i];
        if (b->used && b->addr >= addr && b->addr - addr < n) {
            b->original = buf[b->addr - addr];
            *sim_mem_ptr(m, b->addr, 1) = SIM_MEM_INT3;
        }
    }
    *done = n;
    return n || len == 0 ? KD_OK : KD_ERR_TARGET;
}

uint64_t sim_mem_get64(const struct sim_mem *m, uint64_t addr)
{
    uint8_t b[8];
    uint32_t got;
    if (sim_mem_read(m, addr, b, 8, &got) != KD_OK || got != 8)
        return 0;
    return kd_le64(b);
}

uint32_t sim_mem_get32(const struct sim_mem *m, uint64_t addr)
{
    uint8_t b[4];
    uint32_t got;
    if (sim_mem_read(m, addr, b, 4, &got) != KD_OK || got != 4)
        return 0;
    return kd_le32(b);
}

static int put_n(struct sim_mem *m, uint64_t addr, const uint8_t *b, uint32_t n)
{
    uint32_t done;
    int st = sim_mem_write(m, addr, b, n, &done);
    return st == KD_OK && done == n ? KD_OK : KD_ERR_TARGET;
}

int sim_mem_put64(struct sim_mem *m, uint64_t addr, uint64_t v)
{
    uint8_t b[8];
    kd_put64(b, v);
    return put_n(m, addr, b, 8);
}

int sim_mem_put32(struct sim_mem *m, uint64_t addr, uint32_t v)
{
    uint8_t b[4];
    kd_put32(b, v);
    return put_n(m, addr, b, 4);
}

int sim_mem_put16(struct sim_mem *m, uint64_t addr, uint16_t v)
{
    uint8_t b[2];
    kd_put16(b, v);
    return put_n(m, addr, b, 2);
}

int sim_mem_put8(struct sim_mem *m, uint64_t addr, uint8_t v)
{
    return put_n(m, addr, &v, 1);
}

int sim_mem_bp_write(struct sim_mem *m, uint64_t addr, uint32_t *handle)
{
    if (handle)
        *handle = 0;
    if (!m || !handle)
        return KD_ERR_ARG;
    int free_slot = -1;
    for (int i = 0; i < SIM_MEM_BP_MAX; i++) {
        if (m->bps[i].used && m->bps[i].addr == addr) {
            *handle = (uint32_t)i + 1;
            return KD_OK;
        }
        if (!m->bps[i].used && free_slot < 0)
            free_slot = i;
    }
    uint8_t *p = sim_mem_ptr(m, addr, 1);
    if (!p)
        return KD_ERR_TARGET;
    if (free_slot < 0)
        return KD_ERR_NOSPACE;
    m->bps[free_slot] = (struct sim_bp_slot){true, addr, *p};
    *p = SIM_MEM_INT3;
    *handle = (uint32_t)free_slot + 1;
    return KD_OK;
}

int sim_mem_bp_restore(struct sim_mem *m, uint32_t handle)
{
    if (!m)
        return KD_ERR_ARG;
    if (handle == 0 || handle > SIM_MEM_BP_MAX || !m->bps[handle - 1].used)
        return KD_ERR_TARGET;
    struct sim_bp_slot *b = &m->bps[handle - 1];
    uint8_t *p = sim_mem_ptr(m, b->addr, 1);
    if (p)
        *p = b->original;
    b->used = false;
    return KD_OK;
}

bool sim_mem_bp_at(const struct sim_mem *m, uint64_t addr)
{
    for (size_t i = 0; m && i < SIM_MEM_BP_MAX; i++)
        if (m->bps[i].used && m->bps[i].addr == addr)
            return true;
    return false;
}

size_t sim_mem_bp_list(const struct sim_mem *m, struct sim_mem_bp *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; m && i < SIM_MEM_BP_MAX; i++) {
        if (!m->bps[i].used)
            continue;
        if (out && n < cap)
            out[n] = (struct sim_mem_bp){(uint32_t)i + 1, m->bps[i].addr, m->bps[i].original};
        n++;
    }
    return n;
}
