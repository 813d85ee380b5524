/*
 * replay: pgcdc's JSON-lines output (snapshot READ rows and the stream's
 * changes, in file order) replayed into one map per table keyed by the
 * primary key "id", compared row for row with the tables' final contents.
 *
 *   replay --output OUT.jsonl --dump TABLES.tsv --tables schema.t,... [--skip COL,...]
 *
 * TABLES.tsv: "schema.table<TAB>id<TAB>row_to_json(row)" per row (psql -At).
 * Prints a JSON summary; exits 1 when a row is missing, extra or different.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TABLES 16

static char *tables[MAX_TABLES];
static json_t *maps[MAX_TABLES];
static int ntables;
static char *skip[16];
static int nskip;

static int split(char *list, char **out, int max)
{
    int n = 0;

    for (char *t = strtok(list, ","); t != NULL && n < max; t = strtok(NULL, ","))
        out[n++] = t;
    return n;
}

static int table_of(const char *schema, const char *table)
{
    char name[256];

    snprintf(name, sizeof(name), "%s.%s", schema != NULL ? schema : "", table != NULL ? table : "");
    for (int i = 0; i < ntables; i++)
        if (strcmp(tables[i], name) == 0)
            return i;
    return -1;
}

/* The row's "id" as a map key. */
static int id_of(json_t *row, char *buf, size_t size)
{
    json_t *id = json_object_get(row, "id");

    if (!json_is_integer(id))
        return -1;
    snprintf(buf, size, "%lld", (long long)json_integer_value(id));
    return 0;
}

static int skipped(const char *col)
{
    for (int i = 0; i < nskip; i++)
        if (strcmp(skip[i], col) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    const char *dump = NULL;
    char *line = NULL;
    size_t cap = 0;
    long events = 0, reads = 0, bad = 0, rows = 0, missing = 0, extra = 0, different = 0;
    FILE *f;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--output") == 0)
            out = argv[i + 1];
        else if (strcmp(argv[i], "--dump") == 0)
            dump = argv[i + 1];
        else if (strcmp(argv[i], "--tables") == 0)
            ntables = split(argv[i + 1], tables, MAX_TABLES);
        else if (strcmp(argv[i], "--skip") == 0)
            nskip = split(argv[i + 1], skip, 16);
    }
    if (out == NULL || dump == NULL || ntables == 0) {
        fprintf(stderr, "usage: replay --output OUT --dump TSV --tables LIST [--skip COLS]\n");
        return 2;
    }
    for (int i = 0; i < ntables; i++)
        maps[i] = json_object();
    f = fopen(out, "r");
    if (f == NULL) {
        perror(out);
        return 2;
    }
    while (getline(&line, &cap, f) > 0) {
        json_t *e = json_loads(line, 0, NULL);
        const char *op;
        json_t *newr;
        json_t *oldr;
        char id[32];
        char oid[32];
        int t;

        if (e == NULL) {
            bad++;
            continue;
        }
        op = json_string_value(json_object_get(e, "op"));
        t = table_of(json_string_value(json_object_get(e, "schema")),
                     json_string_value(json_object_get(e, "table")));
        newr = json_object_get(e, "new");
        oldr = json_object_get(e, "old");
        events++;
        if (op == NULL || t < 0) {
            json_decref(e);
            continue;
        }
        if (strcmp(op, "TRUNCATE") == 0) {
            json_object_clear(maps[t]);
        } else if (strcmp(op, "DELETE") == 0) {
            if (id_of(oldr, oid, sizeof(oid)) == 0)
                json_object_del(maps[t], oid);
            else
                bad++;
        } else if (id_of(newr, id, sizeof(id)) == 0) {
            /* INSERT, UPDATE, READ: the row as it is now; a key change drops the old key. */
            if (strcmp(op, "UPDATE") == 0 && id_of(oldr, oid, sizeof(oid)) == 0 &&
                strcmp(oid, id) != 0)
                json_object_del(maps[t], oid);
            reads += strcmp(op, "READ") == 0;
            json_object_set(maps[t], id, newr);
        } else {
            bad++;
        }
        json_decref(e);
    }
    fclose(f);
    f = fopen(dump, "r");
    if (f == NULL) {
        perror(dump);
        return 2;
    }
    while (getline(&line, &cap, f) > 0) {
        char *tab1 = strchr(line, '\t');
        char *tab2 = tab1 != NULL ? strchr(tab1 + 1, '\t') : NULL;
        json_t *row;
        json_t *mine;
        const char *col;
        json_t *v;
        int t;

        if (tab2 == NULL)
            continue;
        *tab1 = *tab2 = '\0';
        t = -1;
        for (int i = 0; i < ntables; i++)
            if (strcmp(tables[i], line) == 0)
                t = i;
        row = json_loads(tab2 + 1, 0, NULL);
        if (t < 0 || row == NULL) {
            json_decref(row);
            continue;
        }
        rows++;
        mine = json_object_get(maps[t], tab1 + 1);
        if (mine == NULL) {
            if (missing++ < 5)
                fprintf(stderr, "replay: missing %s id %s\n", line, tab1 + 1);
        } else {
            int same = 1;

            json_object_foreach(row, col, v)
            {
                if (!skipped(col) && !json_equal(v, json_object_get(mine, col)))
                    same = 0;
            }
            if (!same && different++ < 5) {
                char *a = json_dumps(row, JSON_COMPACT);
                char *b = json_dumps(mine, JSON_COMPACT);

                fprintf(stderr, "replay: %s id %s differs:\n  table %s\n  events %s\n", line,
                        tab1 + 1, a, b);
                free(a);
                free(b);
            }
            json_object_del(maps[t], tab1 + 1);
        }
        json_decref(row);
    }
    fclose(f);
    for (int i = 0; i < ntables; i++) {
        const char *key;
        json_t *v;

        json_object_foreach(maps[i], key, v)
        {
            if (extra++ < 5)
                fprintf(stderr, "replay: %s id %s is not in the table\n", tables[i], key);
        }
        json_decref(maps[i]);
    }
    free(line);
    printf("{\"events\":%ld,\"reads\":%ld,\"rows\":%ld,\"missing\":%ld,\"extra\":%ld,"
           "\"different\":%ld,\"unreadable\":%ld}\n",
           events, reads, rows, missing, extra, different, bad);
    return missing == 0 && extra == 0 && different == 0 && bad == 0 ? 0 : 1;
}
