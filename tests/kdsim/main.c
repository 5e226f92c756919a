/* main.c: kdsim, a simulated Windows 10 19041 x64 target under a kernel
 * debugger, on a pty, a TCP or Unix listener, or KDNET.
 *
 *   kdsim --scenario NAME [--seed N] [--threads N] [--cpus N] --listen URI
 *         [--truth FILE] [--baud N] [--corrupt P] [--drop P] [--dup P]
 *         [--delay MS] [--reset-after N] [--tick-ms MS] [--lenient-int3]
 *         [--exit-on-detach] [--verbose]
 *
 * The first line on stdout is where to connect (for `pty`, the slave path).
 * On exit it lists the host's breakpoints still in memory and writes the
 * ground truth. Recipe: parse, build the machine, serve until told to stop. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kd_status.h"
#include "sim_images.h"
#include "sim_listen.h"
#include "sim_truth.h"
#include "sim_wire.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_line(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "kdsim: %s\n", line);
}

struct options {
    struct sim_target_config target;
    struct sim_wire_config wire;
    const char *listen, *truth;
    bool exit_on_detach;
};

static int usage(void)
{
    fprintf(
        stderr,
        "usage: kdsim --scenario idle|stress|doublefault-recursion|minifilter-reentrancy|bugcheck\n"
        "             [--seed N] [--threads N] [--cpus N] --listen pty|tcp:PORT|unix:PATH|\n"
        "             kdnet:host=IP,port=P,key=K[,tport=Q] [--truth FILE] [--baud N]\n"
        "             [--corrupt P] [--drop P] [--dup P] [--delay MS] [--reset-after N]\n"
        "             [--tick-ms MS] [--lenient-int3] [--exit-on-detach] [--verbose]\n");
    return 2;
}

static int parse(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof(*o));
    o->target.scenario = (struct sim_scenario_config){"idle", 1, 256, 2};
    o->target.strict_int3 = true; /* a kernel does not step over an int3 for the host */
    o->wire.tick_ms = 16;
    o->wire.log = log_line;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool flag = strcmp(a, "--lenient-int3") == 0 || strcmp(a, "--exit-on-detach") == 0 ||
                    strcmp(a, "--verbose") == 0;
        if (!flag && !v)
            return usage();
        if (!flag)
            i++;
        if (strcmp(a, "--scenario") == 0)
            o->target.scenario.name = v;
        else if (strcmp(a, "--seed") == 0)
            o->target.scenario.seed = strtoull(v, NULL, 0);
        else if (strcmp(a, "--threads") == 0)
            o->target.scenario.threads = (uint32_t)strtoul(v, NULL, 0);
        else if (strcmp(a, "--cpus") == 0)
            o->target.scenario.cpus = (uint16_t)strtoul(v, NULL, 0);
        else if (strcmp(a, "--listen") == 0)
            o->listen = v;
        else if (strcmp(a, "--truth") == 0)
            o->truth = v;
        else if (strcmp(a, "--baud") == 0)
            o->wire.baud = (uint32_t)strtoul(v, NULL, 0);
        else if (strcmp(a, "--corrupt") == 0)
            o->wire.corrupt = strtod(v, NULL);
        else if (strcmp(a, "--drop") == 0)
            o->wire.drop = strtod(v, NULL);
        else if (strcmp(a, "--dup") == 0)
            o->wire.dup = strtod(v, NULL);
        else if (strcmp(a, "--delay") == 0)
            o->wire.delay_ms = (uint32_t)strtoul(v, NULL, 0);
        else if (strcmp(a, "--reset-after") == 0)
            o->wire.reset_after = (uint32_t)strtoul(v, NULL, 0);
        else if (strcmp(a, "--tick-ms") == 0)
            o->wire.tick_ms = (uint32_t)strtoul(v, NULL, 0);
        else if (strcmp(a, "--lenient-int3") == 0)
            o->target.strict_int3 = false;
        else if (strcmp(a, "--exit-on-detach") == 0)
            o->exit_on_detach = true;
        else if (strcmp(a, "--verbose") == 0)
            o->wire.verbose = true;
        else
            return usage();
    }
    if (!o->listen || !o->wire.tick_ms)
        return usage();
    o->wire.seed = o->target.scenario.seed;
    o->target.ms_per_tick = o->wire.tick_ms; /* one wire tick is one scenario tick */
    return 0;
}

static void write_truth(const struct options *o, struct sim_target *t)
{
    if (!o->truth)
        return;
    struct sim_scenario *s = sim_target_scenario(t);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", o->truth);
    FILE *f = fopen(tmp, "w");
    if (!f || sim_truth_write(sim_scenario_truth(s), sim_scenario_kernel(s), f) != KD_OK ||
        fclose(f) != 0 || rename(tmp, o->truth) != 0)
        fprintf(stderr, "kdsim: cannot write %s: %s\n", o->truth, strerror(errno));
}

