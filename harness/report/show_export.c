/* show_export.c: what an encoding export (posbench export) holds. The list
 * of its tensors, every object at the root of the file in name order, is
 * shared with plot_export.c, so `show` and `plot` see the same tensors,
 * including ones a newer encoding adds under a name nobody here knows.
 *
 * `posbench show` prints the export's settings, then one line per tensor:
 *   bias    float32  [8, 64, 64]  min -63  max 0  mean -18.2
 * min, max and mean are over the finite values; NaN and infinite values are
 * counted apart, so a NaN neither hides nor poisons the range.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/text.h"
#include "../results/h5io.h"
#include "show.h"

typedef struct {
    ExportTensor *t;
    size_t n, cap;
    PbStatus st;
} TensorList;

/* "float32", "int64", "uint8", "string", ...: the stored type, in words. */
static void type_text(hid_t type, char *out, size_t cap) {
    H5T_class_t cls = H5Tget_class(type);
    int bits = (int)(8 * H5Tget_size(type));
    switch (cls) {
    case H5T_FLOAT: snprintf(out, cap, "float%d", bits); break;
    case H5T_INTEGER: snprintf(out, cap, "%sint%d", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits); break;
    case H5T_STRING: snprintf(out, cap, "string"); break;
    case H5T_COMPOUND: snprintf(out, cap, "compound"); break;
    case H5T_ENUM: snprintf(out, cap, "enum"); break;
    case H5T_ARRAY: snprintf(out, cap, "array"); break;
    default: snprintf(out, cap, "other"); break;
    }
}

static void describe_dataset(hid_t set, ExportTensor *t) {
    hid_t type = H5Dget_type(set), space = H5Dget_space(set);
    if (type >= 0) {
        type_text(type, t->dtype, sizeof t->dtype);
        H5T_class_t cls = H5Tget_class(type);
        t->numeric = cls == H5T_FLOAT || cls == H5T_INTEGER;
        t->integer = cls == H5T_INTEGER;
    }
    if (space >= 0 && H5Sget_simple_extent_type(space) == H5S_NULL) {
        t->rank = -1;
    } else if (space >= 0) {
        hsize_t d[H5S_MAX_RANK];
        int r = H5Sget_simple_extent_ndims(space);
        if (r >= 0 && r <= H5S_MAX_RANK && H5Sget_simple_extent_dims(space, d, NULL) == r) {
            t->rank = r;
            for (int i = 0; i < r; i++) t->dims[i] = (long long)d[i];
        }
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
}

static herr_t add_tensor(hid_t root, const char *name, const H5L_info_t *info, void *data) {
    (void)info;
    TensorList *l = data;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        ExportTensor *t = realloc(l->t, cap * sizeof *t);
        if (!t) return l->st = pb_fail(PB_NOMEM, "no memory to list the tensors of an export"), 1;
        l->t = t, l->cap = cap;
    }
    ExportTensor *t = &l->t[l->n];
    *t = (ExportTensor){.name = strdup(name), .rank = -2};
    if (!t->name) return l->st = pb_fail(PB_NOMEM, "no memory to list the tensors of an export"), 1;
    l->n++;
    snprintf(t->dtype, sizeof t->dtype, "?");
    hid_t obj = H5Oopen(root, name, H5P_DEFAULT);
    H5I_type_t kind = obj < 0 ? H5I_BADID : H5Iget_type(obj);
    t->dataset = kind == H5I_DATASET;
    if (t->dataset) describe_dataset(obj, t);
    else snprintf(t->dtype, sizeof t->dtype, "%s", kind == H5I_GROUP ? "group" : "object");
    if (obj >= 0) H5Oclose(obj);
    return 0;
}

PbStatus export_tensors(hid_t file, const char *path, ExportTensor **tensors, size_t *n) {
    TensorList l = {0};
    hsize_t idx = 0;
    herr_t r = H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &idx, add_tensor, &l);
    if (!l.st && r < 0)
        l.st = pb_fail(PB_DATA, "'%s': the tensors of this export cannot be listed (damaged file?)", path);
    if (l.st) {
        export_tensors_free(l.t, l.n);
        l.t = NULL, l.n = 0;
    }
    *tensors = l.t, *n = l.n;
    return l.st;
}

void export_tensors_free(ExportTensor *tensors, size_t n) {
    for (size_t i = 0; tensors && i < n; i++) free(tensors[i].name);
    free(tensors);
}

void export_shape_text(const ExportTensor *t, char *out, size_t cap) {
    if (t->rank == -2) return (void)snprintf(out, cap, "%s", t->dataset ? "[?]" : "-");
    if (t->rank == -1) return (void)snprintf(out, cap, "[] (no data)");
    size_t o = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < t->rank && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, i ? ", %lld" : "%lld", t->dims[i]);
    if (o < cap) snprintf(out + o, cap - o, "]");
}

long long export_tensor_count(const ExportTensor *t) {
    if (t->rank < 1) return 0;
    long long n = 1;
    for (int i = 0; i < t->rank; i++) n = t->dims[i] > 0 && n <= LLONG_MAX / t->dims[i] ? n * t->dims[i] : 0;
    return n;
}

