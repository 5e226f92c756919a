/* kd_api_manip.c: DBGKD_MANIPULATE_STATE64, the request/reply of every
 * debugger command. The per-API union layouts are tables, so decode and
 * encode walk the same description and cannot disagree. */
#include "kd_api.h"

#include <string.h>

#include "kd_le.h"
#include "kd_status.h"

_Static_assert(KD_API_MANIP_SIZE == 0x38, "DBGKD_MANIPULATE_STATE64 is 0x38 bytes");
_Static_assert(KD_API_MANIP_SIZE == 0x10 + KD_API_MANIP_UNION_SIZE, "union at 0x10");
_Static_assert(sizeof(((struct kd_manip *)0)->raw) == KD_API_MANIP_UNION_SIZE, "raw union");

/* One field of a union layout: its place in struct kd_manip, its absolute
 * offset in the 0x38-byte header, and its width (taken from the member, so a
 * table row cannot disagree with the struct). */
struct field {
    uint16_t member;
    uint8_t wire;
    uint8_t width;
};

#define F(m, off)                                                                                  \
    {                                                                                              \
        offsetof(struct kd_manip, u.m), (off), sizeof(((struct kd_manip *)0)->u.m)                 \
    }

static const struct field memory_fields[] = {F(memory.address, 0x10), F(memory.count, 0x18),
                                             F(memory.actual, 0x1C)};
static const struct field context_fields[] = {F(context.flags, 0x10)};
static const struct field context_ex_fields[] = {
    F(context_ex.offset, 0x10), F(context_ex.count, 0x14), F(context_ex.copied, 0x18)};
static const struct field write_bp_fields[] = {F(write_bp.address, 0x10), F(write_bp.handle, 0x18)};
static const struct field restore_bp_fields[] = {F(restore_bp.handle, 0x10)};
static const struct field cont_fields[] = {F(cont.status, 0x10)};
/* AMD64_DBGKD_CONTROL_SET sits at 0x14 under pack(4), so Dr7 is at 0x18. */
static const struct field cont2_fields[] = {F(cont2.status, 0x10), F(cont2.set.trace_flag, 0x14),
                                            F(cont2.set.dr7, 0x18), F(cont2.set.symbol_start, 0x20),
                                            F(cont2.set.symbol_end, 0x28)};
static const struct field io_fields[] = {F(io.address, 0x10), F(io.size, 0x18), F(io.value, 0x1C)};
static const struct field io_ex_fields[] = {F(io_ex.size, 0x10),    F(io_ex.interface_type, 0x14),
                                            F(io_ex.bus, 0x18),     F(io_ex.address_space, 0x1C),
                                            F(io_ex.address, 0x20), F(io_ex.value, 0x28)};
static const struct field msr_fields[] = {F(msr.msr, 0x10), F(msr.low, 0x14), F(msr.high, 0x18)};
static const struct field query_memory_fields[] = {
    F(query_memory.address, 0x10), F(query_memory.reserved, 0x18),
    F(query_memory.address_space, 0x20), F(query_memory.flags, 0x24)};
static const struct field search_memory_fields[] = {F(search_memory.address, 0x10),
                                                    F(search_memory.length, 0x18),
                                                    F(search_memory.pattern_length, 0x20)};
static const struct field fill_memory_fields[] = {
    F(fill_memory.address, 0x10), F(fill_memory.length, 0x18), F(fill_memory.flags, 0x1C),
    F(fill_memory.pattern_length, 0x1E)};
static const struct field bus_data_fields[] = {F(bus_data.type, 0x10), F(bus_data.bus, 0x14),
                                               F(bus_data.slot, 0x18), F(bus_data.offset, 0x1C),
                                               F(bus_data.length, 0x20)};
static const struct field internal_bp_fields[] = {F(internal_bp.address, 0x10),
                                                  F(internal_bp.flags, 0x18),
                                                  F(internal_bp.calls, 0x1C),
                                                  F(internal_bp.max_calls_per_period, 0x20),
                                                  F(internal_bp.min_instructions, 0x24),
                                                  F(internal_bp.max_instructions, 0x28),
                                                  F(internal_bp.total_instructions, 0x2C)};
