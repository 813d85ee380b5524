/*
 * pgcdc --config FILE: a YAML file read into settings, each with where it
 * stands in the file.  Keys are property names or the command line's long
 * option names (`-` and `_` alike); nested maps flatten to dotted keys
 * (heartbeat: {interval: 10s} is heartbeat.interval); a list gives its key
 * once per item; ${VAR} and ${VAR:-default} in values are taken from the
 * environment ($$ is a dollar).  A `pipelines` list of maps makes several
 * pipelines; the keys beside it are shared by all of them.
 */
#ifndef PGCDC_TOOL_CONFIG_FILE_H
#define PGCDC_TOOL_CONFIG_FILE_H

#include <stddef.h>

typedef struct pgcdc_tool_setting {
    char *key;    /* flattened, as written */
    char *value;  /* after substitution */
    int line;     /* of the value, 1-based */
    int column;   /* 1-based */
    int pipeline; /* -1: every pipeline; else the index in pipelines */
} pgcdc_tool_setting;

typedef struct pgcdc_tool_config_file {
    pgcdc_tool_setting *settings;
    int nsettings;
    int npipelines; /* 0: the file is one pipeline */
} pgcdc_tool_config_file;

/*
 * Reads path.  0, or -1 with "PATH:LINE:COLUMN: what is wrong (the fix)"
 * in err; f is emptied either way first.
 */
int pgcdc_tool_config_file_read(const char *path, pgcdc_tool_config_file *f, char *err,
                                size_t errlen);
void pgcdc_tool_config_file_free(pgcdc_tool_config_file *f);

/* Keys alike: `-` and `_` the same. */
int pgcdc_tool_key_is(const char *key, const char *name);

#endif /* PGCDC_TOOL_CONFIG_FILE_H */
