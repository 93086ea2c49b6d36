/* h5io.h: results files: typed datasets and attributes, provenance, and
 * reading back with errors instead of HDF5 stack dumps. Results files come
 * from anyone: h5in_open (h5open.c) refuses what could hang, escape the file
 * or overflow a reader, and every size is checked (h5extent.h) before
 * anything is allocated. Creating a file safely is h5out.h's part; the
 * schema checks are h5schema.h's.
 */
#ifndef POSBENCH_H5IO_H
#define POSBENCH_H5IO_H

#include <hdf5.h>
#include <stdint.h>

#include "../../core/status.h"
#include "h5out.h"

PbStatus h5_write_floats(hid_t loc, const char *name, const float *data, int rank, const int *dims);
PbStatus h5_write_ints(hid_t loc, const char *name, const int *data, int rank, const int *dims);
PbStatus h5_attr_string(hid_t loc, const char *name, const char *value);
PbStatus h5_attr_int(hid_t loc, const char *name, long long value);
PbStatus h5_attr_double(hid_t loc, const char *name, double value);

/* Remembers the process's command line for provenance (main calls it). */
void h5_set_command_line(int argc, char **argv);

/* Root attributes every results file carries: posbench version and commit,
 * UTC time, host, CPU model, compiler and flags, HDF5 version, command line. */
PbStatus h5_write_provenance(hid_t file);

/* Reading. Every file read is untrusted: a results file may come from
 * anyone.
 * h5in_open: PB_DATA with a plain one-line message for a missing file, one
 * that is not a regular file (FIFO, device, directory: refused before HDF5
 * opens it), a non-HDF5 file or a truncated one. Then it walks every link,
 * object and attribute once (at most 100000) and refuses, naming the file
 * and the object: soft, external and user-defined links; datasets stored
 * outside the file (external storage, virtual); a dataset or attribute whose
 * declared size overflows or exceeds the file, an attribute over 1 MiB, a
 * dimension past INT_MAX. After it, external links never resolve in this
 * process. */
PbStatus h5in_open(hid_t *file, const char *path);
/* 1 if the link exists. */
int h5_exists(hid_t loc, const char *name);
/* Reads a single fixed-length string attribute (at most 1 MiB) into out,
 * truncated to cap, made one printable line (core/text.h: control
 * characters, escape sequences, invalid UTF-8 become '?'). Absent or not a
 * single string: PB_DATA, out empty. */
PbStatus h5_read_attr_string(hid_t loc, const char *name, char *out, size_t cap);
/* The same, bytes as stored: for values compared with ours or used as a
 * path. Never print it except through pb_fail (which sanitizes). */
PbStatus h5_read_attr_raw(hid_t loc, const char *name, char *out, size_t cap);
/* A single numeric attribute, converted; PB_DATA if absent, not numeric or
 * holding more than one value. */
PbStatus h5_read_attr_int(hid_t loc, const char *name, long long *out);
PbStatus h5_read_attr_double(hid_t loc, const char *name, double *out);
/* Reads a float dataset: allocates *data (free()), fills dims[0..*rank).
 * Rank 1-8, every dimension and the product of all (zeros counted as 1) at
 * most 2^31 - 1, the bytes within the file (checked arithmetic, before any
 * allocation); PB_DATA naming the file and dataset otherwise. */
PbStatus h5_read_floats(hid_t loc, const char *name, float **data, int *rank, int dims[8]);
PbStatus h5_read_ints(hid_t loc, const char *name, int **data, int *rank, int dims[8]);

/* Silences HDF5's automatic error-stack printing and skips its exit-time
 * clean-up (call once in main, before any other HDF5 call). */
void h5_quiet(void);

#endif
