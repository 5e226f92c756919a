/* test_kdsim.c: the simulated machine seen only through kd_target_ops, the
 * way the monitor sees a real target: version, KDDEBUGGER_DATA64, module list,
 * PE headers and exports, .pdata and unwind info, IDT and IST, KPCR/KPRCB,
 * processes and threads, contexts, and breakpoints. */
#include "check.h"

#include "kd_api.h"
#include "kd_le.h"
#include "kd_status.h"
#include "tests/kdsim/sim_images.h"
#include "tests/kdsim/sim_kernel.h"
#include "tests/kdsim/sim_profile.h"
#include "tests/kdsim/sim_target.h"

static struct sim_target *g_sim;
static struct kd_target g_t;

static uint64_t rd64(uint64_t a)
{
    uint8_t b[8];
    uint32_t got = 0;
    if (g_t.ops->read_virtual(g_t.ctx, a, b, 8, &got) != KD_OK || got != 8)
        return 0;
    return kd_le64(b);
}

static uint32_t rd32(uint64_t a)
{
    return (uint32_t)rd64(a);
}
static uint16_t rd16(uint64_t a)
{
    return (uint16_t)rd64(a);
}

static int rd(uint64_t a, void *buf, uint32_t len)
{
    uint32_t got = 0;
    int st = g_t.ops->read_virtual(g_t.ctx, a, buf, len, &got);
    return st == KD_OK && got == len ? KD_OK : KD_ERR_TARGET;
}

/* A stopped `idle` machine, as after a debugger's break-in. */
static int setup(const char *scenario)
{
    struct sim_target_config cfg = {.scenario = {scenario, 5, 64, 2}};
    if (sim_target_new(&cfg, &g_sim) != KD_OK)
        return -1;
    g_t = sim_target_target(g_sim);
    struct kd_state_change sc;
    if (g_t.ops->break_in(g_t.ctx) != KD_OK || g_t.ops->wait_event(g_t.ctx, 100, &sc) != KD_OK)
        return -1;
    return 0;
}

static void test_version_and_kdbg(void)
{
    struct kd_version v;
    CHECK_EQ(g_t.ops->get_version(g_t.ctx, &v), KD_OK);
    CHECK_EQ(v.major, 0x000F);
    CHECK_EQ(v.minor, 19041);
    CHECK_EQ(v.protocol, 6);
    CHECK_EQ(v.machine, IMAGE_FILE_MACHINE_AMD64);
    CHECK(v.flags & DBGKD_VERS_FLAG_DATA);
    CHECK_EQ(v.kern_base, 0xfffff80535a00000ull);
    CHECK_EQ(rd16(v.kern_base), 0x5A4D);
    /* Debugger data list -> plain KDDEBUGGER_DATA64. */
    uint64_t kdbg = rd64(v.debugger_data_list);
    CHECK(kdbg != 0);
    CHECK_EQ(rd64(kdbg), v.debugger_data_list); /* Header.List links back */
    CHECK_EQ(rd32(kdbg + 0x10), 0x4742444B);    /* "KDBG" */
    CHECK_EQ(rd32(kdbg + 0x14), SIM_KDBG_SIZE);
    uint8_t d[SIM_KDBG_SIZE];
    CHECK_EQ(rd(kdbg, d, sizeof(d)), KD_OK);
    CHECK_EQ(kd_le64(d + 0x18), v.kern_base);
    CHECK_EQ(kd_le64(d + 0x48), v.ps_loaded_module_list);
    uint64_t bws = kd_le64(d + 0x20);
    CHECK_EQ(bws, sim_images_addr(&sim_scenario_kernel(sim_target_scenario(g_sim))->im, "nt",
                                  "DbgBreakPointWithStatus"));
    uint8_t int3 = 0;
    CHECK_EQ(rd(bws, &int3, 1), KD_OK);
    CHECK_EQ(int3, 0xCC);
    CHECK(kd_le64(d + 0x28) != 0); /* SavedContext */
    CHECK(kd_le64(d + 0x50) != 0); /* PsActiveProcessHead */
    CHECK(kd_le64(d + 0x88) != 0); /* KiBugcheckData */
    CHECK(kd_le64(d + 0x218) != 0);
    /* Windows 8+ stack offsets equal the profile. */
    static const char *const names[] = {
        "KDBG.OffsetKThreadInitialStack", "KDBG.OffsetKThreadKernelStack",
        "KDBG.OffsetKThreadApcProcess",   "KDBG.OffsetKThreadState",
        "KDBG.OffsetPrcbCurrentThread",   "KDBG.OffsetPrcbDpcStack",
        "KDBG.OffsetPrcbIsrStack"};
    static const char *const fields[] = {
        "KTHREAD.InitialStack", "KTHREAD.KernelStack", "KTHREAD.ApcState.Process",
        "KTHREAD.State",        "KPRCB.CurrentThread", "KPRCB.DpcStack",
        "KPRCB.IsrStack"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        uint32_t at = 0, want = 0;
        CHECK_EQ(sim_profile_lookup(names[i], &at), KD_OK);
        CHECK_EQ(sim_profile_lookup(fields[i], &want), KD_OK);
        CHECK_EQ(kd_le16(d + at), want);
    }
    CHECK_EQ(kd_le32(d + 0x340), 0x30); /* OffsetKThreadStackLimit */
    CHECK_EQ(kd_le32(d + 0x344), 0x38); /* OffsetKThreadStackBase */
    char lab[64] = {0};
    CHECK_EQ(rd(kd_le64(d + 0x208), lab, 10), KD_OK);
    CHECK(strncmp(lab, "19041.", 6) == 0);
}

