/*
 * The Lua state of --lua FILE and the event its functions get.  The event
 * is one table reused for every change, empty but for a metatable whose
 * __index reads fields of the current change on demand, so a filter that
 * looks at e.table costs one call and one string, and nothing is allocated
 * per change unless the script reads a row or stores into the event.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/json.h"
#include "script.h"

/* Registry slots of the state's long-lived values. */
enum { REF_EVENT = 1, REF_OVER, REF_FILTER, REF_TRANSFORM, REF_ROUTE, REF_RESULT, REF_COUNT };

struct pgcdc__script {
    lua_State *L;
    char *path;
    const char **sink_uris; /* borrowed strings */
    int nsinks;
    int refs[REF_COUNT];   /* luaL_ref of each slot; LUA_NOREF when the function is absent */
    const pgcdc_change *c; /* the change the event shows */
    int dirty;             /* the overrides table holds something */
    int rows_read;         /* new or old was read or stored */
    pgcdc__buf text;       /* commit time and LSNs as text */
    pgcdc__buf topic;
    pgcdc__script_rows *rows;
    pgcdc__ctx *ctx;
};

/* ---- the event ---- */

static void push_lsn(lua_State *L, uint64_t lsn)
{
    char text[32];

    lua_pushstring(L, pgcdc_lsn_format(lsn, text, sizeof(text)));
}

/* The overrides table (fields stored into the event, rows read) on the stack. */
static void push_over(pgcdc__script *s)
{
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->refs[REF_OVER]);
}

/* A row table, made once per change and kept among the overrides. */
static int push_row_field(pgcdc__script *s, lua_State *L, const pgcdc_row *row, int present)
{
    if (!present) {
        lua_pushnil(L);
        return 1;
    }
    pgcdc__script_push_row(L, row);
    push_over(s);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    s->dirty = 1;
    s->rows_read = 1;
    return 1;
}

static int event_index(lua_State *L)
{
    pgcdc__script *s = lua_touserdata(L, lua_upvalueindex(1));
    const pgcdc_change *c = s->c;
    const char *k;

    if (s->dirty) {
        push_over(s);
        lua_pushvalue(L, 2);
        if (lua_rawget(L, -2) != LUA_TNIL)
            return 1;
        lua_pop(L, 2);
    }
    if (c == NULL || lua_type(L, 2) != LUA_TSTRING)
        return 0;
    k = lua_tostring(L, 2);
    if (strcmp(k, "table") == 0)
        lua_pushstring(L, c->rel->name);
    else if (strcmp(k, "schema") == 0)
        lua_pushstring(L, c->rel->schema);
    else if (strcmp(k, "op") == 0)
        lua_pushstring(L, pgcdc_op_name(c->op));
    else if (strcmp(k, "new") == 0)
        return push_row_field(s, L, &c->new_row, c->has_new);
    else if (strcmp(k, "old") == 0)
        return push_row_field(s, L, &c->old_row, c->has_old);
    else if (strcmp(k, "xid") == 0)
        lua_pushinteger(L, (lua_Integer)c->txn->xid);
    else if (strcmp(k, "seq") == 0)
        lua_pushinteger(L, (lua_Integer)c->seq);
    else if (strcmp(k, "commit_lsn") == 0)
        push_lsn(L, c->txn->commit_lsn);
    else if (strcmp(k, "lsn") == 0)
        push_lsn(L, c->lsn);
    else if (strcmp(k, "gid") == 0 && c->txn->gid != NULL)
        lua_pushstring(L, c->txn->gid);
    else if (strcmp(k, "commit_time") == 0) {
        pgcdc__buf_reset(&s->text);
        pgcdc__json_utc_time(&s->text, c->txn->commit_time);
        /* Without the quotes the JSON writer puts around it. */
        if (s->text.len < 2)
            return 0;
        lua_pushlstring(L, (const char *)s->text.data + 1, s->text.len - 2);
    } else
        return 0;
    return 1;
}

static int event_newindex(lua_State *L)
{
    pgcdc__script *s = lua_touserdata(L, lua_upvalueindex(1));
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";

    push_over(s);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    s->dirty = 1;
    if (strcmp(k, "new") == 0 || strcmp(k, "old") == 0)
        s->rows_read = 1;
    return 0;
}

/* The event table and its metatable, made once. */
static void make_event(pgcdc__script *s)
{
    lua_State *L = s->L;

    lua_newtable(L);
    lua_newtable(L);
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, event_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, event_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, -2);
    s->refs[REF_EVENT] = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    s->refs[REF_OVER] = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushnil(L);
    s->refs[REF_RESULT] = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Forgets what the last change stored; its strings stayed valid until now. */
