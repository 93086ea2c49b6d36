/* h5out.c: creating a results file safely (see h5out.h). */
#include "h5out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../core/interrupt.h"

PbStatus h5out_create(H5Out *o, const char *path, int force) {
    *o = (H5Out){.file = H5I_INVALID_HID};
    if (strlen(path) >= sizeof o->path) return pb_fail(PB_USAGE, "output path too long: %s", path);
    if (!force && access(path, F_OK) == 0)
        return pb_fail(PB_EXISTS, "'%s' exists; choose another path or pass --force to replace it", path);
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->tmp_path, sizeof o->tmp_path, "%s.tmp.%ld", path, (long)getpid());
    /* Guarded before it exists: a second Ctrl-C during the create removes it too. */
    interrupt_guard_file(o->tmp_path);
    o->file = H5Fcreate(o->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (o->file < 0) {
        interrupt_guard_file(NULL);
        return pb_fail(PB_IO, "cannot create '%s': %s", o->tmp_path,
                       errno ? strerror(errno) : "HDF5 could not create the file");
    }
    return PB_OK;
}

/* Close, sync and rename into place; on failure the temporary file goes. */
static PbStatus close_and_rename(H5Out *o) {
    herr_t flushed = H5Fflush(o->file, H5F_SCOPE_GLOBAL);
    herr_t closed = H5Fclose(o->file);
    o->file = H5I_INVALID_HID;
    if (flushed < 0 || closed < 0) {
        unlink(o->tmp_path);
        return pb_fail(PB_IO, "cannot finish writing '%s' (disk full?); '%s' is unchanged", o->tmp_path, o->path);
    }
    int fd = open(o->tmp_path, O_RDONLY);
    int synced = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    if (!synced || rename(o->tmp_path, o->path) != 0) {
        int err = errno;
        unlink(o->tmp_path);
        return pb_fail(PB_IO, "cannot move the results into '%s': %s", o->path, strerror(err));
    }
    return PB_OK;
}

PbStatus h5out_commit(H5Out *o) {
    PbStatus st = close_and_rename(o);
    interrupt_guard_file(NULL); /* cleared after the rename, when the path names no file */
    return st;
}

void h5out_abort(H5Out *o) {
    if (o->file >= 0) H5Fclose(o->file);
    o->file = H5I_INVALID_HID;
    if (o->tmp_path[0]) unlink(o->tmp_path);
    interrupt_guard_file(NULL);
}
