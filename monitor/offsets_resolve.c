/* offsets_resolve.c: KDBG -> ISF -> calibration -> table -> check (see offsets_resolve.h). */
#include "offsets_resolve.h"

#include <string.h>

#include "kd_le.h"
#include "kd_status.h"
#include "target_read.h"

/* Up to max threads of the process at p, from its thread list. */
static size_t offsets_resolve_sample(const struct kd_target *t, const struct offsets *o, uint64_t p,
                                     uint64_t *out, size_t max)
{
    uint64_t head = p + o->value[OFFSETS_EPROCESS_THREAD_LIST_HEAD], cur;
    uint32_t e = o->value[OFFSETS_ETHREAD_THREAD_LIST_ENTRY];
    size_t n = 0;
    if (target_read_kptr(t, head, &cur) != KD_OK)
        return 0;
    while (n < max && cur != head && cur >= e) {
        out[n++] = cur - e;
        if (target_read_kptr(t, cur, &cur) != KD_OK)
            break;
    }
    return n;
}

int offsets_resolve(const struct kd_target *t, const struct kd_version *v, const struct kdbg *k,
                    const struct modules *m, const char *isf, size_t isf_len, uint32_t ncpus,
                    struct offsets *o, struct offsets_resolve_report *r)
{
    struct offsets_resolve_report local;
    if (!r)
        r = &local;
    memset(r, 0, sizeof *r);
    offsets_init(o, v ? v->minor : 0);
    if (k && !k->encoded)
        offsets_from_kdbg(o, k);
    r->isf_status = isf ? offsets_from_isf(o, isf, isf_len) : KD_ERR_NOTFOUND;
    r->calibrate_status =
        k && !k->encoded ? calibrate_run(t, k, m, v ? v->kern_base : 0, ncpus, o, &r->calibration)
                         : KD_ERR_STATE;
    r->builtin_status = offsets_from_builtin(o);

    uint64_t threads[OFFSETS_RESOLVE_CHECK_MAX];
    size_t n = 0;
    for (uint32_t c = 0; k && c < ncpus && n < OFFSETS_RESOLVE_CHECK_CPUS; c++) {
        uint64_t th;
        if (kdbg_current_thread(t, k, c, &th) == KD_OK)
            threads[n++] = th;
    }
    uint64_t head = k ? kdbg_get(k, KDBG_PS_ACTIVE_PROCESS_HEAD) : 0, first;
    if (offsets_complete(o) && target_read_kernel_va(head) &&
        target_read_kptr(t, head, &first) == KD_OK && first != head)
        n += offsets_resolve_sample(t, o, first - o->value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS],
                                    threads + n, OFFSETS_RESOLVE_CHECK_THREADS);
    r->check_status = offsets_check(t, o, threads, n);
    if (!offsets_complete(o))
        return KD_ERR_NOTFOUND;
    if (!o->threads_checked)
        return KD_ERR_STATE; /* nothing to check against: unverified, not wrong */
    return o->check_passed ? KD_OK : KD_ERR_FORMAT;
}
