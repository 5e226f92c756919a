/* calibrate.c: offsets found on the live target (method in calibrate.h). */
#include "calibrate.h"

#include <stdlib.h>
#include <string.h>

#include "addr_set.h"
#include "kd_le.h"
#include "kd_status.h"
#include "symbols.h"
#include "target_read.h"

struct cal_kthread {
    uint64_t initial, limit, base, kstack, apc;
};

/* The KTHREAD fields calibration relies on, read from one span. */
static int cal_read_kthread(const struct kd_target *t, const struct offsets *o, uint64_t x,
                            struct cal_kthread *k)
{
    static const enum offsets_field f[5] = {
        OFFSETS_KTHREAD_INITIAL_STACK, OFFSETS_KTHREAD_STACK_LIMIT, OFFSETS_KTHREAD_STACK_BASE,
        OFFSETS_KTHREAD_KERNEL_STACK, OFFSETS_KTHREAD_APC_PROCESS};
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < 5; i++) {
        lo = o->value[f[i]] < lo ? o->value[f[i]] : lo;
        hi = o->value[f[i]] + 8 > hi ? o->value[f[i]] + 8 : hi;
    }
    uint8_t buf[OFFSETS_MAX_STRUCT_SIZE + 8];
    int rc = target_read_bytes(t, x + lo, buf, hi - lo);
    if (rc != KD_OK)
        return rc;
    uint64_t v[5];
    for (int i = 0; i < 5; i++)
        v[i] = kd_le64(buf + o->value[f[i]] - lo);
    *k = (struct cal_kthread){v[0], v[1], v[2], v[3], v[4]};
    return KD_OK;
}

static bool cal_kthread_ok(const struct cal_kthread *k)
{
    return offsets_stack_ok(k->initial, k->limit, k->base, k->kstack);
}

/* A non-empty LIST_ENTRY at buf[off] of the structure at va. */
static bool cal_list_entry(const uint8_t *buf, uint32_t off, uint64_t va)
{
    uint64_t f = kd_le64(buf + off), b = kd_le64(buf + off + 8);
    return target_read_kernel_va(f) && target_read_kernel_va(b) && !(f & 7) && !(b & 7) &&
           f != va + off;
}

/* Walks a LIST_ENTRY chain from head: *count nodes, whether it holds want.
 * KD_ERR_FORMAT on a bad link, loop or Blink mismatch; KD_ERR_LENGTH past max. */
static int cal_walk(const struct kd_target *t, uint64_t head, size_t max, uint64_t want,
                    size_t *count, bool *has_want, uint64_t *sample, size_t nsample)
{
    struct addr_set seen;
    uint64_t prev = head, cur;
    uint8_t le[16];
    int rc = target_read_kptr(t, head, &cur);
    *count = 0;
    *has_want = false;
    addr_set_init(&seen, max);
    while (rc == KD_OK && cur != head) {
        int added = addr_set_add(&seen, cur);
        if (added <= 0) {
            rc = added == 0 ? KD_ERR_FORMAT : added;
            break;
        }
        rc = target_read_bytes(t, cur, le, sizeof le);
        if (rc == KD_OK && (kd_le64(le + 8) != prev || !target_read_kernel_va(kd_le64(le))))
            rc = KD_ERR_FORMAT;
        if (rc != KD_OK)
            break;
        if (*count < nsample)
            sample[*count] = cur;
        *has_want |= cur == want;
        (*count)++;
        prev = cur;
        cur = kd_le64(le);
    }
    addr_set_fini(&seen);
    return rc;
}

/* Addresses of the processes on the list, given ActiveProcessLinks. */
static int cal_processes(const struct kd_target *t, uint64_t head, uint32_t apl, uint64_t **out,
                         size_t *n)
{
    bool dummy;
    uint64_t *v = malloc(CALIBRATE_MAX_PROCESSES * sizeof *v);
    *out = NULL;
    *n = 0;
    if (!v)
        return KD_ERR_NOMEM;
    int rc = cal_walk(t, head, CALIBRATE_MAX_PROCESSES, 0, n, &dummy, v, CALIBRATE_MAX_PROCESSES);
    if (rc != KD_OK) {
        free(v);
        *n = 0;
        return rc;
    }
    for (size_t i = 0; i < *n; i++)
        v[i] -= apl;
    *out = v;
    return KD_OK;
}

