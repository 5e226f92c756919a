/* session.c: host side of KD: requests out, replies and state changes in.
 * One data packet in flight (kd_link); the ACK of a reply is written as soon
 * as the reply is read, so the next request follows it back to back. */
#include "session.h"
#include "kd_framer.h"
#include "kd_le.h"
#include "kd_link.h"
#include "kd_status.h"
#include "kd_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct session {
    struct transport *t;
    struct session_config cfg;
    enum kd_link_flavour flavour;
    struct kd_link link;
    struct kd_framer framer;
    uint8_t rx[TRANSPORT_MESSAGE_MAX];
    uint8_t tx[KD_PACKET_MAX];
    /* The one state change waiting for wait_event (its extra bytes live in sc_buf). */
    bool have_sc;
    struct kd_state_change sc;
    uint8_t sc_buf[KD_PACKET_MAX];
    /* The reply the current request waits for. */
    uint32_t want_api;
    bool waiting, have_reply;
    uint8_t reply_buf[KD_PACKET_MAX];
    size_t reply_len;
    bool stopped;
    /* The stop being handled: a hard-coded int3 must be stepped over before
     * the target continues, or it breaks again at once (WinDbg does the same
     * SetContext(Rip + 1)). */
    bool last_hardcoded_int3;
    bool no_context_ex; /* the target refused GetContextEx once */
    uint16_t last_cpu;
    uint64_t last_pc;
    struct session_stats st;
    char error[256];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(struct session *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    return rc;
}

int session_new(struct transport *t, const struct session_config *cfg, struct session **out)
{
    *out = NULL;
    if (!t)
        return KD_ERR_ARG;
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return KD_ERR_NOMEM;
    s->t = t;
    if (cfg)
        s->cfg = *cfg;
    if (s->cfg.request_timeout_ms <= 0)
        s->cfg.request_timeout_ms = 1000;
    if (s->cfg.retries <= 0)
        s->cfg.retries = 5;
    s->flavour = transport_kind(t) == TRANSPORT_MESSAGES ? KD_LINK_KDNET : KD_LINK_SERIAL;
    kd_link_init(&s->link, KD_LINK_HOST, s->flavour);
    kd_framer_init(&s->framer);
    *out = s;
    return KD_OK;
}

void session_free(struct session *s)
{
    free(s);
}

bool session_stopped(const struct session *s)
{
    return s->stopped;
}
void session_stats(const struct session *s, struct session_stats *out)
{
    *out = s->st;
}
const char *session_error(const struct session *s)
{
    return s->error;
}

static int write_out(struct session *s, const struct kd_link_out *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = transport_write(s->t, o[i].data, o[i].len, s->cfg.request_timeout_ms);
        if (rc != KD_OK)
            return fail(s, rc, "send: %s", transport_error(s->t));
    }
    return KD_OK;
}

static int send_data(struct session *s, uint16_t type, const uint8_t *p, size_t n);

/* What the target asks of a debugger while running: answered at once, or
 * it stalls (a CreateFile left unanswered blocks its boot). */
static void answer_file_io(struct session *s, const uint8_t *p, size_t n)
{
    struct kd_file_io req, rep;
    s->st.file_requests++;
    if (kd_api_io_file_decode(p, n, &req) != KD_OK)
        return;
    kd_api_io_file_reply(&rep, &req, STATUS_NO_SUCH_FILE);
    uint8_t buf[KD_API_FILE_IO_SIZE];
    size_t used;
    if (kd_api_io_file_encode(&rep, buf, sizeof buf, &used) == KD_OK)
        send_data(s, KD_PACKET_TYPE_KD_FILE_IO, buf, used);
}

