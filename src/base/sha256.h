/*
 * SHA-256 (FIPS 180-4), self-contained: the masking of columns hashes
 * values with it, and only the webhook signatures may use OpenSSL.
 */
#ifndef PGCDC_BASE_SHA256_H
#define PGCDC_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct pgcdc__sha256 {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    uint8_t block[64];
    size_t used; /* bytes of block filled */
} pgcdc__sha256;

void pgcdc__sha256_init(pgcdc__sha256 *s);
void pgcdc__sha256_update(pgcdc__sha256 *s, const void *data, size_t len);
void pgcdc__sha256_final(pgcdc__sha256 *s, uint8_t digest[32]);
/* The digest of data as 64 lower-case hex digits and a NUL into out (65 bytes). */
void pgcdc__sha256_hex(const void *prefix, size_t prefix_len, const void *data, size_t len,
                       char out[65]);

#endif /* PGCDC_BASE_SHA256_H */
