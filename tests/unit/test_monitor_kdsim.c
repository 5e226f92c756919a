/* test_monitor_kdsim.c: the monitor's target model against kdsim's simulated
 * Windows 10 19041 machine, judged by kdsim's own records (sim_profile.h,
 * sim_kernel, sim_images, sim_threads_sp) rather than by our fake world.
 * kdsim's in-process kd_target (sim_target) is not there yet, so a thin
 * adapter below serves kd_target_ops straight from the simulated kernel. */
#include "calibrate.h"
#include "check.h"
#include "kd_api.h"
#include "kd_le.h"
#include "kd_status.h"
#include "offsets_resolve.h"
#include "symbols.h"
#include "tests/kdsim/sim_kernel.h"
#include "tests/kdsim/sim_profile.h"
#include "tests/kdsim/sim_scenario.h"
#include "tests/kdsim/sim_threads.h"
#include "threads.h"

/* ---- adapter: kd_target over a stopped sim_kernel ------------------------------- */
static int ad_version(void *ctx, struct kd_version *v)
{
    uint8_t b[SIM_VERSION_SIZE];
    sim_kernel_version(ctx, b);
    return kd_api_version_decode(b, sizeof b, v);
}

static int ad_read(void *ctx, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got)
{
    const struct sim_kernel *k = ctx;
    if (len > KD_API_MANIP_DATA_MAX)
        return KD_ERR_LENGTH;
    return sim_mem_read(k->mem, addr, buf, len, got);
}

static int ad_write(void *ctx, uint64_t addr, const uint8_t *buf, uint32_t len, uint32_t *done)
{
    struct sim_kernel *k = ctx;
    return sim_mem_write(k->mem, addr, buf, len, done);
}

static int ad_control(void *ctx, uint16_t cpu, uint64_t sel, uint8_t *buf, uint32_t len,
                      uint32_t *got)
{
    const struct sim_kernel *k = ctx;
    uint8_t p[8];
    *got = 0;
    if (cpu >= k->ncpus)
        return KD_ERR_TARGET;
    const struct sim_cpu *c = &k->cpu[cpu];
    if (sel == AMD64_DEBUG_CONTROL_SPACE_KSPECIAL)
        return sim_mem_read(k->mem, c->kprcb + SIM_KPRCB_PROC_STATE, buf,
                            len < SIM_KSPECIAL_SIZE ? len : SIM_KSPECIAL_SIZE, got);
    uint64_t v = sel == 0 ? c->kpcr : sel == 1 ? c->kprcb : k->threads[c->thread].ethread;
    if (sel > 3)
        return KD_ERR_TARGET;
    kd_put64(p, v);
    *got = len < 8 ? len : 8;
    memcpy(buf, p, *got);
    return KD_OK;
}

static int ad_context(void *ctx, uint16_t cpu, uint8_t *buf, uint32_t len, uint32_t *got)
{
    const struct sim_kernel *k = ctx;
    *got = 0;
    if (cpu >= k->ncpus)
        return KD_ERR_TARGET;
    return sim_mem_read(k->mem, sim_kernel_context_addr(k, cpu), buf,
                        len < SIM_CONTEXT_SIZE ? len : SIM_CONTEXT_SIZE, got);
}

static const struct kd_target_ops ad_ops = {.get_version = ad_version,
                                            .read_virtual = ad_read,
                                            .write_virtual = ad_write,
                                            .read_control = ad_control,
                                            .get_context = ad_context};

/* ---- the machine ------------------------------------------------------------------ */
static struct sim_scenario *scn;
static struct sim_kernel *k;
static struct kd_target t;
static struct kd_version v;
static struct kdbg kb;
static struct modules *mods;

static int setup(void)
{
    struct sim_scenario_config cfg = {"stress", 7, 48, 3};
    struct sim_event ev;
    uint32_t ran;
    if (sim_scenario_new(&cfg, &scn) != KD_OK)
        return -1;
    sim_scenario_run(scn, 5, &ev, &ran);
    if (!sim_scenario_stopped(scn) && sim_scenario_break_in(scn, &ev) != 1)
        return -1;
    k = sim_scenario_kernel(scn);
    t = (struct kd_target){&ad_ops, k};
    mods = modules_new();
    if (t.ops->get_version(t.ctx, &v) != KD_OK || kdbg_read(&t, &v, &kb) != KD_OK)
        return -1;
    return modules_walk(&t, v.ps_loaded_module_list, mods);
}

static uint32_t prof(const char *name)
{
    uint32_t x = 0;
    CHECK_EQ(sim_profile_lookup(name, &x), KD_OK);
    return x;
}

