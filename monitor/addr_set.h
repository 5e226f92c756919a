/* addr_set.h: a set of target addresses, for loop detection in list walks
 * (a corrupted or hostile LIST_ENTRY chain that cycles without returning to
 * its head is stopped the first time a node repeats). Open addressing;
 * grows to at most its cap. */
#ifndef ADDR_SET_H
#define ADDR_SET_H

#include <stddef.h>
#include <stdint.h>

struct addr_set {
    uint64_t *slots; /* 0 = empty (address 0 is never a list node) */
    size_t nslots, count, cap;
};

/* cap: most addresses the set will hold. */
void addr_set_init(struct addr_set *s, size_t cap);
void addr_set_fini(struct addr_set *s);
/* 1 when added, 0 when already present, KD_ERR_NOMEM / KD_ERR_LENGTH (cap
 * reached) / KD_ERR_ARG (addr 0) on error. */
int addr_set_add(struct addr_set *s, uint64_t addr);

#endif
