/*
 * The SQL side: preflight checks (wal_level, privileges, tables, replica
 * identity, publication, slot), then creation of what is missing, all or
 * nothing.  Every identifier goes through parameters or PQescapeIdentifier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "pg/catalog.h"
#include "pg/conn.h"
#include "pg/ha.h"
#include "pg/slot.h"
#include "pg/snapshot.h"
#include "pgcdc.h"

void pgcdc__catalog_clear(pgcdc__catalog *cat)
{
    pgcdc__tableset_clear(&cat->ts);
    free(cat->database);
    free(cat->encoding);
    if (cat->export_conn != NULL)
        PQfinish(cat->export_conn);
    memset(cat, 0, sizeof(*cat));
}

static int check_server(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__catalog_opts *o,
                        pgcdc__catalog *cat)
{
    PGresult *res =
        pgcdc__query(ctx, conn, "read server settings",
                     "SELECT current_setting('wal_level'), "
                     "current_setting('server_version_num')::int, current_user, "
                     "(SELECT rolreplication OR rolsuper FROM pg_roles "
                     "WHERE rolname = current_user), "
                     "current_setting('server_encoding'), current_database(), "
                     "(SELECT setting::int FROM pg_settings WHERE name = 'wal_sender_timeout'), "
                     "pg_is_in_recovery(), current_setting('hot_standby_feedback')",
                     0, NULL, NULL);
    int r = PGCDC_OK;

    if (res == NULL)
        return PGCDC_ERR_SQL;
    cat->server_version = atoi(PQgetvalue(res, 0, 1));
    cat->wal_sender_timeout_ms = atoi(PQgetvalue(res, 0, 6));
    cat->in_recovery = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
    cat->standby_feedback = strcmp(PQgetvalue(res, 0, 8), "on") == 0;
    cat->encoding = strdup(PQgetvalue(res, 0, 4));
    cat->database = strdup(PQgetvalue(res, 0, 5));
    if (cat->encoding == NULL || cat->database == NULL) {
        r = pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
    } else if (strcmp(PQgetvalue(res, 0, 0), "logical") != 0) {
        r = pgcdc__fail(ctx, PGCDC_ERR_WAL_LEVEL,
                        "wal_level is \"%s\" but logical replication needs \"logical\" (set "
                        "wal_level = logical in postgresql.conf and restart the server)",
                        PQgetvalue(res, 0, 0));
    } else if (cat->server_version < 100000) {
        r = pgcdc__fail(ctx, PGCDC_ERR_CONNECT,
                        "server version %d is too old (pgoutput needs PostgreSQL 10 or later)",
                        cat->server_version);
    } else if (o != NULL && cat->server_version < o->need_version) {
        r = pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                        "%s needs PostgreSQL %d or later; this server is %d.%d (%s)", o->need_what,
                        o->need_version / 10000, cat->server_version / 10000,
                        cat->server_version % 10000, o->need_fix);
    } else if (strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
        r = pgcdc__fail(ctx, PGCDC_ERR_PRIVILEGE,
                        "role \"%s\" lacks the REPLICATION attribute (grant it: ALTER ROLE %s "
                        "REPLICATION)",
                        PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return r;
}

static int load_primary_key(pgcdc__ctx *ctx, PGconn *conn, pgcdc__table_info *t, const char *oid)
{
    const char *params[1] = {oid};
    PGresult *res = pgcdc__query(ctx, conn, "read primary key",
                                 "SELECT a.attname FROM pg_index i "
                                 "JOIN pg_attribute a ON a.attrelid = i.indrelid "
                                 "AND a.attnum = ANY (i.indkey::int2[]) "
                                 "WHERE i.indrelid = $1::oid AND i.indisprimary "
                                 "ORDER BY array_position(i.indkey::int2[], a.attnum)",
                                 1, params, NULL);

    if (res == NULL)
        return PGCDC_ERR_SQL;
    t->pk = calloc((size_t)PQntuples(res) + 1, sizeof(*t->pk));
    if (t->pk == NULL)
        goto oom;
    for (int i = 0; i < PQntuples(res); i++) {
        t->pk[i] = strdup(PQgetvalue(res, i, 0));
        if (t->pk[i] == NULL)
            goto oom;
        t->npk++;
    }
    PQclear(res);
    return PGCDC_OK;
oom:
    PQclear(res);
    return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
}

static int load_columns(pgcdc__ctx *ctx, PGconn *conn, pgcdc__table_info *t, const char *oid)
{
    const char *params[1] = {oid};
    PGresult *res = pgcdc__query(ctx, conn, "read columns",
                                 "SELECT attname, format_type(atttypid, atttypmod), atttypid, "
                                 "coalesce((SELECT nullif(typbasetype, 0) FROM pg_type "
                                 "WHERE oid = atttypid AND typtype = 'd'), atttypid) "
                                 "FROM pg_attribute "
                                 "WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped "
                                 "ORDER BY attnum",
                                 1, params, NULL);
    int n;

    if (res == NULL)
        return PGCDC_ERR_SQL;
    n = PQntuples(res);
    t->col_names = calloc((size_t)n + 1, sizeof(*t->col_names));
    t->col_types = calloc((size_t)n + 1, sizeof(*t->col_types));
    t->col_oids = calloc((size_t)n + 1, sizeof(*t->col_oids));
    t->col_base_oids = calloc((size_t)n + 1, sizeof(*t->col_base_oids));
    if (t->col_names == NULL || t->col_types == NULL || t->col_oids == NULL ||
        t->col_base_oids == NULL)
        goto oom;
    for (int i = 0; i < n; i++) {
        t->col_names[i] = strdup(PQgetvalue(res, i, 0));
        t->col_types[i] = strdup(PQgetvalue(res, i, 1));
        t->col_oids[i] = (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
        t->col_base_oids[i] = (uint32_t)strtoul(PQgetvalue(res, i, 3), NULL, 10);
        t->ncols++;
        if (t->col_names[i] == NULL || t->col_types[i] == NULL)
            goto oom;
    }
    PQclear(res);
    return PGCDC_OK;
oom:
    PQclear(res);
    return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
}

/*
 * The partition tree below a listed partitioned table, as it is now (one
 * attached later is found while streaming).
 */
