/*
 * Lua scripts (--lua FILE, docs/LUA.md): filter(event), transform(event)
 * and route(event), each optional, run on every change after the
 * declarative filters.  script.c holds the Lua state and the event table;
 * script_row.c makes a transformed event's rows into a change the formats
 * and sinks read like any other.  Only these two files include Lua.
 */
#ifndef PGCDC_SCRIPT_H
#define PGCDC_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "core/row.h"

/* The most sinks a script's route can tell apart (a bit each). */
#define PGCDC__SCRIPT_MAX_SINKS 64

typedef struct pgcdc__script pgcdc__script;

/* Where route(event) sent a change. */
typedef struct pgcdc__script_route {
    int routed;        /* 1: sinks below replaces the sinks' own routes */
    uint64_t sinks;    /* bit i: the i-th sink (from 0) */
    const char *topic; /* NULL, or the topic/subject/stream key; valid until the next change */
} pgcdc__script_route;

/*
 * Compiles the script without running it: PGCDC_OK, or PGCDC_ERR_INVALID
 * with a one-line "FILE:LINE: what" and the fix in msg.
 */
int pgcdc__script_check(const char *path, char *msg, size_t size);

/*
 * Loads and runs the script at path in a state of its own; sink_uris (nsinks
 * of them, the strings borrowed for the state's life) are what route may name.  *out, or
 * an error with the message in ctx.
 */
int pgcdc__script_open(pgcdc__script **out, pgcdc__ctx *ctx, const char *path,
                       const char *const *sink_uris, int nsinks);
/* NULL is a no-op. */
void pgcdc__script_free(pgcdc__script *s);

/*
 * Runs filter, transform and route on c: 0 when the change is dropped; 1
 * with *out (c, or the script's transformed copy, valid until the next call)
 * and *route; or PGCDC_ERR_HANDLER (PGCDC_ERR_NOMEM) with a message in ctx
 * naming the script's line.
 */
int pgcdc__script_change(pgcdc__script *s, const pgcdc_change *c, const pgcdc_change **out,
                         pgcdc__script_route *route);

/* ---- between script.c and script_row.c ---- */

typedef struct lua_State lua_State;
typedef struct pgcdc__script_rows pgcdc__script_rows;

pgcdc__script_rows *pgcdc__script_rows_new(void);
void pgcdc__script_rows_free(pgcdc__script_rows *sr);
/* Pushes row as a table of column name -> value (pgcdc.null, pgcdc.unchanged for those). */
void pgcdc__script_push_row(lua_State *L, const pgcdc_row *row);
/* The sentinels pgcdc.null and pgcdc.unchanged (light userdata). */
extern const char pgcdc__script_null;
extern const char pgcdc__script_unchanged;
/*
 * Makes c with the rows of the tables at new_idx and old_idx (0: none) into
 * sr's copy: 1 with *out, or a negative error with why in msg (size n).
 */
int pgcdc__script_rows_apply(pgcdc__script_rows *sr, lua_State *L, const pgcdc_change *c,
                             int new_idx, int old_idx, const pgcdc_change **out, char *msg,
                             size_t n);

#endif /* PGCDC_SCRIPT_H */
