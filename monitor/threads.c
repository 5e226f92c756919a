/* threads.c: process/thread enumeration and stack usage (see threads.h). */
#include "threads.h"

#include <stdlib.h>
#include <string.h>

#include "addr_set.h"
#include "kd_api.h"
#include "kd_le.h"
#include "kd_status.h"
#include "target_read.h"

#define THREADS_SPAN_MAX 1024u /* fields farther apart than this are read apart */

struct threads_list *threads_new(void)
{
    return calloc(1, sizeof(struct threads_list));
}

void threads_free(struct threads_list *l)
{
    if (!l)
        return;
    free(l->procs);
    free(l->v);
    free(l);
}

/* Reads the fields at offs[n] (each len[i] bytes) of the structure at base
 * into out[i] (little-endian, up to 8 bytes), in one read when they span
 * THREADS_SPAN_MAX or less. Fields with len 0 are skipped. */
static int threads_fields(const struct kd_target *t, uint64_t base, const uint32_t *offs,
                          const uint32_t *len, size_t n, uint8_t out[][16])
{
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (!len[i])
            continue;
        lo = offs[i] < lo ? offs[i] : lo;
        hi = offs[i] + len[i] > hi ? offs[i] + len[i] : hi;
    }
    if (lo == UINT32_MAX)
        return KD_OK;
    if (hi - lo <= THREADS_SPAN_MAX) {
        uint8_t buf[THREADS_SPAN_MAX];
        int rc = target_read_bytes(t, base + lo, buf, hi - lo);
        for (size_t i = 0; rc == KD_OK && i < n; i++)
            if (len[i])
                memcpy(out[i], buf + offs[i] - lo, len[i]);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = len[i] ? target_read_bytes(t, base + offs[i], out[i], len[i]) : KD_OK;
        if (rc != KD_OK)
            return rc;
    }
    return KD_OK;
}

static bool threads_grow(void **v, size_t *cap, size_t n, size_t item)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = realloc(*v, c * item);
    if (!p)
        return false;
    *v = p;
    *cap = c;
    return true;
}

/* Walks one process's threads; appends them to l. */
static int threads_walk_process(const struct kd_target *t, const struct offsets *o,
                                struct threads_list *l, size_t *cap, size_t pi, uint64_t head)
{
    struct addr_set seen;
    uint64_t prev = head, cur;
    uint32_t e = o->value[OFFSETS_ETHREAD_THREAD_LIST_ENTRY];
    uint32_t offs[4] = {e, o->value[OFFSETS_ETHREAD_CID] + 8,
                        o->value[OFFSETS_ETHREAD_WIN32_START_ADDRESS],
                        o->value[OFFSETS_ETHREAD_START_ADDRESS]};
    uint32_t lens[4] = {16, 8, offsets_has(o, OFFSETS_ETHREAD_WIN32_START_ADDRESS) ? 8 : 0,
                        offsets_has(o, OFFSETS_ETHREAD_START_ADDRESS) ? 8 : 0};
    int rc = target_read_kptr(t, head, &cur);
    size_t count = 0;
    addr_set_init(&seen, THREADS_MAX_PER_PROCESS);
    while (rc == KD_OK && cur != head) {
        uint8_t f[4][16];
        int added = addr_set_add(&seen, cur);
        if (added <= 0 || cur < e) {
            rc = added < 0 ? added : KD_ERR_FORMAT;
            break;
        }
        if (l->n >= THREADS_MAX_TOTAL) {
            rc = KD_ERR_LENGTH;
            break;
        }
        uint64_t x = cur - e;
        rc = threads_fields(t, x, offs, lens, 4, f);
        if (rc != KD_OK)
            break;
        if (kd_le64(f[0] + 8) != prev || !target_read_kernel_va(kd_le64(f[0]))) {
            rc = KD_ERR_FORMAT;
            break;
        }
        if (!threads_grow((void **)&l->v, cap, l->n, sizeof *l->v)) {
            rc = KD_ERR_NOMEM;
            break;
        }
        struct threads_thread *th = &l->v[l->n++];
        memset(th, 0, sizeof *th);
        th->kthread = x;
        th->process = pi;
        uint64_t tid = kd_le64(f[1]);
        th->tid = tid <= 0xFFFFFFFFu ? (uint32_t)tid : 0;
        th->start = lens[2] ? kd_le64(f[2]) : 0;
        if (!th->start && lens[3])
            th->start = kd_le64(f[3]);
        count++;
        prev = cur;
        cur = kd_le64(f[0]);
    }
    addr_set_fini(&seen);
    l->procs[pi].count = count;
    return rc;
}

