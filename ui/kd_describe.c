/* kd_describe.c: what a KD packet says, as named fields. Decoding goes
 * through kd_api; anything it cannot decode is described, never an error. */
#include "kd_describe.h"
#include "kd_api.h"
#include "kd_status.h"
#include "out_json.h"

#include <stdio.h>
#include <string.h>

static struct kd_field *add(struct kd_description *d, const char *key, enum kd_field_kind kind,
                            uint64_t num)
{
    if (d->nfields >= KD_DESC_MAX_FIELDS)
        return NULL;
    struct kd_field *f = &d->f[d->nfields++];
    f->key = key;
    f->kind = kind;
    f->num = num;
    f->str[0] = 0;
    return f;
}
static void hex(struct kd_description *d, const char *key, uint64_t v)
{
    add(d, key, KD_FIELD_HEX, v);
}
static void dec(struct kd_description *d, const char *key, uint64_t v)
{
    add(d, key, KD_FIELD_DEC, v);
}

/* Printable copy of n bytes: controls become \n-style escapes or '.'. */
static void str(struct kd_description *d, const char *key, const char *s, size_t n)
{
    struct kd_field *f = add(d, key, KD_FIELD_STR, 0);
    if (!f)
        return;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < sizeof f->str; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            f->str[o++] = '\\';
            f->str[o++] = 'n';
        } else {
            f->str[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
        }
    }
    f->str[o] = 0;
}

static void status(struct kd_description *d, uint32_t st)
{
    const char *name = kd_api_status_name(st);
    if (name)
        str(d, "status", name, strlen(name));
    else
        hex(d, "status", st);
}

const char *kd_describe_api_name(uint32_t api)
{
    const char *n = kd_api_name(api);
    return n ? n : "unknown";
}

static void describe_version(struct kd_description *d, const struct kd_version *v)
{
    hex(d, "major", v->major);
    dec(d, "build", v->minor);
    dec(d, "protocol", v->protocol);
    dec(d, "secondary", v->secondary);
    hex(d, "flags", v->flags);
    const char *m = kd_api_machine_name(v->machine);
    if (m)
        str(d, "machine", m, strlen(m));
    else
        hex(d, "machine", v->machine);
    dec(d, "max_packet_type", v->max_packet_type);
    hex(d, "max_state_change", v->max_state_change);
    hex(d, "max_manipulate", v->max_manipulate);
    hex(d, "kern_base", v->kern_base);
    hex(d, "ps_loaded_module_list", v->ps_loaded_module_list);
    hex(d, "debugger_data_list", v->debugger_data_list);
    d->machine = v->machine;
}

static void describe_manip(struct kd_description *d, const uint8_t *p, size_t n, bool h2t)
{
    struct kd_manip m;
    if (kd_api_manip_decode(p, n, &m) != KD_OK) {
        snprintf(d->what, sizeof d->what, "(short manipulate)");
        dec(d, "bytes", n);
        d->api_unknown = true;
        return;
    }
    d->reply = !h2t;
    const char *name = kd_api_name(m.api);
    if (!m.known || !name) {
        snprintf(d->what, sizeof d->what, "Api0x%04x", m.api);
        d->api_unknown = true;
        dec(d, "data", m.data_len);
        return;
    }
    snprintf(d->what, sizeof d->what, "%s%s", name, d->reply ? " reply" : "");
    if (m.api >= DbgKdMinimumManipulate && m.api < DbgKdMinimumManipulate + 0x40)
        d->api_index = (int)(m.api - DbgKdMinimumManipulate);
    dec(d, "cpu", m.processor);
    if (d->reply)
        status(d, m.return_status);
    switch (m.api) {
    case DbgKdReadVirtualMemoryApi:
    case DbgKdWriteVirtualMemoryApi:
    case DbgKdReadPhysicalMemoryApi:
    case DbgKdWritePhysicalMemoryApi:
    case DbgKdReadControlSpaceApi:
    case DbgKdWriteControlSpaceApi:
        hex(d, "addr", m.u.memory.address);
        hex(d, "count", m.u.memory.count);
        if (d->reply)
            hex(d, "actual", m.u.memory.actual);
        break;
    case DbgKdGetContextExApi:
    case DbgKdSetContextExApi:
        hex(d, "offset", m.u.context_ex.offset);
        hex(d, "count", m.u.context_ex.count);
        if (d->reply)
            hex(d, "copied", m.u.context_ex.copied);
        break;
    case DbgKdWriteBreakPointApi:
        hex(d, "addr", m.u.write_bp.address);
        if (d->reply)
            dec(d, "handle", m.u.write_bp.handle);
        break;
    case DbgKdRestoreBreakPointApi: dec(d, "handle", m.u.restore_bp.handle); break;
    case DbgKdContinueApi: hex(d, "continue", m.u.cont.status); break;
    case DbgKdContinueApi2:
        hex(d, "continue", m.u.cont2.status);
        dec(d, "trace", m.u.cont2.set.trace_flag);
        hex(d, "dr7", m.u.cont2.set.dr7);
        hex(d, "symbol_start", m.u.cont2.set.symbol_start);
        hex(d, "symbol_end", m.u.cont2.set.symbol_end);
        break;
    case DbgKdGetVersionApi:
        if (d->reply)
            describe_version(d, &m.u.version);
        break;
    case DbgKdReadMachineSpecificRegister:
    case DbgKdWriteMachineSpecificRegister: hex(d, "msr", m.u.msr.msr); break;
    default: break;
    }
    if (m.data_len)
        dec(d, "data", m.data_len);
}

