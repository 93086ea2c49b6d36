/* args.h: table-driven command-line options for the posbench subcommands.
 *
 * Each subcommand declares its options once (an ArgSpec table ending in
 * {NULL}); parsing, range checks, error messages and --help all come from it.
 * Accepts "--name value" and "--name=value"; "--" ends the options.
 */
#ifndef POSBENCH_ARGS_H
#define POSBENCH_ARGS_H

#include <stdint.h>
#include <stdio.h>

#include "../../core/status.h"

typedef enum {
    ARG_FLAG,   /* int*: set to 1 when present */
    ARG_INT,    /* int*: whole number within [min, max] */
    ARG_U64,    /* uint64_t*: whole number >= 0 */
    ARG_STRING, /* const char**: any non-empty text */
    ARG_CHOICE, /* const char**: one of choices */
} ArgType;

typedef struct {
    const char *name;            /* "--batch" */
    const char *alias;           /* optional short form, "-o" */
    ArgType type;
    void *dest;
    long long min, max;          /* ARG_INT range */
    const char *const *choices;  /* ARG_CHOICE: NULL-terminated */
    const char *metavar;         /* shown in help: N, FILE, ... */
    const char *help;
    int *given;                  /* optional: set to 1 when the option appears */
} ArgSpec;

typedef struct {
    const char *name;            /* subcommand, e.g. "batches" */
    const char *usage;           /* arguments after the name */
    const char *summary;         /* one line */
    const ArgSpec *options;      /* {NULL}-terminated */
    int min_positional, max_positional;
} ArgCommand;

/* Parses argv[0..argc) (the words after the subcommand). Positional words go
 * to positional[] (room for max_positional). PB_USAGE with a one-line message
 * on any error. *help is set when --help or -h was given (nothing else is
 * then checked). */
PbStatus args_parse(const ArgCommand *cmd, int argc, char **argv,
                    const char **positional, int *n_positional, int *help);

void args_print_help(const ArgCommand *cmd, FILE *f);

#endif
