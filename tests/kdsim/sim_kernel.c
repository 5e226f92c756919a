/* sim_kernel.c: lays out the simulated kernel's memory (see sim_kernel.h). */
#include "sim_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kd_le.h"
#include "kd_status.h"
#include "sim_threads.h"

/* Fictional but kernel-like addresses (x64 Windows 10 ranges). */
#define POOL_BASE 0xffffb40f8a200000ull
#define POOL_CHUNK 0x100000ull
#define STACKS_BASE 0xfffffe8a60000000ull
#define STACK_SLOT 0x8000ull /* guard page, 24 KiB stack, unmapped gap */
#define CPU_BASE 0xffffd0001d3c0000ull
#define CPU_STRIDE 0x20000ull
#define CPU_BLOCK 0xf000ull /* KPCR (0xb080) | GDT | TSS | IDT */
#define CPU_GDT 0xc000ull
#define CPU_TSS 0xd000ull
#define CPU_IDT 0xe000ull
#define IST_BASE 0xffffd0001e000000ull
#define IST_STRIDE 0x40000ull
#define AUX_STACK 0x6000ull /* IST, DPC and ISR stacks */
#define SYSTEM_DTB 0x1aa000ull
#define BUILD_LAB "19041.1.amd64fre.vb_release.191206-1406"

static int put_u16s(struct sim_kernel *k, uint64_t base, const uint16_t (*v)[2], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sim_mem_put16(k->mem, base + v[i][0], v[i][1]) != KD_OK)
            return KD_ERR_TARGET;
    return KD_OK;
}

int sim_kernel_alloc(struct sim_kernel *k, uint32_t size, uint64_t *addr)
{
    uint64_t need = (size + 0x1Full) & ~0xFull; /* room for a pool-header-like gap */
    while (k->pool_next + need > k->pool_end) {
        int st = sim_mem_map(k->mem, k->pool_end, POOL_CHUNK, NULL);
        if (st != KD_OK)
            return st;
        k->pool_end += POOL_CHUNK;
    }
    *addr = k->pool_next + 0x10;
    k->pool_next += need;
    return KD_OK;
}

int sim_kernel_new_stack(struct sim_kernel *k, uint64_t *limit, uint64_t *base)
{
    uint64_t slot = k->stack_next;
    int st = sim_mem_map(k->mem, slot + 0x1000, SIM_KERNEL_STACK_SIZE, NULL);
    if (st != KD_OK)
        return st;
    k->stack_next += STACK_SLOT;
    *limit = slot + 0x1000;
    *base = *limit + SIM_KERNEL_STACK_SIZE;
    return KD_OK;
}

uint32_t sim_kernel_fn(const struct sim_kernel *k, const char *module, const char *name)
{
    uint32_t i;
    return sim_images_find(&k->im, module, name, &i) == KD_OK ? i : SIM_NO_FN;
}

/* UNICODE_STRING at us (Length, MaximumLength, Buffer) with a pool buffer. */
static int put_ustr(struct sim_kernel *k, uint64_t us, const char *s)
{
    size_t n = strlen(s);
    uint64_t buf;
    int st = sim_kernel_alloc(k, (uint32_t)(2 * n + 2), &buf);
    for (size_t i = 0; st == KD_OK && i < n; i++)
        st = sim_mem_put16(k->mem, buf + 2 * i, (uint8_t)s[i]);
    if (st == KD_OK)
        st = sim_mem_put16(k->mem, us, (uint16_t)(2 * n));
    if (st == KD_OK)
        st = sim_mem_put16(k->mem, us + 2, (uint16_t)(2 * n + 2));
    if (st == KD_OK)
        st = sim_mem_put64(k->mem, us + 8, buf);
    return st;
}

