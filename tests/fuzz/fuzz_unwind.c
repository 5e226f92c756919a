/* fuzz_unwind.c: the input is a 32-byte header plus a memory image mapped
 * at a kernel address: stack, code, .pdata and UNWIND_INFO all come from it.
 * Runs the x64 walk and single step, the x86 walk and TSS decode, and the
 * double-fault capture over that memory. The walkers must terminate within
 * their bounds and keep the frame list's invariants; anything else aborts.
 *
 * Header: [0] mode (bit 0: x86), [1..2] SP, [3..4] PC, [5..6] FP offsets,
 * [7..8] .pdata offset, [9] entries, [10..11] stack limit, [12..13] stack
 * base, [14..15] code start, [16..17] code end offsets, [18] max frames,
 * [19] a second (IST) stack of 0x400 bytes at the SP when odd. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "kd_le.h"
#include "kd_status.h"
#include "unwind.h"
#include "unwind_x64.h"
#include "unwind_x86.h"

#define HDR 32
#define BASE64 0xFFFFF80000000000ull
#define BASE86 0xFFFFFFFF80000000ull /* 0x80000000 as KD sign-extends it */

struct blob {
    const uint8_t *p;
    size_t n;
    uint64_t base;
    uint32_t pdata, entries, code_lo, code_hi;
};

static int rd(void *ctx, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got)
{
    const struct blob *b = ctx;
    *got = 0;
    if (addr < b->base || addr - b->base >= b->n)
        return KD_ERR_TARGET;
    size_t off = (size_t)(addr - b->base), n = b->n - off < len ? b->n - off : len;
    memcpy(buf, b->p + off, n);
    *got = (uint32_t)n;
    return KD_OK;
}

static int ctl(void *ctx, uint16_t cpu, uint64_t sel, uint8_t *buf, uint32_t len, uint32_t *got)
{
    (void)cpu;
    return rd(ctx, ((const struct blob *)ctx)->base + sel * 8, buf, len, got);
}

static int context(void *ctx, uint16_t cpu, uint8_t *buf, uint32_t len, uint32_t *got)
{
    (void)cpu;
    return rd(ctx, ((const struct blob *)ctx)->base, buf, len, got);
}

static int find(void *user, uint64_t pc, uint64_t *image_base, uint32_t *begin, uint32_t *end,
                uint32_t *unwind_rva)
{
    const struct blob *b = user;
    for (uint32_t i = 0; i < b->entries; i++) {
        size_t at = b->pdata + 12u * i;
        if (at + 12 > b->n)
            break;
        uint32_t s = kd_le32(b->p + at), e = kd_le32(b->p + at + 4);
        if (pc >= b->base + s && pc < b->base + e) {
            *image_base = b->base;
            *begin = s;
            *end = e;
            *unwind_rva = kd_le32(b->p + at + 8);
            return KD_OK;
        }
    }
    return KD_ERR_NOTFOUND;
}

static int is_code(void *user, uint64_t a)
{
    const struct blob *b = user;
    return a >= b->base + b->code_lo && a < b->base + b->code_hi;
}

/* The promises of a trace, whatever the memory held. */
static void check(const struct unwind_trace *t, uint32_t cap)
{
    if (t->count == 0 || t->count > cap || t->stop == UNWIND_STOP_NONE)
        abort();
    for (uint32_t i = 0; i + 1 < t->count; i++) {
        const struct unwind_frame *f = &t->frames[i], *g = f + 1;
        if (f->ret != g->pc)
            abort();
        if (!(f->flags & UNWIND_FRAME_SWITCH) && (g->sp <= f->sp || f->size != g->sp - f->sp))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HDR)
        return 0;
    const uint8_t *h = data;
    int x86 = h[0] & 1;
    struct blob b = {data + HDR, size - HDR,      x86 ? BASE86 : BASE64, kd_le16(h + 7),
                     h[9] & 31,  kd_le16(h + 14), kd_le16(h + 16)};
    struct kd_target_ops ops = {.read_virtual = rd, .read_control = ctl, .get_context = context};
    struct kd_target t = {&ops, &b};
    struct unwind_lookup l = {&b, find, is_code, (h[0] & 2) ? rd : NULL};
    struct unwind_params p;
    struct unwind_trace tr;
    unwind_params_init(&p, &t, (h[0] & 4) ? NULL : &l);
    p.max_frames = h[18];
    p.max_reads = 512;
    uint64_t sp = b.base + kd_le16(h + 1), pc = b.base + kd_le16(h + 3),
             fp = b.base + kd_le16(h + 5);
    unwind_params_add_stack(&p, b.base + kd_le16(h + 10), b.base + kd_le16(h + 12));
    if (h[19] & 1)
        unwind_params_add_stack(&p, sp, sp + 0x400);
    if (unwind_trace_init(&tr, 256) != KD_OK)
        return 0;
    if (!x86) {
        struct unwind_x64_regs r;
        uint32_t fl;
        memset(&r, 0, sizeof r);
        r.gpr[UNWIND_X64_RSP] = sp;
        r.gpr[UNWIND_X64_RBP] = fp;
        r.known = (h[0] & 8) ? 0xFFFF : 1u << UNWIND_X64_RBP;
        r.rip = pc;
        if (unwind_x64_walk(&p, &r, &tr) == KD_OK)
            check(&tr, 256);
        unwind_x64_step(&p, h[0] & 16, &r, &fl);
        struct crash_record rec;
        struct crash_env env = {.target = &t,
                                .lookup = &l,
                                .kthread_stack_limit = 0x30,
                                .kthread_stack_base = 0x38,
                                .bugcheck_data = sp};
        if (crash_record_init(&rec) == KD_OK) {
            crash_on_double_fault(&rec, &env);
            crash_on_kebugcheckex(&rec, &env);
            crash_on_bugcheck_break(&rec, &env);
            if (rec.trace.count)
                check(&rec.trace, rec.trace.cap);
        }
        crash_record_fini(&rec);
    } else {
        struct unwind_x86_regs r = {(uint32_t)pc, (uint32_t)sp, (uint32_t)fp};
        struct unwind_x86_tss tss;
        if (unwind_x86_walk(&p, &r, &tr) == KD_OK)
            check(&tr, 256);
        unwind_x86_tss_decode(b.p, b.n, &tss);
        unwind_x86_double_fault_state(&t, (uint32_t)b.base + kd_le16(h + 7),
                                      (uint32_t)b.base + kd_le16(h + 14), &tss, &r);
    }
    unwind_trace_fini(&tr);
    return 0;
}