static int load_partitions(pgcdc__ctx *ctx, PGconn *conn, pgcdc__tableset *ts, int root,
                           const char *oid)
{
    const char *params[1] = {oid};
    PGresult *res = pgcdc__query(
        ctx, conn, "read partitions",
        "SELECT p.relid::oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
        "p.isleaf AND NOT (c.relreplident = 'f' OR (c.relreplident IN ('d', 'i') AND "
        "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND "
        "CASE c.relreplident WHEN 'd' THEN i.indisprimary ELSE i.indisreplident END))) "
        "FROM pg_partition_tree($1::oid) p JOIN pg_class c ON c.oid = p.relid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE p.relid <> $1::oid ORDER BY p.level, c.relname",
        1, params, NULL);

    if (res == NULL)
        return PGCDC_ERR_SQL;
    for (int i = 0; i < PQntuples(res); i++) {
        pgcdc__table_part *part = pgcdc__tableset_add_part(
            ts, (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10), root, PQgetvalue(res, i, 1));

        if (part == NULL) {
            PQclear(res);
            return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
        }
        part->no_identity = strcmp(PQgetvalue(res, i, 2), "t") == 0;
    }
    PQclear(res);
    return PGCDC_OK;
}

#define TABLE_SQL                                                                                  \
    "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relreplident, "                              \
    "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident), "            \
    "quote_ident(n.nspname) || '.' || quote_ident(c.relname) "                                     \
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "

/*
 * A pattern matches tables and partitioned tables (not partitions: they come
 * with their partitioned table) of the schemas it names, or without a
 * schema those of the search path; never the system's.
 */
#define PATTERN_SQL                                                                                \
    TABLE_SQL "c.relname LIKE $2 AND (n.nspname LIKE $1 OR ($1 = '' AND "                          \
              "n.nspname = ANY (current_schemas(false)))) AND c.relkind IN ('r', 'p') "            \
              "AND NOT c.relispartition AND n.nspname <> 'information_schema' "                    \
              "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY n.nspname, c.relname"

