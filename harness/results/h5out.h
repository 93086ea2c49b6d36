/* h5out.h: creating a results file safely.
 *
 * A results file is written to an exclusively created temporary file with
 * an unpredictable name in the same directory (core/safe_file.h) and
 * renamed into place only when complete, so a crash or a full disk never
 * leaves a half-written file under the final name, and an existing file is
 * replaced only when the caller passed force.
 */
#ifndef POSBENCH_H5OUT_H
#define POSBENCH_H5OUT_H

#include <hdf5.h>

#include "../../core/status.h"

typedef struct {
    hid_t file;
    char path[4096];
    char tmp_path[4200];
    int force; /* replace an existing regular file (or link, as a link) */
} H5Out;

/* PB_EXISTS (naming --force) if path exists and !force, or if it is not a
 * regular file or link (core/safe_file.h); PB_IO if the directory is not
 * writable. Removes stale temporaries of killed runs beside it. On success o->file is open for writing. From
 * before the temporary file exists until commit or abort, a second SIGINT or
 * SIGTERM removes it (core/interrupt.h). */
PbStatus h5out_create(H5Out *o, const char *path, int force);
/* Closes, flushes to disk and renames into place; without force it never
 * replaces a file that appeared meanwhile. */
PbStatus h5out_commit(H5Out *o);
/* Closes and removes the temporary file (after an error). */
void h5out_abort(H5Out *o);

#endif
