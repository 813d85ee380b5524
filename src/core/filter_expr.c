/*
 * Row filter expressions: a recursive-descent parser into an array of
 * nodes, an evaluator over the sets of possible outcomes (so that a value a
 * row does not carry counts as any value), and the SQL writer for a
 * publication's row filter.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/filter_expr.h"
#include "wire/types.h"
#include "wire/value.h"

enum { N_AND, N_OR, N_NOT, N_CMP, N_ISNULL, N_IN };
enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum { L_NUM, L_STR, L_BOOL, L_NULL };
enum { T_END, T_WORD, T_QUOTED, T_NUM, T_STR, T_OP, T_LPAREN, T_RPAREN, T_COMMA };

typedef struct lit {
    const char *text; /* as written (a string unquoted), NUL-terminated in store */
    int type;         /* L_* */
    int bval;         /* L_BOOL */
} lit;

typedef struct node {
    int kind; /* N_* */
    int op;   /* N_CMP: OP_* */
    int neg;  /* N_ISNULL, N_IN: IS NOT NULL, NOT IN */
    int a, b; /* children: AND, OR (a, b), NOT (a) */
    int col;  /* N_CMP, N_ISNULL, N_IN: the column */
    int lit;  /* N_CMP, N_IN: the first literal */
    int nlit;
} node;

struct pgcdc__fexpr {
    node *nodes;
    int nnodes;
    int cap;
    lit *lits;
    int nlits;
    int caplits;
    const char **cols;
    int ncols;
    char *store; /* names and literal texts, NUL-terminated each */
    size_t used;
    int root;
};

typedef struct parser {
    pgcdc__fexpr *e;
    const char *text;
    const char *p;
    int tok;           /* T_* of the current token */
    const char *start; /* where it begins */
    const char *val;   /* T_WORD, T_QUOTED, T_NUM, T_STR: its text in store; T_OP: the op */
    int op;
    char *err;
    size_t errlen;
    int failed; /* -1 syntax, -2 out of memory */
} parser;

static int fail(parser *ps, const char *at, const char *what)
{
    if (ps->failed == 0)
        snprintf(ps->err, ps->errlen, "at character %d: %s", (int)(at - ps->text) + 1, what);
    if (ps->failed == 0)
        ps->failed = -1;
    return -1;
}

static char *store_begin(parser *ps)
{
    return ps->e->store + ps->e->used;
}

static void store_end(parser *ps, char *end)
{
    *end = '\0';
    ps->e->used = (size_t)(end + 1 - ps->e->store);
}

static int is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* A number as SQL writes one: [-+]digits[.digits][e[-+]digits], or .digits. */
static const char *scan_number(const char *s)
{
    const char *p = s;
    int digits = 0;

    if (*p == '-' || *p == '+')
        p++;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return NULL;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;

        if (*q == '-' || *q == '+')
            q++;
        if (!isdigit((unsigned char)*q))
            return NULL;
        while (isdigit((unsigned char)*q))
            q++;
        p = q;
    }
    return is_word_char(*p) || *p == '.' ? NULL : p;
}

/* The comparison operator at s (one of = <> != < <= > >=). */
static int op_at(const char *s)
{
    if (s[0] == '=')
        return OP_EQ;
    if (s[0] == '!' || (s[0] == '<' && s[1] == '>'))
        return OP_NE;
    if (s[0] == '<')
        return s[1] == '=' ? OP_LE : OP_LT;
    return s[1] == '=' ? OP_GE : OP_GT;
}

