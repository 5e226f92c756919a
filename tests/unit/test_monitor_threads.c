/* test_monitor_threads.c: enumeration, the stack block read, usage. */
#include "check.h"
#include "fake_world.c"
#include "kd_status.h"
#include "offsets_resolve.h"
#include "threads.h"

struct env {
    struct fake_world w;
    struct kdbg k;
    struct modules *m;
    struct offsets o;
    struct threads_list *l;
};

static int env_build(struct env *e, const struct fake_world_layout *lay, size_t nprocs,
                     unsigned per)
{
    memset(e, 0, sizeof *e);
    if (fake_world_build(&e->w, lay, nprocs, per) != 0)
        return -1;
    e->m = modules_new();
    e->l = threads_new();
    if (kdbg_read(&e->w.t, &e->w.v, &e->k) != KD_OK ||
        modules_walk(&e->w.t, e->w.module_head, e->m) != KD_OK)
        return -1;
    return offsets_resolve(&e->w.t, &e->w.v, &e->k, e->m, NULL, 0, FAKE_WORLD_CPUS, &e->o, NULL);
}

static void env_free(struct env *e)
{
    threads_free(e->l);
    modules_free(e->m);
    fake_world_free(&e->w);
}

static void test_enumerate(void)
{
    struct env e;
    struct fake_world_layout lay;
    fake_world_layout_19041(&lay);
    CHECK_EQ(env_build(&e, &lay, 5, 3), KD_OK);
    CHECK_EQ(threads_enumerate(&e.w.t, &e.o, e.w.process_head, e.l), KD_OK);
    CHECK(e.l->complete);
    CHECK_EQ(e.l->nprocs, 5);
    CHECK_EQ(e.l->n, 15);
    for (size_t p = 0; p < e.l->nprocs; p++) {
        CHECK_EQ(e.l->procs[p].eprocess, e.w.proc[p]);
        CHECK_EQ(e.l->procs[p].pid, e.w.pid[p]);
        CHECK_STR(e.l->procs[p].name, e.w.name[p]);
        CHECK_EQ(e.l->procs[p].count, 3);
        CHECK_EQ(e.l->procs[p].first, 3 * p);
    }
    for (size_t i = 0; i < e.l->n; i++) {
        CHECK_EQ(e.l->v[i].kthread, e.w.thread[i]);
        CHECK_EQ(e.l->v[i].tid, e.w.tid[i]);
        CHECK_EQ(e.l->v[i].process, e.w.thread_proc[i]);
        CHECK_EQ(e.l->v[i].start, e.w.start[i]);
    }
    env_free(&e);
}

static void test_usage(void)
{
    struct env e;
    struct fake_world_layout lay;
    struct threads_cpu cpus[FAKE_WORLD_CPUS] = {0};
    struct threads_usage u[FAKE_WORLD_MAX_THREADS];
    fake_world_layout_19041(&lay);
    CHECK_EQ(env_build(&e, &lay, 3, 4), KD_OK);
    CHECK_EQ(threads_enumerate(&e.w.t, &e.o, e.w.process_head, e.l), KD_OK);
    CHECK_EQ(threads_cpus(&e.w.t, &e.k, FAKE_WORLD_CPUS, cpus), KD_OK);
    for (int c = 0; c < FAKE_WORLD_CPUS; c++) {
        CHECK(cpus[c].valid);
        CHECK_EQ(cpus[c].thread, e.w.cpu_thread[c]);
        CHECK_EQ(cpus[c].rsp, e.w.cpu_rsp[c]);
    }
    fake_target_reset_stats(e.w.ft);
    CHECK_EQ(threads_sample(&e.w.t, &e.o, e.l, cpus, FAKE_WORLD_CPUS, 0, u), KD_OK);
    /* One read per thread, of the 56-byte block 0x28..0x60. */
    CHECK_EQ(fake_target_stats(e.w.ft)->reads, e.l->n);
    CHECK_EQ(fake_target_stats(e.w.ft)->bytes, 56 * e.l->n);
    for (size_t i = 0; i < e.l->n; i++) {
        int cpu = -1;
        for (int c = 0; c < FAKE_WORLD_CPUS; c++)
            if (e.w.cpu_thread[c] == e.w.thread[i])
                cpu = c;
        uint64_t sp = cpu >= 0 ? e.w.cpu_rsp[cpu] : e.w.kstack[i];
        CHECK_EQ(u[i].cpu, cpu);
        CHECK_EQ(u[i].sp, sp);
        CHECK(u[i].on_stack);
        CHECK_EQ(u[i].used, e.w.initial[i] - sp);
        CHECK_EQ(u[i].headroom, sp - e.w.limit[i]);
        CHECK_EQ(u[i].usable, 0x6000 - 0x370);
        CHECK_EQ(u[i].size, 0x6000);
        CHECK_EQ(u[i].percent_x100, (e.w.initial[i] - sp) * 10000 / (0x6000 - 0x370));
    }
    /* Thread 0: KernelStack = InitialStack - 0x400 -> 0x400 used of 0x5c90,
     * 0x6000 - 0x370 - 0x400 = 0x5890 left, 4.32 %. */
    CHECK_EQ(u[0].used, 0x400);
    CHECK_EQ(u[0].headroom, 0x5890);
    CHECK_EQ(u[0].percent_x100, 432);
    /* Processor 1 runs thread 1: its RSP is InitialStack - 0x1010. */
    CHECK_EQ(u[1].cpu, 1);
    CHECK_EQ(u[1].used, 0x1010);
    env_free(&e);
}