/* UTF-16 UNICODE_STRING at us into an ASCII buffer. */
static void ustr(uint64_t us, char *out, size_t cap)
{
    uint16_t len = rd16(us);
    uint64_t buf = rd64(us + 8);
    size_t n = 0;
    for (uint16_t i = 0; i + 1 < len && n + 1 < cap; i += 2)
        out[n++] = (char)rd16(buf + i);
    out[n] = 0;
}

static void test_module_list_and_pe(void)
{
    static const char *const want[] = {"ntoskrnl.exe", "hal.dll",      "FLTMGR.SYS",
                                       "storport.sys", "CLASSPNP.SYS", "rosempio.sys",
                                       "ql2300.sys",   "Ntfs.sys",     "MyDrv.sys"};
    struct kd_version v;
    g_t.ops->get_version(g_t.ctx, &v);
    uint64_t head = v.ps_loaded_module_list, e = rd64(head);
    size_t n = 0;
    for (; e != head && n < 20; e = rd64(e), n++) {
        char name[64], full[128];
        ustr(e + SIM_KLDR_BASE_DLL_NAME, name, sizeof(name));
        ustr(e + SIM_KLDR_FULL_DLL_NAME, full, sizeof(full));
        CHECK(n < 9 && strcmp(name, want[n]) == 0);
        CHECK(strstr(full, name) != NULL);
        uint64_t base = rd64(e + SIM_KLDR_DLL_BASE);
        CHECK_EQ(rd16(base), 0x5A4D); /* MZ */
        uint64_t nt = base + rd32(base + 0x3C);
        CHECK_EQ(rd32(nt), 0x00004550); /* PE\0\0 */
        CHECK_EQ(rd16(nt + 4), 0x8664);
        CHECK_EQ(rd16(nt + 0x18), 0x20B);
        CHECK_EQ(rd32(nt + 0x50), rd32(e + SIM_KLDR_SIZE_OF_IMAGE));
        CHECK_EQ(rd64(nt + 0x30), base); /* linked at its load address */
        CHECK_EQ(rd64(e + SIM_KLDR_EXCEPTION_TABLE), base + rd32(nt + 0xA0));
        CHECK_EQ(rd32(e + SIM_KLDR_EXCEPTION_TABLE_SIZE), rd32(nt + 0xA4));
        CHECK_EQ(rd64(rd64(e + 8)), e); /* Blink->Flink == self */
    }
    CHECK_EQ(n, 9);
}