static void on_debug_io(struct session *s, const uint8_t *p, size_t n)
{
    struct kd_debug_io io;
    if (kd_api_io_debug_decode(p, n, &io) != KD_OK)
        return;
    if (io.api == DbgKdPrintStringApi) {
        s->st.prints++;
        if (s->cfg.on_print)
            s->cfg.on_print(s->cfg.user, (const char *)io.data, io.text_len);
    } else if (io.api == DbgKdGetStringApi) {
        struct kd_debug_io rep;
        uint8_t buf[KD_API_DEBUG_IO_SIZE];
        size_t used;
        if (kd_api_io_get_string_reply(&rep, &io, "", 0) == KD_OK &&
            kd_api_io_debug_encode(&rep, buf, sizeof buf, &used) == KD_OK)
            send_data(s, KD_PACKET_TYPE_KD_DEBUG_IO, buf, used);
    }
}

static void on_data(struct session *s, const struct kd_packet *pkt)
{
    switch (pkt->type) {
    case KD_PACKET_TYPE_KD_STATE_CHANGE64:
        memcpy(s->sc_buf, pkt->payload, pkt->count);
        if (kd_api_state_decode(s->sc_buf, pkt->count, &s->sc) == KD_OK) {
            s->have_sc = true;
            s->stopped = true;
            s->st.state_changes++;
            struct kd_report_amd64 rep;
            kd_api_state_report_amd64(&s->sc, &rep);
            /* The report's instruction stream has the debugger's own
             * breakpoints removed: an int3 there is in the code itself. */
            s->last_hardcoded_int3 =
                (s->sc.new_state & ~DbgKdAlternateStateChange) == DbgKdExceptionStateChange &&
                s->sc.u.exception.code == STATUS_BREAKPOINT && rep.stream_len >= 1 &&
                rep.instruction_stream[0] == 0xCC;
            s->last_cpu = s->sc.processor;
            s->last_pc = s->sc.program_counter;
        } else {
            s->st.bad_packets++;
        }
        break;
    case KD_PACKET_TYPE_KD_STATE_MANIPULATE:
        if (s->waiting && pkt->count >= 4 && kd_le32(pkt->payload) == s->want_api) {
            memcpy(s->reply_buf, pkt->payload, pkt->count);
            s->reply_len = pkt->count;
            s->have_reply = true;
            s->st.replies++;
        }
        break;
    case KD_PACKET_TYPE_KD_DEBUG_IO: on_debug_io(s, pkt->payload, pkt->count); break;
    case KD_PACKET_TYPE_KD_FILE_IO: answer_file_io(s, pkt->payload, pkt->count); break;
    default: break;
    }
}

static int on_packet(struct session *s, const struct kd_packet *pkt)
{
    struct kd_link_result res;
    int rc = kd_link_receive(&s->link, pkt, &res);
    if (rc != KD_OK)
        return rc;
    rc = write_out(s, res.out, res.nout);
    if (res.event == KD_LINK_EV_RESEND)
        s->st.resends_received++;
    if (res.event == KD_LINK_EV_RESET)
        s->st.resets_received++;
    if (res.event == KD_LINK_EV_DUPLICATE)
        s->st.duplicates++;
    if (res.event == KD_LINK_EV_DATA)
        on_data(s, pkt);
    return rc;
}

/* Reads once (waiting at most timeout_ms) and handles every packet in it. */
static int pump(struct session *s, int timeout_ms)
{
    size_t got = 0;
    int rc = transport_read(s->t, s->rx, sizeof s->rx, timeout_ms < 0 ? 0 : timeout_ms, &got);
    if (rc != KD_OK)
        return rc;
    if (s->flavour == KD_LINK_KDNET) {
        struct kd_packet pkt;
        size_t used;
        if (got == 1 && s->rx[0] == KD_BREAKIN_BYTE)
            return KD_OK;
        if (kd_wire_parse(s->rx, got, false, &pkt, &used) != KD_OK) {
            struct kd_link_out o;
            s->st.bad_packets++;
            if (kd_link_bad_packet(&s->link, &o) == KD_OK)
                write_out(s, &o, 1);
            return KD_OK;
        }
        return on_packet(s, &pkt);
    }
    size_t off = 0;
    while (off < got) {
        size_t used = 0;
        struct kd_framer_event ev;
        int r = kd_framer_next(&s->framer, s->rx + off, got - off, &used, &ev);
        off += used;
        if (r != 1)
            break;
        if (ev.kind == KD_FRAMER_PACKET) {
            rc = on_packet(s, &ev.packet);
            if (rc != KD_OK)
                return rc;
        } else if (ev.kind == KD_FRAMER_ERROR) {
            struct kd_link_out o;
            s->st.bad_packets++;
            if (kd_link_bad_packet(&s->link, &o) == KD_OK)
                write_out(s, &o, 1);
        }
    }
    return KD_OK;
}

