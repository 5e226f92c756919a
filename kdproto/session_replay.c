/* session_replay.c: a recording turned back into a target (see the header).
 * The recording becomes a script of items: requests with their replies,
 * stops, break-ins and prints; a cursor follows the monitor through it. */
#include "session_replay.h"
#include "capture_packets.h"
#include "kd_le.h"
#include "kd_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_WINDOW 8 /* requests looked ahead for an in-order match */

enum item_kind { IT_REQ, IT_REPLY, IT_STOP, IT_BREAKIN, IT_PRINT };

struct item {
    enum item_kind kind;
    double time;
    uint8_t *data; /* payload copy */
    size_t len;
    int reply; /* IT_REQ: index of its reply or -1 */
};

struct replay {
    struct item *v;
    size_t n, cap;
    size_t cur;       /* next item not yet consumed */
    size_t print_cur; /* next print not yet handed out */
    bool breakin_asked;
    bool strict; /* own recordings: only the very next request may answer */
    uint32_t next_handle;
    struct replay_stats st;
};

static int push(struct replay *r, enum item_kind kind, double time, const uint8_t *p, size_t len)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct item *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return KD_ERR_NOMEM;
        r->v = v;
        r->cap = cap;
    }
    struct item *it = &r->v[r->n];
    it->kind = kind;
    it->time = time;
    it->len = len;
    it->reply = -1;
    it->data = NULL;
    if (len) {
        it->data = malloc(len);
        if (!it->data)
            return KD_ERR_NOMEM;
        memcpy(it->data, p, len);
    }
    r->n++;
    return KD_OK;
}

void replay_free(struct replay *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].data);
    free(r->v);
    free(r);
}

/* Builds the script: data packets once each (retransmissions dropped by
 * id per direction), replies paired with the request before them. */
static int load(struct replay *r, struct capture_packets *cp)
{
    struct capture_packet p;
    uint32_t last_id[2] = {0, 0};
    bool have_last[2] = {false, false};
    int open_req = -1;
    int rc;
    while ((rc = capture_packets_next(cp, &p)) == 1) {
        int d = p.host_to_target ? 0 : 1;
        if (p.breakin) {
            if (p.host_to_target && (rc = push(r, IT_BREAKIN, p.time, NULL, 0)) != KD_OK)
                return rc;
            continue;
        }
        if (p.pkt.leader != KD_LEADER_DATA)
            continue;
        if (p.pkt.type == KD_PACKET_TYPE_KD_RESET)
            have_last[0] = have_last[1] = false;
        if (have_last[d] && last_id[d] == p.pkt.id)
            continue; /* a retransmission */
        have_last[d] = true;
        last_id[d] = p.pkt.id;
        r->st.packets++;
        switch (p.pkt.type) {
        case KD_PACKET_TYPE_KD_STATE_MANIPULATE:
            if (p.host_to_target) {
                rc = push(r, IT_REQ, p.time, p.pkt.payload, p.pkt.count);
                open_req = (int)r->n - 1;
                r->st.requests++;
            } else {
                rc = push(r, IT_REPLY, p.time, p.pkt.payload, p.pkt.count);
                if (open_req >= 0 && p.pkt.count >= 4 && r->v[open_req].len >= 4 &&
                    kd_le32(r->v[open_req].data) == kd_le32(p.pkt.payload))
                    r->v[open_req].reply = (int)r->n - 1;
                open_req = -1;
            }
            break;
        case KD_PACKET_TYPE_KD_STATE_CHANGE64:
            if (!p.host_to_target) {
                rc = push(r, IT_STOP, p.time, p.pkt.payload, p.pkt.count);
                r->st.stops++;
            }
            break;
        case KD_PACKET_TYPE_KD_DEBUG_IO: {
            struct kd_debug_io io;
            if (!p.host_to_target &&
                kd_api_io_debug_decode(p.pkt.payload, p.pkt.count, &io) == KD_OK &&
                io.api == DbgKdPrintStringApi)
                rc = push(r, IT_PRINT, p.time, io.data, io.text_len);
            break;
        }
        default: break;
        }
        if (rc != KD_OK)
            return rc;
    }
    return rc < 0 ? rc : KD_OK;
}

