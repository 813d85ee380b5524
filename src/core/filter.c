/*
 * Declarative filters applied to each change: operations, a row filter,
 * columns kept or left out, values masked.  What a relation needs is worked
 * out at its first change (its view: the columns kept, the relation as the
 * formats see it, the row filter's columns), so a change costs a few
 * comparisons and, when columns go or values are masked, one copy of its
 * column array into buffers that only grow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "core/filter.h"
#include "wire/types.h"

struct pgcdc__relview {
    const pgcdc__tfilter *tf; /* NULL: no filter of its table */
    int where;                /* the row filter is evaluated here (not pushed to the server) */
    pgcdc__relation *rel;     /* as handed out; NULL: the relation as it is */
    int *keep;                /* rel->ncols column indexes of the source relation */
    uint8_t *mask;            /* per kept column: PGCDC__MASK_* or 0 */
    int nmasked;
    int *where_cols; /* per column of the row filter: the source's index, or -1 */
};

void pgcdc__filterset_init(pgcdc__filterset *fs)
{
    memset(fs, 0, sizeof(*fs));
    fs->ops = PGCDC__FOP_ALL;
    pgcdc__buf_init(&fs->masks);
}

void pgcdc__filter_free_words(char **words, int n)
{
    for (int i = 0; i < n; i++)
        free(words[i]);
    free(words);
}

void pgcdc__filterset_clear(pgcdc__filterset *fs)
{
    for (int i = 0; i < fs->ntables; i++) {
        pgcdc__tfilter *tf = &fs->tables[i];

        free(tf->schema);
        free(tf->name);
        pgcdc__filter_free_words(tf->cols, tf->ncols);
        free(tf->where_text);
        pgcdc__fexpr_free(tf->where);
        pgcdc__filter_free_words(tf->mask_cols, tf->nmasks);
        free(tf->mask_kinds);
    }
    free(fs->tables);
    free(fs->salt);
    free(fs->cols);
    pgcdc__buf_free(&fs->masks);
    pgcdc__filterset_init(fs);
}

int pgcdc__filterset_active(const pgcdc__filterset *fs)
{
    return fs->ops != PGCDC__FOP_ALL || fs->ntables > 0;
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

pgcdc__tfilter *pgcdc__filterset_add(pgcdc__filterset *fs, const char *schema, const char *name)
{
    pgcdc__tfilter *grown;
    pgcdc__tfilter *tf;

    for (int i = 0; i < fs->ntables; i++) {
        if (same(fs->tables[i].schema, schema) && strcmp(fs->tables[i].name, name) == 0)
            return &fs->tables[i];
    }
    grown = realloc(fs->tables, (size_t)(fs->ntables + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    fs->tables = grown;
    tf = &fs->tables[fs->ntables];
    memset(tf, 0, sizeof(*tf));
    tf->schema = schema != NULL ? strdup(schema) : NULL;
    tf->name = strdup(name);
    if ((schema != NULL && tf->schema == NULL) || tf->name == NULL) {
        free(tf->schema);
        free(tf->name);
        return NULL;
    }
    fs->ntables++;
    return tf;
}

const pgcdc__tfilter *pgcdc__filterset_find(const pgcdc__filterset *fs, const char *schema,
                                            const char *name)
{
    const pgcdc__tfilter *any = NULL;

    for (int i = 0; i < fs->ntables; i++) {
        const pgcdc__tfilter *tf = &fs->tables[i];

        if (strcmp(tf->name, name) != 0)
            continue;
        if (tf->schema != NULL && strcmp(tf->schema, schema) == 0)
            return tf;
        if (tf->schema == NULL)
            any = tf;
    }
    return any;
}

int pgcdc__filter_split(const char *text, char ***out, int *n)
{
    char **words = NULL;
    int count = 0;
    const char *p = text;

    *out = NULL;
    *n = 0;
    for (;;) {
        const char *end = p + strcspn(p, ",");
        const char *a = p;
        const char *b = end;
        char **grown;

        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a == b) {
            pgcdc__filter_free_words(words, count);
            return -1;
        }
        grown = realloc(words, (size_t)(count + 1) * sizeof(*grown));
        if (grown == NULL || (grown[count] = strndup(a, (size_t)(b - a))) == NULL) {
            pgcdc__filter_free_words(grown != NULL ? grown : words, count);
            return -2;
        }
        words = grown;
        count++;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    *out = words;
    *n = count;
    return 0;
}

static const char *const op_names[] = {"insert", "update", "delete", "truncate"};

int pgcdc__filter_parse_ops(const char *text, int *ops, char *bad, size_t n)
{
    char **words;
    int count;
    int bits = 0;
    int r = pgcdc__filter_split(text, &words, &count);

    if (r == -2)
        return -2;
    if (r < 0) {
        snprintf(bad, n, "%s", "");
        return -1;
    }
    for (int i = 0; i < count; i++) {
        int bit = 0;

        for (int k = 0; k < 4; k++) {
            if (strcasecmp(words[i], op_names[k]) == 0)
                bit = 1 << k;
        }
        if (bit == 0) {
            snprintf(bad, n, "%s", words[i]);
            pgcdc__filter_free_words(words, count);
            return -1;
        }
        bits |= bit;
    }
    pgcdc__filter_free_words(words, count);
    *ops = bits;
    return 0;
}

void pgcdc__filter_ops_text(int ops, char *buf, size_t n)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int k = 0; k < 4 && used < n; k++) {
        if (ops & (1 << k))
            used +=
                (size_t)snprintf(buf + used, n - used, "%s%s", used > 0 ? ", " : "", op_names[k]);
    }
}

int pgcdc__tfilter_keeps(const pgcdc__tfilter *tf, const char *col, int key)
{
    int listed = 0;

    if (tf == NULL || tf->ncols == 0 || key)
        return 1;
    for (int i = 0; i < tf->ncols && !listed; i++)
        listed = strcmp(tf->cols[i], col) == 0;
    return tf->exclude ? !listed : listed;
}

int pgcdc__glob_match(const char *glob, const char *text)
{
    const char *star = NULL;
    const char *back = NULL;

    while (*text != '\0') {
        if (*glob == '*') {
            star = glob++;
            back = text;
        } else if (*glob == '?' || *glob == *text) {
            glob++;
            text++;
        } else if (star != NULL) {
            glob = star + 1;
            text = ++back;
        } else {
            return 0;
        }
    }
    while (*glob == '*')
        glob++;
    return *glob == '\0';
}

/* ---- checks against the catalog ---- */

static int col_index(const pgcdc__table_info *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++) {
        if (strcmp(t->col_names[i], name) == 0)
            return i;
    }
    return -1;
}

