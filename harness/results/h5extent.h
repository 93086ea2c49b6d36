/* h5extent.h: the declared size of an HDF5 dataset or attribute, with
 * checked arithmetic, for the readers of untrusted results files (h5open.c,
 * h5io.c). Nothing here reads data: only dataspaces and sizes. */
#ifndef POSBENCH_H5EXTENT_H
#define POSBENCH_H5EXTENT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#define H5IN_SLACK ((uint64_t)64 << 10)         /* headers of a tiny file, unwritten fill */
#define H5IN_MAX_ELEMENTS ((uint64_t)INT32_MAX) /* per dataset read: readers index with int */
#define H5IN_MAX_ATTR_BYTES ((uint64_t)1 << 20) /* per attribute: names and settings are short */

/* Checked products of a dataspace's dimensions, then bytes. */
typedef struct {
    int rank;          /* -1: unreadable */
    int overflow;      /* the product of max(d, 1), or the bytes, passed 2^64 */
    uint64_t elements; /* valid unless overflow */
    uint64_t span;     /* product of max(d, 1): bounds every partial product */
    uint64_t bytes;
    uint64_t max_dim;
    double log2_elements;
} Extent;

/* *out = a * b; 0 (and *out unchanged) if that passes 2^64. */
int extent_mul_checked(uint64_t a, uint64_t b, uint64_t *out);

/* The extent of a dataspace whose elements take type_size bytes each. */
Extent extent_of(hid_t space, size_t type_size);

/* "123456" or, past what a message should spell out, "2^72". */
const char *extent_count_text(const Extent *e, char *buf, size_t cap);
/* The same for its bytes ("2^74 bytes"). */
const char *extent_bytes_text(const Extent *e, size_t size, char *buf, size_t cap);

#endif