int replay_open(const char *path, const char *key, struct replay **out, char err[256])
{
    *out = NULL;
    struct capture_packets *cp;
    int rc = capture_packets_open(path, key, &cp, err);
    if (rc != KD_OK)
        return rc;
    struct replay *r = calloc(1, sizeof *r);
    if (!r) {
        capture_packets_free(cp);
        snprintf(err, 256, "out of memory");
        return KD_ERR_NOMEM;
    }
    rc = load(r, cp);
    if (rc != KD_OK && rc != KD_ERR_NOMEM) {
        /* a damaged tail: keep what was read, say so */
        snprintf(err, 256, "%s", capture_packets_error(cp));
        rc = KD_OK;
    }
    struct capture_packets_stats cs;
    capture_packets_stats(cp, &cs);
    capture_packets_free(cp);
    if (rc != KD_OK) {
        replay_free(r);
        snprintf(err, 256, "out of memory");
        return rc;
    }
    if (r->st.stops == 0) {
        replay_free(r);
        if (cs.undecryptable)
            snprintf(err, 256,
                     "no KD traffic could be decrypted (%llu datagrams): wrong or "
                     "missing --key, or no handshake in the capture",
                     (unsigned long long)cs.undecryptable);
        else
            snprintf(err, 256, "the recording holds no state change: nothing to replay");
        return KD_ERR_FORMAT;
    }
    r->next_handle = 1;
    r->strict = true;
    *out = r;
    return KD_OK;
}

void replay_stats(const struct replay *r, struct replay_stats *s)
{
    *s = r->st;
}

void replay_set_strict(struct replay *r, bool strict)
{
    r->strict = strict;
}

void replay_rewind(struct replay *r)
{
    r->cur = 0;
    r->print_cur = 0;
    r->breakin_asked = false;
    r->next_handle = 1;
}

double replay_time(const struct replay *r)
{
    size_t i = r->cur < r->n ? r->cur : r->n - 1;
    return r->v[i].time;
}

int replay_first_stop(struct replay *r, struct kd_state_change *sc)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].kind == IT_STOP) {
            r->cur = i + 1;
            return kd_api_state_decode(r->v[i].data, r->v[i].len, sc);
        }
    return KD_ERR_NOTFOUND;
}

enum replay_next replay_peek(const struct replay *r, double *time)
{
    for (size_t i = r->cur; i < r->n; i++) {
        if (r->v[i].kind == IT_BREAKIN || r->v[i].kind == IT_STOP) {
            if (time)
                *time = r->v[i].time;
            return r->v[i].kind == IT_BREAKIN ? REPLAY_NEXT_BREAKIN : REPLAY_NEXT_STOP;
        }
    }
    return REPLAY_NEXT_END;
}

bool replay_next_print(struct replay *r, const char **text, size_t *len)
{
    /* prints up to the next stop or break-in: what the target said before it */
    size_t end = r->cur;
    while (end < r->n && r->v[end].kind != IT_STOP && r->v[end].kind != IT_BREAKIN)
        end++;
    while (r->print_cur < end) {
        struct item *it = &r->v[r->print_cur++];
        if (it->kind == IT_PRINT) {
            *text = (const char *)it->data;
            *len = it->len;
            return true;
        }
    }
    return false;
}

/* The next recorded request after the cursor (not past a stop) equal to
 * req in its API and its 0x10..0x1F parameters; its reply index or -1. */
static int find_in_order(struct replay *r, const uint8_t *req, size_t len)
{
    int seen = 0, window = r->strict ? 1 : REPLAY_WINDOW;
    for (size_t i = r->cur; i < r->n && seen < window; i++) {
        const struct item *it = &r->v[i];
        if (it->kind == IT_STOP)
            break;
        if (it->kind != IT_REQ)
            continue;
        seen++;
        if (it->len < 0x20 || len < 0x20 || memcmp(it->data, req, 4) != 0 ||
            memcmp(it->data + 6, req + 6, 2) != 0 || memcmp(it->data + 0x10, req + 0x10, 0x10) != 0)
            continue;
        if (it->reply < 0)
            return -1;
        r->cur = (size_t)it->reply + 1;
        return it->reply;
    }
    return -1;
}

/* Out of order: any recorded reply to the same API and parameters, the
 * last one before the cursor first, else the first after it. */
static int find_any(const struct replay *r, const uint8_t *req)
{
    int best = -1;
    for (size_t i = 0; i < r->n; i++) {
        const struct item *it = &r->v[i];
        if (it->kind != IT_REQ || it->reply < 0 || it->len < 0x20 ||
            memcmp(it->data, req, 4) != 0 || memcmp(it->data + 6, req + 6, 2) != 0 ||
            memcmp(it->data + 0x10, req + 0x10, 0x10) != 0)
            continue;
        if (i < r->cur || best < 0)
            best = it->reply;
        if (i >= r->cur)
            break;
    }
    return best;
}

