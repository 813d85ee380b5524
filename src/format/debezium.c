/*
 * Debezium's change events as its PostgreSQL connector writes them through
 * Kafka Connect's JSON converter: the envelope (before, after, source,
 * transaction, op, ts_ms...), the source block of each change, the
 * transaction block and BEGIN and END events when transaction metadata is
 * asked for, and the schema block when schemas are enabled; schema changes
 * as the value of Debezium's schema change topic.  Values are
 * debezium_values.c's, schemas debezium_schema.c's, the schema change's
 * table description debezium_ddl.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/num.h"
#include "format/debezium.h"
#include "format/format.h"
#include "format/json.h"

/* The connector's options, by its own names ('-' and '_' alike). */
enum { P_DECIMAL, P_BINARY, P_INTERVAL, P_HSTORE, P_TXN, P_SCHEMAS, P_PREFIX, NPROPS };

static const pgcdc_property debezium_properties[NPROPS] = {
    [P_DECIMAL] = {"decimal.handling.mode", PGCDC_PROP_ENUM, "precise", 0, 0,
                   "precise|string|double",
                   "numeric and money values: precise (Kafka Connect Decimal, base64 of the "
                   "unscaled value; VariableScaleDecimal without a declared scale), string or "
                   "double"},
    [P_BINARY] = {"binary.handling.mode", PGCDC_PROP_ENUM, "bytes", 0, 0,
                  "bytes|base64|base64_url_safe|hex",
                  "bytea values: bytes (base64 in JSON), base64, base64_url_safe or hex strings"},
    [P_INTERVAL] = {"interval.handling.mode", PGCDC_PROP_ENUM, "numeric", 0, 0, "numeric|string",
                    "interval values: numeric (microseconds, a month being 30.4375 days) or "
                    "string (ISO 8601, PnYnMnDTnHnMnS)"},
    [P_HSTORE] = {"hstore.handling.mode", PGCDC_PROP_ENUM, "json", 0, 0, "json|map",
                  "hstore values: json (the object's text in a string) or map (an object)"},
    [P_TXN] = {"provide.transaction.metadata", PGCDC_PROP_BOOL, "false", 0, 0, NULL,
               "a transaction block in each event, and BEGIN and END events around each "
               "transaction"},
    [P_SCHEMAS] = {"schemas.enable", PGCDC_PROP_BOOL, "false", 0, 0, NULL,
                   "each event as {\"schema\":...,\"payload\":...}, as Kafka Connect's JSON "
                   "converter writes it with schemas enabled"},
    [P_PREFIX] = {"topic.prefix", PGCDC_PROP_STRING, "pgcdc", 0, 0, NULL,
                  "the logical server name: source.name, and the first part of the schema "
                  "names"},
};

static const char *const choices[4][4] = {
    [P_DECIMAL] = {"precise", "string", "double", NULL},
    [P_BINARY] = {"bytes", "base64", "base64_url_safe", "hex"},
    [P_INTERVAL] = {"numeric", "string", NULL, NULL},
    [P_HSTORE] = {"json", "map", NULL, NULL},
};

/* ---- the formatter's state ---- */

/* What the relation blocks depend on: the modes (the prefix is compared as text). */
static uint32_t options_key(const pgcdc__dbz *x)
{
    return 1u + x->decimal + 4u * x->binary + 16u * x->interval + 32u * x->hstore +
           64u * x->schemas;
}

static void state_free(pgcdc_formatter *f)
{
    pgcdc__dbz *x = f->state;

    if (x == NULL)
        return;
    free(x->prefix);
    free(x->tables);
    free(x->limbs);
    pgcdc__buf_free(&x->head);
    pgcdc__buf_free(&x->names);
    pgcdc__buf_free(&x->bytes);
    pgcdc__buf_free(&x->text);
    pgcdc__buf_free(&x->elem);
    pgcdc__buf_free(&x->digits);
    free(x);
    f->state = NULL;
}