/* Waits until our pending data packet is ACKed, retransmitting on silence. */
static int wait_acked(struct session *s)
{
    int tries = 0;
    int64_t deadline = now_ms() + s->cfg.request_timeout_ms;
    while (kd_link_busy(&s->link)) {
        int64_t left = deadline - now_ms();
        int rc = left > 0 ? pump(s, (int)left) : KD_ERR_TIMEOUT;
        if (rc == KD_ERR_TIMEOUT) {
            if (++tries > s->cfg.retries)
                return fail(s, KD_ERR_TIMEOUT, "no acknowledgement from the target after %d tries",
                            tries);
            struct kd_link_out o;
            if (kd_link_timeout(&s->link, &o) == KD_OK) {
                s->st.retransmits++;
                rc = write_out(s, &o, 1);
                if (rc != KD_OK)
                    return rc;
            }
            deadline = now_ms() + s->cfg.request_timeout_ms;
        } else if (rc != KD_OK) {
            return fail(s, rc, "link: %s", transport_error(s->t));
        }
    }
    return KD_OK;
}

static int send_data(struct session *s, uint16_t type, const uint8_t *p, size_t n)
{
    int rc = wait_acked(s);
    if (rc != KD_OK)
        return rc;
    struct kd_link_out o;
    rc = kd_link_send_data(&s->link, type, p, n, &o);
    if (rc != KD_OK)
        return fail(s, rc, "cannot build packet: %s", kd_status_str(rc));
    return write_out(s, &o, 1);
}

/* Sends a manipulate request and waits for its reply (decoded into *reply,
 * whose data points into the session until the next request). */
static int request(struct session *s, const struct kd_manip *req, struct kd_manip *reply)
{
    size_t used;
    if (!s->stopped)
        return fail(s, KD_ERR_STATE, "the target is running");
    int rc = kd_api_manip_encode(req, s->tx, sizeof s->tx, &used);
    if (rc != KD_OK)
        return fail(s, rc, "cannot encode request: %s", kd_status_str(rc));
    s->want_api = req->api;
    s->waiting = true;
    s->have_reply = false;
    s->st.requests++;
    rc = send_data(s, KD_PACKET_TYPE_KD_STATE_MANIPULATE, s->tx, used);
    if (rc == KD_OK)
        rc = wait_acked(s);
    int64_t deadline = now_ms() + s->cfg.request_timeout_ms * (s->cfg.retries + 1);
    while (rc == KD_OK && !s->have_reply) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            rc = fail(s, KD_ERR_TIMEOUT, "no reply to %s", kd_api_name(req->api));
            break;
        }
        rc = pump(s, (int)left);
        if (rc == KD_ERR_TIMEOUT)
            rc = KD_OK;
        else if (rc != KD_OK)
            fail(s, rc, "link: %s", transport_error(s->t));
    }
    s->waiting = false;
    if (rc != KD_OK)
        return rc;
    rc = kd_api_manip_decode(s->reply_buf, s->reply_len, reply);
    if (rc != KD_OK)
        return fail(s, rc, "malformed reply: %s", kd_status_str(rc));
    return KD_OK;
}

static int break_in_bytes(struct session *s)
{
    static const uint8_t b = KD_BREAKIN_BYTE;
    return transport_write(s->t, &b, 1, s->cfg.request_timeout_ms);
}

int session_poll(struct session *s, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    do {
        int64_t left = deadline - now_ms();
        int rc = pump(s, left > 0 ? (int)left : 0);
        if (rc == KD_ERR_TIMEOUT)
            return KD_OK;
        if (rc != KD_OK)
            return fail(s, rc, "link: %s", transport_error(s->t));
    } while (!s->have_sc && now_ms() < deadline);
    return KD_OK;
}

