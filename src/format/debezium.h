/*
 * Debezium's change events: the envelope, its source block and the
 * transaction metadata (debezium.c), column values in the connector's
 * default JSON encodings (debezium_values.c, with its numbers and times in
 * debezium_numbers.c and debezium_time.c), and the schema block its JSON
 * converter writes with schemas enabled (debezium_schema.c), and schema changes'
 * table descriptions (debezium_ddl.c).
 */
#ifndef PGCDC_FORMAT_DEBEZIUM_H
#define PGCDC_FORMAT_DEBEZIUM_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/row.h"

/* What Debezium writes for a value it could not read (unchanged TOAST). */
#define PGCDC__DBZ_UNAVAILABLE "__debezium_unavailable_value"

/* The connector's options, as its own names spell them. */
enum { PGCDC__DBZ_PRECISE, PGCDC__DBZ_STRING, PGCDC__DBZ_DOUBLE };                   /* decimal */
enum { PGCDC__DBZ_BYTES, PGCDC__DBZ_BASE64, PGCDC__DBZ_BASE64_URL, PGCDC__DBZ_HEX }; /* binary */
enum { PGCDC__DBZ_NUMERIC, PGCDC__DBZ_ISO };                                         /* interval */
enum { PGCDC__DBZ_JSON, PGCDC__DBZ_MAP };                                            /* hstore */

/* How a column's values are written (and described in the schema block). */
typedef enum pgcdc__dbz_kind {
    PGCDC__DBZ_K_NATIVE = 0,  /* bool, integers, floats: as the native format writes them */
    PGCDC__DBZ_K_TEXT,        /* the server's text as a string */
    PGCDC__DBZ_K_NUMERIC,     /* decimal.handling.mode */
    PGCDC__DBZ_K_MONEY,       /* decimal.handling.mode, two fraction digits */
    PGCDC__DBZ_K_BYTEA,       /* binary.handling.mode */
    PGCDC__DBZ_K_DATE,        /* days since the epoch */
    PGCDC__DBZ_K_TIME,        /* ms (precision 0-3) or us past midnight */
    PGCDC__DBZ_K_TIMETZ,      /* "HH:MM:SS[.f]Z" in UTC */
    PGCDC__DBZ_K_TIMESTAMP,   /* ms (precision 0-3) or us since the epoch */
    PGCDC__DBZ_K_TIMESTAMPTZ, /* ISO 8601 in UTC */
    PGCDC__DBZ_K_INTERVAL,    /* interval.handling.mode */
    PGCDC__DBZ_K_BIT,         /* bit(1), varbit(1): a boolean */
    PGCDC__DBZ_K_BITS,        /* other bit strings: little-endian bytes */
    PGCDC__DBZ_K_HSTORE,      /* hstore.handling.mode */
    PGCDC__DBZ_K_ARRAY        /* a JSON array of the elements' encoding */
} pgcdc__dbz_kind;

/* The named types of the schema block that carry a text value. */
enum {
    PGCDC__DBZ_L_NONE = 0,
    PGCDC__DBZ_L_UUID,
    PGCDC__DBZ_L_JSON,
    PGCDC__DBZ_L_XML,
    PGCDC__DBZ_L_LTREE,
    PGCDC__DBZ_L_TSVECTOR
};

typedef struct pgcdc__dbz_col {
    uint8_t kind;      /* pgcdc__dbz_kind */
    uint8_t elem;      /* K_ARRAY: the elements' kind */
    uint8_t logical;   /* K_TEXT (or its elements): PGCDC__DBZ_L_* */
    uint8_t toast;     /* the shape of the unchanged-TOAST placeholder (debezium_values.c) */
    uint32_t oid;      /* the (element) type read: K_NATIVE's schema type */
    int32_t precision; /* numeric precision, bit length, time precision (6 by default) */
    int32_t scale;     /* numeric scale; INT32_MIN for a numeric without one */
} pgcdc__dbz_col;

/*
 * What the format keeps per relation (in rel->fmt_extra, one malloc'd block
 * freed with the relation): each column's encoding, the "schema.table"
 * name, and with schemas enabled the {"schema":...,"payload": prefix of its
 * events.  Built for one set of options (key); rebuilt when another
 * formatter with other options uses the relation.
 */
typedef struct pgcdc__dbz_rel {
    uint32_t key;
    uint32_t ncols;
    uint32_t name_off, name_len;     /* schema.table, as JSON string text (escaped, no quotes) */
    uint32_t schema_off, schema_len; /* {"schema":{...},"payload": or empty */
    pgcdc__dbz_col cols[];
    /* then the text */
} pgcdc__dbz_rel;

/* A table's count of changes within the transaction (transaction metadata). */
typedef struct pgcdc__dbz_table {
    uint32_t relid;
    uint32_t count;
    uint32_t name_off, name_len; /* in names */
} pgcdc__dbz_table;