/* The state, made on first use; NULL when out of memory. */
static pgcdc__dbz *state_of(pgcdc_formatter *f)
{
    pgcdc__dbz *x = f->state;

    if (x != NULL)
        return x;
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    x->prefix = strdup("pgcdc");
    if (x->prefix == NULL) {
        free(x);
        return NULL;
    }
    pgcdc__buf_init(&x->head);
    pgcdc__buf_init(&x->names);
    pgcdc__buf_init(&x->bytes);
    pgcdc__buf_init(&x->text);
    pgcdc__buf_init(&x->elem);
    pgcdc__buf_init(&x->digits);
    x->last_seq = -1;
    x->key = options_key(x);
    f->state = x;
    return x;
}

/* One of the choices, any case, '-' and '_' alike: its index, or -1. */
static int choice_of(const char *const *list, const char *value)
{
    for (int i = 0; i < 4 && list[i] != NULL; i++) {
        const char *a = list[i];
        const char *b = value;

        while (*a != '\0' && *b != '\0') {
            char c = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b == '-' ? '_' : *b;

            if (c != *a)
                break;
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0')
            return i;
    }
    return -1;
}

static int debezium_set(pgcdc_formatter *f, const pgcdc_property *p, const char *value)
{
    pgcdc__dbz *x = state_of(f);
    int k = (int)(p - debezium_properties);
    int v = 0;
    char *copy;

    if (x == NULL)
        return PGCDC_ERR_NOMEM;
    if (k < 0 || k >= NPROPS)
        return PGCDC_ERR_INVALID;
    if (k <= P_HSTORE) {
        v = choice_of(choices[k], value);
        if (v < 0)
            return PGCDC_ERR_INVALID;
    } else if (k <= P_SCHEMAS && pgcdc__parse_flag(value, &v) != 0) {
        return PGCDC_ERR_INVALID;
    }
    switch (k) {
    case P_DECIMAL:
        x->decimal = (uint8_t)v;
        break;
    case P_BINARY:
        x->binary = (uint8_t)v;
        break;
    case P_INTERVAL:
        x->interval = (uint8_t)v;
        break;
    case P_HSTORE:
        x->hstore = (uint8_t)v;
        break;
    case P_TXN:
        x->tx_metadata = (uint8_t)v;
        break;
    case P_SCHEMAS:
        x->schemas = (uint8_t)v;
        break;
    default:
        if (value[0] == '\0')
            return PGCDC_ERR_INVALID;
        copy = strdup(value);
        if (copy == NULL)
            return PGCDC_ERR_NOMEM;
        free(x->prefix);
        x->prefix = copy;
        break;
    }
    x->key = options_key(x);
    x->txn_of = NULL; /* the source block names the prefix */
    return PGCDC_OK;
}

static int debezium_needs(const pgcdc_formatter *f)
{
    const pgcdc__dbz *x = f->state;

    /*
     * The key is the primary key's columns; with schemas, "optional" says
     * whether a column is NOT NULL.
     */
    return PGCDC__REL_PK | (x != NULL && x->schemas ? PGCDC__REL_NOT_NULL : 0);
}

/* ---- per relation ---- */

static const char *block_text(const pgcdc__dbz_rel *dr)
{
    return (const char *)&dr->cols[dr->ncols];
}

/* The relation's block for the current options, built when missing or made for others. */
static const pgcdc__dbz_rel *rel_of(pgcdc__dbz *x, const pgcdc__relation *rel)
{
    pgcdc__relation *mut = (pgcdc__relation *)rel;
    pgcdc__dbz_rel *dr = rel->fmt_extra;
    size_t head = offsetof(pgcdc__dbz_rel, cols) + (size_t)rel->ncols * sizeof(pgcdc__dbz_col);
    pgcdc__dbz_rel *grown;
    pgcdc__buf b;

    if (dr != NULL && dr->key == x->key &&
        strcmp(block_text(dr) + dr->name_off + dr->name_len + 1, x->prefix) == 0)
        return dr;
    free(dr);
    mut->fmt_extra = NULL;
    dr = malloc(head);
    if (dr == NULL)
        return NULL;
    dr->key = x->key;
    dr->ncols = (uint32_t)rel->ncols;
    for (int i = 0; i < rel->ncols; i++)
        pgcdc__dbz_classify(&rel->cols[i], &dr->cols[i]);
    pgcdc__buf_init(&b);
    /* Debezium's data collection: TableId's identifier, schema.table. */
    pgcdc__json_string_body(&b, rel->schema, strlen(rel->schema));
    pgcdc__buf_u8(&b, '.');
    pgcdc__json_string_body(&b, rel->name, strlen(rel->name));
    dr->name_off = 0;
    dr->name_len = (uint32_t)b.len;
    /* Then the prefix the block was made for, with its NUL. */
    pgcdc__buf_u8(&b, 0);
    pgcdc__buf_put(&b, x->prefix, strlen(x->prefix) + 1);
    dr->schema_off = (uint32_t)b.len;
    if (x->schemas)
        pgcdc__dbz_envelope_schema(x, &b, rel, dr->cols);
    dr->schema_len = (uint32_t)(b.len - dr->schema_off);
    if (b.oom || b.len >= UINT32_MAX) {
        pgcdc__buf_free(&b);
        free(dr);
        return NULL;
    }
    grown = realloc(dr, head + b.len);
    if (grown == NULL) {
        free(dr);
    } else {
        memcpy((char *)grown + head, b.data, b.len);
        mut->fmt_extra = grown;
    }
    pgcdc__buf_free(&b);
    return grown;
}

/* ---- per transaction ---- */

/* Forgets the counts of the transaction before, once another one shows. */
static void track_txn(pgcdc__dbz *x, const pgcdc_txn *txn)
{
    if (x->txn_known && x->txn_commit_lsn == txn->commit_lsn && x->txn_xid == txn->xid)
        return;
    x->txn_known = 1;
    x->txn_commit_lsn = txn->commit_lsn;
    x->txn_xid = txn->xid;
    x->ntables = 0;
    x->last_seq = -1;
    pgcdc__buf_reset(&x->names);
}

/*
 * The source block's fields that are the transaction's, formatted once:
 * ,"source":{..,"snapshot":"  then, from snap_off,
 * ","db":..,"sequence":"[\"<end LSN of the commit before>\",\"  then,
 * from mid_off, \"]","ts_us":..,"ts_ns":..,
 * The snapshot value goes between the first two parts and the change's LSN
 * between the last two: both are the change's own.
 */
static void cache_txn(pgcdc__dbz *x, const char *dbname, const pgcdc_txn *txn)
{
    pgcdc__buf *h = &x->head;

    track_txn(x, txn);
    if (x->txn_of == txn && x->txn_token == txn->token && txn->token != 0)
        return;
    pgcdc__buf_reset(h);
    pgcdc__buf_lit(h, ",\"source\":{\"version\":\"" PGCDC_VERSION_STRING
                      "\",\"connector\":\"postgresql\",\"name\":");
    pgcdc__json_cstring(h, x->prefix);
    pgcdc__buf_lit(h, ",\"ts_ms\":");
    pgcdc__json_i64(h, txn->commit_time / 1000 - (txn->commit_time % 1000 < 0));
    pgcdc__buf_lit(h, ",\"snapshot\":\"");
    x->snap_off = h->len;
    pgcdc__buf_lit(h, "\",\"db\":");
    pgcdc__json_cstring(h, dbname);
    /* A string holding a JSON array: [last commit's end LSN, this change's LSN]. */
    if (txn->prev_end_lsn != 0) {
        pgcdc__buf_lit(h, ",\"sequence\":\"[\\\"");
        pgcdc__json_u64(h, txn->prev_end_lsn);
        pgcdc__buf_lit(h, "\\\",\\\"");
    } else {
        pgcdc__buf_lit(h, ",\"sequence\":\"[null,\\\"");
    }
    x->mid_off = h->len;
    pgcdc__buf_lit(h, "\\\"]\",\"ts_us\":");
    pgcdc__json_i64(h, txn->commit_time);
    pgcdc__buf_lit(h, ",\"ts_ns\":");
    /* Wrapping past 2262 as Java's long arithmetic does, instead of overflowing. */
    pgcdc__json_i64(h, (int64_t)((uint64_t)txn->commit_time * 1000u));
    pgcdc__buf_u8(h, ',');
    x->txn_of = h->oom ? NULL : txn;
    x->txn_token = txn->token;
}

/*
 * The change's order among its table's changes in the transaction
 * (TransactionContext.event), counted as changes are formatted: the same
 * change formatted again keeps its number.
 */
static uint32_t table_order(pgcdc__dbz *x, const pgcdc_change *c, const pgcdc__dbz_rel *dr)
{
    pgcdc__dbz_table *t = NULL;

    if ((int64_t)c->seq == x->last_seq)
        return x->last_order;
    for (uint32_t i = x->ntables; i-- > 0;) {
        if (x->tables[i].relid == c->rel->relid) {
            t = &x->tables[i];
            break;
        }
    }
    if (t == NULL) {
        if (x->ntables == x->cap_tables) {
            uint32_t cap = x->cap_tables ? x->cap_tables * 2 : 8;
            pgcdc__dbz_table *grown = realloc(x->tables, cap * sizeof(*grown));

            if (grown == NULL)
                return 0;
            x->tables = grown;
            x->cap_tables = cap;
        }
        t = &x->tables[x->ntables++];
        t->relid = c->rel->relid;
        t->count = 0;
        t->name_off = (uint32_t)x->names.len;
        pgcdc__buf_put(&x->names, block_text(dr) + dr->name_off, dr->name_len);
        t->name_len = (uint32_t)(x->names.len - t->name_off);
    }
    x->last_seq = c->seq;
    x->last_order = ++t->count;
    return t->count;
}

/* ---- events ---- */

static const char *op_code(pgcdc_op op)
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
    case PGCDC_OP_READ:
        return "r";
    case PGCDC_OP_SCHEMA:
        break; /* not a change event: schema_event */
    }
    return "?";
}