/* Export RVA by name from the image in target memory (kd-protocol.md §8.1). */
static uint32_t export_rva(uint64_t base, const char *name)
{
    uint64_t nt = base + rd32(base + 0x3C), dir = base + rd32(nt + 0x88);
    uint32_t nnames = rd32(dir + 0x18), funs = rd32(dir + 0x1C), names = rd32(dir + 0x20);
    uint32_t ords = rd32(dir + 0x24);
    for (uint32_t i = 0; i < nnames; i++) {
        char s[64] = {0};
        rd(base + rd32(base + names + 4 * i), s, (uint32_t)strlen(name) + 1);
        if (strcmp(s, name) == 0)
            return rd32(base + funs + 4 * rd16(base + ords + 2 * i));
    }
    return 0;
}

static void test_exports(void)
{
    struct kd_version v;
    g_t.ops->get_version(g_t.ctx, &v);
    const struct sim_images *im = &sim_scenario_kernel(sim_target_scenario(g_sim))->im;
    uint32_t r = export_rva(v.kern_base, "KeBugCheckEx");
    CHECK(r != 0);
    CHECK_EQ(v.kern_base + r, sim_images_addr(im, "nt", "KeBugCheckEx"));
    CHECK_EQ(v.kern_base + export_rva(v.kern_base, "PsLoadedModuleList"), v.ps_loaded_module_list);
    CHECK_EQ(export_rva(v.kern_base, "KiDoubleFaultAbort"), 0); /* not exported, as on Windows */
    CHECK_EQ(export_rva(0xfffff8054e0d0000ull, "FltSendMessage") + 0xfffff8054e0d0000ull,
             sim_images_addr(im, "FLTMGR", "FltSendMessage"));
}

/* Fixed frame size from UNWIND_INFO read out of target memory (an unwinder
 * written here, not sim_pe's): pushes + allocations; *mf = machine frame. */
static uint32_t frame_size(uint64_t base, uint32_t unwind, int *mf)
{
    uint8_t u[64];
    *mf = -1;
    if (rd(base + unwind, u, 4) != KD_OK || rd(base + unwind + 4, u + 4, 2u * u[2]) != KD_OK)
        return 0;
    uint32_t size = 0;
    for (int i = 0; i < u[2];) {
        uint8_t op = u[5 + 2 * i] & 15, info = u[5 + 2 * i] >> 4;
        if (op == 0) {
            size += 8, i += 1;
        } else if (op == 1) {
            size += info ? kd_le32(u + 6 + 2 * i) : kd_le16(u + 6 + 2 * i) * 8u;
            i += info ? 3 : 2;
        } else if (op == 2) {
            size += info * 8u + 8, i += 1;
        } else if (op == 10) {
            *mf = info, i += 1;
        } else {
            i += op == 3 ? 1 : op == 4 || op == 8 ? 2 : 3;
        }
    }
    return size;
}