/* Room for one more table (and a zeroed one past it). */
static int grow_tables(pgcdc__ctx *ctx, pgcdc__catalog *cat, int *cap)
{
    pgcdc__table_info *grown;

    if (cat->ts.ntables + 1 < *cap)
        return PGCDC_OK;
    grown = realloc(cat->ts.tables, (size_t)(*cap * 2) * sizeof(*grown));
    if (grown == NULL)
        return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
    memset(grown + *cap, 0, (size_t)*cap * sizeof(*grown));
    cat->ts.tables = grown;
    *cap *= 2;
    return PGCDC_OK;
}

/* Row i of a TABLE_SQL result as the next table (skipped when excluded or already there). */
static int add_table(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__catalog_opts *cfg,
                     pgcdc__catalog *cat, PGresult *res, int i)
{
    pgcdc__table_info *t = &cat->ts.tables[cat->ts.ntables];
    uint32_t oid = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
    int r;

    for (int k = 0; k < cfg->nexcludes; k++) {
        if (pgcdc__table_name_match(&cfg->excludes[k], PQgetvalue(res, i, 1),
                                    PQgetvalue(res, i, 2)))
            return PGCDC_OK;
    }
    for (int k = 0; k < cat->ts.ntables; k++) {
        if (cat->ts.tables[k].oid == oid)
            return PGCDC_OK;
    }
    t->oid = oid;
    t->schema = strdup(PQgetvalue(res, i, 1));
    t->name = strdup(PQgetvalue(res, i, 2));
    t->quoted = strdup(PQgetvalue(res, i, 6));
    t->replident = PQgetvalue(res, i, 4)[0];
    /* Before 13 a partitioned table cannot be published: nothing of it comes. */
    t->partitioned = PQgetvalue(res, i, 3)[0] == 'p' && cat->server_version >= 130000;
    /* USING INDEX whose index is gone behaves like NOTHING. */
    if (t->replident == 'i' && strcmp(PQgetvalue(res, i, 5), "t") != 0)
        t->replident = 'n';
    cat->ts.ntables++;
    if (t->schema == NULL || t->name == NULL || t->quoted == NULL)
        return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
    r = load_primary_key(ctx, conn, t, PQgetvalue(res, i, 0));
    if (r == PGCDC_OK)
        r = load_columns(ctx, conn, t, PQgetvalue(res, i, 0));
    if (r == PGCDC_OK && t->partitioned)
        r = load_partitions(ctx, conn, &cat->ts, cat->ts.ntables - 1, PQgetvalue(res, i, 0));
    return r;
}

