/* sim_threads.c: EPROCESS/ETHREAD objects and thread stacks (sim_threads.h). */
#include "sim_threads.h"

#include <stdlib.h>
#include <string.h>

#include "kd_status.h"

#define OBJ_TYPE_PROCESS 3
#define OBJ_TYPE_THREAD 6
#define THREAD_READY 1
#define WAIT_REASON_EXECUTIVE 0
#define WAIT_REASON_USER_REQUEST 6
#define SYSTEM_DTB 0x1aa000ull

/* Appends entry to the LIST_ENTRY at head. */
static void list_append(struct sim_mem *mem, uint64_t head, uint64_t entry)
{
    uint64_t last = sim_mem_get64(mem, head + 8);
    sim_mem_put64(mem, entry, head);
    sim_mem_put64(mem, entry + 8, last);
    sim_mem_put64(mem, last, entry);
    sim_mem_put64(mem, head + 8, entry);
}

static void list_init(struct sim_mem *mem, uint64_t head)
{
    sim_mem_put64(mem, head, head);
    sim_mem_put64(mem, head + 8, head);
}

int sim_threads_add_process(struct sim_kernel *k, uint32_t pid, const char *name,
                            uint32_t parent_pid, bool listed, uint32_t *index)
{
    if (!k || !name || !index)
        return KD_ERR_ARG;
    if (k->nprocs == k->procs_cap) {
        size_t ncap = k->procs_cap ? k->procs_cap * 2 : 16;
        struct sim_process *n = realloc(k->procs, ncap * sizeof(*n));
        if (!n)
            return KD_ERR_NOMEM;
        k->procs = n;
        k->procs_cap = ncap;
    }
    uint64_t ep;
    int st = sim_kernel_alloc(k, SIM_EPROCESS_SIZE, &ep);
    if (st != KD_OK)
        return st;
    struct sim_mem *mem = k->mem;
    sim_mem_put8(mem, ep, OBJ_TYPE_PROCESS);
    sim_mem_put64(mem, ep + SIM_KPROCESS_DIRECTORY_TABLE_BASE,
                  pid <= 4 ? SYSTEM_DTB : SYSTEM_DTB + 0x1000ull * pid);
    list_init(mem, ep + SIM_KPROCESS_THREAD_LIST_HEAD);
    sim_mem_put64(mem, ep + SIM_EPROCESS_UNIQUE_PROCESS_ID, pid);
    if (listed)
        list_append(mem, k->process_head, ep + SIM_EPROCESS_ACTIVE_PROCESS_LINKS);
    else
        list_init(mem, ep + SIM_EPROCESS_ACTIVE_PROCESS_LINKS);
    sim_mem_put64(mem, ep + SIM_EPROCESS_INHERITED_FROM_PID, parent_pid);
    if (pid > 4)
        sim_mem_put64(mem, ep + SIM_EPROCESS_PEB, 0x000000a000000000ull + 0x10000000ull * pid);
    uint8_t image[15] = {0};
    strncpy((char *)image, name, sizeof(image) - 1);
    uint32_t done;
    sim_mem_write(mem, ep + SIM_EPROCESS_IMAGE_FILE_NAME, image, sizeof(image), &done);
    list_init(mem, ep + SIM_EPROCESS_THREAD_LIST_HEAD);
    struct sim_process *p = &k->procs[k->nprocs];
    memset(p, 0, sizeof(*p));
    p->eprocess = ep;
    p->pid = pid;
    strncpy(p->name, name, sizeof(p->name) - 1);
    p->listed = listed;
    *index = (uint32_t)k->nprocs++;
    return KD_OK;
}

