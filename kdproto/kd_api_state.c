/* kd_api_state.c: DBGKD_ANY_WAIT_STATE_CHANGE, the target's "I stopped"
 * report: exception, module load, command string, plus the control report
 * (kept raw; read as AMD64 or x86 by the caller, who knows the machine). */
#include "kd_api.h"

#include <string.h>

#include "kd_le.h"
#include "kd_status.h"

_Static_assert(KD_API_STATE_SIZE == 0xF0, "DBGKD_ANY_WAIT_STATE_CHANGE is 0xF0 bytes");
_Static_assert(0x20 + KD_API_STATE_UNION_SIZE + KD_API_STATE_REPORT_SIZE == KD_API_STATE_SIZE,
               "header, union at 0x20, report at 0xC0");
_Static_assert(sizeof(((struct kd_state_change *)0)->raw) == KD_API_STATE_UNION_SIZE, "raw");
_Static_assert(sizeof(((struct kd_state_change *)0)->report) == KD_API_STATE_REPORT_SIZE, "report");
/* FirstChance at 0xB8 ends the exception inside the 0xA0 union. */
_Static_assert(0x40 + 8 * EXCEPTION_MAXIMUM_PARAMETERS == 0xB8, "ExceptionInformation[15]");

#define EXTRA_MAX (KD_PACKET_MAX - KD_API_STATE_SIZE)

/* Copies src[n] up to its first NUL into dst[cap] (always terminated, cut at
 * cap - 1); bytes outside printable ASCII become '?' so names from the wire
 * are safe to print. Returns the bytes consumed, the NUL included. */
static size_t copy_ascii(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    size_t i = 0, o = 0;
    for (; i < n && src[i] != 0; i++)
        if (o + 1 < cap)
            dst[o++] = (src[i] >= 0x20 && src[i] < 0x7F) ? (char)src[i] : '?';
    dst[o] = '\0';
    return i < n ? i + 1 : n;
}

static uint32_t base_state(uint32_t new_state)
{
    return new_state & ~DbgKdAlternateStateChange;
}

/* Fills sc->known and sc->u from sc->raw and sc->extra (offsets below are
 * relative to the union at 0x20). */
static void load_union(struct kd_state_change *sc)
{
    const uint8_t *u = sc->raw;
    memset(&sc->u, 0, sizeof sc->u);
    sc->known = true;
    switch (base_state(sc->new_state)) {
    case DbgKdExceptionStateChange:
        sc->u.exception.code = kd_le32(u + 0x00);
        sc->u.exception.flags = kd_le32(u + 0x04);
        sc->u.exception.record = kd_le64(u + 0x08);
        sc->u.exception.address = kd_le64(u + 0x10);
        sc->u.exception.number_parameters = kd_le32(u + 0x18);
        sc->u.exception.nparams = sc->u.exception.number_parameters;
        if (sc->u.exception.nparams > EXCEPTION_MAXIMUM_PARAMETERS)
            sc->u.exception.nparams = EXCEPTION_MAXIMUM_PARAMETERS;
        for (int i = 0; i < EXCEPTION_MAXIMUM_PARAMETERS; i++)
            sc->u.exception.info[i] = kd_le64(u + 0x20 + 8 * i);
        sc->u.exception.first_chance = kd_le32(u + 0x98);
        break;
    case DbgKdLoadSymbolsStateChange: {
        size_t n = sc->extra_len;
        sc->u.load.path_length = kd_le32(u + 0x00);
        sc->u.load.base = kd_le64(u + 0x08);
        sc->u.load.process_id = kd_le64(u + 0x10);
        sc->u.load.checksum = kd_le32(u + 0x18);
        sc->u.load.size = kd_le32(u + 0x1C);
        sc->u.load.unload = u[0x20];
        if (n > sc->u.load.path_length)
            n = sc->u.load.path_length;
        copy_ascii(sc->u.load.path, sizeof sc->u.load.path, sc->extra, n);
        break;
    }
    case DbgKdCommandStringStateChange: {
        size_t used = 0;
        sc->u.command.flags = kd_le32(u + 0x00);
        sc->u.command.reserved1 = kd_le32(u + 0x04);
        for (int i = 0; i < 7; i++)
            sc->u.command.reserved2[i] = kd_le64(u + 0x08 + 8 * i);
        used = copy_ascii(sc->u.command.name, sizeof sc->u.command.name, sc->extra, sc->extra_len);
        if (used < sc->extra_len)
            copy_ascii(sc->u.command.command, sizeof sc->u.command.command, sc->extra + used,
                       sc->extra_len - used);
        break;
    }
    default: sc->known = false; break;
    }
}

