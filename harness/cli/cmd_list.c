/* cmd_list.c: `posbench list`: every registered encoding, what it does and
 * what it costs for a given shape. */
#include <stdio.h>

#include "../../encodings/encoding.h"
#include "args.h"
#include "commands.h"

static void print_hooks(const EncodingModule *m) {
    const char *sep = "";
    printf("  hooks:     ");
    if (m->embed_forward) printf("%sembed", sep), sep = ", ";
    if (m->rotate_forward) printf("%srotate_qk", sep), sep = ", ";
    if (m->bias_forward) printf("%sattn_bias", sep), sep = ", ";
    if (m->score_forward) printf("%sscore", sep), sep = ", ";
    printf("%s\n", *sep ? "" : "none (the model runs unchanged)");
}

/* The specs that name m's configurations (encodings/encoding.h): one per
 * variant, and the form a knob takes. */
static void print_specs(const EncodingModule *m) {
    printf("  specs:     %s", m->name);
    for (int v = 1; m->variants && m->variants[v]; v++) printf(", %s:%s", m->name, m->variants[v]);
    if (m->knobs && m->knobs[0].name) printf(", %s@%s=V", m->name, m->knobs[0].name);
    printf("\n");
}

PbStatus cmd_list(int argc, char **argv) {
    int dim = 256, heads = 8, len = 1024;
    const ArgSpec options[] = {
        {"--dim", NULL, ARG_INT, &dim, 1, 1 << 16, NULL, "C", "model width for the parameter count (default 256)"},
        {"--heads", NULL, ARG_INT, &heads, 1, 1024, NULL, "H", "attention heads (default 8)"},
        {"--len", NULL, ARG_INT, &len, 1, 1 << 24, NULL, "T",
         "context, the table size of table encodings (default 1024)"},
        {NULL},
    };
    const ArgCommand cmd = {
        "list",
        "[--dim C --heads H --len T]",
        "Lists every registered encoding: hooks, parameters for the shape, length policy, variants, settings, paper.",
        options,
        0,
        0};
    const char *pos[1];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st || help) return st;

    printf("%zu encodings (shape: C %d, H %d, context %d)\n", encoding_count(), dim, heads, len);
    for (size_t i = 0; encoding_registry[i]; i++) {
        const EncodingModule *m = encoding_registry[i];
        Encoding e;
        EncodingConfig cfg = {.dim = dim, .heads = heads, .max_len = len};
        printf("\n%s\n  %s\n", m->name, m->summary);
        print_hooks(m);
        if ((st = encoding_create(&e, m, &cfg))) {
            printf("  shape:     not valid here: %s\n", pb_errmsg());
            continue;
        }
        printf("  params:    %zu floats\n", e.n_params);
        int known = encoding_max_positions(&e);
        if (known && m->length_bound)
            printf("  length:    positions 0..%d (formula bound: %s); longer is an error unless "
                   "--length-fallback clamp\n",
                   known - 1, m->length_bound);
        else if (known)
            printf("  length:    positions 0..%d; longer is an error unless --length-fallback clamp\n", known - 1);
        else printf("  length:    unbounded\n");
        if (m->variants) {
            printf("  variants: ");
            for (int v = 0; m->variants[v]; v++) printf(" %s%s", m->variants[v], v ? "" : " (default)");
            printf("\n");
        }
        for (int k = 0; m->knobs && m->knobs[k].name; k++)
            printf("  --set %s=%g  %s [%g..%g]\n", m->knobs[k].name, m->knobs[k].default_value, m->knobs[k].help,
                   m->knobs[k].min, m->knobs[k].max);
        print_specs(m);
        encoding_destroy(&e);
    }
    return finish_stdout();
}