static int is_pk(const pgcdc__table_info *t, const char *name)
{
    for (int k = 0; k < t->npk; k++) {
        if (strcmp(t->pk[k], name) == 0)
            return 1;
    }
    return 0;
}

static int check_table(const pgcdc__tfilter *tf, const pgcdc__table_info *t, char *msg, size_t size)
{
    for (int i = 0; i < tf->ncols; i++) {
        if (col_index(t, tf->cols[i]) < 0) {
            snprintf(msg, size, "filter.%s.%s names column \"%s\", which %s does not have",
                     tf->exclude ? "exclude_columns" : "columns", t->quoted, tf->cols[i],
                     t->quoted);
            return -1;
        }
        if (tf->exclude && is_pk(t, tf->cols[i])) {
            snprintf(msg, size,
                     "filter.exclude_columns.%s leaves out key column \"%s\", which UPDATE and "
                     "DELETE events need (keep it, or mask it: mask.%s.%s=hash)",
                     t->quoted, tf->cols[i], t->quoted, tf->cols[i]);
            return -1;
        }
    }
    for (int i = 0; i < tf->nmasks; i++) {
        if (col_index(t, tf->mask_cols[i]) < 0) {
            snprintf(msg, size, "mask.%s.%s names a column that %s does not have", t->quoted,
                     tf->mask_cols[i], t->quoted);
            return -1;
        }
    }
    for (int i = 0; tf->where != NULL && i < pgcdc__fexpr_ncols(tf->where); i++) {
        const char *name = pgcdc__fexpr_col(tf->where, i);
        int c = col_index(t, name);
        const char *misfit;

        if (c < 0) {
            snprintf(msg, size, "filter.where.%s names column \"%s\", which %s does not have",
                     t->quoted, name, t->quoted);
            return -1;
        }
        misfit = pgcdc__fexpr_misfit(tf->where, i, t->col_base_oids[c]);
        if (misfit != NULL) {
            snprintf(msg, size,
                     "filter.where.%s compares column \"%s\" of type %s with \"%s\" (use a "
                     "literal of its type)",
                     t->quoted, name, t->col_types[c], misfit);
            return -1;
        }
    }
    return 0;
}

int pgcdc__filterset_check(const pgcdc__filterset *fs, const pgcdc__tableset *ts, char *msg,
                           size_t size)
{
    if (ts->ntables == 0)
        return 0;
    for (int i = 0; i < fs->ntables; i++) {
        const pgcdc__tfilter *tf = &fs->tables[i];
        int found = 0;

        for (int k = 0; k < ts->ntables; k++) {
            const pgcdc__table_info *t = &ts->tables[k];

            if (strcmp(t->name, tf->name) != 0 ||
                (tf->schema != NULL && strcmp(t->schema, tf->schema) != 0))
                continue;
            found = 1;
            if (check_table(tf, t, msg, size) != 0)
                return -1;
        }
        if (!found) {
            snprintf(msg, size,
                     "a filter or mask names table %s%s%s, which is not among the tables "
                     "streamed (add it to the tables, or mend the name)",
                     tf->schema != NULL ? tf->schema : "", tf->schema != NULL ? "." : "", tf->name);
            return -1;
        }
    }
    return 0;
}