/* Every table of a pattern (at least one). */
static int resolve_pattern(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__catalog_opts *cfg,
                           pgcdc__catalog *cat, const pgcdc__table_name *tn, int *cap)
{
    char *schema = malloc(2 * (tn->schema ? strlen(tn->schema) : 0) + 1);
    char *name = malloc(2 * strlen(tn->name) + 1);
    const char *params[2] = {schema, name};
    PGresult *res = NULL;
    int r = PGCDC_OK;

    if (schema == NULL || name == NULL) {
        r = pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    pgcdc__like_pattern(tn->schema ? tn->schema : "", tn->glob & 1, schema);
    pgcdc__like_pattern(tn->name, (tn->glob & 2) != 0, name);
    res = pgcdc__query(ctx, conn, "look up tables", PATTERN_SQL, 2, params, NULL);
    if (res == NULL) {
        r = PGCDC_ERR_SQL;
        goto done;
    }
    if (PQntuples(res) == 0)
        r = pgcdc__fail(ctx, PGCDC_ERR_TABLE,
                        "table pattern \"%s%s%s\" matches no table (check the pattern%s, or "
                        "create the table first)",
                        tn->schema ? tn->schema : "", tn->schema ? "." : "", tn->name,
                        tn->schema ? "" : " and the search path");
    for (int i = 0; r == PGCDC_OK && i < PQntuples(res); i++) {
        r = grow_tables(ctx, cat, cap);
        if (r == PGCDC_OK)
            r = add_table(ctx, conn, cfg, cat, res, i);
    }
done:
    PQclear(res);
    free(schema);
    free(name);
    return r;
}

/* Resolves each configured table and pattern, less the excluded; fills cat->ts.tables. */
static int resolve_tables(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__catalog_opts *cfg,
                          pgcdc__catalog *cat)
{
    int cap = cfg->ntables + 2;

    cat->ts.tables = calloc((size_t)cap, sizeof(*cat->ts.tables));
    if (cat->ts.tables == NULL)
        return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < cfg->ntables; i++) {
        const pgcdc__table_name *tn = &cfg->tables[i];
        const char *params[2] = {tn->schema ? tn->schema : "", tn->name};
        PGresult *res;
        int r;

        r = grow_tables(ctx, cat, &cap);
        if (r == PGCDC_OK && tn->glob)
            r = resolve_pattern(ctx, conn, cfg, cat, tn, &cap);
        if (r != PGCDC_OK)
            return r;
        if (tn->glob)
            continue;
        res = pgcdc__query(ctx, conn, "look up table",
                           TABLE_SQL "c.relname = $2 AND (n.nspname = $1 OR ($1 = '' AND "
                                     "n.nspname = ANY (current_schemas(false)))) "
                                     "ORDER BY array_position(current_schemas(false), "
                                     "n.nspname) LIMIT 1",
                           2, params, NULL);
        if (res == NULL)
            return PGCDC_ERR_SQL;
        if (PQntuples(res) == 0) {
            PQclear(res);
            return pgcdc__fail(ctx, PGCDC_ERR_TABLE,
                               "table \"%s%s%s\" does not exist (check the table list, or "
                               "create the table first)",
                               tn->schema ? tn->schema : "", tn->schema ? "." : "", tn->name);
        }
        if (strcmp(PQgetvalue(res, 0, 3), "r") != 0 && strcmp(PQgetvalue(res, 0, 3), "p") != 0) {
            r = pgcdc__fail(ctx, PGCDC_ERR_TABLE,
                            "\"%s.%s\" is not a table (only tables can be published)",
                            PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
            PQclear(res);
            return r;
        }
        r = add_table(ctx, conn, cfg, cat, res, 0);
        PQclear(res);
        if (r != PGCDC_OK)
            return r;
    }
    if (cfg->ntables > 0 && cat->ts.ntables == 0)
        return pgcdc__fail(ctx, PGCDC_ERR_TABLE,
                           "exclude_table leaves none of the listed tables to stream (list more "
                           "tables, or exclude fewer)");
    return PGCDC_OK;
}

/* Adds a table to the list of those without replica identity (as much as fits). */
static void note_no_identity(char *list, size_t size, size_t *used, int *bad, const char *quoted)
{
    (*bad)++;
    if (*used < size - 1)
        *used += (size_t)snprintf(list + *used, size - *used, "%s%s", *bad > 1 ? ", " : "", quoted);
    if (*used >= size)
        *used = size - 1;
}

/*
 * Tables whose UPDATE and DELETE would fail on the server once published:
 * the listed ones, and the leaf partitions of a listed partitioned table
 * (the server checks the partition the row is in).
 */
static int check_replica_identity(pgcdc__ctx *ctx, const pgcdc__catalog_opts *cfg,
                                  pgcdc__catalog *cat)
{
    char list[512] = "";
    const char *first = NULL;
    size_t used = 0;
    int bad = 0;

    for (int i = 0; i < cat->ts.ntables; i++) {
        const pgcdc__table_info *t = &cat->ts.tables[i];

        if (t->replident == 'f' || t->replident == 'i' || (t->replident == 'd' && t->npk > 0))
            continue;
        if (first == NULL)
            first = t->quoted;
        note_no_identity(list, sizeof(list), &used, &bad, t->quoted);
    }
    for (int i = 0; i < cat->ts.nparts; i++) {
        if (!cat->ts.parts[i].no_identity)
            continue;
        if (first == NULL)
            first = cat->ts.parts[i].quoted;
        note_no_identity(list, sizeof(list), &used, &bad, cat->ts.parts[i].quoted);
    }
    if (bad == 0)
        return PGCDC_OK;
    if (cfg->replica_identity_full) {
        pgcdc__log(ctx, PGCDC_LOG_INFO,
                   "no primary key or replica identity on %s: setting "
                   "REPLICA IDENTITY FULL",
                   list);
        return PGCDC_OK;
    }
    return pgcdc__fail(ctx, PGCDC_ERR_TABLE,
                       "no primary key or replica identity on %s: once published, its UPDATE "
                       "and DELETE would fail on the server (add a primary key, or ALTER TABLE "
                       "%s REPLICA IDENTITY FULL, which also sends whole old rows; pgcdc does "
                       "this for the listed tables and their partitions with the "
                       "replica-identity-full option)",
                       list, first);
}

/* Quotes schema.name into a malloc'd string; NULL on out of memory. */
static char *quote_table(PGconn *conn, const pgcdc__table_info *t)
{
    char *s = PQescapeIdentifier(conn, t->schema, strlen(t->schema));
    char *n = PQescapeIdentifier(conn, t->name, strlen(t->name));
    char *out = NULL;

    if (s != NULL && n != NULL) {
        out = malloc(strlen(s) + strlen(n) + 2);
        if (out != NULL)
            sprintf(out, "%s.%s", s, n);
    }
    PQfreemem(s);
    PQfreemem(n);
    return out;
}

/* Table list "a"."b", "c"."d" for DDL; NULL on out of memory. */
static char *quoted_table_list(PGconn *conn, const pgcdc__catalog *cat)
{
    pgcdc__buf b;

    pgcdc__buf_init(&b);
    for (int i = 0; i < cat->ts.ntables; i++) {
        char *q = quote_table(conn, &cat->ts.tables[i]);

        if (q == NULL) {
            pgcdc__buf_free(&b);
            return NULL;
        }
        if (i > 0)
            pgcdc__buf_lit(&b, ", ");
        pgcdc__buf_lit(&b, q);
        free(q);
    }
    return pgcdc__buf_take(&b);
}

/* Sets *exists to whether the publication exists: PGCDC_OK or PGCDC_ERR_SQL. */
static int check_publication_exists(pgcdc__ctx *ctx, PGconn *conn, const char *publication,
                                    int *exists)
{
    const char *params[1] = {publication};
    PGresult *res =
        pgcdc__query(ctx, conn, "read publication",
                     "SELECT 1 FROM pg_publication WHERE pubname = $1", 1, params, NULL);

    if (res == NULL)
        return PGCDC_ERR_SQL;
    *exists = PQntuples(res) > 0;
    PQclear(res);
    return PGCDC_OK;
}

/*
 * Whether the publication carries the changes of table $2 (an OID): it is
 * listed in pg_publication_tables; or it is partitioned and either every one
 * of its leaf partitions is listed there, or, without publish_via_partition_root,
 * it or an ancestor is in the publication (by name, or from PostgreSQL 15 by
 * schema: by_schema) - then the server sends each partition's changes under
 * the partition's name, and pg_publication_tables lists the partitions
 * instead of it.
 */
#define PUBLISHED_SQL(by_schema)                                                                   \
    "WITH pub AS (SELECT c.oid FROM pg_publication_tables pt "                                     \
    "JOIN pg_namespace n ON n.nspname = pt.schemaname "                                            \
    "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename "                      \
    "WHERE pt.pubname = $1), "                                                                     \
    "leaves AS (SELECT relid FROM pg_partition_tree($2::oid) WHERE isleaf AND relid <> $2::oid), " \
    "up AS (SELECT relid FROM pg_partition_ancestors($2::oid)) "                                   \
    "SELECT $2::oid IN (SELECT oid FROM pub) "                                                     \
    "OR (EXISTS (SELECT 1 FROM leaves) "                                                           \
    "AND NOT EXISTS (SELECT 1 FROM leaves WHERE relid NOT IN (SELECT oid FROM pub))) "             \
    "OR (NOT p.pubviaroot AND (EXISTS (SELECT 1 FROM pg_publication_rel r "                        \
    "WHERE r.prpubid = p.oid AND r.prrelid IN (SELECT relid FROM up))" by_schema ")) "             \
    "FROM pg_publication p WHERE p.pubname = $1"
#define PUBLISHED_BY_SCHEMA                                                                        \
    " OR EXISTS (SELECT 1 FROM pg_publication_namespace s "                                        \
    "JOIN pg_class c ON c.relnamespace = s.pnnspid "                                               \
    "WHERE s.pnpubid = p.oid AND c.oid IN (SELECT relid FROM up))"

/* 1 if the publication exists (and checks its tables), 0 if missing, <0 on error. */
static int check_publication(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__catalog_opts *cfg,
                             const pgcdc__catalog *cat)
{
    const char *params[3] = {cfg->publication, NULL, NULL};
    PGresult *res =
        pgcdc__query(ctx, conn, "read publication",
                     "SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate "
                     "FROM pg_publication WHERE pubname = $1",
                     1, params, NULL);
    int ops = cfg->filters != NULL ? cfg->filters->ops : PGCDC__FOP_ALL;
    int all;

    if (res == NULL)
        return PGCDC_ERR_SQL;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    all = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    /* Only an operation filter.ops asks for is missed. */
    if ((strcmp(PQgetvalue(res, 0, 1), "t") != 0 && (ops & PGCDC__FOP_INSERT)) ||
        (strcmp(PQgetvalue(res, 0, 2), "t") != 0 && (ops & PGCDC__FOP_UPDATE)) ||
        (strcmp(PQgetvalue(res, 0, 3), "t") != 0 && (ops & PGCDC__FOP_DELETE)))
        pgcdc__log(ctx, PGCDC_LOG_WARNING,
                   "publication \"%s\" does not publish every operation (insert %s, update %s, "
                   "delete %s): the others will not be seen",
                   cfg->publication, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                   PQgetvalue(res, 0, 3));
    PQclear(res);
    if (all && cat->ts.ntables > 0)
        pgcdc__log(ctx, PGCDC_LOG_WARNING,
                   "publication \"%s\" publishes all tables but only the %d listed are streamed: "
                   "the server sends the others' changes too and pgcdc skips them (list no "
                   "table to stream them all, or use a publication FOR TABLE the listed ones)",
                   cfg->publication, cat->ts.ntables);
    if (all)
        return 1;
    for (int i = 0; i < cat->ts.ntables; i++) {
        const pgcdc__table_info *t = &cat->ts.tables[i];
        char oid[16];
        int found;

        params[1] = t->schema;
        params[2] = t->name;
        snprintf(oid, sizeof(oid), "%u", (unsigned)t->oid);
        if (cat->server_version >= 130000) {
            params[1] = oid;
            res = pgcdc__query(ctx, conn, "read publication tables",
                               cat->server_version >= 150000 ? PUBLISHED_SQL(PUBLISHED_BY_SCHEMA)
                                                             : PUBLISHED_SQL(""),
                               2, params, NULL);
        } else {
            res = pgcdc__query(ctx, conn, "read publication tables",
                               "SELECT 1 FROM pg_publication_tables WHERE pubname = $1 "
                               "AND schemaname = $2 AND tablename = $3",
                               3, params, NULL);
        }
        if (res == NULL)
            return PGCDC_ERR_SQL;
        found = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "f") != 0;
        PQclear(res);
        if (!found)
            return pgcdc__fail(ctx, PGCDC_ERR_PUBLICATION,
                               "publication \"%s\" does not include table %s (add it as the "
                               "table's owner: ALTER PUBLICATION %s ADD TABLE %s)",
                               cfg->publication, t->quoted, cfg->publication, t->quoted);
    }
    return 1;
}