static const struct field bp_ex_fields[] = {F(bp_ex.count, 0x10), F(bp_ex.status, 0x14)};
static const struct field query_special_fields[] = {F(query_special.count, 0x10)};
static const struct field set_special_fields[] = {F(set_special.address, 0x10)};
static const struct field partition_fields[] = {F(partition.partition, 0x10)};
static const struct field custom_bp_fields[] = {
    F(custom_bp.address, 0x10), F(custom_bp.instruction, 0x18), F(custom_bp.handle, 0x20),
    F(custom_bp.size, 0x24), F(custom_bp.alignment, 0x25)};

struct layout {
    const struct field *f;
    size_t n;
};

#define LAYOUT(t) ((struct layout){(t), sizeof(t) / sizeof((t)[0])})

/* The union layout of api; false for numbers that are not DbgKd*Api. Known
 * APIs without union fields (Reboot, SwitchProcessor, ...) get n = 0;
 * GetVersion's union is the kd_version block, handled by its own codec. */
static bool layout_for(uint32_t api, struct layout *l)
{
    *l = (struct layout){NULL, 0};
    switch (api) {
    case DbgKdReadVirtualMemoryApi:
    case DbgKdWriteVirtualMemoryApi:
    case DbgKdReadControlSpaceApi:
    case DbgKdWriteControlSpaceApi:
    case DbgKdReadPhysicalMemoryApi:
    case DbgKdWritePhysicalMemoryApi: *l = LAYOUT(memory_fields); return true;
    case DbgKdGetContextApi:
    case DbgKdSetContextApi: *l = LAYOUT(context_fields); return true;
    case DbgKdGetContextExApi:
    case DbgKdSetContextExApi: *l = LAYOUT(context_ex_fields); return true;
    case DbgKdWriteBreakPointApi: *l = LAYOUT(write_bp_fields); return true;
    case DbgKdRestoreBreakPointApi: *l = LAYOUT(restore_bp_fields); return true;
    case DbgKdContinueApi: *l = LAYOUT(cont_fields); return true;
    case DbgKdContinueApi2: *l = LAYOUT(cont2_fields); return true;
    case DbgKdReadIoSpaceApi:
    case DbgKdWriteIoSpaceApi: *l = LAYOUT(io_fields); return true;
    case DbgKdReadIoSpaceExtendedApi:
    case DbgKdWriteIoSpaceExtendedApi: *l = LAYOUT(io_ex_fields); return true;
    case DbgKdReadMachineSpecificRegister:
    case DbgKdWriteMachineSpecificRegister: *l = LAYOUT(msr_fields); return true;
    case DbgKdQueryMemoryApi: *l = LAYOUT(query_memory_fields); return true;
    case DbgKdSearchMemoryApi: *l = LAYOUT(search_memory_fields); return true;
    case DbgKdFillMemoryApi: *l = LAYOUT(fill_memory_fields); return true;
    case DbgKdGetBusDataApi:
    case DbgKdSetBusDataApi: *l = LAYOUT(bus_data_fields); return true;
    case DbgKdSetInternalBreakPointApi:
    case DbgKdGetInternalBreakPointApi: *l = LAYOUT(internal_bp_fields); return true;
    case DbgKdWriteBreakPointExApi:
    case DbgKdRestoreBreakPointExApi: *l = LAYOUT(bp_ex_fields); return true;
    case DbgKdQuerySpecialCallsApi: *l = LAYOUT(query_special_fields); return true;
    case DbgKdSetSpecialCallApi: *l = LAYOUT(set_special_fields); return true;
    case DbgKdSwitchPartition: *l = LAYOUT(partition_fields); return true;
    case DbgKdWriteCustomBreakpointApi: *l = LAYOUT(custom_bp_fields); return true;
    case DbgKdGetVersionApi:
    case DbgKdRebootApi:
    case DbgKdClearSpecialCallsApi:
    case DbgKdCauseBugCheckApi:
    case DbgKdSwitchProcessor:
    case DbgKdPageInApi:
    case OldVlm1:
    case OldVlm2:
    case DbgKdCheckLowMemoryApi:
    case DbgKdClearAllInternalBreakpointsApi: return true;
    }
    return false;
}