static int map_images(struct sim_kernel *k)
{
    uint64_t prev = 0;
    for (size_t i = 0; i < k->im.nmods; i++) {
        const struct sim_module *m = &k->im.mods[i];
        uint8_t *bytes;
        int st = sim_mem_map(k->mem, m->base, m->size, &bytes);
        if (st != KD_OK)
            return st;
        memcpy(bytes, m->pe.image, m->size);
        /* KLDR_DATA_TABLE_ENTRY, appended to PsLoadedModuleList in load order. */
        uint64_t e;
        if ((st = sim_kernel_alloc(k, SIM_KLDR_SIZE, &e)) != KD_OK)
            return st;
        struct sim_mem *mem = k->mem;
        uint64_t head = k->module_list, last = prev ? prev : head;
        sim_mem_put64(mem, e, head);
        sim_mem_put64(mem, e + 8, last);
        sim_mem_put64(mem, last, e);
        sim_mem_put64(mem, head + 8, e);
        sim_mem_put64(mem, e + SIM_KLDR_EXCEPTION_TABLE, m->base + m->pe.pdata_rva);
        sim_mem_put32(mem, e + SIM_KLDR_EXCEPTION_TABLE_SIZE, m->pe.pdata_size);
        sim_mem_put64(mem, e + SIM_KLDR_DLL_BASE, m->base);
        sim_mem_put64(mem, e + SIM_KLDR_ENTRY_POINT, m->base + m->pe.entry);
        sim_mem_put32(mem, e + SIM_KLDR_SIZE_OF_IMAGE, m->size);
        sim_mem_put32(mem, e + SIM_KLDR_FLAGS, 0x49104000);
        sim_mem_put16(mem, e + SIM_KLDR_LOAD_COUNT, 1);
        sim_mem_put32(mem, e + SIM_KLDR_CHECKSUM, m->pe.checksum);
        if ((st = put_ustr(k, e + SIM_KLDR_FULL_DLL_NAME, m->path)) != KD_OK ||
            (st = put_ustr(k, e + SIM_KLDR_BASE_DLL_NAME, m->file)) != KD_OK)
            return st;
        prev = e;
    }
    return KD_OK;
}

void sim_kernel_version(const struct sim_kernel *k, uint8_t out[SIM_VERSION_SIZE])
{
    memset(out, 0, SIM_VERSION_SIZE);
    kd_put16(out + 0x00, SIM_VERSION_MAJOR);
    kd_put16(out + 0x02, SIM_BUILD);
    out[0x04] = SIM_VERSION_PROTOCOL;
    out[0x05] = SIM_VERSION_SECONDARY;
    kd_put16(out + 0x06, SIM_VERSION_FLAGS);
    kd_put16(out + 0x08, SIM_VERSION_MACHINE);
    out[0x0A] = SIM_VERSION_MAX_PACKET;
    out[0x0B] = SIM_VERSION_MAX_STATE_CHANGE;
    out[0x0C] = SIM_VERSION_MAX_MANIPULATE;
    kd_put64(out + 0x10, k->kern_base);
    kd_put64(out + 0x18, k->module_list);
    kd_put64(out + 0x20, k->debugger_data_list);
}