int threads_enumerate(const struct kd_target *t, const struct offsets *o, uint64_t process_head,
                      struct threads_list *l)
{
    static const enum offsets_field need[] = {
        OFFSETS_EPROCESS_UNIQUE_PROCESS_ID, OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS,
        OFFSETS_EPROCESS_IMAGE_FILE_NAME,   OFFSETS_EPROCESS_THREAD_LIST_HEAD,
        OFFSETS_ETHREAD_THREAD_LIST_ENTRY,  OFFSETS_ETHREAD_CID};
    free(l->procs);
    free(l->v);
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!offsets_has(o, need[i]))
            return l->status = KD_ERR_STATE;
    uint32_t apl = o->value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS];
    uint32_t offs[4] = {apl, o->value[OFFSETS_EPROCESS_UNIQUE_PROCESS_ID],
                        o->value[OFFSETS_EPROCESS_IMAGE_FILE_NAME],
                        o->value[OFFSETS_EPROCESS_THREAD_LIST_HEAD]};
    uint32_t lens[4] = {16, 8, 15, 8};
    struct addr_set seen;
    size_t pcap = 0, tcap = 0;
    uint64_t prev = process_head, cur;
    int rc =
        target_read_kernel_va(process_head) ? target_read_kptr(t, process_head, &cur) : KD_ERR_ARG;
    int first_err = KD_OK;
    addr_set_init(&seen, THREADS_MAX_PROCESSES);
    while (rc == KD_OK && cur != process_head) {
        uint8_t f[4][16];
        int added = addr_set_add(&seen, cur);
        if (added <= 0 || cur < apl) {
            rc = added < 0 ? added : KD_ERR_FORMAT;
            break;
        }
        uint64_t p = cur - apl;
        rc = threads_fields(t, p, offs, lens, 4, f);
        if (rc != KD_OK)
            break;
        if (kd_le64(f[0] + 8) != prev || !target_read_kernel_va(kd_le64(f[0]))) {
            rc = KD_ERR_FORMAT;
            break;
        }
        if (!threads_grow((void **)&l->procs, &pcap, l->nprocs, sizeof *l->procs)) {
            rc = KD_ERR_NOMEM;
            break;
        }
        size_t pi = l->nprocs++;
        struct threads_process *pr = &l->procs[pi];
        memset(pr, 0, sizeof *pr);
        pr->eprocess = p;
        uint64_t pid = kd_le64(f[1]);
        pr->pid = pid <= 0xFFFFFFFFu ? (uint32_t)pid : 0;
        for (int i = 0; i < 15 && f[2][i]; i++)
            pr->name[i] = f[2][i] >= 0x20 && f[2][i] < 0x7F ? (char)f[2][i] : '?';
        pr->first = l->n;
        pr->status = threads_walk_process(t, o, l, &tcap, pi,
                                          p + o->value[OFFSETS_EPROCESS_THREAD_LIST_HEAD]);
        if (pr->status == KD_ERR_NOMEM || l->n >= THREADS_MAX_TOTAL) {
            rc = pr->status == KD_ERR_NOMEM ? KD_ERR_NOMEM : KD_ERR_LENGTH;
            break;
        }
        if (pr->status != KD_OK && first_err == KD_OK)
            first_err = pr->status;
        prev = cur;
        cur = kd_le64(f[0]);
    }
    addr_set_fini(&seen);
    if (rc == KD_OK)
        rc = first_err;
    l->complete = rc == KD_OK;
    l->status = rc;
    return rc;
}

void threads_block_plan(const struct offsets *o, uint32_t *start, uint32_t *len, bool *state_merged)
{
    static const enum offsets_field f[4] = {OFFSETS_KTHREAD_INITIAL_STACK,
                                            OFFSETS_KTHREAD_STACK_LIMIT, OFFSETS_KTHREAD_STACK_BASE,
                                            OFFSETS_KTHREAD_KERNEL_STACK};
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < 4; i++) {
        lo = o->value[f[i]] < lo ? o->value[f[i]] : lo;
        hi = o->value[f[i]] + 8 > hi ? o->value[f[i]] + 8 : hi;
    }
    uint32_t s = o->value[OFFSETS_KTHREAD_STATE];
    bool near = offsets_has(o, OFFSETS_KTHREAD_STATE) &&
                (s >= hi ? s - hi : (s + 1 <= lo ? lo - s - 1 : 0)) < THREADS_MERGE_GAP;
    *state_merged = near;
    if (near) {
        lo = s < lo ? s : lo;
        hi = s + 1 > hi ? s + 1 : hi;
    }
    *start = lo;
    *len = hi - lo;
}

