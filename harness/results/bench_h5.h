/* bench_h5.h: benchmark results in HDF5 (kind "bench"; schema in
 * results/README.md). */
#ifndef POSBENCH_BENCH_H5_H
#define POSBENCH_BENCH_H5_H

#include <hdf5.h>

#include "../bench/bench.h"

/* The newest schema version of bench files this build writes and reads:
 * 2 added /bench/repetitions_ns (version 1 files read with no repetitions). */
#define BENCH_SCHEMA_VERSION 2

/* Writes /bench and /reference into an open file (the caller writes the
 * root's kind and schema_version: a run file holds a bench too). */
PbStatus bench_h5_write(hid_t file, const BenchPlan *plan, const BenchResults *r);

/* Reads them back; PB_DATA naming what is missing, damaged, or from a newer
 * schema, or a table of more rows than posbench writes. The rows' strings
 * come back as printable lines (core/text.h). `path` only names the file in
 * messages. */
PbStatus bench_h5_read(hid_t file, const char *path, BenchResults *r);

/* Resume: the file's /bench settings (profile, batch, memory budget, the
 * --benchmark_* flags) equal the plan's; PB_USAGE naming the first that
 * differs, with the file's command line. */
PbStatus bench_h5_check_resume(hid_t file, const char *path, const BenchPlan *plan);

#endif
