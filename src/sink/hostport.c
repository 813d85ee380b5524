/*
 * The HOST[:PORT] of a sink's URI (redis://, nats://, amqp://), checked alike
 * for every kind before anything connects.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "sink/sink.h"

int pgcdc__sink_host_port(const char *host, const char *end, const char *form, long *port,
                          const char **host_end, char *err, size_t errlen)
{
    const char *colon = memchr(host, ':', (size_t)(end - host));
    const char *name_end = colon != NULL ? colon : end;
    long n = 0;

    if (name_end == host) {
        snprintf(err, errlen, "no host %s", form);
        return PGCDC_ERR_INVALID;
    }
    for (const char *p = host; p < name_end; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_')) {
            snprintf(err, errlen, "bad host name \"%.*s\"", (int)(name_end - host), host);
            return PGCDC_ERR_INVALID;
        }
    }
    if (colon != NULL) {
        for (const char *p = colon + 1; p < end && n <= 65535; p++)
            n = isdigit((unsigned char)*p) ? n * 10 + (*p - '0') : -1;
        if (n < 1 || n > 65535 || colon + 1 == end) {
            snprintf(err, errlen, "bad port \"%.*s\" (use a number from 1 to 65535)",
                     (int)(end - colon - 1), colon + 1);
            return PGCDC_ERR_INVALID;
        }
        *port = n;
    }
    if (host_end != NULL)
        *host_end = name_end;
    return PGCDC_OK;
}