static int next(parser *ps)
{
    const char *s = ps->p;
    char *out;

    while (isspace((unsigned char)*s))
        s++;
    ps->start = s;
    ps->val = NULL;
    if (*s == '\0') {
        ps->tok = T_END;
        ps->p = s;
        return 0;
    }
    if (*s == '(' || *s == ')' || *s == ',') {
        ps->tok = *s == '(' ? T_LPAREN : *s == ')' ? T_RPAREN : T_COMMA;
        ps->p = s + 1;
        return 0;
    }
    if (*s == '=' || *s == '<' || *s == '>' || (*s == '!' && s[1] == '=')) {
        ps->tok = T_OP;
        ps->op = op_at(s);
        /* Two characters: <> != <= >=; one: = < >. */
        s += (s[0] != '=' && s[1] == '=') || (s[0] == '<' && s[1] == '>') ? 2 : 1;
        ps->p = s;
        return 0;
    }
    out = store_begin(ps);
    if (*s == '\'' || *s == '"') {
        char q = *s;

        for (s++; *s != q || s[1] == q; s++) {
            if (*s == '\0')
                return fail(ps, ps->start,
                            q == '\'' ? "a text literal has no closing quote (write a quote "
                                        "inside it as '')"
                                      : "a quoted column name has no closing quote");
            if (*s == q)
                s++;
            *out++ = *s;
        }
        ps->tok = q == '\'' ? T_STR : T_QUOTED;
        if (q == '"' && out == store_begin(ps))
            return fail(ps, ps->start, "a quoted column name is empty");
        ps->val = store_begin(ps);
        store_end(ps, out);
        ps->p = s + 1;
        return 0;
    }
    if (isdigit((unsigned char)*s) || *s == '.' || *s == '-' || *s == '+') {
        const char *end = scan_number(s);

        if (end == NULL)
            return fail(ps, s, "not a number");
        memcpy(out, s, (size_t)(end - s));
        ps->tok = T_NUM;
        ps->val = store_begin(ps);
        store_end(ps, out + (end - s));
        ps->p = end;
        return 0;
    }
    if (is_word_char(*s)) {
        while (is_word_char(*s))
            *out++ = (char)tolower((unsigned char)*s++);
        ps->tok = T_WORD;
        ps->val = store_begin(ps);
        store_end(ps, out);
        ps->p = s;
        return 0;
    }
    return fail(ps, s,
                "unexpected character (the filter takes columns compared with literals, "
                "IS [NOT] NULL, IN (...), AND, OR, NOT and parentheses)");
}

static int is_kw(const parser *ps, const char *kw)
{
    return ps->tok == T_WORD && strcmp(ps->val, kw) == 0;
}

static int is_reserved(const char *w)
{
    static const char *const words[] = {"and", "or", "not", "is", "null", "in", "true", "false"};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(w, words[i]) == 0)
            return 1;
    }
    return 0;
}

static int add_node(parser *ps, const node *n)
{
    pgcdc__fexpr *e = ps->e;

    if (e->nnodes == e->cap) {
        int cap = e->cap > 0 ? e->cap * 2 : 8;
        node *grown = realloc(e->nodes, (size_t)cap * sizeof(*grown));

        if (grown == NULL) {
            ps->failed = -2;
            return -1;
        }
        e->nodes = grown;
        e->cap = cap;
    }
    e->nodes[e->nnodes] = *n;
    return e->nnodes++;
}

static int add_lit(parser *ps)
{
    pgcdc__fexpr *e = ps->e;
    lit *l;

    if (e->nlits == e->caplits) {
        int cap = e->caplits > 0 ? e->caplits * 2 : 8;
        lit *grown = realloc(e->lits, (size_t)cap * sizeof(*grown));

        if (grown == NULL) {
            ps->failed = -2;
            return -1;
        }
        e->lits = grown;
        e->caplits = cap;
    }
    l = &e->lits[e->nlits];
    memset(l, 0, sizeof(*l));
    l->text = ps->val;
    if (ps->tok == T_NUM) {
        l->type = L_NUM;
    } else if (ps->tok == T_STR) {
        l->type = L_STR;
    } else if (is_kw(ps, "true") || is_kw(ps, "false")) {
        l->type = L_BOOL;
        l->bval = is_kw(ps, "true");
    } else if (is_kw(ps, "null")) {
        l->type = L_NULL;
    } else {
        return fail(ps, ps->start, "expected a literal: a number, 'text', TRUE, FALSE or NULL");
    }
    e->nlits++;
    return next(ps) == 0 ? e->nlits - 1 : -1;
}

