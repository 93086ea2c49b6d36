/* palette.c: the style of each encoding in every plot (see palette.h). */
#include "palette.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Okabe-Ito, without its yellow (0xF0E442). */
enum {
    BLACK = 0x000000,
    ORANGE = 0xE69F00,
    SKY_BLUE = 0x56B4E9,
    BLUISH_GREEN = 0x009E73,
    BLUE = 0x0072B2,
    VERMILLION = 0xD55E00,
    REDDISH_PURPLE = 0xCC79A7
};
static const unsigned colors[] = {BLACK, ORANGE, SKY_BLUE, BLUISH_GREEN, BLUE, VERMILLION, REDDISH_PURPLE};
#define N_COLORS (sizeof colors / sizeof colors[0])

/* Dash patterns in gnuplot's units, densest first (the index is the layer):
 * solid, long dash, dash, dash-dot, dash-dot-dot, dot. */
static const char *const dashes[] = {"1", "(16,5)", "(9,4)", "(9,3,2,3)", "(9,3,2,3,2,3)", "(2,3)"};
#define N_DASHES (sizeof dashes / sizeof dashes[0])
enum { SOLID, LONG_DASH, DASH, DASH_DOT, DASH_DOT_DOT, DOT };

/* The registry's encodings (encodings/registry.c): a colour, point type and
 * pattern each, no two alike; the control `none` is the solid black line. */
static const struct {
    const char *name;
    PaletteStyle style;
} fixed[] = {
    {"learned_absolute", {VERMILLION, 4, "(9,4)", DASH}},          /* open square */
    {"sinusoidal", {BLUE, 6, "(9,3,2,3)", DASH_DOT}},              /* open circle */
    {"relative_bias", {BLUISH_GREEN, 8, "(16,5)", LONG_DASH}},     /* open triangle */
    {"alibi", {ORANGE, 10, "(2,3)", DOT}},                         /* open triangle down */
    {"rope", {REDDISH_PURPLE, 12, "(9,3,2,3,2,3)", DASH_DOT_DOT}}, /* open diamond */
    {"none", {BLACK, 14, "1", SOLID}},                             /* open pentagon */
    /* the later family: filled points, and a colour or pattern apart from
     * its relative (xpos beside rope, kerple and sandwich beside alibi) */
    {"sandwich", {SKY_BLUE, 7, "(9,4)", DASH}},               /* filled circle */
    {"kerple", {SKY_BLUE, 9, "(9,3,2,3,2,3)", DASH_DOT_DOT}}, /* filled triangle */
    {"xpos", {BLUE, 13, "(16,5)", LONG_DASH}},                /* filled diamond */
    {"fire", {VERMILLION, 11, "(2,3)", DOT}},                 /* filled triangle down */
    {"shaw", {BLUISH_GREEN, 5, "(9,3,2,3)", DASH_DOT}},       /* filled square */
    {"cope", {ORANGE, 15, "(9,3,2,3)", DASH_DOT}},            /* filled pentagon */
};
#define N_FIXED (sizeof fixed / sizeof fixed[0])

/* Point types for names without a slot (a spec such as rope:half, an
 * encoding added since): the filled pentagon and the star. cope's slot has
 * the pentagon too, but a hashed name never takes its (colour, pattern)
 * pair (taken() below). */
static const int hashed_points[] = {15, 3};
#define N_HASHED_POINTS (sizeof hashed_points / sizeof hashed_points[0])

