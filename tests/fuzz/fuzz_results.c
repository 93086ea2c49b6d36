/* fuzz_results.c: libFuzzer target for the results-file reader: the schema
 * checks of h5in_open_results and `posbench show` behind them (bench tables,
 * generalization and task tables).
 *
 * Structure-aware: the input picks a valid base file (bases/: an export, a
 * generalization, a task study, and the committed reference bench file) and a
 * list of edits made through HDF5 (attributes set, replaced or removed;
 * groups and datasets removed or replaced by other shapes and types; the
 * kind and schema version changed), then optionally cuts or overwrites bytes
 * of the file. `posbench show` then reads it with its output discarded.
 * Findings: crashes, sanitizer reports, leaks; an error return is fine.
 */
#include <fcntl.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io.h"
#include "harness/commands.h"
#include "harness/h5io.h"

#ifndef POSBENCH_FUZZ_BASES
#define POSBENCH_FUZZ_BASES "tests/fuzz/bases"
#endif
#ifndef POSBENCH_BENCH_REFERENCE
#define POSBENCH_BENCH_REFERENCE "results/bench/bench-reference.h5"
#endif

PbStatus finish_stdout(void) { return fflush(stdout) == 0 ? PB_OK : PB_IO; }

static ByteBuf bases[4];
static int n_bases;
static char tmp_path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    h5_quiet();
    if (!freopen("/dev/null", "w", stdout)) abort();
    static const char *const names[] = {POSBENCH_FUZZ_BASES "/export.h5", POSBENCH_FUZZ_BASES "/gen.h5",
                                        POSBENCH_FUZZ_BASES "/task.h5", POSBENCH_BENCH_REFERENCE};
    for (int i = 0; i < 4; i++)
        if (!read_file(&bases[n_bases], names[i])) n_bases++;
    if (n_bases < 3) {
        fprintf(stderr, "fuzz_results: cannot read the base files: %s\n", pb_errmsg());
        exit(1);
    }
    const char *dir = getenv("TMPDIR");
    snprintf(tmp_path, sizeof tmp_path, "%s/fuzz_results.%ld.h5", dir && *dir ? dir : "/tmp", (long)getpid());
    return 0;
}

/* ---- edits ------------------------------------------------------------------ */

typedef struct {
    const uint8_t *p;
    size_t n;
} Input;