/* ---- the view of a relation ---- */

void pgcdc__relview_free(struct pgcdc__relview *v)
{
    if (v == NULL)
        return;
    pgcdc__relation_free(v->rel);
    free(v->keep);
    free(v->mask);
    free(v->where_cols);
    free(v);
}

static int mask_of(const pgcdc__tfilter *tf, const char *col)
{
    int kind = 0;

    for (int i = 0; i < tf->nmasks; i++) {
        if (strcmp(tf->mask_cols[i], col) == 0)
            kind = tf->mask_kinds[i];
    }
    return kind;
}

static int copy_col(pgcdc__relcol_info *dst, const pgcdc__relcol_info *src, int mask)
{
    *dst = *src;
    dst->name = strdup(src->name);
    dst->type_name = NULL;
    /* A masked value is text, whatever the column held: so say its type. */
    if (mask) {
        pgcdc__relcol_set_type(dst, PGCDC_OID_TEXT);
        dst->sent_oid = PGCDC_OID_TEXT;
        dst->typmod = -1;
        dst->type_name = strdup("text");
    } else if (src->type_name != NULL) {
        dst->type_name = strdup(src->type_name);
    }
    return dst->name == NULL || ((mask || src->type_name != NULL) && dst->type_name == NULL) ? -1
                                                                                             : 0;
}

/* A column index list renumbered to the kept columns (those left out dropped). */
static int remap(const int *src, int n, const int *keep, int nkeep, int *dst)
{
    int count = 0;

    for (int k = 0; k < n; k++) {
        for (int j = 0; j < nkeep; j++) {
            if (keep[j] == src[k]) {
                dst[count++] = j;
                break;
            }
        }
    }
    return count;
}

/* The relation as handed out: the kept columns, masked ones as text. */
static pgcdc__relation *view_relation(const pgcdc__relation *src, const struct pgcdc__relview *v,
                                      int n)
{
    pgcdc__relation *rel = pgcdc__relation_derive(src, (size_t)n, (size_t)n, (size_t)n);

    if (rel == NULL)
        return NULL;
    for (int j = 0; j < n; j++) {
        rel->ncols++;
        if (copy_col(&rel->cols[j], &src->cols[v->keep[j]], v->mask[j]) != 0)
            goto fail;
    }
    rel->nkeys = remap(src->keys, src->nkeys, v->keep, n, rel->keys);
    rel->npk = src->npk < 0 ? -1 : remap(src->pk, src->npk, v->keep, n, rel->pk);
    return rel;
fail:
    pgcdc__relation_free(rel);
    return NULL;
}

static struct pgcdc__relview *make_view(const pgcdc__filterset *fs, const pgcdc__tableset *ts,
                                        const pgcdc__relation *src)
{
    const pgcdc__table_info *t = pgcdc__tableset_find(ts, src->relid);
    struct pgcdc__relview *v = calloc(1, sizeof(*v));
    const pgcdc__tfilter *tf;
    int n = 0;
    int changed = 0;

    if (v == NULL)
        return NULL;
    tf = t != NULL ? pgcdc__filterset_find(fs, t->schema, t->name)
                   : pgcdc__filterset_find(fs, src->schema, src->name);
    v->tf = tf;
    if (tf == NULL)
        return v;
    v->where = tf->where != NULL && !(t != NULL && t->where_pushed);
    if (tf->where != NULL) {
        int nc = pgcdc__fexpr_ncols(tf->where);

        v->where_cols = malloc((size_t)nc * sizeof(int) + 1);
        if (v->where_cols == NULL)
            goto fail;
        for (int i = 0; i < nc; i++) {
            v->where_cols[i] = -1;
            for (int c = 0; c < src->ncols; c++) {
                if (strcmp(src->cols[c].name, pgcdc__fexpr_col(tf->where, i)) == 0)
                    v->where_cols[i] = c;
            }
        }
    }
    v->keep = malloc((size_t)src->ncols * sizeof(*v->keep) + 1);
    v->mask = calloc((size_t)src->ncols + 1, 1);
    if (v->keep == NULL || v->mask == NULL)
        goto fail;
    for (int c = 0; c < src->ncols; c++) {
        const pgcdc__relcol_info *col = &src->cols[c];

        if (!pgcdc__tfilter_keeps(tf, col->name, col->is_key)) {
            changed = 1;
            continue;
        }
        v->mask[n] = (uint8_t)mask_of(tf, col->name);
        v->nmasked += v->mask[n] != 0;
        v->keep[n++] = c;
    }
    if (changed || v->nmasked > 0) {
        v->rel = view_relation(src, v, n);
        if (v->rel == NULL)
            goto fail;
    }
    return v;
fail:
    pgcdc__relview_free(v);
    return NULL;
}