PbStatus export_tensor_read(hid_t file, const ExportTensor *t, float **data) {
    int rank, dims[8];
    *data = NULL;
    if (!t->dataset || !t->numeric)
        return pb_fail(PB_DATA, "dataset '%s' is not numeric", t->name); /* pb_fail sanitizes */
    if (!t->integer) return h5_read_floats(file, t->name, data, &rank, dims);
    int *ints;
    PbStatus st = h5_read_ints(file, t->name, &ints, &rank, dims);
    if (st) return st;
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)(dims[i] ? dims[i] : 1);
    float *f = malloc(n * sizeof *f);
    if (!f) st = pb_fail(PB_NOMEM, "no memory for the %zu values of '%s'", n, t->name);
    for (size_t i = 0; f && i < n; i++) f[i] = (float)ints[i];
    free(ints);
    *data = f;
    return st;
}

ExportStats export_stats(const float *v, size_t n) {
    ExportStats s = {.min = INFINITY, .max = -INFINITY};
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) {
            s.nans++;
        } else if (isinf(v[i])) {
            s.infs++;
        } else {
            s.min = v[i] < s.min ? v[i] : s.min;
            s.max = v[i] > s.max ? v[i] : s.max;
            sum += v[i];
            s.finite++;
        }
    }
    s.mean = s.finite ? sum / (double)s.finite : NAN;
    return s;
}

#define NAME_SHOWN 40 /* bytes of a name in the table; longer ones end in "..." */

/* A tensor's name, printable and at most NAME_SHOWN bytes. */
static char *shown_name(char out[NAME_SHOWN + 1], const char *name) {
    if (strlen(name) <= NAME_SHOWN) return text_sanitize_copy(out, NAME_SHOWN + 1, name);
    text_sanitize_copy(out, NAME_SHOWN - 2, name); /* a cut character becomes '?' */
    return strcat(out, "...");
}

/* One line of the tensor table: name, type, shape, then the values' range. */
static PbStatus show_tensor(hid_t file, const ExportTensor *t, int name_w, int shape_w, FILE *out) {
    char name[NAME_SHOWN + 1], shape[160];
    shown_name(name, t->name);
    export_shape_text(t, shape, sizeof shape);
    fprintf(out, "  %-*s %-8s %-*s", name_w, name, t->dtype, shape_w, shape);
    long long n = export_tensor_count(t);
    const char *why = !t->dataset    ? "not a dataset"
                      : !t->numeric  ? "not numeric"
                      : t->rank == 0 ? "a scalar"
                      : t->rank > 8  ? "rank over 8"
                      : n < 1        ? "no values"
                                     : NULL;
    if (why) return fprintf(out, "  (%s)\n", why), PB_OK;
    float *v;
    PbStatus st = export_tensor_read(file, t, &v);
    if (st) return fprintf(out, "\n"), st;
    ExportStats s = export_stats(v, (size_t)n);
    free(v);
    if (s.finite) fprintf(out, "  min %.6g  max %.6g  mean %.4g", s.min, s.max, s.mean);
    else fprintf(out, "  no finite values");
    if (s.nans) fprintf(out, "  NaN %zu", s.nans);
    if (s.infs) fprintf(out, "  inf %zu", s.infs);
    fprintf(out, "\n");
    return PB_OK;
}

PbStatus show_export(hid_t file, const char *path, FILE *out) {
    static const char *const text_keys[] = {"encoding", "variant", "settings"};
    static const char *const int_keys[] = {"T", "C", "H", "seed"};
    for (size_t i = 0; i < sizeof text_keys / sizeof text_keys[0]; i++) {
        char v[512];
        if (h5_read_attr_string(file, text_keys[i], v, sizeof v)) continue;
        int blank = strspn(v, " ") == strlen(v);
        fprintf(out, "%-17s %s\n", text_keys[i], blank ? "(none)" : v);
    }
    for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++) {
        long long v;
        if (!h5_read_attr_int(file, int_keys[i], &v)) fprintf(out, "%-17s %lld\n", int_keys[i], v);
    }
    ExportTensor *t;
    size_t n;
    PbStatus st = export_tensors(file, path, &t, &n);
    if (st) return st;
    fprintf(out, "\n");
    if (n == 0) fprintf(out, "no tensors (the encoding has no hooks that act)\n");
    else fprintf(out, "%zu tensor%s (min, max, mean over finite values):\n", n, n == 1 ? "" : "s");
    int name_w = 4, shape_w = 5;
    for (size_t i = 0; i < n; i++) {
        char name[NAME_SHOWN + 1], shape[160];
        int w = (int)strlen(shown_name(name, t[i].name));
        name_w = w > name_w ? w : name_w;
        export_shape_text(&t[i], shape, sizeof shape);
        w = (int)strlen(shape);
        shape_w = w > shape_w ? (w < 40 ? w : 40) : shape_w;
    }
    for (size_t i = 0; !st && i < n; i++) st = show_tensor(file, &t[i], name_w, shape_w, out);
    export_tensors_free(t, n);
    return st;
}
