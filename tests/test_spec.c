/* test_spec.c: encoding specs (encodings/encoding.h) for every registered
 * encoding: each variant and each knob spelled out resolves to the canonical
 * form the header defines (defaults left out, knobs in module order), the
 * canonical form reads back as itself, and malformed specs are refused with
 * the status the header names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "encodings/encoding.h"

/* The header's rule for a value: %g with the fewest significant digits,
 * at least 6, that reads back exactly. */
static const char *value_text(char *out, size_t cap, double v) {
    for (int d = 6; d <= 17; d++) {
        snprintf(out, cap, "%.*g", d, v);
        if (strtod(out, NULL) == v) break;
    }
    return out;
}

/* text must parse, to canonical want. */
static void expect_canonical(const char *text, const char *want) {
    EncodingSpec s, again;
    PbStatus st = encoding_spec_parse(text, &s);
    CHECK(st == PB_OK, "'%s': %s", text, pb_errmsg());
    if (st) return;
    CHECK(strcmp(s.canonical, want) == 0, "'%s' -> '%s', want '%s'", text, s.canonical, want);
    CHECK(encoding_spec_parse(s.canonical, &again) == PB_OK && strcmp(again.canonical, s.canonical) == 0 &&
              strcmp(again.settings, s.settings) == 0 && strcmp(again.variant, s.variant) == 0,
          "'%s' does not read back as itself", s.canonical);
}

static void expect_refused(const char *text, PbStatus want) {
    EncodingSpec s;
    PbStatus st = encoding_spec_parse(text, &s);
    CHECK(st == want, "'%s': status %d, want %d (%s)", text, st, want, pb_errmsg());
    CHECK(!strchr(pb_errmsg(), '\n') && *pb_errmsg(), "'%s': the message is not one line", text);
}

/* The variants of m: the default drops out of the canonical form. */
static void check_variants(const EncodingModule *m) {
    char text[128], want[128];
    expect_canonical(m->name, m->name);
    for (int v = 0; m->variants && m->variants[v]; v++) {
        snprintf(text, sizeof text, "%s:%s", m->name, m->variants[v]);
        snprintf(want, sizeof want, v ? "%s:%s" : "%s", m->name, m->variants[v]);
        expect_canonical(text, want);
    }
    snprintf(text, sizeof text, "%s:no-such-variant", m->name);
    expect_refused(text, PB_USAGE);
}

/* Each knob: at its default it drops out; at its maximum (or minimum when
 * that is the default) it stays, in the module's order, settings alike. */
static void check_knobs(const EncodingModule *m) {
    char text[256], want[256], all[256], settings[256] = "";
    size_t n = (size_t)snprintf(all, sizeof all, "%s", m->name), k = 0;
    for (int i = 0; m->knobs && m->knobs[i].name; i++) {
        const EncodingKnob *kn = &m->knobs[i];
        double v = kn->max != kn->default_value ? kn->max : kn->min;
        snprintf(text, sizeof text, "%s@%s=%.17g", m->name, kn->name, kn->default_value);
        expect_canonical(text, m->name);
        snprintf(text, sizeof text, "%s@%s=%.17g", m->name, kn->name, v);
        char vt[32];
        value_text(vt, sizeof vt, v);
        snprintf(want, sizeof want, "%s@%s=%s", m->name, kn->name, vt);
        expect_canonical(text, want);
        n += (size_t)snprintf(all + n, sizeof all - n, "@%s=%s", kn->name, vt);
        k += (size_t)snprintf(settings + k, sizeof settings - k, "%s%s=%s", k ? "," : "", kn->name, vt);
        snprintf(text, sizeof text, "%s@%s=%.17g", m->name, kn->name, kn->max * 2 + 1);
        if (kn->max * 2 + 1 > kn->max) expect_refused(text, PB_RANGE);
    }
    /* All knobs given in reverse order come out in the module's order. */
    char reversed[256];
    size_t r = (size_t)snprintf(reversed, sizeof reversed, "%s", m->name);
    int count = 0;
    while (m->knobs && m->knobs[count].name) count++;
    for (int i = count - 1; i >= 0; i--) {
        const EncodingKnob *kn = &m->knobs[i];
        r += (size_t)snprintf(reversed + r, sizeof reversed - r, "@%s=%.17g", kn->name,
                              kn->max != kn->default_value ? kn->max : kn->min);
    }
    if (strlen(all) < ENCODING_SPEC_MAX) {
        expect_canonical(reversed, all);
        EncodingSpec s;
        if (encoding_spec_parse(reversed, &s) == PB_OK)
            CHECK(strcmp(s.settings, settings) == 0, "%s: settings '%s', want '%s'", m->name, s.settings, settings);
    }
    snprintf(text, sizeof text, "%s@no_such_knob=1", m->name);
    expect_refused(text, PB_USAGE);
}

int main(void) {
    for (size_t r = 0; encoding_registry[r]; r++) {
        check_variants(encoding_registry[r]);
        check_knobs(encoding_registry[r]);
    }
    expect_refused("no-such-encoding", PB_USAGE);
    expect_refused("", PB_USAGE);
    const char *first = encoding_registry[0]->name;
    char text[512];
    snprintf(text, sizeof text, "%s:", first);
    expect_refused(text, PB_USAGE);
    snprintf(text, sizeof text, "%s@", first);
    expect_refused(text, PB_USAGE);
    snprintf(text, sizeof text, "%s@x", first);
    expect_refused(text, PB_USAGE);
    memset(text, 'a', 300), text[300] = 0;
    expect_refused(text, PB_USAGE);
    /* A value written more precisely than needed reads back in its shortest
     * exact form, and one that needs 17 digits keeps them. */
    for (size_t r = 0; encoding_registry[r]; r++) {
        const EncodingModule *m = encoding_registry[r];
        if (!m->knobs || !m->knobs[0].name) continue;
        const EncodingKnob *kn = &m->knobs[0];
        double v = kn->min + (kn->max - kn->min) / 3; /* not short in decimal */
        char want[128], vt[32];
        snprintf(text, sizeof text, "%s@%s=%.17g", m->name, kn->name, v);
        EncodingSpec s;
        if (encoding_spec_parse(text, &s) == PB_OK) {
            const char *eq = strrchr(s.canonical, '=');
            CHECK(eq && strtod(eq + 1, NULL) == v, "%s: '%s' does not hold %.17g exactly", m->name, s.canonical, v);
        }
        snprintf(text, sizeof text, "%s@%s=%.10f", m->name, kn->name, kn->default_value == kn->max ? kn->min : kn->max);
        snprintf(want, sizeof want, "%s@%s=%s", m->name, kn->name,
                 value_text(vt, sizeof vt, kn->default_value == kn->max ? kn->min : kn->max));
        expect_canonical(text, want);
        break;
    }
    return check_exit_code("spec");
}