/* KDDEBUGGER_DATA64, plain (the target booted with /debug on). */
static int fill_kdbg(struct sim_kernel *k)
{
    struct sim_mem *mem = k->mem;
    uint64_t d = k->kdbg, lab;
    int st = sim_kernel_alloc(k, sizeof(BUILD_LAB), &lab);
    if (st != KD_OK)
        return st;
    uint32_t done;
    sim_mem_write(mem, lab, (const uint8_t *)BUILD_LAB, sizeof(BUILD_LAB), &done);
    sim_mem_put64(mem, k->debugger_data_list, d);
    sim_mem_put64(mem, k->debugger_data_list + 8, d);
    sim_mem_put64(mem, d, k->debugger_data_list);
    sim_mem_put64(mem, d + 8, k->debugger_data_list);
    sim_mem_put32(mem, d + SIM_KDBG_OWNER_TAG, SIM_KDBG_TAG);
    sim_mem_put32(mem, d + SIM_KDBG_SIZE_FIELD, SIM_KDBG_SIZE);
    sim_mem_put64(mem, d + SIM_KDBG_KERN_BASE, k->kern_base);
    sim_mem_put64(mem, d + SIM_KDBG_BREAKPOINT_WITH_STATUS, k->breakpoint_with_status);
    sim_mem_put64(mem, d + SIM_KDBG_SAVED_CONTEXT, k->bugcheck_context);
    sim_mem_put64(mem, d + SIM_KDBG_PS_LOADED_MODULE_LIST, k->module_list);
    sim_mem_put64(mem, d + SIM_KDBG_PS_ACTIVE_PROCESS_HEAD, k->process_head);
    sim_mem_put64(mem, d + SIM_KDBG_KI_BUGCHECK_DATA, k->bugcheck_data);
    sim_mem_put64(mem, d + SIM_KDBG_KI_PROCESSOR_BLOCK, k->processor_block);
    sim_mem_put64(mem, d + 0x208, lab);                   /* NtBuildLab */
    sim_mem_put64(mem, d + 0x1D0, 0xffff800000000000ull); /* MmSystemRangeStart */
    sim_mem_put64(mem, d + 0x360, 0xffffd30000000000ull); /* PteBase */
    static const uint16_t off[][2] = {
        {SIM_KDBG_OFF_KTHREAD_NEXT_PROCESSOR, SIM_KTHREAD_NEXT_PROCESSOR},
        {SIM_KDBG_OFF_KTHREAD_TEB, SIM_KTHREAD_TEB},
        {SIM_KDBG_OFF_KTHREAD_KERNEL_STACK, SIM_KTHREAD_KERNEL_STACK},
        {SIM_KDBG_OFF_KTHREAD_INITIAL_STACK, SIM_KTHREAD_INITIAL_STACK},
        {SIM_KDBG_OFF_KTHREAD_APC_PROCESS, SIM_KTHREAD_APC_PROCESS},
        {SIM_KDBG_OFF_KTHREAD_STATE, SIM_KTHREAD_STATE},
        {SIM_KDBG_SIZE_EPROCESS, SIM_EPROCESS_SIZE},
        {SIM_KDBG_OFF_EPROCESS_PEB, SIM_EPROCESS_PEB},
        {SIM_KDBG_OFF_EPROCESS_PARENT_CID, SIM_EPROCESS_INHERITED_FROM_PID},
        {SIM_KDBG_OFF_EPROCESS_DTB, SIM_KPROCESS_DIRECTORY_TABLE_BASE},
        {SIM_KDBG_SIZE_PRCB, SIM_KPRCB_SIZE},
        {SIM_KDBG_OFF_PRCB_DPC_ROUTINE, SIM_KPRCB_DPC_ROUTINE},
        {SIM_KDBG_OFF_PRCB_CURRENT_THREAD, SIM_KPRCB_CURRENT_THREAD},
        {SIM_KDBG_OFF_PRCB_MHZ, SIM_KPRCB_MHZ},
        {SIM_KDBG_OFF_PRCB_CPU_TYPE, SIM_KPRCB_CPU_TYPE},
        {SIM_KDBG_OFF_PRCB_VENDOR_STRING, SIM_KPRCB_VENDOR_STRING},
        {SIM_KDBG_OFF_PRCB_PROC_STATE_CONTEXT, SIM_KPRCB_PROC_STATE_CONTEXT},
        {SIM_KDBG_OFF_PRCB_NUMBER, SIM_KPRCB_NUMBER},
        {SIM_KDBG_SIZE_ETHREAD, SIM_ETHREAD_SIZE},
        {SIM_KDBG_SIZE_PCR, SIM_KPCR_SIZE},
        {SIM_KDBG_OFF_PCR_SELF_PCR, SIM_KPCR_SELF},
        {SIM_KDBG_OFF_PCR_CURRENT_PRCB, SIM_KPCR_CURRENT_PRCB},
        {SIM_KDBG_OFF_PCR_CONTAINED_PRCB, SIM_KPCR_PRCB},
        {SIM_KDBG_OFF_PRCB_PROC_STATE_SPECIAL_REG, SIM_KPRCB_PROC_STATE},
        {SIM_KDBG_GDT_R0_CODE, SIM_SEL_R0_CODE},
        {SIM_KDBG_GDT_R0_DATA, SIM_SEL_R0_DATA},
        {SIM_KDBG_GDT_TSS, SIM_SEL_TSS},
        {SIM_KDBG_OFF_PRCB_CONTEXT, SIM_KPRCB_CONTEXT},
        {SIM_KDBG_OFF_KTHREAD_STACK_LIMIT, SIM_KTHREAD_STACK_LIMIT}, /* u32 fields: high half 0 */
        {SIM_KDBG_OFF_KTHREAD_STACK_BASE, SIM_KTHREAD_STACK_BASE},
        {SIM_KDBG_OFF_KTHREAD_QUEUE_LIST_ENTRY, SIM_KTHREAD_QUEUE_LIST_ENTRY},
        {SIM_KDBG_OFF_ETHREAD_IRP_LIST, SIM_ETHREAD_IRP_LIST},
        {SIM_KDBG_OFF_PRCB_IDLE_THREAD, SIM_KPRCB_IDLE_THREAD},
        {SIM_KDBG_OFF_PRCB_DPC_STACK, SIM_KPRCB_DPC_STACK},
        {SIM_KDBG_OFF_PRCB_ISR_STACK, SIM_KPRCB_ISR_STACK},
        {SIM_KDBG_OFF_KTHREAD_WAIT_REASON, SIM_KTHREAD_WAIT_REASON},
    };
    return put_u16s(k, d, off, sizeof(off) / sizeof(off[0]));
}

