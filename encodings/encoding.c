/* encoding.c: instance lifecycle, knob parsing and length-policy checks shared
 * by every encoding (the per-encoding files hold only their own math). */
#include "encoding.h"
#include "extension.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const EncodingModule *encoding_find(const char *name) {
    for (size_t i = 0; encoding_registry[i]; i++)
        if (strcmp(encoding_registry[i]->name, name) == 0) return encoding_registry[i];
    return NULL;
}

size_t encoding_count(void) {
    size_t n = 0;
    while (encoding_registry[n]) n++;
    return n;
}

static PbStatus resolve_variant(Encoding *e) {
    const EncodingModule *m = e->module;
    const char *want = e->cfg.variant;
    e->variant = 0;
    if (!want || !*want) return PB_OK;
    for (int i = 0; m->variants && m->variants[i]; i++)
        if (strcmp(m->variants[i], want) == 0) {
            e->variant = i;
            return PB_OK;
        }
    char known[256] = "";
    for (int i = 0; m->variants && m->variants[i]; i++) {
        if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, m->variants[i], sizeof known - strlen(known) - 1);
    }
    return pb_fail(PB_USAGE, "encoding '%s' has no variant '%s' (variants: %s)", m->name, want,
                   *known ? known : "none");
}

static int knob_index(const EncodingModule *m, const char *name, size_t len) {
    for (int i = 0; m->knobs && m->knobs[i].name; i++)
        if (strlen(m->knobs[i].name) == len && strncmp(m->knobs[i].name, name, len) == 0) return i;
    return -1;
}

/* Parses "name=value,name=value" into e->knob, after filling defaults. */
static PbStatus parse_knobs(Encoding *e) {
    const EncodingModule *m = e->module;
    for (int i = 0; m->knobs && m->knobs[i].name; i++) e->knob[i] = m->knobs[i].default_value;
    const char *s = e->cfg.knobs;
    while (s && *s) {
        const char *end = strchr(s, ',');
        size_t item_len = end ? (size_t)(end - s) : strlen(s);
        const char *eq = memchr(s, '=', item_len);
        if (!eq)
            return pb_fail(PB_USAGE, "encoding '%s': setting '%.*s' must be name=value", m->name, (int)item_len, s);
        int k = knob_index(m, s, (size_t)(eq - s));
        if (k < 0)
            return pb_fail(PB_USAGE, "encoding '%s' has no setting '%.*s' (see posbench list)", m->name, (int)(eq - s),
                           s);
        char value[64];
        size_t vlen = item_len - (size_t)(eq - s) - 1;
        if (vlen == 0 || vlen >= sizeof value)
            return pb_fail(PB_USAGE, "encoding '%s': setting '%s' needs a number", m->name, m->knobs[k].name);
        memcpy(value, eq + 1, vlen);
        value[vlen] = 0;
        char *stop;
        errno = 0;
        double v = strtod(value, &stop);
        if (*stop || errno || !isfinite(v))
            return pb_fail(PB_USAGE, "encoding '%s': setting '%s' is not a number: '%s'", m->name, m->knobs[k].name,
                           value);
        if (v < m->knobs[k].min || v > m->knobs[k].max)
            return pb_fail(PB_RANGE, "encoding '%s': %s=%g is outside [%g, %g]", m->name, m->knobs[k].name, v,
                           m->knobs[k].min, m->knobs[k].max);
        e->knob[k] = v;
        s = end ? end + 1 : NULL;
    }
    return PB_OK;
}

PbStatus encoding_create(Encoding *e, const EncodingModule *m, const EncodingConfig *cfg) {
    *e = (Encoding){.module = m, .cfg = *cfg};
    if (cfg->dim <= 0 || cfg->heads <= 0)
        return pb_fail(PB_RANGE, "encoding '%s': dim (%d) and heads (%d) must be positive", m->name, cfg->dim,
                       cfg->heads);
    if (cfg->dim % cfg->heads)
        return pb_fail(PB_RANGE, "encoding '%s': heads (%d) must divide dim (%d)", m->name, cfg->heads, cfg->dim);
    e->head_dim = cfg->dim / cfg->heads;
    PbStatus st = resolve_variant(e);
    if (!st) st = parse_knobs(e);
    if (!st) st = extension_check(e);
    if (!st && m->setup) st = m->setup(e);
    if (st) return st;
    e->n_params = m->num_params ? m->num_params(e) : 0;
    return PB_OK;
}