/* What a host left patched in the target when it went away. */
static void report_breakpoints(struct sim_target *t)
{
    const struct sim_kernel *k = sim_scenario_kernel(sim_target_scenario(t));
    struct sim_mem_bp bp[SIM_MEM_BP_MAX];
    size_t n = sim_mem_bp_list(k->mem, bp, SIM_MEM_BP_MAX);
    printf("kdsim: %zu breakpoint%s still in memory\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const struct sim_fn *f = sim_images_fn_at(&k->im, bp[i].addr);
        printf("kdsim: breakpoint %" PRIu32 " at 0x%" PRIx64 " %s%s%s+0x%" PRIx64 "\n",
               bp[i].handle, bp[i].addr, f ? k->im.mods[f->module].name : "?", f ? "!" : "",
               f ? f->name : "", f ? bp[i].addr - f->addr : 0);
    }
    fflush(stdout);
}

/* Serves the host until a signal (or, with exit_on_detach, until it leaves). */
static int serve(const struct options *o, struct sim_listen *l, struct sim_wire *w,
                 struct sim_target *t)
{
    uint8_t buf[65536];
    bool had_host = false, was_stopped = false;
    while (!g_stop) {
        uint64_t now = now_ms();
        if (sim_wire_poll(w, now) != KD_OK)
            fprintf(stderr, "kdsim: wire error\n");
        const uint8_t *out;
        size_t len;
        while (sim_wire_next_out(w, now, &out, &len) == KD_OK)
            sim_listen_send(l, out, len);
        if (sim_wire_stopped(w) && !was_stopped)
            write_truth(o, t); /* keep the truth current at every stop */
        was_stopped = sim_wire_stopped(w);
        uint64_t due = sim_wire_next_due(w);
        int timeout = due == UINT64_MAX ? 100
                      : due <= now      ? 0
                                        : (int)(due - now < 100 ? due - now : 100);
        struct pollfd p = {sim_listen_poll_fd(l), POLLIN, 0};
        if (p.fd < 0 && timeout > 20)
            timeout = 20; /* nothing to wait on: look at the pty again soon */
        int r = p.fd >= 0 ? poll(&p, 1, timeout) : poll(NULL, 0, timeout);
        if (r < 0 && errno != EINTR)
            return KD_ERR_IO;
        if (sim_listen_accept(l))
            fprintf(stderr, "kdsim: host connected\n");
        size_t n;
        int st = sim_listen_recv(l, buf, sizeof(buf), &n);
        now = now_ms();
        if (st == KD_OK && n) {
            had_host = true;
            sim_wire_input(w, now, buf, n);
        } else if (st == KD_ERR_CLOSED) {
            sim_wire_disconnected(w);
            if (o->exit_on_detach && had_host)
                return KD_OK;
        }
    }
    return KD_OK;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse(argc, argv, &o) != 0)
        return 2;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    struct sim_target *t = NULL;
    struct sim_wire *w = NULL;
    struct sim_listen l;
    char err[256];
    int rc = 1, st = sim_target_new(&o.target, &t);
    if (st != KD_OK) {
        fprintf(stderr, "kdsim: scenario %s: %s\n", o.target.scenario.name, kd_status_str(st));
        return 1;
    }
    if ((st = sim_listen_open(o.listen, &l, err, sizeof(err))) != KD_OK) {
        fprintf(stderr, "kdsim: --listen %s: %s\n", o.listen, err);
        goto free_target;
    }
    o.wire.kdnet = l.kind == SIM_LISTEN_KDNET;
    o.wire.kdnet_key = l.key;
    memcpy(o.wire.host_ip, l.host_ip, 4);
    memcpy(o.wire.target_ip, l.local_ip, 4);
    o.wire.host_port = l.host_port;
    o.wire.target_port = l.local_port;
    if ((st = sim_wire_new(t, &o.wire, &w)) != KD_OK) {
        fprintf(stderr, "kdsim: %s\n", kd_status_str(st));
        goto close_listen;
    }
    printf("%s\n", l.kind == SIM_LISTEN_PTY ? l.where + 4 : l.where);
    fflush(stdout);
    fprintf(stderr, "kdsim: scenario %s, seed %" PRIu64 ", listening on %s\n",
            o.target.scenario.name, o.target.scenario.seed, l.where);
    rc = serve(&o, &l, w, t) == KD_OK ? 0 : 1;
    report_breakpoints(t);
    write_truth(&o, t);
    sim_wire_free(w);
close_listen:
    sim_listen_close(&l);
free_target:
    sim_target_free(t);
    return rc;
}
