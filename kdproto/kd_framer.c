/* kd_framer.c: serial KD stream -> events (kd_framer.h).
 *
 * The current candidate packet sits in buf[0..have). When a candidate turns
 * out false (bad header or trailer), its bytes after the first one must be
 * scanned again: they move to the front of buf and are replayed from
 * buf[rpos..rlen) before any new input. While replaying, bytes are appended to
 * the candidate at buf[have] with have <= rpos, so writes always trail reads
 * and one buffer serves both. Each rejection drops at least one byte, so a
 * replay always ends. */
#include "kd_framer.h"
#include "kd_le.h"
#include "kd_status.h"

#include <string.h>

_Static_assert(KD_FRAMER_BUF_SIZE == 4017, "16-byte header + 4000 payload + trailer");

enum { ST_LEADER, ST_HEADER, ST_BODY };

/* Work left over from the event returned last time: the buffer must stay
 * untouched until then because the event points into it. */
enum { AFTER_NONE, AFTER_CLEAR, AFTER_RESCAN };

void kd_framer_init(struct kd_framer *f)
{
    if (!f)
        return;
    f->state = ST_LEADER;
    f->after = AFTER_NONE;
    f->have = 0;
    f->need = 0;
    f->rpos = 0;
    f->rlen = 0;
    f->garbage = 0;
    memset(&f->hdr, 0, sizeof f->hdr);
}

static bool is_leader_byte(uint8_t b)
{
    return b == (uint8_t)KD_LEADER_DATA || b == (uint8_t)KD_LEADER_CONTROL;
}

static void apply_after(struct kd_framer *f)
{
    if (f->after == AFTER_RESCAN) {
        /* The false leader's first byte is garbage; the rest is scanned again,
         * followed by whatever replay was still waiting. */
        size_t keep = f->have - 1;
        size_t rest = f->rlen - f->rpos;
        memmove(f->buf, f->buf + 1, keep);
        if (rest)
            memmove(f->buf + keep, f->buf + f->rpos, rest);
        f->rpos = 0;
        f->rlen = keep + rest;
        f->garbage++;
        f->have = 0;
    } else if (f->after == AFTER_CLEAR) {
        f->have = 0;
    }
    if (f->after != AFTER_NONE)
        f->state = ST_LEADER;
    f->after = AFTER_NONE;
}

static int emit_error(struct kd_framer *f, int status, bool with_payload, bool rescan,
                      struct kd_framer_event *ev)
{
    ev->kind = KD_FRAMER_ERROR;
    ev->status = status;
    ev->packet = f->hdr;
    ev->packet.payload = with_payload ? f->buf + KD_HEADER_SIZE : NULL;
    f->after = rescan ? AFTER_RESCAN : AFTER_CLEAR;
    return 1;
}

static int emit_garbage(struct kd_framer *f, struct kd_framer_event *ev)
{
    ev->kind = KD_FRAMER_GARBAGE;
    ev->garbage = f->garbage;
    f->garbage = 0;
    return 1;
}

/* Leader search (§1.4): four identical 0x30 or 0x69 bytes; any other byte
 * restarts the run; 0x62 is a break-in. The leader is settled by the byte
 * after it, so skipped bytes are counted before GARBAGE is reported. */
static int step_leader(struct kd_framer *f, const uint8_t *src, size_t avail, size_t *used,
                       struct kd_framer_event *ev)
{
    for (size_t i = 0; i < avail; i++) {
        uint8_t b = src[i];
        if (f->have == 4) {
            /* A longer run: no type starts with 0x30 or 0x69, so the leader
             * is the last four bytes of the run. */
            if (b == f->buf[0]) {
                f->garbage++;
                continue;
            }
            f->state = ST_HEADER; /* b is the header's first byte: not consumed */
            *used = i;
            return f->garbage ? emit_garbage(f, ev) : 0;
        }
        if (is_leader_byte(b) && (f->have == 0 || b == f->buf[0])) {
            f->buf[f->have++] = b;
            continue;
        }
        f->garbage += f->have; /* a broken run was not a leader */
        f->have = 0;
        if (is_leader_byte(b)) {
            f->buf[f->have++] = b;
        } else if (b == KD_BREAKIN_BYTE) {
            /* Report the skipped bytes first; the 0x62 stays unconsumed. */
            if (f->garbage) {
                *used = i;
                return emit_garbage(f, ev);
            }
            *used = i + 1;
            ev->kind = KD_FRAMER_BREAKIN;
            return 1;
        } else {
            f->garbage++;
        }
    }
    *used = avail;
    return 0;
}