/* Fills m->known and m->u from m->raw. */
static void load_union(struct kd_manip *m)
{
    struct layout l;
    memset(&m->u, 0, sizeof m->u);
    m->known = layout_for(m->api, &l);
    if (m->api == DbgKdGetVersionApi) {
        kd_api_version_decode(m->raw, sizeof m->raw, &m->u.version);
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        const uint8_t *p = m->raw + (l.f[i].wire - 0x10);
        unsigned char *dst = (unsigned char *)m + l.f[i].member;
        uint8_t v8 = p[0];
        uint16_t v16 = l.f[i].width >= 2 ? kd_le16(p) : 0;
        uint32_t v32 = l.f[i].width >= 4 ? kd_le32(p) : 0;
        uint64_t v64 = l.f[i].width >= 8 ? kd_le64(p) : 0;
        switch (l.f[i].width) {
        case 1: memcpy(dst, &v8, 1); break;
        case 2: memcpy(dst, &v16, 2); break;
        case 4: memcpy(dst, &v32, 4); break;
        case 8: memcpy(dst, &v64, 8); break;
        }
    }
}

/* Writes the raw union and then the known fields over it into u[0x28]. */
static void store_union(const struct kd_manip *m, uint8_t *u)
{
    struct layout l;
    memcpy(u, m->raw, KD_API_MANIP_UNION_SIZE);
    if (!layout_for(m->api, &l))
        return;
    if (m->api == DbgKdGetVersionApi) {
        kd_api_version_encode(&m->u.version, u, KD_API_MANIP_UNION_SIZE);
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        uint8_t *p = u + (l.f[i].wire - 0x10);
        const unsigned char *src = (const unsigned char *)m + l.f[i].member;
        uint16_t v16;
        uint32_t v32;
        uint64_t v64;
        switch (l.f[i].width) {
        case 1: p[0] = src[0]; break;
        case 2:
            memcpy(&v16, src, 2);
            kd_put16(p, v16);
            break;
        case 4:
            memcpy(&v32, src, 4);
            kd_put32(p, v32);
            break;
        case 8:
            memcpy(&v64, src, 8);
            kd_put64(p, v64);
            break;
        }
    }
}

int kd_api_manip_decode(const uint8_t *buf, size_t len, struct kd_manip *m)
{
    if (len < KD_API_MANIP_SIZE)
        return KD_ERR_TRUNCATED;
    if (len > KD_PACKET_MAX)
        return KD_ERR_LENGTH;
    m->api = kd_le32(buf + 0x00);
    m->processor_level = kd_le16(buf + 0x04);
    m->processor = kd_le16(buf + 0x06);
    m->return_status = kd_le32(buf + 0x08);
    m->pad = kd_le32(buf + 0x0C);
    memcpy(m->raw, buf + 0x10, sizeof m->raw);
    load_union(m);
    m->data_len = len - KD_API_MANIP_SIZE;
    m->data = m->data_len ? buf + KD_API_MANIP_SIZE : NULL;
    return KD_OK;
}

int kd_api_manip_encode(const struct kd_manip *m, uint8_t *out, size_t cap, size_t *used)
{
    *used = 0;
    if (m->data_len > KD_API_MANIP_DATA_MAX)
        return KD_ERR_LENGTH;
    if (m->data_len && !m->data)
        return KD_ERR_ARG;
    if (cap < KD_API_MANIP_SIZE + m->data_len)
        return KD_ERR_NOSPACE;
    /* Data first: it may already sit in out (zero-copy callers). */
    if (m->data_len)
        memmove(out + KD_API_MANIP_SIZE, m->data, m->data_len);
    kd_put32(out + 0x00, m->api);
    kd_put16(out + 0x04, m->processor_level);
    kd_put16(out + 0x06, m->processor);
    kd_put32(out + 0x08, m->return_status);
    kd_put32(out + 0x0C, m->pad);
    store_union(m, out + 0x10);
    *used = KD_API_MANIP_SIZE + m->data_len;
    return KD_OK;
}

