/* mpi_sweep.c: generalize and run across MPI ranks (see mpi_sweep.h). */
#include "mpi_sweep.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/interrupt.h"
#include "../../core/threads.h"
#include "../../datasets/token_stream.h"

int pbmpi_launched(void) { return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK"); }

#ifndef POSBENCH_MPI

PbStatus pbmpi_init(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    if (n && atoi(n) > 1)
        return pb_fail(PB_USAGE,
                       "launched by mpirun or srun with %s ranks, but this posbench was built without "
                       "MPI: install libopenmpi-dev and rebuild (tools/setup), or run one process",
                       n);
    return PB_OK;
}
void pbmpi_finalize(void) {}
_Noreturn void pbmpi_abort(int code) { exit(code); }
int pbmpi_active(void) { return 0; }
int pbmpi_workers_waiting(void) { return 0; }
int pbmpi_rank(void) { return 0; }
int pbmpi_size(void) { return 1; }
int pbmpi_agree(PbStatus st, int done, int *other_failed, FILE *log) {
    (void)st, (void)done, (void)log;
    *other_failed = 0;
    return 0;
}
PbStatus pbmpi_sweep(GenResults *const *studies, int n_studies, PbmpiSave save, void *ctx, PbmpiReport *rep) {
    (void)studies, (void)n_studies, (void)save, (void)ctx, (void)rep;
    return pb_fail(PB_INTERNAL, "posbench was built without MPI");
}

#else

#include <mpi.h>

enum { TAG_WORK = 1, TAG_CELL = 2 };

static int initialised, world_rank, world_size = 1;
static int waiting;             /* rank 0: workers not yet told to stop */
static char (*hosts)[GEN_HOST]; /* [world_size] after pbmpi_agree */

PbStatus pbmpi_init(int *argc, char ***argv) {
    if (!pbmpi_launched()) return PB_OK;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return pb_fail(PB_IO, "MPI_Init failed");
    initialised = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    return PB_OK;
}

void pbmpi_finalize(void) {
    if (initialised) MPI_Finalize();
    initialised = 0;
}

_Noreturn void pbmpi_abort(int code) {
    fflush(NULL);
    if (initialised) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int pbmpi_active(void) { return initialised && world_size > 1; }
int pbmpi_workers_waiting(void) { return waiting; }
int pbmpi_rank(void) { return initialised ? world_rank : 0; }
int pbmpi_size(void) { return initialised ? world_size : 1; }

static void nap(long ns) {
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

/* Waits for a request without spinning (Open MPI's blocking calls poll
 * busily, which would take a core from the work on the same host).
 * 0 if an interrupt came first. */
static int wait_idle(MPI_Request *req, MPI_Status *status) {
    int done = 0;
    for (;;) {
        MPI_Test(req, &done, status);
        if (done) return 1;
        if (interrupt_requested()) return 0;
        nap(1000000);
    }
}

int pbmpi_agree(PbStatus st, int done, int *other_failed, FILE *log) {
    *other_failed = 0;
    if (!pbmpi_active()) return 0;
    /* code: 0 ready, 1 done (rank 0), 2 failed */
    int mine = st ? 2 : done ? 1 : 0, worst = 0;
    MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    free(hosts);
    hosts = calloc((size_t)world_size, sizeof *hosts);
    int *threads = calloc((size_t)world_size, sizeof *threads);
    char me[GEN_HOST];
    gen_hostname(me, sizeof me);
    int t = pb_max_threads();
    if (!hosts || !threads) pbmpi_abort(2);
    MPI_Allgather(me, GEN_HOST, MPI_CHAR, hosts, GEN_HOST, MPI_CHAR, MPI_COMM_WORLD);
    MPI_Allgather(&t, 1, MPI_INT, threads, 1, MPI_INT, MPI_COMM_WORLD);
    if (worst == 0 && world_rank == 0 && log)
        for (int r = 1; r < world_size; r++)
            if (threads[r] != threads[0])
                fprintf(log,
                        "note: rank %d (%s) uses %d OpenMP threads, rank 0 %d: its runs are not bit-identical "
                        "to a single process with %d (set OMP_NUM_THREADS on every rank)\n",
                        r, hosts[r], threads[r], threads[0], threads[0]);
    free(threads);
    if (worst == 2 && !st) *other_failed = 1;
    if (worst == 0 && world_rank == 0) waiting = 1; /* the workers now wait for rank 0 */
    return worst != 0;
}

/* ---- one cell's result as bytes ----------------------------------------- */

typedef struct {
    int study, e, s, status, rank;
    double seconds;
    char host[GEN_HOST];
    char error[1024];
} CellHeader;

/* The per-length values a run measured (shared by its encoding's seeds in
 * the file) and its notes: sent with the cell, merged where set. */
typedef struct {
    double *peak;
    int *windows, *input_len;
    char not_applicable[512], diverged_reason[512];
} CellShared;

/* Copies n bytes between p and the buffer at the cursor, in the direction
 * of c->unpack; with buf NULL only counts (sizing). */
typedef struct {
    char *buf;
    size_t off;
    int unpack;
} Cursor;

static void io(Cursor *c, void *p, size_t n) {
    if (c->buf && n) {
        if (c->unpack) memcpy(p, c->buf + c->off, n);
        else memcpy(c->buf + c->off, p, n);
    }
    c->off += n;
}

/* The one description of a cell's message, used both ways. */
static void cell_io(Cursor *cur, CellHeader *h, GenResults *r, CellShared *sh) {
    const GenConfig *c = &r->cfg;
    GenEncResult *er = &r->enc[h->e];
    const size_t n = (size_t)c->n_lens, steps = (size_t)c->train.steps, s = (size_t)h->s;
    io(cur, h, sizeof *h);
    if (h->status) return;
    io(cur, &er->diverged[s], sizeof(int));
    io(cur, &er->train_tps[s], sizeof(float));
    io(cur, &er->train_tps_steady[s], sizeof(float));
    io(cur, er->train_loss + s * steps, steps * sizeof(float));
    io(cur, sh->not_applicable, sizeof sh->not_applicable);
    io(cur, sh->diverged_reason, sizeof sh->diverged_reason);
    if (r->is_task) {
        io(cur, er->accuracy + s * n, n * sizeof(float));
        io(cur, er->token_accuracy + s * n, n * sizeof(float));
        io(cur, sh->input_len, n * sizeof(int));
        return;
    }
    io(cur, er->loss + s * n, n * sizeof(float));
    io(cur, er->ppl + s * n, n * sizeof(float));
    io(cur, er->loss_by_pos + s * n * c->bins, n * c->bins * sizeof(float));
    if (er->loss_slide) io(cur, er->loss_slide + s * n, n * sizeof(float));
    if (er->ppl_slide) io(cur, er->ppl_slide + s * n, n * sizeof(float));
    io(cur, sh->peak, n * sizeof(double));
    io(cur, sh->windows, n * sizeof(int));
}

static int shared_alloc(CellShared *sh, int n) {
    memset(sh, 0, sizeof *sh);
    sh->peak = malloc((size_t)n * sizeof *sh->peak);
    sh->windows = calloc((size_t)n, sizeof *sh->windows);
    sh->input_len = calloc((size_t)n, sizeof *sh->input_len);
    return sh->peak && sh->windows && sh->input_len;
}

static void shared_free(CellShared *sh) { free(sh->peak), free(sh->windows), free(sh->input_len); }

/* ---- the cells ---------------------------------------------------------- */

typedef struct {
    int study, e, s;
    double cost;
} Cell;

static int by_cost(const void *a, const void *b) {
    const Cell *x = a, *y = b;
    if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
    if (x->study != y->study) return x->study - y->study;
    return x->e != y->e ? x->e - y->e : x->s - y->s; /* stable: sweep order */
}

/* Every cell of the studies in sweep order; *n_out of them. */
static Cell *all_cells(GenResults *const *studies, int n_studies, int *n_out) {
    int n = 0;
    for (int k = 0; k < n_studies; k++) n += studies[k]->cfg.n_encodings * studies[k]->cfg.seeds;
    Cell *cells = malloc((size_t)(n ? n : 1) * sizeof *cells);
    if (!cells) return NULL;
    n = 0;
    for (int k = 0; k < n_studies; k++) {
        const GenConfig *c = &studies[k]->cfg;
        for (int e = 0; e < c->n_encodings; e++)
            for (int s = 0; s < c->seeds; s++)
                cells[n++] = (Cell){k, e, s, (double)c->train.steps * c->train.batch * c->train_len};
    }
    *n_out = n;
    return cells;
}

static const char *cell_name(char *buf, size_t cap, GenResults *const *studies, const Cell *cl) {
    const GenResults *r = studies[cl->study];
    snprintf(buf, cap, "%s%s%s seed %llu", r->is_task ? r->cfg.data + 5 : "", r->is_task ? " " : "", r->enc[cl->e].name,
             (unsigned long long)(r->cfg.base_seed + (uint64_t)cl->s));
    return buf;
}

static void append(char *dst, size_t cap, const char *text) {
    size_t n = strlen(dst);
    if (n + 1 < cap) snprintf(dst + n, cap - n, "%s%s", n ? "; " : "", text);
}

/* ---- workers ------------------------------------------------------------ */

static PbStatus worker(GenResults *const *studies, int n_studies) {
    int n_cells;
    Cell *cells = all_cells(studies, n_studies, &n_cells);
    int die_rank = -1, die_at = 0, fail_rank = -1, fail_at = 0, received = 0;
    const char *die = getenv("POSBENCH_TEST_MPI_DIE"), *fail = getenv("POSBENCH_TEST_MPI_FAIL");
    if (die && sscanf(die, "%d:%d", &die_rank, &die_at) != 2) die_rank = -1;
    if (fail && sscanf(fail, "%d:%d", &fail_rank, &fail_at) != 2) fail_rank = -1;
    char *msg = NULL;
    size_t len = 0; /* first message: empty, "ready" */
    PbStatus st = cells ? PB_OK : pb_fail(PB_NOMEM, "no memory for the cell list");
    CellShared sh = {0};
    if (!st && !shared_alloc(&sh, GEN_MAX_LENS)) st = pb_fail(PB_NOMEM, "no memory for a cell's results");
    while (!st) {
        MPI_Request req;
        MPI_Status stat;
        MPI_Isend(msg, (int)len, MPI_BYTE, 0, TAG_WORK, MPI_COMM_WORLD, &req);
        if (!wait_idle(&req, &stat)) interrupt_exit();
        int cell = -1;
        MPI_Irecv(&cell, 1, MPI_INT, 0, TAG_CELL, MPI_COMM_WORLD, &req);
        if (!wait_idle(&req, &stat)) interrupt_exit();
        free(msg), msg = NULL, len = 0;
        if (cell < 0 || cell >= n_cells) break;
        received++;
        if (world_rank == die_rank && received == die_at) raise(SIGKILL); /* test hook */
        const Cell *cl = &cells[cell];
        GenResults *r = studies[cl->study];
        GenEncResult *er = &r->enc[cl->e];
        const int n = r->cfg.n_lens;
        /* This cell's notes and per-length values only. */
        er->not_applicable[0] = er->diverged_reason[0] = 0;
        for (int i = 0; i < n; i++) {
            if (er->peak_bytes) er->peak_bytes[i] = NAN;
            if (er->windows) er->windows[i] = 0;
            if (er->input_len) er->input_len[i] = 0;
        }
        CellHeader h = {.study = cl->study, .e = cl->e, .s = cl->s, .rank = world_rank};
        gen_hostname(h.host, sizeof h.host);
        double t0 = now_seconds();
        int cut = 0;
        pb_clear_error();
        PbStatus cst = world_rank == fail_rank && received == fail_at
                           ? pb_fail(PB_IO, "injected failure (POSBENCH_TEST_MPI_FAIL)")
                           : gen_run_cell(r, cl->e, cl->s, &cut);
        if (cut) interrupt_exit();
        h.seconds = now_seconds() - t0;
        h.status = (int)cst;
        if (cst) snprintf(h.error, sizeof h.error, "%s", *pb_errmsg() ? pb_errmsg() : pb_status_name(cst));
        memcpy(sh.not_applicable, er->not_applicable, sizeof sh.not_applicable);
        memcpy(sh.diverged_reason, er->diverged_reason, sizeof sh.diverged_reason);
        for (int i = 0; i < n; i++) {
            sh.peak[i] = er->peak_bytes ? er->peak_bytes[i] : NAN;
            sh.windows[i] = er->windows ? er->windows[i] : 0;
            sh.input_len[i] = er->input_len ? er->input_len[i] : 0;
        }
        Cursor size = {0};
        cell_io(&size, &h, r, &sh);
        msg = malloc(size.off);
        if (!msg) {
            st = pb_fail(PB_NOMEM, "no memory for a cell's message");
            break;
        }
        Cursor out = {.buf = msg};
        cell_io(&out, &h, r, &sh);
        len = out.off;
    }
    free(msg);
    free(cells);
    shared_free(&sh);
    return st;
}

/* ---- rank 0 ------------------------------------------------------------- */

/* Merges one received message into the studies; 1 if it was a result. */
static PbStatus merge(GenResults *const *studies, int n_studies, const Cell *cl, char *buf, size_t len,
                      int *reason_seed, PbmpiReport *rep, int *merged) {
    CellHeader h;
    *merged = 0;
    if (len < sizeof h) return pb_fail(PB_INTERNAL, "MPI: a short message (%zu bytes)", len);
    memcpy(&h, buf, sizeof h);
    if (h.study != cl->study || h.e != cl->e || h.s != cl->s || h.study < 0 || h.study >= n_studies)
        return pb_fail(PB_INTERNAL, "MPI: a result for another cell than the one handed out");
    GenResults *r = studies[h.study];
    GenEncResult *er = &r->enc[h.e];
    char name[256];
    cell_name(name, sizeof name, studies, cl);
    h.host[GEN_HOST - 1] = 0;
    h.error[sizeof h.error - 1] = 0;
    if (h.status) {
        char line[1536];
        snprintf(line, sizeof line, "%s on rank %d (%s): %s", name, h.rank, h.host, h.error);
        if (!rep->failed++) rep->first_status = (PbStatus)h.status;
        append(rep->failures, sizeof rep->failures, line);
        if (r->cfg.log)
            fprintf(r->cfg.log, "%s%s failed on rank %d (%s): %s; left for --resume\n", r->cfg.label, name, h.rank,
                    h.host, h.error);
        return PB_OK;
    }
    CellShared sh;
    if (!shared_alloc(&sh, r->cfg.n_lens)) return pb_fail(PB_NOMEM, "no memory for a cell's results");
    Cursor size = {0};
    cell_io(&size, &h, r, &sh);
    if (size.off != len) {
        shared_free(&sh);
        return pb_fail(PB_INTERNAL, "MPI: a result of %zu bytes, expected %zu (the same posbench on every rank?)", len,
                       size.off);
    }
    Cursor in = {.buf = buf, .unpack = 1};
    cell_io(&in, &h, r, &sh);
    const int s = h.s, n = r->cfg.n_lens;
    /* Per-length values: where this run measured them (a diverged run
     * measured none), as a single process's later runs overwrite them. */
    for (int i = 0; i < n; i++) {
        if (er->peak_bytes && !isnan(sh.peak[i])) er->peak_bytes[i] = sh.peak[i];
        if (er->windows && sh.windows[i]) er->windows[i] = sh.windows[i];
        if (er->input_len && sh.input_len[i]) er->input_len[i] = sh.input_len[i];
    }
    sh.not_applicable[sizeof sh.not_applicable - 1] = sh.diverged_reason[sizeof sh.diverged_reason - 1] = 0;
    if (!*er->not_applicable) memcpy(er->not_applicable, sh.not_applicable, sizeof er->not_applicable);
    /* A single process notes the first seed's reason: keep the lowest. */
    if (*sh.diverged_reason && s < *reason_seed) {
        memcpy(er->diverged_reason, sh.diverged_reason, sizeof er->diverged_reason);
        *reason_seed = s;
    }
    er->measured[s] = 1;
    er->rank[s] = h.rank;
    snprintf(er->host[s], GEN_HOST, "%s", h.host);
    char where[GEN_HOST + 32];
    snprintf(where, sizeof where, "rank %d on %s", h.rank, h.host);
    gen_log_cell(r, h.e, s, h.seconds, where);
    shared_free(&sh);
    *merged = 1;
    return PB_OK;
}

static PbStatus coordinator(GenResults *const *studies, int n_studies, PbmpiSave save, void *ctx, PbmpiReport *rep) {
    int n_cells, n_todo = 0;
    Cell *cells = all_cells(studies, n_studies, &n_cells);
    int *todo = malloc((size_t)(n_cells ? n_cells : 1) * sizeof *todo);
    int *assigned = malloc((size_t)world_size * sizeof *assigned);
    int *reason_seed = NULL;
    int n_enc = 0;
    for (int k = 0; k < n_studies; k++) n_enc += studies[k]->cfg.n_encodings;
    reason_seed = malloc((size_t)(n_enc ? n_enc : 1) * sizeof *reason_seed);
    char *buf = NULL;
    if (!cells || !todo || !assigned || !reason_seed) {
        free(cells), free(todo), free(assigned), free(reason_seed);
        return pb_fail(PB_NOMEM, "no memory for the cell list");
    }
    for (int k = 0, i = 0; k < n_studies; k++)
        for (int e = 0; e < studies[k]->cfg.n_encodings; e++, i++)
            reason_seed[i] = *studies[k]->enc[e].diverged_reason ? -1 : 1 << 30; /* kept from a resumed file */
    /* Longest first; ties in sweep order. */
    Cell *order = malloc((size_t)(n_cells ? n_cells : 1) * sizeof *order);
    if (!order) {
        free(cells), free(todo), free(assigned), free(reason_seed);
        return pb_fail(PB_NOMEM, "no memory for the cell list");
    }
    memcpy(order, cells, (size_t)n_cells * sizeof *order);
    qsort(order, (size_t)n_cells, sizeof *order, by_cost);
    for (int i = 0; i < n_cells; i++) {
        const Cell *o = &order[i];
        if (studies[o->study]->enc[o->e].measured[o->s]) continue;
        /* index into cells (sweep order): what the message carries */
        int idx = 0;
        for (int k = 0; k < o->study; k++) idx += studies[k]->cfg.n_encodings * studies[k]->cfg.seeds;
        idx += o->e * studies[o->study]->cfg.seeds + o->s;
        todo[n_todo++] = idx;
    }
    free(order);
    for (int w = 0; w < world_size; w++) assigned[w] = -1;
    FILE *log = studies[0]->cfg.log;
    if (log) fprintf(log, "MPI: %d runs to do on %d workers (rank 0 coordinates)\n", n_todo, world_size - 1);
    PbStatus st = PB_OK;
    int active = world_size - 1, next = 0;
    waiting = 1;
    while (!st && active > 0) {
        int flag = 0;
        MPI_Status stat;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_WORK, MPI_COMM_WORLD, &flag, &stat);
        if (!flag) {
            if (interrupt_requested()) break;
            nap(2000000);
            continue;
        }
        int len = 0;
        MPI_Get_count(&stat, MPI_BYTE, &len);
        const int w = stat.MPI_SOURCE;
        char *nb = realloc(buf, (size_t)(len ? len : 1));
        if (!nb) {
            st = pb_fail(PB_NOMEM, "no memory for a message of %d bytes", len);
            break;
        }
        buf = nb;
        MPI_Recv(buf, len, MPI_BYTE, w, TAG_WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (len > 0 && assigned[w] >= 0) {
            const Cell *cl = &cells[assigned[w]];
            int base = 0, merged = 0;
            for (int k = 0; k < cl->study; k++) base += studies[k]->cfg.n_encodings;
            st = merge(studies, n_studies, cl, buf, (size_t)len, &reason_seed[base + cl->e], rep, &merged);
            if (!st && merged && save) st = save(ctx);
        }
        assigned[w] = -1;
        if (st) break;
        int cell = !interrupt_requested() && next < n_todo ? todo[next++] : -1;
        assigned[w] = cell;
        MPI_Send(&cell, 1, MPI_INT, w, TAG_CELL, MPI_COMM_WORLD);
        if (cell < 0) active--;
    }
    waiting = active > 0;
    for (int w = 1; w < world_size; w++)
        if (assigned[w] >= 0) {
            char name[256], line[512];
            snprintf(line, sizeof line, "%s on rank %d (%s)",
                     cell_name(name, sizeof name, studies, &cells[assigned[w]]), w, hosts ? hosts[w] : "?");
            append(rep->in_flight, sizeof rep->in_flight, line);
        }
    for (int k = 0; k < n_studies; k++) {
        int total;
        studies[k]->complete = !st && gen_count_measured(studies[k], &total) == total;
    }
    free(buf), free(cells), free(todo), free(assigned), free(reason_seed);
    return st;
}

PbStatus pbmpi_sweep(GenResults *const *studies, int n_studies, PbmpiSave save, void *ctx, PbmpiReport *rep) {
    memset(rep, 0, sizeof *rep);
    for (int k = 0; k < n_studies; k++) studies[k]->rank = world_rank;
    if (world_rank == 0) return coordinator(studies, n_studies, save, ctx, rep);
    return worker(studies, n_studies);
}

#endif
