/* h5io.c: HDF5 helpers (see h5io.h). */
#include "h5io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "version.h"
#include "../core/interrupt.h"
#include "../core/text.h"
#include "../core/threads.h"
#include "../datasets/tasks.h"
#include "generalize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cblas.h>
#include <pcre2.h>

/* H5dont_atexit: when a write fails (full disk, a file-size limit), HDF5
 * 1.10 cannot close the file and keeps its id; its exit-time clean-up then
 * closes it again and crashes (H5F__close_cb). Every file posbench opens is
 * closed or abandoned explicitly, so nothing is lost by skipping that step.
 * It must precede every other HDF5 call, hence here: main calls this first. */
void h5_quiet(void) {
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static PbStatus write_dataset(hid_t loc, const char *name, hid_t type, const void *data, int rank,
                              const int *dims) {
    hsize_t hd[8];
    if (rank < 1 || rank > 8) return pb_fail(PB_INTERNAL, "dataset '%s': bad rank %d", name, rank);
    for (int i = 0; i < rank; i++) hd[i] = (hsize_t)dims[i];
    hid_t space = H5Screate_simple(rank, hd, NULL);
    hid_t set = space < 0 ? -1 : H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = set < 0 ? -1 : H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (set >= 0) H5Dclose(set);
    if (space >= 0) H5Sclose(space);
    return w < 0 ? pb_fail(PB_IO, "cannot write dataset '%s' (disk full?)", name) : PB_OK;
}

PbStatus h5_write_floats(hid_t loc, const char *name, const float *data, int rank, const int *dims) {
    return write_dataset(loc, name, H5T_NATIVE_FLOAT, data, rank, dims);
}

PbStatus h5_write_ints(hid_t loc, const char *name, const int *data, int rank, const int *dims) {
    return write_dataset(loc, name, H5T_NATIVE_INT, data, rank, dims);
}

static PbStatus write_attr(hid_t loc, const char *name, hid_t type, const void *value) {
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = attr < 0 ? -1 : H5Awrite(attr, type, value);
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    return w < 0 ? pb_fail(PB_IO, "cannot write attribute '%s'", name) : PB_OK;
}

PbStatus h5_attr_string(hid_t loc, const char *name, const char *value) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) ? strlen(value) : 1);
    H5Tset_cset(type, H5T_CSET_UTF8);
    PbStatus st = write_attr(loc, name, type, strlen(value) ? value : " ");
    H5Tclose(type);
    return st;
}

PbStatus h5_attr_int(hid_t loc, const char *name, long long value) {
    return write_attr(loc, name, H5T_NATIVE_LLONG, &value);
}

PbStatus h5_attr_double(hid_t loc, const char *name, double value) {
    return write_attr(loc, name, H5T_NATIVE_DOUBLE, &value);
}

static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                snprintf(out, cap, "%s", colon + 2);
                out[strcspn(out, "\n")] = 0;
            }
            break;
        }
    fclose(f);
}

static char command_line[2048];

void h5_set_command_line(int argc, char **argv) {
    command_line[0] = 0;
    for (int i = 0; i < argc; i++) {
        if (i) strncat(command_line, " ", sizeof command_line - strlen(command_line) - 1);
        strncat(command_line, argv[i], sizeof command_line - strlen(command_line) - 1);
    }
}

PbStatus h5_write_provenance(hid_t file) {
    char when[64], cpu[256], hdf5[64], pcre2[64];
    pcre2_config(PCRE2_CONFIG_VERSION, pcre2);
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    struct utsname un;
    if (uname(&un) != 0) snprintf(un.nodename, sizeof un.nodename, "unknown");
    cpu_model(cpu, sizeof cpu);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    snprintf(hdf5, sizeof hdf5, "%u.%u.%u", maj, min, rel);
    PbStatus st = h5_attr_string(file, "posbench_version", POSBENCH_VERSION);
    if (!st) st = h5_attr_string(file, "git_commit", POSBENCH_GIT_COMMIT);
    if (!st) st = h5_attr_string(file, "created_utc", when);
    if (!st) st = h5_attr_string(file, "host", un.nodename);
    if (!st) st = h5_attr_string(file, "cpu_model", cpu);
    if (!st) st = h5_attr_int(file, "cpu_count", sysconf(_SC_NPROCESSORS_ONLN));
    if (!st) st = h5_attr_string(file, "compiler", POSBENCH_C_COMPILER);
    if (!st) st = h5_attr_string(file, "build_type", POSBENCH_BUILD_TYPE);
    if (!st) st = h5_attr_string(file, "c_flags", POSBENCH_C_FLAGS);
    if (!st) st = h5_attr_string(file, "hdf5_version", hdf5);
    if (!st) st = h5_attr_string(file, "openblas_config", openblas_get_config());
    if (!st) st = h5_attr_string(file, "benchmark_version", POSBENCH_BENCHMARK_VERSION);
    if (!st) st = h5_attr_string(file, "pcre2_version", pcre2);
    if (!st) st = h5_attr_int(file, "openmp_threads", pb_max_threads());
    if (!st) st = h5_attr_string(file, "command_line", command_line);
    return st;
}

