/* test_monitor_offsets.c: offset sources, calibration and the invariant check. */
#include "calibrate.h"
#include "check.h"
#include "fake_world.c"
#include "kd_status.h"
#include "offsets_resolve.h"

struct env {
    struct fake_world w;
    struct kdbg k;
    struct modules *m;
};

static int env_build(struct env *e, const struct fake_world_layout *lay, size_t nprocs)
{
    memset(e, 0, sizeof *e);
    if (fake_world_build(&e->w, lay, nprocs, 4) != 0)
        return -1;
    e->m = modules_new();
    if (kdbg_read(&e->w.t, &e->w.v, &e->k) != KD_OK)
        return -1;
    return modules_walk(&e->w.t, e->w.module_head, e->m);
}

static void env_free(struct env *e)
{
    modules_free(e->m);
    fake_world_free(&e->w);
}

/* Every EPROCESS/ETHREAD field the layout put down, compared with o. */
static void check_layout(const struct offsets *o, const struct fake_world_layout *l)
{
    CHECK_EQ(o->value[OFFSETS_EPROCESS_UNIQUE_PROCESS_ID], l->upid);
    CHECK_EQ(o->value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS], l->apl);
    CHECK_EQ(o->value[OFFSETS_EPROCESS_IMAGE_FILE_NAME], l->ifn);
    CHECK_EQ(o->value[OFFSETS_EPROCESS_THREAD_LIST_HEAD], l->tlh);
    CHECK_EQ(o->value[OFFSETS_ETHREAD_THREAD_LIST_ENTRY], l->tle);
    CHECK_EQ(o->value[OFFSETS_ETHREAD_CID], l->cid);
    CHECK_EQ(o->value[OFFSETS_ETHREAD_WIN32_START_ADDRESS], l->w32start);
}

static void test_builtin_table(void)
{
    uint32_t v;
    struct offsets o;
    /* The rows against their sources (see offsets.c). */
    CHECK_EQ(offsets_builtin_value(19041, OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS, &v), KD_OK);
    CHECK_EQ(v, 0x448);
    CHECK_EQ(offsets_builtin_value(19045, OFFSETS_ETHREAD_THREAD_LIST_ENTRY, &v), KD_OK);
    CHECK_EQ(v, 0x4E8);
    CHECK_EQ(offsets_builtin_value(22621, OFFSETS_ETHREAD_CID, &v), KD_OK);
    CHECK_EQ(v, 0x4C8);
    CHECK_EQ(offsets_builtin_value(22631, OFFSETS_ETHREAD_THREAD_LIST_ENTRY, &v), KD_OK);
    CHECK_EQ(v, 0x538);
    CHECK_EQ(offsets_builtin_value(26100, OFFSETS_EPROCESS_THREAD_LIST_HEAD, &v), KD_OK);
    CHECK_EQ(v, 0x370);
    CHECK_EQ(offsets_builtin_value(26100, OFFSETS_ETHREAD_WIN32_START_ADDRESS, &v), KD_OK);
    CHECK_EQ(v, 0x560);
    CHECK_EQ(offsets_builtin_value(26100, OFFSETS_KTHREAD_APC_PROCESS, &v), KD_OK);
    CHECK_EQ(v, 0xB8);
    CHECK_EQ(offsets_builtin_value(22000, OFFSETS_ETHREAD_CID, &v), KD_ERR_NOTFOUND);
    CHECK_EQ(offsets_builtin_value(19040, OFFSETS_ETHREAD_CID, &v), KD_ERR_NOTFOUND);
    offsets_init(&o, 22621);
    CHECK(offsets_set(&o, OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS, 0x123, OFFSETS_SRC_ISF));
    CHECK_EQ(offsets_from_builtin(&o), KD_OK);
    CHECK_EQ(o.value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS], 0x123); /* earlier source kept */
    CHECK_EQ(o.source[OFFSETS_EPROCESS_THREAD_LIST_HEAD], OFFSETS_SRC_BUILTIN);
    CHECK(offsets_complete(&o));
    CHECK(!offsets_set(&o, OFFSETS_ETHREAD_CID, 0x2000, OFFSETS_SRC_ISF));
    CHECK_STR(offsets_source_name(OFFSETS_SRC_CALIBRATED), "calibrated");
    CHECK_STR(offsets_field_name(OFFSETS_ETHREAD_CID), "ETHREAD.Cid");
}

