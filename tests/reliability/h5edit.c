/* h5edit.c: makes damaged and hostile posbench results files for the
 * bad-input and security tests (a stand-in for h5py, which the tests may
 * not assume is installed). Usage: h5edit FILE VERB ARGS...
 *
 *   attr-int OBJ NAME VALUE        set (replace) an integer attribute
 *   attr-str OBJ NAME VALUE        set (replace) a string attribute
 *   attr-bytes OBJ NAME SRC        the same, holding SRC's bytes as they are
 *                                  (escape sequences, newlines); a missing
 *                                  group OBJ is created, in a format that
 *                                  holds attributes past 64 KiB
 *   bench-str TABLE ROW FIELD SRC  string field FIELD of row ROW of the
 *                                  compound table TABLE (/bench/throughput)
 *                                  holds SRC's bytes (cut to the field's size)
 *   del-attr OBJ NAME              remove an attribute
 *   del PATH                       unlink a group or dataset
 *   move PATH NEW                  rename a link (a group under a hostile name)
 *   floats PATH D0 [D1 ...]        replace a dataset by zeros of this shape
 *   ints PATH D0 [D1 ...]          the same, int32
 *   huge PATH D0 [D1 ...]          a chunked float dataset of this shape,
 *                                  nothing written (any size: a 2^72-element
 *                                  or wrapping shape costs a few bytes)
 *   external PATH RAW D0 [...]     a float dataset stored in the external
 *                                  file RAW (not touched here)
 *   virtual PATH SFILE SOBJ D0 [...]  a virtual float dataset mapping all of
 *                                  it onto SOBJ in SFILE (not opened here)
 *   ext-link PATH TFILE TOBJ       PATH becomes an external link to TOBJ in
 *                                  TFILE (not opened here)
 *   soft-link PATH TARGET          PATH becomes a soft link to TARGET
 *
 * OBJ is a group path ("/", "/generalization"); PATH an object's. Every verb
 * that makes PATH replaces what was there. Exit status 0 on success, 1 with
 * a message otherwise.
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const char *name) {
    fprintf(stderr, "h5edit: cannot %s '%s'\n", what, name);
    return 1;
}

static int set_attr(hid_t file, const char *obj, const char *name, hid_t type, const void *value) {
    if (H5Aexists_by_name(file, obj, name, H5P_DEFAULT) > 0 && H5Adelete_by_name(file, obj, name, H5P_DEFAULT) < 0)
        return fail("replace attribute", name);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(file, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, type, value) < 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    return bad ? fail("write attribute", name) : 0;
}

/* Removes whatever PATH names, so a verb can put something else there. */
static int clear(hid_t file, const char *path) {
    htri_t e = H5Lexists(file, path, H5P_DEFAULT);
    return e > 0 && H5Ldelete(file, path, H5P_DEFAULT) < 0 ? fail("replace", path) : 0;
}

static int parse_dims(int rank, char **dims, hsize_t *d) {
    if (rank < 1 || rank > 8) return fail("use rank", "?");
    for (int i = 0; i < rank; i++) d[i] = strtoull(dims[i], NULL, 10);
    return 0;
}

static int put_dataset(hid_t file, const char *path, hid_t type, int rank, char **dims) {
    hsize_t d[8], n = 1;
    if (parse_dims(rank, dims, d) || clear(file, path)) return 1;
    for (int i = 0; i < rank; i++) n *= d[i];
    void *zeros = calloc(n ? n : 1, 4);
    hid_t space = H5Screate_simple(rank, d, NULL);
    hid_t set = H5Dcreate2(file, path, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = set < 0 || (n && H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros) < 0);
    if (set >= 0) H5Dclose(set);
    H5Sclose(space);
    free(zeros);
    return bad ? fail("write dataset", path) : 0;
}

/* A dataset declared with a creation property list and never written: its
 * shape costs nothing on disk (chunked: no chunk allocated; external: the
 * data would lie in another file). */
