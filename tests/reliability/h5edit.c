/* h5edit.c: makes damaged posbench results files for the bad-input tests
 * (a stand-in for h5py, which these machines lack).
 *
 *   h5edit FILE attr-int OBJ NAME VALUE     set (replace) an integer attribute
 *   h5edit FILE attr-str OBJ NAME VALUE     set (replace) a string attribute
 *   h5edit FILE del-attr OBJ NAME           remove an attribute
 *   h5edit FILE del PATH                    unlink a group or dataset
 *   h5edit FILE floats PATH D0 [D1 ...]     replace a dataset by zeros of this shape
 *   h5edit FILE ints PATH D0 [D1 ...]       the same, int32
 *
 * OBJ is a group path ("/", "/generalization"). Exit status 0 on success,
 * 1 with a message otherwise.
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
    if (H5Aexists_by_name(file, obj, name, H5P_DEFAULT) > 0 &&
        H5Adelete_by_name(file, obj, name, H5P_DEFAULT) < 0)
        return fail("replace attribute", name);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate_by_name(file, obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, type, value) < 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    return bad ? fail("write attribute", name) : 0;
}

static int put_dataset(hid_t file, const char *path, hid_t type, int rank, char **dims) {
    hsize_t d[8], n = 1;
    if (rank < 1 || rank > 8) return fail("use rank", "?");
    for (int i = 0; i < rank; i++) n *= (d[i] = strtoull(dims[i], NULL, 10));
    if (H5Lexists(file, path, H5P_DEFAULT) > 0 && H5Ldelete(file, path, H5P_DEFAULT) < 0)
        return fail("replace dataset", path);
    void *zeros = calloc(n ? n : 1, 4);
    hid_t space = H5Screate_simple(rank, d, NULL);
    hid_t set = H5Dcreate2(file, path, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = set < 0 || (n && H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros) < 0);
    if (set >= 0) H5Dclose(set);
    H5Sclose(space);
    free(zeros);
    return bad ? fail("write dataset", path) : 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: h5edit FILE attr-int|attr-str|del-attr|del|floats|ints ARGS...\n");
        return 1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(argv[1], H5F_ACC_RDWR, H5P_DEFAULT);
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
    } else if (strcmp(op, "del-attr") == 0 && argc == 5) {
        rc = H5Adelete_by_name(file, argv[3], argv[4], H5P_DEFAULT) < 0 ? fail("delete attribute", argv[4]) : 0;
    } else if (strcmp(op, "del") == 0 && argc == 4) {
        rc = H5Ldelete(file, argv[3], H5P_DEFAULT) < 0 ? fail("delete", argv[3]) : 0;
    } else if ((strcmp(op, "floats") == 0 || strcmp(op, "ints") == 0) && argc >= 5) {
        rc = put_dataset(file, argv[3], op[0] == 'f' ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT, argc - 4, argv + 4);
    } else {
        fprintf(stderr, "h5edit: bad operation '%s' or argument count\n", op);
        rc = 1;
    }
    if (H5Fclose(file) < 0) return fail("close", argv[1]);
    return rc;
}
