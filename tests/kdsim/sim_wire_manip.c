/* sim_wire_manip.c: kdsim's answers to DBGKD_MANIPULATE_STATE64 requests,
 * as a kernel's KD stub gives them (kd-protocol.md §3.2). */
#include "sim_wire_impl.h"

#include <string.h>

#include "kd_le.h"
#include "kd_status.h"
#include "sim_profile.h"

static uint32_t status_of(int st)
{
    return st == KD_OK ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

static int send_reply(struct sim_wire *w, uint64_t now, const struct kd_manip *rep)
{
    size_t used;
    int st = kd_api_manip_encode(rep, w->tx, sizeof(w->tx), &used);
    if (st != KD_OK)
        return st;
    return sim_wire_queue_data(w, now, KD_PACKET_TYPE_KD_STATE_MANIPULATE, w->tx, used);
}

/* Reads count bytes at addr through op; a short copy is STATUS_UNSUCCESSFUL
 * with what was copied (KdpCopyMemoryChunks). */
static int reply_read(struct sim_wire *w, uint64_t now, const struct kd_manip *req, int st,
                      uint32_t got)
{
    struct kd_manip rep;
    uint32_t status =
        st == KD_OK && got == req->u.memory.count ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
    int rc = kd_api_manip_reply_read(&rep, req, status, w->buf, got);
    return rc == KD_OK ? send_reply(w, now, &rep) : rc;
}

/* SwitchProcessor: no reply; processor n reports itself stopped. */
static int switch_processor(struct sim_wire *w, uint64_t now, uint16_t cpu)
{
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(w->t));
    if (cpu >= k->ncpus)
        return KD_OK;
    uint8_t ctx[0x100];
    uint32_t got;
    w->kt.ops->get_context(w->kt.ctx, cpu, ctx, sizeof(ctx), &got);
    struct sim_event ev = {.why = SIM_STOP_BREAKPOINT,
                           .cpu = cpu,
                           .ncpus = k->ncpus,
                           .thread = k->threads[k->cpu[cpu].thread].ethread,
                           .pc = kd_le64(ctx + SIM_CONTEXT_RIP),
                           .code = STATUS_WAKE_SYSTEM_DEBUGGER,
                           .first_chance = 1};
    struct kd_state_change sc;
    int st = sim_target_state_change(w->t, &ev, &sc);
    return st == KD_OK ? sim_wire_report(w, now, &sc) : st;
}

