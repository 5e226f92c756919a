/* fake_target.c: in-memory kd_target for unit tests (see fake_target.h). */
#include "fake_target.h"

#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"

#define FAKE_READ_MAX 3944u
#define FAKE_CONTROL_MAX 4096u

struct fake_region {
    uint64_t va;
    size_t len;
    uint8_t *bytes;
};

struct fake_blob {
    uint8_t *bytes;
    size_t len;
};

struct fake_target {
    struct fake_region *regions;
    size_t nregions, cap;
    uint64_t fail_va;
    struct kd_version version;
    struct fake_blob control[FAKE_TARGET_CPUS][FAKE_TARGET_SELECTORS];
    struct fake_blob context[FAKE_TARGET_CPUS];
    struct fake_target_stats stats;
    uint32_t next_bp;
};

static struct fake_region *fake_find(struct fake_target *ft, uint64_t va)
{
    for (size_t i = 0; i < ft->nregions; i++) {
        struct fake_region *r = &ft->regions[i];
        if (va >= r->va && va - r->va < r->len)
            return r;
    }
    return NULL;
}

static int fake_get_version(void *ctx, struct kd_version *v)
{
    struct fake_target *ft = ctx;
    *v = ft->version;
    return KD_OK;
}

static int fake_read_virtual(void *ctx, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got)
{
    struct fake_target *ft = ctx;
    *got = 0;
    ft->stats.reads++;
    ft->stats.bytes += len;
    if (len > ft->stats.max_len)
        ft->stats.max_len = len;
    if (len > FAKE_READ_MAX)
        return KD_ERR_LENGTH;
    if (ft->fail_va && ft->fail_va >= addr && ft->fail_va - addr < len)
        return KD_ERR_TARGET;
    uint32_t done = 0;
    while (done < len) {
        struct fake_region *r = fake_find(ft, addr + done);
        if (!r)
            break;
        size_t off = (size_t)(addr + done - r->va);
        size_t n = r->len - off;
        if (n > len - done)
            n = len - done;
        memcpy(buf + done, r->bytes + off, n);
        done += (uint32_t)n;
    }
    *got = done;
    return done ? KD_OK : KD_ERR_TARGET;
}

static int fake_write_virtual(void *ctx, uint64_t addr, const uint8_t *buf, uint32_t len,
                              uint32_t *done)
{
    *done = 0;
    if (fake_target_write(ctx, addr, buf, len) != 0)
        return KD_ERR_TARGET;
    *done = len;
    return KD_OK;
}

static int fake_blob_copy(const struct fake_blob *b, uint8_t *buf, uint32_t len, uint32_t *got)
{
    *got = 0;
    if (!b->bytes)
        return KD_ERR_TARGET;
    uint32_t n = (uint32_t)(b->len < len ? b->len : len);
    memcpy(buf, b->bytes, n);
    *got = n;
    return KD_OK;
}

static int fake_read_control(void *ctx, uint16_t cpu, uint64_t selector, uint8_t *buf, uint32_t len,
                             uint32_t *got)
{
    struct fake_target *ft = ctx;
    ft->stats.control_reads++;
    *got = 0;
    if (cpu >= FAKE_TARGET_CPUS || selector >= FAKE_TARGET_SELECTORS)
        return KD_ERR_TARGET;
    return fake_blob_copy(&ft->control[cpu][selector], buf, len, got);
}

static int fake_get_context(void *ctx, uint16_t cpu, uint8_t *buf, uint32_t len, uint32_t *got)
{
    struct fake_target *ft = ctx;
    ft->stats.context_reads++;
    *got = 0;
    if (cpu >= FAKE_TARGET_CPUS)
        return KD_ERR_TARGET;
    return fake_blob_copy(&ft->context[cpu], buf, len, got);
}

static int fake_write_breakpoint(void *ctx, uint64_t addr, uint32_t *handle)
{
    struct fake_target *ft = ctx;
    (void)addr;
    *handle = ++ft->next_bp;
    return KD_OK;
}

static int fake_restore_breakpoint(void *ctx, uint32_t handle)
{
    (void)ctx;
    (void)handle;
    return KD_OK;
}

static int fake_resume(void *ctx, uint32_t status)
{
    (void)ctx;
    (void)status;
    return KD_ERR_UNSUPPORTED;
}

static int fake_break_in(void *ctx)
{
    (void)ctx;
    return KD_ERR_UNSUPPORTED;
}

static int fake_wait_event(void *ctx, int timeout_ms, struct kd_state_change *sc)
{
    (void)ctx;
    (void)timeout_ms;
    (void)sc;
    return KD_ERR_TIMEOUT;
}

