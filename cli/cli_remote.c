/* PLACEHOLDER until the pipeline work lands: replaced by the real remote client. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
int cli_wants_remote(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--endpoint"))
            return 1;
    return 0;
}
int cli_remote(const char *cmd, int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "zembed: remote %s is not built yet\n", cmd);
    return 2;
}
