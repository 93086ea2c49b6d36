/* fuzz_results.c: libFuzzer target for the results-file reader: h5in_open's
 * defensive walk, the schema checks of result_open (harness/report/kinds.h), `posbench show`
 * behind them (bench tables, generalization and task tables), and the
 * dataset and attribute readers plot uses.
 *
 * Structure-aware: the input picks a valid base file (bases/: an export, a
 * generalization, a task study, and the committed reference bench file) and a
 * list of edits made through HDF5: attributes set, replaced or removed, with
 * any bytes or declaring up to 2 MiB; groups and datasets removed or replaced
 * by other shapes and types; the kind and schema version changed; external,
 * soft and user-defined links; datasets stored externally or virtually (into
 * a FIFO or a regular file); chunked datasets declaring huge or wrapping
 * shapes with nothing written. Then it optionally cuts the file. `posbench
 * show` reads it with its output discarded, and every dataset and root
 * attribute is read as plot reads them (h5_read_floats, h5_read_ints,
 * h5_read_attr_*).
 * Findings: crashes, sanitizer reports, leaks, hangs (a FIFO followed); an
 * error return is fine.
 */
#include <fcntl.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/io.h"
#include "harness/cli/commands.h"
#include "harness/results/h5io.h"

#ifndef POSBENCH_FUZZ_BASES
#define POSBENCH_FUZZ_BASES "tests/fuzz/bases"
#endif
#ifndef POSBENCH_BENCH_REFERENCE
#define POSBENCH_BENCH_REFERENCE "results/bench/bench-reference.h5"
#endif

PbStatus finish_stdout(void) { return fflush(stdout) == 0 ? PB_OK : PB_IO; }

static ByteBuf bases[4];
static int n_bases;
static char tmp_path[256], fifo_path[256], raw_path[256];

/* A user-defined link class, registered for the edits to create links of;
 * following one fails. */
#define USER_LINK ((H5L_type_t)(H5L_TYPE_UD_MIN + 1))
static hid_t user_link_traverse(const char *name, hid_t group, const void *value, size_t size, hid_t lapl, hid_t dxpl) {
    (void)name, (void)group, (void)value, (void)size, (void)lapl, (void)dxpl;
    return -1;
}
static const H5L_class_t user_link = {H5L_LINK_CLASS_T_VERS, USER_LINK, "fuzz", NULL, NULL, NULL,
                                      user_link_traverse,    NULL,      NULL};

static void remove_targets(void) {
    unlink(fifo_path);
    unlink(raw_path);
}

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
    dir = dir && *dir ? dir : "/tmp";
    snprintf(tmp_path, sizeof tmp_path, "%s/fuzz_results.%ld.h5", dir, (long)getpid());
    /* Targets for links and external data: a FIFO (following it would hang:
     * a timeout finding) and a regular file. */
    snprintf(fifo_path, sizeof fifo_path, "%s/fuzz_results.%ld.fifo", dir, (long)getpid());
    snprintf(raw_path, sizeof raw_path, "%s/fuzz_results.%ld.raw", dir, (long)getpid());
    unlink(fifo_path);
    if (mkfifo(fifo_path, 0600) != 0) abort();
    int fd = open(raw_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 4096) != 0) abort();
    close(fd);
    atexit(remove_targets);
    if (H5Lregister(&user_link) < 0) abort();
    /* h5in_open installs its guard (external links never resolve), so the
     * edits never follow a link into the FIFO either. */
    hid_t f;
    if (!h5in_open(&f, names[0])) H5Fclose(f);
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

static const char *const attr_names[] = {"kind",
                                         "schema_version",
                                         "encodings",
                                         "train_len",
                                         "eval_lens",
                                         "seeds",
                                         "steps",
                                         "T",
                                         "C",
                                         "H",
                                         "encoding",
                                         "variant",
                                         "not_applicable",
                                         "diverged_reason",
                                         "data",
                                         "bins",
                                         "profile",
                                         "reason",
                                         "command_line",
                                         "host",
                                         "memory_budget_bytes",
                                         "complete"};
static const char *const kinds[] = {"generalize", "run", "bench", "encoding_export", "posbench_checkpoint", ""};
static const char *const strings[] = {"none",     "alibi", "none,alibi", "alibi,none,alibi", "..",
                                      "none/ppl", ",",     "",           "64,128",           "copy"};

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

/* A dimension from one input byte: small, or a power of two up to 2^40,
 * or one past it (products of these pass 2^64 and wrap to 0 or to small
 * numbers). */
static hsize_t pick_dim(Input *in) {
    unsigned k = take(in);
    if (k < 96) return k % 12;
    hsize_t p = (hsize_t)1 << (k % 41);
    return k & 1 ? p : p + 1;
}

/* Where a link or external data points: the FIFO, a regular file, this
 * file itself, or a missing one. */
static const char *pick_target(Input *in) {
    switch (take(in) % 4) {
    case 0: return fifo_path;
    case 1: return raw_path;
    case 2: return tmp_path;
    default: return "/nonexistent/fuzz_results.h5";
    }
}

/* Replaces path by a float dataset with this creation property list,
 * nothing written. */