/* ---- opening defensively ---------------------------------------------------
 * A results file may come from anyone, so before any reader sees it,
 * h5in_open makes sure it is a regular file (a FIFO would block the open, a
 * device never ends) and walks every link and object once, refusing what
 * posbench never writes and what could make a reader open another file, hang,
 * or allocate more than the file holds:
 *   - soft, external and user-defined links (posbench writes hard links only;
 *     an external link to a FIFO blocks whoever follows it);
 *   - datasets whose data lies outside the file: external storage, virtual
 *     layout;
 *   - a dataset or attribute whose declared size overflows 64 bits or exceeds
 *     the file (posbench never compresses, so its data always lies in the
 *     file), an attribute over 1 MiB, a dimension past INT_MAX (readers keep
 *     dimensions in int).
 * H5Lvisit and H5Ovisit follow hard links only, and the walk stops past
 * H5IN_MAX_ITEMS links, objects and attributes, so a crafted file cannot make
 * it long. As a second guard, external links never resolve in this process
 * (refuse_external_links). */

#define H5IN_MAX_ITEMS 100000
#define H5IN_SLACK ((uint64_t)64 << 10) /* headers of a tiny file, unwritten fill */
#define H5IN_MAX_ATTR_BYTES ((uint64_t)1 << 20)
#define H5IN_MAX_ELEMENTS ((uint64_t)INT_MAX) /* per dataset read: readers index with int */

/* Checked products of a dataspace's dimensions, then bytes. */
typedef struct {
    int rank;            /* -1: unreadable */
    int overflow;        /* the product of max(d, 1), or the bytes, passed 2^64 */
    uint64_t elements;   /* valid unless overflow */
    uint64_t span;       /* product of max(d, 1): bounds every partial product */
    uint64_t bytes;
    uint64_t max_dim;
    double log2_elements;
} Extent;