/* FNV-1a, 32 bits: the same on every machine. */
static unsigned fnv1a(const char *s) {
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* 1 if a fixed slot has this colour with this dash pattern. */
static int taken(unsigned rgb, int layer) {
    for (size_t i = 0; i < N_FIXED; i++)
        if (fixed[i].style.rgb == rgb && fixed[i].style.layer == layer) return 1;
    return 0;
}

/* A study trained at randomized positions, NAME+randpos (generalize.h):
 * NAME's colour, so the pair reads together, with the star, which no fixed
 * slot has, and the pattern three layers on. */
#define RANDOMIZED_SUFFIX "+randpos"
/* Length of name before suffix, or 0 when name does not end with it. */
static size_t stem(const char *name, const char *suffix) {
    const size_t n = strlen(name), k = strlen(suffix);
    return n > k && strcmp(name + n - k, suffix) == 0 ? n - k : 0;
}

static int randomized_style(const char *name, PaletteStyle *out) {
    const size_t k = stem(name, RANDOMIZED_SUFFIX);
    if (!k) return 0;
    for (size_t i = 0; i < N_FIXED; i++)
        if (strlen(fixed[i].name) == k && strncmp(fixed[i].name, name, k) == 0) {
            const int layer = (fixed[i].style.layer + 3) % (int)N_DASHES;
            *out = (PaletteStyle){fixed[i].style.rgb, 3, dashes[layer], layer};
            return 1;
        }
    return 0;
}

/* Context extensions, SPEC+METHOD (generalize --extend): drawn beside
 * their model (rope: reddish purple, open diamond), a colour, point and
 * pattern per method, the points filled. */
static const struct {
    const char *suffix;
    PaletteStyle style;
} methods[] = {
    {"+pi", {VERMILLION, 5, "(9,4)", DASH}},                    /* filled square */
    {"+ntk", {BLUE, 7, "(16,5)", LONG_DASH}},                   /* filled circle */
    {"+dynamic-ntk", {BLUISH_GREEN, 9, "1", SOLID}},            /* filled triangle */
    {"+yarn", {ORANGE, 11, "(9,3,2,3)", DASH_DOT}},             /* filled triangle down */
    {"+llama3", {SKY_BLUE, 13, "(9,3,2,3,2,3)", DASH_DOT_DOT}}, /* filled diamond */
};

static int extension_style(const char *name, PaletteStyle *out) {
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (stem(name, methods[i].suffix)) return *out = methods[i].style, 1;
    return 0;
}

/* A fine-tuned extension, SPEC+METHOD+ft: its zero-shot method's colour
 * with the point left open and a solid line; SPEC+none+ft (plain
 * fine-tuning) takes SPEC's colour with the star. */
#define FINETUNED_SUFFIX "+ft"
#define NONE_FINETUNED_SUFFIX "+none+ft"

static int finetuned_style(const char *name, PaletteStyle *out) {
    const size_t k = stem(name, FINETUNED_SUFFIX);
    char zero_shot[256];
    if (!k || k >= sizeof zero_shot) return 0;
    const size_t bare = stem(name, NONE_FINETUNED_SUFFIX);
    snprintf(zero_shot, sizeof zero_shot, "%.*s", (int)(bare ? bare : k), name);
    if (bare) {
        *out = palette_style(zero_shot);
        out->pt = 3, out->dt = dashes[SOLID], out->layer = SOLID;
        return 1;
    }
    if (!extension_style(zero_shot, out)) return 0;
    out->pt -= 1, out->dt = dashes[SOLID], out->layer = SOLID; /* gnuplot: open = filled - 1 */
    return 1;
}

PaletteStyle palette_style(const char *name) {
    if (!name) name = "";
    for (size_t i = 0; i < N_FIXED; i++)
        if (strcmp(fixed[i].name, name) == 0) return fixed[i].style;
    PaletteStyle r;
    if (randomized_style(name, &r) || extension_style(name, &r) || finetuned_style(name, &r)) return r;
    /* A (colour, pattern) pair no fixed slot has, so a hashed name differs
     * from every registered encoding in colour or in line as well as in its
     * filled point type; then the point type. */
    unsigned h = fnv1a(name), pair = h % (N_COLORS * N_DASHES);
    while (taken(colors[pair % N_COLORS], (int)(pair / N_COLORS))) pair = (pair + 1) % (N_COLORS * N_DASHES);
    h /= N_COLORS * N_DASHES;
    PaletteStyle s = {colors[pair % N_COLORS], hashed_points[h % N_HASHED_POINTS], dashes[pair / N_COLORS],
                      (int)(pair / N_COLORS)};
    return s;
}

void palette_gnuplot(char *out, size_t cap, const char *name) {
    PaletteStyle s = palette_style(name);
    snprintf(out, cap, "lc rgb 0x%06X pt %d ps %.2g dt %s", s.rgb, s.pt, 1.9 - 0.18 * s.layer, s.dt);
}

void palette_color(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "lc rgb 0x%06X", palette_style(name).rgb);
}

void palette_draw_order(const char *const *names, int n, int *order) {
    /* insertion sort: stable, and n is a handful */
    for (int i = 0; i < n; i++) {
        int layer = palette_style(names[i]).layer, j = i;
        for (; j > 0 && palette_style(names[order[j - 1]]).layer > layer; j--) order[j] = order[j - 1];
        order[j] = i;
    }
}

static int same_line(const PaletteSeries *a, const PaletteSeries *b) {
    if (a->n != b->n || a->n == 0) return 0;
    for (int i = 0; i < a->n; i++) {
        double scale = fmax(fabs(a->y[i]), fabs(b->y[i]));
        if (a->x[i] != b->x[i] || fabs(a->y[i] - b->y[i]) > 0.005 * scale) return 0;
    }
    return 1;
}

void palette_coincide_note(char *note, size_t cap, const PaletteSeries *s, int n) {
    char groups[512] = "";
    size_t len = 0;
    unsigned char grouped[64] = {0};
    if (n > 64) n = 64;
    for (int a = 0; a < n; a++) {
        if (grouped[a]) continue;
        for (int b = a + 1, members = 0; b < n; b++) {
            if (grouped[b] || !same_line(&s[a], &s[b])) continue;
            if (!members++ && len < sizeof groups)
                len += (size_t)snprintf(groups + len, sizeof groups - len, "%s%s", len ? "; " : "", s[a].name);
            if (len < sizeof groups) len += (size_t)snprintf(groups + len, sizeof groups - len, " = %s", s[b].name);
            grouped[b] = 1;
        }
    }
    size_t used = strlen(note);
    if (*groups && used < cap) snprintf(note + used, cap - used, "%ssame values: %s", used ? "; " : "", groups);
}