void encoding_destroy(Encoding *e) {
    if (e->module && e->module->teardown) e->module->teardown(e);
    e->state = NULL;
}

void encoding_bind(Encoding *e, float *params, float *dparams) {
    e->params = params;
    e->dparams = dparams;
}

void encoding_init_params(Encoding *e, Rng *rng) {
    if (e->module->init_params && e->n_params) e->module->init_params(e, rng);
}

/* v as %g with the fewest significant digits, at least 6, that read back as v. */
static void exact_number(char *out, size_t cap, double v) {
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(out, cap, "%.*g", digits, v);
        if (strtod(out, NULL) == v) return;
    }
}

/* spec->canonical and spec->settings from a resolved instance's values. */
static PbStatus spec_canonical(const Encoding *e, EncodingSpec *spec) {
    const EncodingModule *m = e->module;
    size_t n = (size_t)snprintf(spec->canonical, sizeof spec->canonical, "%s", m->name), k = 0;
    if (e->variant)
        n += (size_t)snprintf(spec->canonical + n, sizeof spec->canonical - n, ":%s", m->variants[e->variant]);
    spec->variant[0] = spec->settings[0] = 0;
    if (e->variant) snprintf(spec->variant, sizeof spec->variant, "%s", m->variants[e->variant]);
    for (int i = 0; m->knobs && m->knobs[i].name && n < sizeof spec->canonical; i++) {
        if (e->knob[i] == m->knobs[i].default_value) continue;
        char value[32];
        exact_number(value, sizeof value, e->knob[i]);
        n += (size_t)snprintf(spec->canonical + n, sizeof spec->canonical - n, "@%s=%s", m->knobs[i].name, value);
        k += (size_t)snprintf(spec->settings + k, sizeof spec->settings - k, "%s%s=%s", k ? "," : "", m->knobs[i].name,
                              value);
    }
    if (n >= sizeof spec->canonical || k >= sizeof spec->settings)
        return pb_fail(PB_USAGE, "encoding spec '%.80s' is longer than %d characters", spec->canonical,
                       ENCODING_SPEC_MAX - 1);
    return PB_OK;
}

PbStatus encoding_spec_parse(const char *text, EncodingSpec *spec) {
    memset(spec, 0, sizeof *spec);
    char buf[256], knobs[256] = "";
    if (strlen(text) >= sizeof buf) return pb_fail(PB_USAGE, "encoding spec '%.40s...' is too long", text);
    snprintf(buf, sizeof buf, "%s", text);
    /* buf becomes the name; the variant and each knob point past it */
    char *at = strchr(buf, '@'), *colon = strchr(buf, ':');
    if (at) *at = 0;
    if (colon && (!at || colon < at)) *colon = 0;
    else colon = NULL;
    for (char *k = at ? at + 1 : NULL; k; k = strchr(k, '@') ? strchr(k, '@') + 1 : NULL) {
        size_t len = strcspn(k, "@"), used = strlen(knobs);
        if (!len) return pb_fail(PB_USAGE, "encoding spec '%s': a setting after '@' is empty", text);
        snprintf(knobs + used, sizeof knobs - used, "%s%.*s", used ? "," : "", (int)len, k);
    }
    if (!(spec->module = encoding_find(buf)))
        return pb_fail(PB_USAGE, "unknown encoding '%s' (see posbench list)", buf);
    if (colon && !colon[1]) return pb_fail(PB_USAGE, "encoding spec '%s': name a variant after ':'", text);
    Encoding e = {.module = spec->module, .cfg = {.variant = colon ? colon + 1 : "", .knobs = knobs}};
    PbStatus st = resolve_variant(&e);
    if (!st) st = parse_knobs(&e);
    return st ? st : spec_canonical(&e, spec);
}