static int mul_checked(uint64_t a, uint64_t b, uint64_t *out) {
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static Extent extent_of(hid_t space, size_t type_size) {
    Extent e = {.rank = -1, .elements = 1, .span = 1};
    H5S_class_t cls = space < 0 ? H5S_NO_CLASS : H5Sget_simple_extent_type(space);
    if (cls == H5S_NULL) return e.rank = 0, e.elements = 0, e;
    int r = cls == H5S_SCALAR || cls == H5S_SIMPLE ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t d[H5S_MAX_RANK];
    if (r < 0 || r > H5S_MAX_RANK || (r > 0 && H5Sget_simple_extent_dims(space, d, NULL) < 0)) return e;
    e.rank = r;
    for (int i = 0; i < r; i++) {
        if (d[i] > e.max_dim) e.max_dim = d[i];
        if (d[i] == 0) e.elements = 0;
        else e.log2_elements += log2((double)d[i]);
        if (!mul_checked(e.span, d[i] ? d[i] : 1, &e.span)) e.overflow = 1;
    }
    if (e.elements) e.elements = e.span;
    if (!e.overflow && !mul_checked(e.elements, type_size, &e.bytes)) e.overflow = 1;
    return e;
}

/* "2^72", or "2^72.3" between powers. */
static void pow2_text(double log2_value, char *buf, size_t cap) {
    if (log2_value == floor(log2_value)) snprintf(buf, cap, "2^%.0f", log2_value);
    else snprintf(buf, cap, "2^%.1f", log2_value);
}

/* "123456" or, past what a message should spell out, "2^72". */
static const char *count_text(const Extent *e, char *buf, size_t cap) {
    if (!e->overflow && e->elements < (1ull << 40)) snprintf(buf, cap, "%llu", (unsigned long long)e->elements);
    else pow2_text(e->log2_elements, buf, cap);
    return buf;
}

static const char *bytes_text(const Extent *e, size_t size, char *buf, size_t cap) {
    if (!e->overflow && e->bytes < (1ull << 40)) {
        snprintf(buf, cap, "%llu bytes", (unsigned long long)e->bytes);
    } else {
        pow2_text(e->log2_elements + log2((double)size), buf, cap);
        snprintf(buf + strlen(buf), cap - strlen(buf), " bytes");
    }
    return buf;
}

/* One dataset or attribute's declared size against the file's: PB_DATA
 * naming the file (path) and the object (what). cap: the most bytes allowed. */
static PbStatus check_extent(const char *path, const char *what, hid_t space, hid_t type, uint64_t cap,
                             const char *limit) {
    size_t size = type < 0 ? 0 : H5Tget_size(type);
    Extent e = extent_of(space, size);
    char n[48], b[48];
    if (e.rank < 0 || size == 0)
        return pb_fail(PB_DATA, "cannot read '%s': %s has an unreadable shape or type (damaged file?)", path, what);
    if (e.overflow || e.bytes > cap)
        return pb_fail(PB_DATA, "'%s': %s declares %s element%s (%s), more than %s (damaged or crafted file)", path,
                       what, count_text(&e, n, sizeof n), e.elements == 1 && !e.overflow ? "" : "s",
                       bytes_text(&e, size, b, sizeof b), limit);
    if (e.max_dim > INT_MAX)
        return pb_fail(PB_DATA, "'%s': %s declares a dimension of %llu, more than posbench reads (damaged or "
                       "crafted file)", path, what, (unsigned long long)e.max_dim);
    return PB_OK;
}

typedef struct {
    const char *path;    /* the file, for messages */
    uint64_t file_bytes; /* its size on disk */
    long items;          /* links, objects and attributes seen */
    const char *object;  /* the object whose attributes are being walked */
    PbStatus st;
} Walk;

/* Counts one more item; 0 (and an error) past the cap. */
static int walk_count(Walk *w) {
    if (++w->items <= H5IN_MAX_ITEMS) return 1;
    w->st = pb_fail(PB_DATA, "'%s' holds more than %d links, objects and attributes, far more than posbench "
                    "writes (damaged or crafted file)", w->path, H5IN_MAX_ITEMS);
    return 0;
}

static herr_t walk_link(hid_t root, const char *name, const H5L_info_t *info, void *data) {
    Walk *w = data;
    if (!walk_count(w)) return 1;
    if (info->type == H5L_TYPE_HARD) return 0;
    char val[512] = "", target[600] = "";
    const char *file = NULL, *obj = NULL;
    unsigned flags;
    if (info->type == H5L_TYPE_SOFT || info->type == H5L_TYPE_EXTERNAL) {
        if (info->u.val_size <= sizeof val && H5Lget_val(root, name, val, sizeof val, H5P_DEFAULT) >= 0) {
            val[sizeof val - 1] = 0;
            if (info->type == H5L_TYPE_SOFT) snprintf(target, sizeof target, " (to %s)", val);
            else if (H5Lunpack_elink_val(val, info->u.val_size, &flags, &file, &obj) >= 0 && file && obj)
                snprintf(target, sizeof target, " (to %s in '%s')", obj, file);
        }
    }
    if (info->type == H5L_TYPE_EXTERNAL)
        w->st = pb_fail(PB_DATA, "'%s': /%s is an external link%s; posbench reads no links to other files "
                        "(damaged or crafted file)", w->path, name, target);
    else if (info->type == H5L_TYPE_SOFT)
        w->st = pb_fail(PB_DATA, "'%s': /%s is a soft link%s; posbench writes only hard links (damaged or "
                        "crafted file)", w->path, name, target);
    else
        w->st = pb_fail(PB_DATA, "'%s': /%s is a user-defined link (type %d); posbench writes only hard links "
                        "(damaged or crafted file)", w->path, name, (int)info->type);
    return 1;
}

static herr_t walk_attr(hid_t obj, const char *name, const H5A_info_t *info, void *data) {
    (void)info;
    Walk *w = data;
    if (!walk_count(w)) return 1;
    char what[600], limit[80];
    snprintf(what, sizeof what, "attribute '%s' of %s", name, w->object);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t space = a < 0 ? -1 : H5Aget_space(a), type = a < 0 ? -1 : H5Aget_type(a);
    uint64_t cap = w->file_bytes + H5IN_SLACK;
    if (cap > H5IN_MAX_ATTR_BYTES) {
        cap = H5IN_MAX_ATTR_BYTES;
        snprintf(limit, sizeof limit, "the 1 MiB posbench allows an attribute");
    } else {
        snprintf(limit, sizeof limit, "the file's %llu bytes hold", (unsigned long long)w->file_bytes);
    }
    w->st = a < 0 ? pb_fail(PB_DATA, "cannot read '%s': %s is unreadable (damaged file?)", w->path, what)
                  : check_extent(w->path, what, space, type, cap, limit);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    if (a >= 0) H5Aclose(a);
    return w->st ? 1 : 0;
}

/* A dataset keeps its data in this file, and no more than the file holds. */
static PbStatus walk_dataset(Walk *w, hid_t set, const char *what) {
    hid_t dcpl = H5Dget_create_plist(set);
    H5D_layout_t layout = dcpl < 0 ? H5D_LAYOUT_ERROR : H5Pget_layout(dcpl);
    int external = dcpl < 0 ? -1 : H5Pget_external_count(dcpl);
    char raw[256] = "?";
    off_t offset;
    hsize_t size;
    if (external > 0) H5Pget_external(dcpl, 0, sizeof raw, raw, &offset, &size), raw[sizeof raw - 1] = 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (layout == H5D_LAYOUT_ERROR || external < 0)
        return pb_fail(PB_DATA, "cannot read '%s': the layout of %s is unreadable (damaged file?)", w->path, what);
    if (layout == H5D_VIRTUAL)
        return pb_fail(PB_DATA, "'%s': %s is a virtual dataset (its data lies in other files); posbench reads "
                       "only self-contained files (damaged or crafted file)", w->path, what);
    if (external > 0)
        return pb_fail(PB_DATA, "'%s': %s keeps its data in the external file '%s'; posbench reads only "
                       "self-contained files (damaged or crafted file)", w->path, what, raw);
    char limit[80];
    snprintf(limit, sizeof limit, "the file's %llu bytes hold", (unsigned long long)w->file_bytes);
    hid_t space = H5Dget_space(set), type = H5Dget_type(set);
    PbStatus st = check_extent(w->path, what, space, type, w->file_bytes + H5IN_SLACK, limit);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    return st;
}

#if H5_VERSION_GE(1, 12, 0)
typedef H5O_info2_t WalkInfo;
#define WALK_OBJECTS(root, cb, data) H5Ovisit3(root, H5_INDEX_NAME, H5_ITER_NATIVE, cb, data, H5O_INFO_BASIC)
#else
typedef H5O_info_t WalkInfo;
#define WALK_OBJECTS(root, cb, data) H5Ovisit2(root, H5_INDEX_NAME, H5_ITER_NATIVE, cb, data, H5O_INFO_BASIC)
#endif

static herr_t walk_object(hid_t root, const char *name, const WalkInfo *info, void *data) {
    Walk *w = data;
    if (!walk_count(w)) return 1;
    char what[600];
    snprintf(what, sizeof what, "/%s", strcmp(name, ".") == 0 ? "" : name);
    hid_t obj = H5Oopen(root, name, H5P_DEFAULT);
    if (obj < 0) {
        w->st = pb_fail(PB_DATA, "cannot read '%s': %s cannot be opened (damaged file?)", w->path, what);
        return 1;
    }
    if (info->type == H5O_TYPE_DATASET) w->st = walk_dataset(w, obj, what);
    w->object = what;
    hsize_t idx = 0;
    if (!w->st && H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, walk_attr, w) < 0 && !w->st)
        w->st = pb_fail(PB_DATA, "cannot read '%s': the attributes of %s are unreadable (damaged file?)", w->path,
                        what);
    H5Oclose(obj);
    return w->st ? 1 : 0;
}

