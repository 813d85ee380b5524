/*
 * Reading the oracle: rows of pg_logical_slot_get_changes() on a
 * test_decoding slot, exported with COPY ... TO STDOUT (text format).
 */
#ifndef CHAOS_TDPARSE_H
#define CHAOS_TDPARSE_H

#include <stddef.h>
#include <stdint.h>

#define TD_MAX_COLS 64
#define TD_MAX_RELS 16

typedef enum td_kind {
    TD_NULL,
    TD_UNCHANGED, /* unchanged-toast-datum */
    TD_PLAIN,     /* unquoted: numbers, true/false */
    TD_QUOTED     /* '...', quotes undoubled */
} td_kind;

typedef struct td_col {
    const char *name;
    const char *type;
    const char *value; /* NULL for TD_NULL and TD_UNCHANGED */
    td_kind kind;
    char plain[48]; /* storage of an unquoted value */
} td_col;

typedef struct td_tuple {
    int present; /* 0: none printed or "(no-tuple-data)" */
    int ncols;
    td_col cols[TD_MAX_COLS];
} td_tuple;

typedef enum td_type { TD_BEGIN, TD_COMMIT, TD_CHANGE, TD_OTHER } td_type;

typedef struct td_line {
    uint64_t lsn;
    uint32_t xid;
    td_type type;
    char op; /* 'I', 'U', 'D', 'T' */
    int nrels;
    const char *rels[TD_MAX_RELS]; /* "schema.table" as printed; several only for TRUNCATE */
    td_tuple old_tuple;            /* UPDATE old-key, DELETE old key */
    td_tuple new_tuple;            /* INSERT, UPDATE */
    char preview[160];             /* the start of the decoded text, for messages */
} td_line;

/* "16/B374D848" to a number; 0 on success, -1 if malformed. */
int td_lsn_parse(const char *s, uint64_t *lsn);

/*
 * Parses one line of the COPY export in place (line is modified and must
 * outlive out).  0 on success, -1 with a message in err otherwise.
 */
int td_parse(char *line, td_line *out, char *err, size_t errsize);

/* The column named name in t, or NULL. */
const td_col *td_find(const td_tuple *t, const char *name);

#endif
