/* args.c: the option parser behind every subcommand (see args.h). */
#include "args.h"

#include <errno.h>
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
    if (errno == ERANGE)
        return pb_fail(PB_USAGE, "%s: %s is out of range", s->name, text);
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
            return pb_fail(PB_USAGE, "%s: %lld is out of range (%lld..%lld)", s->name, v, s->min,
                           s->max);
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
    case ARG_FLAG:
        break;
    }
    return pb_fail(PB_INTERNAL, "%s: bad option table", s->name);
}

PbStatus args_parse(const ArgCommand *cmd, int argc, char **argv,
                    const char **positional, int *n_positional, int *help) {
    *n_positional = 0;
    *help = 0;
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) break;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            *help = 1;
            return PB_OK;
        }
    int options_done = 0;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (!options_done && strcmp(w, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (options_done || w[0] != '-' || strcmp(w, "-") == 0) {
            if (*n_positional >= cmd->max_positional)
                return pb_fail(PB_USAGE, "%s: unexpected argument '%s'", cmd->name, w);
            positional[(*n_positional)++] = w;
            continue;
        }
        const char *eq = strchr(w, '=');
        size_t len = eq ? (size_t)(eq - w) : strlen(w);
        const ArgSpec *s = find_option(cmd, w, len);
        if (!s)
            return pb_fail(PB_USAGE, "%s: unknown option '%.*s' (see posbench %s --help)",
                           cmd->name, (int)len, w, cmd->name);
        if (s->given) *s->given = 1;
        if (s->type == ARG_FLAG) {
            if (eq) return pb_fail(PB_USAGE, "%s takes no value", s->name);
            *(int *)s->dest = 1;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) return pb_fail(PB_USAGE, "%s needs a value (%s)", s->name,
                                   s->metavar ? s->metavar : "value");
        PbStatus st = store_value(s, value);
        if (st) return st;
    }
    if (*n_positional < cmd->min_positional)
        return pb_fail(PB_USAGE, "%s: missing argument (usage: posbench %s %s)", cmd->name,
                       cmd->name, cmd->usage);
    return PB_OK;
}

void args_print_help(const ArgCommand *cmd, FILE *f) {
    fprintf(f, "usage: posbench %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (!cmd->options || !cmd->options->name) return;
    fprintf(f, "\noptions:\n");
    for (const ArgSpec *s = cmd->options; s->name; s++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s%s%s", s->alias ? s->alias : "", s->alias ? ", " : "",
                 s->name, s->type == ARG_FLAG ? "" : " ", s->type == ARG_FLAG ? "" : s->metavar ? s->metavar : "X");
        fprintf(f, "  %-26s %s", left, s->help);
        if (s->type == ARG_INT) fprintf(f, " (%lld..%lld)", s->min, s->max);
        fputc('\n', f);
    }
    fprintf(f, "  %-26s %s\n", "-h, --help", "show this help");
}
