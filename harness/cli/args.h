/* args.h: table-driven command-line options for the posbench subcommands.
 *
 * Each subcommand declares its options once (an ArgSpec table ending in
 * {NULL}); parsing, range checks, error messages and --help all come from it.
 * Accepts "--name value" and "--name=value"; "--" ends the options.
 *
 * --resume: a command that resumes from a file whose settings it takes marks
 * its resume option ARG_RESUME and every option the file decides
 * ARG_NOT_WITH_RESUME; the parser then refuses the two together, naming the
 * option, with the command's resume_refusal text.
 */
#ifndef POSBENCH_ARGS_H
#define POSBENCH_ARGS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "../../core/status.h"

typedef enum {
    ARG_FLAG,   /* int*: set to 1 when present */
    ARG_INT,    /* int*: whole number within [min, max] */
    ARG_U64,    /* uint64_t*: whole number >= 0 */
    ARG_STRING, /* const char**: any non-empty text */
    ARG_CHOICE, /* const char**: one of choices */
    ARG_DOUBLE, /* double*: finite number within [lo, hi] ((lo, hi] with ARG_ABOVE_LO) */
} ArgType;

/* ArgSpec.flags */
enum {
    ARG_ABOVE_LO = 1u << 0,        /* ARG_DOUBLE: lo itself is refused (lo 0: positive) */
    ARG_RESUME = 1u << 1,          /* this option resumes from a file... */
    ARG_NOT_WITH_RESUME = 1u << 2, /* ...whose settings this option would contradict */
};

/* ARG_DOUBLE without a bound on that side. */
#define ARG_UNBOUNDED HUGE_VAL

typedef struct {
    const char *name;  /* "--batch" */
    const char *alias; /* optional short form, "-o" */
    ArgType type;
    void *dest;
    long long min, max;         /* ARG_INT range */
    const char *const *choices; /* ARG_CHOICE: NULL-terminated */
    const char *metavar;        /* shown in help: N, FILE, ... */
    const char *help;
    int *given;     /* optional: set to 1 when the option appears */
    unsigned flags; /* ARG_ABOVE_LO, ARG_RESUME, ARG_NOT_WITH_RESUME */
    double lo, hi;  /* ARG_DOUBLE range (required; ARG_UNBOUNDED: none) */
} ArgSpec;

typedef struct {
    const char *name;       /* subcommand, e.g. "batches" */
    const char *usage;      /* arguments after the name */
    const char *summary;    /* one line */
    const ArgSpec *options; /* {NULL}-terminated */
    int min_positional, max_positional;
    /* Optional: why ARG_NOT_WITH_RESUME options are refused with the
     * ARG_RESUME one; the parser appends ", not --option". */
    const char *resume_refusal;
} ArgCommand;

/* Parses argv[0..argc) (the words after the subcommand). Positional words go
 * to positional[] (room for max_positional). PB_USAGE with a one-line message
 * on any error. When --help or -h was given, the help goes to standard output,
 * *help is set and nothing else is checked. An ARG_NOT_WITH_RESUME option together with an ARG_RESUME
 * one is refused after everything else is checked. */
PbStatus args_parse(const ArgCommand *cmd, int argc, char **argv, const char **positional, int *n_positional,
                    int *help);

/* The command's help text (args_parse prints it itself on --help). */
void args_print_help(const ArgCommand *cmd, FILE *f);

#endif