int session_connect(struct session *s, int timeout_ms, struct kd_state_change *sc)
{
    int64_t deadline = now_ms() + timeout_ms;
    int64_t next_kick = 0;
    while (!s->have_sc) {
        int64_t now = now_ms();
        if (now >= deadline)
            return fail(s, KD_ERR_TIMEOUT, "the target did not answer within %d ms", timeout_ms);
        if (now >= next_kick) {
            /* Serial: RESET resynchronises ids, 'b' stops a running target.
             * KDNET: writes fail until the target has shaken hands. */
            struct kd_link_out o;
            if (s->flavour == KD_LINK_SERIAL && kd_link_reset(&s->link, &o) == KD_OK)
                write_out(s, &o, 1);
            int rc = break_in_bytes(s);
            if (rc != KD_OK && rc != KD_ERR_NOKEY && rc != KD_ERR_TIMEOUT)
                return fail(s, rc, "break-in: %s", transport_error(s->t));
            next_kick = now + 1000;
        }
        int64_t left = (next_kick < deadline ? next_kick : deadline) - now_ms();
        int rc = pump(s, left > 0 ? (int)left : 0);
        if (rc != KD_OK && rc != KD_ERR_TIMEOUT)
            return fail(s, rc, "link: %s", transport_error(s->t));
    }
    if (sc)
        *sc = s->sc;
    s->have_sc = false; /* delivered here, not again by wait_event */
    return KD_OK;
}

/* ---- the target operations ------------------------------------------------------ */

static int op_get_version(void *ctx, struct kd_version *v)
{
    struct session *s = ctx;
    struct kd_manip req, rep;
    kd_api_manip_req_get_version(&req);
    int rc = request(s, &req, &rep);
    if (rc != KD_OK)
        return rc;
    if (rep.return_status != STATUS_SUCCESS)
        return fail(s, KD_ERR_TARGET, "GetVersion failed: 0x%08x", rep.return_status);
    *v = rep.u.version;
    return KD_OK;
}

/* Sends a read request and copies what its reply carries (at most len
 * bytes) to buf. A memory read may come back partial with a failure status
 * and its bytes still count; control space needs success. */
static int read_request(struct session *s, const struct kd_manip *req, bool partial_ok,
                        uint8_t *buf, uint32_t len, uint32_t *got)
{
    struct kd_manip rep;
    *got = 0;
    int rc = request(s, req, &rep);
    if (rc != KD_OK)
        return rc;
    uint32_t n = rep.u.memory.actual;
    if (n > len)
        n = len;
    if (n > rep.data_len)
        n = (uint32_t)rep.data_len;
    if (n == 0 || (!partial_ok && rep.return_status != STATUS_SUCCESS))
        return KD_ERR_TARGET;
    memcpy(buf, rep.data, n);
    *got = n;
    return KD_OK;
}

static int op_read_virtual(void *ctx, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got)
{
    struct kd_manip req;
    *got = 0;
    int rc = kd_api_manip_req_read_virtual(&req, addr, len);
    return rc != KD_OK ? rc : read_request(ctx, &req, true, buf, len, got);
}

static int op_write_virtual(void *ctx, uint64_t addr, const uint8_t *buf, uint32_t len,
                            uint32_t *done)
{
    struct session *s = ctx;
    struct kd_manip req, rep;
    *done = 0;
    int rc = kd_api_manip_req_write_virtual(&req, addr, buf, len);
    if (rc != KD_OK)
        return rc;
    rc = request(s, &req, &rep);
    if (rc != KD_OK)
        return rc;
    *done = rep.u.memory.actual;
    return rep.return_status == STATUS_SUCCESS ? KD_OK : KD_ERR_TARGET;
}

static int op_read_control(void *ctx, uint16_t cpu, uint64_t selector, uint8_t *buf, uint32_t len,
                           uint32_t *got)
{
    struct kd_manip req;
    *got = 0;
    int rc = kd_api_manip_req_read_control(&req, cpu, selector, len);
    return rc != KD_OK ? rc : read_request(ctx, &req, false, buf, len, got);
}