static uint64_t fn_addr(const char *mod, const char *name, const struct sim_fn **out)
{
    uint32_t i;
    if (sim_images_find(&k->im, mod, name, &i) != KD_OK)
        return 0;
    if (out)
        *out = &k->im.fns[i];
    return k->im.fns[i].addr;
}

static void test_kdbg(void)
{
    CHECK_EQ(v.minor, SIM_BUILD);
    CHECK_EQ(kb.address, k->kdbg);
    CHECK_EQ(kb.size, SIM_KDBG_SIZE);
    CHECK_EQ(kdbg_get(&kb, KDBG_KERN_BASE), k->kern_base);
    CHECK_EQ(kdbg_get(&kb, KDBG_BREAKPOINT_WITH_STATUS), k->breakpoint_with_status);
    CHECK_EQ(kdbg_get(&kb, KDBG_PS_LOADED_MODULE_LIST), k->module_list);
    CHECK_EQ(kdbg_get(&kb, KDBG_PS_ACTIVE_PROCESS_HEAD), k->process_head);
    CHECK_EQ(kdbg_get(&kb, KDBG_KI_BUGCHECK_DATA), k->bugcheck_data);
    CHECK_EQ(kdbg_get(&kb, KDBG_KI_PROCESSOR_BLOCK), k->processor_block);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_KTHREAD_INITIAL_STACK), SIM_KTHREAD_INITIAL_STACK);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_KTHREAD_STACK_LIMIT), SIM_KTHREAD_STACK_LIMIT);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_KTHREAD_STACK_BASE), SIM_KTHREAD_STACK_BASE);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_KTHREAD_KERNEL_STACK), SIM_KTHREAD_KERNEL_STACK);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_KTHREAD_STATE), SIM_KTHREAD_STATE);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_KTHREAD_APC_PROCESS), SIM_KTHREAD_APC_PROCESS);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_PRCB_CURRENT_THREAD), SIM_KPRCB_CURRENT_THREAD);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_PRCB_DPC_STACK), SIM_KPRCB_DPC_STACK);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_PRCB_ISR_STACK), SIM_KPRCB_ISR_STACK);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_PRCB_CONTEXT), SIM_KPRCB_CONTEXT);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_PRCB_PROC_STATE_CONTEXT), SIM_KPRCB_PROC_STATE_CONTEXT);
    CHECK_EQ(kdbg_get(&kb, KDBG_OFF_PRCB_NUMBER), SIM_KPRCB_NUMBER);
    CHECK_EQ(kdbg_get(&kb, KDBG_SIZE_ETHREAD), SIM_ETHREAD_SIZE);
    CHECK_EQ(kdbg_get(&kb, KDBG_SIZE_EPROCESS), SIM_EPROCESS_SIZE);
    for (uint16_t c = 0; c < k->ncpus; c++) {
        uint64_t th;
        CHECK_EQ(kdbg_current_thread(&t, &kb, c, &th), KD_OK);
        CHECK_EQ(th, k->threads[k->cpu[c].thread].ethread);
    }
}

static void test_modules_and_exports(void)
{
    CHECK(mods->complete);
    CHECK_EQ(mods->n, k->im.nmods);
    for (size_t i = 0; i < mods->n && i < k->im.nmods; i++) {
        CHECK_STR(mods->v[i].name, k->im.mods[i].file);
        CHECK_STR(mods->v[i].path, k->im.mods[i].path);
        CHECK_EQ(mods->v[i].base, k->im.mods[i].base);
        CHECK_EQ(mods->v[i].size, k->im.mods[i].size);
        char name[MODULES_NAME_MAX];
        symbols_module_name(mods, &mods->v[i], v.kern_base, name, sizeof name);
        CHECK_STR(name, k->im.mods[i].name);
    }
    uint64_t va;
    CHECK_EQ(symbols_kebugcheckex(&t, mods, v.kern_base, &va), KD_OK);
    CHECK_EQ(va, fn_addr("nt", "KeBugCheckEx", NULL));
    CHECK(va != 0);
    /* Every function kdsim knows symbolizes to its own name when exported,
     * and .pdata agrees with kdsim's ranges for every non-leaf. */
    size_t checked = 0;
    for (size_t i = 0; i < k->im.nfns; i++) {
        const struct sim_fn *f = &k->im.fns[i];
        if (f->data)
            continue;
        struct symbols_hit h;
        CHECK_EQ(symbols_resolve(&t, mods, v.kern_base, f->addr + 1, &h), KD_OK);
        if (f->end > f->rva) {
            CHECK(h.pdata);
            CHECK_EQ(h.func_begin, f->rva);
        }
        if (f->exported) {
            CHECK(h.export_name && strcmp(h.export_name, f->name) == 0);
            CHECK_EQ(h.offset, 1);
        }
        checked++;
    }
    CHECK(checked > 20);
}