static void describe_state(struct kd_description *d, const uint8_t *p, size_t n, uint16_t machine)
{
    struct kd_state_change sc;
    if (kd_api_state_decode(p, n, &sc) != KD_OK) {
        snprintf(d->what, sizeof d->what, "(short state change)");
        dec(d, "bytes", n);
        d->state_unknown = true;
        return;
    }
    const char *name = kd_api_state_name(sc.new_state);
    uint32_t base = sc.new_state & ~DbgKdAlternateStateChange;
    if (!sc.known || !name) {
        snprintf(d->what, sizeof d->what, "State0x%04x", sc.new_state);
        d->state_unknown = true;
    } else {
        snprintf(d->what, sizeof d->what, "%s", name);
        d->state_index = (int)(base - DbgKdExceptionStateChange);
    }
    dec(d, "cpu", sc.processor);
    dec(d, "cpus", sc.number_processors);
    hex(d, "thread", sc.thread);
    hex(d, "pc", sc.program_counter);
    if (!sc.known)
        return;
    if (base == DbgKdExceptionStateChange) {
        const char *cn = kd_api_status_name(sc.u.exception.code);
        if (cn)
            str(d, "code", cn, strlen(cn));
        else
            hex(d, "code", sc.u.exception.code);
        hex(d, "address", sc.u.exception.address);
        dec(d, "first_chance", sc.u.exception.first_chance);
        for (uint32_t i = 0; i < sc.u.exception.nparams && i < 4; i++) {
            static const char *const keys[] = {"p1", "p2", "p3", "p4"};
            hex(d, keys[i], sc.u.exception.info[i]);
        }
    } else if (base == DbgKdLoadSymbolsStateChange) {
        if (sc.u.load.unload)
            dec(d, "unload", 1);
        if (sc.u.load.path[0])
            str(d, "image", sc.u.load.path, strlen(sc.u.load.path));
        hex(d, "base", sc.u.load.base);
        hex(d, "size", sc.u.load.size);
        hex(d, "checksum", sc.u.load.checksum);
    } else if (base == DbgKdCommandStringStateChange) {
        str(d, "name", sc.u.command.name, strlen(sc.u.command.name));
        str(d, "command", sc.u.command.command, strlen(sc.u.command.command));
    }
    (void)machine;
}

static void describe_debug_io(struct kd_description *d, const uint8_t *p, size_t n)
{
    struct kd_debug_io io;
    if (kd_api_io_debug_decode(p, n, &io) != KD_OK) {
        snprintf(d->what, sizeof d->what, "(short debug I/O)");
        return;
    }
    const char *name = kd_api_name(io.api);
    snprintf(d->what, sizeof d->what, "%s", name ? name : "Api?");
    if (io.api == DbgKdPrintStringApi)
        d->print_string = true;
    dec(d, "cpu", io.processor);
    str(d, "text", (const char *)io.data, io.text_len);
}