/*
 * source.snapshot, the connector's SnapshotRecord: "false" in the stream;
 * in a snapshot "true", and "last" for the last row of an initial one;
 * "incremental" for every row of an incremental snapshot, which the
 * connector never marks last.
 */
static const char *snapshot_value(const pgcdc_change *c)
{
    switch (c->txn->snapshot) {
    case PGCDC_SNAPSHOT_INITIAL:
        return c->snapshot_last ? "last" : "true";
    case PGCDC_SNAPSHOT_INCREMENTAL:
        return "incremental";
    default:
        return "false";
    }
}

/*
 * source.lsn: the change's own LSN; a snapshot's row has none of its own
 * and, as in the connector, carries where the snapshot stands in the stream.
 */
static uint64_t event_lsn(const pgcdc_change *c)
{
    return c->op == PGCDC_OP_READ ? c->txn->commit_lsn : c->lsn;
}

/* A column's value: absent null, unchanged TOAST as Debezium's placeholder. */
static void put_value(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc_row *row, int i,
                      const pgcdc__dbz_col *dc)
{
    switch (pgcdc__row_state(row, i)) {
    case PGCDC_VALUE_PRESENT:
        pgcdc__dbz_column(x, j, row, i, dc);
        break;
    case PGCDC_VALUE_UNCHANGED:
        pgcdc__dbz_unavailable(x, j, dc);
        break;
    default:
        pgcdc__buf_put(j, "null", 4);
        break;
    }
}