/* A processor's current thread and the process it runs in. With procs,
 * only a process on that list counts; without, any kernel address does. */
static int cal_anchor(const struct kd_target *t, const struct kdbg *k, const struct offsets *o,
                      uint32_t ncpus, const uint64_t *procs, size_t nprocs, uint64_t *thread,
                      uint64_t *process)
{
    uint32_t n = ncpus ? ncpus : 64;
    for (uint32_t cpu = 0; cpu < n; cpu++) {
        uint64_t th, p;
        int rc = kdbg_current_thread(t, k, cpu, &th);
        if (rc == KD_ERR_NOTFOUND && !ncpus)
            break; /* past the last processor */
        if (rc != KD_OK ||
            target_read_kptr(t, th + o->value[OFFSETS_KTHREAD_APC_PROCESS], &p) != KD_OK)
            continue;
        bool listed = !procs;
        for (size_t i = 0; procs && i < nprocs && !listed; i++)
            listed = procs[i] == p;
        if (listed) {
            *thread = th;
            *process = p;
            return KD_OK;
        }
    }
    return KD_ERR_NOTFOUND;
}

/* Steps 1 and 2: UniqueProcessId, ActiveProcessLinks, ImageFileName. */
static int cal_process_fields(const struct kd_target *t, const struct kdbg *k,
                              const struct modules *m, uint64_t kern_base, uint32_t ncpus,
                              struct offsets *o, struct calibrate_report *r)
{
    uint64_t head = kdbg_get(k, KDBG_PS_ACTIVE_PROCESS_HEAD), first, s = 0, blink, va;
    uint8_t *buf = NULL;
    int rc = target_read_kptr(t, head, &first);
    if (rc == KD_OK)
        rc = target_read_u64(t, first + 8, &blink);
    if (rc != KD_OK || first == head || blink != head)
        return rc != KD_OK ? rc : KD_ERR_FORMAT;
    struct module *nt = symbols_kernel(m, kern_base);
    if (nt && symbols_export(t, nt, "PsInitialSystemProcess", &va) == KD_OK &&
        target_read_kptr(t, va, &s) == KD_OK)
        r->system_from_export = true;
    if (offsets_has(o, OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS)) {
        s = first - o->value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS];
    } else if (!r->system_from_export) {
        /* No export: the process of a current thread, found on the list. */
        uint64_t th, p, d = 0, node = first;
        if (cal_anchor(t, k, o, ncpus, NULL, 0, &th, &p) != KD_OK)
            return KD_ERR_NOTFOUND;
        for (size_t i = 0; i < CALIBRATE_WALK_MAX && node != head && !d; i++) {
            if (node > p && node - p < o->size_eprocess && !((node - p) & 7))
                d = node - p;
            else if (target_read_kptr(t, node, &node) != KD_OK)
                return KD_ERR_NOTFOUND;
        }
        if (!d)
            return KD_ERR_NOTFOUND;
        s = first - d;
    }
    uint64_t d = first - s, pid;
    if (!target_read_kernel_va(s) || first < s || d < 8 || d + 16 > o->size_eprocess || (d & 7))
        return KD_ERR_NOTFOUND;
    /* System's pid (4) sits right before its links in every build seen. */
    rc = target_read_u64(t, first - 8, &pid);
    if (rc != KD_OK || pid != 4)
        return rc != KD_OK ? rc : KD_ERR_NOTFOUND;
    r->system_process = s;
    offsets_set(o, OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS, (uint32_t)d, OFFSETS_SRC_CALIBRATED);
    offsets_set(o, OFFSETS_EPROCESS_UNIQUE_PROCESS_ID, (uint32_t)d - 8, OFFSETS_SRC_CALIBRATED);
    uint64_t next, p2 = 0;
    if (target_read_kptr(t, first, &next) == KD_OK && next != head) {
        p2 = next - o->value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS];
        if (target_read_u64(t, p2 + o->value[OFFSETS_EPROCESS_UNIQUE_PROCESS_ID], &pid) != KD_OK ||
            pid == 0 || (pid & 3) || pid > 0xFFFFFFFFu || pid == 4)
            return KD_ERR_FORMAT;
    }
    if (offsets_has(o, OFFSETS_EPROCESS_IMAGE_FILE_NAME))
        return KD_OK;
    buf = malloc(o->size_eprocess);
    if (!buf)
        return KD_ERR_NOMEM;
    rc = target_read_bytes(t, s, buf, o->size_eprocess);
    uint32_t at = 0;
    for (uint32_t i = (uint32_t)d + 16; rc == KD_OK && !at && i + 15 <= o->size_eprocess; i++) {
        static const uint8_t want[15] = "System";
        if (memcmp(buf + i, want, sizeof want) == 0)
            at = i;
    }
    free(buf);
    if (rc != KD_OK || !at)
        return rc != KD_OK ? rc : KD_ERR_NOTFOUND;
    if (p2) {
        uint8_t name[15];
        rc = target_read_bytes(t, p2 + at, name, sizeof name);
        if (rc != KD_OK || name[0] < 0x21 || name[0] > 0x7E)
            return rc != KD_OK ? rc : KD_ERR_FORMAT;
    }
    offsets_set(o, OFFSETS_EPROCESS_IMAGE_FILE_NAME, at, OFFSETS_SRC_CALIBRATED);
    return KD_OK;
}