static void test_pdata_and_unwind(void)
{
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(g_sim));
    for (size_t m = 0; m < k->im.nmods; m++) {
        uint64_t base = k->im.mods[m].base, nt = base + rd32(base + 0x3C);
        uint32_t rva = rd32(nt + 0xA0), size = rd32(nt + 0xA4);
        CHECK(size > 0 && size % 12 == 0);
        uint32_t prev_end = 0;
        for (uint32_t i = 0; i < size / 12; i++) {
            uint64_t e = base + rva + 12 * i;
            uint32_t b = rd32(e), end = rd32(e + 4);
            CHECK(b < end && b >= prev_end); /* sorted, no overlap */
            prev_end = end;
        }
    }
    /* Frame sizes read from memory are the ones kdsim lays frames with. */
    static const char *const fns[][2] = {{"CLASSPNP", "ServiceTransferRequest"},
                                         {"Ntfs", "NtfsCommonWrite"},
                                         {"MyDrv", "PreCreate"},
                                         {"rosempio", "DsmpSendToPath"},
                                         {"nt", "KiDoubleFaultAbort"},
                                         {"nt", "KiSystemServiceCopyEnd"}};
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        uint32_t fi = sim_kernel_fn(k, fns[i][0], fns[i][1]);
        CHECK(fi != SIM_NO_FN);
        const struct sim_fn *f = &k->im.fns[fi];
        int mf;
        uint64_t base = k->im.mods[f->module].base;
        CHECK_EQ(frame_size(base, f->unwind, &mf), f->full.full_size);
        int want_mf = strcmp(fns[i][1], "KiDoubleFaultAbort") == 0       ? 1
                      : strcmp(fns[i][1], "KiSystemServiceCopyEnd") == 0 ? 0
                                                                         : -1;
        CHECK_EQ(mf, want_mf);
    }
}

static void test_idt_tss_pcr(void)
{
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(g_sim));
    uint64_t df = sim_images_addr(&k->im, "nt", "KiDoubleFaultAbort");
    for (uint16_t cpu = 0; cpu < k->ncpus; cpu++) {
        uint8_t sr[0x100], p[8];
        uint32_t got;
        CHECK_EQ(g_t.ops->read_control(g_t.ctx, cpu, 2, sr, sizeof(sr), &got), KD_OK);
        CHECK_EQ(got, SIM_KSPECIAL_SIZE);
        CHECK_EQ(kd_le16(sr + 0x66), 0xFFF);
        uint64_t idt = kd_le64(sr + 0x68), gate = idt + 8 * 16;
        uint8_t g[16];
        CHECK_EQ(rd(gate, g, 16), KD_OK);
        uint64_t handler =
            kd_le16(g) | (uint64_t)kd_le16(g + 6) << 16 | (uint64_t)kd_le32(g + 8) << 32;
        CHECK_EQ(handler, df);
        CHECK_EQ(g[4] & 7, 1); /* IST 1 */
        CHECK_EQ(g[5], 0x8E);  /* present interrupt gate */
        CHECK_EQ(kd_le16(g + 2), 0x10);
        CHECK_EQ(rd(idt + 2 * 16 + 4, g, 1), KD_OK);
        CHECK_EQ(g[0] & 7, 3); /* NMI on IST 3 */
        /* KPCR / KPRCB / current thread by control space. */
        CHECK_EQ(g_t.ops->read_control(g_t.ctx, cpu, 0, p, 8, &got), KD_OK);
        uint64_t pcr = kd_le64(p);
        CHECK_EQ(g_t.ops->read_control(g_t.ctx, cpu, 1, p, 8, &got), KD_OK);
        uint64_t prcb = kd_le64(p);
        CHECK_EQ(g_t.ops->read_control(g_t.ctx, cpu, 3, p, 8, &got), KD_OK);
        uint64_t thread = kd_le64(p);
        CHECK_EQ(prcb, pcr + 0x180);
        CHECK_EQ(rd64(pcr + 0x18), pcr);
        CHECK_EQ(rd64(pcr + 0x20), prcb);
        CHECK_EQ(rd64(pcr + 0x38), idt);
        CHECK_EQ(rd64(prcb + 0x8), thread);
        CHECK_EQ(rd32(prcb + 0x24), cpu);
        CHECK_EQ(rd64(rd64(k->kdbg + 0x218) + 8u * cpu), prcb); /* KiProcessorBlock[cpu] */
        CHECK_EQ(rd64(prcb + 0x100 + 0x68), idt); /* ProcessorState.SpecialRegisters */
        /* TSS.Ist[1]: top of a mapped double-fault stack, guard above. */
        uint64_t tss = rd64(pcr + 0x8), ist1 = rd64(tss + 0x24);
        CHECK(ist1 != 0 && ist1 % 16 == 0);
        uint8_t b;
        CHECK_EQ(rd(ist1 - 8, &b, 1), KD_OK);
        CHECK_EQ(rd(ist1, &b, 1), KD_ERR_TARGET);
        CHECK(rd64(prcb + 0x3110) != 0 && rd64(prcb + 0x85D8) != 0); /* DpcStack, IsrStack */
    }
    uint8_t p[8];
    uint32_t got;
    CHECK_EQ(g_t.ops->read_control(g_t.ctx, 7, 0, p, 8, &got), KD_ERR_TARGET); /* no such cpu */
    CHECK_EQ(g_t.ops->read_control(g_t.ctx, 0, 9, p, 8, &got), KD_ERR_TARGET);
}

