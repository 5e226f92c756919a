/* decode.c: `kdwatch decode`: capture -> datagrams or stream chunks -> KD
 * packets -> one line each, then a summary. KDNET datagrams are opened with
 * the key (HMAC checked before anything is trusted); stream recordings go
 * through the serial framer, one per direction. */
#include "decode.h"
#include "capture.h"
#include "kd_describe.h"
#include "kd_framer.h"
#include "kd_status.h"
#include "kd_wire.h"
#include "kdnet.h"
#include "kdnet_passive.h"
#include "out_json.h"

#include <stdlib.h>
#include <string.h>

struct decoder {
    const struct decode_options *opt;
    FILE *out, *err;
    struct decode_stats *st;
    struct kdnet_passive kdnet;
    bool have_key;
    double t0;
    bool have_t0;
    uint16_t machine;
    /* Endpoint of the target, learned from the first authenticated datagram,
     * so datagrams that cannot be opened still get a direction. */
    bool know_target;
    uint8_t target_ip[16];
    uint16_t target_port;
    uint8_t prev[KDNET_MAX_DATAGRAM];
    size_t prev_len;
    uint64_t prev_frame;
    bool said_nokeyarg;
    unsigned long auth_fail_frames[8];
    struct kd_framer framer[2];
};

static const char *dir_name(int h2t, bool json)
{
    if (h2t < 0)
        return json ? "unknown" : "?   ";
    if (json)
        return h2t ? "host->target" : "target->host";
    return h2t ? "h->t" : "t->h";
}

static void line_start(struct decoder *d, const struct capture_record *rec, int h2t,
                       const char *channel)
{
    double t = rec->time - d->t0;
    if (d->opt->json) {
        fprintf(d->out, "{\"frame\":%llu,\"time\":%.6f,\"dir\":\"%s\"",
                (unsigned long long)rec->frame, t, dir_name(h2t, true));
        if (channel)
            fprintf(d->out, ",\"channel\":\"%s\"", channel);
    } else {
        fprintf(d->out, "%6llu %11.6f %s ", (unsigned long long)rec->frame, t,
                dir_name(h2t, false));
    }
}

static void line_end(struct decoder *d)
{
    fputs(d->opt->json ? "}\n" : "\n", d->out);
}

static void count_packet(struct decoder *d, const struct kd_packet *pkt,
                         const struct kd_description *desc)
{
    struct decode_stats *st = d->st;
    if (pkt->leader == 0) {
        st->conn_checks++;
        return;
    }
    if (pkt->type < 16)
        st->by_type[pkt->type]++;
    if (pkt->leader == KD_LEADER_CONTROL) {
        st->control_packets++;
        return;
    }
    st->data_packets++;
    st->checksum_ok++;
    if (desc->api_index >= 0 && desc->api_index < 0x40) {
        if (desc->reply)
            st->api_rep[desc->api_index]++;
        else
            st->api_req[desc->api_index]++;
    }
    if (desc->api_unknown)
        st->api_unknown++;
    if (desc->state_index >= 0 && desc->state_index < 3)
        st->state[desc->state_index]++;
    if (desc->state_unknown)
        st->state_unknown++;
    if (desc->print_string)
        st->print_strings++;
    if (desc->file_io)
        st->file_io++;
    if (desc->machine)
        d->machine = desc->machine;
}

/* One KD packet found in a datagram body or a stream. */
static void emit_packet(struct decoder *d, const struct capture_record *rec, int h2t,
                        const char *channel, const struct kd_packet *pkt)
{
    struct kd_description desc;
    kd_describe(pkt, h2t == 1, d->machine, &desc);
    count_packet(d, pkt, &desc);
    if (d->opt->quiet)
        return;
    line_start(d, rec, h2t, channel);
    if (d->opt->json) {
        fprintf(d->out, ",\"kd\":\"%s\",\"id\":\"0x%08x\"", desc.type, pkt->id);
        if (pkt->leader == KD_LEADER_DATA)
            fprintf(d->out, ",\"bytes\":%u,\"checksum\":\"ok\"", pkt->count);
        kd_describe_json(&desc, d->out);
    } else {
        fprintf(d->out, "%-16s id=0x%08x", desc.type, pkt->id);
        if (desc.what[0] || desc.nfields)
            fputc(' ', d->out);
        kd_describe_text(&desc, d->out);
    }
    line_end(d);
}