/* Memory from every recorded read reply covering [addr, addr+len): the
 * latest before the cursor wins. */
static uint32_t from_memory(const struct replay *r, uint64_t addr, uint8_t *buf, uint32_t len)
{
    uint32_t best = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct item *it = &r->v[i];
        if (it->kind != IT_REQ || it->reply < 0 || it->len < 0x38 ||
            kd_le32(it->data) != DbgKdReadVirtualMemoryApi)
            continue;
        const struct item *rep = &r->v[it->reply];
        struct kd_manip m;
        if (kd_api_manip_decode(rep->data, rep->len, &m) != KD_OK || m.return_status)
            continue;
        uint64_t a = m.u.memory.address;
        uint64_t n = m.data_len < m.u.memory.actual ? m.data_len : m.u.memory.actual;
        if (addr < a || addr >= a + n)
            continue;
        uint64_t avail = a + n - addr;
        uint32_t take = avail < len ? (uint32_t)avail : len;
        if (take >= best) {
            memcpy(buf, m.data + (addr - a), take);
            best = take;
        }
        if (i >= r->cur && best)
            break;
    }
    return best;
}

/* True when a request with its reply is still recorded after the cursor. */
static bool next_request(const struct replay *r)
{
    for (size_t i = r->cur; i < r->n; i++)
        if (r->v[i].kind == IT_REQ && r->v[i].reply >= 0)
            return true;
    return false;
}

/* Runs one request through the recording: *reply decoded, or KD_ERR_NOTFOUND. */
static int lookup(struct replay *r, struct kd_manip *req, struct kd_manip *reply)
{
    uint8_t buf[KD_PACKET_MAX];
    size_t used;
    int rc = kd_api_manip_encode(req, buf, sizeof buf, &used);
    if (rc != KD_OK)
        return rc;
    int idx = find_in_order(r, buf, used);
    if (idx >= 0)
        r->st.reads_in_order++;
    else if (r->strict) {
        if (!next_request(r))
            r->st.ran_out = true; /* the recording ends here */
        return KD_ERR_NOTFOUND;
    } else
        idx = find_any(r, buf);
    if (idx < 0)
        return KD_ERR_NOTFOUND;
    return kd_api_manip_decode(r->v[idx].data, r->v[idx].len, reply);
}

static int op_get_version(void *ctx, struct kd_version *v)
{
    struct kd_manip req, rep;
    kd_api_manip_req_get_version(&req);
    int rc = lookup(ctx, &req, &rep);
    if (rc != KD_OK) {
        /* WinDbg's GetVersion carries other processor fields: any reply will do */
        struct replay *r = ctx;
        for (size_t i = 0; i < r->n; i++)
            if (r->v[i].kind == IT_REPLY && r->v[i].len >= 4 &&
                kd_le32(r->v[i].data) == DbgKdGetVersionApi &&
                kd_api_manip_decode(r->v[i].data, r->v[i].len, &rep) == KD_OK) {
                *v = rep.u.version;
                return KD_OK;
            }
        return KD_ERR_TARGET;
    }
    *v = rep.u.version;
    return rep.return_status == STATUS_SUCCESS ? KD_OK : KD_ERR_TARGET;
}

static int op_read_virtual(void *ctx, uint64_t addr, uint8_t *buf, uint32_t len, uint32_t *got)
{
    struct replay *r = ctx;
    struct kd_manip req, rep;
    *got = 0;
    int rc = kd_api_manip_req_read_virtual(&req, addr, len);
    if (rc != KD_OK)
        return rc;
    rc = lookup(r, &req, &rep);
    if (rc == KD_OK && rep.return_status == STATUS_SUCCESS) {
        uint32_t n = rep.u.memory.actual < len ? rep.u.memory.actual : len;
        if (n > rep.data_len)
            n = (uint32_t)rep.data_len;
        memcpy(buf, rep.data, n);
        *got = n;
        return n ? KD_OK : KD_ERR_TARGET;
    }
    if (rc == KD_OK)
        return KD_ERR_TARGET; /* recorded as failed */
    if (r->strict) {
        r->st.reads_failed++;
        return KD_ERR_NOTFOUND;
    }
    *got = from_memory(r, addr, buf, len);
    if (*got)
        r->st.reads_from_memory++;
    else
        r->st.reads_failed++;
    return *got ? KD_OK : KD_ERR_TARGET;
}