static int col_ref(parser *ps, const char *name)
{
    pgcdc__fexpr *e = ps->e;

    for (int i = 0; i < e->ncols; i++) {
        if (strcmp(e->cols[i], name) == 0)
            return i;
    }
    if (e->ncols % 8 == 0) {
        const char **grown = realloc(e->cols, (size_t)(e->ncols + 8) * sizeof(*grown));

        if (grown == NULL) {
            ps->failed = -2;
            return -1;
        }
        e->cols = grown;
    }
    e->cols[e->ncols] = name;
    return e->ncols++;
}

static int parse_or(parser *ps);

/* column pred */
static int parse_pred(parser *ps)
{
    node n = {0};
    const char *at = ps->start;

    if (ps->tok != T_QUOTED && !(ps->tok == T_WORD && !is_reserved(ps->val)))
        return fail(ps, at, "expected a column name");
    n.col = col_ref(ps, ps->val);
    if (n.col < 0 || next(ps) < 0)
        return -1;
    at = ps->start;
    if (ps->tok == T_OP) {
        n.kind = N_CMP;
        n.op = ps->op;
        if (next(ps) < 0)
            return -1;
        n.lit = add_lit(ps);
        n.nlit = 1;
        return n.lit < 0 ? -1 : add_node(ps, &n);
    }
    if (is_kw(ps, "is")) {
        n.kind = N_ISNULL;
        if (next(ps) < 0)
            return -1;
        if (is_kw(ps, "not")) {
            n.neg = 1;
            if (next(ps) < 0)
                return -1;
        }
        if (!is_kw(ps, "null"))
            return fail(ps, ps->start, "expected NULL after IS or IS NOT");
        return next(ps) < 0 ? -1 : add_node(ps, &n);
    }
    if (is_kw(ps, "not")) {
        n.neg = 1;
        if (next(ps) < 0)
            return -1;
    }
    if (!is_kw(ps, "in"))
        return fail(ps, ps->start,
                    n.neg ? "expected IN after NOT"
                          : "expected an operator (= <> != < <= > >=), IS [NOT] NULL or "
                            "[NOT] IN (...) after the column");
    n.kind = N_IN;
    if (next(ps) < 0)
        return -1;
    if (ps->tok != T_LPAREN)
        return fail(ps, ps->start, "expected ( after IN");
    do {
        int l;

        if (next(ps) < 0)
            return -1;
        l = add_lit(ps);
        if (l < 0)
            return -1;
        if (n.nlit++ == 0)
            n.lit = l;
    } while (ps->tok == T_COMMA);
    if (ps->tok != T_RPAREN)
        return fail(ps, ps->start, "expected , or ) in the IN list");
    return next(ps) < 0 ? -1 : add_node(ps, &n);
}

static int parse_not(parser *ps)
{
    if (is_kw(ps, "not")) {
        node n = {0};

        if (next(ps) < 0)
            return -1;
        n.kind = N_NOT;
        n.a = parse_not(ps);
        return n.a < 0 ? -1 : add_node(ps, &n);
    }
    if (ps->tok == T_LPAREN) {
        int r;

        if (next(ps) < 0)
            return -1;
        r = parse_or(ps);
        if (r < 0)
            return -1;
        if (ps->tok != T_RPAREN)
            return fail(ps, ps->start, "expected )");
        return next(ps) < 0 ? -1 : r;
    }
    return parse_pred(ps);
}

static int parse_and(parser *ps)
{
    int left = parse_not(ps);

    while (left >= 0 && is_kw(ps, "and")) {
        node n = {0};

        if (next(ps) < 0)
            return -1;
        n.kind = N_AND;
        n.a = left;
        n.b = parse_not(ps);
        left = n.b < 0 ? -1 : add_node(ps, &n);
    }
    return left;
}

static int parse_or(parser *ps)
{
    int left = parse_and(ps);

    while (left >= 0 && is_kw(ps, "or")) {
        node n = {0};

        if (next(ps) < 0)
            return -1;
        n.kind = N_OR;
        n.a = left;
        n.b = parse_and(ps);
        left = n.b < 0 ? -1 : add_node(ps, &n);
    }
    return left;
}