static PbStatus walk_file(hid_t file, const char *path, uint64_t file_bytes) {
    Walk w = {path, file_bytes, 0, NULL, PB_OK};
    herr_t r = H5Lvisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, walk_link, &w);
    if (!w.st && r >= 0) r = WALK_OBJECTS(file, walk_object, &w);
    if (w.st) return w.st;
    return r < 0 ? pb_fail(PB_DATA, "cannot read '%s': damaged or truncated HDF5 file (its objects cannot be listed)",
                           path)
                 : PB_OK;
}

/* The second guard: this process's external link class is one that never
 * resolves (posbench writes none), so a path through one fails even where a
 * reader opens it without the walk. Creating and querying such links still
 * works (tests craft them). */
static hid_t refuse_traverse(const char *name, hid_t group, const void *value, size_t size, hid_t lapl,
                             hid_t dxpl) {
    (void)name, (void)group, (void)value, (void)size, (void)lapl, (void)dxpl;
    return -1;
}

static ssize_t query_value(const char *name, const void *value, size_t size, void *buf, size_t cap) {
    (void)name;
    if (buf) memcpy(buf, value, size < cap ? size : cap);
    return (ssize_t)size;
}

static void refuse_external_links(void) {
    static int done;
    static const H5L_class_t refused = {H5L_LINK_CLASS_T_VERS, H5L_TYPE_EXTERNAL, "external (not followed)",
                                        NULL, NULL, NULL, refuse_traverse, NULL, query_value};
    if (!done && H5Lregister(&refused) >= 0) done = 1;
}

static const char *file_type_name(mode_t m) {
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
           : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

PbStatus h5in_open(hid_t *file, const char *path) {
    *file = -1;
    refuse_external_links();
    struct stat sb;
    if (access(path, R_OK) != 0 || stat(path, &sb) != 0)
        return pb_fail(PB_IO, "cannot open '%s': %s", path, strerror(errno));
    /* Before HDF5 opens it: opening a FIFO blocks until a writer comes. */
    if (!S_ISREG(sb.st_mode))
        return pb_fail(PB_DATA, "'%s' is not an HDF5 file: it is %s, not a regular file", path,
                       file_type_name(sb.st_mode));
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0) return pb_fail(PB_DATA, "'%s' is not an HDF5 file (or is truncated)", path);
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0) return pb_fail(PB_DATA, "cannot read '%s': damaged or truncated HDF5 file", path);
    PbStatus st = walk_file(*file, path, (uint64_t)sb.st_size);
    if (st) H5Fclose(*file), *file = -1;
    return st;
}

PbStatus h5in_open_results(hid_t *file, char *kind, size_t cap, const char *path) {
    PbStatus st = h5in_open(file, path);
    if (st) return st;
    if (h5_read_attr_string(*file, "kind", kind, cap)) {
        H5Fclose(*file);
        return pb_fail(PB_DATA, "'%s' is not a posbench results file (no 'kind' attribute)", path);
    }
    if ((st = h5in_check_results(*file, kind, path))) H5Fclose(*file);
    return st;
}