static unsigned take(Input *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

#define MAX_LINKS 256
static char links[MAX_LINKS][256];
static int n_links;

static herr_t collect(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    (void)g, (void)info, (void)data;
    if (n_links < MAX_LINKS) snprintf(links[n_links++], sizeof links[0], "/%s", name);
    return 0;
}

static const char *const attr_names[] = {
    "kind", "schema_version", "encodings", "train_len", "eval_lens", "seeds", "steps", "T", "C", "H",
    "encoding", "variant", "not_applicable", "diverged_reason", "data", "bins", "profile", "reason"};
static const char *const kinds[] = {"generalize", "run", "bench", "encoding_export", "posbench_checkpoint", ""};
static const char *const strings[] = {"none", "alibi", "none,alibi", "alibi,none,alibi", "..", "none/ppl",
                                      ",", "", "64,128", "copy"};

static void set_attr(hid_t file, const char *obj, const char *name, hid_t type, const void *v) {
    if (H5Aexists_by_name(file, obj, name, H5P_DEFAULT) > 0) H5Adelete_by_name(file, obj, name, H5P_DEFAULT);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(file, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) H5Awrite(a, type, v), H5Aclose(a);
    H5Sclose(space);
}

static const char *pick_object(Input *in) {
    unsigned k = take(in);
    return k % 4 == 0 || !n_links ? "/" : links[k % n_links];
}

static void edit(hid_t file, Input *in) {
    unsigned op = take(in) % 7;
    switch (op) {
    case 0: { /* an integer attribute */
        const char *obj = pick_object(in);
        const char *name = attr_names[take(in) % (sizeof attr_names / sizeof *attr_names)];
        unsigned a = take(in), b = take(in);
        long long v = (a & 0x80) ? (long long)((a << 8 | b) << 16) * ((a & 0x40) ? -1 : 1) : (long long)(int8_t)b;
        set_attr(file, obj, name, H5T_NATIVE_LLONG, &v);
        break;
    }
    case 1: { /* a string attribute: from the lists, or bytes of the input */
        const char *obj = pick_object(in);
        const char *name = attr_names[take(in) % (sizeof attr_names / sizeof *attr_names)];
        unsigned k = take(in);
        char text[64];
        if (k < 128) {
            snprintf(text, sizeof text, "%s", k & 1 ? kinds[(k >> 1) % 6] : strings[(k >> 1) % 10]);
        } else {
            size_t len = take(in) % 48, i = 0;
            for (; i < len && in->n; i++) text[i] = (char)take(in);
            text[i] = 0;
        }
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, strlen(text) ? strlen(text) : 1);
        set_attr(file, obj, name, t, strlen(text) ? text : "");
        H5Tclose(t);
        break;
    }
    case 2: { /* remove an attribute */
        const char *obj = pick_object(in);
        H5Adelete_by_name(file, obj, attr_names[take(in) % (sizeof attr_names / sizeof *attr_names)], H5P_DEFAULT);
        break;
    }
    case 3: /* remove a group or dataset */
        if (n_links) H5Ldelete(file, links[take(in) % n_links], H5P_DEFAULT);
        break;
    case 4:
    case 5: { /* replace a dataset (or group) by another shape and type */
        if (!n_links) break;
        const char *path = links[take(in) % n_links];
        int rank = 1 + (int)(take(in) % 3);
        hsize_t d[3], count = 1;
        for (int i = 0; i < rank; i++) count *= (d[i] = take(in) % 10);
        hid_t type = op == 4 ? H5T_NATIVE_FLOAT : (take(in) & 1) ? H5T_NATIVE_INT : H5T_NATIVE_DOUBLE;
        H5Ldelete(file, path, H5P_DEFAULT);
        double *zeros = calloc(count ? count : 1, sizeof *zeros);
        hid_t space = H5Screate_simple(rank, d, NULL);
        hid_t set = H5Dcreate2(file, path, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (set >= 0 && count) H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros);
        if (set >= 0) H5Dclose(set);
        H5Sclose(space);
        free(zeros);
        break;
    }
    case 6: { /* a string dataset where numbers are expected */
        if (!n_links) break;
        const char *path = links[take(in) % n_links];
        H5Ldelete(file, path, H5P_DEFAULT);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 4);
        hsize_t d = 2;
        hid_t space = H5Screate_simple(1, &d, NULL);
        hid_t set = H5Dcreate2(file, path, t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (set >= 0) H5Dwrite(set, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, "abcdefgh"), H5Dclose(set);
        H5Sclose(space);
        H5Tclose(t);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 512) return 0;
    Input in = {data, size};
    const ByteBuf *base = &bases[take(&in) % n_bases];
    unsigned n_edits = take(&in) % 8, bytes_op = take(&in);
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, base->data, base->len) != (ssize_t)base->len) abort();
    close(fd);
    hid_t file = H5Fopen(tmp_path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) abort();
    n_links = 0;
    H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, collect, NULL);
    for (unsigned i = 0; i < n_edits && in.n; i++) edit(file, &in);
    H5Fclose(file);
    /* Damage below HDF5, only when asked (1 in 8): cut the file short. HDF5
     * itself must then refuse it; we check that it does so without a crash. */
    if ((bytes_op & 7) == 7) {
        off_t len = (off_t)(take(&in) | take(&in) << 8) * 4;
        if (truncate(tmp_path, len) != 0) abort();
    }
    char *argv[] = {tmp_path, NULL};
    cmd_show(1, argv);
    unlink(tmp_path);
    return 0;
}
