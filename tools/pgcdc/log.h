/*
 * The command line's log lines on stderr: a UTC timestamp, the level and
 * the message, as text or as one JSON object per line (--log-format), and
 * the live status line on a terminal, which a log line first clears.
 * Every function is safe from any thread.
 */
#ifndef PGCDC_TOOL_LOG_H
#define PGCDC_TOOL_LOG_H

#include "pgcdc.h"

typedef enum pgcdc_tool_log_format {
    PGCDC_TOOL_LOG_TEXT = 0,
    PGCDC_TOOL_LOG_JSON
} pgcdc_tool_log_format;

void pgcdc_tool_log_set_format(pgcdc_tool_log_format f);
pgcdc_tool_log_format pgcdc_tool_log_get_format(void);
/* One line; tag (a pipeline's slot when there are several) may be NULL. */
void pgcdc_tool_log(pgcdc_log_level level, const char *tag, const char *msg);
/* The library's log hook: opaque is the tag. */
void pgcdc_tool_log_hook(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque);
/* Draws the status line (a terminal's last line), or clears it with NULL. */
void pgcdc_tool_log_status(const char *line);
/*
 * s as a JSON string's content into out (NUL-terminated, cut at a whole
 * character when out is too small): quotes, backslashes and control
 * characters escaped, a byte that is not valid UTF-8 as U+FFFD.  Its length.
 */
size_t pgcdc_tool_json_escape(char *out, size_t size, const char *s);
/* One line as the format writes it into buf (for tests); time in Unix microseconds. */
void pgcdc_tool_log_format_line(char *buf, size_t size, pgcdc_tool_log_format f, int64_t time_us,
                                pgcdc_log_level level, const char *tag, const char *msg);

#endif /* PGCDC_TOOL_LOG_H */