static void test_stack_invariants(void)
{
    uint64_t b = 0xFFFFB00000010000ull;
    CHECK(offsets_stack_ok(b - 0x370, b - 0x6000, b, b - 0x800));
    CHECK(offsets_stack_ok(b - 0x370, b - 0x3000, b, b - 0x800));
    CHECK(offsets_stack_ok(b - 0x370, b - 0x12000, b, b - 0x800));   /* large stack */
    CHECK(!offsets_stack_ok(b - 0x370, b - 0x5000, b, b - 0x800));   /* 20 KiB */
    CHECK(!offsets_stack_ok(b - 0x370, b - 0x6000, b, b - 0x6000));  /* sp == limit */
    CHECK(!offsets_stack_ok(b - 0x370, b - 0x6000, b, b - 0x300));   /* sp above init */
    CHECK(!offsets_stack_ok(b, b - 0x6000, b, b - 0x800));           /* init == base */
    CHECK(!offsets_stack_ok(b - 0x3000, b - 0x6000, b, b - 0x3800)); /* gap too big */
    CHECK(!offsets_stack_ok(0x7000, 0x1000, 0x7370, 0x2000));        /* user addresses */
    CHECK(!offsets_stack_ok(b - 0x370, b - 0x21000, b, b - 0x800));
}

static void test_kdbg_source(void)
{
    struct env e;
    struct fake_world_layout lay;
    fake_world_layout_19041(&lay);
    CHECK_EQ(env_build(&e, &lay, 2), KD_OK);
    struct offsets o;
    offsets_init(&o, 19041);
    offsets_from_kdbg(&o, &e.k);
    CHECK_EQ(o.value[OFFSETS_KTHREAD_INITIAL_STACK], 0x28);
    CHECK_EQ(o.value[OFFSETS_KTHREAD_STACK_LIMIT], 0x30);
    CHECK_EQ(o.value[OFFSETS_KTHREAD_STACK_BASE], 0x38);
    CHECK_EQ(o.value[OFFSETS_KTHREAD_KERNEL_STACK], 0x58);
    CHECK_EQ(o.value[OFFSETS_KTHREAD_STATE], 0x184);
    CHECK_EQ(o.value[OFFSETS_KTHREAD_APC_PROCESS], 0xB8);
    CHECK_EQ(o.value[OFFSETS_KPRCB_CURRENT_THREAD], 0x8);
    CHECK_EQ(o.source[OFFSETS_KTHREAD_KERNEL_STACK], OFFSETS_SRC_KDBG);
    CHECK_EQ(o.size_ethread, 0x898);
    CHECK_EQ(o.size_eprocess, 0xA40);
    CHECK(!offsets_has(&o, OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS));
    env_free(&e);
}

static void test_calibrate_19041(void)
{
    struct env e;
    struct fake_world_layout lay;
    struct calibrate_report r;
    fake_world_layout_19041(&lay);
    CHECK_EQ(env_build(&e, &lay, 4), KD_OK);
    struct offsets o;
    offsets_init(&o, 19041);
    offsets_from_kdbg(&o, &e.k);
    CHECK_EQ(calibrate_run(&e.w.t, &e.k, e.m, e.w.nt_base, FAKE_WORLD_CPUS, &o, &r), KD_OK);
    check_layout(&o, &lay);
    CHECK_EQ(o.source[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS], OFFSETS_SRC_CALIBRATED);
    CHECK(!offsets_has(&o, OFFSETS_ETHREAD_START_ADDRESS));
    CHECK_EQ(r.system_process, e.w.proc[0]);
    CHECK(r.system_from_export);
    CHECK_EQ(r.anchor_thread, e.w.cpu_thread[0]); /* processor 0 runs smss.exe's thread */
    CHECK_EQ(r.anchor_process, e.w.proc[1]);
    CHECK_EQ(r.processes_seen, 4);
    CHECK_EQ(r.thread_pairs, 2); /* KPROCESS- and EPROCESS-level lists both pass */
    env_free(&e);
}

