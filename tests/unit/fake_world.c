/* fake_world.c: a small Windows-like kernel in a fake_target (see fake_world.h). */
#include "fake_world.h"

#include <stdlib.h>
#include <string.h>

#include "fake_target.c"

void fake_world_layout_19041(struct fake_world_layout *l)
{
    *l = (struct fake_world_layout){.build = 19041,
                                    .init = 0x28,
                                    .limit = 0x30,
                                    .base = 0x38,
                                    .kstack = 0x58,
                                    .state = 0x184,
                                    .apc = 0xB8,
                                    .kproc_tlh = 0x30,
                                    .kthread_tle = 0x2F8,
                                    .upid = 0x440,
                                    .apl = 0x448,
                                    .ifn = 0x5A8,
                                    .tlh = 0x5E0,
                                    .tle = 0x4E8,
                                    .cid = 0x478,
                                    .start = 0x450,
                                    .w32start = 0x4D0,
                                    .size_eprocess = 0xA40,
                                    .size_ethread = 0x898};
}

void fake_world_layout_future(struct fake_world_layout *l)
{
    *l = (struct fake_world_layout){.build = 40000,
                                    .init = 0x28,
                                    .limit = 0x30,
                                    .base = 0x38,
                                    .kstack = 0x58,
                                    .state = 0x18C,
                                    .apc = 0xB8,
                                    .kproc_tlh = 0x30,
                                    .kthread_tle = 0x318,
                                    .upid = 0x2F0,
                                    .apl = 0x2F8,
                                    .ifn = 0x470,
                                    .tlh = 0x4B0,
                                    .tle = 0x5A8,
                                    .cid = 0x548,
                                    .start = 0x520,
                                    .w32start = 0x590,
                                    .size_eprocess = 0x900,
                                    .size_ethread = 0x700};
}

uint64_t fake_world_alloc(struct fake_world *w, size_t len)
{
    uint64_t va = w->next;
    if (!fake_target_map(w->ft, va, len))
        return 0;
    /* An unmapped gap after every object, as pool pages may leave. */
    w->next = (va + len + 0x1000 + 0xF) & ~0xFull;
    return va;
}

static void put_str16(struct fake_world *w, uint64_t us, const char *s)
{
    size_t n = strlen(s);
    uint64_t buf = fake_world_alloc(w, 2 * n + 2);
    for (size_t i = 0; i < n; i++)
        fake_target_put16(w->ft, buf + 2 * i, (uint8_t)s[i]);
    fake_target_put16(w->ft, us, (uint16_t)(2 * n));
    fake_target_put16(w->ft, us + 2, (uint16_t)(2 * n + 2));
    fake_target_put64(w->ft, us + 8, buf);
}

/* head <-> nodes[0] <-> ... <-> nodes[n-1] <-> head */
static void link_list(struct fake_target *ft, uint64_t head, const uint64_t *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fake_target_put64(ft, nodes[i], i + 1 < n ? nodes[i + 1] : head);
        fake_target_put64(ft, nodes[i] + 8, i ? nodes[i - 1] : head);
    }
    fake_target_put64(ft, head, n ? nodes[0] : head);
    fake_target_put64(ft, head + 8, n ? nodes[n - 1] : head);
}

static void put_rf(struct fake_target *ft, uint64_t at, uint32_t b, uint32_t e, uint32_t u)
{
    fake_target_put32(ft, at, b);
    fake_target_put32(ft, at + 4, e);
    fake_target_put32(ft, at + 8, u);
}

