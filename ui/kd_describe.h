/* kd_describe.h: one KD packet as named fields, so the text line and the
 * JSON object of `decode` (and the replay log) come from one description. */
#ifndef KD_DESCRIBE_H
#define KD_DESCRIBE_H

#include "kd_wire.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define KD_DESC_MAX_FIELDS 24

enum kd_field_kind { KD_FIELD_HEX, KD_FIELD_DEC, KD_FIELD_STR };

struct kd_field {
    const char *key; /* static */
    enum kd_field_kind kind;
    uint64_t num;
    char str[160]; /* KD_FIELD_STR, sanitised printable text */
};

struct kd_description {
    const char *type; /* "STATE_MANIPULATE", "ACK", ... */
    char what[48];    /* API or state change name, "" for control packets */
    bool reply;       /* manipulate: target->host */
    int nfields;
    struct kd_field f[KD_DESC_MAX_FIELDS];
    /* What the decoder's summary counts. */
    int api_index;   /* DbgKd API - 0x3130 when known (0..0x3f), else -1 */
    int state_index; /* 0 exception, 1 load symbols, 2 command string, -1 */
    bool api_unknown, state_unknown, print_string, file_io;
    uint16_t machine; /* from a GetVersion reply, else 0 */
};

/* Describes pkt travelling in the given direction. machine is the target's
 * machine type if known (0x8664 default). Never fails: what cannot be
 * decoded is described as such with its length. */
void kd_describe(const struct kd_packet *pkt, bool host_to_target, uint16_t machine,
                 struct kd_description *d);

/* "ReadVirtualMemory addr=0x... count=0x10 status=STATUS_SUCCESS ..." */
void kd_describe_text(const struct kd_description *d, FILE *out);
/* ,"api":"ReadVirtualMemory","addr":"0x..." (continues an open JSON object) */
void kd_describe_json(const struct kd_description *d, FILE *out);

/* "ReadVirtualMemory" for 0x3130 ...; "Api0xNNNN" beyond the table (static or thread-unsafe buffer
 * not used: returns a static name or "unknown"). */
const char *kd_describe_api_name(uint32_t api);

#endif
