/* addr_set.c: open-addressing address set (see addr_set.h). */
#include "addr_set.h"

#include <stdlib.h>

#include "kd_status.h"

void addr_set_init(struct addr_set *s, size_t cap)
{
    s->slots = NULL;
    s->nslots = s->count = 0;
    s->cap = cap;
}

void addr_set_fini(struct addr_set *s)
{
    free(s->slots);
    s->slots = NULL;
    s->nslots = s->count = 0;
}

static size_t addr_set_hash(uint64_t a, size_t n)
{
    a ^= a >> 33;
    a *= 0xff51afd7ed558ccdULL;
    a ^= a >> 33;
    return (size_t)(a & (n - 1));
}

static int addr_set_insert(uint64_t *slots, size_t n, uint64_t addr)
{
    for (size_t i = addr_set_hash(addr, n);; i = (i + 1) & (n - 1)) {
        if (slots[i] == addr)
            return 0;
        if (slots[i] == 0) {
            slots[i] = addr;
            return 1;
        }
    }
}

static int addr_set_has(const struct addr_set *s, uint64_t addr)
{
    if (!s->nslots)
        return 0;
    for (size_t i = addr_set_hash(addr, s->nslots);; i = (i + 1) & (s->nslots - 1)) {
        if (s->slots[i] == addr)
            return 1;
        if (s->slots[i] == 0)
            return 0;
    }
}

int addr_set_add(struct addr_set *s, uint64_t addr)
{
    if (addr == 0)
        return KD_ERR_ARG;
    if (addr_set_has(s, addr))
        return 0;
    if (s->count >= s->cap)
        return KD_ERR_LENGTH;
    /* Keep the load under one half so probes stay short. */
    if ((s->count + 1) * 2 > s->nslots) {
        size_t n = s->nslots ? s->nslots * 2 : 64;
        uint64_t *slots = calloc(n, sizeof *slots);
        if (!slots)
            return KD_ERR_NOMEM;
        for (size_t i = 0; i < s->nslots; i++)
            if (s->slots[i])
                addr_set_insert(slots, n, s->slots[i]);
        free(s->slots);
        s->slots = slots;
        s->nslots = n;
    }
    addr_set_insert(s->slots, s->nslots, addr);
    s->count++;
    return 1;
}