static void event_reset(pgcdc__script *s, const pgcdc_change *c)
{
    s->c = c;
    s->rows_read = 0;
    if (!s->dirty)
        return;
    lua_newtable(s->L);
    lua_rawseti(s->L, LUA_REGISTRYINDEX, s->refs[REF_OVER]);
    s->dirty = 0;
}

/* ---- loading ---- */

/* A Lua message handler: the error with nothing added (it names FILE:LINE already). */
static int on_error(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER) {
        const char *what = luaL_typename(L, 1);

        lua_pushfstring(L, "(error object is a %s value)", what);
    }
    return 1;
}

/* The global function name, kept in the registry; LUA_NOREF when the script has none. */
static int take_function(pgcdc__script *s, const char *name, char *msg, size_t size)
{
    int t = lua_getglobal(s->L, name);

    if (t == LUA_TNIL) {
        lua_pop(s->L, 1);
        return LUA_NOREF;
    }
    if (t != LUA_TFUNCTION) {
        snprintf(msg, size, "%s: \"%s\" is a %s, not a function (define function %s(event))",
                 s->path, name, lua_typename(s->L, t), name);
        lua_pop(s->L, 1);
        return LUA_REFNIL;
    }
    return luaL_ref(s->L, LUA_REGISTRYINDEX);
}

static void open_pgcdc_table(lua_State *L)
{
    lua_newtable(L);
    lua_pushlightuserdata(L, (void *)&pgcdc__script_null);
    lua_setfield(L, -2, "null");
    lua_pushlightuserdata(L, (void *)&pgcdc__script_unchanged);
    lua_setfield(L, -2, "unchanged");
    lua_setglobal(L, "pgcdc");
}

int pgcdc__script_check(const char *path, char *msg, size_t size)
{
    lua_State *L = luaL_newstate();
    int r;

    if (L == NULL) {
        snprintf(msg, size, "out of memory");
        return PGCDC_ERR_NOMEM;
    }
    r = luaL_loadfile(L, path);
    if (r == LUA_ERRFILE)
        snprintf(msg, size, "%s (give --lua the path of a readable Lua 5.4 file)",
                 lua_tostring(L, -1));
    else if (r != LUA_OK)
        snprintf(msg, size, "%s (fix the script: it must be valid Lua 5.4)", lua_tostring(L, -1));
    lua_close(L);
    return r == LUA_OK ? PGCDC_OK : PGCDC_ERR_INVALID;
}

int pgcdc__script_open(pgcdc__script **out, pgcdc__ctx *ctx, const char *path,
                       const char *const *sink_uris, int nsinks)
{
    static const char *const names[] = {"filter", "transform", "route"};
    pgcdc__script *s = calloc(1, sizeof(*s));
    char msg[PGCDC__MSG_SIZE];
    int r;

    *out = NULL;
    if (s == NULL || (s->path = strdup(path)) == NULL ||
        (s->rows = pgcdc__script_rows_new()) == NULL || (s->L = luaL_newstate()) == NULL) {
        pgcdc__script_free(s);
        return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
    }
    s->ctx = ctx;
    s->sink_uris = calloc((size_t)nsinks + 1, sizeof(*s->sink_uris));
    if (s->sink_uris == NULL) {
        pgcdc__script_free(s);
        return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < nsinks; i++)
        s->sink_uris[i] = sink_uris[i];
    s->nsinks = nsinks;
    pgcdc__buf_init(&s->text);
    pgcdc__buf_init(&s->topic);
    luaL_openlibs(s->L);
    open_pgcdc_table(s->L);
    if (pgcdc__script_check(path, msg, sizeof(msg)) != PGCDC_OK) {
        pgcdc__script_free(s);
        return pgcdc__fail(ctx, PGCDC_ERR_INVALID, "lua: %s", msg);
    }
    lua_pushcfunction(s->L, on_error);
    r = luaL_loadfile(s->L, path);
    if (r == LUA_OK)
        r = lua_pcall(s->L, 0, 0, -2);
    if (r != LUA_OK) {
        r = pgcdc__fail(ctx, PGCDC_ERR_INVALID, "lua: %s (while loading the script)",
                        lua_tostring(s->L, -1));
        pgcdc__script_free(s);
        return r;
    }
    lua_pop(s->L, 1);
    make_event(s);
    msg[0] = '\0';
    for (int i = 0; i < 3; i++) {
        s->refs[REF_FILTER + i] = take_function(s, names[i], msg, sizeof(msg));
        if (s->refs[REF_FILTER + i] == LUA_REFNIL) {
            pgcdc__script_free(s);
            return pgcdc__fail(ctx, PGCDC_ERR_INVALID, "lua: %s", msg);
        }
    }
    if (s->refs[REF_FILTER] == LUA_NOREF && s->refs[REF_TRANSFORM] == LUA_NOREF &&
        s->refs[REF_ROUTE] == LUA_NOREF)
        pgcdc__log(ctx, PGCDC_LOG_WARNING,
                   "lua: \"%s\" defines none of filter, transform and route: it does nothing",
                   path);
    *out = s;
    return PGCDC_OK;
}

