/* cmd_export.c: `posbench export`: an encoding's defining tensors to HDF5,
 * for anyone to inspect (posbench show lists them with shapes and ranges) and
 * plot (posbench plot draws every float tensor: lines, heat maps, one per head). */
#include <stdlib.h>
#include <string.h>

#include "../../encodings/encoding.h"
#include "args.h"
#include "commands.h"
#include "../results/h5io.h"

static PbStatus put_float(TensorSink *s, const char *name, const float *data, int rank, const int *dims) {
    return h5_write_floats(*(hid_t *)s->ctx, name, data, rank, dims);
}

static PbStatus put_int(TensorSink *s, const char *name, const int *data, int rank, const int *dims) {
    return h5_write_ints(*(hid_t *)s->ctx, name, data, rank, dims);
}

/* The file: what was exported, then the tensors. */
static PbStatus write_export(const char *out, int force, const Encoding *e, const char *knobs, uint64_t seed) {
    const EncodingConfig *c = &e->cfg;
    H5Out file;
    PbStatus st = h5out_create(&file, out, force);
    if (st) return st;
    TensorSink sink = {put_float, put_int, &file.file};
    hid_t f = file.file;
    st = h5_write_provenance(f);
    if (!st) st = h5_attr_string(f, "kind", "encoding_export");
    if (!st) st = h5_attr_string(f, "encoding", e->module->name);
    if (!st) st = h5_attr_string(f, "variant", encoding_variant_name(e));
    if (!st) st = h5_attr_string(f, "settings", knobs ? knobs : "");
    if (!st) st = h5_attr_int(f, "T", c->max_len);
    if (!st) st = h5_attr_int(f, "C", c->dim);
    if (!st) st = h5_attr_int(f, "H", c->heads);
    if (!st) st = h5_attr_int(f, "seed", (long long)seed);
    const Extension *x = &c->extend;
    if (!st && x->method != EXTEND_NONE) {
        st = h5_attr_string(f, "extend", extend_method_name(x->method));
        if (!st) st = h5_attr_double(f, "factor", x->factor);
        if (!st) st = h5_attr_int(f, "original", x->original);
        if (!st && x->method == EXTEND_YARN) st = h5_attr_double(f, "beta_fast", x->beta_fast);
        if (!st && x->method == EXTEND_YARN) st = h5_attr_double(f, "beta_slow", x->beta_slow);
        if (!st && x->method == EXTEND_LLAMA3) st = h5_attr_double(f, "low_freq_factor", x->low_freq_factor);
        if (!st && x->method == EXTEND_LLAMA3) st = h5_attr_double(f, "high_freq_factor", x->high_freq_factor);
    }
    if (!st) st = encoding_export(e, c->max_len, &sink);
    if (!st) st = h5out_commit(&file);
    else h5out_abort(&file);
    return st;
}

/* --extend METHOD with its settings; the factor defaults to T / L. */
typedef struct {
    const char *method;
    double factor, beta_fast, beta_slow, low, high;
    int original;
} ExtendArgs;

static PbStatus extension_of(const ExtendArgs *a, int len, Extension *x) {
    *x = (Extension){0};
    if (!a->method) {
        if (a->original || a->factor)
            return pb_fail(PB_USAGE, "export: --original and --factor go with --extend METHOD");
        return PB_OK;
    }
    ExtendMethod m;
    PbStatus st = extend_method_parse(a->method, &m);
    if (st) return st;
    if (m != EXTEND_NONE && !a->original)
        return pb_fail(PB_USAGE, "export: --extend %s needs --original L, the length the model was trained at",
                       a->method);
    *x = extension_default(m, a->factor ? a->factor : (double)len / (a->original ? a->original : len), a->original);
    if (a->beta_fast) x->beta_fast = a->beta_fast;
    if (a->beta_slow) x->beta_slow = a->beta_slow;
    if (a->low) x->low_freq_factor = a->low;
    if (a->high) x->high_freq_factor = a->high;
    return PB_OK;
}