int pgcdc__fexpr_parse(const char *text, pgcdc__fexpr **out, char *err, size_t errlen)
{
    parser ps = {0};
    size_t n = strlen(text);

    *out = NULL;
    ps.e = calloc(1, sizeof(*ps.e));
    if (ps.e == NULL)
        return -2;
    /* Every token's text fits in its own length plus its NUL. */
    ps.e->store = malloc(2 * n + 2);
    if (ps.e->store == NULL) {
        free(ps.e);
        return -2;
    }
    ps.text = ps.p = text;
    ps.err = err;
    ps.errlen = errlen;
    if (next(&ps) == 0 && ps.tok == T_END)
        fail(&ps, ps.start, "the filter is empty");
    if (ps.failed == 0)
        ps.e->root = parse_or(&ps);
    if (ps.failed == 0 && ps.tok != T_END)
        fail(&ps, ps.start, "expected AND, OR or the end of the filter");
    if (ps.failed != 0) {
        if (ps.failed == -2 && errlen > 0)
            snprintf(err, errlen, "out of memory");
        pgcdc__fexpr_free(ps.e);
        return ps.failed;
    }
    *out = ps.e;
    return 0;
}

void pgcdc__fexpr_free(pgcdc__fexpr *e)
{
    if (e == NULL)
        return;
    free(e->nodes);
    free(e->lits);
    free(e->cols);
    free(e->store);
    free(e);
}

int pgcdc__fexpr_ncols(const pgcdc__fexpr *e)
{
    return e->ncols;
}

const char *pgcdc__fexpr_col(const pgcdc__fexpr *e, int i)
{
    return i >= 0 && i < e->ncols ? e->cols[i] : NULL;
}

/* How a column's values compare. */
enum { C_TEXT, C_NUM, C_BOOL };

static int class_of(unsigned type_oid)
{
    switch (type_oid) {
    case PGCDC_OID_INT2:
    case PGCDC_OID_INT4:
    case PGCDC_OID_INT8:
    case PGCDC_OID_OID:
    case PGCDC_OID_FLOAT4:
    case PGCDC_OID_FLOAT8:
    case PGCDC_OID_NUMERIC:
        return C_NUM;
    case PGCDC_OID_BOOL:
        return C_BOOL;
    default:
        return C_TEXT;
    }
}

const char *pgcdc__fexpr_misfit(const pgcdc__fexpr *e, int i, unsigned type_oid)
{
    int cls = class_of(type_oid);

    for (int k = 0; k < e->nnodes; k++) {
        const node *n = &e->nodes[k];

        if ((n->kind != N_CMP && n->kind != N_IN) || n->col != i)
            continue;
        for (int j = n->lit; j < n->lit + n->nlit; j++) {
            const lit *l = &e->lits[j];
            int b;

            if (l->type == L_NULL)
                continue;
            if (cls == C_NUM && l->type != L_NUM &&
                !(l->type == L_STR && scan_number(l->text) != NULL &&
                  *scan_number(l->text) == '\0'))
                return l->text;
            if (cls == C_BOOL && l->type != L_BOOL &&
                pgcdc__parse_bool(l->text, strlen(l->text), &b) != 0)
                return l->text;
        }
    }
    return NULL;
}

/* Exact comparison of two plain decimals ([-+]digits[.digits]). */
static int decimal_cmp(const char *a, const char *b)
{
    int neg_a = *a == '-';
    int neg_b = *b == '-';
    size_t ia, ib;
    int r = 0;

    a += *a == '-' || *a == '+';
    b += *b == '-' || *b == '+';
    while (*a == '0')
        a++;
    while (*b == '0')
        b++;
    ia = strcspn(a, ".");
    ib = strcspn(b, ".");
    if (ia != ib) {
        r = ia < ib ? -1 : 1;
    } else {
        r = strncmp(a, b, ia);
        if (r == 0) {
            const char *fa = a[ia] == '.' ? a + ia + 1 : "";
            const char *fb = b[ib] == '.' ? b + ib + 1 : "";

            while (r == 0 && (*fa != '\0' || *fb != '\0')) {
                char ca = *fa != '\0' ? *fa++ : '0';
                char cb = *fb != '\0' ? *fb++ : '0';

                r = (ca > cb) - (ca < cb);
            }
        }
        r = (r > 0) - (r < 0);
    }
    /* Zero has no sign. */
    if (r == 0 && neg_a != neg_b) {
        int zero = strspn(a, "0.") == strlen(a) && strspn(b, "0.") == strlen(b);

        return zero ? 0 : neg_a ? -1 : 1;
    }
    if (neg_a != neg_b)
        return neg_a ? -1 : 1;
    return neg_a ? -r : r;
}