/* A row as a struct: every column, absent ones null, unchanged TOAST as Debezium's placeholder. */
static void put_row(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc_row *row, const pgcdc__dbz_rel *dr,
                    const pgcdc__rel_text *rt)
{
    const pgcdc__relation *rel;

    if (row == NULL) {
        pgcdc__buf_put(j, "null", 4);
        return;
    }
    rel = row->rel;
    pgcdc__buf_u8(j, '{');
    for (int i = 0; i < rel->ncols; i++) {
        if (i > 0)
            pgcdc__buf_u8(j, ',');
        if (rt != NULL) {
            pgcdc__buf_put(j, pgcdc__rel_text_at(rt, rt->names[i].off), rt->names[i].len);
        } else {
            pgcdc__json_cstring(j, rel->cols[i].name);
            pgcdc__buf_u8(j, ':');
        }
        put_value(x, j, row, i, &dr->cols[i]);
    }
    pgcdc__buf_u8(j, '}');
}

/*
 * The source block, from its first field (lead 0) or from its "source" key
 * (lead 1: ,"source":{ without the comma) to its last field, unclosed.
 */
static void put_source(pgcdc__buf *j, const pgcdc__dbz *x, const pgcdc_change *c,
                       const pgcdc__rel_text *rt, const char *snapshot, size_t lead)
{
    const pgcdc_txn *txn = c->txn;
    uint64_t lsn = event_lsn(c);

    pgcdc__buf_put(j, x->head.data + lead, x->snap_off - lead);
    pgcdc__buf_lit(j, snapshot);
    pgcdc__buf_put(j, x->head.data + x->snap_off, x->mid_off - x->snap_off);
    pgcdc__json_u64(j, lsn);
    pgcdc__buf_put(j, x->head.data + x->mid_off, x->head.len - x->mid_off);
    pgcdc__fmt_rel_head(j, c->rel, rt);
    /* A snapshot is read outside any transaction of the stream (xid 0): no id. */
    pgcdc__buf_lit(j, ",\"txId\":");
    if (txn->snapshot != PGCDC_SNAPSHOT_NONE)
        pgcdc__buf_lit(j, "null");
    else
        pgcdc__json_u64(j, txn->xid);
    pgcdc__buf_lit(j, ",\"lsn\":");
    pgcdc__json_u64(j, lsn);
    pgcdc__buf_lit(j, ",\"xmin\":null,\"origin\":");
    pgcdc__json_cstring(j, txn->origin);
    pgcdc__buf_lit(j, ",\"origin_lsn\":");
    if (txn->origin != NULL)
        pgcdc__json_u64(j, txn->origin_lsn);
    else
        pgcdc__buf_lit(j, "null");
    /* A prepared transaction's change (pgcdc's addition to the source block). */
    if (txn->gid != NULL) {
        pgcdc__buf_lit(j, ",\"gid\":");
        pgcdc__json_cstring(j, txn->gid);
    }
}