int sim_threads_add(struct sim_kernel *k, uint32_t process, uint32_t tid, uint64_t start,
                    uint64_t win32_start, bool user, uint32_t *index)
{
    if (!k || process >= k->nprocs || !index)
        return KD_ERR_ARG;
    if (k->nthreads == k->threads_cap) {
        size_t ncap = k->threads_cap ? k->threads_cap * 2 : 64;
        struct sim_thread *n = realloc(k->threads, ncap * sizeof(*n));
        if (!n)
            return KD_ERR_NOMEM;
        k->threads = n;
        k->threads_cap = ncap;
    }
    struct sim_thread t = {.process = process, .tid = tid, .cpu = -1};
    int st = sim_kernel_alloc(k, SIM_ETHREAD_SIZE, &t.ethread);
    if (st == KD_OK)
        st = sim_kernel_new_stack(k, &t.stack_limit, &t.stack_base);
    if (st != KD_OK)
        return st;
    t.initial_stack = t.stack_base - SIM_INITIAL_STACK_GAP;
    t.kernel_stack = t.initial_stack;
    if (user) {
        t.user_rip = 0x00007ffd7a0c0000ull + (tid * 0x1c0ull) % 0x20000 + 0x14;
        t.user_rsp = 0x000000c000000000ull + 0x100000ull * tid - 0x2f8;
    }
    const struct sim_process *p = &k->procs[process];
    struct sim_mem *mem = k->mem;
    uint64_t et = t.ethread;
    sim_mem_put8(mem, et, OBJ_TYPE_THREAD);
    sim_mem_put64(mem, et + SIM_KTHREAD_INITIAL_STACK, t.initial_stack);
    sim_mem_put64(mem, et + SIM_KTHREAD_STACK_LIMIT, t.stack_limit);
    sim_mem_put64(mem, et + SIM_KTHREAD_STACK_BASE, t.stack_base);
    sim_mem_put64(mem, et + SIM_KTHREAD_KERNEL_STACK, t.kernel_stack);
    sim_mem_put8(mem, et + SIM_KTHREAD_STATE, SIM_THREAD_WAITING);
    sim_mem_put8(mem, et + SIM_KTHREAD_WAIT_REASON,
                 user ? WAIT_REASON_USER_REQUEST : WAIT_REASON_EXECUTIVE);
    if (user)
        sim_mem_put64(mem, et + SIM_KTHREAD_TEB,
                      p->pid * 0x10000000ull + 0x000000a000001000ull + 0x2000ull * (tid % 0x800));
    sim_mem_put64(mem, et + SIM_KTHREAD_APC_PROCESS, p->eprocess);
    sim_mem_put64(mem, et + SIM_KTHREAD_PROCESS, p->eprocess);
    list_append(mem, p->eprocess + SIM_KPROCESS_THREAD_LIST_HEAD,
                et + SIM_KTHREAD_THREAD_LIST_ENTRY);
    sim_mem_put64(mem, et + SIM_ETHREAD_START_ADDRESS, start);
    sim_mem_put64(mem, et + SIM_ETHREAD_CID, p->pid);
    sim_mem_put64(mem, et + SIM_ETHREAD_CID + 8, tid);
    list_init(mem, et + SIM_ETHREAD_IRP_LIST);
    sim_mem_put64(mem, et + SIM_ETHREAD_WIN32_START_ADDRESS, win32_start);
    list_append(mem, p->eprocess + SIM_EPROCESS_THREAD_LIST_HEAD,
                et + SIM_ETHREAD_THREAD_LIST_ENTRY);
    uint64_t active = p->eprocess + SIM_EPROCESS_ACTIVE_THREADS;
    sim_mem_put32(mem, active, sim_mem_get32(mem, active) + 1);
    k->threads[k->nthreads] = t;
    *index = (uint32_t)k->nthreads++;
    return KD_OK;
}