PbStatus cmd_export(int argc, char **argv) {
    int len = 64, dim = 64, heads = 4, force = 0;
    uint64_t seed = 0;
    const char *variant = NULL, *knobs = NULL, *out = NULL;
    ExtendArgs xa = {0};
    const ArgSpec options[] = {
        {"--len", NULL, ARG_INT, &len, 1, 4096, NULL, "T", "positions (default 64)"},
        {"--dim", NULL, ARG_INT, &dim, 1, 4096, NULL, "C", "model width (default 64)"},
        {"--heads", NULL, ARG_INT, &heads, 1, 64, NULL, "H", "attention heads (default 4)"},
        {"--variant", NULL, ARG_STRING, &variant, 0, 0, NULL, "V", "variant (see posbench list)"},
        {"--set", NULL, ARG_STRING, &knobs, 0, 0, NULL, "K=V,...", "encoding settings (see posbench list)"},
        {"--seed", NULL, ARG_U64, &seed, 0, 0, NULL, "K", "seed for learned parameters (default 0)"},
        {"--extend", NULL, ARG_STRING, &xa.method, 0, 0, NULL, "METHOD",
         "context extension of rope: pi, ntk, dynamic-ntk, yarn, llama3"},
        {"--original", NULL, ARG_INT, &xa.original, 1, 1 << 24, NULL, "L", "with --extend: the trained length"},
        {"--factor", NULL, ARG_DOUBLE, &xa.factor, 0, 0, NULL, "S", "with --extend: the scale factor (default T/L)",
         .lo = 1, .hi = ARG_UNBOUNDED},
        {"--beta-fast", NULL, ARG_DOUBLE, &xa.beta_fast, 0, 0, NULL, "X", "yarn: rotations over L kept (default 32)",
         .flags = ARG_ABOVE_LO, .lo = 0, .hi = ARG_UNBOUNDED},
        {"--beta-slow", NULL, ARG_DOUBLE, &xa.beta_slow, 0, 0, NULL, "X",
         "yarn: rotations over L interpolated (default 1)", .flags = ARG_ABOVE_LO, .lo = 0, .hi = ARG_UNBOUNDED},
        {"--low-freq-factor", NULL, ARG_DOUBLE, &xa.low, 0, 0, NULL, "X", "llama3 (default 1)", .flags = ARG_ABOVE_LO,
         .lo = 0, .hi = ARG_UNBOUNDED},
        {"--high-freq-factor", NULL, ARG_DOUBLE, &xa.high, 0, 0, NULL, "X", "llama3 (default 4)", .flags = ARG_ABOVE_LO,
         .lo = 0, .hi = ARG_UNBOUNDED},
        {"--output", "-o", ARG_STRING, &out, 0, 0, NULL, "FILE.h5", "output file (required)"},
        {"--force", NULL, ARG_FLAG, &force, 0, 0, NULL, NULL, "replace an existing output file"},
        {NULL},
    };
    const ArgCommand cmd = {
        "export",
        "ENCODING --len T --dim C --heads H [--variant V] [--set K=V] [--seed K] [--extend METHOD --original L "
        "[--factor S]] -o FILE.h5 [--force]",
        "Writes the encoding's defining tensors (position embeddings, attention biases,\n"
        "buckets, slopes, rotation angles) to an HDF5 file; posbench show lists them,\n"
        "posbench plot draws them.",
        options,
        1,
        1};
    const char *pos[1];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st || help) return st;
    if (!out) return pb_fail(PB_USAGE, "export: name the output file with -o FILE.h5");
    const EncodingModule *m = encoding_find(pos[0]);
    if (!m) return pb_fail(PB_USAGE, "unknown encoding '%s' (see posbench list)", pos[0]);
    if ((size_t)heads * len * len > ((size_t)1 << 28))
        return pb_fail(PB_RANGE, "export: heads x len x len = %zu floats is too large (limit 2^28)",
                       (size_t)heads * len * len);

    Encoding e;
    EncodingConfig cfg = {.variant = variant, .dim = dim, .heads = heads, .max_len = len, .knobs = knobs};
    if ((st = extension_of(&xa, len, &cfg.extend))) return st;
    if ((st = encoding_create(&e, m, &cfg))) return st;
    float *params = pb_calloc(e.n_params ? e.n_params : 1, sizeof *params, "encoding parameters");
    if (!params) return encoding_destroy(&e), PB_NOMEM;
    encoding_bind(&e, params, NULL);
    Rng rng;
    rng_seed(&rng, seed, 0);
    encoding_init_params(&e, &rng);

    st = write_export(out, force, &e, knobs, seed);
    if (!st)
        printf("wrote %s (%s, variant %s, T %d, C %d, H %d)\n", out, m->name, encoding_variant_name(&e), len, dim,
               heads);
    free(params);
    encoding_destroy(&e);
    return st ? st : finish_stdout();
}
