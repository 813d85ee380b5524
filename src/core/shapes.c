/*
 * Schema changes: the statements captured for tables, and the change that
 * hands out a table's new shape with the one it replaced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/shapes.h"

struct pgcdc__ddl_note {
    uint32_t relid;
    char *text;
};

void pgcdc__shapes_init(pgcdc__shapes *sh, int on)
{
    memset(sh, 0, sizeof(*sh));
    sh->on = on;
}

void pgcdc__shapes_free(pgcdc__shapes *sh)
{
    for (size_t i = 0; i < sh->nnotes; i++)
        free(sh->notes[i].text);
    free(sh->notes);
    pgcdc__relation_free(sh->shown);
    free(sh->shown_ddl);
    memset(sh, 0, sizeof(*sh));
}

static pgcdc__ddl_note *note_of(const pgcdc__shapes *sh, uint32_t relid)
{
    for (size_t i = 0; i < sh->nnotes; i++) {
        if (sh->notes[i].relid == relid)
            return &sh->notes[i];
    }
    return NULL;
}

int pgcdc__shapes_keep(const pgcdc__shapes *sh, uint32_t relid)
{
    if (!sh->on)
        return PGCDC__KEEP_NONE;
    return note_of(sh, relid) != NULL ? PGCDC__KEEP_ALWAYS : PGCDC__KEEP_CHANGED;
}

/* Takes the statements captured for relid, or NULL. */
static char *take_note(pgcdc__shapes *sh, uint32_t relid)
{
    pgcdc__ddl_note *n = note_of(sh, relid);
    char *text;

    if (n == NULL)
        return NULL;
    text = n->text;
    memmove(n, n + 1, (size_t)(sh->notes + sh->nnotes - (n + 1)) * sizeof(*n));
    sh->nnotes--;
    return text;
}

/* Whether text ends with the line(s) s of len bytes. */
static int ends_with_line(const char *text, const char *s, size_t len)
{
    size_t tl = strlen(text);

    return tl >= len && memcmp(text + tl - len, s, len) == 0 &&
           (tl == len || text[tl - len - 1] == '\n');
}

/* Adds the statement s (len bytes) to relid's note. */
static int add_note(pgcdc__shapes *sh, uint32_t relid, const char *s, size_t len)
{
    pgcdc__ddl_note *n = note_of(sh, relid);
    char *text;

    if (n != NULL && ends_with_line(n->text, s, len))
        return 0;
    if (n == NULL && sh->nnotes == PGCDC__DDL_KEPT) {
        /* A table that never got a change since: its oldest statement goes. */
        free(take_note(sh, sh->notes[0].relid));
    }
    if (n == NULL) {
        pgcdc__ddl_note *grown = realloc(sh->notes, (sh->nnotes + 1) * sizeof(*grown));

        if (grown == NULL)
            return PGCDC_ERR_NOMEM;
        sh->notes = grown;
        n = &sh->notes[sh->nnotes++];
        n->relid = relid;
        n->text = NULL;
    }
    if (asprintf(&text, "%s%s%.*s", n->text != NULL ? n->text : "", n->text != NULL ? "\n" : "",
                 (int)len, s) < 0)
        return PGCDC_ERR_NOMEM;
    free(n->text);
    n->text = text;
    return 0;
}

int pgcdc__shapes_note(pgcdc__shapes *sh, const char *content, size_t len)
{
    const char *nl = memchr(content, '\n', len);
    const char *p = content;

    if (nl == NULL || !sh->on)
        return 0;
    while (p < nl) {
        char *end;
        unsigned long relid = strtoul(p, &end, 10);

        if (end == p || end > nl || relid > UINT32_MAX)
            break;
        if (add_note(sh, (uint32_t)relid, nl + 1, len - (size_t)(nl + 1 - content)) != 0)
            return PGCDC_ERR_NOMEM;
        for (p = end; p < nl && *p == ' ';)
            p++;
    }
    return 0;
}

int pgcdc__shapes_seen(pgcdc__shapes *sh, pgcdc__relation *rel)
{
    if (rel->before == NULL)
        return 0;
    free(take_note(sh, rel->relid));
    pgcdc__relation_free(rel->before);
    rel->before = NULL;
    return 0;
}

const pgcdc_change *pgcdc__shapes_change(pgcdc__shapes *sh, pgcdc__relation *rel,
                                         const pgcdc_txn *txn, uint64_t lsn)
{
    pgcdc_change *c = &sh->change;

    pgcdc__relation_free(sh->shown);
    free(sh->shown_ddl);
    sh->shown = rel->before;
    rel->before = NULL;
    sh->shown_ddl = take_note(sh, rel->relid);
    memset(c, 0, sizeof(*c));
    c->op = PGCDC_OP_SCHEMA;
    c->rel = rel;
    c->txn = txn;
    c->lsn = lsn;
    c->seq = txn->nchanges;
    c->ddl = sh->shown_ddl;
    c->has_old = 1;
    c->has_new = 1;
    c->old_row.rel = sh->shown;
    c->new_row.rel = rel;
    return c;
}
