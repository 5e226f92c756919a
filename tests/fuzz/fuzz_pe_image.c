/* fuzz_pe_image.c: a module image read from target memory is input too. The
 * fuzz bytes are the memory of an image loaded at a kernel address (served
 * through a minimal kd_target); headers, exports and .pdata are parsed and
 * looked up as symbolization does. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kd_status.h"
#include "kd_target.h"
#include "kdbg.h"
#include "pe_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BASE 0xFFFFF80000000000ull

struct fuzz_mem {
    const uint8_t *data;
    size_t size;
};

static int fuzz_read(void *ctx, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got)
{
    const struct fuzz_mem *m = ctx;
    *got = 0;
    if (len > 3944 || addr < FUZZ_BASE || addr - FUZZ_BASE >= m->size)
        return KD_ERR_TARGET;
    size_t off = (size_t)(addr - FUZZ_BASE), n = m->size - off < len ? m->size - off : len;
    memcpy(buf, m->data + off, n);
    *got = (uint32_t)n;
    return KD_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_mem m = {data, size};
    struct kd_target_ops ops = {.read_virtual = fuzz_read};
    struct kd_target t = {&ops, &m};
    struct pe_image *img;
    struct kdbg k;
    kdbg_decode(data, size, &k); /* the same bytes as a debugger data block */
    if (pe_image_read(&t, FUZZ_BASE, 0, &img) != KD_OK)
        return 0;
    const struct pe_export *e;
    struct pe_runtime_function f;
    bool ind;
    pe_image_load_exports(&t, img);
    pe_image_load_pdata(&t, img);
    pe_image_export_by_name(img, "KeBugCheckEx", &e);
    for (uint32_t rva = 0; rva < 0x3000; rva += 0x101) {
        pe_image_export_below(img, rva, &e);
        pe_image_pdata_lookup(&t, img, rva, &f, &ind);
        pe_image_section(img, rva);
    }
    pe_image_free(img);
    return 0;
}
