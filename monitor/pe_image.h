/* pe_image.h: a module's PE image read from target memory: headers,
 * sections, data directories, the export table and the exception directory
 * (.pdata), each parsed once and cached in struct pe_image. kd-protocol.md
 * §8.1. Target memory is untrusted input: every count is capped, every RVA is
 * checked against SizeOfImage, every read goes through target_read (chunks of
 * at most 3944 bytes). */
#ifndef PE_IMAGE_H
#define PE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kd_target.h"

#define PE_IMAGE_MAX_SIZE (64u << 20) /* SizeOfImage cap */
#define PE_IMAGE_MAX_EXPORTS 100000u  /* NumberOfFunctions / NumberOfNames cap */
#define PE_IMAGE_MAX_PDATA 1000000u   /* RUNTIME_FUNCTION entries cap */
#define PE_IMAGE_MAX_SECTIONS 96u     /* the Windows loader's own limit */
#define PE_IMAGE_NAME_MAX 256u        /* export name bytes, NUL included */
#define PE_IMAGE_HEADERS_MAX 4096u    /* MZ + NT headers + section table */

#define PE_DIR_EXPORT 0
#define PE_DIR_EXCEPTION 3

struct pe_section {
    char name[9]; /* NUL-terminated, non-printables as '?' */
    uint32_t va, vsize, characteristics;
};

struct pe_dir {
    uint32_t rva, size;
};

struct pe_export {
    const char *name; /* NULL for an export by ordinal only; owned by the image */
    uint32_t rva;
    uint32_t ordinal; /* biased by the directory's Base, as the loader numbers them */
    bool forwarder;   /* rva points at "DLL.Name" text inside the export directory */
};

struct pe_runtime_function {
    uint32_t begin, end, unwind; /* image-relative; end exclusive */
};

struct pe_image {
    uint64_t base;          /* where it is loaded on the target */
    uint32_t size_of_image; /* checked <= PE_IMAGE_MAX_SIZE */
    uint16_t machine;
    bool pe32plus;
    uint64_t image_base; /* OptionalHeader.ImageBase (preferred) */
    uint32_t entry_rva, timestamp, checksum;
    struct pe_section *sections;
    uint16_t nsections;
    struct pe_dir dirs[16];
    uint32_t ndirs; /* min(NumberOfRvaAndSizes, 16) */

    /* Filled by pe_image_load_exports; status cached so a failure is not retried. */
    bool exports_loaded;
    int exports_status;
    struct pe_export *exports; /* sorted by rva, then name */
    size_t nexports;
    size_t *by_name; /* indexes of named exports, sorted by name */
    size_t nnamed;
    char *name_pool;

    /* Filled by pe_image_load_pdata. */
    bool pdata_loaded;
    int pdata_status;
    struct pe_runtime_function *pdata; /* sorted by begin, invalid entries dropped */
    size_t npdata;
    size_t pdata_dropped; /* entries rejected (bad ranges) */
};

/* Reads and parses the headers of the image loaded at base. size_hint is the
 * loader's SizeOfImage (0 = none); when given it must equal the header's.
 * On success *out is a new image (exports and pdata not yet read); on error
 * *out is NULL and the status says why (KD_ERR_FORMAT: not MZ/PE or an
 * inconsistent header, KD_ERR_LENGTH: a size over its cap). */
int pe_image_read(const struct kd_target *t, uint64_t base, uint32_t size_hint,
                  struct pe_image **out);
/* The pure part: parses headers from buf[len] (the image's first bytes). */
int pe_image_parse_headers(const uint8_t *buf, size_t len, uint64_t base, uint32_t size_hint,
                           struct pe_image **out);
void pe_image_free(struct pe_image *img);

/* Section containing rva, or NULL. */
const struct pe_section *pe_image_section(const struct pe_image *img, uint32_t rva);

/* Reads the export table once; later calls return the first call's status.
 * KD_ERR_NOTFOUND when the image has no export directory. */
int pe_image_load_exports(const struct kd_target *t, struct pe_image *img);
/* Exact, case-sensitive name lookup (exports must be loaded). */
int pe_image_export_by_name(const struct pe_image *img, const char *name,
                            const struct pe_export **out);
/* The non-forwarder export with the highest rva <= rva. */
int pe_image_export_below(const struct pe_image *img, uint32_t rva, const struct pe_export **out);

/* Reads the exception directory once (same caching rule). */
int pe_image_load_pdata(const struct kd_target *t, struct pe_image *img);
/* The RUNTIME_FUNCTION covering rva, found by binary search. An entry whose
 * UnwindInfoAddress has bit 0 set is followed once to the entry it names
 * (*indirect = true, may be NULL); a second indirection is KD_ERR_FORMAT.
 * KD_ERR_NOTFOUND when no entry covers rva (a leaf function). */
int pe_image_pdata_lookup(const struct kd_target *t, const struct pe_image *img, uint32_t rva,
                          struct pe_runtime_function *out, bool *indirect);

#endif
