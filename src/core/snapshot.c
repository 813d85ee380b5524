/*
 * A snapshot's plan, progress and state file (see snapshot.h).  The file
 * is lines of tab-separated fields in COPY's text format:
 *
 *   pgcdc-snapshot 1
 *   plan   <kind> <lsn> <signal lsn>
 *   table  <quoted name> <condition|\N> <key width> <rows done> <done> <by pages>
 *   seg    <table> <done> <lo...> <hi...> <acked...>   (\N for an absent bound)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fileio.h"
#include "core/snapshot.h"
#include "pgcdc.h"
#include "wire/copy.h"

#define STATE_MAGIC "pgcdc-snapshot\t1"
/* Fields of a line, at most: a seg line of a 32-column key. */
#define MAX_FIELDS (3 + 3 * 32)

char **pgcdc__snap_keys_dup(char *const *v, int n)
{
    char **out;

    if (v == NULL)
        return NULL;
    out = calloc((size_t)n, sizeof(*out));
    if (out == NULL)
        return NULL;
    for (int i = 0; i < n; i++) {
        out[i] = strdup(v[i] != NULL ? v[i] : "");
        if (out[i] == NULL) {
            pgcdc__snap_keys_free(out, n);
            return NULL;
        }
    }
    return out;
}

void pgcdc__snap_keys_free(char **v, int n)
{
    if (v == NULL)
        return;
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void table_free(pgcdc__snap_table *t)
{
    free(t->quoted);
    free(t->route);
    free(t->where);
    free(t->key_cols);
    pgcdc__snap_keys_free(t->key_quoted, t->nkey);
    pgcdc__snap_keys_free(t->key_types, t->nkey);
    free(t->select_list);
}

void pgcdc__snap_plan_clear(pgcdc__snap_plan *p)
{
    for (int i = 0; i < p->nsegs; i++) {
        int w = pgcdc__snap_width(&p->tables[p->segs[i].table]);

        pgcdc__snap_keys_free(p->segs[i].lo, w);
        pgcdc__snap_keys_free(p->segs[i].hi, w);
        pgcdc__snap_keys_free(p->segs[i].acked, w);
    }
    for (int i = 0; i < p->ntables; i++)
        table_free(&p->tables[i]);
    free(p->tables);
    free(p->segs);
    memset(p, 0, sizeof(*p));
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

int pgcdc__snap_add_table(pgcdc__snap_plan *p, const pgcdc__snap_table *t)
{
    pgcdc__snap_table *grown = realloc(p->tables, sizeof(*grown) * (size_t)(p->ntables + 1));
    pgcdc__snap_table *n;

    if (grown == NULL)
        return -1;
    p->tables = grown;
    n = &p->tables[p->ntables];
    *n = *t;
    n->quoted = dup_or_null(t->quoted);
    n->route = dup_or_null(t->route);
    n->where = dup_or_null(t->where);
    n->select_list = dup_or_null(t->select_list);
    if (n->quoted == NULL || (t->route != NULL && n->route == NULL) ||
        (t->where != NULL && n->where == NULL) ||
        (t->select_list != NULL && n->select_list == NULL)) {
        free(n->quoted);
        free(n->route);
        free(n->where);
        free(n->select_list);
        return -1;
    }
    return p->ntables++;
}

int pgcdc__snap_add_seg(pgcdc__snap_plan *p, int table, char **lo, char **hi)
{
    pgcdc__snap_seg *grown = realloc(p->segs, sizeof(*grown) * (size_t)(p->nsegs + 1));

    if (grown == NULL)
        return -1;
    p->segs = grown;
    memset(&p->segs[p->nsegs], 0, sizeof(p->segs[0]));
    p->segs[p->nsegs].table = table;
    p->segs[p->nsegs].lo = lo;
    p->segs[p->nsegs].hi = hi;
    return p->nsegs++;
}

char **pgcdc__snap_row_key(const pgcdc__snap_table *t, const char *line, size_t len)
{
    pgcdc__col *cols;
    char *copy;
    char *v[32];
    char **key = NULL;

    if (t->nkey <= 0 || t->nkey > 32 || t->rel == NULL)
        return NULL;
    if (len > 0 && line[len - 1] == '\n')
        len--;
    cols = calloc((size_t)t->rel->ncols, sizeof(*cols));
    copy = malloc(len + 1);
    if (cols != NULL && copy != NULL) {
        memcpy(copy, line, len);
        copy[len] = '\0';
        if (pgcdc__copy_split(copy, len, cols, t->rel->ncols) == 0) {
            for (int k = 0; k < t->nkey; k++)
                v[k] = (char *)(cols[t->key_cols[k]].data != NULL ? cols[t->key_cols[k]].data : "");
            key = pgcdc__snap_keys_dup(v, t->nkey);
        }
    }
    free(cols);
    free(copy);
    return key;
}

long pgcdc__snap_chunk_pages(const pgcdc__snap_table *t, long rows)
{
    uint64_t per = t->rows_estimate > 0 && t->pages > 0 ? t->rows_estimate / t->pages : 50;
    long pages = rows / (long)(per > 0 ? per : 1);

    return pages > 0 ? pages : 1;
}

int pgcdc__snap_find_table(const pgcdc__snap_plan *p, const char *quoted)
{
    for (int i = 0; i < p->ntables; i++)
        if (strcmp(p->tables[i].quoted, quoted) == 0)
            return i;
    return -1;
}

int pgcdc__snap_done(const pgcdc__snap_plan *p)
{
    for (int i = 0; i < p->nsegs; i++)
        if (!p->segs[i].done)
            return 0;
    return 1;
}

/* ---- the state file ---- */

static void put_field(pgcdc__buf *b, const char *s)
{
    size_t n;
    char *out;

    pgcdc__buf_u8(b, '\t');
    if (s == NULL) {
        pgcdc__buf_lit(b, "\\N");
        return;
    }
    n = strlen(s);
    out = pgcdc__buf_reserve(b, 2 * n);
    if (out != NULL)
        b->len += pgcdc__copy_escape(s, n, out);
}

static void put_num(pgcdc__buf *b, uint64_t v)
{
    char num[24];

    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    put_field(b, num);
}

static void put_keys(pgcdc__buf *b, char *const *v, int n)
{
    for (int i = 0; i < n; i++)
        put_field(b, v != NULL ? v[i] : NULL);
}

static int write_file(pgcdc__ctx *ctx, const char *path, const pgcdc__buf *b)
{
    char tmp[4096];
    char dir[4096];
    const char *slash;
    int fd;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return pgcdc__fail(ctx, PGCDC_ERR_IO, "snapshot state path too long: \"%s\"", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return pgcdc__fail(ctx, PGCDC_ERR_IO,
                           "could not write the snapshot state \"%s\": %s (set snapshot.state_file "
                           "to a writable path)",
                           tmp, strerror(errno));
    if (pgcdc__write_all(fd, b->data, b->len) != 0 || fsync(fd) != 0) {
        int e = errno;

        close(fd);
        unlink(tmp);
        return pgcdc__fail(ctx, PGCDC_ERR_IO, "could not write the snapshot state \"%s\": %s", tmp,
                           strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0)
        return pgcdc__fail(ctx, PGCDC_ERR_IO, "could not rename \"%s\" into place: %s", tmp,
                           strerror(errno));
    /* The rename is durable once the directory is. */
    slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0 && errno != EINVAL) {
            int e = errno;

            close(fd);
            return pgcdc__fail(ctx, PGCDC_ERR_IO, "could not fsync the directory \"%s\": %s", dir,
                               strerror(e));
        }
        close(fd);
    }
    return PGCDC_OK;
}

int pgcdc__snap_save(pgcdc__ctx *ctx, const pgcdc__snap_plan *p, const char *path)
{
    pgcdc__buf b;
    int r;

    pgcdc__buf_init(&b);
    pgcdc__buf_lit(&b, STATE_MAGIC "\nplan");
    put_num(&b, (uint64_t)p->kind);
    put_num(&b, p->lsn);
    put_num(&b, p->signal_lsn);
    pgcdc__buf_u8(&b, '\n');
    for (int i = 0; i < p->ntables; i++) {
        const pgcdc__snap_table *t = &p->tables[i];

        pgcdc__buf_lit(&b, "table");
        put_field(&b, t->quoted);
        put_field(&b, t->where);
        put_num(&b, (uint64_t)pgcdc__snap_width(t));
        put_num(&b, t->rows_done);
        put_num(&b, (uint64_t)t->done);
        put_num(&b, (uint64_t)t->by_pages);
        pgcdc__buf_u8(&b, '\n');
    }
    for (int i = 0; i < p->nsegs; i++) {
        const pgcdc__snap_seg *s = &p->segs[i];
        int w = pgcdc__snap_width(&p->tables[s->table]);

        pgcdc__buf_lit(&b, "seg");
        put_num(&b, (uint64_t)s->table);
        put_num(&b, (uint64_t)s->done);
        put_keys(&b, s->lo, w);
        put_keys(&b, s->hi, w);
        put_keys(&b, s->acked, w);
        pgcdc__buf_u8(&b, '\n');
    }
    if (b.oom)
        r = pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
    else
        r = write_file(ctx, path, &b);
    pgcdc__buf_free(&b);
    return r;
}

static int bad(pgcdc__ctx *ctx, const char *path, int line)
{
    return pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                       "\"%s\" line %d is not a pgcdc snapshot state (move it away to start the "
                       "snapshot afresh)",
                       path, line);
}

/* Key values from fields f[0..n): NULL when all are \N. */
static int take_keys(const pgcdc__col *f, int n, char ***out)
{
    char *v[32];

    *out = NULL;
    if (f[0].kind == PGCDC_COL_NULL)
        return 0;
    for (int i = 0; i < n; i++)
        v[i] = f[i].kind == PGCDC_COL_NULL ? (char *)"" : (char *)f[i].data;
    *out = pgcdc__snap_keys_dup(v, n);
    return *out == NULL ? -1 : 0;
}

static uint64_t num(const pgcdc__col *f)
{
    return f->kind == PGCDC_COL_NULL ? 0 : strtoull(f->data, NULL, 10);
}

/* One line of the file (NUL-terminated in place, without its newline). */
static int load_line(pgcdc__snap_plan *p, char *s, size_t len)
{
    pgcdc__col f[MAX_FIELDS];
    int n = 1;

    for (size_t i = 0; i < len; i++)
        n += s[i] == '\t';
    if (n > MAX_FIELDS || pgcdc__copy_split(s, len, f, n) != 0)
        return -1;
    if (strcmp(f[0].data, "plan") == 0 && n == 4) {
        p->kind = (int)num(&f[1]);
        p->lsn = num(&f[2]);
        p->signal_lsn = num(&f[3]);
        return 0;
    }
    if (strcmp(f[0].data, "table") == 0 && n == 7 && f[1].kind == PGCDC_COL_TEXT) {
        pgcdc__snap_table t;
        int w = (int)num(&f[3]);

        if (w < 1 || w > 32)
            return -1;
        memset(&t, 0, sizeof(t));
        t.quoted = (char *)f[1].data;
        t.where = f[2].kind == PGCDC_COL_NULL ? NULL : (char *)f[2].data;
        t.nkey = w; /* the width; the catalog says whether it is a key */
        t.rows_done = num(&f[4]);
        t.done = (int)num(&f[5]);
        t.by_pages = num(&f[6]) != 0;
        return pgcdc__snap_add_table(p, &t) < 0 ? -2 : 0;
    }
    if (strcmp(f[0].data, "seg") == 0 && n >= 3) {
        int table = (int)num(&f[1]);
        char **lo;
        char **hi;
        char **acked;
        int w;
        int i;

        if (table < 0 || table >= p->ntables)
            return -1;
        w = pgcdc__snap_width(&p->tables[table]);
        if (n != 3 + 3 * w)
            return -1;
        if (take_keys(&f[3], w, &lo) != 0 || take_keys(&f[3 + w], w, &hi) != 0 ||
            take_keys(&f[3 + 2 * w], w, &acked) != 0)
            return -2;
        i = pgcdc__snap_add_seg(p, table, lo, hi);
        if (i < 0)
            return -2;
        p->segs[i].acked = acked;
        p->segs[i].done = (int)num(&f[2]);
        return 0;
    }
    return -1;
}

int pgcdc__snap_load(pgcdc__ctx *ctx, pgcdc__snap_plan *p, const char *path)
{
    FILE *fp = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    int r = 1;

    memset(p, 0, sizeof(*p));
    if (fp == NULL) {
        if (errno == ENOENT)
            return 0;
        return pgcdc__fail(ctx, PGCDC_ERR_IO, "could not read the snapshot state \"%s\": %s", path,
                           strerror(errno));
    }
    while ((n = getline(&line, &cap, fp)) >= 0) {
        int e;

        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (lineno == 1) {
            if (strcmp(line, STATE_MAGIC) != 0) {
                r = bad(ctx, path, lineno);
                break;
            }
            continue;
        }
        e = load_line(p, line, (size_t)n);
        if (e == -2) {
            r = pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
            break;
        }
        if (e != 0) {
            r = bad(ctx, path, lineno);
            break;
        }
    }
    if (r == 1 && lineno == 0)
        r = bad(ctx, path, 1);
    free(line);
    fclose(fp);
    /* The widths stand in for the keys until the catalog fills the tables in. */
    if (r != 1)
        pgcdc__snap_plan_clear(p);
    return r;
}

void pgcdc__snap_forget(const char *path)
{
    if (path != NULL)
        unlink(path);
}