/* A number's text against a literal's: exact for decimals, as doubles otherwise (NaN last). */
static int number_cmp(const char *v, size_t len, const char *l)
{
    const char *end = scan_number(v);
    double dv, dl;

    if (end == v + len && strpbrk(v, "eE") == NULL && strpbrk(l, "eE") == NULL)
        return decimal_cmp(v, l);
    if (pgcdc__parse_double(v, len, &dv) == -1)
        dv = NAN;
    if (pgcdc__parse_double(l, strlen(l), &dl) == -1)
        dl = NAN;
    if (isnan(dv) || isnan(dl))
        return isnan(dv) && isnan(dl) ? 0 : isnan(dv) ? 1 : -1;
    return (dv > dl) - (dv < dl);
}

static int holds(int cmp, int op)
{
    switch (op) {
    case OP_EQ:
        return cmp == 0;
    case OP_NE:
        return cmp != 0;
    case OP_LT:
        return cmp < 0;
    case OP_LE:
        return cmp <= 0;
    case OP_GT:
        return cmp > 0;
    default:
        return cmp >= 0;
    }
}

/* One comparison of a present value with a literal: a single outcome. */
static int compare(const pgcdc__col *v, int cls, const lit *l, int op)
{
    int cmp;

    if (l->type == L_NULL)
        return PGCDC__FX_NULL;
    if (cls == C_NUM) {
        cmp = number_cmp(v->data, v->len, l->text);
    } else if (cls == C_BOOL) {
        int a = 0;
        int b = l->bval;

        pgcdc__parse_bool(v->data, v->len, &a);
        if (l->type != L_BOOL)
            pgcdc__parse_bool(l->text, strlen(l->text), &b);
        cmp = (a > b) - (a < b);
    } else {
        size_t n = strlen(l->text);
        size_t m = v->len < n ? v->len : n;

        cmp = memcmp(v->data, l->text, m);
        if (cmp == 0)
            cmp = (v->len > n) - (v->len < n);
    }
    return holds(cmp, op) ? PGCDC__FX_TRUE : PGCDC__FX_FALSE;
}

/* Kleene's AND and OR over sets of outcomes (bits F=1, N=2, T=4). */
static int and3(int x, int y)
{
    if (x == PGCDC__FX_FALSE || y == PGCDC__FX_FALSE)
        return PGCDC__FX_FALSE;
    return x == PGCDC__FX_NULL || y == PGCDC__FX_NULL ? PGCDC__FX_NULL : PGCDC__FX_TRUE;
}

static int or3(int x, int y)
{
    if (x == PGCDC__FX_TRUE || y == PGCDC__FX_TRUE)
        return PGCDC__FX_TRUE;
    return x == PGCDC__FX_NULL || y == PGCDC__FX_NULL ? PGCDC__FX_NULL : PGCDC__FX_FALSE;
}

static int combine(int xs, int ys, int (*f)(int, int))
{
    int out = 0;

    for (int x = 1; x <= 4; x <<= 1) {
        for (int y = 1; y <= 4; y <<= 1) {
            if ((xs & x) && (ys & y))
                out |= f(x, y);
        }
    }
    return out;
}

static int negate(int s)
{
    return (s & PGCDC__FX_NULL) | (s & PGCDC__FX_TRUE ? PGCDC__FX_FALSE : 0) |
           (s & PGCDC__FX_FALSE ? PGCDC__FX_TRUE : 0);
}