static void describe_file_io(struct kd_description *d, const uint8_t *p, size_t n, bool h2t)
{
    struct kd_file_io f;
    d->file_io = true;
    if (kd_api_io_file_decode(p, n, &f) != KD_OK) {
        snprintf(d->what, sizeof d->what, "(short file I/O)");
        return;
    }
    const char *name = kd_api_name(f.api);
    d->reply = h2t; /* the host answers the target's file requests */
    snprintf(d->what, sizeof d->what, "%s%s", name ? name : "Api?", h2t ? " reply" : "");
    if (h2t)
        status(d, f.status);
    if (f.api == DbgKdCreateFileApi && f.path[0])
        str(d, "path", f.path, strlen(f.path));
    else if (f.api == DbgKdReadFileApi || f.api == DbgKdWriteFileApi) {
        hex(d, "handle", f.u.rw.handle);
        hex(d, "offset", f.u.rw.offset);
        hex(d, "length", f.u.rw.length);
    }
}

void kd_describe(const struct kd_packet *pkt, bool host_to_target, uint16_t machine,
                 struct kd_description *d)
{
    memset(d, 0, sizeof *d);
    d->api_index = -1;
    d->state_index = -1;
    if (pkt->leader == 0) {
        d->type = "CONNCHECK";
        char ip[32];
        /* The target puts the host's IPv4 address there as a LE u32 of the
         * address bytes read big-endian: 192.168.2.1 arrives as 0xc0a80201. */
        snprintf(ip, sizeof ip, "%u.%u.%u.%u", pkt->id >> 24, (pkt->id >> 16) & 0xff,
                 (pkt->id >> 8) & 0xff, pkt->id & 0xff);
        str(d, "host", ip, strlen(ip));
        return;
    }
    d->type = kd_wire_type_name(pkt->type);
    if (pkt->leader == KD_LEADER_CONTROL)
        return;
    const uint8_t *p = pkt->payload;
    size_t n = pkt->count;
    switch (pkt->type) {
    case KD_PACKET_TYPE_KD_STATE_MANIPULATE: describe_manip(d, p, n, host_to_target); break;
    case KD_PACKET_TYPE_KD_STATE_CHANGE64: describe_state(d, p, n, machine); break;
    case KD_PACKET_TYPE_KD_DEBUG_IO: describe_debug_io(d, p, n); break;
    case KD_PACKET_TYPE_KD_FILE_IO: describe_file_io(d, p, n, host_to_target); break;
    default: dec(d, "bytes", n);
    }
}

void kd_describe_text(const struct kd_description *d, FILE *out)
{
    if (d->what[0])
        fputs(d->what, out);
    for (int i = 0; i < d->nfields; i++) {
        const struct kd_field *f = &d->f[i];
        const char *sep = (i > 0 || d->what[0]) ? " " : "";
        switch (f->kind) {
        case KD_FIELD_HEX:
            fprintf(out, "%s%s=0x%llx", sep, f->key, (unsigned long long)f->num);
            break;
        case KD_FIELD_DEC:
            fprintf(out, "%s%s=%llu", sep, f->key, (unsigned long long)f->num);
            break;
        case KD_FIELD_STR:
            if (!strcmp(f->key, "text") || !strcmp(f->key, "path") || !strcmp(f->key, "image"))
                fprintf(out, "%s%s=\"%s\"", sep, f->key, f->str);
            else
                fprintf(out, "%s%s=%s", sep, f->key, f->str);
            break;
        }
    }
}

void kd_describe_json(const struct kd_description *d, FILE *out)
{
    if (d->what[0]) {
        fputs(",\"what\":", out);
        out_json_string(out, d->what);
    }
    for (int i = 0; i < d->nfields; i++) {
        const struct kd_field *f = &d->f[i];
        fprintf(out, ",\"%s\":", f->key);
        switch (f->kind) {
        case KD_FIELD_HEX: fprintf(out, "\"0x%llx\"", (unsigned long long)f->num); break;
        case KD_FIELD_DEC: fprintf(out, "%llu", (unsigned long long)f->num); break;
        case KD_FIELD_STR: out_json_string(out, f->str); break;
        }
    }
}