static int declare_dataset(hid_t file, const char *path, hid_t dcpl, int rank, const hsize_t *d) {
    if (clear(file, path)) return 1;
    hid_t space = H5Screate_simple(rank, d, NULL);
    hid_t set = space < 0 ? -1 : H5Dcreate2(file, path, H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (set >= 0) H5Dclose(set);
    if (space >= 0) H5Sclose(space);
    return set < 0 ? fail("create dataset", path) : 0;
}

static int huge(hid_t file, const char *path, int rank, char **dims) {
    hsize_t d[8], chunk[8];
    if (parse_dims(rank, dims, d)) return 1;
    for (int i = 0; i < rank; i++) chunk[i] = 1;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    int rc = declare_dataset(file, path, dcpl, rank, d);
    H5Pclose(dcpl);
    return rc;
}

static int external(hid_t file, const char *path, const char *raw, int rank, char **dims) {
    hsize_t d[8];
    if (parse_dims(rank, dims, d)) return 1;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int rc = H5Pset_external(dcpl, raw, 0, H5F_UNLIMITED) < 0 ? fail("use external file", raw)
                                                              : declare_dataset(file, path, dcpl, rank, d);
    H5Pclose(dcpl);
    return rc;
}

/* All of PATH maps onto SRCOBJ in SRCFILE (opened only by a reader). */
static int virtual(hid_t file, const char *path, const char *src_file, const char *src_obj, int rank, char **dims) {
    hsize_t d[8];
    if (parse_dims(rank, dims, d)) return 1;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t space = H5Screate_simple(rank, d, NULL);
    int rc = H5Pset_virtual(dcpl, space, src_file, src_obj, space) < 0 ? fail("map", src_obj)
                                                                       : declare_dataset(file, path, dcpl, rank, d);
    H5Sclose(space);
    H5Pclose(dcpl);
    return rc;
}

static int attr_bytes(hid_t file, const char *obj, const char *name, const char *src) {
    if (H5Lexists(file, obj, H5P_DEFAULT) <= 0 && strcmp(obj, "/") != 0) {
        hid_t g = H5Gcreate2(file, obj, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) return fail("create group", obj);
        H5Gclose(g);
    }
    FILE *f = fopen(src, "rb");
    if (!f) return fail("read", src);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (int c; (c = getc(f)) != EOF; buf[n++] = (char)c)
        if (n + 1 >= cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 4096))) return fail("allocate for", src);
    fclose(f);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n ? n : 1);
    int rc = set_attr(file, obj, name, t, n ? buf : "");
    H5Tclose(t);
    free(buf);
    return rc;
}

/* Row `row` of the compound table at PATH gets SRC's bytes in its string
 * field `field` (cut to the field's size). */
