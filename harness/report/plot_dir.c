/* plot_dir.c: plots drawn in private, moved in at the end (see plot_dir.h). */
#define _GNU_SOURCE /* renameat2, RENAME_NOREPLACE */
#include "plot_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/safe_file.h"

PbStatus plot_dir_check(const char *dir, int force) {
    struct stat sb;
    if (lstat(dir, &sb) != 0) {
        if (errno == ENOENT) return PB_OK;
        return pb_fail(PB_IO, "cannot check '%s': %s", dir, strerror(errno));
    }
    if (S_ISLNK(sb.st_mode)) return pb_fail(PB_EXISTS, "'%s' is a symbolic link; name the plot directory itself", dir);
    if (!S_ISDIR(sb.st_mode)) return pb_fail(PB_IO, "'%s' exists and is not a directory", dir);
    if (!force)
        return pb_fail(PB_EXISTS, "'%s' exists; choose another directory or pass --force to replace its plots", dir);
    return PB_OK;
}

PbStatus plot_dir_begin(PlotDir *d, const char *dir, int force) {
    *d = (PlotDir){.force = force};
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--; /* "plots/" names "plots" */
    if (n == 0 || n >= sizeof d->target) return pb_fail(PB_USAGE, "bad plot directory name '%s'", dir);
    memcpy(d->target, dir, n);
    d->target[n] = 0;
    PbStatus st = plot_dir_check(d->target, force);
    if (st) return st;
    safe_remove_stale(d->target);
    return safe_temp_directory(d->stage, sizeof d->stage, d->target);
}

/* Into an existing directory: check every destination, then move each plot. */
static PbStatus move_into(PlotDir *d) {
    int from = open(d->stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int to = open(d->target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *list = from < 0 ? NULL : fdopendir(dup(from));
    PbStatus st = PB_OK;
    if (from < 0 || to < 0 || !list)
        st = pb_fail(PB_IO, "cannot open '%s' for its plots: %s", d->target, strerror(errno));
    for (int pass = 0; !st && pass < 2; pass++) {
        rewinddir(list);
        for (struct dirent *e; !st && (e = readdir(list));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            struct stat sb;
            if (pass == 0) {
                if (fstatat(to, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(sb.st_mode) &&
                    !S_ISLNK(sb.st_mode))
                    st =
                        pb_fail(PB_EXISTS, "'%s/%s' is not a regular file; nothing was replaced", d->target, e->d_name);
            } else if (renameat(from, e->d_name, to, e->d_name) != 0) {
                st = pb_fail(PB_IO, "cannot move plot '%s' into '%s': %s", e->d_name, d->target, strerror(errno));
            }
        }
    }
    if (list) closedir(list);
    if (from >= 0) close(from);
    if (to >= 0) close(to);
    return st;
}

PbStatus plot_dir_commit(PlotDir *d) {
    struct stat sb;
    PbStatus st;
    if (lstat(d->target, &sb) == 0) {
        st = d->force ? plot_dir_check(d->target, 1) : plot_dir_check(d->target, 0);
        if (!st) st = move_into(d);
    } else {
        /* The private directory becomes the plot directory: the usual mode. */
        mode_t mask = umask(0);
        umask(mask);
        if (chmod(d->stage, 0777 & ~mask) != 0 ||
            renameat2(AT_FDCWD, d->stage, AT_FDCWD, d->target, RENAME_NOREPLACE) != 0)
            st = pb_fail(errno == EEXIST ? PB_EXISTS : PB_IO, "cannot move the plots into '%s': %s", d->target,
                         strerror(errno));
        else st = PB_OK, d->stage[0] = 0;
    }
    plot_dir_abort(d);
    return st;
}

void plot_dir_abort(PlotDir *d) {
    if (d->stage[0]) safe_remove_temp_directory(d->stage);
    d->stage[0] = 0;
}