static uint32_t idt_handler(const struct sim_kernel *k, unsigned v)
{
    static const char *const low[] = {"KiDivideErrorFault",   "KiDebugTrapOrFault",
                                      "KiNmiInterrupt",       "KiBreakpointTrap",
                                      "KiOverflowTrap",       "KiBoundFault",
                                      "KiInvalidOpcodeFault", "KiNpxNotAvailableFault",
                                      "KiDoubleFaultAbort",   "KiNpxSegmentOverrunAbort",
                                      "KiInvalidTssFault",    "KiSegmentNotPresentFault",
                                      "KiStackFault",         "KiGeneralProtectionFault",
                                      "KiPageFault",          "KiUnexpectedInterrupt",
                                      "KiFloatingErrorFault", "KiAlignmentFault",
                                      "KiMcheckAbort",        "KiXmmException"};
    const char *name = v < 20      ? low[v]
                       : v == 0x1f ? "KiApcInterrupt"
                       : v == 0x2f ? "KiDpcInterrupt"
                       : v == 0xd1 ? "KiInterruptDispatchNoLockNoEtw"
                       : v == 0xe1 ? "KiIpiInterrupt"
                                   : "KiUnexpectedInterrupt";
    return sim_kernel_fn(k, "nt", name);
}

static int setup_cpu(struct sim_kernel *k, uint16_t c)
{
    struct sim_cpu *cpu = &k->cpu[c];
    struct sim_mem *mem = k->mem;
    uint64_t block = CPU_BASE + c * CPU_STRIDE, ist = IST_BASE + c * IST_STRIDE;
    int st = sim_mem_map(mem, block, CPU_BLOCK, NULL);
    for (int i = 0; st == KD_OK && i < 5; i++)
        st = sim_mem_map(mem, ist + 0x1000 + 0x8000ull * (unsigned)i, AUX_STACK, NULL);
    if (st != KD_OK)
        return st;
    cpu->thread = cpu->idle_thread = UINT32_MAX;
    cpu->kpcr = block;
    cpu->kprcb = block + SIM_KPCR_PRCB;
    cpu->gdt = block + CPU_GDT;
    cpu->tss = block + CPU_TSS;
    cpu->idt = block + CPU_IDT;
    for (int i = 1; i <= 3; i++)
        cpu->ist_top[i] = ist + 0x1000 + 0x8000ull * (unsigned)(i - 1) + AUX_STACK;
    cpu->dpc_stack = ist + 0x19000 + AUX_STACK;
    cpu->isr_stack = ist + 0x21000 + AUX_STACK;
    uint64_t pcr = cpu->kpcr, prcb = cpu->kprcb, sr = prcb + SIM_KPRCB_PROC_STATE;
    sim_mem_put64(mem, pcr + SIM_KPCR_GDT_BASE, cpu->gdt);
    sim_mem_put64(mem, pcr + SIM_KPCR_TSS_BASE, cpu->tss);
    sim_mem_put64(mem, pcr + SIM_KPCR_SELF, pcr);
    sim_mem_put64(mem, pcr + SIM_KPCR_CURRENT_PRCB, prcb);
    sim_mem_put64(mem, pcr + SIM_KPCR_IDT_BASE, cpu->idt);
    sim_mem_put16(mem, pcr + 0x60, 1); /* MajorVersion */
    sim_mem_put16(mem, pcr + 0x62, 1); /* MinorVersion */
    sim_mem_put64(mem, pcr + SIM_KPCR_KD_VERSION_BLOCK,
                  sim_images_addr(&k->im, "nt", "KdVersionBlock"));
    sim_mem_put32(mem, prcb, 0x1F80); /* MxCsr */
    sim_mem_put8(mem, prcb + 4, (uint8_t)c);
    sim_mem_put32(mem, prcb + SIM_KPRCB_NUMBER, c);
    sim_mem_put8(mem, prcb + SIM_KPRCB_CPU_TYPE, 6);
    sim_mem_put32(mem, prcb + SIM_KPRCB_MHZ, 2904);
    uint32_t done;
    sim_mem_write(mem, prcb + SIM_KPRCB_VENDOR_STRING, (const uint8_t *)"GenuineIntel", 13, &done);
    sim_mem_put64(mem, prcb + SIM_KPRCB_DPC_STACK, cpu->dpc_stack);
    sim_mem_put64(mem, prcb + SIM_KPRCB_ISR_STACK, cpu->isr_stack);
    sim_mem_put64(mem, prcb + SIM_KPRCB_CONTEXT, prcb + SIM_KPRCB_PROC_STATE_CONTEXT);
    sim_mem_put64(mem, k->processor_block + 8ull * c, prcb);
    /* KSPECIAL_REGISTERS (values after the capture's where it has them). */
    sim_mem_put64(mem, sr + SIM_KSPECIAL_CR0, SIM_CR0);
    sim_mem_put64(mem, sr + SIM_KSPECIAL_CR3, SYSTEM_DTB);
    sim_mem_put64(mem, sr + SIM_KSPECIAL_CR4, SIM_CR4);
    sim_mem_put64(mem, sr + SIM_KSPECIAL_KERNEL_DR6, 0xFFFF0FF0);
    sim_mem_put64(mem, sr + SIM_KSPECIAL_KERNEL_DR7, 0x400);
    sim_mem_put16(mem, sr + SIM_KSPECIAL_GDTR_LIMIT, 0x57);
    sim_mem_put64(mem, sr + SIM_KSPECIAL_GDTR_BASE, cpu->gdt);
    sim_mem_put16(mem, sr + SIM_KSPECIAL_IDTR_LIMIT, 0xFFF);
    sim_mem_put64(mem, sr + SIM_KSPECIAL_IDTR_BASE, cpu->idt);
    sim_mem_put16(mem, sr + SIM_KSPECIAL_TR, SIM_SEL_TSS);
    sim_mem_put32(mem, sr + SIM_KSPECIAL_MXCSR, 0x1F80);
    sim_mem_put64(mem, sr + SIM_KSPECIAL_MSR_GS_BASE, pcr);
    sim_mem_put64(mem, sr + 0xB8, 0x0023001000000000ull); /* MsrStar */
    sim_mem_put64(mem, sr + SIM_KSPECIAL_MSR_LSTAR,
                  sim_images_addr(&k->im, "nt", "KiSystemCall64"));
    sim_mem_put64(mem, sr + 0xD0, 0x4700); /* MsrSyscallMask */
    sim_mem_put64(mem, sr + SIM_KSPECIAL_XCR0, 7);
    /* GDT: kernel/user code and data, TSS at 0x40 (busy), compat TEB at 0x50. */
    static const uint64_t gdt[] = {0,
                                   0,
                                   0x00209b0000000000ull,
                                   0x00cf93000000ffffull,
                                   0x00cffb000000ffffull,
                                   0x00cff3000000ffffull,
                                   0x0020fb0000000000ull,
                                   0,
                                   0,
                                   0,
                                   0x0040f30000003c00ull};
    for (unsigned i = 0; i < sizeof(gdt) / sizeof(gdt[0]); i++)
        sim_mem_put64(mem, cpu->gdt + 8 * i, gdt[i]);
    uint64_t t = cpu->tss;
    sim_mem_put64(mem, cpu->gdt + SIM_SEL_TSS,
                  (SIM_KTSS_SIZE - 1) | ((t & 0xFFFFFF) << 16) | (0x8Bull << 40) |
                      ((t >> 24 & 0xFF) << 56));
    sim_mem_put64(mem, cpu->gdt + SIM_SEL_TSS + 8, t >> 32);
    for (int i = 1; i <= 3; i++)
        sim_mem_put64(mem, t + 0x1C + 8u * (unsigned)i, cpu->ist_top[i]);
    sim_mem_put16(mem, t + 0x66, SIM_KTSS_SIZE); /* IoMapBase */
    /* IDT: interrupt gates; #DF on IST 1, NMI on IST 3, #MC on IST 2. */
    for (unsigned v = 0; v < 256; v++) {
        uint32_t fn = idt_handler(k, v);
        if (fn == SIM_NO_FN)
            return KD_ERR_FORMAT;
        uint64_t h = k->im.fns[fn].addr, g = cpu->idt + SIM_IDT_GATE_SIZE * v;
        uint8_t istn = v == 8 ? 1 : v == 2 ? 3 : v == 0x12 ? 2 : 0;
        uint8_t type = v == 3 || v == 4 ? 0xEE : 0x8E;
        sim_mem_put64(mem, g,
                      (h & 0xFFFF) | ((uint64_t)SIM_SEL_R0_CODE << 16) | ((uint64_t)istn << 32) |
                          ((uint64_t)type << 40) | ((h >> 16 & 0xFFFF) << 48));
        sim_mem_put64(mem, g + 8, h >> 32);
    }
    return KD_OK;
}

