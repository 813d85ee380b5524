/*
 * Row filter expressions (filter.where.<table>): a small subset of SQL,
 * parsed once into a tree, evaluated on the rows of a change, and written
 * back as SQL for a PostgreSQL 15 publication's row filter.
 *
 *   expr   := or
 *   or     := and { OR and }
 *   and    := not { AND not }
 *   not    := NOT not | '(' expr ')' | column pred
 *   pred   := op literal | IS [NOT] NULL | [NOT] IN '(' literal { ',' literal } ')'
 *   op     := = | <> | != | < | <= | > | >=
 *   literal:= number | 'text' ('' for a quote) | TRUE | FALSE | NULL
 *   column := name (folded to lower case, as SQL does) | "Quoted Name"
 *
 * Keywords take any case.  A numeric column compares as a number, a boolean
 * as a boolean, every other type as text (byte order).  NULL follows SQL: a
 * comparison with it is unknown, and unknown does not match.
 */
#ifndef PGCDC_CORE_FILTER_EXPR_H
#define PGCDC_CORE_FILTER_EXPR_H

#include <stddef.h>

#include "base/buf.h"
#include "core/row.h"

typedef struct pgcdc__fexpr pgcdc__fexpr;

/* Outcomes of an evaluation, as a set: a value the row lacks may be any. */
#define PGCDC__FX_FALSE 1
#define PGCDC__FX_NULL 2
#define PGCDC__FX_TRUE 4

/*
 * Parses text.  0 with *out set; -1 with a one-line reason in err ("at
 * character 12: ..."); -2 when out of memory.
 */
int pgcdc__fexpr_parse(const char *text, pgcdc__fexpr **out, char *err, size_t errlen);
void pgcdc__fexpr_free(pgcdc__fexpr *e);
/* The distinct columns the expression names, from 0. */
int pgcdc__fexpr_ncols(const pgcdc__fexpr *e);
const char *pgcdc__fexpr_col(const pgcdc__fexpr *e, int i);
/*
 * Whether the literals compared with column i suit a column of this type
 * (numbers for a numeric column, booleans for a boolean one): NULL, or the
 * first literal that does not (as written in the expression).
 */
const char *pgcdc__fexpr_misfit(const pgcdc__fexpr *e, int i, unsigned type_oid);
/*
 * Evaluates on row: cols[i] is the row's index of the expression's column
 * i, or -1 when the row has no such column.  A column the row does not
 * carry (absent, unchanged TOAST, or -1) may be any value.  Returns the set
 * of possible outcomes (PGCDC__FX_*).
 */
int pgcdc__fexpr_eval(const pgcdc__fexpr *e, const pgcdc_row *row, const int *cols);
/* The expression as SQL for a publication's WHERE: quoted names and literals. */
void pgcdc__fexpr_sql(const pgcdc__fexpr *e, pgcdc__buf *out);

#endif /* PGCDC_CORE_FILTER_EXPR_H */