/* Raw union, then the fields of the known layout over it, into u[0xA0]. */
static void store_union(const struct kd_state_change *sc, uint8_t *u)
{
    memcpy(u, sc->raw, KD_API_STATE_UNION_SIZE);
    switch (base_state(sc->new_state)) {
    case DbgKdExceptionStateChange:
        kd_put32(u + 0x00, sc->u.exception.code);
        kd_put32(u + 0x04, sc->u.exception.flags);
        kd_put64(u + 0x08, sc->u.exception.record);
        kd_put64(u + 0x10, sc->u.exception.address);
        kd_put32(u + 0x18, sc->u.exception.number_parameters);
        for (int i = 0; i < EXCEPTION_MAXIMUM_PARAMETERS; i++)
            kd_put64(u + 0x20 + 8 * i, sc->u.exception.info[i]);
        kd_put32(u + 0x98, sc->u.exception.first_chance);
        break;
    case DbgKdLoadSymbolsStateChange:
        kd_put32(u + 0x00, sc->u.load.path_length);
        kd_put64(u + 0x08, sc->u.load.base);
        kd_put64(u + 0x10, sc->u.load.process_id);
        kd_put32(u + 0x18, sc->u.load.checksum);
        kd_put32(u + 0x1C, sc->u.load.size);
        u[0x20] = sc->u.load.unload;
        break;
    case DbgKdCommandStringStateChange:
        kd_put32(u + 0x00, sc->u.command.flags);
        kd_put32(u + 0x04, sc->u.command.reserved1);
        for (int i = 0; i < 7; i++)
            kd_put64(u + 0x08 + 8 * i, sc->u.command.reserved2[i]);
        break;
    }
}

int kd_api_state_decode(const uint8_t *buf, size_t len, struct kd_state_change *sc)
{
    if (len < KD_API_STATE_SIZE)
        return KD_ERR_TRUNCATED;
    if (len > KD_PACKET_MAX)
        return KD_ERR_LENGTH;
    sc->new_state = kd_le32(buf + 0x00);
    sc->processor_level = kd_le16(buf + 0x04);
    sc->processor = kd_le16(buf + 0x06);
    sc->number_processors = kd_le32(buf + 0x08);
    sc->pad = kd_le32(buf + 0x0C);
    sc->thread = kd_le64(buf + 0x10);
    sc->program_counter = kd_le64(buf + 0x18);
    memcpy(sc->raw, buf + 0x20, sizeof sc->raw);
    memcpy(sc->report, buf + 0xC0, sizeof sc->report);
    sc->extra_len = len - KD_API_STATE_SIZE;
    sc->extra = sc->extra_len ? buf + KD_API_STATE_SIZE : NULL;
    load_union(sc);
    return KD_OK;
}

int kd_api_state_encode(const struct kd_state_change *sc, uint8_t *out, size_t cap, size_t *used)
{
    *used = 0;
    if (sc->extra_len > EXTRA_MAX)
        return KD_ERR_LENGTH;
    if (sc->extra_len && !sc->extra)
        return KD_ERR_ARG;
    if (cap < KD_API_STATE_SIZE + sc->extra_len)
        return KD_ERR_NOSPACE;
    if (sc->extra_len)
        memmove(out + KD_API_STATE_SIZE, sc->extra, sc->extra_len);
    kd_put32(out + 0x00, sc->new_state);
    kd_put16(out + 0x04, sc->processor_level);
    kd_put16(out + 0x06, sc->processor);
    kd_put32(out + 0x08, sc->number_processors);
    kd_put32(out + 0x0C, sc->pad);
    kd_put64(out + 0x10, sc->thread);
    kd_put64(out + 0x18, sc->program_counter);
    store_union(sc, out + 0x20);
    memcpy(out + 0xC0, sc->report, sizeof sc->report);
    *used = KD_API_STATE_SIZE + sc->extra_len;
    return KD_OK;
}

/* ---- control report: offsets relative to 0xC0 ------------------------------------ */

static uint16_t stream_len(uint16_t count)
{
    return count > DBGKD_MAXSTREAM ? DBGKD_MAXSTREAM : count;
}

void kd_api_state_report_amd64(const struct kd_state_change *sc, struct kd_report_amd64 *r)
{
    const uint8_t *p = sc->report;
    r->dr6 = kd_le64(p + 0x00);
    r->dr7 = kd_le64(p + 0x08);
    r->eflags = kd_le32(p + 0x10);
    r->instruction_count = kd_le16(p + 0x14);
    r->report_flags = kd_le16(p + 0x16);
    memcpy(r->instruction_stream, p + 0x18, DBGKD_MAXSTREAM);
    r->seg_cs = kd_le16(p + 0x28);
    r->seg_ds = kd_le16(p + 0x2A);
    r->seg_es = kd_le16(p + 0x2C);
    r->seg_fs = kd_le16(p + 0x2E);
    r->stream_len = stream_len(r->instruction_count);
}

void kd_api_state_report_x86(const struct kd_state_change *sc, struct kd_report_x86 *r)
{
    const uint8_t *p = sc->report;
    r->dr6 = kd_le32(p + 0x00);
    r->dr7 = kd_le32(p + 0x04);
    r->instruction_count = kd_le16(p + 0x08);
    r->report_flags = kd_le16(p + 0x0A);
    memcpy(r->instruction_stream, p + 0x0C, DBGKD_MAXSTREAM);
    r->seg_cs = kd_le16(p + 0x1C);
    r->seg_ds = kd_le16(p + 0x1E);
    r->seg_es = kd_le16(p + 0x20);
    r->seg_fs = kd_le16(p + 0x22);
    r->eflags = kd_le32(p + 0x24);
    r->stream_len = stream_len(r->instruction_count);
}

