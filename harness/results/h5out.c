/* h5out.c: creating a results file safely (see h5out.h; the rules are
 * core/safe_file.h's). */
#include "h5out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../core/interrupt.h"
#include "../../core/safe_file.h"

PbStatus h5out_create(H5Out *o, const char *path, int force) {
    *o = (H5Out){.file = H5I_INVALID_HID, .force = force};
    if (strlen(path) >= sizeof o->path) return pb_fail(PB_USAGE, "output path too long: %s", path);
    PbStatus st = safe_target_check(path, force);
    if (st) return st;
    safe_remove_stale(path);
    snprintf(o->path, sizeof o->path, "%s", path);
    /* H5F_ACC_EXCL opens with O_CREAT | O_EXCL, which never follows a link:
     * a name someone planted (improbable: the suffix is random) is skipped. */
    for (int attempt = 0; attempt < 8; attempt++) {
        if ((st = safe_temp_name(o->tmp_path, sizeof o->tmp_path, path))) return st;
        /* Guarded before it exists: a second Ctrl-C during the create removes it too. */
        interrupt_guard_file(o->tmp_path);
        errno = 0;
        o->file = H5Fcreate(o->tmp_path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
        if (o->file >= 0) return PB_OK;
        interrupt_guard_file(NULL);
        if (errno != EEXIST) break;
    }
    int err = errno;
    o->tmp_path[0] = 0;
    return pb_fail(PB_IO, "cannot create a temporary file beside '%s': %s", path,
                   err ? strerror(err) : "HDF5 could not create the file");
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
    int fd = open(o->tmp_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int synced = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    if (!synced) {
        int err = errno;
        unlink(o->tmp_path);
        return pb_fail(PB_IO, "cannot move the results into '%s': %s", o->path, strerror(err));
    }
    PbStatus st = safe_commit(o->tmp_path, o->path, o->force);
    if (st) unlink(o->tmp_path);
    return st;
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
