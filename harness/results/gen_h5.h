/* gen_h5.h: generalization results in HDF5 files (schema: results/README.md):
 * writing, resuming an interrupted sweep, and the readers show and plot use. */
#ifndef POSBENCH_GEN_H5_H
#define POSBENCH_GEN_H5_H

#include <hdf5.h>

#include "../train/generalize.h"

/* Writes the results under /generalization and /training (corpus) or
 * /tasks/<task> (task) of an open file; attributes for the config. Does not
 * touch the root attributes (the caller writes `complete`). */
PbStatus gen_h5_write(hid_t file, const GenResults *r);

/* Resume: r from gen_prepare; file an interrupted results file. Refuses
 * (PB_USAGE, naming the setting, the file's value, this run's value and the
 * file's command line) a file whose configuration differs from r's in any
 * recorded setting, the data's identity included (ids_sha256: a corpus
 * changed in place, even to the same token count, is refused); otherwise
 * copies the runs the file measured into r and marks them measured, so
 * gen_sweep skips them. A file without the study (another --data) is refused
 * too, and so is one written before ids_sha256 was recorded: nothing could
 * show that its runs were measured on this data. */
PbStatus gen_h5_resume(hid_t file, const char *path, GenResults *r);

/* The `encodings` attribute of a results group, split (names present as
 * subgroups only); returns the count. */
int gen_read_encodings(hid_t g, char names[][GEN_NAME], int cap);
/* Reads dataset g/name as floats (free()); rank 1: *rows = 1. -1 if absent. */
int gen_read_matrix(hid_t g, const char *name, float **data, int *rows, int *cols);

#endif