void kd_api_manip_continue2_x86(const struct kd_manip *m, struct kd_control_set_x86 *set)
{
    /* X86_DBGKD_CONTROL_SET: four u32s at 0x14 (raw offset 4). */
    set->trace_flag = kd_le32(m->raw + 0x04);
    set->dr7 = kd_le32(m->raw + 0x08);
    set->symbol_start = kd_le32(m->raw + 0x0C);
    set->symbol_end = kd_le32(m->raw + 0x10);
}

/* ---- request builders ------------------------------------------------------------ */

void kd_api_manip_init(struct kd_manip *m, uint32_t api, uint16_t processor)
{
    memset(m, 0, sizeof *m);
    m->api = api;
    m->processor = processor;
    m->return_status = STATUS_PENDING;
    m->data = NULL;
    load_union(m);
}

/* The six memory-style APIs share one layout; data only for writes. */
static int req_memory(struct kd_manip *m, uint32_t api, uint16_t cpu, uint64_t addr, uint32_t len,
                      const uint8_t *data, bool write)
{
    if (len > KD_API_MANIP_DATA_MAX)
        return KD_ERR_LENGTH;
    if (write && len && !data)
        return KD_ERR_ARG;
    kd_api_manip_init(m, api, cpu);
    m->u.memory.address = addr;
    m->u.memory.count = len;
    if (write) {
        m->data = len ? data : NULL;
        m->data_len = len;
    }
    return KD_OK;
}

int kd_api_manip_req_read_virtual(struct kd_manip *m, uint64_t addr, uint32_t len)
{
    return req_memory(m, DbgKdReadVirtualMemoryApi, 0, addr, len, NULL, false);
}

int kd_api_manip_req_write_virtual(struct kd_manip *m, uint64_t addr, const uint8_t *data,
                                   uint32_t len)
{
    return req_memory(m, DbgKdWriteVirtualMemoryApi, 0, addr, len, data, true);
}

int kd_api_manip_req_read_physical(struct kd_manip *m, uint64_t addr, uint32_t len,
                                   uint32_t caching)
{
    int rc = req_memory(m, DbgKdReadPhysicalMemoryApi, 0, addr, len, NULL, false);
    if (rc == KD_OK)
        m->u.memory.actual = caching; /* physical requests carry caching here */
    return rc;
}

int kd_api_manip_req_read_control(struct kd_manip *m, uint16_t cpu, uint64_t selector, uint32_t len)
{
    return req_memory(m, DbgKdReadControlSpaceApi, cpu, selector, len, NULL, false);
}

int kd_api_manip_req_write_control(struct kd_manip *m, uint16_t cpu, uint64_t selector,
                                   const uint8_t *data, uint32_t len)
{
    return req_memory(m, DbgKdWriteControlSpaceApi, cpu, selector, len, data, true);
}

void kd_api_manip_req_get_context(struct kd_manip *m, uint16_t cpu)
{
    kd_api_manip_init(m, DbgKdGetContextApi, cpu);
}

int kd_api_manip_req_set_context(struct kd_manip *m, uint16_t cpu, const uint8_t *ctx, uint32_t len)
{
    if (len > KD_API_MANIP_DATA_MAX)
        return KD_ERR_LENGTH;
    if (len && !ctx)
        return KD_ERR_ARG;
    kd_api_manip_init(m, DbgKdSetContextApi, cpu);
    m->data = len ? ctx : NULL;
    m->data_len = len;
    return KD_OK;
}

int kd_api_manip_req_get_context_ex(struct kd_manip *m, uint16_t cpu, uint32_t offset,
                                    uint32_t count)
{
    if (count > KD_API_MANIP_DATA_MAX)
        return KD_ERR_LENGTH;
    kd_api_manip_init(m, DbgKdGetContextExApi, cpu);
    m->u.context_ex.offset = offset;
    m->u.context_ex.count = count;
    return KD_OK;
}

void kd_api_manip_req_write_breakpoint(struct kd_manip *m, uint64_t addr)
{
    kd_api_manip_init(m, DbgKdWriteBreakPointApi, 0);
    m->u.write_bp.address = addr;
}