/* ALTER TABLE ... REPLICA IDENTITY FULL and CREATE PUBLICATION, in one transaction. */
static int create_objects(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__catalog_opts *cfg,
                          pgcdc__catalog *cat, int create_pub)
{
    char sql[1024];
    char state[6] = "";
    char *list = NULL;
    int r = PGCDC_ERR_SQL;

    if (pgcdc__exec(ctx, conn, "begin", "BEGIN", NULL) != PGCDC_OK)
        return PGCDC_ERR_SQL;
    for (int i = 0; cfg->replica_identity_full && i < cat->ts.ntables; i++) {
        char *q = quote_table(conn, &cat->ts.tables[i]);

        if (q == NULL)
            goto oom;
        snprintf(sql, sizeof(sql), "ALTER TABLE %s REPLICA IDENTITY FULL", q);
        free(q);
        if (pgcdc__exec(ctx, conn, "set REPLICA IDENTITY FULL", sql, state) != PGCDC_OK)
            goto refused;
    }
    /* The partitions too: the server takes old rows from the one a row is in. */
    for (int i = 0; cfg->replica_identity_full && i < cat->ts.nparts; i++) {
        if (cat->ts.parts[i].quoted == NULL)
            continue;
        snprintf(sql, sizeof(sql), "ALTER TABLE %s REPLICA IDENTITY FULL", cat->ts.parts[i].quoted);
        if (pgcdc__exec(ctx, conn, "set REPLICA IDENTITY FULL", sql, state) != PGCDC_OK)
            goto refused;
    }
    if (create_pub) {
        pgcdc__buf b;

        list = quoted_table_list(conn, cat);
        if (list == NULL)
            goto oom;
        pgcdc__buf_init(&b);
        if (pgcdc__publication_sql(ctx, conn, cfg, cat, &b) != PGCDC_OK) {
            pgcdc__buf_free(&b);
            goto oom;
        }
        r = pgcdc__exec(ctx, conn, "create publication", (const char *)b.data, state);
        pgcdc__buf_free(&b);
        if (r != PGCDC_OK)
            goto refused;
    }
    r = pgcdc__exec(ctx, conn, "commit", "COMMIT", NULL);
    free(list);
    return r;
oom:
    r = pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
    goto rollback;
refused:
    /* Keep the server's reason and say who can do it. */
    r = pgcdc__append(ctx,
                      strcmp(state, PGCDC__SQLSTATE_INSUFFICIENT_PRIVILEGE) == 0
                          ? PGCDC_ERR_PRIVILEGE
                          : PGCDC_ERR_SQL,
                      " (run pgcdc as the tables' owner, or have the owner run: CREATE "
                      "PUBLICATION %s FOR TABLE %s; then start again)",
                      cfg->publication, list ? list : "...");
rollback:
    free(list);
    pgcdc__exec(NULL, conn, "roll back", "ROLLBACK", NULL);
    return r;
}