int sim_wire_manip_handle(struct sim_wire *w, uint64_t now, const uint8_t *payload, size_t len)
{
    struct kd_manip req, rep;
    int st = kd_api_manip_decode(payload, len, &req);
    if (st != KD_OK)
        return st;
    w->stats.requests++;
    if (w->cfg.verbose)
        sim_wire_log(w, "request %s (0x%x) cpu %u",
                     kd_api_name(req.api) ? kd_api_name(req.api) : "?", req.api, req.processor);
    const struct kd_target_ops *ops = w->kt.ops;
    void *ctx = w->kt.ctx;
    uint32_t n = 0, handle = 0;
    switch (req.api) {
    case DbgKdGetVersionApi: {
        struct kd_version v;
        if ((st = ops->get_version(ctx, &v)) != KD_OK)
            break;
        kd_api_manip_reply_version(&rep, &req, &v);
        return send_reply(w, now, &rep);
    }
    case DbgKdReadVirtualMemoryApi: {
        uint32_t count =
            req.u.memory.count < KD_API_MANIP_DATA_MAX ? req.u.memory.count : KD_API_MANIP_DATA_MAX;
        st = ops->read_virtual(ctx, req.u.memory.address, w->buf, count, &n);
        return reply_read(w, now, &req, st, n);
    }
    case DbgKdReadControlSpaceApi: {
        uint32_t count =
            req.u.memory.count < KD_API_MANIP_DATA_MAX ? req.u.memory.count : KD_API_MANIP_DATA_MAX;
        st = ops->read_control(ctx, req.processor, req.u.memory.address, w->buf, count, &n);
        /* A control read is as long as the block: a short one is still a success. */
        kd_api_manip_reply_read(&rep, &req, status_of(st), w->buf, n);
        return send_reply(w, now, &rep);
    }
    case DbgKdWriteVirtualMemoryApi: {
        uint32_t count =
            req.data_len < req.u.memory.count ? (uint32_t)req.data_len : req.u.memory.count;
        st = ops->write_virtual(ctx, req.u.memory.address, req.data, count, &n);
        kd_api_manip_reply_write(&rep, &req, st == KD_OK && n == count ? 0 : STATUS_UNSUCCESSFUL,
                                 n);
        return send_reply(w, now, &rep);
    }
    case DbgKdWriteControlSpaceApi: {
        uint32_t count =
            req.data_len < req.u.memory.count ? (uint32_t)req.data_len : req.u.memory.count;
        st = sim_target_write_control(w->t, req.processor, req.u.memory.address, req.data, count,
                                      &n);
        kd_api_manip_reply_write(&rep, &req, status_of(st), n);
        return send_reply(w, now, &rep);
    }
    case DbgKdGetContextApi:
        st = ops->get_context(ctx, req.processor, w->buf, KD_API_CONTEXT_AMD64_SIZE, &n);
        kd_api_manip_reply_context(&rep, &req, status_of(st), w->buf, st == KD_OK ? n : 0);
        return send_reply(w, now, &rep);
    case DbgKdGetContextExApi: {
        st = ops->get_context(ctx, req.processor, w->buf, KD_API_CONTEXT_AMD64_SIZE, &n);
        uint32_t off = req.u.context_ex.offset, cnt = req.u.context_ex.count;
        if (st != KD_OK || off > n)
            off = n, st = KD_ERR_TARGET;
        cnt = cnt < n - off ? cnt : n - off;
        kd_api_manip_reply_context(&rep, &req, status_of(st), w->buf + off, cnt);
        return send_reply(w, now, &rep);
    }
    case DbgKdSetContextApi:
        st = sim_target_set_context(w->t, req.processor, 0, req.data,
                                    req.data_len < KD_API_CONTEXT_AMD64_SIZE
                                        ? (uint32_t)req.data_len
                                        : KD_API_CONTEXT_AMD64_SIZE);
        break;
    case DbgKdSetContextExApi: {
        uint32_t cnt =
            req.data_len < req.u.context_ex.count ? (uint32_t)req.data_len : req.u.context_ex.count;
        st = sim_target_set_context(w->t, req.processor, req.u.context_ex.offset, req.data, cnt);
        kd_api_manip_reply_context(&rep, &req, status_of(st), NULL, 0);
        rep.u.context_ex.copied = st == KD_OK ? cnt : 0;
        return send_reply(w, now, &rep);
    }
    case DbgKdWriteBreakPointApi:
        st = ops->write_breakpoint(ctx, req.u.write_bp.address, &handle);
        kd_api_manip_reply_write_breakpoint(&rep, &req, status_of(st), handle);
        sim_wire_log(w, "WriteBreakPoint 0x%llx -> %s handle %u",
                     (unsigned long long)req.u.write_bp.address, kd_status_str(st), handle);
        return send_reply(w, now, &rep);
    case DbgKdRestoreBreakPointApi:
        st = ops->restore_breakpoint(ctx, req.u.restore_bp.handle);
        break;
    case DbgKdContinueApi:
    case DbgKdContinueApi2: {
        uint32_t status = req.api == DbgKdContinueApi ? req.u.cont.status : req.u.cont2.status;
        sim_wire_log(w, "%s 0x%08x", req.api == DbgKdContinueApi ? "Continue" : "Continue2",
                     status);
        if ((st = ops->resume(ctx, status)) != KD_OK)
            return st;
        w->running = true;
        w->next_tick = now + w->cfg.tick_ms;
        struct kd_state_change sc;
        if (ops->wait_event(ctx, 0, &sc) == KD_OK) /* stopped again at once */
            return sim_wire_report(w, now, &sc);
        return KD_OK;
    }
    case DbgKdSwitchProcessor: return switch_processor(w, now, req.processor);
    case DbgKdRebootApi: sim_wire_log(w, "Reboot ignored"); return KD_OK;
    default: st = KD_ERR_UNSUPPORTED; break; /* STATUS_UNSUCCESSFUL, no data */
    }
    kd_api_manip_reply_init(&rep, &req, status_of(st));
    return send_reply(w, now, &rep);
}