static void declare(hid_t file, const char *path, hid_t dcpl, int rank, const hsize_t *d) {
    H5Ldelete(file, path, H5P_DEFAULT);
    hid_t space = H5Screate_simple(rank, d, NULL);
    hid_t set = space < 0 ? -1 : H5Dcreate2(file, path, H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (set >= 0) H5Dclose(set);
    if (space >= 0) H5Sclose(space);
}

static void edit(hid_t file, Input *in) {
    unsigned op = take(in) % 13;
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
    case 7: { /* an external link in place of an object */
        if (!n_links) break;
        const char *path = links[take(in) % n_links], *target = pick_target(in);
        H5Ldelete(file, path, H5P_DEFAULT);
        H5Lcreate_external(target, n_links ? links[take(in) % n_links] : "/", file, path, H5P_DEFAULT, H5P_DEFAULT);
        break;
    }
    case 8: { /* a soft link (to another object, to itself, dangling) or a
               * user-defined one */
        if (!n_links) break;
        const char *path = links[take(in) % n_links];
        unsigned k = take(in);
        const char *target = k % 4 == 0 ? path : k % 4 == 1 ? links[k % n_links] : "/missing";
        H5Ldelete(file, path, H5P_DEFAULT);
        if (k % 4 == 3) H5Lcreate_ud(file, path, USER_LINK, target, strlen(target) + 1, H5P_DEFAULT, H5P_DEFAULT);
        else H5Lcreate_soft(target, file, path, H5P_DEFAULT, H5P_DEFAULT);
        break;
    }
    case 9:
    case 10:
    case 11: { /* external storage, a virtual dataset, a huge chunked shape */
        if (!n_links) break;
        const char *path = links[take(in) % n_links];
        int rank = 1 + (int)(take(in) % 3);
        hsize_t d[3];
        for (int i = 0; i < rank; i++) d[i] = op == 11 ? pick_dim(in) : 1 + take(in) % 16;
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (op == 9) {
            H5Pset_external(dcpl, pick_target(in), 0, H5F_UNLIMITED);
        } else if (op == 10) {
            hid_t space = H5Screate_simple(rank, d, NULL);
            H5Pset_virtual(dcpl, space, pick_target(in), links[take(in) % n_links], space);
            H5Sclose(space);
        } else {
            hsize_t chunk[3] = {1, 1, 1};
            H5Pset_chunk(dcpl, rank, chunk);
            H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
        }
        declare(file, path, dcpl, rank, d);
        H5Pclose(dcpl);
        break;
    }
    case 12: { /* a string attribute up to 2 MiB, bytes from the input;
                * past 64 KiB only a new group (1.8 format) holds it */
        const char *obj = take(in) & 1 ? "/huge_attrs" : pick_object(in);
        if (strcmp(obj, "/huge_attrs") == 0 && H5Lexists(file, obj, H5P_DEFAULT) <= 0) {
            hid_t g = H5Gcreate2(file, obj, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (g >= 0) H5Gclose(g);
        }
        const char *name = attr_names[take(in) % (sizeof attr_names / sizeof *attr_names)];
        size_t size = ((size_t)take(in) + 1) << 13;
        unsigned char fill = (unsigned char)take(in);
        char *text = malloc(size);
        if (!text) break;
        memset(text, fill, size);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, size);
        set_attr(file, obj, name, t, text);
        H5Tclose(t);
        free(text);
        break;
    }
    }
}

static herr_t collect_datasets(hid_t g, const char *name, const H5O_info_t *info, void *data) {
    (void)g, (void)data;
    if (info->type == H5O_TYPE_DATASET && n_links < MAX_LINKS) snprintf(links[n_links++], sizeof links[0], "/%s", name);
    return 0;
}

static herr_t read_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    (void)info, (void)data;
    char text[256];
    long long i;
    double d;
    h5_read_attr_string(loc, name, text, sizeof text);
    h5_read_attr_int(loc, name, &i);
    h5_read_attr_double(loc, name, &d);
    return 0;
}

/* Reads what h5in_open accepts the way plot does: every dataset as floats
 * and as ints, every root attribute as text and numbers. */
static void read_everything(void) {
    hid_t file;
    if (h5in_open(&file, tmp_path)) return;
    n_links = 0;
    H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, collect_datasets, NULL, H5O_INFO_BASIC);
    for (int i = 0; i < n_links; i++) {
        float *f = NULL;
        int *n = NULL, rank, dims[8];
        if (!h5_read_floats(file, links[i], &f, &rank, dims)) free(f);
        if (!h5_read_ints(file, links[i], &n, &rank, dims)) free(n);
    }
    hsize_t idx = 0;
    H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, read_attr, NULL);
    H5Fclose(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 512) return 0;
    Input in = {data, size};
    const ByteBuf *base = &bases[take(&in) % n_bases];
    unsigned n_edits = take(&in) % 8, bytes_op = take(&in);
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, base->data, base->len) != (ssize_t)base->len) abort();
    close(fd);
    /* 1 in 4: objects the edits create get the 1.8 format, whose dense
     * attribute storage holds attributes past 64 KiB. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if ((bytes_op & 0x18) == 0x18) H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    hid_t file = H5Fopen(tmp_path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
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
    read_everything();
    unlink(tmp_path);
    return 0;
}