struct cal_pair {
    uint32_t h, e;
    size_t count;
    bool has_anchor;
};

/* Step 3 for process p: pairs found from each LIST_ENTRY's first node. */
static int cal_thread_pairs(const struct kd_target *t, struct offsets *o, uint64_t p,
                            uint64_t anchor, struct cal_pair *best)
{
    uint32_t se = o->size_eprocess, st = o->size_ethread;
    uint8_t *pb = malloc(se), *nb = malloc((size_t)st + 16);
    int rc = pb && nb ? target_read_bytes(t, p, pb, se) : KD_ERR_NOMEM;
    unsigned found = 0;
    memset(best, 0, sizeof *best);
    for (uint32_t h = 0; rc == KD_OK && h + 16 <= se; h += 8) {
        if (!cal_list_entry(pb, h, p))
            continue;
        uint64_t n = kd_le64(pb + h), ws = n - st, wl = st + 16;
        if (n < st)
            continue;
        /* One read covers every candidate KTHREAD N - e. When the bytes
         * before N are not all mapped (an object at the start of its page),
         * find the lowest readable start by bisection, then read from there. */
        if (target_read_bytes(t, ws, nb, wl) != KD_OK) {
            uint64_t lo = ws, hi = n;
            uint8_t probe[8];
            while (hi - lo > 8) {
                uint64_t mid = lo + (((hi - lo) / 2) & ~7ull);
                if (target_read_bytes(t, mid, probe, sizeof probe) == KD_OK)
                    hi = mid;
                else
                    lo = mid;
            }
            ws = hi;
            wl = n + 16 - ws;
            if (target_read_bytes(t, ws, nb, wl) != KD_OK)
                continue;
        }
        for (uint32_t e = 16; e < st && e <= n - ws; e += 8) {
            uint64_t x = n - e;
            struct cal_kthread kt;
            uint32_t off[5] = {
                o->value[OFFSETS_KTHREAD_INITIAL_STACK], o->value[OFFSETS_KTHREAD_STACK_LIMIT],
                o->value[OFFSETS_KTHREAD_STACK_BASE], o->value[OFFSETS_KTHREAD_KERNEL_STACK],
                o->value[OFFSETS_KTHREAD_APC_PROCESS]};
            uint64_t v[5];
            bool inside = true;
            for (int i = 0; i < 5; i++) {
                uint64_t rel = x + off[i] - ws;
                inside &= rel + 8 <= wl;
                v[i] = inside ? kd_le64(nb + rel) : 0;
            }
            kt = (struct cal_kthread){v[0], v[1], v[2], v[3], v[4]};
            if (!inside || kt.apc != p || !cal_kthread_ok(&kt))
                continue;
            /* Confirm over the whole chain and a sample of its threads. */
            uint64_t sample[CALIBRATE_SAMPLE];
            size_t count;
            bool has;
            if (cal_walk(t, p + h, CALIBRATE_MAX_THREADS, anchor ? anchor + e : 0, &count, &has,
                         sample, CALIBRATE_SAMPLE) != KD_OK ||
                count == 0)
                continue;
            bool ok = true;
            for (size_t i = 0; ok && i < count && i < CALIBRATE_SAMPLE; i++)
                ok = cal_read_kthread(t, o, sample[i] - e, &kt) == KD_OK && cal_kthread_ok(&kt);
            if (!ok || (anchor && !has))
                continue;
            found++;
            /* The longest list, then the ETHREAD-level one (larger e). */
            if (count > best->count || (count == best->count && e > best->e))
                *best = (struct cal_pair){h, e, count, has};
        }
    }
    free(pb);
    free(nb);
    if (rc == KD_OK && !found)
        rc = KD_ERR_NOTFOUND;
    return rc == KD_OK ? (int)found : rc;
}

