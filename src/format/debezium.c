/*
 * Debezium's change-event envelope (the payload, without a schema): before,
 * after, source, op and ts_ms, as Debezium's PostgreSQL connector writes it.
 */
#include <time.h>

#include "format/format.h"
#include "format/json.h"

/* What Debezium writes for a value it could not read (unchanged TOAST). */
#define DEBEZIUM_UNAVAILABLE "__debezium_unavailable_value"

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *debezium_op(pgcdc_op op)
{
    switch (op) {
    case PGCDC_OP_INSERT:
        return "c";
    case PGCDC_OP_UPDATE:
        return "u";
    case PGCDC_OP_DELETE:
        return "d";
    case PGCDC_OP_TRUNCATE:
        return "t";
    }
    return "?";
}

static void debezium_change(pgcdc_formatter *f, const pgcdc_change *c)
{
    pgcdc__buf *j = &f->out;
    const pgcdc__relation *rel = c->rel;

    pgcdc__buf_lit(j, "{\"before\":");
    pgcdc__fmt_row(j, pgcdc_change_old(c), DEBEZIUM_UNAVAILABLE);
    pgcdc__buf_lit(j, ",\"after\":");
    pgcdc__fmt_row(j, pgcdc_change_new(c), DEBEZIUM_UNAVAILABLE);
    pgcdc__buf_lit(j, ",\"source\":{\"version\":\"" PGCDC_VERSION_STRING
                      "\",\"connector\":\"postgresql\",\"name\":\"pgcdc\",\"ts_ms\":");
    pgcdc__json_i64(j, floor_div(c->txn->commit_time, 1000));
    pgcdc__buf_lit(j, ",\"snapshot\":\"false\",\"db\":");
    pgcdc__json_cstring(j, f->dbname);
    /* sequence is a string holding a JSON array: [last commit LSN, this LSN]. */
    pgcdc__buf_lit(j, ",\"sequence\":\"[null,\\\"");
    pgcdc__json_u64(j, c->txn->commit_lsn);
    pgcdc__buf_lit(j, "\\\"]\",\"schema\":");
    pgcdc__json_cstring(j, rel->schema);
    pgcdc__buf_lit(j, ",\"table\":");
    pgcdc__json_cstring(j, rel->name);
    pgcdc__buf_lit(j, ",\"txId\":");
    pgcdc__json_u64(j, c->txn->xid);
    pgcdc__buf_lit(j, ",\"lsn\":");
    pgcdc__json_u64(j, c->txn->commit_lsn);
    pgcdc__buf_lit(j, ",\"xmin\":null},\"op\":\"");
    pgcdc__buf_lit(j, debezium_op(c->op));
    pgcdc__buf_lit(j, "\",\"ts_ms\":");
    pgcdc__json_i64(j, now_ms());
    pgcdc__buf_lit(j, ",\"transaction\":null}\n");
}

const pgcdc__format_ops pgcdc__debezium_format = {
    .name = "debezium",
    .begin = pgcdc__fmt_no_line,
    .change = debezium_change,
    .commit = pgcdc__fmt_no_line,
};