static int op_get_context(void *ctx, uint16_t cpu, uint8_t *buf, uint32_t len, uint32_t *got)
{
    struct session *s = ctx;
    struct kd_manip req, rep;
    *got = 0;
    /* GetContextEx moves only what is asked; targets without it (the boot
     * debugger) answer STATUS_UNSUCCESSFUL, then the whole context. */
    if (len < KD_API_CONTEXT_AMD64_SIZE && !s->no_context_ex &&
        kd_api_manip_req_get_context_ex(&req, cpu, 0, len) == KD_OK) {
        int rc = request(s, &req, &rep);
        if (rc != KD_OK)
            return rc;
        if (rep.return_status == STATUS_SUCCESS && rep.data_len) {
            uint32_t n = rep.data_len < len ? (uint32_t)rep.data_len : len;
            memcpy(buf, rep.data, n);
            *got = n;
            return KD_OK;
        }
        s->no_context_ex = true;
    }
    kd_api_manip_req_get_context(&req, cpu);
    int rc = request(s, &req, &rep);
    if (rc != KD_OK)
        return rc;
    if (rep.return_status != STATUS_SUCCESS)
        return KD_ERR_TARGET;
    uint32_t n = rep.data_len < len ? (uint32_t)rep.data_len : len;
    memcpy(buf, rep.data, n);
    *got = n;
    return KD_OK;
}

static int op_write_breakpoint(void *ctx, uint64_t addr, uint32_t *handle)
{
    struct session *s = ctx;
    struct kd_manip req, rep;
    kd_api_manip_req_write_breakpoint(&req, addr);
    int rc = request(s, &req, &rep);
    if (rc != KD_OK)
        return rc;
    if (rep.return_status != STATUS_SUCCESS)
        return fail(s, KD_ERR_TARGET, "WriteBreakPoint at 0x%llx failed: 0x%08x",
                    (unsigned long long)addr, rep.return_status);
    *handle = rep.u.write_bp.handle;
    return KD_OK;
}

static int op_restore_breakpoint(void *ctx, uint32_t handle)
{
    struct session *s = ctx;
    struct kd_manip req, rep;
    kd_api_manip_req_restore_breakpoint(&req, handle);
    int rc = request(s, &req, &rep);
    if (rc != KD_OK)
        return rc;
    return rep.return_status == STATUS_SUCCESS ? KD_OK : KD_ERR_TARGET;
}

/* Rip + 1 through Get/SetContextEx: 8 bytes each way instead of the whole
 * CONTEXT twice (0.2 s per stop at 115200 baud). KD_ERR_UNSUPPORTED when
 * the target has no ContextEx. */
static int step_over_int3_ex(struct session *s)
{
    struct kd_manip req, rep;
    uint8_t rip_le[8];
    if (s->no_context_ex)
        return KD_ERR_UNSUPPORTED;
    int rc = kd_api_manip_req_get_context_ex(&req, s->last_cpu, KD_API_CONTEXT_AMD64_RIP, 8);
    if (rc == KD_OK)
        rc = request(s, &req, &rep);
    if (rc != KD_OK)
        return rc;
    if (rep.return_status != STATUS_SUCCESS || rep.data_len < 8) {
        s->no_context_ex = true;
        return KD_ERR_UNSUPPORTED;
    }
    uint64_t rip = kd_le64(rep.data);
    if (rip != s->last_pc)
        return KD_OK; /* already moved (someone set the context) */
    kd_put64(rip_le, rip + 1);
    kd_api_manip_init(&req, DbgKdSetContextExApi, s->last_cpu);
    req.u.context_ex.offset = KD_API_CONTEXT_AMD64_RIP;
    req.u.context_ex.count = 8;
    req.data = rip_le;
    req.data_len = 8;
    rc = request(s, &req, &rep);
    if (rc != KD_OK)
        return rc;
    if (rep.return_status != STATUS_SUCCESS) {
        s->no_context_ex = true;
        return KD_ERR_UNSUPPORTED;
    }
    return KD_OK;
}