void kd_api_manip_req_restore_breakpoint(struct kd_manip *m, uint32_t handle)
{
    kd_api_manip_init(m, DbgKdRestoreBreakPointApi, 0);
    m->u.restore_bp.handle = handle;
}

void kd_api_manip_req_continue(struct kd_manip *m, uint32_t status)
{
    kd_api_manip_init(m, DbgKdContinueApi, 0);
    m->u.cont.status = status;
}

void kd_api_manip_req_continue2(struct kd_manip *m, uint32_t status,
                                const struct kd_control_set_amd64 *set)
{
    kd_api_manip_init(m, DbgKdContinueApi2, 0);
    m->u.cont2.status = status;
    m->u.cont2.set = *set;
}

void kd_api_manip_req_continue2_x86(struct kd_manip *m, uint32_t status,
                                    const struct kd_control_set_x86 *set)
{
    kd_api_manip_init(m, DbgKdContinueApi2, 0);
    kd_put32(m->raw + 0x00, status);
    kd_put32(m->raw + 0x04, set->trace_flag);
    kd_put32(m->raw + 0x08, set->dr7);
    kd_put32(m->raw + 0x0C, set->symbol_start);
    kd_put32(m->raw + 0x10, set->symbol_end);
    load_union(m); /* keep the AMD64 view, which encode writes, in step */
}

void kd_api_manip_req_get_version(struct kd_manip *m)
{
    kd_api_manip_init(m, DbgKdGetVersionApi, 0);
}

void kd_api_manip_req_reboot(struct kd_manip *m)
{
    kd_api_manip_init(m, DbgKdRebootApi, 0);
}

void kd_api_manip_req_switch_processor(struct kd_manip *m, uint16_t cpu)
{
    kd_api_manip_init(m, DbgKdSwitchProcessor, cpu);
}

/* ---- reply builders -------------------------------------------------------------- */

void kd_api_manip_reply_init(struct kd_manip *reply, const struct kd_manip *req, uint32_t status)
{
    *reply = *req;
    reply->return_status = status;
    reply->data = NULL;
    reply->data_len = 0;
}

int kd_api_manip_reply_read(struct kd_manip *reply, const struct kd_manip *req, uint32_t status,
                            const uint8_t *data, uint32_t len)
{
    if (len > KD_API_MANIP_DATA_MAX || len > req->u.memory.count)
        return KD_ERR_LENGTH;
    if (len && !data)
        return KD_ERR_ARG;
    kd_api_manip_reply_init(reply, req, status);
    reply->u.memory.actual = len;
    reply->data = len ? data : NULL;
    reply->data_len = len;
    return KD_OK;
}

void kd_api_manip_reply_write(struct kd_manip *reply, const struct kd_manip *req, uint32_t status,
                              uint32_t written)
{
    kd_api_manip_reply_init(reply, req, status);
    reply->u.memory.actual = written;
}

int kd_api_manip_reply_context(struct kd_manip *reply, const struct kd_manip *req, uint32_t status,
                               const uint8_t *ctx, uint32_t len)
{
    bool ex = req->api == DbgKdGetContextExApi;
    if (len > KD_API_MANIP_DATA_MAX || (ex && len > req->u.context_ex.count))
        return KD_ERR_LENGTH;
    if (len && !ctx)
        return KD_ERR_ARG;
    kd_api_manip_reply_init(reply, req, status);
    if (ex)
        reply->u.context_ex.copied = len;
    reply->data = len ? ctx : NULL;
    reply->data_len = len;
    return KD_OK;
}

void kd_api_manip_reply_write_breakpoint(struct kd_manip *reply, const struct kd_manip *req,
                                         uint32_t status, uint32_t handle)
{
    kd_api_manip_reply_init(reply, req, status);
    reply->u.write_bp.handle = handle;
}

void kd_api_manip_reply_version(struct kd_manip *reply, const struct kd_manip *req,
                                const struct kd_version *v)
{
    kd_api_manip_reply_init(reply, req, STATUS_SUCCESS);
    reply->u.version = *v;
}