void sim_threads_env(const struct sim_kernel *k, uint32_t t, struct sim_stack_env *env)
{
    const struct sim_thread *th = &k->threads[t];
    int cpu = th->cpu >= 0 ? th->cpu : 0;
    *env = (struct sim_stack_env){
        .mem = k->mem,
        .im = &k->im,
        .limit = th->stack_limit,
        .initial_stack = th->initial_stack,
        .ist1_top = k->cpu[cpu].ist_top[1],
        .user_rip = th->user_rip,
        .user_rsp = th->user_rsp,
        .fn_service_linkage = sim_kernel_fn(k, "nt", "KiServiceLinkage"),
    };
}

int sim_threads_lay(struct sim_kernel *k, uint32_t t, const struct sim_call *chain, size_t n)
{
    if (!k || t >= k->nthreads || (!chain && n))
        return KD_ERR_ARG;
    struct sim_thread *th = &k->threads[t];
    struct sim_stack_env env;
    sim_threads_env(k, t, &env);
    sim_stack_pop_to(&th->stack, 0);
    for (size_t i = 0; i < n; i++) {
        struct sim_fault fault;
        int st = sim_stack_push(&th->stack, &env, chain[i], (uint16_t)i, false, &fault);
        if (st == SIM_STACK_FAULTED)
            return KD_ERR_STATE;
        if (st != KD_OK)
            return st;
    }
    return th->cpu < 0 && n ? sim_threads_switch_out(k, t) : KD_OK;
}

int sim_threads_switch_out(struct sim_kernel *k, uint32_t t)
{
    struct sim_thread *th = &k->threads[t];
    const struct sim_frame *top = sim_stack_top(&th->stack);
    if (!top || top->entry)
        return KD_ERR_STATE;
    /* KSWITCH_FRAME below KiSwapContext's frame: Return = its return address. */
    uint64_t ks = top->sp - SIM_KSWITCH_FRAME_SIZE;
    int st = sim_mem_put64(k->mem, ks + SIM_KSWITCH_FRAME_RETURN, top->rip);
    if (st != KD_OK)
        return st;
    th->kernel_stack = ks;
    th->cpu = -1;
    sim_mem_put64(k->mem, th->ethread + SIM_KTHREAD_KERNEL_STACK, ks);
    sim_mem_put8(k->mem, th->ethread + SIM_KTHREAD_STATE, SIM_THREAD_WAITING);
    return KD_OK;
}

int sim_threads_run(struct sim_kernel *k, uint32_t t, uint16_t cpu)
{
    if (!k || t >= k->nthreads || cpu >= k->ncpus || k->threads[t].cpu >= 0)
        return KD_ERR_ARG;
    uint32_t prev = k->cpu[cpu].thread;
    if (prev < k->nthreads && prev != t && k->threads[prev].cpu == cpu) {
        if (prev == k->cpu[cpu].idle_thread) {
            k->threads[prev].cpu = -1;
            sim_mem_put8(k->mem, k->threads[prev].ethread + SIM_KTHREAD_STATE, THREAD_READY);
        } else {
            int st = sim_threads_switch_out(k, prev);
            if (st != KD_OK)
                return st;
        }
    }
    struct sim_thread *th = &k->threads[t];
    th->cpu = cpu;
    k->cpu[cpu].thread = t;
    sim_mem_put64(k->mem, k->cpu[cpu].kprcb + SIM_KPRCB_CURRENT_THREAD, th->ethread);
    sim_mem_put8(k->mem, th->ethread + SIM_KTHREAD_STATE, SIM_THREAD_RUNNING);
    sim_mem_put32(k->mem, th->ethread + SIM_KTHREAD_NEXT_PROCESSOR, cpu);
    sim_mem_put64(k->mem, k->cpu[cpu].tss + SIM_KTSS_RSP0, th->initial_stack);
    return KD_OK;
}

uint64_t sim_threads_sp(const struct sim_kernel *k, uint32_t t)
{
    const struct sim_thread *th = &k->threads[t];
    const struct sim_frame *top = sim_stack_top(&th->stack);
    if (th->cpu >= 0)
        return top ? top->sp : th->initial_stack;
    return th->kernel_stack;
}
