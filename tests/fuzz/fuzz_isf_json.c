/* fuzz_isf_json.c: the ISF JSON reader on arbitrary bytes, through both its
 * entry points (the raw query API and offsets_from_isf). */
#include <stddef.h>
#include <stdint.h>

#include "isf_json.h"
#include "offsets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct isf_json_query q[] = {
        {"_EPROCESS", "ActiveProcessLinks", 0, false},
        {"_EPROCESS", NULL, 0, false},
        {"_ETHREAD", "Cid", 0, false},
    };
    isf_json_extract((const char *)data, size, q, sizeof q / sizeof q[0]);
    struct offsets o;
    offsets_init(&o, 19041);
    offsets_from_isf(&o, (const char *)data, size);
    return 0;
}