static int start_idle(struct sim_kernel *k, uint16_t c)
{
    uint32_t t;
    uint64_t start = sim_images_addr(&k->im, "nt", "KiIdleLoop");
    int st = sim_threads_add(k, k->idle_process, 0, start, start, false, &t);
    if (st != KD_OK)
        return st;
    k->cpu[c].idle_thread = t;
    sim_mem_put64(k->mem, k->cpu[c].kprcb + SIM_KPRCB_IDLE_THREAD, k->threads[t].ethread);
    struct sim_call chain[] = {{sim_kernel_fn(k, "nt", "KiSystemStartup"), SIM_VIA_START},
                               {sim_kernel_fn(k, "nt", "KiIdleLoop"), SIM_VIA_CALL}};
    k->threads[t].cpu = c; /* laid as running: no switch frame */
    if ((st = sim_threads_lay(k, t, chain, 2)) != KD_OK)
        return st;
    k->threads[t].cpu = -1;
    return sim_threads_run(k, t, c);
}

int sim_kernel_new(uint16_t ncpus, struct sim_kernel **out)
{
    if (!out)
        return KD_ERR_ARG;
    *out = NULL;
    if (ncpus < 1 || ncpus > SIM_MAX_CPUS)
        return KD_ERR_ARG;
    struct sim_kernel *k = calloc(1, sizeof(*k));
    if (!k)
        return KD_ERR_NOMEM;
    int st = sim_mem_new(&k->mem);
    if (st != KD_OK || (st = sim_images_init(&k->im)) != KD_OK)
        goto fail;
    k->ncpus = ncpus;
    k->pool_next = k->pool_end = POOL_BASE;
    k->stack_next = STACKS_BASE;
    const struct sim_images *im = &k->im;
    k->kern_base = im->mods[0].base;
    k->module_list = sim_images_addr(im, "nt", "PsLoadedModuleList");
    k->debugger_data_list = sim_images_addr(im, "nt", "KdpDebuggerDataListHead");
    k->kdbg = sim_images_addr(im, "nt", "KdDebuggerDataBlock");
    k->process_head = sim_images_addr(im, "nt", "PsActiveProcessHead");
    k->processor_block = sim_images_addr(im, "nt", "KiProcessorBlock");
    k->bugcheck_data = sim_images_addr(im, "nt", "KiBugCheckData");
    k->bugcheck_context = sim_images_addr(im, "nt", "KiBugCheckContext");
    k->breakpoint_with_status = sim_images_addr(im, "nt", "RtlpBreakWithStatusInstruction");
    st = KD_ERR_FORMAT;
    if (strcmp(im->mods[0].name, "nt") != 0 || !k->module_list || !k->debugger_data_list ||
        !k->kdbg || !k->process_head || !k->processor_block || !k->bugcheck_data ||
        !k->bugcheck_context || !k->breakpoint_with_status)
        goto fail;
    if ((st = map_images(k)) != KD_OK)
        goto fail;
    sim_mem_put64(k->mem, k->process_head, k->process_head);
    sim_mem_put64(k->mem, k->process_head + 8, k->process_head);
    sim_mem_put8(k->mem, sim_images_addr(im, "nt", "KeNumberProcessors"), (uint8_t)ncpus);
    uint8_t ver[SIM_VERSION_SIZE];
    sim_kernel_version(k, ver);
    uint32_t done;
    sim_mem_write(k->mem, sim_images_addr(im, "nt", "KdVersionBlock"), ver, sizeof(ver), &done);
    if ((st = fill_kdbg(k)) != KD_OK)
        goto fail;
    for (uint16_t c = 0; c < ncpus; c++)
        if ((st = setup_cpu(k, c)) != KD_OK)
            goto fail;
    if ((st = sim_threads_add_process(k, 0, "Idle", 0, false, &k->idle_process)) != KD_OK ||
        (st = sim_threads_add_process(k, 4, "System", 0, true, &k->system_process)) != KD_OK)
        goto fail;
    sim_mem_put64(k->mem, sim_images_addr(im, "nt", "PsInitialSystemProcess"),
                  k->procs[k->system_process].eprocess);
    for (uint16_t c = 0; c < ncpus; c++)
        if ((st = start_idle(k, c)) != KD_OK)
            goto fail;
    *out = k;
    return KD_OK;
fail:
    sim_kernel_free(k);
    return st;
}