static int bench_str(hid_t file, const char *path, const char *field, long row, const char *src) {
    FILE *f = fopen(src, "rb");
    if (!f) return fail("read", src);
    char text[4096] = "";
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    hid_t set = H5Dopen2(file, path, H5P_DEFAULT);
    hid_t ftype = set < 0 ? -1 : H5Dget_type(set), space = set < 0 ? -1 : H5Dget_space(set);
    int idx = ftype < 0 ? -1 : H5Tget_member_index(ftype, field);
    hid_t mtype = idx < 0 ? -1 : H5Tget_member_type(ftype, (unsigned)idx);
    size_t size = mtype < 0 ? 0 : H5Tget_size(mtype);
    hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    int rc = 1;
    if (mtype < 0 || H5Tget_class(mtype) != H5T_STRING || row < 0 || row >= n) {
        rc = fail("find the string field of that row in", path);
    } else {
        hid_t one = H5Tcreate(H5T_COMPOUND, size);
        H5Tinsert(one, field, 0, mtype);
        char *rows = calloc((size_t)n, size);
        if (!rows || H5Dread(set, one, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0) {
            rc = fail("read", path);
        } else {
            memset(rows + row * size, 0, size);
            memcpy(rows + row * size, text, len < size ? len : size);
            rc = H5Dwrite(set, one, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0 ? fail("write", path) : 0;
        }
        free(rows);
        H5Tclose(one);
    }
    if (mtype >= 0) H5Tclose(mtype);
    if (ftype >= 0) H5Tclose(ftype);
    if (space >= 0) H5Sclose(space);
    if (set >= 0) H5Dclose(set);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: h5edit FILE attr-int|attr-str|attr-bytes|bench-str|del-attr|del|move|floats|ints|"
                        "huge|external|virtual|ext-link|soft-link ARGS...\n");
        return 1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* attr-bytes: objects it creates get the 1.8 format, whose dense
     * attribute storage holds attributes past 64 KiB. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (strcmp(argv[2], "attr-bytes") == 0) H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    hid_t file = H5Fopen(argv[1], H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (file < 0) return fail("open", argv[1]);
    const char *op = argv[2];
    int rc;
    if (strcmp(op, "attr-int") == 0 && argc == 6) {
        long long v = strtoll(argv[5], NULL, 10);
        rc = set_attr(file, argv[3], argv[4], H5T_NATIVE_LLONG, &v);
    } else if (strcmp(op, "attr-str") == 0 && argc == 6) {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, strlen(argv[5]) ? strlen(argv[5]) : 1);
        rc = set_attr(file, argv[3], argv[4], t, argv[5]);
        H5Tclose(t);
    } else if (strcmp(op, "attr-bytes") == 0 && argc == 6) {
        rc = attr_bytes(file, argv[3], argv[4], argv[5]);
    } else if (strcmp(op, "bench-str") == 0 && argc == 7) {
        rc = bench_str(file, argv[3], argv[5], strtol(argv[4], NULL, 10), argv[6]);
    } else if (strcmp(op, "del-attr") == 0 && argc == 5) {
        rc = H5Adelete_by_name(file, argv[3], argv[4], H5P_DEFAULT) < 0 ? fail("delete attribute", argv[4]) : 0;
    } else if (strcmp(op, "del") == 0 && argc == 4) {
        rc = H5Ldelete(file, argv[3], H5P_DEFAULT) < 0 ? fail("delete", argv[3]) : 0;
    } else if (strcmp(op, "move") == 0 && argc == 5) {
        rc = H5Lmove(file, argv[3], file, argv[4], H5P_DEFAULT, H5P_DEFAULT) < 0 ? fail("move", argv[3]) : 0;
    } else if ((strcmp(op, "floats") == 0 || strcmp(op, "ints") == 0) && argc >= 5) {
        rc = put_dataset(file, argv[3], op[0] == 'f' ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT, argc - 4, argv + 4);
    } else if (strcmp(op, "huge") == 0 && argc >= 5) {
        rc = huge(file, argv[3], argc - 4, argv + 4);
    } else if (strcmp(op, "external") == 0 && argc >= 6) {
        rc = external(file, argv[3], argv[4], argc - 5, argv + 5);
    } else if (strcmp(op, "virtual") == 0 && argc >= 7) {
        rc = virtual(file, argv[3], argv[4], argv[5], argc - 6, argv + 6);
    } else if (strcmp(op, "ext-link") == 0 && argc == 6) {
        rc = clear(file, argv[3]) ? 1
             : H5Lcreate_external(argv[4], argv[5], file, argv[3], H5P_DEFAULT, H5P_DEFAULT) < 0
                 ? fail("create external link", argv[3])
                 : 0;
    } else if (strcmp(op, "soft-link") == 0 && argc == 5) {
        rc = clear(file, argv[3])                                                   ? 1
             : H5Lcreate_soft(argv[4], file, argv[3], H5P_DEFAULT, H5P_DEFAULT) < 0 ? fail("create soft link", argv[3])
                                                                                    : 0;
    } else {
        fprintf(stderr, "h5edit: bad operation '%s' or argument count\n", op);
        rc = 1;
    }
    if (H5Fclose(file) < 0) return fail("close", argv[1]);
    return rc;
}