static void emit_problem(struct decoder *d, const struct capture_record *rec, int h2t,
                         const char *channel, const char *what)
{
    if (d->opt->quiet)
        return;
    line_start(d, rec, h2t, channel);
    if (d->opt->json) {
        fputs(",\"error\":", d->out);
        out_json_string(d->out, what);
    } else {
        fprintf(d->out, "!! %s", what);
    }
    line_end(d);
}

static int endpoint_dir(struct decoder *d, const struct capture_record *rec)
{
    if (!d->know_target)
        return -1;
    size_t n = rec->ip_version == 6 ? 16 : 4;
    if (!memcmp(rec->src_ip, d->target_ip, n) && rec->src_port == d->target_port)
        return 0;
    if (!memcmp(rec->dst_ip, d->target_ip, n) && rec->dst_port == d->target_port)
        return 1;
    return -1;
}

static void learn_target(struct decoder *d, const struct capture_record *rec, bool h2t)
{
    if (d->know_target)
        return;
    d->know_target = true;
    memcpy(d->target_ip, h2t ? rec->dst_ip : rec->src_ip, 16);
    d->target_port = h2t ? rec->dst_port : rec->src_port;
}

static void decode_body(struct decoder *d, const struct capture_record *rec, int h2t,
                        const uint8_t *body, size_t len)
{
    struct kd_packet pkt;
    size_t used = 0;
    if (len == 1 && body[0] == KD_BREAKIN_BYTE) {
        d->st->breakins++;
        if (!d->opt->quiet) {
            line_start(d, rec, h2t, "data");
            fputs(d->opt->json ? ",\"kd\":\"BREAKIN\"" : "BREAKIN", d->out);
            line_end(d);
        }
        return;
    }
    int rc = kd_wire_parse(body, len, false, &pkt, &used);
    if (rc == KD_ERR_CHECKSUM) {
        d->st->checksum_bad++;
        d->st->data_packets++;
        char msg[96];
        snprintf(msg, sizeof msg, "KD packet id 0x%08x: bad checksum", pkt.id);
        emit_problem(d, rec, h2t, "data", msg);
        return;
    }
    if (rc != KD_OK) {
        d->st->packet_bad++;
        char msg[96];
        snprintf(msg, sizeof msg, "%zu-byte body is not a KD packet (%s)", len, kd_status_str(rc));
        emit_problem(d, rec, h2t, "data", msg);
        return;
    }
    emit_packet(d, rec, h2t, "data", &pkt);
}

static void describe_control(struct decoder *d, const struct capture_record *rec, int h2t,
                             const struct kdnet_passive_out *po)
{
    if (d->opt->quiet)
        return;
    line_start(d, rec, h2t, "control");
    const char *kind = po->control_kind == KDNET_CTRL_POKE       ? "POKE"
                       : po->control_kind == KDNET_CTRL_RESPONSE ? "RESPONSE"
                                                                 : "CONTROL";
    if (d->opt->json) {
        fprintf(d->out, ",\"kdnet\":\"%s\",\"version\":%u,\"seq\":%llu", kind, po->dg.version,
                (unsigned long long)po->dg.seq);
        if (po->rekeyed)
            fputs(",\"data_key\":\"derived\"", d->out);
    } else {
        fprintf(d->out, "KDNET %-10s v%u seq=%llu", kind, po->dg.version,
                (unsigned long long)po->dg.seq);
        if (po->control_kind == KDNET_CTRL_POKE) {
            struct kdnet_poke pk;
            if (kdnet_poke_parse(po->dg.body, po->dg.body_len, &pk) == KD_OK) {
                char tip[64], hip[64];
                capture_format_ip(pk.target_ip[10] == 0xff && pk.target_ip[11] == 0xff ? 4 : 6,
                                  pk.target_ip[10] == 0xff ? pk.target_ip + 12 : pk.target_ip, tip,
                                  sizeof tip);
                capture_format_ip(pk.host_ip[10] == 0xff && pk.host_ip[11] == 0xff ? 4 : 6,
                                  pk.host_ip[10] == 0xff ? pk.host_ip + 12 : pk.host_ip, hip,
                                  sizeof hip);
                fprintf(d->out, " target=%s:%u host=%s:%u", tip, pk.target_port, hip, pk.host_port);
            }
        }
        if (po->rekeyed)
            fputs(" (data key derived)", d->out);
    }
    line_end(d);
}

/* Every datagram whose direction is known counts, opened or not. */
static void count_dir(struct decode_stats *st, int h2t)
{
    if (h2t == 0)
        st->dir_t2h++;
    else if (h2t == 1)
        st->dir_h2t++;
}

