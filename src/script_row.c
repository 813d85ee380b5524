/*
 * Rows between a change and Lua: a row as a table of column values, and a
 * transformed event's tables made back into a change.  A value the script
 * left as it was keeps the column as it came (its exact text or binary
 * value and its type); a changed or added one becomes text under a type
 * that fits it, so every format writes the event the script made.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"
#include "wire/types.h"

const char pgcdc__script_null = 'n';
const char pgcdc__script_unchanged = 'u';

/* Relations made for transformed events, by their signature; dropped all at once when full. */
#define REL_CACHE_MAX 128

/* What a column of the made change holds in one row. */
enum { V_SOURCE, V_TEXT, V_ARENA, V_NULL, V_UNCHANGED };

typedef struct value {
    int how;          /* V_* */
    const char *data; /* V_TEXT */
    size_t off;       /* V_ARENA: into sr->arena */
    size_t len;
} value;

/* A column of the made change. */
typedef struct dcol {
    const char *name;
    int src;      /* the source's column index, or -1 for an added one */
    uint32_t oid; /* its type */
    value v[2];   /* old, new */
} dcol;

typedef struct cached_rel {
    char *sig;
    size_t siglen;
    pgcdc__relation *rel;
} cached_rel;

struct pgcdc__script_rows {
    dcol *cols;
    int ncols;
    int cap;
    pgcdc__buf arena; /* numbers and booleans as text */
    pgcdc__buf sig;
    cached_rel *rels;
    int nrels;
    pgcdc__col *out_cols; /* old row's, then new row's */
    int cap_out;
    pgcdc_change change;
};

pgcdc__script_rows *pgcdc__script_rows_new(void)
{
    pgcdc__script_rows *sr = calloc(1, sizeof(*sr));

    if (sr == NULL)
        return NULL;
    pgcdc__buf_init(&sr->arena);
    pgcdc__buf_init(&sr->sig);
    return sr;
}

static void drop_rels(pgcdc__script_rows *sr)
{
    for (int i = 0; i < sr->nrels; i++) {
        free(sr->rels[i].sig);
        pgcdc__relation_free(sr->rels[i].rel);
    }
    sr->nrels = 0;
}

void pgcdc__script_rows_free(pgcdc__script_rows *sr)
{
    if (sr == NULL)
        return;
    drop_rels(sr);
    free(sr->rels);
    free(sr->cols);
    free(sr->out_cols);
    pgcdc__buf_free(&sr->arena);
    pgcdc__buf_free(&sr->sig);
    free(sr);
}

/* ---- a row as a table ---- */

static void push_value(lua_State *L, const pgcdc_row *row, int col)
{
    const pgcdc__col *v = pgcdc__row_text_col(row, col);

    switch (row->rel->cols[col].type_oid) {
    case PGCDC_OID_BOOL:
        lua_pushboolean(L, v->len > 0 && v->data[0] == 't');
        return;
    case PGCDC_OID_INT2:
    case PGCDC_OID_INT4:
    case PGCDC_OID_INT8:
    case PGCDC_OID_OID:
        /* lua_stringtonumber reads integers exactly; anything else stays text. */
        if (lua_stringtonumber(L, v->data) != 0)
            return;
        break;
    case PGCDC_OID_FLOAT4:
    case PGCDC_OID_FLOAT8:
        lua_pushnumber(L, strtod(v->data, NULL));
        return;
    default:
        break;
    }
    lua_pushlstring(L, v->data, v->len);
}

void pgcdc__script_push_row(lua_State *L, const pgcdc_row *row)
{
    const pgcdc__relation *rel = row->rel;

    lua_createtable(L, 0, rel->ncols);
    for (int i = 0; i < rel->ncols; i++) {
        switch (pgcdc__row_state(row, i)) {
        case PGCDC_VALUE_ABSENT:
            continue;
        case PGCDC_VALUE_NULL:
            lua_pushlightuserdata(L, (void *)&pgcdc__script_null);
            break;
        case PGCDC_VALUE_UNCHANGED:
            lua_pushlightuserdata(L, (void *)&pgcdc__script_unchanged);
            break;
        default:
            push_value(L, row, i);
            break;
        }
        lua_setfield(L, -2, rel->cols[i].name);
    }
}