/*
 * A schema change, shaped as the value of the schema change topic of
 * Debezium's other connectors (its PostgreSQL connector has none): the
 * source block, the time, the names, the statement, and the table's change
 * (debezium_ddl.c).  Not an event of the table's: no transaction block, and
 * no count in the transaction's metadata.
 */
static void schema_event(pgcdc_formatter *f, pgcdc__dbz *x, const pgcdc_change *c)
{
    pgcdc__buf *j = &f->out;
    const pgcdc_txn *txn = c->txn;

    cache_txn(x, f->dbname, txn);
    if (x->head.oom) {
        j->oom = 1;
        return;
    }
    if (x->schemas)
        pgcdc__dbz_schema_change_schema(j);
    pgcdc__buf_u8(j, '{');
    put_source(j, x, c, pgcdc__rel_text_of(c->rel), "false", 1);
    /* The time of the statement's transaction, as the others give the DDL event's time. */
    pgcdc__buf_lit(j, "},\"ts_ms\":");
    pgcdc__json_i64(j, txn->commit_time / 1000 - (txn->commit_time % 1000 < 0));
    pgcdc__buf_lit(j, ",\"databaseName\":");
    pgcdc__json_cstring(j, f->dbname);
    pgcdc__buf_lit(j, ",\"schemaName\":");
    pgcdc__json_cstring(j, c->rel->schema);
    pgcdc__buf_lit(j, ",\"ddl\":");
    pgcdc__json_cstring(j, c->ddl);
    pgcdc__buf_lit(j, ",\"tableChanges\":[");
    pgcdc__dbz_table_change(j, f->dbname, c);
    pgcdc__buf_lit(j, x->schemas ? "]}}\n" : "]}\n");
}

