/* cli.c: the table of subcommands and their option parsing. A new command
 * is one function and one table line. */
#include "cli.h"
#include "analyze_out.h"
#include "dash_demo.h"
#include "decode.h"
#include "kd_status.h"
#include "transport.h"
#include "watch.h"

#include "ports.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Value of "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != 0 || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int cmd_decode(int argc, char **argv)
{
    struct decode_options o = {0};
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--key")))
            o.key = v;
        else if (!strcmp(argv[i], "--json"))
            o.json = true;
        else if (!strcmp(argv[i], "--summary"))
            o.quiet = true;
        else if (argv[i][0] == '-' || o.path) {
            fprintf(stderr, "kdwatch decode: unexpected argument '%s'\n", argv[i]);
            return 2;
        } else
            o.path = argv[i];
    }
    if (!o.path) {
        fprintf(stderr, "usage: kdwatch decode FILE [--key KEY] [--json] [--summary]\n");
        return 2;
    }
    return decode_run(&o, stdout, stderr, NULL);
}

static int cmd_analyze(int argc, char **argv)
{
    bool json = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "kdwatch analyze: unexpected option '%s'\n", argv[i]);
            return 2;
        } else if (path) {
            fprintf(stderr, "kdwatch analyze: one file at a time\n");
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: kdwatch analyze [--json] FILE   (FILE may be - for stdin)\n");
        return 2;
    }
    int rc = analyze_out_file(path, json, stdout);
    if (rc != KD_OK) {
        fprintf(stderr, "kdwatch analyze: %s: %s\n", path, kd_status_str(rc));
        return 1;
    }
    return 0;
}

static int cmd_ports(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "kdwatch ports: unexpected argument '%s'\nusage: kdwatch ports\n", argv[1]);
        return 2;
    }
    return ports_run(stdout);
}

/* Options shared by watch and replay; returns 0, or 2 after a usage message. */
static int parse_watch(int argc, char **argv, struct watch_options *o, const char **target)
{
    o->interval_ms = 1000;
    o->max_stall_ms = 20;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--duration")))
            o->duration_s = atof(v);
        else if ((v = opt_value(argc, argv, &i, "--interval")))
            o->interval_ms = atoi(v);
        else if ((v = opt_value(argc, argv, &i, "--max-stall")))
            o->max_stall_ms = atoi(v);
        else if ((v = opt_value(argc, argv, &i, "--connect-timeout")))
            o->connect_timeout_ms = atoi(v);
        else if ((v = opt_value(argc, argv, &i, "--record")))
            o->record = v;
        else if ((v = opt_value(argc, argv, &i, "--symbols")))
            o->symbols = v;
        else if ((v = opt_value(argc, argv, &i, "--report")))
            o->report = v;
        else if ((v = opt_value(argc, argv, &i, "--svg")))
            o->svg = v;
        else if ((v = opt_value(argc, argv, &i, "--fail-below")))
            o->fail_below = v;
        else if ((v = opt_value(argc, argv, &i, "--key")))
            o->key = v;
        else if ((v = opt_value(argc, argv, &i, "--speed"))) {
            if (!strcmp(v, "max"))
                o->speed = 0;
            else if ((o->speed = atof(v)) <= 0) {
                fprintf(stderr, "kdwatch %s: --speed takes a factor > 0 or max\n", argv[0]);
                return 2;
            }
        } else if ((v = opt_value(argc, argv, &i, "--frames")))
            o->frames = atoi(v);
        else if (!strcmp(argv[i], "--json"))
            o->json = true;
        else if (!strcmp(argv[i], "--text"))
            o->text = true;
        else if (!strcmp(argv[i], "--paint"))
            o->paint = true;
        else if (argv[i][0] == '-' || *target) {
            fprintf(stderr, "kdwatch %s: unexpected argument '%s'\n", argv[0], argv[i]);
            return 2;
        } else
            *target = argv[i];
    }
    if (o->interval_ms <= 0 || o->max_stall_ms <= 0 || o->duration_s < 0) {
        fprintf(stderr, "kdwatch %s: --interval, --max-stall and --duration must be positive\n",
                argv[0]);
        return 2;
    }
    return 0;
}

