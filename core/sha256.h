/* sha256.h: hex SHA-256 of a buffer (OpenSSL's libcrypto does the hashing). */
#ifndef POSBENCH_SHA256_H
#define POSBENCH_SHA256_H

#include <stddef.h>

/* Writes 64 lowercase hex digits and a NUL into hex[65]. */
void sha256_hex(char hex[65], const void *data, size_t len);

#endif