/* The formatter's own state (f->state). */
typedef struct pgcdc__dbz {
    /* Options. */
    uint8_t decimal, binary, interval, hstore;
    uint8_t tx_metadata, schemas;
    char *prefix; /* topic.prefix: source.name and the schema names' first part */
    uint32_t key; /* the options the relation blocks depend on */

    /* The transaction being formatted: its source-block text and counts. */
    const pgcdc_txn *txn_of;
    uint64_t txn_token, txn_commit_lsn;
    uint32_t txn_xid;
    int txn_known;
    pgcdc__buf head;  /* ,"source":{"version":..,"snapshot":" */
    size_t snap_off;  /* then ","db":..,"sequence":"[\"<last commit>\",\": from snap_off on */
    size_t mid_off;   /* then \"]","ts_us":..,"ts_ns":..,: from mid_off on */
    int64_t last_seq; /* the change counted last, and its table's order */
    uint32_t last_order;
    pgcdc__dbz_table *tables;
    uint32_t ntables, cap_tables;
    pgcdc__buf names;

    /* Scratch space, reused from one value to the next. */
    pgcdc__buf bytes; /* decoded bytes */
    pgcdc__buf text;  /* an hstore as JSON */
    pgcdc__buf elem;  /* an array element, unescaped */
    pgcdc__buf digits;
    uint32_t *limbs;
    size_t cap_limbs;
} pgcdc__dbz;

/* ---- debezium_values.c ---- */

/* How the column's values are written: from its type, modifier and name. */
void pgcdc__dbz_classify(const pgcdc__relcol_info *col, pgcdc__dbz_col *out);
/* A present value of row's column col. */
void pgcdc__dbz_column(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc_row *row, int col,
                       const pgcdc__dbz_col *dc);
/* What Debezium writes in place of an unchanged TOASTed value of the column. */
void pgcdc__dbz_unavailable(const pgcdc__dbz *x, pgcdc__buf *j, const pgcdc__dbz_col *dc);
/* Bytes as a quoted base64 string (url: the URL-safe alphabet). */
void pgcdc__dbz_base64(pgcdc__buf *j, const uint8_t *p, size_t n, int url);

/* ---- debezium_numbers.c: from numeric_out's and cash_out's text ---- */

void pgcdc__dbz_numeric(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc__dbz_col *dc, const char *s,
                        size_t n);
void pgcdc__dbz_money(pgcdc__dbz *x, pgcdc__buf *j, const char *s, size_t n);

/* ---- debezium_time.c: from us since the epoch (INT64_MAX/MIN: the infinities) or text ---- */

void pgcdc__dbz_days(pgcdc__buf *j, int64_t us);
void pgcdc__dbz_timestamp(pgcdc__buf *j, int64_t us, int precision);
void pgcdc__dbz_zoned_timestamp(pgcdc__buf *j, int64_t us, int width);
void pgcdc__dbz_time(pgcdc__buf *j, const pgcdc__dbz_col *dc, const char *s, size_t n);
void pgcdc__dbz_timetz(pgcdc__buf *j, const char *s, size_t n);
void pgcdc__dbz_interval(pgcdc__dbz *x, pgcdc__buf *j, const char *s, size_t n);

/* ---- debezium_schema.c ---- */

/*
 * {"schema":<the envelope's schema>,"payload": for the relation's change
 * events, its columns encoded as cols says.
 */
void pgcdc__dbz_envelope_schema(const pgcdc__dbz *x, pgcdc__buf *b, const pgcdc__relation *rel,
                                const pgcdc__dbz_col *cols);
/*
 * {"schema":<the key struct's schema>,"payload": for the relation's keys:
 * its columns keys[0..nkeys-1], encoded as cols says.
 */
void pgcdc__dbz_key_schema(const pgcdc__dbz *x, pgcdc__buf *b, const pgcdc__relation *rel,
                           const pgcdc__dbz_col *cols, const int *keys, int nkeys);
/* {"schema":<the transaction metadata value's schema>,"payload": for BEGIN and END events. */
void pgcdc__dbz_txn_schema(pgcdc__buf *b);
/* {"schema":<the schema change value's schema>,"payload": for schema changes. */
void pgcdc__dbz_schema_change_schema(pgcdc__buf *b);

/* ---- debezium_ddl.c ---- */

/*
 * A schema change's entry of tableChanges (io.debezium.connector.schema.Change):
 * its type, the table's id in database dbname, the new shape as "table" and
 * the old one as "previousTable" (pgcdc's addition; null for a new table).
 */
void pgcdc__dbz_table_change(pgcdc__buf *j, const char *dbname, const pgcdc_change *c);

#endif /* PGCDC_FORMAT_DEBEZIUM_H */