/* SetContext(Rip + 1) on the processor that stopped, when Rip is still on
 * the int3 it reported. */
static int step_over_int3(struct session *s)
{
    int rc = step_over_int3_ex(s);
    if (rc != KD_ERR_UNSUPPORTED) {
        s->last_hardcoded_int3 = false;
        return rc;
    }
    uint8_t ctx[KD_API_CONTEXT_AMD64_SIZE];
    struct kd_manip req, rep;
    kd_api_manip_req_get_context(&req, s->last_cpu);
    rc = request(s, &req, &rep);
    if (rc != KD_OK)
        return rc;
    if (rep.return_status != STATUS_SUCCESS || rep.data_len < sizeof ctx)
        return fail(s, KD_ERR_TARGET, "GetContext before continuing failed");
    memcpy(ctx, rep.data, sizeof ctx);
    uint64_t rip = kd_le64(ctx + KD_API_CONTEXT_AMD64_RIP);
    s->last_hardcoded_int3 = false;
    if (rip != s->last_pc)
        return KD_OK;
    kd_put64(ctx + KD_API_CONTEXT_AMD64_RIP, rip + 1);
    rc = kd_api_manip_req_set_context(&req, s->last_cpu, ctx, sizeof ctx);
    if (rc != KD_OK)
        return rc;
    rc = request(s, &req, &rep);
    if (rc != KD_OK)
        return rc;
    return rep.return_status == STATUS_SUCCESS ? KD_OK
                                               : fail(s, KD_ERR_TARGET, "SetContext failed");
}

static int op_resume(void *ctx, uint32_t status)
{
    struct session *s = ctx;
    struct kd_manip req;
    /* Dr7 0x400 and symbol start 1 ("leave unchanged") as WinDbg sends. */
    struct kd_control_set_amd64 set = {
        .trace_flag = 0, .dr7 = 0x400, .symbol_start = 1, .symbol_end = 0};
    if (!s->stopped)
        return fail(s, KD_ERR_STATE, "the target is already running");
    if (s->last_hardcoded_int3) {
        int rc = step_over_int3(s);
        if (rc != KD_OK)
            return rc;
    }
    kd_api_manip_req_continue2(&req, status, &set);
    size_t used;
    int rc = kd_api_manip_encode(&req, s->tx, sizeof s->tx, &used);
    if (rc != KD_OK)
        return rc;
    /* Running from here on: a stop that arrives while the ACK is awaited
     * (the target may hit a breakpoint at once) sets it stopped again. */
    s->have_sc = false;
    s->stopped = false;
    rc = send_data(s, KD_PACKET_TYPE_KD_STATE_MANIPULATE, s->tx, used);
    if (rc == KD_OK)
        rc = wait_acked(s);
    else
        s->stopped = true;
    return rc;
}

static int op_break_in(void *ctx)
{
    struct session *s = ctx;
    if (s->stopped)
        return KD_OK;
    int rc = break_in_bytes(s);
    return rc == KD_OK ? KD_OK : fail(s, rc, "break-in: %s", transport_error(s->t));
}

static int op_wait_event(void *ctx, int timeout_ms, struct kd_state_change *sc)
{
    struct session *s = ctx;
    if (!s->have_sc) {
        int rc = session_poll(s, timeout_ms);
        if (rc != KD_OK)
            return rc;
    }
    if (!s->have_sc)
        return KD_ERR_TIMEOUT;
    *sc = s->sc;
    s->have_sc = false;
    return KD_OK;
}

static const struct kd_target_ops session_ops = {
    .get_version = op_get_version,
    .read_virtual = op_read_virtual,
    .write_virtual = op_write_virtual,
    .read_control = op_read_control,
    .get_context = op_get_context,
    .write_breakpoint = op_write_breakpoint,
    .restore_breakpoint = op_restore_breakpoint,
    .resume = op_resume,
    .break_in = op_break_in,
    .wait_event = op_wait_event,
};

struct kd_target session_target(struct session *s)
{
    struct kd_target t = {&session_ops, s};
    return t;
}