int threads_read_stack(const struct kd_target *t, const struct offsets *o,
                       struct threads_thread *th, unsigned flags)
{
    uint32_t start, len;
    bool merged;
    uint8_t buf[THREADS_SPAN_MAX];
    th->have_block = th->have_state = false;
    for (int f = OFFSETS_KTHREAD_INITIAL_STACK; f <= OFFSETS_KTHREAD_KERNEL_STACK; f++)
        if (!offsets_has(o, (enum offsets_field)f))
            return KD_ERR_STATE;
    threads_block_plan(o, &start, &len, &merged);
    if (len > sizeof buf)
        return KD_ERR_LENGTH;
    int rc = target_read_bytes(t, th->kthread + start, buf, len);
    if (rc != KD_OK)
        return rc;
    th->initial_stack = kd_le64(buf + o->value[OFFSETS_KTHREAD_INITIAL_STACK] - start);
    th->stack_limit = kd_le64(buf + o->value[OFFSETS_KTHREAD_STACK_LIMIT] - start);
    th->stack_base = kd_le64(buf + o->value[OFFSETS_KTHREAD_STACK_BASE] - start);
    th->kernel_stack = kd_le64(buf + o->value[OFFSETS_KTHREAD_KERNEL_STACK] - start);
    th->have_block = true;
    if (merged) {
        th->state = buf[o->value[OFFSETS_KTHREAD_STATE] - start];
        th->have_state = true;
    } else if ((flags & THREADS_READ_STATE) && offsets_has(o, OFFSETS_KTHREAD_STATE)) {
        rc = target_read_bytes(t, th->kthread + o->value[OFFSETS_KTHREAD_STATE], &th->state, 1);
        th->have_state = rc == KD_OK;
    }
    return rc;
}

int threads_cpus(const struct kd_target *t, const struct kdbg *k, uint32_t ncpus,
                 struct threads_cpu *cpus)
{
    uint8_t ctx[KD_API_CONTEXT_AMD64_SIZE];
    if (ncpus > THREADS_MAX_CPUS || !t || !t->ops || !t->ops->get_context)
        return KD_ERR_ARG;
    for (uint32_t c = 0; c < ncpus; c++) {
        uint32_t got = 0;
        uint64_t prcb = cpus[c].prcb;
        memset(&cpus[c], 0, sizeof cpus[c]);
        if (!prcb && kdbg_prcb(t, k, c, &prcb) != KD_OK)
            continue;
        cpus[c].prcb = prcb;
        if (!kdbg_has(k, KDBG_OFF_PRCB_CURRENT_THREAD) ||
            target_read_kptr(t, prcb + kdbg_get(k, KDBG_OFF_PRCB_CURRENT_THREAD),
                             &cpus[c].thread) != KD_OK)
            continue;
        /* only up to RSP: on a 115200-baud link the whole CONTEXT costs ~0.1 s */
        if (t->ops->get_context(t->ctx, (uint16_t)c, ctx, KD_API_CONTEXT_AMD64_RSP + 8, &got) !=
                KD_OK ||
            got < KD_API_CONTEXT_AMD64_RSP + 8)
            continue;
        cpus[c].rsp = kd_le64(ctx + KD_API_CONTEXT_AMD64_RSP);
        cpus[c].valid = true;
    }
    return KD_OK;
}

int threads_usage(const struct threads_thread *th, const struct threads_cpu *cpus, uint32_t ncpus,
                  struct threads_usage *u)
{
    memset(u, 0, sizeof *u);
    u->cpu = -1;
    if (!th->have_block)
        return KD_ERR_STATE;
    u->sp = th->kernel_stack;
    for (uint32_t c = 0; cpus && c < ncpus; c++) {
        if (cpus[c].valid && cpus[c].thread == th->kthread) {
            u->cpu = (int)c;
            u->sp = cpus[c].rsp;
            break;
        }
    }
    if (th->stack_base > th->stack_limit)
        u->size = th->stack_base - th->stack_limit;
    if (th->initial_stack <= th->stack_limit || u->sp < th->stack_limit ||
        u->sp > th->initial_stack)
        return KD_OK; /* off this stack: no numbers rather than wrong ones */
    u->on_stack = true;
    u->used = th->initial_stack - u->sp;
    u->headroom = u->sp - th->stack_limit;
    u->usable = th->initial_stack - th->stack_limit;
    u->percent_x100 = (uint32_t)(u->used * 10000 / u->usable);
    return KD_OK;
}

int threads_sample(const struct kd_target *t, const struct offsets *o, struct threads_list *l,
                   const struct threads_cpu *cpus, uint32_t ncpus, unsigned flags,
                   struct threads_usage *usage)
{
    int first = KD_OK;
    for (size_t i = 0; i < l->n; i++) {
        int rc = threads_read_stack(t, o, &l->v[i], flags);
        if (rc == KD_OK)
            rc = threads_usage(&l->v[i], cpus, ncpus, &usage[i]);
        if (rc != KD_OK) {
            memset(&usage[i], 0, sizeof usage[i]);
            usage[i].cpu = -1;
            if (first == KD_OK)
                first = rc;
        }
    }
    return first;
}
