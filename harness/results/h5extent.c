/* h5extent.c: checked declared sizes (see h5extent.h). */
#include "h5extent.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int extent_mul_checked(uint64_t a, uint64_t b, uint64_t *out) {
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

Extent extent_of(hid_t space, size_t type_size) {
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
        if (!extent_mul_checked(e.span, d[i] ? d[i] : 1, &e.span)) e.overflow = 1;
    }
    if (e.elements) e.elements = e.span;
    if (!e.overflow && !extent_mul_checked(e.elements, type_size, &e.bytes)) e.overflow = 1;
    return e;
}

/* "2^72", or "2^72.3" between powers. */
static void pow2_text(double log2_value, char *buf, size_t cap) {
    if (log2_value == floor(log2_value)) snprintf(buf, cap, "2^%.0f", log2_value);
    else snprintf(buf, cap, "2^%.1f", log2_value);
}

const char *extent_count_text(const Extent *e, char *buf, size_t cap) {
    if (!e->overflow && e->elements < (1ull << 40)) snprintf(buf, cap, "%llu", (unsigned long long)e->elements);
    else pow2_text(e->log2_elements, buf, cap);
    return buf;
}

const char *extent_bytes_text(const Extent *e, size_t size, char *buf, size_t cap) {
    if (!e->overflow && e->bytes < (1ull << 40)) {
        snprintf(buf, cap, "%llu bytes", (unsigned long long)e->bytes);
    } else {
        pow2_text(e->log2_elements + log2((double)size), buf, cap);
        snprintf(buf + strlen(buf), cap - strlen(buf), " bytes");
    }
    return buf;
}