static void build_nt(struct fake_world *w)
{
    struct fake_target *ft = w->ft;
    uint64_t b = w->nt_base;
    static const struct {
        const char *name;
        uint32_t c, va, vsize, chr;
    } sect[4] = {{".text", 0, 0x1000, 0x4000, 0x60000020},
                 {"KVASCODE", 0, 0x5000, 0x1000, 0x60000020},
                 {".rdata", 0, 0x20000, 0x18000, 0x40000040},
                 {".data", 0, 0x38000, 0x8000, 0xC0000040}};
    fake_target_write(ft, b, "MZ", 2);
    fake_target_put32(ft, b + 0x3C, 0x80);
    fake_target_write(ft, b + 0x80, "PE\0\0", 4);
    fake_target_put16(ft, b + 0x84, 0x8664);
    fake_target_put16(ft, b + 0x86, 4);
    fake_target_put32(ft, b + 0x88, 0x5F000000);
    fake_target_put16(ft, b + 0x94, 0xF0);
    uint64_t opt = b + 0x98;
    fake_target_put16(ft, opt, 0x20B);
    fake_target_put32(ft, opt + 0x10, 0x1000);
    fake_target_put64(ft, opt + 0x18, 0x140000000ull);
    fake_target_put32(ft, opt + 0x38, FAKE_NT_SIZE);
    fake_target_put32(ft, opt + 0x3C, 0x400);
    fake_target_put32(ft, opt + 0x40, 0x9A3F1);
    fake_target_put32(ft, opt + 0x6C, 16);
    for (int i = 0; i < 4; i++) {
        uint64_t s = opt + 0xF0 + 40ull * i;
        fake_target_write(ft, s, sect[i].name, strlen(sect[i].name));
        fake_target_put32(ft, s + 8, sect[i].vsize);
        fake_target_put32(ft, s + 12, sect[i].va);
        fake_target_put32(ft, s + 36, sect[i].chr);
    }
    /* Export directory at 0x20000: 9 function slots, 7 names. */
    static const uint32_t funcs[9] = {FAKE_NT_KEBUGCHECKEX,
                                      FAKE_NT_KEWAIT,
                                      FAKE_NT_LEAF,
                                      FAKE_NT_INDIRECT,
                                      FAKE_NT_PSINITIALSYSTEMPROCESS,
                                      0x20300, /* forwarder text */
                                      FAKE_NT_ORDINAL_ONLY,
                                      FAKE_NT_CHAINED_PARENT,
                                      0};
    static const struct {
        const char *name;
        uint16_t idx;
    } names[7] = {{"ExForwarded", 5},           {"KeBugCheckEx", 0},   {"KeChainedParent", 7},
                  {"KeIndirectThing", 3},       {"KeLeafFunction", 2}, {"KeWaitForSingleObject", 1},
                  {"PsInitialSystemProcess", 4}};
    uint64_t ed = b + 0x20000;
    fake_target_put32(ft, ed + 0x10, 1); /* Base */
    fake_target_put32(ft, ed + 0x14, 9);
    fake_target_put32(ft, ed + 0x18, 7);
    fake_target_put32(ft, ed + 0x1C, 0x20040);
    fake_target_put32(ft, ed + 0x20, 0x20080);
    fake_target_put32(ft, ed + 0x24, 0x200A0);
    for (int i = 0; i < 9; i++)
        fake_target_put32(ft, b + 0x20040 + 4 * i, funcs[i]);
    uint32_t str = 0x20100;
    for (int i = 0; i < 7; i++) {
        fake_target_put32(ft, b + 0x20080 + 4 * i, str);
        fake_target_put16(ft, b + 0x200A0 + 2 * i, names[i].idx);
        fake_target_write(ft, b + str, names[i].name, strlen(names[i].name) + 1);
        str += (uint32_t)strlen(names[i].name) + 1;
    }
    fake_target_write(ft, b + 0x20300, "HAL.HalFoo", 11);
    fake_target_put32(ft, opt + 0x70, 0x20000); /* DataDirectory[0] */
    fake_target_put32(ft, opt + 0x74, 0x400);
    /* .pdata at 0x30000, sorted; one indirect and one chained entry. */
    static const uint32_t rf[8][3] = {
        {0x1200, 0x1280, 0x32100}, {0x1400, 0x1500, 0x32100}, {0x1600, 0x1700, 0x32100},
        {0x1A00, 0x1A80, 0x31001}, {0x2000, 0x2100, 0x32100}, {0x2400, 0x2440, 0x32000},
        {0x5000, 0x5040, 0x32100}, {0x6000, 0x5000, 0x32100} /* bad: begin >= end */};
    for (int i = 0; i < 8; i++)
        put_rf(ft, b + 0x30000 + 12ull * i, rf[i][0], rf[i][1], rf[i][2]);
    fake_target_put32(ft, opt + 0x70 + 3 * 8, 0x30000); /* DataDirectory[3] */
    fake_target_put32(ft, opt + 0x74 + 3 * 8, 8 * 12);
    put_rf(ft, b + 0x31000, 0x1A00, 0x1A80, 0x32100);
    uint8_t chained[4] = {0x21, 0, 0, 0}, plain[4] = {0x01, 0, 0, 0};
    fake_target_write(ft, b + 0x32000, chained, 4);
    put_rf(ft, b + 0x32004, 0x2000, 0x2100, 0x32100);
    fake_target_write(ft, b + 0x32100, plain, 4);
}

static void build_modules(struct fake_world *w)
{
    static const char *names[3] = {"ntoskrnl.exe", "hal.dll", "CLASSPNP.SYS"};
    static const char *paths[3] = {"\\SystemRoot\\system32\\ntoskrnl.exe",
                                   "\\SystemRoot\\system32\\hal.dll",
                                   "\\SystemRoot\\System32\\drivers\\CLASSPNP.SYS"};
    uint64_t bases[3] = {w->nt_base, w->hal_base, w->drv_base};
    uint32_t sizes[3] = {FAKE_NT_SIZE, 0x20000, 0x10000};
    uint64_t e[3];
    for (int i = 0; i < 3; i++) {
        e[i] = fake_world_alloc(w, 0xA0);
        fake_target_put64(w->ft, e[i] + 0x30, bases[i]);
        fake_target_put32(w->ft, e[i] + 0x40, sizes[i]);
        put_str16(w, e[i] + 0x48, paths[i]);
        put_str16(w, e[i] + 0x58, names[i]);
    }
    link_list(w->ft, w->module_head, e, 3);
}