int pgcdc__catalog_prepare(pgcdc__ctx *ctx, const pgcdc__catalog_opts *cfg, pgcdc__catalog *cat)
{
    PGconn *conn;
    int r;
    int pub_exists;
    int slot_exists;
    pgcdc__slot_info slot;

    if (cfg->slot == NULL || cfg->publication == NULL)
        return pgcdc__fail(ctx, PGCDC_ERR_INVALID, "a slot name and a publication name are needed");
    conn = pgcdc__connect(ctx, cfg->conninfo, 0, NULL, &r);
    if (conn == NULL)
        return r;
    r = check_server(ctx, conn, cfg, cat);
    if (r == PGCDC_OK)
        r = resolve_tables(ctx, conn, cfg, cat);
    if (r == PGCDC_OK)
        r = check_replica_identity(ctx, cfg, cat);
    if (r == PGCDC_OK && cfg->filters != NULL) {
        char msg[PGCDC__MSG_SIZE];

        if (pgcdc__filterset_check(cfg->filters, &cat->ts, msg, sizeof(msg)) != 0)
            r = pgcdc__fail(ctx, PGCDC_ERR_INVALID, "%s", msg);
    }
    if (r != PGCDC_OK)
        goto done;
    pub_exists = check_publication(ctx, conn, cfg, cat);
    if (pub_exists < 0) {
        r = pub_exists;
        goto done;
    }
    if (!pub_exists && (!cfg->create_publication || cat->ts.ntables == 0)) {
        r = pgcdc__fail(
            ctx, PGCDC_ERR_PUBLICATION, "publication \"%s\" does not exist (%s)", cfg->publication,
            cat->ts.ntables == 0 ? "list the tables to create it, or create it: CREATE "
                                   "PUBLICATION ... FOR TABLE ..."
                                 : "allow pgcdc to create it, or create it as the "
                                   "tables' owner: CREATE PUBLICATION ... FOR TABLE ...");
        goto done;
    }
    slot_exists = pgcdc__slot_read(ctx, conn, cfg->slot, &slot);
    if (slot_exists < 0) {
        r = slot_exists;
        goto done;
    }
    cat->slot_lsn = slot.confirmed_lsn;
    cat->slot_active_pid = slot.active_pid;
    if (slot_exists && cfg->two_phase && cat->server_version >= 150000)
        cat->late_prepared = pgcdc__slot_late_prepared(conn, cfg->slot);
    if (!slot_exists && !cfg->create_slot) {
        r = pgcdc__fail(ctx, PGCDC_ERR_SLOT_MISSING,
                        "replication slot \"%s\" does not exist (allow pgcdc to create it, or "
                        "create it: SELECT pg_create_logical_replication_slot('%s', 'pgoutput'))",
                        cfg->slot, cfg->slot);
        goto done;
    }
    r = pgcdc__ha_check(ctx, cfg, cat, pub_exists, slot_exists, &slot);
    if (r != PGCDC_OK)
        goto done;
    if (!slot_exists) {
        r = pgcdc__slot_capacity(ctx, conn);
        if (r != PGCDC_OK)
            goto done;
    }
    /* Every check passed: create what is missing.  The publication comes first,
     * because decoding WAL written before it existed fails. */
    if (!pub_exists || cfg->replica_identity_full) {
        r = create_objects(ctx, conn, cfg, cat, !pub_exists);
        if (r != PGCDC_OK)
            goto done;
        if (!pub_exists)
            pgcdc__log(ctx, PGCDC_LOG_INFO, "created publication \"%s\"", cfg->publication);
    }
    if (!slot_exists) {
        if (cfg->export_snapshot)
            r = pgcdc__snap_export(ctx, cfg->conninfo, cfg->slot, cat->create_failover,
                                   &cat->slot_lsn, cat->snapshot_name, &cat->export_conn);
        else
            r = pgcdc__slot_create(ctx, conn, cfg->slot, cat->create_failover, &cat->slot_lsn);
        /* Interrupted just as the server finished: what this start made goes again. */
        if (r == PGCDC_OK && pgcdc__ctx_stopping(ctx)) {
            if (cat->export_conn != NULL)
                PQfinish(cat->export_conn);
            cat->export_conn = NULL;
            pgcdc__slot_drop(NULL, conn, cfg->slot);
            r = pgcdc__interrupted(ctx, PGCDC_ERR_STOPPED, "create replication slot");
        }
        cat->slot_created = r == PGCDC_OK;
        if (r != PGCDC_OK && !pub_exists) {
            char drop[128];

            /* All or nothing: the cleanup's own failure is not reported over the cause. */
            snprintf(drop, sizeof(drop), "DROP PUBLICATION IF EXISTS %s", cfg->publication);
            pgcdc__exec(NULL, conn, "drop publication", drop, NULL);
        }
    }
done:
    PQfinish(conn);
    return r;
}