/* ---- tables back into a change ---- */

static int is_sentinel(lua_State *L, int idx, const char *which)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == (const void *)which;
}

/* Whether the value at idx is what the source row holds at col (so the column is kept as it came).
 */
static int same_as_source(lua_State *L, int idx, const pgcdc_row *row, int col)
{
    const pgcdc__col *v;
    const char *text;
    char *end;
    long long n;
    size_t len;
    int same;

    switch (pgcdc__row_state(row, col)) {
    case PGCDC_VALUE_ABSENT:
        return lua_isnil(L, idx);
    case PGCDC_VALUE_NULL:
        return is_sentinel(L, idx, &pgcdc__script_null);
    case PGCDC_VALUE_UNCHANGED:
        return is_sentinel(L, idx, &pgcdc__script_unchanged);
    default:
        break;
    }
    /* What push_value would push, compared without making it (no string interned). */
    v = pgcdc__row_text_col(row, col);
    switch (row->rel->cols[col].type_oid) {
    case PGCDC_OID_BOOL:
        return lua_type(L, idx) == LUA_TBOOLEAN &&
               lua_toboolean(L, idx) == (v->len > 0 && v->data[0] == 't');
    case PGCDC_OID_INT2:
    case PGCDC_OID_INT4:
    case PGCDC_OID_INT8:
    case PGCDC_OID_OID:
        n = strtoll(v->data, &end, 10);
        if (end == v->data || *end != '\0')
            break; /* not an integer's text: a string (push_value's way) */
        if (lua_type(L, idx) != LUA_TNUMBER)
            return 0;
        if (lua_isinteger(L, idx))
            return lua_tointeger(L, idx) == (lua_Integer)n;
        return lua_tonumber(L, idx) == (lua_Number)n;
    case PGCDC_OID_FLOAT4:
    case PGCDC_OID_FLOAT8:
        return lua_type(L, idx) == LUA_TNUMBER && lua_tonumber(L, idx) == strtod(v->data, NULL);
    default:
        if (lua_type(L, idx) != LUA_TSTRING)
            return 0;
        text = lua_tolstring(L, idx, &len);
        return len == v->len && memcmp(text, v->data, len) == 0;
    }
    push_value(L, row, col);
    same = lua_rawequal(L, idx, -1);
    lua_pop(L, 1);
    return same;
}

/* A number as PostgreSQL prints it: the shortest digits that read back the same. */
static void put_float(pgcdc__buf *b, double d)
{
    char text[40];

    if (isnan(d)) {
        pgcdc__buf_lit(b, "NaN");
        return;
    }
    if (isinf(d)) {
        pgcdc__buf_lit(b, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof(text), "%.*g", digits, d);
        if (strtod(text, NULL) == d)
            break;
    }
    pgcdc__buf_lit(b, text);
}

static int int_type(uint32_t oid)
{
    return oid == PGCDC_OID_INT2 || oid == PGCDC_OID_INT4 || oid == PGCDC_OID_INT8 ||
           oid == PGCDC_OID_OID;
}

static int float_type(uint32_t oid)
{
    return oid == PGCDC_OID_FLOAT4 || oid == PGCDC_OID_FLOAT8 || oid == PGCDC_OID_NUMERIC;
}

/*
 * The Lua value at idx as a column value of type *oid (0 for an added
 * column): *oid becomes a type the value fits when the one given does not.
 * 0, or -1 with why in msg.
 */
