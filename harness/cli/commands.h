/* commands.h: the posbench subcommands, one function each. Each parses its
 * own options (harness/cli/args.h) and returns a status; main() prints the
 * message and exits. */
#ifndef POSBENCH_COMMANDS_H
#define POSBENCH_COMMANDS_H

#include "../../core/status.h"

typedef struct {
    const char *name;
    const char *summary;
    PbStatus (*run)(int argc, char **argv); /* argv: the words after the name */
} Subcommand;

PbStatus cmd_tokenize(int argc, char **argv);
PbStatus cmd_detokenize(int argc, char **argv);
PbStatus cmd_batches(int argc, char **argv);
PbStatus cmd_embed(int argc, char **argv);
PbStatus cmd_run(int argc, char **argv);
PbStatus cmd_list(int argc, char **argv);
PbStatus cmd_export(int argc, char **argv);
PbStatus cmd_plot(int argc, char **argv);
PbStatus cmd_bench(int argc, char **argv);
PbStatus cmd_show(int argc, char **argv);
PbStatus cmd_compare(int argc, char **argv);
PbStatus cmd_train(int argc, char **argv);
PbStatus cmd_generalize(int argc, char **argv);

/* Flushes standard output; PB_IO if anything written to it was lost. */
PbStatus finish_stdout(void);

#endif