static void build_kdbg(struct fake_world *w)
{
    struct fake_target *ft = w->ft;
    const struct fake_world_layout *l = &w->lay;
    uint64_t k = w->kdbg;
    link_list(ft, w->kdbg_head, &k, 1);
    fake_target_put32(ft, k + 0x10, 0x4742444B);
    fake_target_put32(ft, k + 0x14, 0x380);
    fake_target_put64(ft, k + 0x18, w->nt_base);
    fake_target_put64(ft, k + 0x20, w->nt_base + 0x1100);
    fake_target_put64(ft, k + 0x48, w->module_head);
    fake_target_put64(ft, k + 0x50, w->process_head);
    fake_target_put64(ft, k + 0x88, w->nt_base + 0x38900);
    fake_target_put64(ft, k + 0x218, w->processor_block);
    fake_target_put16(ft, k + 0x29C, (uint16_t)l->kstack);
    fake_target_put16(ft, k + 0x29E, (uint16_t)l->init);
    fake_target_put16(ft, k + 0x2A0, (uint16_t)l->apc);
    fake_target_put16(ft, k + 0x2A2, (uint16_t)l->state);
    fake_target_put16(ft, k + 0x2A8, (uint16_t)l->size_eprocess);
    fake_target_put16(ft, k + 0x2B4, 0x8);
    fake_target_put16(ft, k + 0x2C0, (uint16_t)l->size_ethread);
    fake_target_put32(ft, k + 0x340, l->limit);
    fake_target_put32(ft, k + 0x344, l->base);
}