int pgcdc__catalog_drop(pgcdc__ctx *ctx, const pgcdc__catalog_opts *cfg, int slot, int publication)
{
    char sql[128];
    PGconn *conn;
    int r = PGCDC_OK;
    int exists = 1;

    if ((slot && cfg->slot == NULL) || (publication && cfg->publication == NULL))
        return pgcdc__fail(ctx, PGCDC_ERR_INVALID, "no %s name given",
                           slot ? "slot" : "publication");
    conn = pgcdc__connect(ctx, cfg->conninfo, 0, NULL, &r);
    if (conn == NULL)
        return r;
    if (slot)
        r = pgcdc__slot_drop(ctx, conn, cfg->slot);
    /* The publication goes too when the slot was already gone. */
    if (publication && (r == PGCDC_OK || r == PGCDC_ERR_SLOT_MISSING)) {
        int rs = r;
        char msg[PGCDC__MSG_SIZE];

        snprintf(msg, sizeof(msg), "%s", pgcdc__errmsg(ctx));
        r = check_publication_exists(ctx, conn, cfg->publication, &exists);
        if (r == PGCDC_OK && exists) {
            /* Publication names are validated to [a-z0-9_], so they need no quoting. */
            snprintf(sql, sizeof(sql), "DROP PUBLICATION %s", cfg->publication);
            r = pgcdc__exec(ctx, conn, "drop publication", sql, NULL);
            if (r == PGCDC_OK)
                pgcdc__log(ctx, PGCDC_LOG_INFO, "dropped publication \"%s\"", cfg->publication);
        } else if (r == PGCDC_OK) {
            r = pgcdc__fail(ctx, PGCDC_ERR_PUBLICATION, "publication \"%s\" does not exist",
                            cfg->publication);
        }
        /* A slot already gone is reported over the publication, dropped or missing. */
        if (rs != PGCDC_OK && (r == PGCDC_OK || r == PGCDC_ERR_PUBLICATION))
            r = pgcdc__fail(ctx, rs, "%s", msg);
    }
    PQfinish(conn);
    return r;
}
