/* show.h: readable summaries of results files (`posbench show`, and the
 * summary `posbench run` prints). */
#ifndef POSBENCH_SHOW_H
#define POSBENCH_SHOW_H

#include <hdf5.h>
#include <stdio.h>

#include "../../core/status.h"

/* Prints the generalization and task tables of a file (kind generalize or
 * run) and, with /bench, the per-encoding summary naming which encodings
 * extrapolate. */
PbStatus gen_show(hid_t file, const char *path, FILE *out);

/* The summary's verdict on each encoding of /generalization, worded as
 * gen_show words it; list says which list it joins (the same list: the
 * same verdict, whatever its figures). Names are raw (print through
 * text_sanitize). Returns the count (0 without /generalization). */
typedef struct {
    char name[64];
    char verdict[128];
    int list; /* -1: no verdict (nothing measured at L) */
} GenVerdict;
int gen_verdicts(hid_t file, GenVerdict *v, int cap);

/* The cells of a benchmark file (kind bench, or a run's /bench); says
 * INCOMPLETE first for an interrupted bench file. */
PbStatus show_bench(hid_t file, const char *path, FILE *out);

/* An encoding export (kind encoding_export): its encoding, variant,
 * settings and sizes, then one line per tensor with its type, shape and the
 * range and mean of its values (harness/report/show_export.c). */
PbStatus show_export(hid_t file, const char *path, FILE *out);

/* The objects at the root of an export, in name order: what show_export
 * lists and plot_export draws, whatever their names. */
typedef struct {
    char *name;           /* as stored: print only through text_sanitize */
    int dataset;          /* 0: a group or other object, not a tensor */
    int numeric, integer; /* of float or integer class; of integer class */
    char dtype[16];       /* "float32", "int32", "string", "group", ... */
    int rank;             /* -1: no dataspace (null), -2: unknown */
    long long dims[32];   /* [rank]; HDF5 allows rank up to 32 */
} ExportTensor;
/* Lists them into *tensors[*n] (free with export_tensors_free); PB_DATA
 * naming path if the root cannot be listed. */
PbStatus export_tensors(hid_t file, const char *path, ExportTensor **tensors, size_t *n);
void export_tensors_free(ExportTensor *tensors, size_t n);
/* "[8, 64, 64]" */
void export_shape_text(const ExportTensor *t, char *out, size_t cap);
/* Elements of a dataset of rank >= 1 (0 for none, a scalar or an overflow). */
long long export_tensor_count(const ExportTensor *t);
/* A numeric tensor's values as floats (integers converted), read through
 * the size-checked h5_read_floats / h5_read_ints; *data to free(). */
PbStatus export_tensor_read(hid_t file, const ExportTensor *t, float **data);
/* Range and mean of the finite values; NaN and infinities counted apart. */
typedef struct {
    float min, max; /* of the finite values (meaningless when finite == 0) */
    double mean;    /* NaN when finite == 0 */
    size_t finite, nans, infs;
} ExportStats;
ExportStats export_stats(const float *v, size_t n);

#endif
