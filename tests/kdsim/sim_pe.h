/* sim_pe.h: kdsim's own small PE32+ reader: maps a DLL file the way the
 * loader lays it out, finds sections, exports and .pdata, and reads x64
 * unwind info. Independent of the monitor's unwinder on purpose: kdsim lays
 * stack frames from what the compiler wrote, the monitor must agree. */
#ifndef SIM_PE_H
#define SIM_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_PE_MAX_SECTIONS 16

struct sim_pe_section {
    char name[9];
    uint32_t rva;
    uint32_t size; /* VirtualSize */
};

struct sim_pe {
    uint64_t image_base;
    uint32_t size_of_image;
    uint32_t entry;     /* AddressOfEntryPoint (RVA) */
    uint32_t checksum;  /* OptionalHeader.CheckSum */
    uint32_t timestamp; /* FileHeader.TimeDateStamp */
    uint8_t *image;     /* size_of_image bytes as mapped (headers + sections) */
    uint32_t export_rva, export_size;
    uint32_t pdata_rva, pdata_size; /* DataDirectory[3] */
    struct sim_pe_section sections[SIM_PE_MAX_SECTIONS];
    unsigned nsections;
};

/* What the unwind info of one function says for a RIP inside it. */
struct sim_pe_unwind {
    uint8_t prolog;     /* SizeOfProlog */
    uint32_t size;      /* pushes + allocations in effect at that RIP */
    uint32_t full_size; /* pushes + allocations once the prolog is done */
    bool machframe;     /* a PUSH_MACHFRAME code is in effect */
    uint8_t mf_errcode; /* its OpInfo: 1 when an error code sits first */
    uint8_t frame_reg;  /* 0 = none */
    uint8_t frame_off;  /* bytes (FrameOffset * 16) */
};

/* One prolog instruction as its unwind code describes it, in execution order. */
struct sim_pe_step {
    uint8_t end;   /* prolog offset right after the instruction (CodeOffset) */
    uint8_t op;    /* UWOP_* (0 push, 1/2 alloc, 3 set frame, 4/5/8/9 save, 10 machine frame) */
    uint32_t size; /* bytes it moves RSP (push 8, alloc n, others 0) */
};

/* Maps a PE32+ AMD64 file: KD_OK, KD_ERR_FORMAT for anything else. *pe owns
 * pe->image afterwards (sim_pe_fini). On failure *pe is zeroed. */
int sim_pe_load(const uint8_t *file, size_t len, struct sim_pe *pe);
void sim_pe_fini(struct sim_pe *pe);

/* RVA and VirtualSize of a section by name: KD_OK or KD_ERR_NOTFOUND. */
int sim_pe_section(const struct sim_pe *pe, const char *name, uint32_t *rva, uint32_t *size);

/* RVA of a named export: KD_OK or KD_ERR_NOTFOUND. */
int sim_pe_export(const struct sim_pe *pe, const char *name, uint32_t *rva);

/* Number of RUNTIME_FUNCTION entries and entry i. */
size_t sim_pe_pdata_count(const struct sim_pe *pe);
int sim_pe_pdata_entry(const struct sim_pe *pe, size_t i, uint32_t *begin, uint32_t *end,
                       uint32_t *unwind);

/* The RUNTIME_FUNCTION covering rva (binary search): KD_OK or KD_ERR_NOTFOUND. */
int sim_pe_lookup(const struct sim_pe *pe, uint32_t rva, uint32_t *begin, uint32_t *end,
                  uint32_t *unwind);

/* Reads the UNWIND_INFO at unwind_rva (following CHAININFO) for a RIP at
 * rip_off bytes into the function. KD_ERR_FORMAT on bad codes or bounds. */
int sim_pe_unwind_at(const struct sim_pe *pe, uint32_t unwind_rva, uint32_t rip_off,
                     struct sim_pe_unwind *out);

/* The prolog steps of the primary UNWIND_INFO, first instruction first
 * (UWOP_EPILOG codes skipped). *n = steps written. */
int sim_pe_prolog(const struct sim_pe *pe, uint32_t unwind_rva, struct sim_pe_step *steps,
                  size_t cap, size_t *n);

#endif
