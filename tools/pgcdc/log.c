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

/* s as a JSON string's content: quotes, backslashes and control characters escaped. */
static size_t json_escape(char *out, size_t size, const char *s)
{
    size_t n = 0;

    for (; *s != '\0' && n + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
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

        json_escape(m, sizeof(m), msg);
        json_escape(t, sizeof(t), tag != NULL ? tag : "");
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