static void debezium_change(pgcdc_formatter *f, const pgcdc_change *c)
{
    pgcdc__buf *j = &f->out;
    pgcdc__dbz *x = state_of(f);
    const pgcdc__relation *rel = c->rel;
    const pgcdc__rel_text *rt;
    const pgcdc__dbz_rel *dr;
    const pgcdc_txn *txn = c->txn;
    uint64_t lsn = event_lsn(c);
    int snapshot = txn->snapshot != PGCDC_SNAPSHOT_NONE;
    int64_t now_us;

    if (x != NULL && c->op == PGCDC_OP_SCHEMA) {
        schema_event(f, x, c);
        return;
    }
    rt = pgcdc__rel_text_of(rel);
    dr = x != NULL ? rel_of(x, rel) : NULL;
    if (dr == NULL) {
        j->oom = 1;
        return;
    }
    cache_txn(x, f->dbname, txn);
    if (x->head.oom) {
        j->oom = 1;
        return;
    }
    if (x->schemas)
        pgcdc__buf_put(j, block_text(dr) + dr->schema_off, dr->schema_len);
    pgcdc__buf_lit(j, "{\"before\":");
    put_row(x, j, pgcdc_change_old(c), dr, rt);
    pgcdc__buf_lit(j, ",\"after\":");
    put_row(x, j, pgcdc_change_new(c), dr, rt);
    put_source(j, x, c, rt, snapshot_value(c), 0);
    /* The connector gives snapshot events no transaction block (nor BEGIN and END). */
    if (x->tx_metadata && !snapshot) {
        /* PostgresTransactionMonitor's id: the xid and the event's own LSN. */
        pgcdc__buf_lit(j, "},\"transaction\":{\"id\":\"");
        pgcdc__json_u64(j, txn->xid);
        pgcdc__buf_u8(j, ':');
        pgcdc__json_u64(j, lsn);
        pgcdc__buf_lit(j, "\",\"total_order\":");
        pgcdc__json_u64(j, (uint64_t)c->seq + 1);
        pgcdc__buf_lit(j, ",\"data_collection_order\":");
        pgcdc__json_u64(j, table_order(x, c, dr));
        pgcdc__buf_lit(j, "},\"op\":\"");
    } else {
        pgcdc__buf_lit(j, "},\"transaction\":null,\"op\":\"");
    }
    pgcdc__buf_lit(j, op_code(c->op));
    /* The envelope's times are the connector's processing time. */
    now_us = pgcdc__wall_us();
    pgcdc__buf_lit(j, "\",\"ts_ms\":");
    pgcdc__json_i64(j, now_us / 1000);
    pgcdc__buf_lit(j, ",\"ts_us\":");
    pgcdc__json_i64(j, now_us);
    pgcdc__buf_lit(j, ",\"ts_ns\":");
    pgcdc__json_i64(j, now_us * 1000);
    pgcdc__buf_lit(j, x->schemas ? "}}\n" : "}\n");
}

/*
 * COMMIT PREPARED or ROLLBACK PREPARED, shaped as a transaction metadata
 * event (status COMMIT_PREPARED or ROLLBACK_PREPARED, the GID, the time),
 * written whether transaction metadata is on or not: it is the only news
 * that the prepared changes, sent before with the GID, are final.
 */
static void finish_event(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc_txn *txn)
{
    if (x->schemas)
        pgcdc__dbz_txn_schema(j);
    pgcdc__buf_lit(j, txn->two_phase == PGCDC_TWO_PHASE_COMMIT
                          ? "{\"status\":\"COMMIT_PREPARED\",\"id\":\""
                          : "{\"status\":\"ROLLBACK_PREPARED\",\"id\":\"");
    pgcdc__json_u64(j, txn->xid);
    pgcdc__buf_u8(j, ':');
    pgcdc__json_u64(j, txn->end_lsn);
    pgcdc__buf_lit(j, "\",\"event_count\":null,\"data_collections\":null,\"ts_ms\":");
    pgcdc__json_i64(j, txn->commit_time / 1000 - (txn->commit_time % 1000 < 0));
    pgcdc__buf_lit(j, ",\"gid\":");
    pgcdc__json_cstring(j, txn->gid);
    pgcdc__buf_lit(j, x->schemas ? "}}\n" : "}\n");
}

/*
 * A BEGIN or END event (the transaction topic's value), when transaction
 * metadata is on; none around a snapshot's rows, as the connector sends none.
 */