/* ---- schema check ---------------------------------------------------------
 * Readers (show, plot) index arrays by the shapes they find, so a file whose
 * shapes disagree (damaged, hand-edited, or from another writer) is refused
 * here, once, with the dataset named, instead of being read out of bounds. */

/* The newest schema version this build reads, per kind. bench: the same
 * number as BENCH_SCHEMA_VERSION in bench_h5.c. encoding_export files carry
 * no version (absent means 1). */
static const struct { const char *kind; long long version; int required; } schema_versions[] = {
    {"bench", 1, 1},
    {"generalize", GEN_SCHEMA_VERSION, 1},
    {"run", GEN_SCHEMA_VERSION, 1},
    {"encoding_export", 1, 0},
};

#define ANY (-1)

/* Dataset where/name must exist, be numeric, have the given rank, and match
 * want[i] where want[i] != ANY; its dims go to got[]. */
static PbStatus need_dataset(hid_t loc, const char *path, const char *where, const char *name,
                             int rank, const long long *want, long long *got) {
    char full[640];
    snprintf(full, sizeof full, "%s/%s", where, name);
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return pb_fail(PB_DATA, "'%s' lacks %s (damaged or incomplete results file)", path, full);
    hid_t set = H5Dopen2(loc, name, H5P_DEFAULT);
    if (set < 0) return pb_fail(PB_DATA, "'%s': %s is not a readable dataset (damaged file?)", path, full);
    hid_t space = set < 0 ? -1 : H5Dget_space(set);
    hid_t type = set < 0 ? -1 : H5Dget_type(set);
    H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
    int r = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    hsize_t d[8] = {0};
    if (r >= 1 && r <= 8) H5Sget_simple_extent_dims(space, d, NULL);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    if (set < 0 || r < 0) return pb_fail(PB_DATA, "'%s': cannot read %s (damaged file?)", path, full);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        return pb_fail(PB_DATA, "'%s': %s is not numeric", path, full);
    int ok = r == rank;
    uint64_t count = 1;
    for (int i = 0; ok && i < rank; i++) {
        ok = d[i] >= 1 && d[i] <= (1u << 30) && (want[i] == ANY || (long long)d[i] == want[i]);
        got[i] = (long long)d[i];
        if (ok && !mul_checked(count, d[i], &count)) count = UINT64_MAX;
    }
    char have[128] = "", need[128] = "";
    for (int i = 0; i < r && i < 8; i++)
        snprintf(have + strlen(have), sizeof have - strlen(have), "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
    /* Attributes in range can still multiply past what a reader indexes
     * (an export's H x T x T with H and T at 2^24 is 2^72). */
    if (ok && count > H5IN_MAX_ELEMENTS)
        return pb_fail(PB_DATA, "'%s': %s has shape [%s], %s or more values, more than posbench reads (damaged "
                       "or crafted file)", path, full, have, count == UINT64_MAX ? "2^64" : "2^31");
    if (ok) return PB_OK;
    for (int i = 0; i < rank; i++)
        if (want[i] == ANY) snprintf(need + strlen(need), sizeof need - strlen(need), "%s>=1", i ? ", " : "");
        else snprintf(need + strlen(need), sizeof need - strlen(need), "%s%lld", i ? ", " : "", want[i]);
    return pb_fail(PB_DATA, "'%s': %s has shape [%s], expected [%s] (damaged file?)", path, full, have, need);
}

/* One encoding's group under /generalization or /tasks/<task>. */
static PbStatus check_gen_encoding(hid_t g, const char *path, const char *where, int is_task) {
    long long n[1], sn[2], snb[3], s1[1], any2[2];
    PbStatus st = need_dataset(g, path, where, "eval_len", 1, (long long[]){ANY}, n);
    long long want_sn[2] = {ANY, 0};
    if (!st) want_sn[1] = n[0];
    const char *const per_len[] = {"loss", "ppl", "accuracy", "token_accuracy"};
    for (int i = is_task ? 2 : 0; !st && i < (is_task ? 4 : 2); i++) {
        st = need_dataset(g, path, where, per_len[i], 2, want_sn, sn);
        if (!st) want_sn[0] = sn[0];
    }
    const long long S = want_sn[0];
    if (!st && !is_task)
        st = need_dataset(g, path, where, "loss_by_position", 3, (long long[]){S, n[0], ANY}, snb);
    if (!st && !is_task)
        st = need_dataset(g, path, where, "eval_peak_bytes", 1, n, s1);
    if (!st && is_task) st = need_dataset(g, path, where, "input_len", 1, n, s1);
    if (!st && is_task) st = need_dataset(g, path, where, "train_loss", 2, (long long[]){S, ANY}, any2);
    for (int i = 0; !st && !is_task && i < 2; i++) {
        const char *opt = i ? "ppl_sliding" : "loss_sliding";
        if (H5Lexists(g, opt, H5P_DEFAULT) > 0) st = need_dataset(g, path, where, opt, 2, want_sn, sn);
    }
    if (!st && H5Lexists(g, "diverged", H5P_DEFAULT) > 0)
        st = need_dataset(g, path, where, "diverged", 1, (long long[]){S}, s1);
    if (!st && H5Lexists(g, "train_tokens_per_s", H5P_DEFAULT) > 0)
        st = need_dataset(g, path, where, "train_tokens_per_s", 1, (long long[]){S}, s1);
    return st;
}

/* A study group (/generalization or /tasks/<task>): its `encodings` list and
 * a well-formed group per listed encoding; training: the matching /training. */
static PbStatus check_study(hid_t file, const char *path, const char *where, int is_task) {
    hid_t top = H5Gopen2(file, where, H5P_DEFAULT);
    if (top < 0) return pb_fail(PB_DATA, "'%s': %s is not a group (damaged file?)", path, where);
    char list[GEN_MAX_ENCODINGS * (GEN_NAME + 1)];
    PbStatus st = PB_OK;
    /* Raw: the names are group names to look up, not text to print. */
    if (h5_read_attr_raw(top, "encodings", list, sizeof list) || !*list)
        st = pb_fail(PB_DATA, "'%s': %s lacks its 'encodings' attribute (damaged file?)", path, where);
    hid_t train = -1;
    if (!st && !is_task && H5Lexists(file, "training", H5P_DEFAULT) > 0)
        train = H5Gopen2(file, "training", H5P_DEFAULT);
    int count = 0;
    char *save = NULL;
    for (char *name = st ? NULL : strtok_r(list, ",", &save); !st && name; name = strtok_r(NULL, ",", &save)) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", where, name);
        if (++count > GEN_MAX_ENCODINGS || strlen(name) >= GEN_NAME || strchr(name, '/') || name[0] == '.')
            st = pb_fail(PB_DATA, "'%s': %s lists a bad encoding name or too many (damaged file?)", path, where);
        else if (H5Lexists(top, name, H5P_DEFAULT) <= 0)
            st = pb_fail(PB_DATA, "'%s': %s lists encoding '%s' but has no group %s (damaged file?)", path,
                         where, name, sub);
        hid_t g = st ? -1 : H5Gopen2(top, name, H5P_DEFAULT);
        if (!st && g < 0) st = pb_fail(PB_DATA, "'%s': %s is not a group (damaged file?)", path, sub);
        if (!st) st = check_gen_encoding(g, path, sub, is_task);
        if (g >= 0) H5Gclose(g);
        if (!st && train >= 0 && H5Lexists(train, name, H5P_DEFAULT) > 0) {
            hid_t tg = H5Gopen2(train, name, H5P_DEFAULT);
            long long d[2];
            snprintf(sub, sizeof sub, "/training/%s", name);
            st = tg < 0 ? pb_fail(PB_DATA, "'%s': %s is not a group (damaged file?)", path, sub)
                        : need_dataset(tg, path, sub, "loss", 2, (long long[]){ANY, ANY}, d);
            if (tg >= 0) H5Gclose(tg);
        }
    }
    if (train >= 0) H5Gclose(train);
    H5Gclose(top);
    return st;
}