static int eval(const pgcdc__fexpr *e, int k, const pgcdc_row *row, const int *cols)
{
    const node *n = &e->nodes[k];
    const pgcdc__col *v = NULL;
    int idx, cls, state, out;

    switch (n->kind) {
    case N_AND:
        return combine(eval(e, n->a, row, cols), eval(e, n->b, row, cols), and3);
    case N_OR:
        return combine(eval(e, n->a, row, cols), eval(e, n->b, row, cols), or3);
    case N_NOT:
        return negate(eval(e, n->a, row, cols));
    }
    idx = cols[n->col];
    state = idx < 0 ? PGCDC_VALUE_ABSENT : pgcdc__row_state(row, idx);
    if (state == PGCDC_VALUE_ABSENT || state == PGCDC_VALUE_UNCHANGED)
        return n->kind == N_ISNULL ? PGCDC__FX_TRUE | PGCDC__FX_FALSE
                                   : PGCDC__FX_TRUE | PGCDC__FX_FALSE | PGCDC__FX_NULL;
    if (n->kind == N_ISNULL)
        return (state == PGCDC_VALUE_NULL) != n->neg ? PGCDC__FX_TRUE : PGCDC__FX_FALSE;
    if (state == PGCDC_VALUE_NULL)
        return PGCDC__FX_NULL;
    v = pgcdc__row_text_col(row, idx);
    cls = class_of(row->rel->cols[idx].type_oid);
    if (n->kind == N_CMP)
        return compare(v, cls, &e->lits[n->lit], n->op);
    out = PGCDC__FX_FALSE;
    for (int j = n->lit; j < n->lit + n->nlit && out != PGCDC__FX_TRUE; j++)
        out = or3(out, compare(v, cls, &e->lits[j], OP_EQ));
    return n->neg ? negate(out) : out;
}

int pgcdc__fexpr_eval(const pgcdc__fexpr *e, const pgcdc_row *row, const int *cols)
{
    return eval(e, e->root, row, cols);
}

static void sql_quoted(pgcdc__buf *out, const char *s, char q)
{
    pgcdc__buf_u8(out, (uint8_t)q);
    for (; *s != '\0'; s++) {
        if (*s == q)
            pgcdc__buf_u8(out, (uint8_t)q);
        pgcdc__buf_u8(out, (uint8_t)*s);
    }
    pgcdc__buf_u8(out, (uint8_t)q);
}

static void sql_lit(pgcdc__buf *out, const lit *l)
{
    /* A quoted literal takes the column's type on the server, as a number or a boolean would. */
    if (l->type == L_NULL)
        pgcdc__buf_lit(out, "NULL");
    else if (l->type == L_BOOL)
        pgcdc__buf_lit(out, l->bval ? "true" : "false");
    else
        sql_quoted(out, l->text, '\'');
}

static void sql(const pgcdc__fexpr *e, int k, pgcdc__buf *out)
{
    static const char *const ops[] = {" = ", " <> ", " < ", " <= ", " > ", " >= "};
    const node *n = &e->nodes[k];

    switch (n->kind) {
    case N_AND:
    case N_OR:
        pgcdc__buf_u8(out, '(');
        sql(e, n->a, out);
        pgcdc__buf_lit(out, n->kind == N_AND ? " AND " : " OR ");
        sql(e, n->b, out);
        pgcdc__buf_u8(out, ')');
        return;
    case N_NOT:
        pgcdc__buf_lit(out, "(NOT ");
        sql(e, n->a, out);
        pgcdc__buf_u8(out, ')');
        return;
    }
    pgcdc__buf_u8(out, '(');
    sql_quoted(out, e->cols[n->col], '"');
    if (n->kind == N_ISNULL) {
        pgcdc__buf_lit(out, n->neg ? " IS NOT NULL)" : " IS NULL)");
        return;
    }
    if (n->kind == N_CMP) {
        pgcdc__buf_lit(out, ops[n->op]);
        sql_lit(out, &e->lits[n->lit]);
        pgcdc__buf_u8(out, ')');
        return;
    }
    pgcdc__buf_lit(out, n->neg ? " NOT IN (" : " IN (");
    for (int j = n->lit; j < n->lit + n->nlit; j++) {
        if (j > n->lit)
            pgcdc__buf_lit(out, ", ");
        sql_lit(out, &e->lits[j]);
    }
    pgcdc__buf_lit(out, "))");
}

void pgcdc__fexpr_sql(const pgcdc__fexpr *e, pgcdc__buf *out)
{
    sql(e, e->root, out);
}