void sim_kernel_free(struct sim_kernel *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->nthreads; i++)
        sim_stack_fini(&k->threads[i].stack);
    free(k->threads);
    free(k->procs);
    sim_images_fini(&k->im);
    sim_mem_free(k->mem);
    free(k);
}

uint64_t sim_kernel_context_addr(const struct sim_kernel *k, uint16_t cpu)
{
    return k->cpu[cpu].kprcb + SIM_KPRCB_PROC_STATE_CONTEXT;
}

int sim_kernel_sync_cpu(struct sim_kernel *k, uint16_t cpu, const struct sim_regs *regs)
{
    if (!k || cpu >= k->ncpus)
        return KD_ERR_ARG;
    const struct sim_frame *top = sim_stack_top(&k->threads[k->cpu[cpu].thread].stack);
    uint8_t *c = sim_mem_ptr(k->mem, sim_kernel_context_addr(k, cpu), SIM_CONTEXT_SIZE);
    if (!top || !c)
        return KD_ERR_STATE;
    memset(c, 0, SIM_CONTEXT_SIZE);
    kd_put32(c + SIM_CONTEXT_FLAGS, SIM_CONTEXT_ALL);
    kd_put32(c + SIM_CONTEXT_MXCSR, 0x1F80);
    kd_put16(c + SIM_CONTEXT_SEG_CS, SIM_SEL_R0_CODE);
    kd_put16(c + SIM_CONTEXT_SEG_DS, SIM_SEL_R3_DATA);
    kd_put16(c + SIM_CONTEXT_SEG_ES, SIM_SEL_R3_DATA);
    kd_put16(c + SIM_CONTEXT_SEG_FS, SIM_SEL_R3_TEB);
    kd_put16(c + SIM_CONTEXT_SEG_GS, SIM_SEL_R3_DATA);
    kd_put16(c + SIM_CONTEXT_SEG_SS, SIM_SEL_R0_DATA);
    kd_put32(c + SIM_CONTEXT_EFLAGS, SIM_RFLAGS_KERNEL);
    kd_put64(c + SIM_CONTEXT_DR6, 0xFFFF0FF0);
    kd_put64(c + SIM_CONTEXT_DR7, 0x400);
    kd_put64(c + SIM_CONTEXT_RSP, top->sp);
    kd_put64(c + SIM_CONTEXT_RIP, top->rip);
    const struct sim_fn *fn = &k->im.fns[top->fn];
    if (!top->entry && fn->full.frame_reg == 5)
        kd_put64(c + SIM_CONTEXT_RBP, top->sp + fn->full.frame_off);
    if (regs) {
        kd_put64(c + SIM_CONTEXT_RCX, regs->rcx);
        kd_put64(c + SIM_CONTEXT_RDX, regs->rdx);
        kd_put64(c + SIM_CONTEXT_R8, regs->r8);
        kd_put64(c + SIM_CONTEXT_R9, regs->r9);
    }
    kd_put32(c + 0x100 + 0x18, 0x1F80); /* FltSave.MxCsr */
    return KD_OK;
}