static int take_value(pgcdc__script_rows *sr, lua_State *L, int idx, const char *name,
                      uint32_t *oid, value *v, char *msg, size_t n)
{
    size_t len;

    memset(v, 0, sizeof(*v));
    switch (lua_type(L, idx)) {
    case LUA_TLIGHTUSERDATA:
        if (is_sentinel(L, idx, &pgcdc__script_null)) {
            v->how = V_NULL;
            *oid = *oid != 0 ? *oid : PGCDC_OID_TEXT;
            return 0;
        }
        if (is_sentinel(L, idx, &pgcdc__script_unchanged)) {
            v->how = V_UNCHANGED;
            *oid = *oid != 0 ? *oid : PGCDC_OID_TEXT;
            return 0;
        }
        break;
    case LUA_TBOOLEAN:
        v->how = V_ARENA;
        v->off = sr->arena.len;
        pgcdc__buf_lit(&sr->arena, lua_toboolean(L, idx) ? "t" : "f");
        *oid = PGCDC_OID_BOOL;
        break;
    case LUA_TNUMBER:
        v->how = V_ARENA;
        v->off = sr->arena.len;
        if (lua_isinteger(L, idx)) {
            char text[32];

            snprintf(text, sizeof(text), "%lld", (long long)lua_tointeger(L, idx));
            pgcdc__buf_lit(&sr->arena, text);
            if (!int_type(*oid) && !float_type(*oid))
                *oid = PGCDC_OID_INT8;
        } else {
            put_float(&sr->arena, lua_tonumber(L, idx));
            if (!float_type(*oid))
                *oid = PGCDC_OID_FLOAT8;
        }
        break;
    case LUA_TSTRING:
        v->how = V_TEXT;
        v->data = lua_tolstring(L, idx, &len);
        v->len = len;
        /* Text under a type whose JSON is not a string would not be JSON. */
        if (*oid == 0 || pgcdc__type_of(*oid)->json != PGCDC__JSON_STRING)
            *oid = PGCDC_OID_TEXT;
        return 0;
    default:
        break;
    }
    if (v->how == V_ARENA) {
        v->len = sr->arena.len - v->off;
        pgcdc__buf_u8(&sr->arena, 0);
        return 0;
    }
    snprintf(msg, n,
             "column \"%s\" is a %s (a value is a string, number, boolean, pgcdc.null or "
             "pgcdc.unchanged)",
             name, luaL_typename(L, idx));
    return -1;
}

static dcol *add_col(pgcdc__script_rows *sr, const char *name, int src, uint32_t oid)
{
    dcol *d;

    if (sr->ncols == sr->cap) {
        int cap = sr->cap > 0 ? sr->cap * 2 : 16;
        dcol *grown = realloc(sr->cols, (size_t)cap * sizeof(*grown));

        if (grown == NULL)
            return NULL;
        sr->cols = grown;
        sr->cap = cap;
    }
    d = &sr->cols[sr->ncols++];
    memset(d, 0, sizeof(*d));
    d->name = name;
    d->src = src;
    d->oid = oid;
    return d;
}

/* A value of one of the rows (r: 0 old, 1 new) at idx for column d, from the source row. */
static int take_row_value(pgcdc__script_rows *sr, lua_State *L, int idx, const pgcdc_row *row,
                          dcol *d, int r, char *msg, size_t n)
{
    uint32_t oid = d->oid;
    int rc;

    if (d->src >= 0 && same_as_source(L, idx, row, d->src)) {
        d->v[r].how = V_SOURCE;
        return 0;
    }
    if (lua_isnil(L, idx)) {
        d->v[r].how = V_NULL;
        return 0;
    }
    rc = take_value(sr, L, idx, d->name, &oid, &d->v[r], msg, n);
    /* Two rows disagreeing on a type meet in text, which holds either. */
    if (rc == 0 && oid != d->oid)
        d->oid = r == 1 || d->oid == 0 ? oid : PGCDC_OID_TEXT;
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const dcol *)a)->name, ((const dcol *)b)->name);
}

