/* target_read.c: chunked exact reads and address checks (see target_read.h). */
#include "target_read.h"

#include "kd_le.h"
#include "kd_status.h"

bool target_read_canonical(uint64_t va)
{
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1FFFF;
}

bool target_read_kernel_va(uint64_t va)
{
    return (va >> 47) == 0x1FFFF;
}

int target_read_bytes(const struct kd_target *t, uint64_t va, void *buf, size_t len)
{
    if (!t || !t->ops || !t->ops->read_virtual || (!buf && len) || len > TARGET_READ_MAX)
        return KD_ERR_ARG;
    if (len == 0)
        return KD_OK;
    /* The whole range must stay canonical: no wrap, no hole crossing. */
    if (!target_read_canonical(va) || va + len - 1 < va || !target_read_canonical(va + len - 1))
        return KD_ERR_ARG;
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        uint32_t want = (uint32_t)(len - done > TARGET_READ_CHUNK ? TARGET_READ_CHUNK : len - done);
        uint32_t got = 0;
        int rc = t->ops->read_virtual(t->ctx, va + done, p + done, want, &got);
        if (rc != KD_OK)
            return rc;
        /* A short read means the rest is unreadable; never retry byte by byte. */
        if (got != want)
            return KD_ERR_TARGET;
        done += want;
    }
    return KD_OK;
}

int target_read_u64(const struct kd_target *t, uint64_t va, uint64_t *out)
{
    uint8_t b[8];
    int rc = target_read_bytes(t, va, b, sizeof b);
    *out = rc == KD_OK ? kd_le64(b) : 0;
    return rc;
}

int target_read_u32(const struct kd_target *t, uint64_t va, uint32_t *out)
{
    uint8_t b[4];
    int rc = target_read_bytes(t, va, b, sizeof b);
    *out = rc == KD_OK ? kd_le32(b) : 0;
    return rc;
}

int target_read_kptr(const struct kd_target *t, uint64_t va, uint64_t *out)
{
    int rc = target_read_u64(t, va, out);
    if (rc == KD_OK && !target_read_kernel_va(*out))
        return KD_ERR_FORMAT;
    return rc;
}