const char *encoding_variant_name(const Encoding *e) {
    const char *const *v = e->module->variants;
    return v ? v[e->variant] : "default";
}

int encoding_reads_positions(const EncodingModule *m) {
    return m->embed_forward || m->rotate_forward || m->bias_forward || (m->score_forward && !m->score_keys_to_query);
}

int encoding_max_positions(const Encoding *e) { return e->module->max_positions ? e->module->max_positions(e) : 0; }

PbStatus encoding_check_positions(const Encoding *e, int pos0, int T) {
    int known = encoding_max_positions(e);
    if (pos0 < 0 || T < 0)
        return pb_fail(PB_RANGE, "encoding '%s': negative position range (start %d, length %d)", e->module->name, pos0,
                       T);
    if (known == 0 || (long long)pos0 + T <= known) return PB_OK;
    if (e->cfg.fallback == LENGTH_FALLBACK_CLAMP) return PB_OK;
    if (e->module->length_bound) /* a formula, not a table: say why it stops */
        return pb_fail(PB_LENGTH,
                       "encoding '%s' is defined for positions 0..%d only (formula bound %d: %s) but was "
                       "asked for positions up to %lld; use a length within the bound, or choose the "
                       "documented fallback --length-fallback clamp",
                       e->module->name, known - 1, known, e->module->length_bound, (long long)pos0 + T - 1);
    return pb_fail(PB_LENGTH,
                   "encoding '%s' knows positions 0..%d only (table size %d) but was asked "
                   "for positions up to %lld; use a length within the table, or choose the "
                   "documented fallback --length-fallback clamp",
                   e->module->name, known - 1, known, (long long)pos0 + T - 1);
}

int encoding_table_row(int p, int table_rows) {
    /* Only the clamp fallback reaches rows past the table. */
    return p < table_rows ? p : table_rows - 1;
}

int encoding_cache_rows(const Encoding *e, size_t width) {
    if (e->cfg.max_len <= 0 || width == 0) return 0;
    const size_t cap = ENCODING_CACHE_BYTES / (width * sizeof(float));
    return (size_t)e->cfg.max_len < cap ? e->cfg.max_len : (int)cap;
}

PbStatus encoding_embed_forward(const Encoding *e, float *x, int B, int T, int pos0) {
    return encoding_embed_forward_at(e, x, B, T, positions_from(pos0));
}

PbStatus encoding_embed_backward(Encoding *e, const float *dx, int B, int T, int pos0) {
    return encoding_embed_backward_at(e, dx, B, T, positions_from(pos0));
}

PbStatus encoding_export(const Encoding *e, int T, TensorSink *sink) {
    const EncodingModule *m = e->module;
    const int C = e->cfg.dim, H = e->cfg.heads;
    PbStatus st = encoding_check_positions(e, 0, T);
    if (st) return st;
    if (m->embed_forward) {
        float *pe = pb_calloc((size_t)T * C, sizeof *pe, "the exported position embedding");
        if (!pe) return PB_NOMEM;
        m->embed_forward(e, pe, 1, T, 0);
        st = sink->put_float(sink, "pos_embedding", pe, 2, (int[]){T, C});
        free(pe);
        if (st) return st;
    }
    if (m->bias_forward) {
        float *bias = pb_calloc((size_t)H * T * T, sizeof *bias, "the exported attention bias");
        if (!bias) return PB_NOMEM;
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) m->bias_forward(e, bias + ((size_t)h * T + i) * T, h, i, 0, T);
        st = sink->put_float(sink, "bias", bias, 3, (int[]){H, T, T});
        free(bias);
        if (st) return st;
    }
    return m->inspect ? m->inspect(e, T, sink) : PB_OK;
}

void encoding_project(Encoding *e) {
    if (e->module->project && e->params) e->module->project(e);
}
