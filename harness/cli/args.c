/* args.c: the option parser behind every subcommand (see args.h). */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const ArgSpec *find_option(const ArgCommand *cmd, const char *word, size_t len) {
    for (const ArgSpec *s = cmd->options; s && s->name; s++) {
        if (strlen(s->name) == len && strncmp(s->name, word, len) == 0) return s;
        if (s->alias && strlen(s->alias) == len && strncmp(s->alias, word, len) == 0) return s;
    }
    return NULL;
}

static PbStatus parse_whole(const ArgSpec *s, const char *text, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0' || (*text != '-' && !(text[0] >= '0' && text[0] <= '9')))
        return pb_fail(PB_USAGE, "%s: '%s' is not a whole number", s->name, text);
    if (errno == ERANGE) return pb_fail(PB_USAGE, "%s: %s is out of range", s->name, text);
    *out = v;
    return PB_OK;
}

/* An ARG_DOUBLE's accepted values in words ("a positive number"), for its
 * one error message. */
static void describe_range(const ArgSpec *s, char *buf, size_t cap) {
    const int open = (s->flags & ARG_ABOVE_LO) != 0;
    if (s->hi == ARG_UNBOUNDED && s->lo == -ARG_UNBOUNDED) snprintf(buf, cap, "a number");
    else if (s->hi == ARG_UNBOUNDED && s->lo == 0 && open) snprintf(buf, cap, "a positive number");
    else if (s->hi == ARG_UNBOUNDED) snprintf(buf, cap, "a number %s %g", open ? ">" : ">=", s->lo);
    else if (s->lo == -ARG_UNBOUNDED) snprintf(buf, cap, "a number <= %g", s->hi);
    else snprintf(buf, cap, "a number in %s%g, %g]", open ? "(" : "[", s->lo, s->hi);
}

/* strtod's forms (decimal, exponent, hex; leading blanks), finite, with no
 * trailing text, not underflowing, within the range. */
static PbStatus parse_double(const ArgSpec *s, const char *text, double *out) {
    if (!*text) return pb_fail(PB_USAGE, "%s: needs a non-empty value", s->name);
    char *end;
    errno = 0;
    const double v = strtod(text, &end);
    const int above = (s->flags & ARG_ABOVE_LO) ? v > s->lo : v >= s->lo;
    if (*end || errno || !isfinite(v) || !above || !(v <= s->hi)) {
        char want[96];
        describe_range(s, want, sizeof want);
        return pb_fail(PB_USAGE, "%s: '%s' is not %s", s->name, text, want);
    }
    *out = v;
    return PB_OK;
}

static PbStatus store_value(const ArgSpec *s, const char *text) {
    switch (s->type) {
    case ARG_INT: {
        long long v = 0;
        PbStatus st = parse_whole(s, text, &v);
        if (st) return st;
        if (v < s->min || v > s->max)
            return pb_fail(PB_USAGE, "%s: %lld is out of range (%lld..%lld)", s->name, v, s->min, s->max);
        *(int *)s->dest = (int)v;
        return PB_OK;
    }
    case ARG_U64: {
        char *end;
        errno = 0;
        if (!(text[0] >= '0' && text[0] <= '9'))
            return pb_fail(PB_USAGE, "%s: '%s' is not a non-negative whole number", s->name, text);
        unsigned long long v = strtoull(text, &end, 10);
        if (*end) return pb_fail(PB_USAGE, "%s: '%s' is not a non-negative whole number", s->name, text);
        if (errno == ERANGE) return pb_fail(PB_USAGE, "%s: %s is out of range", s->name, text);
        *(uint64_t *)s->dest = (uint64_t)v;
        return PB_OK;
    }
    case ARG_DOUBLE: return parse_double(s, text, (double *)s->dest);
    case ARG_STRING:
        if (!*text) return pb_fail(PB_USAGE, "%s: needs a non-empty value", s->name);
        *(const char **)s->dest = text;
        return PB_OK;
    case ARG_CHOICE:
        for (int i = 0; s->choices[i]; i++)
            if (strcmp(s->choices[i], text) == 0) {
                *(const char **)s->dest = s->choices[i];
                return PB_OK;
            }
        {
            char known[256] = "";
            for (int i = 0; s->choices[i]; i++) {
                if (i) strncat(known, "|", sizeof known - strlen(known) - 1);
                strncat(known, s->choices[i], sizeof known - strlen(known) - 1);
            }
            return pb_fail(PB_USAGE, "%s: '%s' is not one of %s", s->name, text, known);
        }
    case ARG_FLAG: break;
    }
    return pb_fail(PB_INTERNAL, "%s: bad option table", s->name);
}

