/*
 * The postgresql sink's audit rows: each change a line of COPY's text
 * format, its rows as JSON objects the way the native format writes them
 * (numbers as numbers, json embedded, unchanged TOAST values left out).
 */
#include <stdio.h>
#include <string.h>

#include "format/format.h"
#include "format/json.h"
#include "sink/pgsql.h"
#include "sink/pgsql_int.h"
#include "sink/sink.h"

const char *pgcdc__pgsql_op_name(int op)
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
    default:
        return "READ";
    }
}

/* COPY's text format: backslash, tab, newline and carriage return escaped. */
static void copy_text(pgcdc__buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];

        if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
            pgcdc__buf_u8(b, '\\');
            ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
        }
        pgcdc__buf_u8(b, (uint8_t)ch);
    }
}

/* A row as a JSON object, or \N for no row. */
static void copy_row(pgcdc__buf *out, pgcdc__buf *scratch, const pgcdc_row *row)
{
    if (row == NULL) {
        pgcdc__buf_lit(out, "\\N");
        return;
    }
    pgcdc__buf_reset(scratch);
    pgcdc__fmt_row(scratch, row, NULL);
    copy_text(out, (const char *)scratch->data, scratch->len);
}

void pgcdc__pgsql_audit_line(pgcdc__buf *out, pgcdc__buf *scratch, const pgcdc_change *c,
                             uint64_t seq)
{
    char num[48];

    pgcdc__buf_lit(out, pgcdc_lsn_format(pgcdc_change_commit_lsn(c), num, sizeof(num)));
    snprintf(num, sizeof(num), "\t%llu\t", (unsigned long long)seq);
    pgcdc__buf_lit(out, num);
    pgcdc__buf_lit(out, pgcdc__pgsql_op_name(pgcdc_change_op(c)));
    pgcdc__buf_u8(out, '\t');
    copy_text(out, pgcdc_change_schema(c), strlen(pgcdc_change_schema(c)));
    pgcdc__buf_u8(out, '\t');
    copy_text(out, pgcdc_change_table(c), strlen(pgcdc_change_table(c)));
    pgcdc__buf_u8(out, '\t');
    copy_row(out, scratch, pgcdc_change_old(c));
    pgcdc__buf_u8(out, '\t');
    copy_row(out, scratch, pgcdc_change_new(c));
    pgcdc__buf_u8(out, '\t');
    /* The commit time as ISO 8601 in UTC, without the JSON quotes. */
    pgcdc__buf_reset(scratch);
    pgcdc__json_utc_time(scratch, pgcdc_change_commit_time(c));
    pgcdc__buf_put(out, (const char *)scratch->data + 1, scratch->len - 2);
    snprintf(num, sizeof(num), "\t%lu\n", (unsigned long)pgcdc_change_xid(c));
    pgcdc__buf_lit(out, num);
}

/* audit: the batch's lines not in the target yet, with COPY.  PGCDC_OK, 1 (lost) or -1. */
int pgcdc__pgsql_copy_batch(pgcdc__pgsql *ps, char *why, size_t size)
{
    PGresult *res;
    int r = PGCDC_OK;

    pgcdc__buf_reset(&ps->scratch);
    pgcdc__buf_lit(&ps->scratch, "COPY ");
    pgcdc__buf_put(&ps->scratch, ps->target.data, ps->target.len);
    pgcdc__buf_lit(&ps->scratch, " (commit_lsn, seq, op, schema_name, table_name, old, new, "
                                 "commit_time, xid) FROM STDIN");
    res = PQexec(ps->conn, pgcdc__buf_cstr(&ps->scratch));
    if (PQresultStatus(res) != PGRES_COPY_IN)
        r = -1;
    PQclear(res);
    for (size_t i = 0; i < ps->nb && r == PGCDC_OK; i++) {
        const pitem *it = &ps->q[i];

        if (it->token != 0)
            continue;
        if (!pgcdc__pgsql_wanted(ps, it)) {
            ps->skipped++;
            continue;
        }
        if (PQputCopyData(ps->conn, (const char *)ps->data.data + it->start,
                          (int)(it->end - it->start)) != 1)
            r = -1;
    }
    if (r == PGCDC_OK && PQputCopyEnd(ps->conn, NULL) != 1)
        r = -1;
    if (r == PGCDC_OK) {
        res = PQgetResult(ps->conn);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            r = -1;
        PQclear(res);
        while ((res = PQgetResult(ps->conn)) != NULL)
            PQclear(res);
    }
    if (r != PGCDC_OK) {
        char msg[512];

        pgcdc__pgsql_conn_error(ps->conn, msg, sizeof(msg));
        snprintf(why, size, "could not write to audit table %.*s: %s", (int)ps->target.len,
                 (const char *)ps->target.data, msg);
    }
    return r != PGCDC_OK && PQstatus(ps->conn) == CONNECTION_BAD ? 1 : r;
}
