/* symbols.h: symbolization without PDBs (module!export+0xoff from in-memory
 * export tables, checked against .pdata function ranges), KeBugCheckEx from
 * nt's exports, and the IDT gate of a vector (KiDoubleFaultAbort is the
 * handler of vector 8; it is not exported). kd-protocol.md §4.3, §6.1. */
#ifndef SYMBOLS_H
#define SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kd_target.h"
#include "modules.h"

#define SYMBOLS_TEXT_MAX 256
#define SYMBOLS_CHAIN_MAX 8 /* CHAININFO links followed to a function's primary entry */

struct symbols_hit {
    struct module *module;         /* NULL: va is in no loaded module */
    const char *export_name;       /* NULL: shown as module+offset; owned by the module's image */
    uint64_t offset;               /* from the export, else from the module base */
    bool pdata;                    /* a .pdata entry covers va */
    uint32_t func_begin, func_end; /* that function (primary entry), RVAs */
};

/* WinDbg's short module name: "nt" for the module loaded at kern_base (or the
 * first module when kern_base is 0), otherwise BaseDllName without its
 * extension ("CLASSPNP.SYS" -> "CLASSPNP"); "?" for an unnamed module. */
void symbols_module_name(const struct modules *m, const struct module *mod, uint64_t kern_base,
                         char *buf, size_t cap);

/* Resolves va. The nearest export at or below va is used when the function
 * covering va (per .pdata, following chained entries) starts at or below the
 * export; when .pdata shows va in a function above the nearest export, the
 * result is module+offset; without .pdata information the nearest export
 * below is used. Exports and .pdata are loaded on first use. KD_ERR_NOTFOUND
 * (module NULL) when no module holds va; other errors only from allocation. */
int symbols_resolve(const struct kd_target *t, const struct modules *m, uint64_t kern_base,
                    uint64_t va, struct symbols_hit *out);
/* "nt!KeBugCheckEx+0x10", "CLASSPNP+0x1a2b", "nt!KeBugCheckEx" (offset 0) or
 * "0xfffff80012345678" for an address in no module. Always NUL-terminates. */
void symbols_format(const struct kd_target *t, const struct modules *m, uint64_t kern_base,
                    uint64_t va, char *buf, size_t cap);

/* The kernel module (base == kern_base, else the first in load order). */
struct module *symbols_kernel(const struct modules *m, uint64_t kern_base);
/* Address of an export of mod by exact name. */
int symbols_export(const struct kd_target *t, struct module *mod, const char *name, uint64_t *va);
/* nt!KeBugCheckEx. */
int symbols_kebugcheckex(const struct kd_target *t, const struct modules *m, uint64_t kern_base,
                         uint64_t *va);

struct symbols_idt_gate {
    uint64_t idtr_base;
    uint16_t idtr_limit;
    uint64_t handler; /* OffsetLow | OffsetMiddle << 16 | OffsetHigh << 32 */
    uint16_t selector;
    uint8_t ist;  /* bits 0-2 of byte 4 */
    uint8_t type; /* 0xE interrupt gate, 0xF trap gate */
    uint8_t dpl;
    bool present;
};

/* Reads IDTR from cpu's KSPECIAL_REGISTERS (control space selector 2; Limit
 * at 0x66, Base at 0x68) and decodes the 16-byte gate of vector. KD_ERR_FORMAT
 * when the vector lies past the limit or the base is not a kernel address. */
int symbols_idt_gate(const struct kd_target *t, uint16_t cpu, unsigned vector,
                     struct symbols_idt_gate *out);

struct symbols_double_fault {
    struct symbols_idt_gate gate;
    char symbol[SYMBOLS_TEXT_MAX]; /* the handler as found, e.g. "nt+0x3f2a40" */
    char section[9];               /* its section ("KVASCODE" for KVA-shadow stubs) */
    bool shadow;                   /* in KVASCODE or named ...Shadow: a trampoline */
};

/* The vector 8 handler of cpu: address, IST, symbol and whether it looks like
 * a KVA-shadow trampoline. Never assumes the handler is KiDoubleFaultAbort. */
int symbols_double_fault(const struct kd_target *t, const struct modules *m, uint64_t kern_base,
                         uint16_t cpu, struct symbols_double_fault *out);

#endif