static void on_udp(struct decoder *d, const struct capture_record *rec)
{
    struct decode_stats *st = d->st;
    uint8_t version, channel;
    if (kdnet_peek(rec->data, rec->len, &version, &channel) != KD_OK) {
        st->not_kdnet++;
        return;
    }
    st->datagrams++;
    if (channel == KDNET_CHANNEL_CONTROL)
        st->control_dg++;
    else
        st->data_dg++;
    const char *chan = channel == KDNET_CHANNEL_CONTROL ? "control" : "data";
    /* A host stack that captured every datagram twice: verify the copy
     * (it counts as a datagram) but do not decode its KD packets again. */
    bool dup = rec->len == d->prev_len && rec->len <= sizeof d->prev &&
               !memcmp(rec->data, d->prev, rec->len);
    uint64_t dup_of = d->prev_frame;
    if (dup) {
        st->duplicates++;
    } else if (rec->len <= sizeof d->prev) {
        memcpy(d->prev, rec->data, rec->len);
        d->prev_len = rec->len;
        d->prev_frame = rec->frame;
    }
    if (!d->have_key) {
        int h2t = endpoint_dir(d, rec);
        count_dir(st, h2t);
        if (!d->said_nokeyarg) {
            fprintf(d->err, "kdwatch: KDNET datagrams found but no --key given: "
                            "showing clear headers only\n");
            d->said_nokeyarg = true;
        }
        char msg[64];
        snprintf(msg, sizeof msg, "KDNET v%u %s datagram, %zu bytes (no key)", version, chan,
                 rec->len);
        emit_problem(d, rec, h2t, chan, msg);
        return;
    }
    uint8_t plain[KDNET_MAX_DATAGRAM];
    struct kdnet_passive_out po;
    int rc = kdnet_passive_feed(&d->kdnet, rec->data, rec->len, plain, sizeof plain, &po);
    if (rc == KD_ERR_NOKEY) {
        st->nokey++;
        int h2t = endpoint_dir(d, rec);
        count_dir(st, h2t);
        emit_problem(d, rec, h2t, chan,
                     dup ? "data channel: no data key (duplicate datagram)"
                         : "data channel: no data key (handshake not captured)");
        return;
    }
    if (rc != KD_OK) {
        int h2t = endpoint_dir(d, rec);
        count_dir(st, h2t);
        if (rc == KD_ERR_AUTH) {
            if (st->auth_failed < 8)
                d->auth_fail_frames[st->auth_failed] = (unsigned long)rec->frame;
            st->auth_failed++;
        } else {
            st->bad_frames++;
        }
        char msg[96];
        snprintf(msg, sizeof msg, "%s datagram: %s", chan, kd_status_str(rc));
        emit_problem(d, rec, h2t, chan, msg);
        return;
    }
    st->opened++;
    learn_target(d, rec, po.dg.host_to_target);
    count_dir(st, po.dg.host_to_target);
    if (po.rekeyed)
        st->handshakes++;
    if (dup) {
        char msg[96];
        snprintf(msg, sizeof msg, "duplicate of frame %llu (captured twice)",
                 (unsigned long long)dup_of);
        emit_problem(d, rec, po.dg.host_to_target, chan, msg);
        return;
    }
    if (channel == KDNET_CHANNEL_CONTROL)
        describe_control(d, rec, po.dg.host_to_target, &po);
    else
        decode_body(d, rec, po.dg.host_to_target, po.dg.body, po.dg.body_len);
}

static void on_stream(struct decoder *d, const struct capture_record *rec)
{
    int dir = rec->direction;
    int h2t = dir == CAPTURE_KDSTREAM_HOST_TO_TARGET;
    struct kd_framer *f = &d->framer[dir];
    size_t off = 0;
    d->st->stream_chunks++;
    d->st->stream_bytes += rec->len;
    while (off < rec->len) {
        size_t used = 0;
        struct kd_framer_event ev;
        int got = kd_framer_next(f, rec->data + off, rec->len - off, &used, &ev);
        off += used;
        if (!got) {
            if (used == 0)
                break;
            continue;
        }
        switch (ev.kind) {
        case KD_FRAMER_PACKET: emit_packet(d, rec, h2t, NULL, &ev.packet); break;
        case KD_FRAMER_BREAKIN:
            d->st->breakins++;
            if (!d->opt->quiet) {
                line_start(d, rec, h2t, NULL);
                fputs(d->opt->json ? ",\"kd\":\"BREAKIN\"" : "BREAKIN", d->out);
                line_end(d);
            }
            break;
        case KD_FRAMER_ERROR: {
            d->st->framing_errors++;
            if (ev.status == KD_ERR_CHECKSUM)
                d->st->checksum_bad++;
            char msg[96];
            snprintf(msg, sizeof msg, "framing: %s", kd_status_str(ev.status));
            emit_problem(d, rec, h2t, NULL, msg);
            break;
        }
        case KD_FRAMER_GARBAGE: break;
        }
    }
}