void pgcdc__script_free(pgcdc__script *s)
{
    if (s == NULL)
        return;
    if (s->L != NULL)
        lua_close(s->L);
    pgcdc__script_rows_free(s->rows);
    pgcdc__buf_free(&s->text);
    pgcdc__buf_free(&s->topic);
    free(s->sink_uris);
    free(s->path);
    free(s);
}

/* ---- running the functions ---- */

/* Names of the functions, by their registry slot. */
static const char *fn_name(int ref)
{
    return ref == REF_FILTER ? "filter" : ref == REF_TRANSFORM ? "transform" : "route";
}

/*
 * The failure of the function in slot ref, as the context's message naming
 * the change: the Lua error on the stack (it names FILE:LINE), or why its
 * result is wrong, after the FILE:LINE where the function starts.
 */
static int failed(pgcdc__script *s, pgcdc__ctx *ctx, int ref, const char *why)
{
    const pgcdc_change *c = s->c;
    lua_State *L = s->L;
    char where[PGCDC__MSG_SIZE] = "";
    char lsn[32];
    int r;

    if (why != NULL) {
        lua_Debug ar;

        lua_rawgeti(L, LUA_REGISTRYINDEX, s->refs[ref]);
        if (lua_getinfo(L, ">S", &ar) != 0)
            snprintf(where, sizeof(where), "%s:%d: ", ar.short_src, ar.linedefined);
    }
    r = pgcdc__fail(ctx, PGCDC_ERR_HANDLER,
                    "lua: %s failed for %s on %s.%s (commit_lsn %s, seq %u): %s%s", fn_name(ref),
                    pgcdc_op_name(c->op), c->rel->schema, c->rel->name,
                    pgcdc_lsn_format(c->txn->commit_lsn, lsn, sizeof(lsn)), c->seq, where,
                    why != NULL ? why : lua_tostring(L, -1));
    lua_settop(L, 0);
    return r;
}

/* Calls the function in slot ref with arg (a stack index): its one result on the stack. */
static int call(pgcdc__script *s, int ref, int arg)
{
    lua_State *L = s->L;

    lua_pushcfunction(L, on_error);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->refs[ref]);
    lua_pushvalue(L, arg);
    if (lua_pcall(L, 1, 1, -3) != LUA_OK)
        return -1;
    lua_remove(L, -2); /* the handler */
    return 0;
}

/* Sink v of route's result (a 1-based index or a --sink URI) as a bit; 0 when none matches. */
static uint64_t sink_bit(pgcdc__script *s, lua_State *L, int v)
{
    if (lua_type(L, v) == LUA_TNUMBER) {
        int isnum = 0;
        lua_Integer i = lua_tointegerx(L, v, &isnum);

        if (isnum && i >= 1 && i <= s->nsinks && i <= PGCDC__SCRIPT_MAX_SINKS)
            return (uint64_t)1 << (i - 1);
        return 0;
    }
    if (lua_type(L, v) == LUA_TSTRING) {
        const char *name = lua_tostring(L, v);

        for (int i = 0; i < s->nsinks && i < PGCDC__SCRIPT_MAX_SINKS; i++) {
            if (strcmp(s->sink_uris[i], name) == 0)
                return (uint64_t)1 << i;
        }
    }
    return 0;
}

/* One sink or a list of them at v into route->sinks; NULL, or why not. */
static const char *route_sinks(pgcdc__script *s, lua_State *L, int v, pgcdc__script_route *route)
{
    uint64_t bit;

    route->routed = 1;
    if (lua_type(L, v) == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, v);

        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, v, i);
            bit = sink_bit(s, L, lua_gettop(L));
            lua_pop(L, 1);
            if (bit == 0)
                return "it returned a list with a sink that is not one of the sinks (a number "
                       "from 1, or a sink's URI as given)";
            route->sinks |= bit;
        }
        return NULL;
    }
    bit = sink_bit(s, L, v);
    if (bit == 0)
        return lua_type(L, v) == LUA_TSTRING || lua_type(L, v) == LUA_TNUMBER
                   ? "it returned a sink that is not one of the sinks (a number from 1, or a "
                     "sink's URI as given)"
                   : "it returned a sink that is neither a number nor a string";
    route->sinks |= bit;
    return NULL;
}

