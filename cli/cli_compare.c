/* PLACEHOLDER until the owning work lands: replaced by the real subcommand. */
#include <stdio.h>
#include "cli.h"
int cli_compare_tokenizers(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "zembed: compare-tokenizers is not built yet\n");
    return 2;
}
