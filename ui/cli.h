/* cli.h: kdwatch's subcommands and their option parsing. */
#ifndef CLI_H
#define CLI_H

#include <stdio.h>

struct cli_command {
    const char *name;
    const char *synopsis;              /* one usage line */
    int (*run)(int argc, char **argv); /* argv[0] is the command name; returns exit status */
};

/* The command named name, or NULL. */
const struct cli_command *cli_find(const char *name);
void cli_usage(FILE *out);

#endif