static void print_summary(struct decoder *d)
{
    struct decode_stats *st = d->st;
    FILE *o = d->out;
    if (d->opt->json) {
        fprintf(o,
                "{\"summary\":{\"frames\":%lu,\"datagrams\":%lu,\"target_to_host\":%lu,"
                "\"host_to_target\":%lu,\"control_channel\":%lu,\"data_channel\":%lu,"
                "\"decrypted\":%lu,\"hmac_verified\":%lu,\"hmac_failed\":%lu,"
                "\"no_data_key\":%lu,\"duplicates\":%lu,\"handshakes\":%lu,"
                "\"connection_checks\":%lu,\"data_packets\":%lu,\"checksums_valid\":%lu,"
                "\"checksums_bad\":%lu,\"control_packets\":%lu,\"stream_chunks\":%lu,"
                "\"breakins\":%lu,\"bad_frames\":%lu,\"types\":{",
                st->frames, st->datagrams, st->dir_t2h, st->dir_h2t, st->control_dg, st->data_dg,
                st->opened, st->opened, st->auth_failed, st->nokey, st->duplicates, st->handshakes,
                st->conn_checks, st->data_packets, st->checksum_ok, st->checksum_bad,
                st->control_packets, st->stream_chunks, st->breakins, st->bad_frames);
        int first = 1;
        for (int t = 0; t < 16; t++)
            if (st->by_type[t]) {
                fprintf(o, "%s\"%s\":%lu", first ? "" : ",", kd_wire_type_name((uint16_t)t),
                        st->by_type[t]);
                first = 0;
            }
        fputs("},\"apis\":{", o);
        first = 1;
        for (int a = 0; a < 0x40; a++)
            if (st->api_req[a] || st->api_rep[a]) {
                fprintf(o, "%s\"%s\":{\"requests\":%lu,\"replies\":%lu}", first ? "" : ",",
                        kd_describe_api_name(0x3130u + (unsigned)a), st->api_req[a],
                        st->api_rep[a]);
                first = 0;
            }
        fprintf(o,
                "},\"state_changes\":{\"exception\":%lu,\"load_symbols\":%lu,"
                "\"command_string\":%lu},\"print_strings\":%lu,\"file_io\":%lu}}\n",
                st->state[0], st->state[1], st->state[2], st->print_strings, st->file_io);
        return;
    }
    fprintf(o, "\nsummary of %s\n", d->opt->path);
    fprintf(o, "  frames %lu (UDP %lu, other %lu, malformed %lu)\n", st->frames, st->udp, st->other,
            st->bad_frames);
    if (st->datagrams) {
        fprintf(
            o, "  KDNET datagrams %lu: target->host %lu, host->target %lu; control %lu, data %lu\n",
            st->datagrams, st->dir_t2h, st->dir_h2t, st->control_dg, st->data_dg);
        fprintf(o, "  decrypted and HMAC-verified %lu of %lu", st->opened, st->datagrams);
        if (st->auth_failed)
            fprintf(o, "; HMAC failed %lu", st->auth_failed);
        if (st->nokey)
            fprintf(o, "; data channel without key %lu", st->nokey);
        if (st->duplicates)
            fprintf(o, "; duplicates %lu", st->duplicates);
        fprintf(o, "\n  handshakes %lu\n", st->handshakes);
    }
    if (st->stream_chunks)
        fprintf(o, "  stream chunks %lu (%lu bytes), framing errors %lu\n", st->stream_chunks,
                st->stream_bytes, st->framing_errors);
    fprintf(o,
            "  KD packets: %lu data (checksums valid %lu, bad %lu), %lu control, %lu "
            "connection checks, %lu break-ins\n",
            st->data_packets, st->checksum_ok, st->checksum_bad, st->control_packets,
            st->conn_checks, st->breakins);
    fputs("  by type:", o);
    for (int t = 0; t < 16; t++)
        if (st->by_type[t])
            fprintf(o, " %s %lu", kd_wire_type_name((uint16_t)t), st->by_type[t]);
    fputs("\n  by API (requests/replies):", o);
    for (int a = 0; a < 0x40; a++)
        if (st->api_req[a] || st->api_rep[a])
            fprintf(o, " %s %lu/%lu", kd_describe_api_name(0x3130u + (unsigned)a), st->api_req[a],
                    st->api_rep[a]);
    fprintf(o,
            "\n  state changes: exception %lu, load symbols %lu, command string %lu; "
            "print strings %lu; file I/O %lu\n",
            st->state[0], st->state[1], st->state[2], st->print_strings, st->file_io);
}

