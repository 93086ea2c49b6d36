/* plot_dir.h: where plots are written, safely.
 *
 * Plots go into a new directory, or into an existing one only with force.
 * They are drawn into a private temporary directory beside the target
 * (core/safe_file.h: exclusive, unpredictable name, mode 0700, so nobody can
 * plant a link where gnuplot writes) and moved into place only when every
 * plot succeeded:
 *   - new target: the whole directory is renamed into place (never over a
 *     directory that appeared meanwhile);
 *   - existing target (force): each plot replaces the file of its name,
 *     a regular file or a link as a link; anything else there (a directory,
 *     a FIFO, a device) refuses the whole move before anything is replaced.
 * The target itself must be a real directory, not a link to one.
 * On failure nothing is left: the temporary directory goes.
 */
#ifndef POSBENCH_PLOT_DIR_H
#define POSBENCH_PLOT_DIR_H

#include "../../core/status.h"

typedef struct {
    char target[4096];
    char stage[4200]; /* where gnuplot writes; "" once committed or aborted */
    int force;
} PlotDir;

/* PB_OK if plots may go to dir: absent, or with force an existing directory
 * that is not a link. PB_EXISTS naming --force otherwise. */
PbStatus plot_dir_check(const char *dir, int force);

/* plot_dir_check, then the temporary directory d->stage. */
PbStatus plot_dir_begin(PlotDir *d, const char *dir, int force);
/* Moves the plots into the target (see above) and removes d->stage. */
PbStatus plot_dir_commit(PlotDir *d);
/* Removes d->stage and what was drawn in it. */
void plot_dir_abort(PlotDir *d);

#endif