void kd_api_state_set_report_amd64(struct kd_state_change *sc, const struct kd_report_amd64 *r)
{
    uint8_t *p = sc->report;
    kd_put64(p + 0x00, r->dr6);
    kd_put64(p + 0x08, r->dr7);
    kd_put32(p + 0x10, r->eflags);
    kd_put16(p + 0x14, r->instruction_count);
    kd_put16(p + 0x16, r->report_flags);
    memcpy(p + 0x18, r->instruction_stream, DBGKD_MAXSTREAM);
    kd_put16(p + 0x28, r->seg_cs);
    kd_put16(p + 0x2A, r->seg_ds);
    kd_put16(p + 0x2C, r->seg_es);
    kd_put16(p + 0x2E, r->seg_fs);
}

void kd_api_state_set_report_x86(struct kd_state_change *sc, const struct kd_report_x86 *r)
{
    uint8_t *p = sc->report;
    kd_put32(p + 0x00, r->dr6);
    kd_put32(p + 0x04, r->dr7);
    kd_put16(p + 0x08, r->instruction_count);
    kd_put16(p + 0x0A, r->report_flags);
    memcpy(p + 0x0C, r->instruction_stream, DBGKD_MAXSTREAM);
    kd_put16(p + 0x1C, r->seg_cs);
    kd_put16(p + 0x1E, r->seg_ds);
    kd_put16(p + 0x20, r->seg_es);
    kd_put16(p + 0x22, r->seg_fs);
    kd_put32(p + 0x24, r->eflags);
}

/* ---- target-side builders -------------------------------------------------------- */

void kd_api_state_init(struct kd_state_change *sc, uint32_t new_state, uint16_t processor,
                       uint32_t number_processors, uint64_t thread, uint64_t pc)
{
    memset(sc, 0, sizeof *sc);
    sc->new_state = new_state;
    sc->processor = processor;
    sc->number_processors = number_processors;
    sc->thread = thread;
    sc->program_counter = pc;
    sc->extra = NULL;
    load_union(sc);
}

int kd_api_state_exception(struct kd_state_change *sc, uint32_t code, uint64_t address,
                           bool first_chance, uint32_t nparams, const uint64_t *params)
{
    if (nparams > EXCEPTION_MAXIMUM_PARAMETERS || (nparams && !params))
        return KD_ERR_ARG;
    sc->new_state = DbgKdExceptionStateChange;
    sc->known = true;
    memset(&sc->u, 0, sizeof sc->u);
    sc->u.exception.code = code;
    sc->u.exception.address = address;
    sc->u.exception.first_chance = first_chance;
    sc->u.exception.number_parameters = nparams;
    sc->u.exception.nparams = nparams;
    for (uint32_t i = 0; i < nparams; i++)
        sc->u.exception.info[i] = params[i];
    return KD_OK;
}

int kd_api_state_load_symbols(struct kd_state_change *sc, const char *path, uint64_t base,
                              uint32_t size, uint32_t checksum, bool unload)
{
    size_t n = path ? strlen(path) : 0;
    if (n >= KD_API_STRING_MAX)
        return KD_ERR_LENGTH;
    sc->new_state = DbgKdLoadSymbolsStateChange;
    sc->known = true;
    memset(&sc->u, 0, sizeof sc->u);
    sc->u.load.path_length = path ? (uint32_t)n + 1 : 0;
    sc->u.load.base = base;
    sc->u.load.process_id = UINT64_MAX; /* -1, as the capture's reports carry */
    sc->u.load.checksum = checksum;
    sc->u.load.size = size;
    sc->u.load.unload = unload;
    sc->extra = path ? (const uint8_t *)path : NULL;
    sc->extra_len = sc->u.load.path_length;
    copy_ascii(sc->u.load.path, sizeof sc->u.load.path, sc->extra, sc->extra_len);
    return KD_OK;
}

int kd_api_state_command_string(struct kd_state_change *sc, const char *name, const char *command,
                                uint8_t *buf, size_t cap)
{
    size_t ln = name ? strlen(name) : 0, lc = command ? strlen(command) : 0;
    if (ln >= KD_API_STRING_MAX || lc >= KD_API_STRING_MAX)
        return KD_ERR_LENGTH;
    if (cap < ln + 1 + lc + 1)
        return KD_ERR_NOSPACE;
    if (ln)
        memcpy(buf, name, ln);
    buf[ln] = 0;
    if (lc)
        memcpy(buf + ln + 1, command, lc);
    buf[ln + 1 + lc] = 0;
    sc->new_state = DbgKdCommandStringStateChange;
    sc->extra = buf;
    sc->extra_len = ln + 1 + lc + 1;
    load_union(sc); /* fills the decoded strings exactly as a receiver sees them */
    return KD_OK;
}
