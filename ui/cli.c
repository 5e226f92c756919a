/* cli.c: the table of subcommands and their option parsing. A new command
 * is one function and one table line. */
#include "cli.h"
#include "decode.h"

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

static const struct cli_command commands[] = {
    {"decode", "decode FILE [--key a.b.c.d] [--json] [--summary]   dissect a pcap/pcapng capture",
     cmd_decode},
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
        fprintf(out, "  kdwatch %s\n", commands[i].synopsis);
}