/* route's result at the top of the stack into route; NULL, or why it is not one. */
static const char *take_route(pgcdc__script *s, pgcdc__script_route *route)
{
    lua_State *L = s->L;
    int top = lua_gettop(L);
    const char *why = NULL;

    switch (lua_type(L, top)) {
    case LUA_TNIL:
        return NULL;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, top))
            return "it returned true, which is not a route (return nil for the sinks' own routes)";
        route->routed = 1; /* false: no sink */
        return NULL;
    case LUA_TNUMBER:
    case LUA_TSTRING:
        return route_sinks(s, L, top, route);
    case LUA_TTABLE:
        break;
    default:
        return "it returned what is not a route (nil, false, a sink, a list of sinks or a table "
               "{sink=, topic=})";
    }
    if (lua_rawlen(L, top) > 0)
        return route_sinks(s, L, top, route);
    if (lua_getfield(L, top, "sink") != LUA_TNIL)
        why = route_sinks(s, L, lua_gettop(L), route);
    lua_pop(L, 1);
    if (why == NULL && lua_getfield(L, top, "sinks") != LUA_TNIL)
        why = route_sinks(s, L, lua_gettop(L), route);
    lua_pop(L, 1);
    if (why == NULL && lua_getfield(L, top, "topic") != LUA_TNIL) {
        size_t len;
        const char *topic = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;

        if (topic == NULL || len == 0) {
            why = "it returned a topic that is not a non-empty string";
        } else {
            pgcdc__buf_reset(&s->topic);
            pgcdc__buf_put(&s->topic, topic, len);
            route->topic = pgcdc__buf_cstr(&s->topic);
        }
    }
    lua_pop(L, 1);
    return why;
}

/* transform's result at the top of the stack (over the event): the change to hand out. */
static int take_transform(pgcdc__script *s, pgcdc__ctx *ctx, int ev, const pgcdc_change **out)
{
    lua_State *L = s->L;
    int res = lua_gettop(L);
    int new_idx = 0;
    int old_idx = 0;
    char why[PGCDC__MSG_SIZE];
    int r;

    if (lua_type(L, res) == LUA_TBOOLEAN && !lua_toboolean(L, res))
        return 0;
    if (lua_type(L, res) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushvalue(L, ev);
    } else if (lua_type(L, res) != LUA_TTABLE) {
        return failed(s, ctx, REF_TRANSFORM,
                      "it returned a value that is not a table (return the event, a table, nil "
                      "or false)");
    }
    /* Route sees what transform returned; the strings it holds live until the next change. */
    lua_pushvalue(L, res);
    lua_rawseti(L, LUA_REGISTRYINDEX, s->refs[REF_RESULT]);
    if (lua_rawequal(L, res, ev) && !s->rows_read)
        return 1;
    if (s->c->has_new) {
        lua_getfield(L, res, "new");
        new_idx = lua_gettop(L);
    }
    if (s->c->has_old) {
        lua_getfield(L, res, "old");
        old_idx = lua_gettop(L);
    }
    r = pgcdc__script_rows_apply(s->rows, L, s->c, new_idx, old_idx, out, why, sizeof(why));
    lua_settop(L, res);
    if (r == PGCDC_ERR_NOMEM)
        return pgcdc__fail(ctx, r, "out of memory");
    if (r < 0)
        return failed(s, ctx, REF_TRANSFORM, why);
    return 1;
}

/* The script's functions on the change at the event (stack index 1). */
static int run(pgcdc__script *s, pgcdc__ctx *ctx, const pgcdc_change **out,
               pgcdc__script_route *route)
{
    lua_State *L = s->L;
    const char *why;
    int r;

    if (s->refs[REF_FILTER] != LUA_NOREF) {
        int keep;

        if (call(s, REF_FILTER, 1) != 0)
            return failed(s, ctx, REF_FILTER, NULL);
        keep = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (!keep)
            return 0;
    }
    if (s->refs[REF_TRANSFORM] != LUA_NOREF) {
        if (call(s, REF_TRANSFORM, 1) != 0)
            return failed(s, ctx, REF_TRANSFORM, NULL);
        r = take_transform(s, ctx, 1, out);
        if (r <= 0)
            return r;
        /* route gets what transform returned */
        lua_replace(L, 1);
    }
    if (s->refs[REF_ROUTE] != LUA_NOREF) {
        if (call(s, REF_ROUTE, 1) != 0)
            return failed(s, ctx, REF_ROUTE, NULL);
        why = take_route(s, route);
        if (why != NULL)
            return failed(s, ctx, REF_ROUTE, why);
    }
    return 1;
}

int pgcdc__script_change(pgcdc__script *s, const pgcdc_change *c, const pgcdc_change **out,
                         pgcdc__script_route *route)
{
    int r;

    *out = c;
    memset(route, 0, sizeof(*route));
    event_reset(s, c);
    lua_settop(s->L, 0);
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->refs[REF_EVENT]);
    r = run(s, s->ctx, out, route);
    lua_settop(s->L, 0);
    return r;
}
