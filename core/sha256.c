/* sha256.c: thin wrapper over OpenSSL's one-shot EVP digest. */
#include "sha256.h"

#include <openssl/evp.h>
#include <stdio.h>

void sha256_hex(char hex[65], const void *data, size_t len) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < mdlen && i < 32; i++) sprintf(hex + 2 * i, "%02x", md[i]);
    hex[64] = '\0';
}