static int op_write_virtual(void *ctx, uint64_t addr, const uint8_t *buf, uint32_t len,
                            uint32_t *done)
{
    struct kd_manip req, rep;
    int rc = kd_api_manip_req_write_virtual(&req, addr, buf, len);
    if (rc != KD_OK)
        return rc;
    lookup(ctx, &req, &rep);
    *done = len; /* a replay changes nothing */
    return KD_OK;
}

static int op_read_control(void *ctx, uint16_t cpu, uint64_t selector, uint8_t *buf, uint32_t len,
                           uint32_t *got)
{
    struct kd_manip req, rep;
    *got = 0;
    int rc = kd_api_manip_req_read_control(&req, cpu, selector, len);
    if (rc != KD_OK)
        return rc;
    if (lookup(ctx, &req, &rep) != KD_OK || rep.return_status != STATUS_SUCCESS)
        return KD_ERR_TARGET;
    uint32_t n = rep.data_len < len ? (uint32_t)rep.data_len : len;
    memcpy(buf, rep.data, n);
    *got = n;
    return n ? KD_OK : KD_ERR_TARGET;
}

static int op_get_context(void *ctx, uint16_t cpu, uint8_t *buf, uint32_t len, uint32_t *got)
{
    struct kd_manip req, rep;
    *got = 0;
    /* as the session asks: GetContextEx for part of it, else GetContext */
    int rc = KD_ERR_NOTFOUND;
    if (len < KD_API_CONTEXT_AMD64_SIZE &&
        kd_api_manip_req_get_context_ex(&req, cpu, 0, len) == KD_OK)
        rc = lookup(ctx, &req, &rep);
    if (rc != KD_OK || rep.return_status != STATUS_SUCCESS) {
        kd_api_manip_req_get_context(&req, cpu);
        rc = lookup(ctx, &req, &rep);
    }
    if (rc == KD_ERR_NOTFOUND)
        return rc;
    if (rc != KD_OK || rep.return_status != STATUS_SUCCESS)
        return KD_ERR_TARGET;
    uint32_t n = rep.data_len < len ? (uint32_t)rep.data_len : len;
    memcpy(buf, rep.data, n);
    *got = n;
    return KD_OK;
}

static int op_write_breakpoint(void *ctx, uint64_t addr, uint32_t *handle)
{
    struct replay *r = ctx;
    struct kd_manip req, rep;
    kd_api_manip_req_write_breakpoint(&req, addr);
    if (lookup(r, &req, &rep) == KD_OK) {
        *handle = rep.u.write_bp.handle;
        return rep.return_status == STATUS_SUCCESS ? KD_OK : KD_ERR_TARGET;
    }
    *handle = r->next_handle++;
    return KD_OK;
}

static int op_restore_breakpoint(void *ctx, uint32_t handle)
{
    struct kd_manip req, rep;
    kd_api_manip_req_restore_breakpoint(&req, handle);
    lookup(ctx, &req, &rep);
    return KD_OK;
}

/* Moves the cursor past the next recorded continue (not past a stop). */
static int op_resume(void *ctx, uint32_t status)
{
    struct replay *r = ctx;
    (void)status;
    for (size_t i = r->cur; i < r->n; i++) {
        const struct item *it = &r->v[i];
        if (it->kind == IT_STOP || it->kind == IT_BREAKIN)
            break;
        if (it->kind == IT_REQ && it->len >= 4 &&
            (kd_le32(it->data) == DbgKdContinueApi || kd_le32(it->data) == DbgKdContinueApi2)) {
            r->cur = i + 1;
            break;
        }
    }
    r->breakin_asked = false;
    return KD_OK;
}

static int op_break_in(void *ctx)
{
    struct replay *r = ctx;
    r->breakin_asked = true;
    return KD_OK;
}

/* The next stop: after a break-in, the one that answers it; without one,
 * only a stop the target made on its own (no break-in before it). */
static int op_wait_event(void *ctx, int timeout_ms, struct kd_state_change *sc)
{
    struct replay *r = ctx;
    (void)timeout_ms;
    for (size_t i = r->cur; i < r->n; i++) {
        const struct item *it = &r->v[i];
        if (it->kind == IT_BREAKIN && !r->breakin_asked)
            return KD_ERR_TIMEOUT;
        if (it->kind != IT_STOP)
            continue;
        r->cur = i + 1;
        r->breakin_asked = false;
        return kd_api_state_decode(it->data, it->len, sc);
    }
    return KD_ERR_CLOSED;
}

static const struct kd_target_ops replay_ops = {
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

struct kd_target replay_target(struct replay *r)
{
    struct kd_target t = {&replay_ops, r};
    return t;
}
