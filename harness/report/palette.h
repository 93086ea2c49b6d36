/* palette.h: one look per encoding, keyed by its name, the same in every plot.
 *
 * A reader who learns "rope is the purple dash-dot-dot line with diamonds" in one
 * figure must find it so in every other, whatever order a file lists its
 * encodings in. Colours come from the Okabe-Ito palette (Okabe and Ito 2008,
 * "Color Universal Design"; Wong, Nature Methods 8:441, 2011), which stays
 * distinguishable under the common colour-vision deficiencies; its yellow is
 * left out because it is unreadable on white. Each encoding also gets its own
 * point type and dash type, so lines that coincide (equal memory, equal
 * perplexity) still show one mark per encoding: solid lines are drawn first
 * and dotted ones last, so each shows through the gaps of those above it.
 *
 * The registry's encodings have fixed slots (palette.c). Any other name (a new
 * encoding, a file from elsewhere) gets a style from a hash of the name (FNV-1a):
 * a palette colour and dash pattern that no fixed slot pairs, and a filled
 * point type (fixed slots use open ones), so it is never yellow, never
 * mistaken for a registered encoding, and the same in every plot. Giving a
 * new encoding a fixed slot in palette.c is optional.
 */
#ifndef POSBENCH_PALETTE_H
#define POSBENCH_PALETTE_H

#include <stddef.h>

typedef struct {
    unsigned rgb;   /* 0xRRGGBB */
    int pt;         /* gnuplot point type */
    const char *dt; /* gnuplot dash type: a number or "(dash,gap,...)" */
    int layer;      /* drawing order, 0 first: the more ink a pattern lays
                       down, the earlier it is drawn, so sparser patterns on
                       top leave lines that coincide all visible */
} PaletteStyle;

/* The style of the encoding called name (any text; NULL reads as ""). */
PaletteStyle palette_style(const char *name);

/* The style as gnuplot plot options, "lc rgb 0xRRGGBB pt N ps S dt D"
 * (points of denser layers are larger, so marks that coincide nest; no text of
 * the name reaches it); out[cap], cap >= 64. */
void palette_gnuplot(char *out, size_t cap, const char *name);

/* Only the colour, "lc rgb 0xRRGGBB" (confidence bands). */
void palette_color(char *out, size_t cap, const char *name);

/* order[0..n) := 0..n-1 sorted by the layer of names[i] (ties keep their
 * order): the order to draw series in. Keys are listed in the file's order
 * separately (gnuplot's keyentry). */
void palette_draw_order(const char *const *names, int n, int *order);

/* A series as drawn: n points (x[i], y[i]). */
typedef struct {
    const char *name;
    const double *x, *y;
    int n;
} PaletteSeries;

/* Lines that lie on top of each other cannot all be seen, whatever their
 * styles; the figure says so. Appends "same values: a = b; c = d = e" to
 * note[cap], a group for each set of series with points at the same x and y
 * within 0.5% (no visible gap), after "; " when note is not empty; nothing
 * when no two series coincide. */
void palette_coincide_note(char *note, size_t cap, const PaletteSeries *s, int n);

#endif