static PbStatus check_generalize(hid_t file, const char *path) {
    int has_gen = H5Lexists(file, "generalization", H5P_DEFAULT) > 0;
    int has_tasks = H5Lexists(file, "tasks", H5P_DEFAULT) > 0;
    long long complete = 1;
    if (!has_gen && !has_tasks && H5Aexists(file, "complete") > 0 && !h5_read_attr_int(file, "complete", &complete) &&
        !complete)
        return PB_OK; /* interrupted before its first run: show says so */
    if (!has_gen && !has_tasks) return pb_fail(PB_DATA, "'%s' holds neither /generalization nor /tasks", path);
    PbStatus st = has_gen ? check_study(file, path, "/generalization", 0) : PB_OK;
    if (st || !has_tasks) return st;
    hid_t tg = H5Gopen2(file, "tasks", H5P_DEFAULT);
    if (tg < 0) return pb_fail(PB_DATA, "'%s': /tasks is not a group (damaged file?)", path);
    for (int k = 0; !st && k < TASK_COUNT; k++) {
        char where[64];
        snprintf(where, sizeof where, "/tasks/%s", task_name((TaskKind)k));
        if (H5Lexists(tg, task_name((TaskKind)k), H5P_DEFAULT) > 0) st = check_study(file, path, where, 1);
    }
    H5Gclose(tg);
    return st;
}

