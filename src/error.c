/*
 * Error codes, version, operation names and LSN text: the small tables the
 * public API exposes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pgcdc.h"

const char *pgcdc_version(void)
{
    return PGCDC_VERSION_STRING;
}

int pgcdc_version_num(void)
{
    return PGCDC_VERSION_NUM;
}

const char *pgcdc_strerror(int err)
{
    switch (err) {
#define PGCDC__ERR_TEXT(name, code, text)                                                          \
    case code:                                                                                     \
        return text;
        PGCDC_ERRNO_MAP(PGCDC__ERR_TEXT)
#undef PGCDC__ERR_TEXT
    }
    return "unknown error";
}

const char *pgcdc_err_name(int err)
{
    switch (err) {
#define PGCDC__ERR_NAME(name, code, text)                                                          \
    case code:                                                                                     \
        return #name;
        PGCDC_ERRNO_MAP(PGCDC__ERR_NAME)
#undef PGCDC__ERR_NAME
    }
    return "UNKNOWN";
}

const char *pgcdc_op_name(pgcdc_op op)
{
    switch (op) {
    case PGCDC_OP_INSERT:
        return "INSERT";
    case PGCDC_OP_UPDATE:
        return "UPDATE";
    case PGCDC_OP_DELETE:
        return "DELETE";
    case PGCDC_OP_TRUNCATE:
        return "TRUNCATE";
    case PGCDC_OP_READ:
        return "READ";
    case PGCDC_OP_SCHEMA:
        return "SCHEMA_CHANGE";
    }
    return "UNKNOWN";
}

char *pgcdc_lsn_format(uint64_t lsn, char *buf, size_t size)
{
    snprintf(buf, size, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
    return buf;
}

static int hex_half(const char **p, uint32_t *out)
{
    uint64_t v = 0;
    int n = 0;

    for (;; (*p)++) {
        char c = **p;
        int d;

        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            break;
        v = v * 16 + (uint64_t)d;
        n++;
        if (n > 8)
            return -1;
    }
    if (n == 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int pgcdc_lsn_parse(const char *text, uint64_t *lsn)
{
    const char *p = text;
    uint32_t hi;
    uint32_t lo;

    if (p == NULL || hex_half(&p, &hi) != 0 || *p != '/')
        return PGCDC_ERR_INVALID;
    p++;
    if (hex_half(&p, &lo) != 0 || *p != '\0')
        return PGCDC_ERR_INVALID;
    *lsn = ((uint64_t)hi << 32) | lo;
    return PGCDC_OK;
}

const char *pgcdc_state_name(pgcdc_state state)
{
    static const char *const names[] = {"new",          "starting", "streaming",
                                        "reconnecting", "stopped",  "failed"};

    if ((unsigned)state >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[state];
}
