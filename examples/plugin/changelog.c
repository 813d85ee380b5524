/*
 * A sink kind of the plugin's own, changelog:PATH: one line per change,
 * "OP schema.table KEY" (KEY its primary key as JSON, when it has one),
 * appended to PATH and fsynced at each commit before the commit is
 * acknowledged, so the slot never moves past a line not on disk.  With
 * -X sink.changelog.commits=true, a line "COMMIT LSN" ends each transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "changelog.h"

#define SCHEME "changelog:"

typedef struct changelog {
    FILE *f;
    int commits;
} changelog;

static const pgcdc_property changelog_properties[] = {
    {"commits", PGCDC_PROP_BOOL, "false", 0, 0, NULL, "end each transaction with COMMIT <lsn>"},
};

static int check_uri(const char *uri, char *err, size_t errlen)
{
    if (strncmp(uri, SCHEME, strlen(SCHEME)) != 0 || uri[strlen(SCHEME)] == '\0') {
        snprintf(err, errlen, "use changelog:PATH");
        return PGCDC_ERR_INVALID;
    }
    return PGCDC_OK;
}

/* The values pgcdc_config_set() took for a boolean are kept as written. */
static int is_true(const char *v)
{
    return v != NULL && (strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0 ||
                         strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0);
}

static int changelog_open(pgcdc_sink *sink, const char *uri)
{
    const char *path = uri + strlen(SCHEME);
    changelog *cl = calloc(1, sizeof(*cl));

    if (cl == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_sink_set_state(sink, cl);
    cl->commits = is_true(pgcdc_sink_property(sink, "commits"));
    cl->f = fopen(path, "a");
    if (cl->f == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_IO, "could not open \"%s\": %s", path,
                               strerror(errno));
    return PGCDC_OK;
}

static int changelog_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    changelog *cl = pgcdc_sink_state(sink);
    const pgcdc_change *c = pgcdc_sink_event_change(ev);
    const char *key;
    size_t klen;
    char lsn[32];

    switch (pgcdc_sink_event_kind(ev)) {
    case PGCDC_EVENT_CHANGE:
        if (pgcdc_sink_event_key(ev, &key, &klen) != PGCDC_OK)
            return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
        fprintf(cl->f, "%s %s.%s%s%.*s\n", pgcdc_op_name(pgcdc_change_op(c)),
                pgcdc_change_schema(c), pgcdc_change_table(c), klen > 0 ? " " : "", (int)klen, key);
        return PGCDC_HANDLED;
    case PGCDC_EVENT_COMMIT:
        if (cl->commits)
            fprintf(
                cl->f, "COMMIT %s\n",
                pgcdc_lsn_format(pgcdc_txn_commit_lsn(pgcdc_sink_event_txn(ev)), lsn, sizeof(lsn)));
        /* The transaction is acknowledged once its lines are on disk. */
        if (fflush(cl->f) != 0 || fsync(fileno(cl->f)) != 0)
            return pgcdc_sink_fail(sink, PGCDC_ERR_IO, "could not write the changelog: %s",
                                   strerror(errno));
        return PGCDC_HANDLED;
    default:
        return PGCDC_HANDLED;
    }
}

static void changelog_close(pgcdc_sink *sink)
{
    changelog *cl = pgcdc_sink_state(sink);

    if (cl == NULL)
        return;
    if (cl->f != NULL)
        fclose(cl->f);
    free(cl);
}

const pgcdc_sink_ops changelog_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "changelog",
    .open = changelog_open,
    .write = changelog_write,
    .close = changelog_close,
    .properties = changelog_properties,
    .nproperties = 1,
    .check_uri = check_uri,
};