static int cmd_watch(int argc, char **argv)
{
    struct watch_options o = {0};
    const char *uri = NULL;
    if (parse_watch(argc, argv, &o, &uri))
        return 2;
    if (!uri) {
        fprintf(stderr,
                "usage: kdwatch watch URI [options]   (kdwatch --help lists them)\n"
                "targets (URI):\n%s",
                transport_usage());
        return 2;
    }
    o.uri = uri;
    return watch_run(&o);
}

static int cmd_replay(int argc, char **argv)
{
    struct watch_options o = {0};
    const char *path = NULL;
    o.speed = 0;
    o.replay = true;
    if (parse_watch(argc, argv, &o, &path))
        return 2;
    if (!path) {
        fprintf(stderr, "usage: kdwatch replay FILE [--key KEY] [--speed X|max] [options]\n");
        return 2;
    }
    o.uri = path;
    return watch_replay(&o, o.speed);
}

/* Hidden developer command: the fake session through the dashboard or the
 * headless outputs (ui/dash_demo.c). */
static int cmd_ui_demo(int argc, char **argv)
{
    struct dash_demo_options o = {0};
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--frames")))
            o.frames = atoi(v);
        else if ((v = opt_value(argc, argv, &i, "--interval")))
            o.interval_ms = atoi(v);
        else if ((v = opt_value(argc, argv, &i, "--samples")))
            o.samples = (unsigned)strtoul(v, NULL, 10);
        else if ((v = opt_value(argc, argv, &i, "--threads")))
            o.threads = (size_t)strtoul(v, NULL, 10);
        else if ((v = opt_value(argc, argv, &i, "--report")))
            o.report = v;
        else if ((v = opt_value(argc, argv, &i, "--svg")))
            o.svg = v;
        else if ((v = opt_value(argc, argv, &i, "--fail-below")))
            o.fail_below = v;
        else if (!strcmp(argv[i], "--text"))
            o.text = true;
        else if (!strcmp(argv[i], "--json"))
            o.json = true;
        else {
            fprintf(stderr, "usage: kdwatch ui-demo [--frames N] [--text|--json] [--interval MS] "
                            "[--samples N] [--threads N] [--report FILE] [--svg FILE] "
                            "[--fail-below N|N%%]\n");
            return 2;
        }
    }
    return dash_demo_run(&o);
}

static const struct cli_command commands[] = {
    {"watch",
     "watch URI [--duration S] [--interval MS] [--max-stall MS] [--json|--text]\n"
     "                [--record FILE] [--symbols ISF.json] [--report FILE] [--svg FILE]\n"
     "                [--fail-below N|N%] [--paint] [--connect-timeout MS]\n"
     "      attach to a target, sample every thread's stack headroom, explain the crash",
     cmd_watch},
    {"replay",
     "replay FILE [--key KEY] [--speed X|max] [--json|--text] [--report FILE] [--svg FILE]\n"
     "      a recorded session again, through the same monitor and views",
     cmd_replay},
    {"analyze",
     "analyze [--json] FILE|-\n"
     "      frame sizes, usage per module, cycles and re-entrancy from WinDbg stack text",
     cmd_analyze},
    {"decode",
     "decode FILE [--key a.b.c.d] [--json] [--summary]\n"
     "      every KD packet of a pcap/pcapng capture (KDNET or a kdwatch recording)",
     cmd_decode},
    {"ports", "ports\n      the serial ports and USB devices this host can connect to", cmd_ports},
    {"ui-demo", NULL, cmd_ui_demo}, /* hidden: no synopsis */
};

const struct cli_command *cli_find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

void cli_usage(FILE *out)
{
    fputs("kdwatch: live kernel-stack headroom for Windows targets over KD\n\nusage:\n", out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].synopsis)
            fprintf(out, "  kdwatch %s\n", commands[i].synopsis);
    fprintf(out,
            "\ntargets (URI):\n%s\nexamples:\n"
            "  kdwatch watch unix:/tmp/win-kd.sock          QEMU -serial "
            "unix:/tmp/win-kd.sock,server=on,wait=off\n"
            "  kdwatch watch kdnet:port=50000,key=1.2.3.4   bcdedit /dbgsettings net hostip:... "
            "port:50000 key:1.2.3.4\n"
            "  kdwatch replay captures/kdsim-doublefault-recursion.pcapng\n"
            "  kdwatch analyze crash-stack.txt\n",
            transport_usage());
}
