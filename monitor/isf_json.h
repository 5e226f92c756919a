/* isf_json.h: a small bounded reader for Volatility 3 ISF (Intermediate
 * Symbol Format) JSON, the file a user makes from their own kernel PDB. It
 * extracts only user_types.<T>.fields.<F>.offset and user_types.<T>.size;
 * everything else is validated and skipped. The whole document must be
 * well-formed JSON (RFC 8259) or nothing is reported. The caller reads the
 * file (the monitor does no I/O) and passes the bytes. */
#ifndef ISF_JSON_H
#define ISF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISF_JSON_MAX_DEPTH 64
#define ISF_JSON_MAX_LEN (512u << 20) /* the largest kernel ISF files are ~30 MiB */

struct isf_json_query {
    const char *type;  /* "_EPROCESS" */
    const char *field; /* "ActiveProcessLinks", or NULL for the type's "size" */
    int64_t value;     /* set when found */
    bool found;
};

/* Fills each query found in json[len] (first occurrence wins). KD_OK for a
 * well-formed document (queries not present stay found = false);
 * KD_ERR_FORMAT for malformed JSON and KD_ERR_LENGTH past the depth or
 * length caps, both with every query reset to found = false. Values that are
 * not integers (fractions, exponents, out of int64 range) count as absent. */
int isf_json_extract(const char *json, size_t len, struct isf_json_query *q, size_t nq);

#endif
