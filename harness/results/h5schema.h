/* h5schema.h: the checks a results file passes before any reader indexes
 * it: its schema version is one this build reads, and every dataset the
 * readers index has the shape the others imply, with at most 2^31 - 1
 * values. Each returns PB_DATA naming the file and the dataset. The table of
 * result kinds (harness/report/kinds.h) says which check each kind gets. */
#ifndef POSBENCH_H5SCHEMA_H
#define POSBENCH_H5SCHEMA_H

#include <hdf5.h>

#include "../../core/status.h"

/* The root attribute schema_version (absent: 1, refused if required) is at
 * least 1 and at most newest. */
PbStatus h5_check_schema_version(hid_t file, const char *path, const char *kind, long long newest, int required);

/* /bench's reference numbers hold one value each (bench_h5_read checks its
 * tables). */
PbStatus h5_check_bench(hid_t file, const char *path);
/* /generalization and /tasks/<task>: every listed encoding's group and its
 * datasets' shapes; an interrupted file with no run yet passes. */
PbStatus h5_check_generalize(hid_t file, const char *path);
/* bench, then the studies if present. */
PbStatus h5_check_run(hid_t file, const char *path);
/* An export's attributes T, C, H in range and its tensors' shapes. */
PbStatus h5_check_export(hid_t file, const char *path);

#endif