static void test_idt(void)
{
    struct symbols_double_fault df;
    const struct sim_fn *f = NULL;
    uint64_t h = fn_addr("nt", "KiDoubleFaultAbort", &f);
    CHECK(h != 0);
    CHECK_EQ(symbols_double_fault(&t, mods, v.kern_base, 0, &df), KD_OK);
    CHECK_EQ(df.gate.handler, h);
    CHECK_EQ(df.gate.ist, 1);
    CHECK_EQ(df.gate.selector, SIM_SEL_R0_CODE);
    CHECK(df.gate.present);
    CHECK_EQ(df.gate.idtr_base, k->cpu[0].idt);
    if (f && f->exported)
        CHECK_STR(df.symbol, "nt!KiDoubleFaultAbort");
    else if (f && f->end > f->rva) {
        char want[64];
        snprintf(want, sizeof want, "nt+0x%x", f->rva);
        CHECK_STR(df.symbol, want);
    }
}

static void test_calibration_matches_profile(void)
{
    struct offsets o;
    struct calibrate_report r;
    offsets_init(&o, 0); /* build unknown: no table */
    offsets_from_kdbg(&o, &kb);
    CHECK_EQ(calibrate_run(&t, &kb, mods, v.kern_base, k->ncpus, &o, &r), KD_OK);
    CHECK_EQ(o.value[OFFSETS_EPROCESS_UNIQUE_PROCESS_ID], prof("EPROCESS.UniqueProcessId"));
    CHECK_EQ(o.value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS], prof("EPROCESS.ActiveProcessLinks"));
    CHECK_EQ(o.value[OFFSETS_EPROCESS_IMAGE_FILE_NAME], prof("EPROCESS.ImageFileName"));
    CHECK_EQ(o.value[OFFSETS_EPROCESS_THREAD_LIST_HEAD], prof("EPROCESS.ThreadListHead"));
    CHECK_EQ(o.value[OFFSETS_ETHREAD_THREAD_LIST_ENTRY], prof("ETHREAD.ThreadListEntry"));
    CHECK_EQ(o.value[OFFSETS_ETHREAD_CID], prof("ETHREAD.Cid"));
    CHECK_EQ(o.value[OFFSETS_ETHREAD_WIN32_START_ADDRESS], prof("ETHREAD.Win32StartAddress"));
    CHECK_EQ(r.system_process, k->procs[k->system_process].eprocess);
    CHECK(r.system_from_export);
    /* The built-in 19041 row agrees with kdsim's profile field by field. */
    static const struct {
        enum offsets_field f;
        const char *name;
    } rows[] = {{OFFSETS_KTHREAD_INITIAL_STACK, "KTHREAD.InitialStack"},
                {OFFSETS_KTHREAD_STACK_LIMIT, "KTHREAD.StackLimit"},
                {OFFSETS_KTHREAD_STACK_BASE, "KTHREAD.StackBase"},
                {OFFSETS_KTHREAD_KERNEL_STACK, "KTHREAD.KernelStack"},
                {OFFSETS_KTHREAD_STATE, "KTHREAD.State"},
                {OFFSETS_KTHREAD_APC_PROCESS, "KTHREAD.ApcState.Process"},
                {OFFSETS_EPROCESS_UNIQUE_PROCESS_ID, "EPROCESS.UniqueProcessId"},
                {OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS, "EPROCESS.ActiveProcessLinks"},
                {OFFSETS_EPROCESS_IMAGE_FILE_NAME, "EPROCESS.ImageFileName"},
                {OFFSETS_EPROCESS_THREAD_LIST_HEAD, "EPROCESS.ThreadListHead"},
                {OFFSETS_ETHREAD_THREAD_LIST_ENTRY, "ETHREAD.ThreadListEntry"},
                {OFFSETS_ETHREAD_CID, "ETHREAD.Cid"},
                {OFFSETS_ETHREAD_START_ADDRESS, "ETHREAD.StartAddress"},
                {OFFSETS_ETHREAD_WIN32_START_ADDRESS, "ETHREAD.Win32StartAddress"}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint32_t b;
        CHECK_EQ(offsets_builtin_value(SIM_BUILD, rows[i].f, &b), KD_OK);
        CHECK_EQ(b, prof(rows[i].name));
    }
}

