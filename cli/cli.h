/* cli: the `zembed` command's subcommands. Each returns the process exit status:
 * 0 success, 1 some input lines failed (each reported in the output), 2 usage or setup error. */
#ifndef CLI_H
#define CLI_H

int cli_tokenize(int argc, char **argv);   /* local: --model DIR        (cli_tokenize.c) */
int cli_encode(int argc, char **argv);     /* local: --model DIR        (cli_encode.c)   */
int cli_gen_model(int argc, char **argv);  /* write a seeded random HF model folder (cli_gen_model.c) */
int cli_compare_tokenizers(int argc, char **argv); /* char vs word vs subword on one corpus (cli_compare.c) */
int cli_fetch_model(int argc, char **argv); /* resolve/download a model folder into the cache (cli_fetch.c) */
int cli_remote(const char *cmd, int argc, char **argv); /* embed|tokenize|similarity|info --endpoint E (cli_remote.c) */

/* 1 if argv holds --endpoint (or ZEMBED_ENDPOINT is set and --model is absent). */
int cli_wants_remote(int argc, char **argv);

#endif