/* An ARG_NOT_WITH_RESUME option (refused) given with the ARG_RESUME one. */
static PbStatus check_resume(const ArgCommand *cmd, const ArgSpec *resume, const ArgSpec *refused) {
    if (!resume || !refused) return PB_OK;
    if (cmd->resume_refusal) return pb_fail(PB_USAGE, "%s, not %s", cmd->resume_refusal, refused->name);
    return pb_fail(PB_USAGE, "%s: %s takes its settings from the file; %s cannot be given with it", cmd->name,
                   resume->name, refused->name);
}

/* --help or -h before any "--". */
static int wants_help(int argc, char **argv) {
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

/* The options given that args_parse checks after the others. */
typedef struct {
    const ArgSpec *resume, *refused;
} Seen;

/* argv[*i], an option; its value follows '=' or is the next word (*i then
 * moves past it). */
static PbStatus take_option(const ArgCommand *cmd, int argc, char **argv, int *i, Seen *seen) {
    const char *w = argv[*i];
    const char *eq = strchr(w, '=');
    size_t len = eq ? (size_t)(eq - w) : strlen(w);
    const ArgSpec *s = find_option(cmd, w, len);
    if (!s)
        return pb_fail(PB_USAGE, "%s: unknown option '%.*s' (see posbench %s --help)", cmd->name, (int)len, w,
                       cmd->name);
    if (s->given) *s->given = 1;
    if (s->flags & ARG_RESUME) seen->resume = s;
    if ((s->flags & ARG_NOT_WITH_RESUME) && !seen->refused) seen->refused = s;
    if (s->type == ARG_FLAG) {
        if (eq) return pb_fail(PB_USAGE, "%s takes no value", s->name);
        *(int *)s->dest = 1;
        return PB_OK;
    }
    const char *value = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
    if (!value) return pb_fail(PB_USAGE, "%s needs a value (%s)", s->name, s->metavar ? s->metavar : "value");
    return store_value(s, value);
}

PbStatus args_parse(const ArgCommand *cmd, int argc, char **argv, const char **positional, int *n_positional,
                    int *help) {
    *n_positional = 0;
    *help = wants_help(argc, argv);
    if (*help) return args_print_help(cmd, stdout), PB_OK;
    Seen seen = {0};
    int options_done = 0;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (!options_done && strcmp(w, "--") == 0) {
            options_done = 1;
        } else if (options_done || w[0] != '-' || strcmp(w, "-") == 0) {
            if (*n_positional >= cmd->max_positional)
                return pb_fail(PB_USAGE, "%s: unexpected argument '%s'", cmd->name, w);
            positional[(*n_positional)++] = w;
        } else {
            PbStatus st = take_option(cmd, argc, argv, &i, &seen);
            if (st) return st;
        }
    }
    if (*n_positional < cmd->min_positional)
        return pb_fail(PB_USAGE, "%s: missing argument (usage: posbench %s %s)", cmd->name, cmd->name, cmd->usage);
    return check_resume(cmd, seen.resume, seen.refused);
}

void args_print_help(const ArgCommand *cmd, FILE *f) {
    fprintf(f, "usage: posbench %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (!cmd->options || !cmd->options->name) return;
    fprintf(f, "\noptions:\n");
    for (const ArgSpec *s = cmd->options; s->name; s++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s%s%s", s->alias ? s->alias : "", s->alias ? ", " : "", s->name,
                 s->type == ARG_FLAG ? "" : " ",
                 s->type == ARG_FLAG ? ""
                 : s->metavar        ? s->metavar
                                     : "X");
        fprintf(f, "  %-26s %s", left, s->help);
        if (s->type == ARG_INT) fprintf(f, " (%lld..%lld)", s->min, s->max);
        fputc('\n', f);
    }
    fprintf(f, "  %-26s %s\n", "-h, --help", "show this help");
}