static void test_threads_and_usage(void)
{
    struct offsets o;
    struct offsets_resolve_report rep;
    CHECK_EQ(offsets_resolve(&t, &v, &kb, mods, NULL, 0, k->ncpus, &o, &rep), KD_OK);
    CHECK(o.check_passed);
    CHECK(o.threads_checked >= k->ncpus);
    struct threads_list *l = threads_new();
    CHECK_EQ(threads_enumerate(&t, &o, kdbg_get(&kb, KDBG_PS_ACTIVE_PROCESS_HEAD), l), KD_OK);
    size_t want = 0, listed = 0;
    for (size_t i = 0; i < k->nthreads; i++)
        want += k->procs[k->threads[i].process].listed;
    for (size_t p = 0; p < k->nprocs; p++)
        listed += k->procs[p].listed;
    CHECK_EQ(l->n, want);
    CHECK_EQ(l->nprocs, listed);
    struct threads_cpu cpus[SIM_MAX_CPUS] = {0};
    CHECK_EQ(threads_cpus(&t, &kb, k->ncpus, cpus), KD_OK);
    struct threads_usage *u = calloc(l->n ? l->n : 1, sizeof *u);
    CHECK_EQ(threads_sample(&t, &o, l, cpus, k->ncpus, THREADS_READ_STATE, u), KD_OK);
    size_t matched = 0, running = 0;
    for (size_t i = 0; i < l->n; i++) {
        for (uint32_t j = 0; j < k->nthreads; j++) {
            const struct sim_thread *st = &k->threads[j];
            if (st->ethread != l->v[i].kthread)
                continue;
            const struct sim_process *sp = &k->procs[st->process];
            matched++;
            CHECK_EQ(l->v[i].tid, st->tid);
            CHECK_EQ(l->procs[l->v[i].process].pid, sp->pid);
            /* The kernel keeps 14 characters and a NUL in ImageFileName[15]
             * (kdsim lays it so); sim_process.name keeps 15. */
            CHECK(strncmp(l->procs[l->v[i].process].name, sp->name, 14) == 0);
            CHECK(strlen(l->procs[l->v[i].process].name) <= 14);
            CHECK_EQ(l->v[i].stack_base, st->stack_base);
            CHECK_EQ(l->v[i].stack_limit, st->stack_limit);
            CHECK_EQ(l->v[i].initial_stack, st->initial_stack);
            CHECK_EQ(u[i].cpu, st->cpu);
            CHECK_EQ(u[i].sp, sim_threads_sp(k, j));
            CHECK(u[i].on_stack);
            CHECK_EQ(u[i].used, st->initial_stack - sim_threads_sp(k, j));
            CHECK_EQ(l->v[i].state, st->cpu >= 0 ? SIM_THREAD_RUNNING : SIM_THREAD_WAITING);
            running += st->cpu >= 0;
        }
    }
    CHECK_EQ(matched, l->n);
    CHECK(running >= 1);
    free(u);
    threads_free(l);
}

/* A KDBG that names the wrong KernelStack offset is caught on real threads;
 * an encoded block is reported as such. Runs last: it edits the machine. */
static void test_wrong_offset_and_encoded(void)
{
    struct offsets o;
    struct kdbg bad;
    CHECK_EQ(sim_mem_put16(k->mem, k->kdbg + SIM_KDBG_OFF_KTHREAD_KERNEL_STACK, 0x50), KD_OK);
    CHECK_EQ(kdbg_read(&t, &v, &bad), KD_OK);
    CHECK_EQ(offsets_resolve(&t, &v, &bad, mods, NULL, 0, k->ncpus, &o, NULL), KD_ERR_FORMAT);
    CHECK(o.checked);
    CHECK(!o.check_passed);
    CHECK(o.threads_failed > 0);
    CHECK_EQ(sim_mem_put32(k->mem, k->kdbg + SIM_KDBG_OWNER_TAG, 0x9E3779B9u), KD_OK);
    CHECK_EQ(kdbg_read(&t, &v, &bad), KD_ERR_FORMAT);
    CHECK(bad.encoded);
    CHECK_EQ(bad.address, k->kdbg);
    CHECK(!kdbg_has(&bad, KDBG_KERN_BASE));
}

int main(void)
{
    int ok = setup() == KD_OK;
    if (!ok) {
        fprintf(stderr, "kdsim machine could not be set up\n");
        check_failed_total++;
    } else {
        RUN(test_kdbg);
        RUN(test_modules_and_exports);
        RUN(test_idt);
        RUN(test_calibration_matches_profile);
        RUN(test_threads_and_usage);
        RUN(test_wrong_offset_and_encoded);
    }
    modules_free(mods);
    sim_scenario_free(scn);
    return check_summary("test_monitor_kdsim");
}