/* A build no table knows: calibration alone must find every offset. */
static void test_calibrate_future_build(void)
{
    struct env e;
    struct fake_world_layout lay;
    struct offsets_resolve_report rep;
    fake_world_layout_future(&lay);
    CHECK_EQ(env_build(&e, &lay, 3), KD_OK);
    struct offsets o;
    CHECK_EQ(offsets_resolve(&e.w.t, &e.w.v, &e.k, e.m, NULL, 0, FAKE_WORLD_CPUS, &o, &rep), KD_OK);
    check_layout(&o, &lay);
    CHECK_EQ(o.value[OFFSETS_KTHREAD_STATE], 0x18C);
    CHECK_EQ(rep.builtin_status, KD_ERR_NOTFOUND);
    CHECK_EQ(rep.isf_status, KD_ERR_NOTFOUND);
    CHECK_EQ(rep.calibrate_status, KD_OK);
    CHECK_EQ(rep.check_status, KD_OK);
    CHECK(o.checked && o.check_passed);
    CHECK_EQ(o.threads_checked, FAKE_WORLD_CPUS + 4);
    CHECK_EQ(o.threads_failed, 0);
    for (int f = 0; f < OFFSETS_NFIELDS; f++)
        if (f != OFFSETS_ETHREAD_START_ADDRESS)
            CHECK(o.source[f] == OFFSETS_SRC_KDBG || o.source[f] == OFFSETS_SRC_CALIBRATED);
    env_free(&e);
}

/* Without the PsInitialSystemProcess export and with every processor in
 * System: the anchor is a current thread, the pairs still come out right. */
static void test_calibrate_no_export(void)
{
    struct env e;
    struct fake_world_layout lay;
    struct calibrate_report r;
    fake_world_layout_future(&lay);
    CHECK_EQ(env_build(&e, &lay, 1), KD_OK);
    fake_target_write(e.w.ft, e.w.nt_base + 0x20100 + 12 + 13 + 16 + 16 + 15 + 22, "Xs", 2);
    struct offsets o;
    offsets_init(&o, lay.build);
    offsets_from_kdbg(&o, &e.k);
    CHECK_EQ(calibrate_run(&e.w.t, &e.k, e.m, e.w.nt_base, FAKE_WORLD_CPUS, &o, &r), KD_OK);
    CHECK(!r.system_from_export);
    CHECK_EQ(r.anchor_process, e.w.proc[0]);
    check_layout(&o, &lay);
    env_free(&e);
}

static void test_calibrate_needs_kdbg(void)
{
    struct env e;
    struct fake_world_layout lay;
    fake_world_layout_19041(&lay);
    CHECK_EQ(env_build(&e, &lay, 2), KD_OK);
    struct offsets o;
    offsets_init(&o, 19041);
    CHECK_EQ(calibrate_run(&e.w.t, &e.k, e.m, e.w.nt_base, 2, &o, NULL), KD_ERR_STATE);
    /* An encoded KDBG: the table carries 19041, calibration cannot run. */
    struct kdbg enc = e.k;
    enc.encoded = true;
    struct offsets_resolve_report rep;
    CHECK_EQ(offsets_resolve(&e.w.t, &e.w.v, &enc, e.m, NULL, 0, 2, &o, &rep), KD_ERR_STATE);
    CHECK_EQ(rep.calibrate_status, KD_ERR_STATE);
    CHECK_EQ(o.source[OFFSETS_KTHREAD_KERNEL_STACK], OFFSETS_SRC_BUILTIN);
    CHECK_EQ(o.source[OFFSETS_ETHREAD_CID], OFFSETS_SRC_BUILTIN);
    /* Nothing to check on: no processor block, no process list. */
    CHECK_EQ(o.threads_checked, 0);
    CHECK(!o.check_passed);
    CHECK(offsets_complete(&o));
    env_free(&e);
}

