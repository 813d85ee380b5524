/*
 * Replays fuzz inputs without libFuzzer: runs LLVMFuzzerTestOneInput over every
 * file named on the command line or found in a named directory (not recursive).
 * Usage: fuzz_decoder_replay DIR_OR_FILE...
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one file; returns -1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t len = 0;
    size_t cap = 0;
    size_t n;

    if (fp == NULL) {
        fprintf(stderr, "could not open \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (len == cap) {
            uint8_t *p;

            cap = cap ? cap * 2 : 4096;
            p = realloc(data, cap);
            if (p == NULL) {
                fprintf(stderr, "out of memory reading \"%s\"\n", path);
                goto fail;
            }
            data = p;
        }
        n = fread(data + len, 1, cap - len, fp);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (ferror(fp)) {
        fprintf(stderr, "could not read \"%s\"\n", path);
        goto fail;
    }
    fclose(fp);
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;

fail:
    fclose(fp);
    free(data);
    return -1;
}

/* Runs every regular file of dir; returns the count, or -1 on an error. */
static long replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096];
    struct stat st;
    long count = 0;

    if (d == NULL) {
        fprintf(stderr, "could not open directory \"%s\": %s\n", dir, strerror(errno));
        return -1;
    }
    for (de = readdir(d); de != NULL; de = readdir(d)) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path)) {
            fprintf(stderr, "path too long in \"%s\"\n", dir);
            goto fail;
        }
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (replay_file(path) < 0) {
            goto fail;
        }
        count++;
    }
    closedir(d);
    return count;

fail:
    closedir(d);
    return -1;
}

int main(int argc, char **argv)
{
    long total = 0;
    struct stat st;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        long n;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "could not stat \"%s\": %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            n = replay_dir(argv[i]);
        } else {
            n = replay_file(argv[i]) < 0 ? -1 : 1;
        }
        if (n < 0) {
            return 1;
        }
        total += n;
    }
    printf("replayed %ld inputs\n", total);
    return 0;
}