/* Steps 4 and 5 from a sample of System's threads. */
static int cal_thread_ids(const struct kd_target *t, const struct modules *m, struct offsets *o,
                          uint64_t s)
{
    uint64_t sample[CALIBRATE_CID_THREADS], pid;
    size_t count;
    bool has;
    uint32_t st = o->size_ethread, e = o->value[OFFSETS_ETHREAD_THREAD_LIST_ENTRY];
    int rc = cal_walk(t, s + o->value[OFFSETS_EPROCESS_THREAD_LIST_HEAD], CALIBRATE_MAX_THREADS, 0,
                      &count, &has, sample, CALIBRATE_CID_THREADS);
    if (rc == KD_OK)
        rc = target_read_u64(t, s + o->value[OFFSETS_EPROCESS_UNIQUE_PROCESS_ID], &pid);
    if (rc != KD_OK)
        return rc;
    size_t n = count < CALIBRATE_CID_THREADS ? count : CALIBRATE_CID_THREADS;
    uint8_t *b = n ? malloc(n * (size_t)st) : NULL;
    if (!b)
        return n ? KD_ERR_NOMEM : KD_ERR_NOTFOUND;
    for (size_t i = 0; rc == KD_OK && i < n; i++)
        rc = target_read_bytes(t, sample[i] - e, b + i * st, st);
    uint32_t cid = 0;
    bool have_cid = offsets_has(o, OFFSETS_ETHREAD_CID);
    for (uint32_t c = 8; rc == KD_OK && !have_cid && c + 16 <= st; c += 8) {
        bool ok = true;
        for (size_t i = 0; ok && i < n; i++) {
            uint64_t tid = kd_le64(b + i * st + c + 8);
            ok = kd_le64(b + i * st + c) == pid && tid && !(tid & 3) && tid <= 0xFFFFFFFFu;
            for (size_t j = 0; ok && j < i; j++)
                ok = kd_le64(b + j * st + c + 8) != tid;
        }
        if (ok) {
            offsets_set(o, OFFSETS_ETHREAD_CID, c, OFFSETS_SRC_CALIBRATED);
            have_cid = true;
        }
    }
    if (have_cid)
        cid = o->value[OFFSETS_ETHREAD_CID];
    bool have_w32 = offsets_has(o, OFFSETS_ETHREAD_WIN32_START_ADDRESS);
    for (uint32_t c = cid + 16; rc == KD_OK && have_cid && !have_w32 && c + 8 <= st; c += 8) {
        bool ok = true;
        for (size_t i = 0; ok && i < n; i++)
            ok = modules_find(m, kd_le64(b + i * st + c)) != NULL;
        if (ok) {
            offsets_set(o, OFFSETS_ETHREAD_WIN32_START_ADDRESS, c, OFFSETS_SRC_CALIBRATED);
            have_w32 = true;
        }
    }
    free(b);
    if (rc == KD_OK && (!have_cid || !have_w32))
        rc = KD_ERR_NOTFOUND;
    return rc;
}