/* The columns of the main row's table at t (new, or old without one) and their values. */
static int main_row(pgcdc__script_rows *sr, lua_State *L, int t, const pgcdc_row *row, int r,
                    char *msg, size_t n)
{
    const pgcdc__relation *rel = row->rel;
    int first_added;
    int present = 0;
    int nkeys;

    for (int i = 0; i < rel->ncols; i++) {
        dcol *d;

        lua_getfield(L, t, rel->cols[i].name);
        /* nil removes the column, unless the row never had it (an old key tuple's others). */
        if (lua_isnil(L, -1) && pgcdc__row_state(row, i) != PGCDC_VALUE_ABSENT) {
            lua_pop(L, 1);
            continue;
        }
        present += !lua_isnil(L, -1);
        d = add_col(sr, rel->cols[i].name, i, rel->cols[i].type_oid);
        if (d == NULL)
            return PGCDC_ERR_NOMEM;
        if (take_row_value(sr, L, lua_gettop(L), row, d, r, msg, n) != 0)
            return -1;
        lua_pop(L, 1);
    }
    first_added = sr->ncols;
    /* Keys beyond the columns found: none (the usual case) spares the search by name. */
    nkeys = 0;
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        nkeys++;
        lua_pop(L, 1);
    }
    if (nkeys == present)
        return 0;
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        const char *name;
        int known = 0;
        dcol *d;

        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(msg, n, "a row's keys are column names (strings), not %ss",
                     luaL_typename(L, -2));
            lua_pop(L, 2);
            return -1;
        }
        name = lua_tostring(L, -2);
        for (int i = 0; i < rel->ncols && !known; i++)
            known = strcmp(rel->cols[i].name, name) == 0;
        if (!known) {
            d = add_col(sr, name, -1, 0);
            if (d == NULL) {
                lua_pop(L, 2);
                return PGCDC_ERR_NOMEM;
            }
            if (take_row_value(sr, L, lua_gettop(L), row, d, r, msg, n) != 0) {
                lua_pop(L, 2);
                return -1;
            }
        }
        lua_pop(L, 1);
    }
    /* Added columns in name order: a table's order is no order. */
    qsort(sr->cols + first_added, (size_t)(sr->ncols - first_added), sizeof(*sr->cols), by_name);
    return 0;
}

