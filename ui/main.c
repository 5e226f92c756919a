/* main.c: kdwatch's entry point, read as a recipe:
 *   1. pick the subcommand from argv[1];
 *   2. parse its options (ui/cli.c);
 *   3. run it: each subcommand is one function in ui/ that returns the exit status.
 * Only ui/ prints and exits; kdproto/ and monitor/ return statuses. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        cli_usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    const struct cli_command *cmd = cli_find(argv[1]);
    if (!cmd) {
        fprintf(stderr, "kdwatch: unknown command '%s'\n\n", argv[1]);
        cli_usage(stderr);
        return 2;
    }
    return cmd->run(argc - 1, argv + 1);
}
