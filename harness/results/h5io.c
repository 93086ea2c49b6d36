/* h5io.c: writing datasets, attributes and provenance; reading attributes
 * and datasets with checked sizes (see h5io.h; opening is h5open.c, the
 * schema checks h5schema.c). */
#include "h5io.h"

#include "blas_kernel.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "version.h"
#include "../../core/text.h"
#include "../../core/threads.h"
#include "h5extent.h"

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

static PbStatus write_dataset(hid_t loc, const char *name, hid_t type, const void *data, int rank, const int *dims) {
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
    /* HDF5 wants a positive size: "" is stored as one NUL byte, which a
     * null-terminated string type reads back as "" (h5py too). */
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) ? strlen(value) : 1);
    H5Tset_strpad(type, H5T_STR_NULLTERM);
    H5Tset_cset(type, H5T_CSET_UTF8);
    PbStatus st = write_attr(loc, name, type, value);
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
    char kernel[256];
    blas_kernel_describe(kernel, sizeof kernel);
    if (!st) st = h5_attr_string(file, "blas_kernel", kernel);
    if (!st) st = h5_attr_string(file, "benchmark_version", POSBENCH_BENCHMARK_VERSION);
    if (!st) st = h5_attr_string(file, "pcre2_version", pcre2);
    if (!st) st = h5_attr_int(file, "openmp_threads", pb_max_threads());
    if (!st) st = h5_attr_string(file, "command_line", command_line);
    return st;
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

/* One numeric value of attribute name, converted to mem_type. */
static PbStatus read_attr_number(hid_t loc, const char *name, hid_t mem_type, void *out) {
    hid_t attr;
    PbStatus st = open_single_attr(loc, name, "number", &attr);
    if (st) return st;
    herr_t r = H5Aread(attr, mem_type, out);
    H5Aclose(attr);
    return r < 0 ? pb_fail(PB_DATA, "cannot read attribute '%s' as a number", name) : PB_OK;
}

PbStatus h5_read_attr_int(hid_t loc, const char *name, long long *out) {
    return read_attr_number(loc, name, H5T_NATIVE_LLONG, out);
}

PbStatus h5_read_attr_double(hid_t loc, const char *name, double *out) {
    return read_attr_number(loc, name, H5T_NATIVE_DOUBLE, out);
}

/* The file and object names of a dataset, for messages. */
static void dataset_where(hid_t set, const char *name, char *file, size_t fcap, char *obj, size_t ocap) {
    if (H5Fget_name(set, file, fcap) <= 0) snprintf(file, fcap, "?");
    if (H5Iget_name(set, obj, ocap) <= 0) snprintf(obj, ocap, "%s", name);
}

/* The size of the file holding set, 0 if unknown (H5Fget_filesize takes a
 * file's id only). */
static hsize_t file_size_of(hid_t set) {
    hsize_t bytes = 0;
    hid_t fid = H5Iget_file_id(set);
    if (fid < 0 || H5Fget_filesize(fid, &bytes) < 0) bytes = 0;
    if (fid >= 0) H5Fclose(fid);
    return bytes;
}

/* Checked sizes before any allocation (h5in_open's walk checked the file's
 * bytes already; this guards callers and the int dims): PB_DATA naming file
 * and dataset if the values would overflow, pass the file's size or what
 * posbench indexes. */
static PbStatus check_dataset_size(hid_t set, hid_t space, const char *name, size_t elem, Extent *e) {
    *e = extent_of(space, elem);
    int too_big = e->rank < 0 || e->overflow || e->bytes > (uint64_t)file_size_of(set) + H5IN_SLACK;
    if (!too_big && e->span <= H5IN_MAX_ELEMENTS && e->max_dim <= INT_MAX) return PB_OK;
    char file[1024], obj[512], n[48];
    dataset_where(set, name, file, sizeof file, obj, sizeof obj);
    return pb_fail(PB_DATA, "'%s': %s declares %s elements, more than %s (damaged or crafted file)", file, obj,
                   extent_count_text(e, n, sizeof n), too_big ? "the file holds" : "posbench reads (2^31 - 1)");
}

/* All `count` values of set into a new *data (free()). */
static PbStatus read_values(hid_t set, hid_t mem_type, size_t elem, uint64_t count, const char *name, void **data) {
    *data = pb_calloc(count ? (size_t)count : 1, elem, name);
    if (!*data) return PB_NOMEM;
    if (H5Dread(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) >= 0) return PB_OK;
    free(*data);
    *data = NULL;
    return pb_fail(PB_DATA, "cannot read dataset '%s' (damaged file?)", name);
}

static PbStatus read_dataset(hid_t loc, const char *name, hid_t mem_type, size_t elem, void **data, int *rank,
                             int dims[8]) {
    *data = NULL;
    if (!h5_exists(loc, name)) return pb_fail(PB_DATA, "dataset '%s' is missing", name);
    hid_t set = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t space = set < 0 ? -1 : H5Dget_space(set);
    int r = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    Extent e;
    PbStatus st = r < 1 || r > 8 ? pb_fail(PB_DATA, "dataset '%s' has an unreadable shape", name)
                                 : check_dataset_size(set, space, name, elem, &e);
    if (!st) {
        hsize_t hd[8];
        H5Sget_simple_extent_dims(space, hd, NULL);
        for (int i = 0; i < r; i++) dims[i] = (int)hd[i];
        *rank = r;
        st = read_values(set, mem_type, elem, e.elements, name, data);
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