int decode_run(const struct decode_options *opt, FILE *out, FILE *err, struct decode_stats *stats)
{
    struct decode_stats local;
    struct decoder *d = calloc(1, sizeof *d);
    if (!d) {
        fprintf(err, "kdwatch: out of memory\n");
        return 1;
    }
    d->opt = opt;
    d->out = out;
    d->err = err;
    d->st = stats ? stats : &local;
    memset(d->st, 0, sizeof *d->st);
    d->machine = 0x8664;
    kd_framer_init(&d->framer[0]);
    kd_framer_init(&d->framer[1]);
    int status = 0;
    if (opt->key) {
        uint8_t key[32];
        int part = 0;
        const char *why = "";
        if (kdnet_key_parse(opt->key, key, &part, &why) != KD_OK) {
            if (part > 0)
                fprintf(err,
                        "kdwatch: bad KDNET key: part %d is %s (expected four base-36 "
                        "numbers a.b.c.d)\n",
                        part, why);
            else
                fprintf(err,
                        "kdwatch: bad KDNET key: %s (expected four base-36 numbers "
                        "a.b.c.d)\n",
                        why);
            free(d);
            return 2;
        }
        kdnet_passive_init(&d->kdnet, key);
        memset(key, 0, sizeof key);
        d->have_key = true;
    }
    struct capture_reader *r;
    char ebuf[256];
    if (capture_reader_open(opt->path, &r, ebuf) != KD_OK) {
        fprintf(err, "kdwatch: cannot read capture %s: %s\n", opt->path, ebuf);
        free(d);
        return 1;
    }
    struct capture_record rec;
    int rc;
    while ((rc = capture_reader_next(r, &rec)) == 1) {
        d->st->frames++;
        if (!d->have_t0) {
            d->t0 = rec.time;
            d->have_t0 = true;
        }
        if (rec.cut)
            d->st->cut_frames++;
        switch (rec.kind) {
        case CAPTURE_UDP:
            d->st->udp++;
            on_udp(d, &rec);
            break;
        case CAPTURE_STREAM: on_stream(d, &rec); break;
        case CAPTURE_BAD:
            d->st->bad_frames++;
            emit_problem(d, &rec, -1, NULL, rec.why);
            break;
        default: d->st->other++;
        }
    }
    if (rc < 0) {
        d->st->file_error = 1;
        fprintf(err, "kdwatch: %s: capture damaged %s; everything before it was decoded\n",
                opt->path, capture_reader_error(r));
        status = 1;
    }
    print_summary(d);
    if (d->st->nokey && !d->st->auth_failed)
        fprintf(err,
                "kdwatch: %lu data-channel datagrams cannot be decrypted: the capture starts "
                "after the KDNET handshake, and the data key is agreed in that handshake "
                "(the control channel was decoded)\n",
                d->st->nokey);
    if (d->st->auth_failed) {
        if (d->st->opened == 0)
            fprintf(err, "kdwatch: no datagram verifies with this key: the HMAC does not "
                         "verify (wrong key?)\n");
        else
            fprintf(err, "kdwatch: %lu datagram(s) failed HMAC verification (first at frame %lu)\n",
                    d->st->auth_failed, d->auth_fail_frames[0]);
        status = 1;
    }
    if (d->st->bad_frames || d->st->packet_bad || d->st->checksum_bad) {
        if (!status)
            fprintf(err,
                    "kdwatch: %lu malformed frame(s), %lu bad KD packet(s), %lu bad "
                    "checksum(s): see the lines marked !!\n",
                    d->st->bad_frames, d->st->packet_bad, d->st->checksum_bad);
        status = 1;
    }
    capture_reader_free(r);
    free(d);
    return status;
}