/* A row filter that may match the row (a value the row lacks may be any). */
static int may_match(const struct pgcdc__relview *v, const pgcdc_row *row)
{
    return (pgcdc__fexpr_eval(v->tf->where, row, v->where_cols) & PGCDC__FX_TRUE) != 0;
}

static int row_passes(const struct pgcdc__relview *v, const pgcdc_change *c)
{
    switch (c->op) {
    case PGCDC_OP_INSERT:
    case PGCDC_OP_READ:
        return !c->has_new || may_match(v, &c->new_row);
    case PGCDC_OP_UPDATE:
        /* The row entering the filter, staying in it, or (with its old row) leaving it. */
        return (c->has_new && may_match(v, &c->new_row)) ||
               (c->has_old && may_match(v, &c->old_row));
    case PGCDC_OP_DELETE:
        return !c->has_old || may_match(v, &c->old_row);
    default:
        return 1;
    }
}

static void copy_row(pgcdc__filterset *fs, const struct pgcdc__relview *v, pgcdc_row *dst,
                     const pgcdc_row *src, pgcdc__col *cols)
{
    dst->rel = v->rel;
    dst->cols = cols;
    dst->key_only = src->key_only;
    dst->texts = src->texts;
    for (int j = 0; j < v->rel->ncols; j++) {
        int c = v->keep[j];
        const pgcdc__col *t;
        char *hex;

        cols[j] = src->cols[c];
        if (v->mask[j] == 0 || pgcdc__row_state(src, c) != PGCDC_VALUE_PRESENT)
            continue;
        if (v->mask[j] == PGCDC__MASK_REDACT) {
            cols[j].data = PGCDC__REDACTED;
            cols[j].len = (uint32_t)strlen(PGCDC__REDACTED);
            cols[j].kind = PGCDC_COL_TEXT;
            continue;
        }
        /* Room for every masked value was reserved: the buffer does not move. */
        t = pgcdc__row_text_col(src, c);
        hex = (char *)fs->masks.data + fs->masks.len;
        pgcdc__sha256_hex(fs->salt, fs->salt != NULL ? strlen(fs->salt) : 0, t->data, t->len, hex);
        fs->masks.len += 65;
        cols[j].data = hex;
        cols[j].len = 64;
        cols[j].kind = PGCDC_COL_TEXT;
    }
}

static int op_bit(pgcdc_op op)
{
    switch (op) {
    case PGCDC_OP_INSERT:
        return PGCDC__FOP_INSERT;
    case PGCDC_OP_UPDATE:
        return PGCDC__FOP_UPDATE;
    case PGCDC_OP_DELETE:
        return PGCDC__FOP_DELETE;
    case PGCDC_OP_TRUNCATE:
        return PGCDC__FOP_TRUNCATE;
    default:
        return PGCDC__FOP_ALL; /* READ rows are the table's, not an operation */
    }
}

int pgcdc__filter_change(pgcdc__filterset *fs, const pgcdc__tableset *ts, const pgcdc_change *c,
                         const pgcdc_change **out)
{
    pgcdc__relation *rel = (pgcdc__relation *)c->rel;
    const struct pgcdc__relview *v;
    int n;

    *out = c;
    if ((fs->ops & op_bit(c->op)) == 0)
        return 0;
    if (fs->ntables == 0)
        return 1;
    /* The relation's view is a cache the filters own on it, like the formats' texts. */
    if (rel->view == NULL) {
        rel->view = make_view(fs, ts, rel);
        if (rel->view == NULL)
            return PGCDC_ERR_NOMEM;
    }
    v = rel->view;
    if (v->tf == NULL)
        return 1;
    if (v->where && !row_passes(v, c))
        return 0;
    if (v->rel == NULL)
        return 1;
    n = v->rel->ncols;
    if (fs->cap_cols < 2 * n) {
        pgcdc__col *grown = realloc(fs->cols, (size_t)(2 * n) * sizeof(*grown));

        if (grown == NULL)
            return PGCDC_ERR_NOMEM;
        fs->cols = grown;
        fs->cap_cols = 2 * n;
    }
    pgcdc__buf_reset(&fs->masks);
    if (pgcdc__buf_reserve(&fs->masks, (size_t)v->nmasked * 2 * 65) == NULL)
        return PGCDC_ERR_NOMEM;
    fs->change = *c;
    fs->change.rel = v->rel;
    if (c->has_old)
        copy_row(fs, v, &fs->change.old_row, &c->old_row, fs->cols);
    if (c->has_new)
        copy_row(fs, v, &fs->change.new_row, &c->new_row, fs->cols + n);
    *out = &fs->change;
    return 1;
}