int fake_world_build(struct fake_world *w, const struct fake_world_layout *lay, size_t nprocs,
                     unsigned threads_per)
{
    static const char *pnames[FAKE_WORLD_MAX_PROCS] = {"System",      "smss.exe",     "csrss.exe",
                                                       "wininit.exe", "services.exe", "lsass.exe",
                                                       "svchost.exe", "stress.exe"};
    memset(w, 0, sizeof *w);
    if (nprocs < 1 || nprocs > FAKE_WORLD_MAX_PROCS || threads_per < 2 ||
        nprocs * threads_per > FAKE_WORLD_MAX_THREADS)
        return -1;
    w->ft = fake_target_new();
    if (!w->ft)
        return -1;
    w->t = fake_target_target(w->ft);
    w->lay = *lay;
    w->next = 0xFFFFA00000000000ull;
    w->nt_base = 0xFFFFF80000000000ull;
    w->hal_base = 0xFFFFF80000100000ull;
    w->drv_base = 0xFFFFF80000200000ull;
    if (!fake_target_map(w->ft, w->nt_base, FAKE_NT_SIZE))
        return -1;
    w->process_head = w->nt_base + 0x38100;
    w->module_head = w->nt_base + 0x38200;
    w->kdbg_head = w->nt_base + 0x38300;
    w->kdbg = w->nt_base + 0x38400;
    w->processor_block = w->nt_base + 0x38800;
    build_nt(w);
    build_modules(w);
    w->v = (struct kd_version){.major = 0x000F,
                               .minor = lay->build,
                               .protocol = 6,
                               .secondary = 2,
                               .flags = 7,
                               .machine = 0x8664,
                               .max_packet_type = 12,
                               .max_state_change = 3,
                               .max_manipulate = 0x31,
                               .kern_base = w->nt_base,
                               .ps_loaded_module_list = w->module_head,
                               .debugger_data_list = w->kdbg_head};
    fake_target_set_version(w->ft, &w->v);

    uint64_t apl_nodes[FAKE_WORLD_MAX_PROCS];
    w->nprocs = nprocs;
    for (size_t p = 0; p < nprocs; p++) {
        uint64_t ep = fake_world_alloc(w, lay->size_eprocess);
        w->proc[p] = ep;
        w->pid[p] = p ? 0x1A4 + 0x38 * (uint32_t)p : 4;
        w->name[p] = pnames[p];
        fake_target_put32(w->ft, ep, 3); /* ProcessObject */
        fake_target_put64(w->ft, ep + lay->upid, w->pid[p]);
        fake_target_write(w->ft, ep + lay->ifn, pnames[p], strlen(pnames[p]));
        apl_nodes[p] = ep + lay->apl;
        uint64_t tle[FAKE_WORLD_MAX_THREADS], ktle[FAKE_WORLD_MAX_THREADS];
        for (unsigned i = 0; i < threads_per; i++) {
            size_t k = w->nthreads++;
            uint64_t x = fake_world_alloc(w, lay->size_ethread);
            w->thread[k] = x;
            w->thread_proc[k] = p;
            w->tid[k] = 0x10 + 4 * (uint32_t)k;
            w->base[k] = 0xFFFFB00000000000ull + (k + 1) * 0x10000ull;
            w->limit[k] = w->base[k] - 0x6000;
            w->initial[k] = w->base[k] - 0x370;
            w->kstack[k] = w->initial[k] - (0x400 + 0x100 * k);
            w->start[k] = p ? 0x00007FF600001000ull + 0x10 * k : w->nt_base + 0x1400 + 0x10 * k;
            fake_target_put32(w->ft, x, 6); /* ThreadObject */
            fake_target_put64(w->ft, x + lay->init, w->initial[k]);
            fake_target_put64(w->ft, x + lay->limit, w->limit[k]);
            fake_target_put64(w->ft, x + lay->base, w->base[k]);
            fake_target_put64(w->ft, x + lay->kstack, w->kstack[k]);
            uint8_t st = 5; /* Waiting */
            fake_target_write(w->ft, x + lay->state, &st, 1);
            fake_target_put64(w->ft, x + lay->apc, ep);
            fake_target_put64(w->ft, x + lay->cid, w->pid[p]);
            fake_target_put64(w->ft, x + lay->cid + 8, w->tid[k]);
            fake_target_put64(w->ft, x + lay->start,
                              p ? 0x00007FFB00002000ull : w->nt_base + 0x1200);
            fake_target_put64(w->ft, x + lay->w32start, w->start[k]);
            tle[i] = x + lay->tle;
            ktle[i] = x + lay->kthread_tle;
        }
        w->proc_threads[p] = threads_per;
        link_list(w->ft, ep + lay->tlh, tle, threads_per);
        link_list(w->ft, ep + lay->kproc_tlh, ktle, threads_per);
    }
    link_list(w->ft, w->process_head, apl_nodes, nprocs);
    fake_target_put64(w->ft, w->nt_base + FAKE_NT_PSINITIALSYSTEMPROCESS, w->proc[0]);

    /* Processors: 0 runs the first thread of process 1, 1 runs System's second. */
    w->idt = fake_world_alloc(w, 0x1000);
    uint64_t h = w->nt_base + FAKE_NT_DF_HANDLER;
    uint8_t gate[16] = {(uint8_t)h,
                        (uint8_t)(h >> 8),
                        0x10,
                        0,
                        1,
                        0x8E,
                        (uint8_t)(h >> 16),
                        (uint8_t)(h >> 24),
                        (uint8_t)(h >> 32),
                        (uint8_t)(h >> 40),
                        (uint8_t)(h >> 48),
                        (uint8_t)(h >> 56),
                        0,
                        0,
                        0,
                        0};
    fake_target_write(w->ft, w->idt + 8 * 16, gate, sizeof gate);
    for (unsigned c = 0; c < FAKE_WORLD_CPUS; c++) {
        size_t k = c == 0 ? (nprocs > 1 ? threads_per : 0) : 1;
        uint64_t prcb = fake_world_alloc(w, 0x100);
        uint8_t ctx[KD_API_CONTEXT_AMD64_SIZE] = {0}, sr[0xF0] = {0}, ptr[8];
        uint8_t running = 2;
        w->cpu_thread[c] = w->thread[k];
        w->cpu_rsp[c] = w->initial[k] - 0x1000 - 0x10 * c;
        fake_target_put64(w->ft, w->processor_block + 8 * c, prcb);
        fake_target_put64(w->ft, prcb + 8, w->thread[k]);
        fake_target_write(w->ft, w->thread[k] + lay->state, &running, 1);
        kd_put32(ctx + KD_API_CONTEXT_AMD64_FLAGS, KD_API_CONTEXT_AMD64_FULL);
        kd_put64(ctx + KD_API_CONTEXT_AMD64_RSP, w->cpu_rsp[c]);
        kd_put64(ctx + KD_API_CONTEXT_AMD64_RIP, w->nt_base + 0x1410);
        fake_target_set_context(w->ft, (uint16_t)c, ctx, sizeof ctx);
        kd_put16(sr + 0x66, 0xFFF);
        kd_put64(sr + 0x68, w->idt);
        fake_target_set_control(w->ft, (uint16_t)c, 2, sr, sizeof sr);
        kd_put64(ptr, prcb);
        fake_target_set_control(w->ft, (uint16_t)c, 1, ptr, 8);
        kd_put64(ptr, w->thread[k]);
        fake_target_set_control(w->ft, (uint16_t)c, 3, ptr, 8);
    }
    build_kdbg(w);
    return 0;
}

void fake_world_free(struct fake_world *w)
{
    fake_target_free(w->ft);
    w->ft = NULL;
}