static void test_processes_and_threads(void)
{
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(g_sim));
    uint64_t head = rd64(k->kdbg + 0x50), e = rd64(head);
    size_t nproc = 0, nthreads = 0;
    for (; e != head && nproc < 100; e = rd64(e), nproc++) {
        uint64_t ep = e - 0x448;
        uint32_t pid = rd32(ep + 0x440);
        char name[16] = {0};
        rd(ep + 0x5A8, name, 15);
        if (nproc == 0) {
            CHECK_EQ(pid, 4);
            CHECK_STR(name, "System");
        }
        /* Both thread lists name the same threads in the same order. */
        uint64_t eh = ep + 0x5E0, kh = ep + 0x30, et = rd64(eh), kt = rd64(kh);
        size_t n = 0;
        for (; et != eh && n < 1000; et = rd64(et), kt = rd64(kt), n++) {
            uint64_t th = et - 0x4E8;
            CHECK_EQ(kt - 0x2F8, th);
            CHECK_EQ(rd64(th + 0x478), pid);
            CHECK_EQ(rd64(th + 0x220), ep);
            CHECK_EQ(rd64(th + 0xB8), ep);
            uint64_t init = rd64(th + 0x28), limit = rd64(th + 0x30), base = rd64(th + 0x38);
            uint64_t ks = rd64(th + 0x58);
            uint8_t state = (uint8_t)rd64(th + 0x184);
            CHECK(limit < ks && ks <= init && init < base);
            CHECK_EQ(base - limit, 0x6000);
            CHECK(state == 2 || state == 5);
            CHECK(rd64(th + 0x450) != 0); /* StartAddress */
        }
        CHECK_EQ(kt, kh);
        CHECK_EQ(n, rd32(ep + 0x5F0)); /* ActiveThreads */
        nthreads += n;
    }
    CHECK_EQ(nthreads, 64);
    CHECK(nproc >= 10);
}

static void test_contexts_at_break_in(void)
{
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(g_sim));
    uint8_t c[0x500];
    uint32_t got;
    for (uint16_t cpu = 0; cpu < k->ncpus; cpu++) {
        CHECK_EQ(g_t.ops->get_context(g_t.ctx, cpu, c, sizeof(c), &got), KD_OK);
        CHECK_EQ(got, 0x4D0);
        CHECK_EQ(kd_le32(c + 0x30), 0x10001F);
        CHECK_EQ(kd_le16(c + 0x38), 0x10);
        uint64_t rip = kd_le64(c + 0xF8), rsp = kd_le64(c + 0x98);
        const struct sim_thread *th = &k->threads[k->cpu[cpu].thread];
        CHECK(rsp > th->stack_limit && rsp < th->initial_stack);
        CHECK(sim_images_fn_at(&k->im, rip) != NULL);
    }
    /* The break-in is reported by the last processor at the int3. */
    CHECK_EQ(kd_le64(c + 0xF8), k->breakpoint_with_status);
    CHECK_EQ(kd_le64(c + 0x80), 1); /* RCX = DBG_STATUS_CONTROL_C */
}