static const struct kd_target_ops fake_ops = {
    .get_version = fake_get_version,
    .read_virtual = fake_read_virtual,
    .write_virtual = fake_write_virtual,
    .read_control = fake_read_control,
    .get_context = fake_get_context,
    .write_breakpoint = fake_write_breakpoint,
    .restore_breakpoint = fake_restore_breakpoint,
    .resume = fake_resume,
    .break_in = fake_break_in,
    .wait_event = fake_wait_event,
};

struct fake_target *fake_target_new(void)
{
    return calloc(1, sizeof(struct fake_target));
}

void fake_target_free(struct fake_target *ft)
{
    if (!ft)
        return;
    for (size_t i = 0; i < ft->nregions; i++)
        free(ft->regions[i].bytes);
    free(ft->regions);
    for (int c = 0; c < FAKE_TARGET_CPUS; c++) {
        for (int s = 0; s < FAKE_TARGET_SELECTORS; s++)
            free(ft->control[c][s].bytes);
        free(ft->context[c].bytes);
    }
    free(ft);
}

struct kd_target fake_target_target(struct fake_target *ft)
{
    struct kd_target t = {&fake_ops, ft};
    return t;
}

uint8_t *fake_target_map(struct fake_target *ft, uint64_t va, size_t len)
{
    if (len == 0 || len > (64u << 20) || va + len - 1 < va)
        return NULL;
    for (size_t i = 0; i < ft->nregions; i++) {
        struct fake_region *r = &ft->regions[i];
        if (va < r->va + r->len && r->va < va + len)
            return NULL;
    }
    if (ft->nregions == ft->cap) {
        size_t cap = ft->cap ? ft->cap * 2 : 16;
        struct fake_region *n = realloc(ft->regions, cap * sizeof *n);
        if (!n)
            return NULL;
        ft->regions = n;
        ft->cap = cap;
    }
    uint8_t *bytes = calloc(1, len);
    if (!bytes)
        return NULL;
    ft->regions[ft->nregions++] = (struct fake_region){va, len, bytes};
    return bytes;
}

int fake_target_write(struct fake_target *ft, uint64_t va, const void *p, size_t len)
{
    const uint8_t *src = p;
    size_t done = 0;
    while (done < len) {
        struct fake_region *r = fake_find(ft, va + done);
        if (!r)
            return -1;
        size_t off = (size_t)(va + done - r->va);
        size_t n = r->len - off;
        if (n > len - done)
            n = len - done;
        memcpy(r->bytes + off, src + done, n);
        done += n;
    }
    return 0;
}

int fake_target_put64(struct fake_target *ft, uint64_t va, uint64_t v)
{
    uint8_t b[8];
    kd_put64(b, v);
    return fake_target_write(ft, va, b, 8);
}

int fake_target_put32(struct fake_target *ft, uint64_t va, uint32_t v)
{
    uint8_t b[4];
    kd_put32(b, v);
    return fake_target_write(ft, va, b, 4);
}

int fake_target_put16(struct fake_target *ft, uint64_t va, uint16_t v)
{
    uint8_t b[2];
    kd_put16(b, v);
    return fake_target_write(ft, va, b, 2);
}

void fake_target_fail_at(struct fake_target *ft, uint64_t va)
{
    ft->fail_va = va;
}

void fake_target_set_version(struct fake_target *ft, const struct kd_version *v)
{
    ft->version = *v;
}

static int fake_blob_set(struct fake_blob *b, const void *data, size_t len, size_t max)
{
    if (len > max)
        return -1;
    uint8_t *n = malloc(len ? len : 1);
    if (!n)
        return -1;
    memcpy(n, data, len);
    free(b->bytes);
    b->bytes = n;
    b->len = len;
    return 0;
}

int fake_target_set_control(struct fake_target *ft, uint16_t cpu, uint64_t selector,
                            const void *data, size_t len)
{
    if (cpu >= FAKE_TARGET_CPUS || selector >= FAKE_TARGET_SELECTORS)
        return -1;
    return fake_blob_set(&ft->control[cpu][selector], data, len, FAKE_CONTROL_MAX);
}

int fake_target_set_context(struct fake_target *ft, uint16_t cpu, const void *ctx, size_t len)
{
    if (cpu >= FAKE_TARGET_CPUS)
        return -1;
    return fake_blob_set(&ft->context[cpu], ctx, len, KD_API_CONTEXT_AMD64_SIZE);
}

const struct fake_target_stats *fake_target_stats(const struct fake_target *ft)
{
    return &ft->stats;
}

void fake_target_reset_stats(struct fake_target *ft)
{
    memset(&ft->stats, 0, sizeof ft->stats);
}
