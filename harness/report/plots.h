/* plots.h: one drawing function per kind of posbench HDF5 file, each into a
 * directory gnuplot works in (harness/report/plot_dir.h); the table of
 * result kinds (kinds.h) says which kind gets which. */
#ifndef POSBENCH_PLOTS_H
#define POSBENCH_PLOTS_H

#include <hdf5.h>

#include "../../core/status.h"

/* Heatmaps of an encoding export into dir (PNG and SVG). */
PbStatus plot_export(hid_t file, const char *path, const char *dir);

/* Throughput, relative cost and memory of a benchmark file into dir. */
PbStatus plot_bench(hid_t file, const char *path, const char *dir);

/* Generalization and task plots of a generalize or run file into dir
 * (harness/report/plot_generalize.c). */
PbStatus plot_generalize(hid_t file, const char *path, const char *dir);

#endif
