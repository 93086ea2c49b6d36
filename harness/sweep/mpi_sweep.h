/* mpi_sweep.h: sweeps across machines with MPI.
 *
 * `mpirun -n N posbench generalize|run ...` splits the sweep into its cells,
 * each exactly one run of generalize.h (encoding x seed of one study: the
 * corpus study or a task), and shares them out:
 *
 *   rank 0      coordinates and writes; it does not train. It hands out cell
 *               indices one at a time on request (longest first by
 *               steps x batch x L: cells differ a lot in cost), merges each
 *               finished cell's serialized result into its own GenResults,
 *               and rewrites the results file (gen_h5.c, through the usual
 *               temporary-file-and-rename) after every cell, marked
 *               complete = 0 until the last. It waits by polling every 2 ms
 *               (MPI_Iprobe + nanosleep), so it takes no core from a worker.
 *   ranks 1..   load the same data (gen_prepare), then ask for a cell, run it
 *               with gen_run_cell (the training of a cell stays on one
 *               rank), send back its result, and ask again until told to stop.
 *
 * Messages (MPI_COMM_WORLD): worker -> 0, tag WORK, bytes: empty ("ready")
 * or one cell's packed result (header: study, encoding, seed, status,
 * rank, host, error text; then that seed's rows and the per-length values
 * it measured). 0 -> worker, tag CELL, one int: the cell index, or -1 stop.
 * Ranks run the same binary on the same architecture (results are sent as
 * raw bytes).
 *
 * Determinism: a cell is seeded by its own seed only, so the merged numbers
 * equal a single process's bit for bit when every rank uses the same
 * OpenMP thread count (the matmul-gradient reduction depends on it); ranks
 * whose counts differ are named at the start.
 *
 * Faults: a cell that fails on a worker (an error, not a divergence) is
 * reported with its name, rank and host and left unmeasured; the others go
 * on. A rank that dies makes Open MPI end the job (SIGTERM to the others):
 * rank 0 takes it as an interrupt (core/interrupt.h), names the cells in
 * flight and exits; the file written after the last finished cell stays,
 * marked incomplete, for --resume (under mpirun or in one process).
 *
 * Launch detection: MPI is initialised only when mpirun or srun started the
 * process (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK in the environment),
 * so a plain run never touches MPI. Without the build option
 * (POSBENCH_MPI), every function here is a stub: one process, rank 0.
 *
 * Test hooks (tests/mpi_test.sh only): POSBENCH_TEST_MPI_DIE=R:K makes rank
 * R kill itself (SIGKILL) when it receives its K-th cell;
 * POSBENCH_TEST_MPI_FAIL=R:K makes that cell fail with an error instead.
 */
#ifndef POSBENCH_MPI_SWEEP_H
#define POSBENCH_MPI_SWEEP_H

#include "../../core/status.h"
#include "../train/generalize.h"

/* 1 if mpirun or srun launched this process (environment). */
int pbmpi_launched(void);
/* MPI_Init when launched and built with MPI; else nothing. PB_USAGE if
 * launched by mpirun but built without MPI and the world has several ranks. */
PbStatus pbmpi_init(int *argc, char ***argv);
void pbmpi_finalize(void);
/* Ends every rank (after a fatal error on rank 0 mid-sweep). */
_Noreturn void pbmpi_abort(int code);
/* 1 while rank 0 has handed out work not yet called back (a fatal error
 * then needs pbmpi_abort, or the workers would wait forever). */
int pbmpi_workers_waiting(void);
/* 1 when running under MPI with two ranks or more. */
int pbmpi_active(void);
int pbmpi_rank(void);
int pbmpi_size(void);

/* The start of a sweep, collective: every rank says whether it is ready
 * (PB_OK), has nothing to do (done: rank 0 found the file complete) or
 * failed (its status; it prints its own message). Returns 0: go; 1: stop
 * quietly (rank 0 is done, or another rank failed: *other_failed = 1). Also
 * names ranks whose OpenMP thread counts differ from rank 0's (log). */
int pbmpi_agree(PbStatus st, int done, int *other_failed, FILE *log);

/* Rank 0's checkpoint: writes the results so far (complete = 0). */
typedef PbStatus (*PbmpiSave)(void *ctx);

typedef struct {
    int failed;            /* cells that failed on a worker */
    PbStatus first_status; /* the first failure's status */
    char failures[2048];   /* "NAME seed K on rank R (HOST): message; ..." */
    char in_flight[1024];  /* cells cut off by an interrupt or a dead rank */
} PbmpiReport;

/* Runs every unmeasured cell of the studies (every rank calls it with
 * studies prepared from the same options). Rank 0: returns with the results
 * merged, each study's complete set, save called after every finished cell;
 * an interrupt (or the job ending after a rank died) stops the hand-out and
 * returns PB_OK with the cells in flight in rep. Workers: return PB_OK when
 * told to stop; on an interrupt they exit (interrupt_exit). */
PbStatus pbmpi_sweep(GenResults *const *studies, int n_studies, PbmpiSave save, void *ctx, PbmpiReport *rep);

#endif
