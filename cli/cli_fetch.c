/* PLACEHOLDER until the owning work lands: replaced by the real subcommand. */
#include <stdio.h>
#include "cli.h"
int cli_fetch_model(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "zembed: fetch-model is not built yet\n");
    return 2;
}
