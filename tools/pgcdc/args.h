/*
 * The command line and the --config file, into configurations: the
 * arguments are read once (and secrets in them hidden from ps), then
 * applied to each pipeline's configuration after the file's settings, so
 * flags override the file.
 */
#ifndef PGCDC_TOOL_ARGS_H
#define PGCDC_TOOL_ARGS_H

#include "config_file.h"
#include "pgcdc.h"

/* Exit codes (README: Exit codes); a start interrupted by a signal exits 128 + its number. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_SLOT 3          /* the slot is missing or invalidated */
#define EXIT_SLOT_BUSY 4     /* another process streams from the slot */
#define EXIT_SLOT_MISMATCH 5 /* physical, another plugin's, another database's */
#define EXIT_SLOT_LIMIT 6    /* no replication slot left on the server */
#define EXIT_WAL_BUDGET 7    /* the slot held more WAL than slot.max_retained_wal (its _exit on) */

/* One option of the command line, as given. */
typedef struct pgcdc_tool_arg {
    int opt;
    char *value; /* a copy (NULL for a flag) */
} pgcdc_tool_arg;

typedef struct pgcdc_tool_args {
    pgcdc_tool_arg *v;
    int n;
    const char *config; /* --config FILE */
    int check;          /* --check */
    int status;         /* the command word status */
    int tables;         /* -t given: the file's tables are not used */
    int sinks;          /* -o, --sink or -X sink= given: nor are its sinks */
} pgcdc_tool_args;

/* What one pipeline was told beyond its configuration. */
typedef struct pgcdc_tool_options {
    int create_slot;
    int drop_slot;
    int drop_publication;
    int install_ddl; /* --install-ddl-capture */
    int remove_ddl;  /* --remove-ddl-capture */
    int if_not_exists;
    int start;
    int nsinks;
    int plugins; /* loaded: then no default stdout sink */
    int verbosity;
    int log_level_set; /* by log_level, which -v and -q then leave alone */
    int have_dbname;
    int have_slot;
    int have_publication;
    int endpos;
    int log_json;             /* --log-format json */
    int summary_s;            /* --summary-interval (default 60; 0: none) */
    const char *metrics_addr; /* --metrics-addr HOST:PORT (NULL: no admin server) */
    const char *request;      /* --request-snapshot: the tables */
    const char *where;        /* --where */
    char slot[64];            /* for a pipeline's log lines */
} pgcdc_tool_options;

/*
 * Reads argv into a (copies), hiding passwords and secrets in argv.  0, -1
 * when done already (--help, --version), or an exit code with the message
 * written.
 */
int pgcdc_tool_args_read(int argc, char **argv, pgcdc_tool_args *a);
void pgcdc_tool_args_free(pgcdc_tool_args *a);
/* Refuses options that name one pipeline when the file has several: 0 or EXIT_USAGE. */
int pgcdc_tool_args_for_pipelines(const pgcdc_tool_args *a, int npipelines);

/*
 * Builds pipeline p's configuration: the file's shared settings, then its
 * own (p -1: the file is one pipeline), then the command line; checks
 * that it is complete.  0 or an exit code with the message written.
 */
int pgcdc_tool_configure(pgcdc_config *cfg, pgcdc_tool_options *o, const pgcdc_tool_args *a,
                         const pgcdc_tool_config_file *f, int p);

__attribute__((format(printf, 1, 2))) int pgcdc_tool_usage_error(const char *fmt, ...);

#endif /* PGCDC_TOOL_ARGS_H */
