/* plots.h: one drawing function per kind of posbench HDF5 file; `posbench
 * plot` reads the file's "kind" attribute and calls the matching one. */
#ifndef POSBENCH_PLOTS_H
#define POSBENCH_PLOTS_H

#include <hdf5.h>

#include "../../core/status.h"

/* Heatmaps of an encoding export into dir (PNG and SVG). */
PbStatus plot_export(hid_t file, const char *dir);

/* Throughput, relative cost and memory of a benchmark file into dir. */
PbStatus plot_bench(hid_t file, const char *path, const char *dir);

/* Generalization and task plots of a generalize or run file into dir
 * (harness/report/plot_generalize.c). */
PbStatus plot_generalize(hid_t file, const char *path, const char *dir);

/* The plots of any kind of posbench file into dir; PB_DATA naming the kind
 * if this posbench cannot plot it (harness/report/plots.c). */
PbStatus plot_results(hid_t file, const char *kind, const char *path, const char *dir);

#endif
