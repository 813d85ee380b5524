/*
 * Schema changes of the transaction assembly (see txn_int.h): the event
 * handed out before a table's first change with a new shape, and the DDL
 * statements the capture's pgcdc.ddl messages bring for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/txn_int.h"

/* Whether text's last line(s) are the len bytes at s. */
static int ends_with_line(const char *text, const char *s, size_t len)
{
    size_t tl = strlen(text);

    return tl >= len && memcmp(text + tl - len, s, len) == 0 &&
           (tl == len || text[tl - len - 1] == '\n');
}

/* Takes the DDL statements captured for relid, or NULL. */
static char *take_ddl(pgcdc__assembly *ta, uint32_t relid)
{
    for (size_t i = 0; i < ta->nddl; i++) {
        char *text = ta->ddl[i].text;

        if (ta->ddl[i].relid != relid)
            continue;
        memmove(&ta->ddl[i], &ta->ddl[i + 1], (ta->nddl - i - 1) * sizeof(*ta->ddl));
        ta->nddl--;
        return text;
    }
    return NULL;
}

/*
 * A change of rel that is not handed out (skipped, or of a table not
 * listed): so is the schema change before it.  Returns 0.
 */
int pgcdc__txn_shape_seen(pgcdc__assembly *ta, pgcdc__relation *rel)
{
    if (rel->before == NULL)
        return 0;
    free(take_ddl(ta, rel->relid));
    pgcdc__relation_free(rel->before);
    rel->before = NULL;
    return 0;
}

/*
 * The schema change before rel's next change: rel's shape and the one it
 * replaced, no values, the seq the change will take (it takes none: a
 * transaction sent again resumes by the changes' seq, and a shape seen on
 * an earlier connection may come between).  The message is dispatched again
 * for the change itself.  Returns 1.
 */
int pgcdc__txn_schema_change(pgcdc__assembly *ta, pgcdc__event *ev, pgcdc__relation *rel,
                             uint64_t lsn)
{
    pgcdc_change *c = &ta->schema;

    pgcdc__relation_free(ta->shown);
    free(ta->shown_ddl);
    ta->shown = rel->before;
    rel->before = NULL;
    ta->shown_ddl = take_ddl(ta, rel->relid);
    memset(c, 0, sizeof(*c));
    c->op = PGCDC_OP_SCHEMA;
    c->rel = rel;
    c->txn = &ta->txn;
    c->lsn = lsn;
    c->seq = ta->txn.nchanges;
    c->ddl = ta->shown_ddl;
    c->has_old = 1;
    c->has_new = 1;
    c->old_row.rel = ta->shown;
    c->new_row.rel = rel;
    memset(ev, 0, sizeof(*ev));
    ev->type = PGCDC__EV_CHANGE;
    ev->txn = &ta->txn;
    ev->change = c;
    ta->redo = 1;
    return 1;
}

/*
 * A pgcdc.ddl message (the DDL capture's event trigger): "<relid> <relid>
 * ...\n<statement>", kept for each table until its next Relation message.
 * The same statement twice for a table (one query of several commands) is
 * kept once.  0, or PGCDC_ERR_NOMEM.
 */
int pgcdc__txn_note_ddl(pgcdc__assembly *ta, const char *content, size_t len)
{
    const char *nl = memchr(content, '\n', len);
    const char *p = content;

    if (nl == NULL || ta->keep == PGCDC__KEEP_NONE)
        return 0;
    while (p < nl) {
        char *end;
        unsigned long relid = strtoul(p, &end, 10);
        ddl_note *note = NULL;
        size_t tlen = len - (size_t)(nl + 1 - content);
        char *text;

        if (end == p)
            break;
        p = end;
        while (p < nl && *p == ' ')
            p++;
        for (size_t i = 0; i < ta->nddl; i++)
            note = ta->ddl[i].relid == relid ? &ta->ddl[i] : note;
        if (note != NULL && ends_with_line(note->text, nl + 1, tlen))
            continue;
        if (note == NULL && ta->nddl == DDL_KEPT) {
            free(ta->ddl[0].text);
            memmove(&ta->ddl[0], &ta->ddl[1], (DDL_KEPT - 1) * sizeof(*ta->ddl));
            ta->nddl--;
        }
        if (note == NULL) {
            ddl_note *grown = realloc(ta->ddl, (ta->nddl + 1) * sizeof(*grown));

            if (grown == NULL)
                return PGCDC_ERR_NOMEM;
            ta->ddl = grown;
            note = &ta->ddl[ta->nddl++];
            note->relid = (uint32_t)relid;
            note->text = NULL;
        }
        if (asprintf(&text, "%s%s%.*s", note->text != NULL ? note->text : "",
                     note->text != NULL ? "\n" : "", (int)tlen, nl + 1) < 0)
            return PGCDC_ERR_NOMEM;
        free(note->text);
        note->text = text;
    }
    return 0;
}

int pgcdc__txn_has_ddl(const pgcdc__assembly *ta, uint32_t relid)
{
    for (size_t i = 0; i < ta->nddl; i++) {
        if (ta->ddl[i].relid == relid)
            return 1;
    }
    return 0;
}
