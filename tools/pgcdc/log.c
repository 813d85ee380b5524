/*
 * Log lines and the status line (see log.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pgcdc_tool_log_format format = PGCDC_TOOL_LOG_TEXT;
static int status_drawn; /* the status line is on the screen */

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void pgcdc_tool_log_set_format(pgcdc_tool_log_format f)
{
    pthread_mutex_lock(&mu);
    format = f;
    pthread_mutex_unlock(&mu);
}

pgcdc_tool_log_format pgcdc_tool_log_get_format(void)
{
    pgcdc_tool_log_format f;

    pthread_mutex_lock(&mu);
    f = format;
    pthread_mutex_unlock(&mu);
    return f;
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))
            return 0; /* overlong, or a surrogate */
        return 3;
    }
    if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
            return 0; /* overlong, or past U+10FFFF */
        return 4;
    }
    return 0;
}

size_t pgcdc_tool_json_escape(char *out, size_t size, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    if (size == 0)
        return 0;
    /* Room for the longest form (\u0000) and the terminator. */
    while (*p != '\0' && n + 7 < size) {
        int k = utf8_len(p);

        if (k == 0) {
            n += (size_t)snprintf(out + n, size - n, "\\ufffd");
            p++;
        } else if (*p == '"' || *p == '\\') {
            out[n++] = '\\';
            out[n++] = (char)*p++;
        } else if (*p == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
            p++;
        } else if (*p < 0x20) {
            n += (size_t)snprintf(out + n, size - n, "\\u%04x", *p);
            p++;
        } else if (n + (size_t)k + 1 < size) {
            memcpy(out + n, p, (size_t)k);
            n += (size_t)k;
            p += k;
        } else {
            break;
        }
    }
    out[n] = '\0';
    return n;
}

void pgcdc_tool_log_format_line(char *buf, size_t size, pgcdc_tool_log_format f, int64_t time_us,
                                pgcdc_log_level level, const char *tag, const char *msg)
{
    time_t secs = (time_t)(time_us / 1000000);
    struct tm tm;
    char when[40];
    const char *name = (unsigned)level < 4 ? level_names[level] : "info";

    gmtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03dZ",
             (int)(time_us % 1000000 / 1000));
    if (f == PGCDC_TOOL_LOG_JSON) {
        char m[2048];
        char t[160];

        pgcdc_tool_json_escape(m, sizeof(m), msg);
        pgcdc_tool_json_escape(t, sizeof(t), tag != NULL ? tag : "");
        if (tag != NULL)
            snprintf(buf, size,
                     "{\"time\":\"%s\",\"level\":\"%s\",\"pipeline\":\"%s\",\"msg\":\"%s\"}", when,
                     name, t, m);
        else
            snprintf(buf, size, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}", when, name, m);
        return;
    }
    if (tag != NULL)
        snprintf(buf, size, "%s pgcdc[%s]: %s: %s", when, tag, name, msg);
    else
        snprintf(buf, size, "%s pgcdc: %s: %s", when, name, msg);
}

void pgcdc_tool_log(pgcdc_log_level level, const char *tag, const char *msg)
{
    struct timespec ts;
    char line[2560];

    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&mu);
    pgcdc_tool_log_format_line(line, sizeof(line), format,
                               (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, level, tag, msg);
    if (status_drawn) {
        fputs("\r\033[K", stderr);
        status_drawn = 0;
    }
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
    pthread_mutex_unlock(&mu);
}

void pgcdc_tool_log_hook(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    (void)w;
    pgcdc_tool_log(level, opaque, msg);
}

void pgcdc_tool_log_status(const char *line)
{
    pthread_mutex_lock(&mu);
    if (line != NULL) {
        fprintf(stderr, "\r\033[K%s", line);
        status_drawn = 1;
    } else if (status_drawn) {
        fputs("\r\033[K", stderr);
        status_drawn = 0;
    }
    fflush(stderr);
    pthread_mutex_unlock(&mu);
}
