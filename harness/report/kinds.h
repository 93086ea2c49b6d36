/* kinds.h: the one table of result kinds. A posbench HDF5 file names its
 * kind in the root attribute "kind"; the table says, per kind, which schema
 * versions this build reads, which checks the file must pass before anything
 * indexes it (harness/results/h5schema.h), and how `show` and `plot` present
 * it. A new kind is one new row (luaL_Reg style: the table ends in NULL). */
#ifndef POSBENCH_KINDS_H
#define POSBENCH_KINDS_H

#include <hdf5.h>
#include <stdio.h>

#include "../../core/status.h"

typedef struct {
    const char *kind;         /* the root attribute "kind" */
    long long schema_version; /* the newest this build reads */
    int version_required;     /* 0: files may lack schema_version (then 1) */
    PbStatus (*check)(hid_t file, const char *path);
    /* optional: what `show` prints after the provenance (NULL: nothing) */
    PbStatus (*show)(hid_t file, const char *path, FILE *out);
    PbStatus (*plot)(hid_t file, const char *path, const char *dir);
} ResultKind;

/* The row of kind, or NULL. */
const ResultKind *result_kind(const char *kind);

/* Opens a results file as untrusted (h5in_open), reads its kind, and runs
 * the kind's version check and schema check. PB_DATA (file closed) naming
 * the file if it is not a posbench results file or of a kind this build
 * does not read. */
PbStatus result_open(hid_t *file, const ResultKind **kind, const char *path);

#endif
