/* cli: the `zembed` command's commands (the table in zembed_main.c lists them). Each handler gets
 * argv[0] = its own name and returns the process exit status: 0 success, 1 some input lines failed
 * (each reported in the output), 2 usage or setup error, 130 stopped by SIGINT.
 *
 * Every handler has the same shape (see common/zb_opt.h): an options struct; parse (zb_opt_next,
 * --help and --version included) -> load (model, files) -> run. */
#ifndef CLI_H
#define CLI_H

typedef int (*cli_fn)(int argc, char **argv);

int cli_tokenize(int argc, char **argv);   /* local: --model DIR        (cli_tokenize.c) */
int cli_encode(int argc, char **argv);     /* local: --model DIR        (cli_encode.c)   */
int cli_gen_model(int argc, char **argv);  /* write a seeded random HF model folder (cli_gen_model.c) */
int cli_compare_tokenizers(int argc, char **argv); /* char vs word vs subword on one corpus (cli_compare.c) */
int cli_fetch_model(int argc, char **argv); /* resolve/download a model folder into the cache (cli_fetch.c) */
int cli_remote(int argc, char **argv);     /* embed|tokenize|similarity|info --endpoint E (cli_remote.c) */

/* 1 if argv holds --endpoint (or ZEMBED_ENDPOINT is set and --model is absent). */
int cli_wants_remote(int argc, char **argv);

/* A remote-only command given --model: prints where local work is done (local_alt, the local
 * command doing the same, or none) and returns 1; 0 when argv has no --model. */
int cli_refuse_model(const char *cmd, const char *local_alt, int argc, char **argv);

#endif
