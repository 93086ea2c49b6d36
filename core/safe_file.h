/* safe_file.h: creating files beside files that others may control.
 *
 * Results files and plot directories are written where other people's files
 * live (a shared results/ folder, a directory named on the command line), so
 * nothing a write touches may be chosen by anyone but posbench:
 *   - a new file starts as a temporary created exclusively (O_EXCL: never
 *     through a planted link) under an unpredictable name in the target's
 *     directory, "<target>.tmp.<pid>.<12 hex digits>", and is renamed over
 *     the target only when complete;
 *   - without force an existing target (a dangling link included) is never
 *     replaced, even one that appears while the file is written; with force
 *     only a regular file, or a symbolic link as a link (never its target),
 *     is replaced: a directory, device node, FIFO or socket is refused;
 *   - temporaries that a killed posbench left behind (its process is gone)
 *     are removed by the next run that writes into the same directory: only
 *     names of exactly that form, regular files (or temporary plot
 *     directories holding only files) owned by this user.
 */
#ifndef POSBENCH_SAFE_FILE_H
#define POSBENCH_SAFE_FILE_H

#include <stddef.h>

#include "status.h"

/* PB_OK if `path` may be written: absent, or (with force) a regular file or
 * a symbolic link. PB_EXISTS naming --force, or naming what the path is. */
PbStatus safe_target_check(const char *path, int force);

/* "<target>.tmp.<pid>.<12 random hex digits>" into out[cap]; PB_USAGE if it
 * does not fit. */
PbStatus safe_temp_name(char *out, size_t cap, const char *target);

/* Creates a private (0700) temporary directory for target, named as
 * safe_temp_name says, into out[cap]. PB_IO naming the path on failure. */
PbStatus safe_temp_directory(char *out, size_t cap, const char *target);

/* Renames the finished temporary tmp over target. Without force it fails
 * (PB_EXISTS) if target exists by now; with force it re-checks target as
 * safe_target_check does. Does not remove tmp on failure. */
PbStatus safe_commit(const char *tmp, const char *target, int force);

/* Removes the stale temporaries (see above) in the directory of target. */
void safe_remove_stale(const char *target);

/* Removes a temporary directory made by safe_temp_directory: its entries
 * (without following links) and itself. */
void safe_remove_temp_directory(const char *dir);

#endif