static PbStatus check_export(hid_t file, const char *path) {
    static const char *const need[] = {"T", "C", "H"};
    long long v[3];
    char text[256];
    if (h5_read_attr_string(file, "encoding", text, sizeof text))
        return pb_fail(PB_DATA, "'%s': the 'encoding' attribute is missing (damaged file?)", path);
    for (int i = 0; i < 3; i++)
        if (h5_read_attr_int(file, need[i], &v[i]) || v[i] < 1 || v[i] > (1 << 24))
            return pb_fail(PB_DATA, "'%s': the attribute '%s' is missing or out of range (damaged file?)", path,
                           need[i]);
    const long long T = v[0], C = v[1], H = v[2];
    long long d[3];
    PbStatus st = PB_OK;
    if (H5Lexists(file, "pos_embedding", H5P_DEFAULT) > 0)
        st = need_dataset(file, path, "", "pos_embedding", 2, (long long[]){T, C}, d);
    if (!st && H5Lexists(file, "bias", H5P_DEFAULT) > 0)
        st = need_dataset(file, path, "", "bias", 3, (long long[]){H, T, T}, d);
    if (!st && H5Lexists(file, "bucket", H5P_DEFAULT) > 0)
        st = need_dataset(file, path, "", "bucket", 2, (long long[]){T, T}, d);
    if (!st && H5Lexists(file, "slopes", H5P_DEFAULT) > 0)
        st = need_dataset(file, path, "", "slopes", 1, (long long[]){H}, d);
    if (!st && H5Lexists(file, "angle", H5P_DEFAULT) > 0)
        st = need_dataset(file, path, "", "angle", 2, (long long[]){T, ANY}, d);
    return st;
}

/* bench_h5_read checks its tables; the reference numbers it reads into one
 * double each must hold exactly one value. */
static PbStatus check_bench(hid_t file, const char *path) {
    static const char *const scalars[] = {"reference/copy_gbytes_per_s", "reference/sgemm_gflops"};
    if (H5Lexists(file, "reference", H5P_DEFAULT) <= 0) return PB_OK;
    for (int i = 0; i < 2; i++) {
        if (H5Lexists(file, scalars[i], H5P_DEFAULT) <= 0) continue;
        hid_t set = H5Dopen2(file, scalars[i], H5P_DEFAULT);
        hid_t space = set < 0 ? -1 : H5Dget_space(set);
        hid_t type = set < 0 ? -1 : H5Dget_type(set);
        hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
        H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
        if (type >= 0) H5Tclose(type);
        if (space >= 0) H5Sclose(space);
        if (set >= 0) H5Dclose(set);
        if (n != 1 || (cls != H5T_FLOAT && cls != H5T_INTEGER))
            return pb_fail(PB_DATA, "'%s': /%s is not a single number (damaged file?)", path, scalars[i]);
    }
    return PB_OK;
}

PbStatus h5in_check_results(hid_t file, const char *kind, const char *path) {
    for (size_t i = 0; i < sizeof schema_versions / sizeof schema_versions[0]; i++) {
        if (strcmp(kind, schema_versions[i].kind) != 0) continue;
        long long version = 1;
        if (H5Aexists(file, "schema_version") > 0) {
            if (h5_read_attr_int(file, "schema_version", &version))
                return pb_fail(PB_DATA, "'%s': the schema_version attribute is not a number", path);
        } else if (schema_versions[i].required) {
            return pb_fail(PB_DATA, "'%s' has no schema_version attribute (damaged, or not written by posbench)",
                           path);
        }
        if (version > schema_versions[i].version)
            return pb_fail(PB_DATA, "'%s' has %s schema version %lld, newer than this posbench reads (%lld); "
                           "update posbench", path, kind, version, schema_versions[i].version);
        if (version < 1) return pb_fail(PB_DATA, "'%s': schema version %lld is not valid", path, version);
    }
    if (strcmp(kind, "generalize") == 0) return check_generalize(file, path);
    if (strcmp(kind, "run") == 0) {
        PbStatus st = check_bench(file, path);
        if (!st && (H5Lexists(file, "generalization", H5P_DEFAULT) > 0 || H5Lexists(file, "tasks", H5P_DEFAULT) > 0))
            st = check_generalize(file, path);
        return st;
    }
    if (strcmp(kind, "encoding_export") == 0) return check_export(file, path);
    if (strcmp(kind, "bench") == 0) return check_bench(file, path);
    return PB_OK; /* other kinds: the caller refuses them */
}

int h5_exists(hid_t loc, const char *name) { return H5Lexists(loc, name, H5P_DEFAULT) > 0; }

/* Opens attribute `name` of loc if it holds exactly one value; PB_DATA
 * otherwise (reading a many-valued attribute into one would overrun). */
static PbStatus open_single_attr(hid_t loc, const char *name, const char *what, hid_t *attr) {
    *attr = -1;
    if (H5Aexists(loc, name) <= 0) return pb_fail(PB_DATA, "attribute '%s' is missing", name);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t space = a < 0 ? -1 : H5Aget_space(a);
    hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (space >= 0) H5Sclose(space);
    if (n != 1) {
        if (a >= 0) H5Aclose(a);
        return pb_fail(PB_DATA, "attribute '%s' is not a single %s", name, what);
    }
    *attr = a;
    return PB_OK;
}