int calibrate_run(const struct kd_target *t, const struct kdbg *k, const struct modules *m,
                  uint64_t kern_base, uint32_t ncpus, struct offsets *o, struct calibrate_report *r)
{
    struct calibrate_report local;
    static const enum offsets_field need[5] = {
        OFFSETS_KTHREAD_INITIAL_STACK, OFFSETS_KTHREAD_STACK_LIMIT, OFFSETS_KTHREAD_STACK_BASE,
        OFFSETS_KTHREAD_KERNEL_STACK, OFFSETS_KTHREAD_APC_PROCESS};
    if (!r)
        r = &local;
    memset(r, 0, sizeof *r);
    if (!k || !target_read_kernel_va(kdbg_get(k, KDBG_PS_ACTIVE_PROCESS_HEAD)))
        return KD_ERR_STATE;
    for (int i = 0; i < 5; i++)
        if (!offsets_has(o, need[i]))
            return KD_ERR_STATE;
    int rc = cal_process_fields(t, k, m, kern_base, ncpus, o, r);
    int result = rc;
    if (!offsets_has(o, OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS) ||
        !offsets_has(o, OFFSETS_EPROCESS_UNIQUE_PROCESS_ID))
        return rc != KD_OK ? rc : KD_ERR_NOTFOUND;
    uint64_t head = kdbg_get(k, KDBG_PS_ACTIVE_PROCESS_HEAD), first;
    if (target_read_kptr(t, head, &first) != KD_OK)
        return KD_ERR_TARGET;
    uint64_t s = first - o->value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS];
    r->system_process = s;
    if (!offsets_has(o, OFFSETS_EPROCESS_THREAD_LIST_HEAD) ||
        !offsets_has(o, OFFSETS_ETHREAD_THREAD_LIST_ENTRY)) {
        uint64_t *procs, th = 0, p = s;
        size_t np;
        rc = cal_processes(t, head, o->value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS], &procs, &np);
        if (rc != KD_OK)
            return rc;
        r->processes_seen = (unsigned)np;
        if (cal_anchor(t, k, o, ncpus, procs, np, &th, &p) != KD_OK) {
            th = 0;
            p = s;
        }
        free(procs);
        struct cal_pair best;
        rc = cal_thread_pairs(t, o, p, th, &best);
        if (rc < 0 && th) { /* the anchor's process may be odd: retry on System */
            th = 0;
            p = s;
            rc = cal_thread_pairs(t, o, p, 0, &best);
        }
        if (rc < 0)
            return rc;
        r->thread_pairs = (unsigned)rc;
        r->anchor_thread = th;
        r->anchor_process = p;
        offsets_set(o, OFFSETS_EPROCESS_THREAD_LIST_HEAD, best.h, OFFSETS_SRC_CALIBRATED);
        offsets_set(o, OFFSETS_ETHREAD_THREAD_LIST_ENTRY, best.e, OFFSETS_SRC_CALIBRATED);
    }
    if (!offsets_has(o, OFFSETS_ETHREAD_CID) ||
        !offsets_has(o, OFFSETS_ETHREAD_WIN32_START_ADDRESS)) {
        rc = cal_thread_ids(t, m, o, s);
        if (result == KD_OK)
            result = rc;
    }
    return result == KD_OK ? KD_OK : KD_ERR_NOTFOUND;
}