/* The other row (old, of an UPDATE) under the main row's columns. */
static int other_row(pgcdc__script_rows *sr, lua_State *L, int t, const pgcdc_row *row, char *msg,
                     size_t n)
{
    for (int i = 0; i < sr->ncols; i++) {
        dcol *d = &sr->cols[i];

        lua_getfield(L, t, d->name);
        if (lua_isnil(L, -1) &&
            (d->src < 0 || pgcdc__row_state(row, d->src) == PGCDC_VALUE_ABSENT)) {
            /* An added column in an old key tuple is absent by being no key column. */
            d->v[0].how = row->key_only ? V_SOURCE : V_NULL;
        } else if (take_row_value(sr, L, lua_gettop(L), row, d, 0, msg, n) != 0) {
            lua_pop(L, 1);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* The signature of the made relation: everything a format reads of it. */
static void make_sig(pgcdc__script_rows *sr, const pgcdc__relation *src)
{
    pgcdc__buf *b = &sr->sig;

    pgcdc__buf_reset(b);
    pgcdc__buf_u32(b, src->relid);
    pgcdc__buf_str(b, src->schema);
    pgcdc__buf_u8(b, 0);
    pgcdc__buf_str(b, src->name);
    pgcdc__buf_u8(b, 0);
    pgcdc__buf_u32(b, (uint32_t)src->npk);
    for (int i = 0; i < sr->ncols; i++) {
        const dcol *d = &sr->cols[i];

        pgcdc__buf_str(b, d->name);
        pgcdc__buf_u8(b, 0);
        pgcdc__buf_u32(b, d->oid);
        pgcdc__buf_u32(b, (uint32_t)d->src);
        if (d->src >= 0) {
            const pgcdc__relcol_info *ci = &src->cols[d->src];

            pgcdc__buf_u32(b, ci->sent_oid);
            pgcdc__buf_u32(b, (uint32_t)ci->typmod);
            pgcdc__buf_u8(b, (uint8_t)(ci->is_key * 4 + ci->is_ident * 2 + (ci->not_null == 1)));
            if (ci->type_name != NULL)
                pgcdc__buf_str(b, ci->type_name);
            pgcdc__buf_u8(b, 0);
        }
    }
}

/* Column d of the made relation: the source's as it is, or retyped, or an added one. */
static int make_relcol(pgcdc__relcol_info *dst, const pgcdc__relation *src, const dcol *d)
{
    char type_name[64];

    memset(dst, 0, sizeof(*dst));
    if (d->src >= 0)
        *dst = src->cols[d->src];
    else
        dst->not_null = -1;
    dst->name = strdup(d->name);
    dst->type_name = NULL;
    if (dst->name == NULL)
        return -1;
    if (d->src >= 0 && d->oid == dst->type_oid) {
        if (src->cols[d->src].type_name != NULL) {
            dst->type_name = strdup(src->cols[d->src].type_name);
            return dst->type_name == NULL ? -1 : 0;
        }
        return 0;
    }
    pgcdc__relcol_set_type(dst, d->oid);
    dst->sent_oid = d->oid;
    dst->typmod = -1;
    if (pgcdc__type_name(d->oid, -1, type_name, sizeof(type_name)) == 0)
        snprintf(type_name, sizeof(type_name), "text");
    dst->type_name = strdup(type_name);
    return dst->type_name == NULL ? -1 : 0;
}

/* Source column indexes (keys, primary key) renumbered to the made columns. */
static int remap(const pgcdc__script_rows *sr, const int *src, int n, int *dst)
{
    int m = 0;

    for (int k = 0; k < n; k++) {
        for (int i = 0; i < sr->ncols; i++) {
            if (sr->cols[i].src == src[k])
                dst[m++] = i;
        }
    }
    return m;
}

static pgcdc__relation *make_rel(const pgcdc__script_rows *sr, const pgcdc__relation *src)
{
    size_t n = (size_t)sr->ncols;
    pgcdc__relation *rel = pgcdc__relation_derive(src, n, n + (size_t)src->nkeys,
                                                  n + (size_t)(src->npk > 0 ? src->npk : 0));

    if (rel == NULL)
        return NULL;
    for (int i = 0; i < sr->ncols; i++) {
        rel->ncols++;
        if (make_relcol(&rel->cols[i], src, &sr->cols[i]) != 0)
            goto fail;
    }
    rel->nkeys = remap(sr, src->keys, src->nkeys, rel->keys);
    rel->npk = src->npk < 0 ? -1 : remap(sr, src->pk, src->npk, rel->pk);
    return rel;
fail:
    pgcdc__relation_free(rel);
    return NULL;
}

/* The made relation for these columns: the one made before for the same, or a new one. */
static pgcdc__relation *find_rel(pgcdc__script_rows *sr, const pgcdc__relation *src)
{
    cached_rel *grown;
    cached_rel *e;

    make_sig(sr, src);
    if (sr->sig.oom)
        return NULL;
    for (int i = 0; i < sr->nrels; i++) {
        e = &sr->rels[i];
        if (e->siglen == sr->sig.len && memcmp(e->sig, sr->sig.data, e->siglen) == 0)
            return e->rel;
    }
    /* Between changes nothing holds a made relation: they can all go. */
    if (sr->nrels == REL_CACHE_MAX)
        drop_rels(sr);
    grown = realloc(sr->rels, (size_t)(sr->nrels + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    sr->rels = grown;
    e = &sr->rels[sr->nrels];
    e->siglen = sr->sig.len;
    e->sig = malloc(e->siglen + 1);
    if (e->sig == NULL)
        return NULL;
    memcpy(e->sig, sr->sig.data, e->siglen);
    e->rel = make_rel(sr, src);
    if (e->rel == NULL) {
        free(e->sig);
        return NULL;
    }
    sr->nrels++;
    return e->rel;
}

/* Row r (0 old, 1 new) of the made change from the source row and the values taken. */
static void fill_row(pgcdc__script_rows *sr, pgcdc_row *dst, const pgcdc_row *src,
                     const pgcdc__relation *rel, pgcdc__col *cols, int r)
{
    dst->rel = rel;
    dst->cols = cols;
    dst->key_only = src->key_only;
    dst->texts = src->texts;
    for (int i = 0; i < sr->ncols; i++) {
        const dcol *d = &sr->cols[i];
        const value *v = &d->v[r];

        cols[i].kind = PGCDC_COL_TEXT;
        switch (v->how) {
        case V_SOURCE:
            if (d->src < 0) {
                cols[i].kind = PGCDC_COL_NULL;
                cols[i].data = NULL;
                cols[i].len = 0;
            } else if (d->oid != src->rel->cols[d->src].type_oid &&
                       pgcdc__row_state(src, d->src) == PGCDC_VALUE_PRESENT) {
                /* Retyped: the value's text, which the new type holds. */
                cols[i] = *pgcdc__row_text_col(src, d->src);
            } else {
                cols[i] = src->cols[d->src];
            }
            break;
        case V_TEXT:
            cols[i].data = v->data;
            cols[i].len = (uint32_t)v->len;
            break;
        case V_ARENA:
            cols[i].data = (const char *)sr->arena.data + v->off;
            cols[i].len = (uint32_t)v->len;
            break;
        case V_NULL:
            cols[i].kind = PGCDC_COL_NULL;
            cols[i].data = NULL;
            cols[i].len = 0;
            break;
        default:
            cols[i].kind = PGCDC_COL_UNCHANGED;
            cols[i].data = NULL;
            cols[i].len = 0;
            break;
        }
    }
}

int pgcdc__script_rows_apply(pgcdc__script_rows *sr, lua_State *L, const pgcdc_change *c,
                             int new_idx, int old_idx, const pgcdc_change **out, char *msg,
                             size_t n)
{
    const pgcdc_row *main = c->has_new ? &c->new_row : &c->old_row;
    int main_idx = c->has_new ? new_idx : old_idx;
    const pgcdc__relation *rel;
    int r;

    *out = c;
    if (main_idx == 0)
        return 1; /* a TRUNCATE: no row */
    if (lua_type(L, main_idx) != LUA_TTABLE ||
        (c->has_new && c->has_old && lua_type(L, old_idx) != LUA_TTABLE)) {
        snprintf(msg, n, "event.%s is a %s, not a table of columns",
                 lua_type(L, main_idx) != LUA_TTABLE ? (c->has_new ? "new" : "old") : "old",
                 luaL_typename(L, lua_type(L, main_idx) != LUA_TTABLE ? main_idx : old_idx));
        return -1;
    }
    sr->ncols = 0;
    pgcdc__buf_reset(&sr->arena);
    r = main_row(sr, L, main_idx, main, c->has_new ? 1 : 0, msg, n);
    if (r == 0 && c->has_new && c->has_old)
        r = other_row(sr, L, old_idx, &c->old_row, msg, n);
    if (r != 0)
        return r;
    if (sr->arena.oom)
        return PGCDC_ERR_NOMEM;
    rel = find_rel(sr, c->rel);
    if (rel == NULL)
        return PGCDC_ERR_NOMEM;
    if (sr->cap_out < 2 * sr->ncols) {
        pgcdc__col *grown = realloc(sr->out_cols, (size_t)(2 * sr->ncols) * sizeof(*grown));

        if (grown == NULL)
            return PGCDC_ERR_NOMEM;
        sr->out_cols = grown;
        sr->cap_out = 2 * sr->ncols;
    }
    sr->change = *c;
    sr->change.rel = rel;
    if (c->has_old)
        fill_row(sr, &sr->change.old_row, &c->old_row, rel, sr->out_cols, 0);
    if (c->has_new)
        fill_row(sr, &sr->change.new_row, &c->new_row, rel, sr->out_cols + sr->ncols, 1);
    *out = &sr->change;
    return 1;
}
