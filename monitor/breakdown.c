/* breakdown.c: frame sizes, stack switches, usage per module, cycles and
 * re-entrancy for one kernel stack (see breakdown.h). */
#include "breakdown.h"

#include "kd_status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bigger jumps between two lines are another stack: kernel stacks are 12-72 KiB
 * and one frame never spans 64 KiB (seed 000's "0x984c660" is IST -> thread). */
#define PLAUSIBLE_FRAME 0x10000u
/* After a trap or interrupt line, more than a page is the interrupted stack. */
#define TRAP_JUMP 0x1000u
/* SPs this far below StackLimit are the overflow itself, still the thread stack:
 * a faulting frame sits at most its own size (kernel code probes every page) below. */
#define OVERFLOW_SLACK 0x4000u

#define REGION_UNKNOWN (-1)
#define REGION_USER (-2)
#define NONE SIZE_MAX

static const char *const system_modules[] = {
    "nt",       "ntoskrnl", "ntkrnlmp",   "ntkrnlpa",   "ntkrpamp", "hal",      "halmacpi",
    "halacpi",  "fltmgr",   "Ntfs",       "fastfat",    "refs",     "exfat",    "cdfs",
    "udfs",     "win32k",   "win32kbase", "win32kfull", "CLASSPNP", "storport", "ataport",
    "scsiport", "disk",     "partmgr",    "volmgr",     "volmgrx",  "volsnap",  "mountmgr",
    "fvevol",   "iorate",   "rdyboost",   "Wof",        "FileInfo", "ndis",     "tcpip",
    "netio",    "afd",      "ksecdd",     "cng",        "CI",       "Wdf01000", "acpi",
    "pci",      "storahci", "stornvme",   "USBPORT",    "usbhub",   "ks",       "mup",
    "rdbss",    "mrxsmb",   "srv2",
};

bool breakdown_is_system_module(const char *module)
{
    for (size_t i = 0; i < sizeof system_modules / sizeof system_modules[0]; i++)
        if (!strcasecmp(module, system_modules[i]))
            return true;
    return false;
}

const char *breakdown_kind_str(enum breakdown_kind kind)
{
    switch (kind) {
    case BREAKDOWN_STACK_THREAD: return "thread stack";
    case BREAKDOWN_STACK_IST: return "IST stack";
    case BREAKDOWN_STACK_DPC: return "DPC stack";
    case BREAKDOWN_STACK_ISR: return "ISR stack";
    case BREAKDOWN_STACK_OTHER: return "other stack";
    case BREAKDOWN_STACK_USER: return "user stack";
    case BREAKDOWN_STACK_DF: return "double-fault stack";
    case BREAKDOWN_STACK_KERNEL: return "kernel stack";
    }
    return "stack";
}

void breakdown_frame_format(const struct breakdown_frame *f, char *buf, size_t size)
{
    char off[24] = "";
    if (!size)
        return;
    if (!f->module[0] && !f->function[0]) {
        snprintf(buf, size, "0x%" PRIx64, f->offset);
        return;
    }
    if (f->has_offset)
        snprintf(off, sizeof off, "+0x%" PRIx64, f->offset);
    /* WinDbg writes "CLASSPNP! ?? ::FNODOBFM::`string'" with a space. */
    const char *sep = f->function[0] == '?' && f->function[1] == '?' ? "! " : "!";
    if (f->function[0])
        snprintf(buf, size, "%s%s%s%s", f->module, sep, f->function, off);
    else
        snprintf(buf, size, "%s%s", f->module, off);
}

/* x86 names carry decorations: _KiTrap0E, @KiTrap0E@0. */
static const char *bare_name(const char *fn)
{
    while (*fn == '_' || *fn == '@')
        fn++;
    return fn;
}

static bool name_is(const char *fn, const char *name)
{
    return !strcmp(bare_name(fn), name);
}

static bool name_starts(const char *fn, const char *prefix)
{
    return !strncmp(bare_name(fn), prefix, strlen(prefix));
}

static bool is_trapish(const struct breakdown_frame *f)
{
    if (f->flags & (BREAKDOWN_FRAME_TRAP | BREAKDOWN_FRAME_MACHINE))
        return true;
    return name_is(f->function, "KiDoubleFaultAbort") || name_starts(f->function, "KiTrap") ||
           name_is(f->function, "KiPageFault") || name_is(f->function, "KiNmiInterrupt") ||
           name_is(f->function, "KiMcheckAbort") || name_starts(f->function, "KiInterrupt") ||
           name_is(f->function, "KiFastCallEntry") || name_starts(f->function, "KiSystemCall");
}

static bool is_ist_handler(const struct breakdown_frame *f)
{
    return name_is(f->function, "KiDoubleFaultAbort") || name_is(f->function, "KiNmiInterrupt") ||
           name_is(f->function, "KiMcheckAbort") || name_is(f->function, "KiTrap08");
}

static bool is_dpc_frame(const struct breakdown_frame *f)
{
    return name_is(f->function, "KiExecuteAllDpcs") || name_is(f->function, "KiRetireDpcList") ||
           name_is(f->function, "KxRetireDpcList");
}

static unsigned path_kind(const struct breakdown_frame *f)
{
    const char *fn = bare_name(f->function);
    if (!f->module[0] || !breakdown_is_system_module(f->module))
        return 0;
    static const char *const sys[] = {
        "KiSystemServiceCopyEnd", "KiSystemServiceExit", "KiSystemService", "KiSystemCall64",
        "KiSystemCall64Shadow",   "KiServiceLinkage",    "KiFastCallEntry", "KiServiceExit"};
    static const char *const pag[] = {
        "IoSynchronousPageWrite", "IoPageRead",  "IoPageWrite", "MiDispatchFault",
        "MmAccessFault",          "KiPageFault", "KiTrap0E",    "MmFlushSection"};
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
        if (!strcmp(fn, sys[i]))
            return BREAKDOWN_PATH_SYSCALL;
    for (size_t i = 0; i < sizeof pag / sizeof pag[0]; i++)
        if (!strcmp(fn, pag[i]))
            return BREAKDOWN_PATH_PAGING;
    if (!strncmp(fn, "CcFlush", 7))
        return BREAKDOWN_PATH_PAGING;
    /* NtWriteFile, ZwClose, win32k!NtUserInitialize; not Ntfs's own NtfsXxx. */
    if ((fn[0] == 'N' && fn[1] == 't') || (fn[0] == 'Z' && fn[1] == 'w'))
        if (fn[2] >= 'A' && fn[2] <= 'Z')
            return BREAKDOWN_PATH_SYSCALL;
    return 0;
}

static uint64_t user_top(unsigned ptr_size)
{
    return ptr_size == 4 ? 0x80000000u : UINT64_C(0x0000800000000000);
}

/* Which stack an SP is on: a range index, REGION_USER or REGION_UNKNOWN. */
static int region_of(const struct breakdown_input *in, uint64_t sp)
{
    for (size_t r = 0; r < in->range_count; r++)
        if (sp >= in->ranges[r].limit && sp <= in->ranges[r].base)
            return (int)r;
    for (size_t r = 0; r < in->range_count; r++) {
        const struct breakdown_range *g = &in->ranges[r];
        if (g->kind == BREAKDOWN_STACK_THREAD && sp < g->limit && g->limit - sp <= OVERFLOW_SLACK)
            return (int)r;
    }
    return sp < user_top(in->ptr_size) ? REGION_USER : REGION_UNKNOWN;
}

static enum breakdown_edge edge_between(const struct breakdown_input *in, size_t prev, size_t cur,
                                        uint64_t *size)
{
    const struct breakdown_frame *p = &in->frames[prev], *c = &in->frames[cur];
    int ra = region_of(in, p->sp), rb = region_of(in, c->sp);
    if (ra != rb)
        return BREAKDOWN_EDGE_SWITCH;
    if (ra >= 0) { /* both inside one known range */
        if (c->sp < p->sp)
            return BREAKDOWN_EDGE_BACKWARDS;
        *size = c->sp - p->sp;
        return BREAKDOWN_EDGE_SIZE;
    }
    if (c->sp < p->sp)
        return BREAKDOWN_EDGE_SWITCH;
    uint64_t d = c->sp - p->sp;
    if (d > PLAUSIBLE_FRAME || (is_trapish(p) && d > TRAP_JUMP))
        return BREAKDOWN_EDGE_SWITCH;
    *size = d;
    return BREAKDOWN_EDGE_SIZE;
}

static void compute_edges(const struct breakdown_input *in, struct breakdown *bd)
{
    size_t prev = NONE, seg = 0;
    for (size_t i = 0; i < in->count; i++) {
        const struct breakdown_frame *f = &in->frames[i];
        struct breakdown_line *l = &bd->lines[i];
        l->edge = BREAKDOWN_EDGE_NONE;
        if (f->flags & BREAKDOWN_FRAME_NO_SP) {
            if (i > 0 && (f->flags & BREAKDOWN_FRAME_MEMORY)) {
                l->edge =
                    f->memory > PLAUSIBLE_FRAME ? BREAKDOWN_EDGE_SWITCH : BREAKDOWN_EDGE_MEMORY;
                l->size = f->memory;
            }
        } else {
            if (prev != NONE)
                l->edge = edge_between(in, prev, i, &l->size);
            prev = i;
        }
        if (l->edge != BREAKDOWN_EDGE_SIZE && l->edge != BREAKDOWN_EDGE_MEMORY)
            l->size = 0;
        if (l->edge == BREAKDOWN_EDGE_SWITCH && seg + 1 < BREAKDOWN_MAX_STACKS)
            seg++;
        l->stack = seg;
    }
    bd->stack_count = in->count ? seg + 1 : 0;
}

static void compute_stacks(const struct breakdown_input *in, struct breakdown *bd)
{
    for (size_t s = 0; s < bd->stack_count; s++) {
        struct breakdown_stack *st = &bd->stacks[s];
        memset(st, 0, sizeof *st);
        st->first = NONE;
        st->kind = BREAKDOWN_STACK_KERNEL;
    }
    int region[BREAKDOWN_MAX_STACKS];
    for (size_t s = 0; s < BREAKDOWN_MAX_STACKS; s++)
        region[s] = REGION_UNKNOWN;
    bool ist[BREAKDOWN_MAX_STACKS] = {false}, dpc[BREAKDOWN_MAX_STACKS] = {false};
    for (size_t i = 0; i < in->count; i++) {
        const struct breakdown_frame *f = &in->frames[i];
        struct breakdown_stack *st = &bd->stacks[bd->lines[i].stack];
        size_t s = bd->lines[i].stack;
        if (st->first == NONE)
            st->first = i;
        st->last = i;
        st->bytes += bd->lines[i].size;
        ist[s] |= is_ist_handler(f);
        dpc[s] |= is_dpc_frame(f);
        if (f->flags & BREAKDOWN_FRAME_NO_SP)
            continue;
        if (!st->has_sp) {
            st->has_sp = true;
            st->min_sp = st->max_sp = f->sp;
            region[s] = region_of(in, f->sp);
        }
        st->min_sp = f->sp < st->min_sp ? f->sp : st->min_sp;
        st->max_sp = f->sp > st->max_sp ? f->sp : st->max_sp;
    }
    for (size_t s = 0; s < bd->stack_count; s++) {
        struct breakdown_stack *st = &bd->stacks[s];
        bool switched_after = s + 1 < bd->stack_count;
        if (st->has_sp && region[s] >= 0)
            st->kind = in->ranges[region[s]].kind;
        else if (st->has_sp && region[s] == REGION_USER)
            st->kind = BREAKDOWN_STACK_USER;
        else if (ist[s] && switched_after)
            st->kind = in->ptr_size == 4 ? BREAKDOWN_STACK_DF : BREAKDOWN_STACK_IST;
        else if (dpc[s] && switched_after)
            st->kind = BREAKDOWN_STACK_DPC;
    }
}

/* The thread stack when its range is known, else the kernel stack with most bytes. */
static size_t pick_fault_stack(const struct breakdown *bd)
{
    size_t best = NONE;
    for (size_t s = 0; s < bd->stack_count; s++)
        if (bd->has_thread_range && bd->stacks[s].kind == BREAKDOWN_STACK_THREAD)
            return s;
    for (size_t s = 0; s < bd->stack_count; s++) {
        enum breakdown_kind k = bd->stacks[s].kind;
        if (k == BREAKDOWN_STACK_USER || k == BREAKDOWN_STACK_IST || k == BREAKDOWN_STACK_DF)
            continue;
        if (best == NONE || bd->stacks[s].bytes > bd->stacks[best].bytes)
            best = s;
    }
    return best == NONE ? 0 : best;
}

static void compute_totals(const struct breakdown_input *in, struct breakdown *bd)
{
    bd->fault_stack = pick_fault_stack(bd);
    const struct breakdown_stack *st = &bd->stacks[bd->fault_stack];
    bd->total_bytes = st->bytes;
    bd->has_lowest_sp = st->has_sp;
    bd->lowest_sp = st->min_sp;
    if (in->has_fault_sp) {
        const struct breakdown_range *t = &bd->thread_range;
        bool near = bd->has_thread_range
                        ? in->fault_sp <= t->base && in->fault_sp + OVERFLOW_SLACK >= t->limit
                        : st->has_sp && in->fault_sp <= st->max_sp &&
                              in->fault_sp + PLAUSIBLE_FRAME >= st->min_sp;
        if (near && (!bd->has_lowest_sp || in->fault_sp < bd->lowest_sp)) {
            bd->lowest_sp = in->fault_sp;
            bd->has_lowest_sp = bd->used_fault_sp = true;
        }
    }
    if (!bd->has_thread_range || st->kind != BREAKDOWN_STACK_THREAD || !bd->has_lowest_sp ||
        bd->lowest_sp > bd->thread_range.base)
        return;
    bd->has_depth = true;
    bd->depth = bd->thread_range.base - bd->lowest_sp;
    if (bd->lowest_sp < bd->thread_range.limit) {
        bd->past_limit = true;
        bd->past = bd->thread_range.limit - bd->lowest_sp;
    } else {
        bd->headroom = bd->lowest_sp - bd->thread_range.limit;
    }
}

/* Module ids, case-insensitive, in order of first appearance. */
static size_t *intern_modules(const struct breakdown *bd, size_t *count)
{
    size_t *id = malloc((bd->count ? bd->count : 1) * sizeof *id);
    if (!id)
        return NULL;
    *count = 0;
    for (size_t i = 0; i < bd->count; i++) {
        size_t j = 0;
        while (j < i && strcasecmp(bd->frames[j].module, bd->frames[i].module))
            j++;
        id[i] = j < i ? id[j] : (*count)++;
    }
    return id;
}

static int cmp_module(const void *a, const void *b)
{
    const struct breakdown_module *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static int compute_modules(struct breakdown *bd, const size_t *mod_id, size_t nmod)
{
    const struct breakdown_stack *st = &bd->stacks[bd->fault_stack];
    size_t *slot = malloc((nmod ? nmod : 1) * sizeof *slot);
    bd->modules = calloc(nmod ? nmod : 1, sizeof *bd->modules);
    if (!slot || !bd->modules) {
        free(slot);
        return KD_ERR_NOMEM;
    }
    for (size_t m = 0; m < nmod; m++)
        slot[m] = NONE;
    for (size_t i = st->first; bd->count && i <= st->last; i++) {
        enum breakdown_edge e = bd->lines[i].edge;
        if (e != BREAKDOWN_EDGE_SIZE && e != BREAKDOWN_EDGE_MEMORY)
            continue;
        size_t *s = &slot[mod_id[i]];
        if (*s == NONE) {
            *s = bd->module_count++;
            const char *name = bd->frames[i].module[0] ? bd->frames[i].module : "?";
            snprintf(bd->modules[*s].name, sizeof bd->modules[*s].name, "%s", name);
        }
        bd->modules[*s].bytes += bd->lines[i].size;
        bd->modules[*s].frames++;
    }
    free(slot);
    /* Stable order for equal bytes: first appearance (qsort is not stable). */
    for (size_t m = 1; m < bd->module_count; m++) {
        struct breakdown_module t = bd->modules[m];
        size_t k = m;
        while (k > 0 && cmp_module(&bd->modules[k - 1], &t) > 0) {
            bd->modules[k] = bd->modules[k - 1];
            k--;
        }
        bd->modules[k] = t;
    }
    for (size_t m = 0; m < bd->module_count && bd->total_bytes; m++)
        bd->modules[m].percent = (unsigned)((bd->modules[m].bytes * 200 / bd->total_bytes + 1) / 2);
    return KD_OK;
}

/* Cycle key: module!function; a function at 64 KiB or more is a nearest-export
 * guess without PDB (seed 000's "DsmWriteEvent+0x317f1"), so keep the offset. */
static void cycle_key(const struct breakdown_frame *f, char *buf, size_t size)
{
    if (f->function[0] && (!f->has_offset || f->offset < 0x10000))
        snprintf(buf, size, "%s!%s", f->module, f->function);
    else
        breakdown_frame_format(f, buf, size);
}

static size_t *intern_keys(const struct breakdown *bd)
{
    size_t n = bd->count, cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    size_t *id = malloc((n ? n : 1) * sizeof *id);
    size_t *table = malloc(cap * sizeof *table); /* frame index of first holder, or NONE */
    char(*keys)[BREAKDOWN_CALLSITE_LEN] = malloc((n ? n : 1) * sizeof *keys);
    if (!id || !table || !keys) {
        free(id);
        id = NULL;
        goto out;
    }
    for (size_t h = 0; h < cap; h++)
        table[h] = NONE;
    for (size_t i = 0; i < n; i++) {
        cycle_key(&bd->frames[i], keys[i], sizeof keys[i]);
        uint64_t h = 1469598103934665603u; /* FNV-1a */
        for (const char *c = keys[i]; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211u;
        size_t pos = (size_t)(h & (cap - 1));
        while (table[pos] != NONE && strcmp(keys[table[pos]], keys[i]))
            pos = (pos + 1) & (cap - 1);
        if (table[pos] == NONE)
            table[pos] = i;
        id[i] = table[pos];
    }
out:
    free(table);
    free(keys);
    return id;
}

/* Best placement of `turns` whole turns inside a periodic run [lo, hi). */
static void consider_run(struct breakdown *bd, const uint64_t *pre, size_t lo, size_t hi, size_t p)
{
    size_t turns = (hi - lo) / p;
    if (turns < 2 || turns * p < 3) /* two equal adjacent frames are not yet a pattern */
        return;
    for (size_t s = lo; s + turns * p <= hi; s++) {
        uint64_t bytes = pre[s + turns * p] - pre[s];
        struct breakdown_cycle *c = &bd->cycle;
        bool better = !bd->has_cycle || bytes > c->bytes ||
                      (bytes == c->bytes && turns * p > c->turns * c->period);
        if (!better)
            continue;
        bd->has_cycle = true;
        c->start = s;
        c->period = p;
        c->turns = turns;
        c->bytes = bytes;
        c->turn_min = UINT64_MAX;
        c->turn_max = 0;
        for (size_t t = 0; t < turns; t++) {
            uint64_t b = pre[s + (t + 1) * p] - pre[s + t * p];
            c->turn_min = b < c->turn_min ? b : c->turn_min;
            c->turn_max = b > c->turn_max ? b : c->turn_max;
        }
    }
}

static int compute_cycle(struct breakdown *bd)
{
    const struct breakdown_stack *st = &bd->stacks[bd->fault_stack];
    if (!bd->count)
        return KD_OK;
    size_t *key = intern_keys(bd);
    uint64_t *pre = malloc((bd->count + 1) * sizeof *pre);
    if (!key || !pre) {
        free(key);
        free(pre);
        return KD_ERR_NOMEM;
    }
    pre[0] = 0;
    for (size_t i = 0; i < bd->count; i++)
        pre[i + 1] = pre[i] + bd->lines[i].size;
    size_t lo = st->first, n = st->last - st->first + 1;
    /* Periods ascend and ties keep the first, so the shortest period wins. */
    for (size_t p = 1; p <= n / 2; p++) {
        size_t run = 0;
        for (size_t j = lo; j + p <= st->last; j++) {
            bool eq = key[j] == key[j + p];
            run = eq ? run + 1 : 0;
            if (eq && (j + p == st->last || key[j + 1] != key[j + 1 + p]))
                consider_run(bd, pre, j + 1 - run, j + 1 + p, p);
        }
    }
    free(key);
    free(pre);
    return KD_OK;
}

/* Walk outermost to innermost; a driver seen again after a system call or
 * paging frame that came after its previous activation has been re-entered. */
static int compute_reentries(struct breakdown *bd, const size_t *mod_id, size_t nmod)
{
    size_t *entry = malloc((nmod ? nmod : 1) * sizeof *entry);
    size_t *exit_ = malloc((nmod ? nmod : 1) * sizeof *exit_);
    if (!entry || !exit_) {
        free(entry);
        free(exit_);
        return KD_ERR_NOMEM;
    }
    for (size_t m = 0; m < nmod; m++)
        entry[m] = exit_[m] = NONE;
    size_t last_sys = NONE, last_pag = NONE;
    for (size_t k = bd->count; k-- > 0;) {
        const struct breakdown_frame *f = &bd->frames[k];
        unsigned kind = path_kind(f);
        last_sys = kind == BREAKDOWN_PATH_SYSCALL ? k : last_sys;
        last_pag = kind == BREAKDOWN_PATH_PAGING ? k : last_pag;
        if (!f->module[0] || breakdown_is_system_module(f->module))
            continue;
        size_t m = mod_id[k];
        if (exit_[m] == NONE) {
            entry[m] = exit_[m] = k;
            continue;
        }
        unsigned paths = (last_sys < exit_[m] ? BREAKDOWN_PATH_SYSCALL : 0) |
                         (last_pag < exit_[m] ? BREAKDOWN_PATH_PAGING : 0);
        if (!paths) {
            exit_[m] = k;
            continue;
        }
        if (bd->reentry_count < BREAKDOWN_MAX_REENTRIES) {
            struct breakdown_reentry *r = &bd->reentries[bd->reentry_count++];
            snprintf(r->module, sizeof r->module, "%s", bd->frames[entry[m]].module);
            r->outer_entry = entry[m];
            r->outer_exit = exit_[m];
            r->inner_entry = k;
            r->paths = paths;
            r->syscall_frame = paths & BREAKDOWN_PATH_SYSCALL ? last_sys : 0;
            r->paging_frame = paths & BREAKDOWN_PATH_PAGING ? last_pag : 0;
            r->bytes = 0;
            for (size_t i = k + 1; i <= entry[m]; i++)
                r->bytes += bd->lines[i].size;
        }
        entry[m] = exit_[m] = k;
    }
    free(entry);
    free(exit_);
    return KD_OK;
}

int breakdown_new(const struct breakdown_input *in, struct breakdown **out)
{
    int rc = KD_ERR_ARG;
    struct breakdown *bd = NULL;
    size_t *mod_id = NULL, nmod = 0;
    if (out)
        *out = NULL;
    if (!in || !out || in->count > BREAKDOWN_MAX_FRAMES || (in->count && !in->frames) ||
        in->range_count > BREAKDOWN_MAX_RANGES || (in->range_count && !in->ranges) ||
        (in->ptr_size != 4 && in->ptr_size != 8))
        return rc;
    rc = KD_ERR_NOMEM;
    bd = calloc(1, sizeof *bd);
    if (!bd)
        return rc;
    size_t n = in->count ? in->count : 1;
    bd->frames = malloc(n * sizeof *bd->frames);
    bd->lines = calloc(n, sizeof *bd->lines);
    if (!bd->frames || !bd->lines)
        goto fail_bd;
    if (in->count)
        memcpy(bd->frames, in->frames, in->count * sizeof *bd->frames);
    for (size_t i = 0; i < in->count; i++) { /* never trust the caller's terminators */
        bd->frames[i].module[BREAKDOWN_MODULE_LEN - 1] = '\0';
        bd->frames[i].function[BREAKDOWN_FUNCTION_LEN - 1] = '\0';
    }
    bd->count = in->count;
    bd->ptr_size = in->ptr_size;
    for (size_t r = 0; r < in->range_count; r++)
        if (in->ranges[r].kind == BREAKDOWN_STACK_THREAD && !bd->has_thread_range) {
            bd->has_thread_range = true;
            bd->thread_range = in->ranges[r];
        }
    struct breakdown_input local = *in;
    local.frames = bd->frames;
    compute_edges(&local, bd);
    if (!bd->count)
        goto done;
    compute_stacks(&local, bd);
    compute_totals(&local, bd);
    mod_id = intern_modules(bd, &nmod);
    if (!mod_id)
        goto fail_bd;
    if ((rc = compute_modules(bd, mod_id, nmod)) != KD_OK || (rc = compute_cycle(bd)) != KD_OK ||
        (rc = compute_reentries(bd, mod_id, nmod)) != KD_OK)
        goto fail_bd;
done:
    free(mod_id);
    *out = bd;
    return KD_OK;
fail_bd:
    free(mod_id);
    breakdown_free(bd);
    return rc;
}

void breakdown_free(struct breakdown *bd)
{
    if (!bd)
        return;
    free(bd->frames);
    free(bd->lines);
    free(bd->modules);
    free(bd);
}