static void txn_event(pgcdc_formatter *f, const pgcdc_txn *txn, int end)
{
    pgcdc__buf *j = &f->out;
    pgcdc__dbz *x = state_of(f);

    if (x == NULL) {
        j->oom = 1;
        return;
    }
    if (txn->two_phase == PGCDC_TWO_PHASE_COMMIT || txn->two_phase == PGCDC_TWO_PHASE_ROLLBACK) {
        if (end)
            finish_event(x, j, txn);
        return;
    }
    if (!x->tx_metadata || txn->snapshot != PGCDC_SNAPSHOT_NONE)
        return;
    track_txn(x, txn);
    if (x->schemas)
        pgcdc__dbz_txn_schema(j);
    pgcdc__buf_lit(j, "{\"status\":\"");
    /* A prepared transaction ends in PREPARE, not END: it is not committed yet. */
    if (!end)
        pgcdc__buf_lit(j, "BEGIN");
    else if (txn->two_phase == PGCDC_TWO_PHASE_PREPARED)
        pgcdc__buf_lit(j, "PREPARE");
    else
        pgcdc__buf_lit(j, "END");
    pgcdc__buf_lit(j, "\",\"id\":\"");
    pgcdc__json_u64(j, txn->xid);
    pgcdc__buf_u8(j, ':');
    /* The LSN the connector saw last: the Begin message's, or the commit's end. */
    pgcdc__json_u64(j, end ? txn->end_lsn : txn->begin_lsn);
    if (end) {
        pgcdc__buf_lit(j, "\",\"event_count\":");
        pgcdc__json_u64(j, txn->nchanges);
        pgcdc__buf_lit(j, ",\"data_collections\":[");
        for (uint32_t i = 0; i < x->ntables; i++) {
            pgcdc__buf_lit(j, i > 0 ? ",{\"data_collection\":\"" : "{\"data_collection\":\"");
            pgcdc__buf_put(j, x->names.data + x->tables[i].name_off, x->tables[i].name_len);
            pgcdc__buf_lit(j, "\",\"event_count\":");
            pgcdc__json_u64(j, x->tables[i].count);
            pgcdc__buf_u8(j, '}');
        }
        pgcdc__buf_lit(j, "],\"ts_ms\":");
    } else {
        pgcdc__buf_lit(j, "\",\"event_count\":null,\"data_collections\":null,\"ts_ms\":");
    }
    pgcdc__json_i64(j, txn->commit_time / 1000 - (txn->commit_time % 1000 < 0));
    if (txn->gid != NULL) {
        pgcdc__buf_lit(j, ",\"gid\":");
        pgcdc__json_cstring(j, txn->gid);
    }
    pgcdc__buf_lit(j, x->schemas ? "}}\n" : "}\n");
}

static void debezium_begin(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    txn_event(f, txn, 0);
}

static void debezium_commit(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    txn_event(f, txn, 1);
}

/*
 * The message key, as the connector makes it: a struct of the primary key's
 * columns (from the new row, or the old one for a DELETE), encoded as the
 * values are; nothing (a null key) for a table without a primary key.
 */
static void debezium_key(pgcdc_formatter *f, const pgcdc_change *c, pgcdc__buf *j)
{
    pgcdc__dbz *x = state_of(f);
    const pgcdc__relation *rel = c->rel;
    const pgcdc_row *row = pgcdc_change_new(c) != NULL ? pgcdc_change_new(c) : pgcdc_change_old(c);
    const pgcdc__dbz_rel *dr;
    /* The catalog's primary key when asked for; else the key the stream knows. */
    const int *keys = rel->npk >= 0 ? rel->pk : rel->keys;
    int nkeys = rel->npk >= 0 ? rel->npk : rel->nkeys;

    /* A schema change is of the whole table: no row, no key. */
    if (c->op == PGCDC_OP_SCHEMA)
        return;
    dr = x != NULL ? rel_of(x, rel) : NULL;
    if (dr == NULL) {
        j->oom = 1;
        return;
    }
    if (row == NULL || nkeys == 0 || c->op == PGCDC_OP_TRUNCATE)
        return;
    if (x->schemas)
        pgcdc__dbz_key_schema(x, j, rel, dr->cols, keys, nkeys);
    pgcdc__buf_u8(j, '{');
    for (int k = 0; k < nkeys; k++) {
        int i = keys[k];

        if (k > 0)
            pgcdc__buf_u8(j, ',');
        pgcdc__json_cstring(j, rel->cols[i].name);
        pgcdc__buf_u8(j, ':');
        put_value(x, j, row, i, &dr->cols[i]);
    }
    pgcdc__buf_u8(j, '}');
    if (x->schemas)
        pgcdc__buf_u8(j, '}');
}

const pgcdc__format_ops pgcdc__debezium_format = {
    .name = "debezium",
    .begin = debezium_begin,
    .change = debezium_change,
    .commit = debezium_commit,
    .properties = debezium_properties,
    .nproperties = NPROPS,
    .set = debezium_set,
    .needs = debezium_needs,
    .free_state = state_free,
    .key = debezium_key,
};
