/* sim_truth.c: recording and writing kdsim's ground truth (sim_truth.h). */
#include "sim_truth.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kd_status.h"
#include "sim_threads.h"

int sim_truth_init(struct sim_truth *t, const char *scenario, uint64_t seed, uint32_t nthreads)
{
    if (!t || !scenario)
        return KD_ERR_ARG;
    memset(t, 0, sizeof(*t));
    snprintf(t->scenario, sizeof(t->scenario), "%s", scenario);
    t->seed = seed;
    t->nthreads = nthreads;
    return KD_OK;
}

void sim_truth_fini(struct sim_truth *t)
{
    if (!t)
        return;
    free(t->usage);
    free(t->events);
    memset(t, 0, sizeof(*t));
}

int sim_truth_tick(struct sim_truth *t, const struct sim_kernel *k)
{
    if (t->nrows == t->cap_rows) {
        size_t ncap = t->cap_rows ? t->cap_rows * 2 : 64;
        uint32_t *n = realloc(t->usage, ncap * t->nthreads * sizeof(*n));
        if (!n)
            return KD_ERR_NOMEM;
        t->usage = n;
        t->cap_rows = ncap;
    }
    uint32_t *row = t->usage + t->nrows * t->nthreads;
    for (uint32_t i = 0; i < t->nthreads; i++)
        row[i] = (uint32_t)(k->threads[i].initial_stack - sim_threads_sp(k, i));
    t->nrows++;
    return KD_OK;
}

int sim_truth_event(struct sim_truth *t, const struct sim_event *ev)
{
    if (t->nevents == t->cap_events) {
        size_t ncap = t->cap_events ? t->cap_events * 2 : 16;
        struct sim_event *n = realloc(t->events, ncap * sizeof(*n));
        if (!n)
            return KD_ERR_NOMEM;
        t->events = n;
        t->cap_events = ncap;
    }
    t->events[t->nevents++] = *ev;
    return KD_OK;
}

static const char *via_name(uint8_t via)
{
    static const char *const n[] = {"call", "start", "user", "zw", "interrupt", "ist1", "leaf"};
    return via < sizeof(n) / sizeof(n[0]) ? n[via] : "?";
}

static const char *stop_name(enum sim_stop why)
{
    return why == SIM_STOP_BREAKIN      ? "breakin"
           : why == SIM_STOP_BREAKPOINT ? "breakpoint"
                                        : "bugcheck";
}

/* "module!function+0xoff" of an address inside a known function. */
static void symbol(const struct sim_kernel *k, uint64_t addr, char *buf, size_t cap)
{
    const struct sim_fn *f = sim_images_fn_at(&k->im, addr);
    if (f)
        snprintf(buf, cap, "%s!%s+0x%" PRIx64, k->im.mods[f->module].name, f->name, addr - f->addr);
    else
        snprintf(buf, cap, "0x%" PRIx64, addr);
}

static const char *stack_of(const struct sim_kernel *k, const struct sim_thread *th, uint64_t sp)
{
    if (sp >= th->stack_limit - 0x1000 && sp < th->stack_base)
        return "thread";
    for (uint16_t c = 0; c < k->ncpus; c++)
        if (sp < k->cpu[c].ist_top[1] && sp >= k->cpu[c].ist_top[1] - 0x6000)
            return "ist1";
    return "other";
}

static void write_frames(const struct sim_truth *t, const struct sim_kernel *k, FILE *f)
{
    const struct sim_thread *th = &k->threads[t->crash_thread];
    fprintf(f, "    \"frames\": [");
    for (size_t i = th->stack.n; i-- > 0;) {
        const struct sim_frame *fr = &th->stack.f[i];
        const struct sim_fn *fn = &k->im.fns[fr->fn];
        char ret[96];
        symbol(k, fr->ret, ret, sizeof(ret));
        fprintf(f,
                "%s\n      {\"sp\": \"0x%" PRIx64 "\", \"rip\": \"0x%" PRIx64
                "\", \"size\": %" PRIu32 ", \"ret\": \"0x%" PRIx64 "\", \"caller_sp\": \"0x%" PRIx64
                "\", \"module\": \"%s\", \"function\": \"%s\", \"offset\": %" PRIu64
                ", \"exported\": %s, \"via\": \"%s\", \"entry\": %s, \"stack\": \"%s\", "
                "\"ret_symbol\": \"%s\"}",
                i + 1 == th->stack.n ? "" : ",", fr->sp, fr->rip, fr->size, fr->ret, fr->caller_sp,
                k->im.mods[fn->module].name, fn->name, fr->rip - fn->addr,
                fn->exported ? "true" : "false", via_name(fr->via), fr->entry ? "true" : "false",
                stack_of(k, th, fr->sp), ret);
    }
    fprintf(f, "\n    ]\n");
}

