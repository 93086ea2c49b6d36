/* h5out.h: creating a results file safely.
 *
 * A results file is written to a temporary file in the same directory and
 * renamed into place only when complete, so a crash or a full disk never
 * leaves a half-written file under the final name, and an existing file is
 * replaced only when the caller passed force.
 */
#ifndef POSBENCH_H5OUT_H
#define POSBENCH_H5OUT_H

#include <hdf5.h>

#include "../core/status.h"

typedef struct {
    hid_t file;
    char path[4096];
    char tmp_path[4200];
} H5Out;

/* PB_EXISTS (naming --force) if path exists and !force; PB_IO if the
 * directory is not writable. On success o->file is open for writing. From
 * before the temporary file exists until commit or abort, a second SIGINT or
 * SIGTERM removes it (core/interrupt.h). */
PbStatus h5out_create(H5Out *o, const char *path, int force);
/* Closes, flushes to disk and renames into place. */
PbStatus h5out_commit(H5Out *o);
/* Closes and removes the temporary file (after an error). */
void h5out_abort(H5Out *o);

#endif