static void test_block_plan_and_state(void)
{
    struct env e;
    struct fake_world_layout lay;
    uint32_t start, len;
    bool merged;
    fake_world_layout_19041(&lay);
    CHECK_EQ(env_build(&e, &lay, 1, 3), KD_OK);
    threads_block_plan(&e.o, &start, &len, &merged);
    CHECK_EQ(start, 0x28);
    CHECK_EQ(len, 0x38);
    CHECK(!merged); /* State at 0x184 is 0x124 past the block: its own read */
    struct threads_thread th = {.kthread = e.w.thread[2]}; /* waiting (0, 1 run) */
    fake_target_reset_stats(e.w.ft);
    CHECK_EQ(threads_read_stack(&e.w.t, &e.o, &th, THREADS_READ_STATE), KD_OK);
    CHECK_EQ(fake_target_stats(e.w.ft)->reads, 2);
    CHECK(th.have_state);
    CHECK_EQ(th.state, 5);
    CHECK_EQ(th.stack_limit, e.w.limit[2]);
    CHECK_EQ(th.stack_base, e.w.base[2]);
    CHECK_EQ(th.initial_stack, e.w.initial[2]);
    CHECK_EQ(th.kernel_stack, e.w.kstack[2]);
    /* State close to the block (0x90): one read covers both. */
    e.o.value[OFFSETS_KTHREAD_STATE] = 0x90;
    threads_block_plan(&e.o, &start, &len, &merged);
    CHECK(merged);
    CHECK_EQ(len, 0x91 - 0x28);
    fake_target_reset_stats(e.w.ft);
    CHECK_EQ(threads_read_stack(&e.w.t, &e.o, &th, THREADS_READ_STATE), KD_OK);
    CHECK_EQ(fake_target_stats(e.w.ft)->reads, 1);
    /* Unreadable thread: error, no block. */
    th.kthread = 0xFFFFF8FF00000000ull;
    CHECK_EQ(threads_read_stack(&e.w.t, &e.o, &th, 0), KD_ERR_TARGET);
    CHECK(!th.have_block);
    struct threads_usage u;
    CHECK_EQ(threads_usage(&th, NULL, 0, &u), KD_ERR_STATE);
    env_free(&e);
}

static void test_off_stack(void)
{
    struct threads_thread th = {.kthread = 0xFFFFA00000001000ull,
                                .initial_stack = 0xFFFFB00000007C90ull,
                                .stack_limit = 0xFFFFB00000002000ull,
                                .stack_base = 0xFFFFB00000008000ull,
                                .kernel_stack = 0xFFFFB00000007000ull,
                                .have_block = true};
    struct threads_cpu cpu = {
        .thread = th.kthread, .rsp = 0xFFFFB00000100F00ull, .valid = true}; /* on a DPC stack */
    struct threads_usage u;
    CHECK_EQ(threads_usage(&th, &cpu, 1, &u), KD_OK);
    CHECK_EQ(u.cpu, 0);
    CHECK(!u.on_stack);
    CHECK_EQ(u.used, 0);
    CHECK_EQ(u.size, 0x6000);
    cpu.valid = false; /* processor unreadable: the saved KernelStack is used */
    CHECK_EQ(threads_usage(&th, &cpu, 1, &u), KD_OK);
    CHECK_EQ(u.cpu, -1);
    CHECK(u.on_stack);
    CHECK_EQ(u.used, 0xC90);
    CHECK_EQ(u.headroom, 0x5000);
}

static void test_bad_lists(void)
{
    struct env e;
    struct fake_world_layout lay;
    fake_world_layout_19041(&lay);
    CHECK_EQ(env_build(&e, &lay, 3, 3), KD_OK);
    /* Process 1's thread list: the second thread's Flink loops back to the first. */
    uint64_t t0 = e.w.thread[3] + lay.tle, t1 = e.w.thread[4] + lay.tle;
    fake_target_put64(e.w.ft, t1, t0);
    CHECK_EQ(threads_enumerate(&e.w.t, &e.o, e.w.process_head, e.l), KD_ERR_FORMAT);
    CHECK(!e.l->complete);
    CHECK_EQ(e.l->nprocs, 3); /* the process walk went on */
    CHECK_EQ(e.l->procs[1].status, KD_ERR_FORMAT);
    CHECK_EQ(e.l->procs[1].count, 2);
    CHECK_EQ(e.l->procs[2].status, KD_OK);
    CHECK_EQ(e.l->n, 3 + 2 + 3);
    fake_target_put64(e.w.ft, t1, e.w.thread[5] + lay.tle);
    /* The process list itself broken: a user-mode Flink ends the walk at
     * the process that holds it. */
    fake_target_put64(e.w.ft, e.w.proc[1] + lay.apl, 0x00000000DEAD0000ull);
    CHECK_EQ(threads_enumerate(&e.w.t, &e.o, e.w.process_head, e.l), KD_ERR_FORMAT);
    CHECK_EQ(e.l->nprocs, 1);
    CHECK_EQ(e.l->n, 3);
    /* A process list that cycles without returning to its head. */
    fake_target_put64(e.w.ft, e.w.proc[1] + lay.apl, e.w.proc[0] + lay.apl);
    CHECK_EQ(threads_enumerate(&e.w.t, &e.o, e.w.process_head, e.l), KD_ERR_FORMAT);
    CHECK_EQ(e.l->nprocs, 2);
    /* Missing offsets. */
    struct offsets none;
    offsets_init(&none, 0);
    CHECK_EQ(threads_enumerate(&e.w.t, &none, e.w.process_head, e.l), KD_ERR_STATE);
    env_free(&e);
}

int main(void)
{
    RUN(test_enumerate);
    RUN(test_usage);
    RUN(test_block_plan_and_state);
    RUN(test_off_stack);
    RUN(test_bad_lists);
    return check_summary("test_monitor_threads");
}
