/*
 * Standard Webhooks signatures: the secret as "whsec_" and base64, and
 * "v1," with the base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>").
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sink/http.h"

/* A base64 digit's value, or -1. */
static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

int pgcdc__http_secret(const char *text, unsigned char *key, size_t cap)
{
    const char *p;
    size_t n;
    size_t len = 0;
    unsigned acc = 0;
    int bits = 0;

    if (text == NULL || strncmp(text, "whsec_", 6) != 0)
        return -1;
    p = text + 6;
    n = strlen(p);
    /* Padding is optional; anything after it is not. */
    while (n > 0 && p[n - 1] == '=')
        n--;
    if (n == 0 || strlen(p) - n > 2)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)p[i]);

        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len == cap)
                return -1;
            key[len++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* A lone digit past the last whole byte is no base64. */
    if (bits >= 6)
        return -1;
    return (int)len;
}

int pgcdc__http_sign(const unsigned char *key, size_t keylen, const char *id, const char *timestamp,
                     const void *body, size_t len, char *out, size_t size)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[2];
    int ok;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
         EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) == 1 &&
         EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
         EVP_MAC_update(ctx, (const unsigned char *)timestamp, strlen(timestamp)) == 1 &&
         EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
         (len == 0 || EVP_MAC_update(ctx, body, len) == 1) &&
         EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) == 1;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    /* "v1," and 44 base64 digits and the NUL. */
    if (!ok || size < 3 + 4 * ((maclen + 2) / 3) + 1)
        return -1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
    return 0;
}
