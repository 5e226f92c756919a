/* sim_images.h: kdsim's module images (mingw-built DLLs embedded by the
 * Makefile) parsed into modules and one flat table of functions and data
 * symbols: entry, .pdata range, unwind info, and the return address of the
 * function's one marked call (what kdsim stores in its callees' frames). */
#ifndef SIM_IMAGES_H
#define SIM_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_pe.h"

/* Written by tests/kdsim/img/embed.sh into $(BUILD)/gen/sim_images_data.c. */
struct sim_images_blob {
    const char *file; /* "ntoskrnl.exe", "FLTMGR.SYS", ... */
    const unsigned char *data;
    size_t size;
};
extern const struct sim_images_blob sim_images_data_blobs[];
extern const size_t sim_images_data_count;

struct sim_module {
    char name[16]; /* debugger module name: "nt", "hal", "FLTMGR", ... */
    char file[32]; /* BaseDllName */
    char path[96]; /* FullDllName */
    struct sim_pe pe;
    uint64_t base; /* DllBase = the image's own ImageBase */
    uint32_t size;
};

struct sim_fn {
    uint16_t module;
    const char *name; /* points into the module's mapped .simfn section */
    uint64_t addr;
    uint32_t rva, end;         /* .pdata range; a leaf without .pdata has end == rva */
    uint32_t unwind;           /* UNWIND_INFO rva, 0 for a leaf */
    uint64_t callsite;         /* address right after its marked call, 0 if none */
    struct sim_pe_unwind full; /* unwind info once the prolog has run */
    bool exported;
    bool data; /* a data symbol (outside .text) */
};

struct sim_images {
    struct sim_module *mods;
    size_t nmods;
    struct sim_fn *fns;
    size_t nfns;
};

/* Parses every embedded image: KD_OK, or KD_ERR_FORMAT when an image breaks
 * what kdsim relies on (a marked call that is not `call [rip+x]`, ...). */
int sim_images_init(struct sim_images *im);
void sim_images_fini(struct sim_images *im);

/* Index of function/data `name` in module `module` ("nt", "FLTMGR", ...). */
int sim_images_find(const struct sim_images *im, const char *module, const char *name,
                    uint32_t *fn);

/* Address of a symbol, 0 when unknown. */
uint64_t sim_images_addr(const struct sim_images *im, const char *module, const char *name);

/* Module holding addr, or NULL. */
const struct sim_module *sim_images_module_at(const struct sim_images *im, uint64_t addr);

/* Function (not data) whose range holds addr, or NULL. */
const struct sim_fn *sim_images_fn_at(const struct sim_images *im, uint64_t addr);

/* Unwind state of function fn at rip (a leaf gives size 0). */
int sim_images_unwind_at(const struct sim_images *im, uint32_t fn, uint64_t rip,
                         struct sim_pe_unwind *out);

#endif