static PbStatus read_attr_text(hid_t loc, const char *name, char *out, size_t cap, int sanitize) {
    if (cap) out[0] = 0;
    hid_t attr;
    PbStatus st = open_single_attr(loc, name, "string", &attr);
    if (st) return st;
    hid_t type = H5Aget_type(attr);
    size_t n = type < 0 ? 0 : H5Tget_size(type);
    if (type < 0 || H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0) {
        st = pb_fail(PB_DATA, "attribute '%s' is not a fixed-length string", name);
    } else if (n == 0 || n > H5IN_MAX_ATTR_BYTES) {
        st = pb_fail(PB_DATA, "attribute '%s' declares a string of %zu bytes (over 1 MiB: damaged or crafted file)",
                     name, n);
    } else {
        char *buf = calloc(n + 1, 1);
        if (!buf || H5Aread(attr, type, buf) < 0) st = pb_fail(PB_DATA, "cannot read attribute '%s'", name);
        else if (cap) snprintf(out, cap, "%s", buf);
        free(buf);
        if (!st && cap && sanitize) text_sanitize(out);
    }
    if (type >= 0) H5Tclose(type);
    H5Aclose(attr);
    return st;
}

PbStatus h5_read_attr_string(hid_t loc, const char *name, char *out, size_t cap) {
    return read_attr_text(loc, name, out, cap, 1);
}

PbStatus h5_read_attr_raw(hid_t loc, const char *name, char *out, size_t cap) {
    return read_attr_text(loc, name, out, cap, 0);
}

PbStatus h5_read_attr_int(hid_t loc, const char *name, long long *out) {
    hid_t attr;
    PbStatus st = open_single_attr(loc, name, "number", &attr);
    if (st) return st;
    herr_t r = H5Aread(attr, H5T_NATIVE_LLONG, out);
    H5Aclose(attr);
    return r < 0 ? pb_fail(PB_DATA, "cannot read attribute '%s' as a number", name) : PB_OK;
}

PbStatus h5_read_attr_double(hid_t loc, const char *name, double *out) {
    hid_t attr;
    PbStatus st = open_single_attr(loc, name, "number", &attr);
    if (st) return st;
    herr_t r = H5Aread(attr, H5T_NATIVE_DOUBLE, out);
    H5Aclose(attr);
    return r < 0 ? pb_fail(PB_DATA, "cannot read attribute '%s' as a number", name) : PB_OK;
}

/* The file and object names of a dataset, for messages. */
static void dataset_where(hid_t set, const char *name, char *file, size_t fcap, char *obj, size_t ocap) {
    if (H5Fget_name(set, file, fcap) <= 0) snprintf(file, fcap, "?");
    if (H5Iget_name(set, obj, ocap) <= 0) snprintf(obj, ocap, "%s", name);
}

static PbStatus read_dataset(hid_t loc, const char *name, hid_t mem_type, size_t elem, void **data,
                             int *rank, int dims[8]) {
    *data = NULL;
    if (!h5_exists(loc, name)) return pb_fail(PB_DATA, "dataset '%s' is missing", name);
    hid_t set = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t space = set < 0 ? -1 : H5Dget_space(set);
    int r = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    PbStatus st = PB_OK;
    char file[1024], obj[512];
    if (r < 1 || r > 8) {
        st = pb_fail(PB_DATA, "dataset '%s' has an unreadable shape", name);
    } else {
        /* Checked sizes before any allocation (h5in_open's walk checked the
         * file's bytes already; this guards callers and the int dims). */
        Extent e = extent_of(space, elem);
        hsize_t file_bytes = 0;
        hid_t fid = H5Iget_file_id(set); /* H5Fget_filesize takes a file's id only */
        if (fid < 0 || H5Fget_filesize(fid, &file_bytes) < 0) file_bytes = 0;
        if (fid >= 0) H5Fclose(fid);
        char n[48];
        int too_big = e.rank < 0 || e.overflow || e.bytes > (uint64_t)file_bytes + H5IN_SLACK;
        if (too_big || e.span > H5IN_MAX_ELEMENTS || e.max_dim > INT_MAX) {
            dataset_where(set, name, file, sizeof file, obj, sizeof obj);
            st = pb_fail(PB_DATA, "'%s': %s declares %s elements, more than %s (damaged or crafted file)", file, obj,
                         count_text(&e, n, sizeof n), too_big ? "the file holds" : "posbench reads (2^31 - 1)");
        } else {
            hsize_t hd[8];
            H5Sget_simple_extent_dims(space, hd, NULL);
            for (int i = 0; i < r; i++) dims[i] = (int)hd[i];
            *rank = r;
            *data = pb_calloc(e.elements ? (size_t)e.elements : 1, elem, name);
            if (!*data) st = PB_NOMEM;
            else if (H5Dread(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) < 0) {
                st = pb_fail(PB_DATA, "cannot read dataset '%s' (damaged file?)", name);
                free(*data);
                *data = NULL;
            }
        }
    }
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    return st;
}

PbStatus h5_read_floats(hid_t loc, const char *name, float **data, int *rank, int dims[8]) {
    return read_dataset(loc, name, H5T_NATIVE_FLOAT, sizeof(float), (void **)data, rank, dims);
}

PbStatus h5_read_ints(hid_t loc, const char *name, int **data, int *rank, int dims[8]) {
    return read_dataset(loc, name, H5T_NATIVE_INT, sizeof(int), (void **)data, rank, dims);
}
