/* h5open.c: opening a results file that may come from anyone (h5in_open in
 * h5io.h). */
#include "h5io.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5extent.h"

/* A results file may come from anyone, so before any reader sees it,
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
                       what, extent_count_text(&e, n, sizeof n), e.elements == 1 && !e.overflow ? "" : "s",
                       extent_bytes_text(&e, size, b, sizeof b), limit);
    if (e.max_dim > INT_MAX)
        return pb_fail(PB_DATA,
                       "'%s': %s declares a dimension of %llu, more than posbench reads (damaged or "
                       "crafted file)",
                       path, what, (unsigned long long)e.max_dim);
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
    w->st = pb_fail(PB_DATA,
                    "'%s' holds more than %d links, objects and attributes, far more than posbench "
                    "writes (damaged or crafted file)",
                    w->path, H5IN_MAX_ITEMS);
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
        w->st = pb_fail(PB_DATA,
                        "'%s': /%s is an external link%s; posbench reads no links to other files "
                        "(damaged or crafted file)",
                        w->path, name, target);
    else if (info->type == H5L_TYPE_SOFT)
        w->st = pb_fail(PB_DATA,
                        "'%s': /%s is a soft link%s; posbench writes only hard links (damaged or "
                        "crafted file)",
                        w->path, name, target);
    else
        w->st = pb_fail(PB_DATA,
                        "'%s': /%s is a user-defined link (type %d); posbench writes only hard links "
                        "(damaged or crafted file)",
                        w->path, name, (int)info->type);
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
        return pb_fail(PB_DATA,
                       "'%s': %s is a virtual dataset (its data lies in other files); posbench reads "
                       "only self-contained files (damaged or crafted file)",
                       w->path, what);
    if (external > 0)
        return pb_fail(PB_DATA,
                       "'%s': %s keeps its data in the external file '%s'; posbench reads only "
                       "self-contained files (damaged or crafted file)",
                       w->path, what, raw);
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
        w->st =
            pb_fail(PB_DATA, "cannot read '%s': the attributes of %s are unreadable (damaged file?)", w->path, what);
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
static hid_t refuse_traverse(const char *name, hid_t group, const void *value, size_t size, hid_t lapl, hid_t dxpl) {
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
    static const H5L_class_t refused = {H5L_LINK_CLASS_T_VERS,
                                        H5L_TYPE_EXTERNAL,
                                        "external (not followed)",
                                        NULL,
                                        NULL,
                                        NULL,
                                        refuse_traverse,
                                        NULL,
                                        query_value};
    if (!done && H5Lregister(&refused) >= 0) done = 1;
}

static const char *file_type_name(mode_t m) {
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
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
