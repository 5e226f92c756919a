/* unwind_fixture.h: a fake target plus a fake module lookup for the
 * unwinder and crash tests: RUNTIME_FUNCTIONs live in a host table, their
 * UNWIND_INFO bytes in target memory, code ranges decide is_code. The test
 * file includes "fake_target.c" once before this header. */
#ifndef UNWIND_FIXTURE_H
#define UNWIND_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "fake_target.h"
#include "kd_status.h"
#include "unwind.h"

#define FX_MAX_FUNCS 64
#define FX_MAX_CODE 8

struct fx_func {
    uint64_t base;
    uint32_t begin, end, unwind;
};

struct fx {
    struct fake_target *ft;
    struct kd_target t;
    struct unwind_lookup lookup;
    struct unwind_params p;
    struct fx_func funcs[FX_MAX_FUNCS];
    int nfuncs;
    uint64_t code_lo[FX_MAX_CODE], code_hi[FX_MAX_CODE];
    int ncode;
    unsigned finds;
};

static inline int fx_find(void *user, uint64_t pc, uint64_t *base, uint32_t *begin, uint32_t *end,
                          uint32_t *unwind)
{
    struct fx *x = user;
    x->finds++;
    for (int i = 0; i < x->nfuncs; i++) {
        const struct fx_func *f = &x->funcs[i];
        if (pc >= f->base + f->begin && pc < f->base + f->end) {
            *base = f->base;
            *begin = f->begin;
            *end = f->end;
            *unwind = f->unwind;
            return KD_OK;
        }
    }
    return KD_ERR_NOTFOUND;
}

static inline int fx_is_code(void *user, uint64_t a)
{
    struct fx *x = user;
    for (int i = 0; i < x->ncode; i++)
        if (a >= x->code_lo[i] && a < x->code_hi[i])
            return 1;
    return 0;
}

static inline int fx_init(struct fx *x)
{
    memset(x, 0, sizeof *x);
    x->ft = fake_target_new();
    if (!x->ft)
        return -1;
    x->t = fake_target_target(x->ft);
    x->lookup.user = x;
    x->lookup.find = fx_find;
    x->lookup.is_code = fx_is_code;
    unwind_params_init(&x->p, &x->t, &x->lookup);
    return 0;
}

static inline void fx_fini(struct fx *x)
{
    fake_target_free(x->ft);
}

/* Maps an image [base, base + size) whose [base + code_lo, base + code_hi) is code. */
static inline uint8_t *fx_module(struct fx *x, uint64_t base, uint32_t size, uint32_t code_lo,
                                 uint32_t code_hi)
{
    if (x->ncode < FX_MAX_CODE) {
        x->code_lo[x->ncode] = base + code_lo;
        x->code_hi[x->ncode++] = base + code_hi;
    }
    return fake_target_map(x->ft, base, size);
}

/* A RUNTIME_FUNCTION with its UNWIND_INFO bytes written at base + unwind. */
static inline void fx_func(struct fx *x, uint64_t base, uint32_t begin, uint32_t end,
                           uint32_t unwind, const uint8_t *info, size_t len)
{
    if (x->nfuncs < FX_MAX_FUNCS)
        x->funcs[x->nfuncs++] = (struct fx_func){base, begin, end, unwind};
    if (info && len)
        fake_target_write(x->ft, base + (unwind & ~1u), info, len);
}

static inline void fx_put(struct fx *x, uint64_t va, uint64_t v)
{
    fake_target_put64(x->ft, va, v);
}

/* Writes "call rel32" so that it ends exactly at ret. */
static inline void fx_call_before(struct fx *x, uint64_t ret)
{
    static const uint8_t call[5] = {0xE8, 0x10, 0x20, 0x30, 0x00};
    fake_target_write(x->ft, ret - 5, call, 5);
}

#endif