static void test_check_catches_wrong_offset(void)
{
    struct env e;
    struct fake_world_layout lay;
    fake_world_layout_19041(&lay);
    CHECK_EQ(env_build(&e, &lay, 2), KD_OK);
    struct offsets o;
    CHECK_EQ(offsets_resolve(&e.w.t, &e.w.v, &e.k, e.m, NULL, 0, 2, &o, NULL), KD_OK);
    CHECK(o.check_passed);
    CHECK_EQ(o.threads_checked, 2 + 4);
    /* KernelStack taken from the wrong place (the 0x50 a table might carry). */
    o.value[OFFSETS_KTHREAD_KERNEL_STACK] = 0x50;
    CHECK_EQ(offsets_check(&e.w.t, &o, e.w.thread, e.w.nthreads), KD_OK);
    CHECK(o.checked);
    CHECK(!o.check_passed);
    CHECK_EQ(o.threads_failed, e.w.nthreads);
    /* StackBase/StackLimit swapped. */
    o.value[OFFSETS_KTHREAD_KERNEL_STACK] = 0x58;
    o.value[OFFSETS_KTHREAD_STACK_LIMIT] = 0x38;
    o.value[OFFSETS_KTHREAD_STACK_BASE] = 0x30;
    CHECK_EQ(offsets_check(&e.w.t, &o, e.w.thread, e.w.nthreads), KD_OK);
    CHECK(!o.check_passed);
    /* A KDBG that lies about KernelStack: the resolve result says so. */
    fake_target_put16(e.w.ft, e.w.kdbg + 0x29C, 0x60);
    CHECK_EQ(kdbg_read(&e.w.t, &e.w.v, &e.k), KD_OK);
    CHECK_EQ(offsets_resolve(&e.w.t, &e.w.v, &e.k, e.m, NULL, 0, 2, &o, NULL), KD_ERR_FORMAT);
    CHECK(o.checked && !o.check_passed);
    /* No threads: not passed. */
    CHECK_EQ(offsets_check(&e.w.t, &o, NULL, 0), KD_OK);
    CHECK(!o.check_passed);
    env_free(&e);
}

static void test_isf_wins_over_calibration(void)
{
    struct env e;
    struct fake_world_layout lay;
    struct offsets_resolve_report rep;
    fake_world_layout_future(&lay);
    CHECK_EQ(env_build(&e, &lay, 2), KD_OK);
    char isf[512];
    int n = snprintf(isf, sizeof isf,
                     "{\"user_types\": {\"_EPROCESS\": {\"fields\": {\"ThreadListHead\": "
                     "{\"offset\": %u}}}, \"_ETHREAD\": {\"fields\": {\"ThreadListEntry\": "
                     "{\"offset\": %u}, \"StartAddress\": {\"offset\": %u}}}}}",
                     lay.kproc_tlh, lay.kthread_tle, lay.start);
    struct offsets o;
    CHECK_EQ(offsets_resolve(&e.w.t, &e.w.v, &e.k, e.m, isf, (size_t)n, 2, &o, &rep), KD_OK);
    CHECK_EQ(rep.isf_status, KD_OK);
    /* The user's file named the KPROCESS-level list: used as given. */
    CHECK_EQ(o.value[OFFSETS_EPROCESS_THREAD_LIST_HEAD], lay.kproc_tlh);
    CHECK_EQ(o.source[OFFSETS_EPROCESS_THREAD_LIST_HEAD], OFFSETS_SRC_ISF);
    CHECK_EQ(o.value[OFFSETS_ETHREAD_START_ADDRESS], lay.start);
    CHECK_EQ(o.source[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS], OFFSETS_SRC_CALIBRATED);
    CHECK_EQ(o.value[OFFSETS_ETHREAD_CID], lay.cid);
    CHECK(o.check_passed);
    env_free(&e);
}

int main(void)
{
    RUN(test_builtin_table);
    RUN(test_stack_invariants);
    RUN(test_kdbg_source);
    RUN(test_calibrate_19041);
    RUN(test_calibrate_future_build);
    RUN(test_calibrate_no_export);
    RUN(test_calibrate_needs_kdbg);
    RUN(test_check_catches_wrong_offset);
    RUN(test_isf_wins_over_calibration);
    return check_summary("test_monitor_offsets");
}