static void write_crash(const struct sim_truth *t, const struct sim_kernel *k, FILE *f)
{
    const struct sim_thread *th = &k->threads[t->crash_thread];
    const struct sim_fn *ff = &k->im.fns[t->fault_fn];
    fprintf(f,
            "  \"crash\": {\n    \"kind\": \"%s\", \"tick\": %" PRIu64
            ", \"cpu\": %u, \"thread\": %" PRIu32 ", \"ethread\": \"0x%" PRIx64 "\",\n",
            t->double_fault ? "double_fault" : "bugcheck", t->crash_tick, t->crash_cpu,
            t->crash_thread, th->ethread);
    if (t->double_fault)
        fprintf(f,
                "    \"fault_rip\": \"0x%" PRIx64 "\", \"fault_rsp\": \"0x%" PRIx64
                "\", \"fault_function\": \"%s!%s\", \"stack_limit\": \"0x%" PRIx64
                "\", \"bytes_past_limit\": %" PRId64 ",\n",
                t->fault_rip, t->fault_rsp, k->im.mods[ff->module].name, ff->name, th->stack_limit,
                (int64_t)(th->stack_limit - t->fault_rsp));
    if (t->bugcheck)
        fprintf(f,
                "    \"bugcheck\": {\"code\": \"0x%" PRIx32 "\", \"args\": [\"0x%" PRIx64
                "\", \"0x%" PRIx64 "\", \"0x%" PRIx64 "\", \"0x%" PRIx64 "\"]},\n",
                t->bugcheck_code, t->bugcheck_args[0], t->bugcheck_args[1], t->bugcheck_args[2],
                t->bugcheck_args[3]);
    write_frames(t, k, f);
    fprintf(f, "  },\n");
}

int sim_truth_write(const struct sim_truth *t, const struct sim_kernel *k, FILE *f)
{
    if (!t || !k || !f)
        return KD_ERR_ARG;
    fprintf(f,
            "{\n  \"kdsim_truth\": 1, \"scenario\": \"%s\", \"seed\": %" PRIu64
            ", \"build\": %d, \"cpus\": %u,\n",
            t->scenario, t->seed, SIM_BUILD, k->ncpus);
    fprintf(f,
            "  \"kernel\": {\"kern_base\": \"0x%" PRIx64
            "\", \"ps_loaded_module_list\": \"0x%" PRIx64 "\", \"kdbg\": \"0x%" PRIx64
            "\", \"breakpoint_with_status\": \"0x%" PRIx64 "\"},\n",
            k->kern_base, k->module_list, k->kdbg, k->breakpoint_with_status);
    fprintf(f, "  \"modules\": [");
    for (size_t i = 0; i < k->im.nmods; i++)
        fprintf(f,
                "%s\n    {\"name\": \"%s\", \"file\": \"%s\", \"base\": \"0x%" PRIx64
                "\", \"size\": %" PRIu32 "}",
                i ? "," : "", k->im.mods[i].name, k->im.mods[i].file, k->im.mods[i].base,
                k->im.mods[i].size);
    fprintf(f, "\n  ],\n  \"threads\": [");
    for (uint32_t i = 0; i < t->nthreads; i++) {
        const struct sim_thread *th = &k->threads[i];
        const struct sim_process *p = &k->procs[th->process];
        fprintf(f,
                "%s\n    {\"ethread\": \"0x%" PRIx64 "\", \"pid\": %" PRIu32 ", \"tid\": %" PRIu32
                ", \"process\": \"%s\", \"stack_base\": \"0x%" PRIx64
                "\", \"stack_limit\": \"0x%" PRIx64 "\", \"initial_stack\": \"0x%" PRIx64 "\"}",
                i ? "," : "", th->ethread, p->pid, th->tid, p->name, th->stack_base,
                th->stack_limit, th->initial_stack);
    }
    fprintf(f, "\n  ],\n  \"usage\": [");
    for (size_t r = 0; r < t->nrows; r++) {
        fprintf(f, "%s\n    [", r ? "," : "");
        for (uint32_t i = 0; i < t->nthreads; i++)
            fprintf(f, "%s%" PRIu32, i ? "," : "", t->usage[r * t->nthreads + i]);
        fprintf(f, "]");
    }
    fprintf(f, "\n  ],\n  \"events\": [");
    for (size_t i = 0; i < t->nevents; i++) {
        const struct sim_event *e = &t->events[i];
        char sym[96];
        symbol(k, e->pc, sym, sizeof(sym));
        fprintf(f,
                "%s\n    {\"tick\": %" PRIu64
                ", \"kind\": \"%s\", \"cpu\": %u, \"thread\": \"0x%" PRIx64
                "\", \"pc\": \"0x%" PRIx64 "\", \"symbol\": \"%s\"}",
                i ? "," : "", e->tick, stop_name(e->why), e->cpu, e->thread, e->pc, sym);
    }
    fprintf(f, "\n  ],\n");
    if (t->crashed)
        write_crash(t, k, f);
    fprintf(f, "  \"ticks\": %zu\n}\n", t->nrows ? t->nrows - 1 : 0);
    return ferror(f) ? KD_ERR_IO : KD_OK;
}