/* Appends up to want - have bytes of src to the candidate; returns how many. */
static size_t take_bytes(struct kd_framer *f, const uint8_t *src, size_t avail, size_t want)
{
    size_t n = want - f->have;
    if (n > avail)
        n = avail;
    memmove(f->buf + f->have, src, n); /* src may be buf + rpos (>= have) */
    f->have += n;
    return n;
}

static int step_header(struct kd_framer *f, const uint8_t *src, size_t avail, size_t *used,
                       struct kd_framer_event *ev)
{
    *used = take_bytes(f, src, avail, KD_HEADER_SIZE);
    if (f->have < KD_HEADER_SIZE)
        return 0;
    int rc = kd_wire_parse_header(f->buf, f->have, &f->hdr);
    if (rc != KD_OK)
        return emit_error(f, rc, false, true, ev);
    if (f->hdr.leader == KD_LEADER_CONTROL) {
        ev->kind = KD_FRAMER_PACKET;
        ev->packet = f->hdr;
        ev->packet.payload = f->buf + KD_HEADER_SIZE;
        f->after = AFTER_CLEAR;
        return 1;
    }
    f->need = KD_HEADER_SIZE + (size_t)f->hdr.count + 1;
    f->state = ST_BODY;
    return 0;
}

static int step_body(struct kd_framer *f, const uint8_t *src, size_t avail, size_t *used,
                     struct kd_framer_event *ev)
{
    *used = take_bytes(f, src, avail, f->need);
    if (f->have < f->need)
        return 0;
    if (f->buf[f->need - 1] != KD_TRAILER_BYTE)
        return emit_error(f, KD_ERR_TRAILER, true, true, ev);
    if (kd_wire_checksum(f->buf + KD_HEADER_SIZE, f->hdr.count) != f->hdr.checksum)
        return emit_error(f, KD_ERR_CHECKSUM, true, false, ev);
    ev->kind = KD_FRAMER_PACKET;
    ev->packet = f->hdr;
    ev->packet.payload = f->buf + KD_HEADER_SIZE;
    f->after = AFTER_CLEAR;
    return 1;
}

int kd_framer_next(struct kd_framer *f, const uint8_t *in, size_t len, size_t *consumed,
                   struct kd_framer_event *ev)
{
    if (consumed)
        *consumed = 0;
    if (!f || !consumed || !ev || (len && !in))
        return KD_ERR_ARG;
    memset(ev, 0, sizeof *ev);
    apply_after(f);
    size_t ipos = 0;
    for (;;) {
        bool replay = f->rpos < f->rlen;
        const uint8_t *src;
        size_t avail;
        if (replay) {
            src = f->buf + f->rpos;
            avail = f->rlen - f->rpos;
        } else {
            f->rpos = f->rlen = 0;
            if (ipos >= len)
                break;
            src = in + ipos;
            avail = len - ipos;
        }
        size_t used = 0;
        int got;
        switch (f->state) {
        case ST_HEADER: got = step_header(f, src, avail, &used, ev); break;
        case ST_BODY: got = step_body(f, src, avail, &used, ev); break;
        default: got = step_leader(f, src, avail, &used, ev); break;
        }
        if (replay)
            f->rpos += used;
        else
            ipos += used;
        if (got) {
            *consumed = ipos;
            return 1;
        }
    }
    *consumed = len;
    return 0;
}

size_t kd_framer_buffered(const struct kd_framer *f)
{
    if (!f)
        return 0;
    size_t held = f->rlen - f->rpos;
    if (f->after == AFTER_NONE)
        held += f->have;
    else if (f->after == AFTER_RESCAN)
        held += f->have - 1;
    return held;
}

const char *kd_framer_kind_name(enum kd_framer_kind kind)
{
    switch (kind) {
    case KD_FRAMER_PACKET: return "PACKET";
    case KD_FRAMER_BREAKIN: return "BREAKIN";
    case KD_FRAMER_ERROR: return "ERROR";
    case KD_FRAMER_GARBAGE: return "GARBAGE";
    }
    return "UNKNOWN";
}
