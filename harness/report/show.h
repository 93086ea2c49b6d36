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

/* The cells of a benchmark file (kind bench, or a run's /bench); says
 * INCOMPLETE first for an interrupted bench file. */
PbStatus show_bench(hid_t file, const char *path, FILE *out);

#endif