static void test_breakpoint_through_ops(void)
{
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(g_sim));
    uint64_t a = sim_images_addr(&k->im, "nt", "KeBugCheckEx");
    uint8_t before, now;
    CHECK_EQ(rd(a, &before, 1), KD_OK);
    uint32_t h;
    CHECK_EQ(g_t.ops->write_breakpoint(g_t.ctx, a, &h), KD_OK);
    CHECK_EQ(rd(a, &now, 1), KD_OK);
    CHECK_EQ(now, 0xCC);
    CHECK_EQ(g_t.ops->restore_breakpoint(g_t.ctx, h), KD_OK);
    CHECK_EQ(rd(a, &now, 1), KD_OK);
    CHECK_EQ(now, before);
    CHECK_EQ(g_t.ops->restore_breakpoint(g_t.ctx, h), KD_ERR_TARGET);
    CHECK_EQ(g_t.ops->write_breakpoint(g_t.ctx, 0x1000, &h), KD_ERR_TARGET);
    /* Reads are clamped to one packet's worth, as the kernel does. */
    static uint8_t big[8192];
    uint32_t got;
    CHECK_EQ(g_t.ops->read_virtual(g_t.ctx, k->kern_base, big, sizeof(big), &got), KD_OK);
    CHECK_EQ(got, KD_API_MANIP_DATA_MAX);
}

static void test_running_target_refuses(void)
{
    struct kd_state_change sc;
    CHECK_EQ(g_t.ops->wait_event(g_t.ctx, 0, &sc), KD_ERR_TIMEOUT); /* already delivered */
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_OK);
    uint8_t b[8];
    uint32_t got;
    CHECK_EQ(g_t.ops->read_virtual(g_t.ctx, 0xfffff80535a00000ull, b, 8, &got), KD_ERR_STATE);
    CHECK_EQ(g_t.ops->resume(g_t.ctx, DBG_CONTINUE), KD_ERR_STATE);
    /* `idle` has no stop of its own: waiting runs ticks, then times out. */
    uint64_t t0 = sim_scenario_tick(sim_target_scenario(g_sim));
    CHECK_EQ(g_t.ops->wait_event(g_t.ctx, 160, &sc), KD_ERR_TIMEOUT);
    CHECK_EQ(sim_scenario_tick(sim_target_scenario(g_sim)), t0 + 10);
    CHECK_EQ(g_t.ops->break_in(g_t.ctx), KD_OK);
    CHECK_EQ(g_t.ops->wait_event(g_t.ctx, 0, &sc), KD_OK);
    CHECK_EQ(sc.new_state, DbgKdExceptionStateChange);
    CHECK_EQ(sc.u.exception.code, STATUS_BREAKPOINT);
    CHECK_EQ(sc.u.exception.first_chance, 1);
    CHECK_EQ(sc.number_processors, 2);
    CHECK_EQ(sc.processor, 1);
    struct kd_report_amd64 r;
    kd_api_state_report_amd64(&sc, &r);
    CHECK_EQ(r.instruction_stream[0], 0xCC); /* the kernel's own int3 is not hidden */
    CHECK_EQ(r.seg_cs, 0x10);
}

int main(void)
{
    if (setup("idle") != 0) {
        fprintf(stderr, "kdsim setup failed\n");
        return 1;
    }
    RUN(test_version_and_kdbg);
    RUN(test_module_list_and_pe);
    RUN(test_exports);
    RUN(test_pdata_and_unwind);
    RUN(test_idt_tss_pcr);
    RUN(test_processes_and_threads);
    RUN(test_contexts_at_break_in);
    RUN(test_breakpoint_through_ops);
    RUN(test_running_target_refuses);
    sim_target_free(g_sim);
    return check_summary("test_kdsim");
}
