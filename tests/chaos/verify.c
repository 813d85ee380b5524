/*
 * verify: compares what pgcdc delivered (its JSON-lines output) with the
 * server's own record of every committed change (a test_decoding slot),
 * and checks the sampled confirmed positions against what the file held.
 * Prints a one-line JSON summary; exits 1 when a guarantee was broken.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "events.h"
#include "tdparse.h"

#define MAX_TABLES 32
#define MAX_RESTARTS 1024
#define SHOW 5

/* One oracle transaction with published changes, for the sampled-confirm check. */
typedef struct txn_rec {
    uint64_t lsn;       /* commit LSN, or end LSN - 1 when pgcdc never delivered it */
    int64_t present_at; /* file offset once all of it was written; INT64_MAX: never */
    uint32_t xid;
} txn_rec;

typedef struct restart {
    char kind[16];
    uint64_t confirmed;
    int64_t end;
    long window;
} restart;

typedef struct stats {
    long transactions, changes, checked, inserts, updates, deletes, truncates, unchanged_toast;
    long lost, lost_transactions, mismatched, incomplete, unexpected;
    long duplicates, duplicates_unexplained, window;
    long order_violations, global_order_violations;
    long samples, sample_violations;
    long oracle_errors;
} stats;

typedef struct verifier {
    char *tables[MAX_TABLES];
    int ntables;
    events ev;
    stats st;
    txn_rec *txns;
    size_t ntxns;
    size_t captxns;
    restart restarts[MAX_RESTARTS];
    int nrestarts;
    int no_duplicates; /* exactly-once: any duplicate breaks a guarantee */
} verifier;

/* ---- comparing one change ---- */

static int in_array(json_t *arr, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return 1;
    }
    return 0;
}

/* 1 if the JSON value is what test_decoding printed for the column. */
static int same_value(const td_col *c, json_t *v, json_t *unchanged)
{
    char buf[64];

    switch (c->kind) {
    case TD_UNCHANGED:
        return v == NULL && in_array(unchanged, c->name);
    case TD_NULL:
        return json_is_null(v);
    case TD_QUOTED:
        if (json_is_string(v))
            return strcmp(json_string_value(v), c->value) == 0;
        /* json/jsonb is embedded: not compared here. */
        return v != NULL && (json_is_object(v) || json_is_array(v));
    case TD_PLAIN:
        if (strcmp(c->value, "true") == 0 || strcmp(c->value, "false") == 0)
            return json_is_boolean(v) && json_is_true(v) == (c->value[0] == 't');
        if (json_is_integer(v)) {
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            return strcmp(buf, c->value) == 0;
        }
        if (json_is_real(v))
            return json_real_value(v) == strtod(c->value, NULL);
        if (json_is_string(v)) /* NaN, Infinity */
            return strcmp(json_string_value(v), c->value) == 0;
        return 0;
    }
    return 0;
}

/* Every printed column must match; a full row has no column more. */
static int same_tuple(const td_tuple *t, json_t *row, json_t *unchanged, int full, char *why,
                      size_t whysize)
{
    int expect = 0;

    if (!t->present)
        return 1;
    if (!json_is_object(row)) {
        snprintf(why, whysize, "row missing");
        return 0;
    }
    for (int i = 0; i < t->ncols; i++) {
        const td_col *c = &t->cols[i];
        json_t *v = json_object_get(row, c->name);

        if (!same_value(c, v, unchanged)) {
            snprintf(why, whysize, "column \"%.60s\" differs (oracle %.60s)", c->name,
                     c->kind == TD_NULL        ? "null"
                     : c->kind == TD_UNCHANGED ? "unchanged toast"
                                               : c->value);
            return 0;
        }
        expect += c->kind != TD_UNCHANGED;
    }
    if (full && (int)json_object_size(row) != expect) {
        snprintf(why, whysize, "%d columns, oracle has %d", (int)json_object_size(row), expect);
        return 0;
    }
    return 1;
}

static int compare(verifier *vf, const td_line *l, const char *rel, const event *e, char *why,
                   size_t whysize)
{
    const char *line = vf->ev.data + e->start;
    json_error_t err;
    json_t *o = json_loadb(line, (size_t)(e->end - e->start), 0, &err);
    json_t *unchanged;
    json_t *old_row;
    json_t *new_row;
    int ok = 0;
    char name[256];

    if (o == NULL) {
        snprintf(why, whysize, "unreadable line");
        return 0;
    }
    snprintf(name, sizeof(name), "%s.%s", json_string_value(json_object_get(o, "schema")),
             json_string_value(json_object_get(o, "table")));
    unchanged = json_object_get(o, "unchanged_toast");
    old_row = json_object_get(o, "old");
    new_row = json_object_get(o, "new");
    if (e->op != l->op || strcmp(name, rel) != 0) {
        snprintf(why, whysize, "%c on %.100s, oracle %c on %.100s", e->op, name, l->op, rel);
    } else if (l->op == 'I' || l->op == 'U') {
        ok = same_tuple(&l->new_tuple, new_row, unchanged, 1, why, whysize) &&
             same_tuple(&l->old_tuple, old_row, unchanged, 0, why, whysize);
        if (ok && json_array_size(unchanged) > 0)
            vf->st.unchanged_toast++;
    } else if (l->op == 'D') {
        ok = same_tuple(&l->old_tuple, old_row, unchanged, 0, why, whysize);
    } else {
        ok = 1;
    }
    json_decref(o);
    return ok;
}

/* ---- the oracle pass ---- */

typedef struct cur_txn {
    int open;
    uint32_t xid;
    uint64_t begin_lsn;
    uint32_t nchanges;
    uint32_t nfound;
    uint64_t commit_lsn; /* from pgcdc, 0 if none delivered */
    int64_t present_at;
} cur_txn;

static int listed(const verifier *vf, const char *rel)
{
    for (int i = 0; i < vf->ntables; i++) {
        if (strcmp(vf->tables[i], rel) == 0)
            return 1;
    }
    return 0;
}

static void one_change(verifier *vf, cur_txn *t, const td_line *l, const char *rel)
{
    uint32_t seq = t->nchanges++;
    event *e = events_find(&vf->ev, t->xid, seq);
    char why[256];

    vf->st.changes++;
    if (e == NULL || e->xid != t->xid) {
        if (vf->st.lost++ < SHOW)
            fprintf(stderr, "verify: lost: xid %u seq %u: %s\n", t->xid, seq, l->preview);
        return;
    }
    e->matched = 1;
    t->nfound++;
    t->commit_lsn = e->commit_lsn;
    if (e->end > t->present_at)
        t->present_at = e->end;
    if (!compare(vf, l, rel, e, why, sizeof(why))) {
        if (vf->st.mismatched++ < SHOW)
            fprintf(stderr, "verify: mismatch: xid %u seq %u: %s: %s\n", t->xid, seq, why,
                    l->preview);
        return;
    }
    vf->st.checked++;
    vf->st.inserts += l->op == 'I';
    vf->st.updates += l->op == 'U';
    vf->st.deletes += l->op == 'D';
    vf->st.truncates += l->op == 'T';
}

static int add_txn(verifier *vf, const txn_rec *r)
{
    if (vf->ntxns == vf->captxns) {
        size_t cap = vf->captxns ? vf->captxns * 2 : 65536;
        txn_rec *grown = realloc(vf->txns, cap * sizeof(*grown));

        if (grown == NULL)
            return -1;
        vf->txns = grown;
        vf->captxns = cap;
    }
    vf->txns[vf->ntxns++] = *r;
    return 0;
}

static int end_txn(verifier *vf, cur_txn *t, uint64_t end_lsn)
{
    txn_rec r;

    t->open = 0;
    if (t->nchanges == 0)
        return 0;
    vf->st.transactions++;
    if (t->nfound == 0) {
        vf->st.lost_transactions++;
    } else if (t->nfound < t->nchanges) {
        if (vf->st.incomplete++ < SHOW)
            fprintf(stderr, "verify: incomplete: xid %u has %u of %u changes\n", t->xid, t->nfound,
                    t->nchanges);
    }
    if (t->nfound > 0 && (t->commit_lsn < t->begin_lsn || t->commit_lsn >= end_lsn)) {
        if (vf->st.oracle_errors++ < SHOW)
            fprintf(stderr, "verify: xid %u: commit_lsn outside its oracle range\n", t->xid);
    }
    r.xid = t->xid;
    r.lsn = t->nfound > 0 ? t->commit_lsn : end_lsn - 1;
    r.present_at = t->nfound == t->nchanges ? t->present_at : INT64_MAX;
    return add_txn(vf, &r);
}

static int read_oracle(verifier *vf, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    cur_txn t = {0};
    long lineno = 0;
    static td_line l;
    char err[160];

    if (f == NULL) {
        perror(path);
        return -1;
    }
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (td_parse(line, &l, err, sizeof(err)) != 0) {
            if (vf->st.oracle_errors++ < SHOW)
                fprintf(stderr, "verify: oracle line %ld: %s\n", lineno, err);
            continue;
        }
        if (l.type == TD_BEGIN) {
            if (t.open && vf->st.oracle_errors++ < SHOW)
                fprintf(stderr, "verify: oracle line %ld: BEGIN inside a transaction\n", lineno);
            memset(&t, 0, sizeof(t));
            t.open = 1;
            t.xid = l.xid;
            t.begin_lsn = l.lsn;
        } else if (l.type == TD_COMMIT) {
            if (!t.open || t.xid != l.xid) {
                if (vf->st.oracle_errors++ < SHOW)
                    fprintf(stderr, "verify: oracle line %ld: COMMIT without BEGIN\n", lineno);
                continue;
            }
            if (end_txn(vf, &t, l.lsn) != 0)
                goto oom;
        } else if (l.type == TD_CHANGE && t.open) {
            /* TRUNCATE names several tables: pgcdc reports one change for each listed one. */
            for (int i = 0; i < l.nrels; i++) {
                if (listed(vf, l.rels[i]))
                    one_change(vf, &t, &l, l.rels[i]);
            }
        }
    }
    free(line);
    fclose(f);
    if (t.open && t.nchanges > 0 && vf->st.oracle_errors++ < SHOW)
        fprintf(stderr, "verify: oracle ends inside transaction %u\n", t.xid);
    return 0;
oom:
    free(line);
    fclose(f);
    fprintf(stderr, "verify: out of memory\n");
    return -1;
}

/* ---- checks over the delivered lines ---- */

static int explained(const verifier *vf, const event *dup, const event *first)
{
    for (int r = 0; r < vf->nrestarts; r++) {
        const restart *rs = &vf->restarts[r];

        if (first->end <= rs->end && rs->end <= dup->start && dup->commit_lsn >= rs->confirmed)
            return 1;
    }
    return 0;
}

static void check_events(verifier *vf)
{
    uint64_t last_lsn[MAX_TABLES] = {0};
    uint32_t last_seq[MAX_TABLES] = {0};
    int seen[MAX_TABLES] = {0};
    uint64_t glsn = 0;

    for (size_t k = 0; k < vf->ev.n; k++) {
        event *e = &vf->ev.v[k];
        int t = e->table;

        if (e->first != k) {
            if (vf->no_duplicates && vf->st.duplicates < SHOW)
                fprintf(stderr,
                        "verify: duplicate at offset %" PRId64 " (xid %u seq %u), and none may "
                        "be (--no-duplicates)\n",
                        e->start, e->xid, e->seq);
            vf->st.duplicates++;
            if (!explained(vf, e, &vf->ev.v[e->first]) && vf->st.duplicates_unexplained++ < SHOW)
                fprintf(stderr,
                        "verify: duplicate at offset %" PRId64 " (xid %u seq %u) follows no "
                        "restart of pgcdc that could send it again\n",
                        e->start, e->xid, e->seq);
            continue;
        }
        if (!e->matched && vf->st.unexpected++ < SHOW)
            fprintf(stderr, "verify: unexpected event at offset %" PRId64 ": %.160s\n", e->start,
                    vf->ev.data + e->start);
        if (e->commit_lsn < glsn)
            vf->st.global_order_violations++;
        else
            glsn = e->commit_lsn;
        if (t < 0)
            continue;
        if (seen[t] && (e->commit_lsn < last_lsn[t] ||
                        (e->commit_lsn == last_lsn[t] && e->seq <= last_seq[t]))) {
            if (vf->st.order_violations++ < SHOW)
                fprintf(stderr,
                        "verify: order: %s at offset %" PRId64 " (xid %u seq %u) comes after a "
                        "later change\n",
                        vf->tables[t], e->start, e->xid, e->seq);
            continue;
        }
        seen[t] = 1;
        last_lsn[t] = e->commit_lsn;
        last_seq[t] = e->seq;
    }
    for (int r = 0; r < vf->nrestarts; r++) {
        restart *rs = &vf->restarts[r];

        for (size_t k = 0; k < vf->ev.n; k++) {
            const event *e = &vf->ev.v[k];

            if (e->first == k && e->end <= rs->end && e->commit_lsn >= rs->confirmed)
                rs->window++;
        }
        vf->st.window += rs->window;
    }
}

/* "TIME CONFIRMED END ..." into *confirmed and *end; 0, or -1 for "-" or junk. */
static int parse_sample(const char *line, uint64_t *confirmed, int64_t *end)
{
    char lsn[64];
    long long off;

    if (sscanf(line, "%*s %63s %lld", lsn, &off) != 2 || td_lsn_parse(lsn, confirmed) != 0)
        return -1;
    *end = off;
    return 0;
}

static int read_restarts(verifier *vf, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];

    if (f == NULL) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL && vf->nrestarts < MAX_RESTARTS) {
        restart *rs = &vf->restarts[vf->nrestarts];
        char *sp = strchr(line, ' ');

        if (sp == NULL || sp - line >= (long)sizeof(rs->kind))
            continue;
        memcpy(rs->kind, line, (size_t)(sp - line));
        rs->kind[sp - line] = '\0';
        rs->window = 0;
        if (parse_sample(sp + 1, &rs->confirmed, &rs->end) == 0)
            vf->nrestarts++;
    }
    fclose(f);
    return 0;
}

static int by_lsn(const void *a, const void *b)
{
    const txn_rec *x = a;
    const txn_rec *y = b;

    return x->lsn < y->lsn ? -1 : x->lsn > y->lsn;
}

/*
 * A sample (C, E): the slot had confirmed C, and afterwards the file held
 * complete lines up to offset E.  The server never sends again a
 * transaction whose commit LSN is below C, so each of those must have been
 * in the file by then.
 */
static int check_samples(verifier *vf, const char *path)
{
    FILE *f = fopen(path, "r");
    size_t *argmax;
    char line[512];

    if (f == NULL) {
        perror(path);
        return -1;
    }
    qsort(vf->txns, vf->ntxns, sizeof(*vf->txns), by_lsn);
    argmax = malloc((vf->ntxns + 1) * sizeof(*argmax));
    if (argmax == NULL) {
        fclose(f);
        return -1;
    }
    for (size_t i = 0; i < vf->ntxns; i++)
        argmax[i] = i > 0 && vf->txns[argmax[i - 1]].present_at >= vf->txns[i].present_at
                        ? argmax[i - 1]
                        : i;
    while (fgets(line, sizeof(line), f) != NULL) {
        uint64_t c;
        int64_t end;
        size_t lo = 0;
        size_t hi = vf->ntxns;
        const txn_rec *worst;

        if (parse_sample(line, &c, &end) != 0)
            continue;
        vf->st.samples++;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (vf->txns[mid].lsn < c)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == 0)
            continue;
        worst = &vf->txns[argmax[lo - 1]];
        if (worst->present_at > end && vf->st.sample_violations++ < SHOW) {
            line[strcspn(line, "\n")] = '\0';
            fprintf(stderr,
                    "verify: confirmed past durable data: sample \"%s\": xid %u (commit "
                    "%X/%X) %s\n",
                    line, worst->xid, (unsigned)(worst->lsn >> 32), (unsigned)worst->lsn,
                    worst->present_at == INT64_MAX ? "never written completely"
                                                   : "not yet in the file");
        }
    }
    free(argmax);
    fclose(f);
    return 0;
}

/* ---- main ---- */

static int ok(const verifier *vf)
{
    const stats *s = &vf->st;

    return s->transactions > 0 && s->lost == 0 && s->mismatched == 0 && s->incomplete == 0 &&
           s->unexpected == 0 && s->order_violations == 0 && s->duplicates_unexplained == 0 &&
           s->duplicates <= s->window && (!vf->no_duplicates || s->duplicates == 0) &&
           s->sample_violations == 0 && s->oracle_errors == 0 && vf->ev.corrupt == 0 &&
           vf->ev.inconsistent == 0;
}

static void summary(const verifier *vf)
{
    const stats *s = &vf->st;

    printf("{\"ok\":%s,\"events\":%zu,\"transactions\":%ld,\"changes\":%ld,\"checked\":%ld,"
           "\"inserts\":%ld,\"updates\":%ld,\"deletes\":%ld,\"truncates\":%ld,"
           "\"unchanged_toast\":%ld,\"lost\":%ld,\"lost_transactions\":%ld,\"mismatched\":%ld,"
           "\"incomplete\":%ld,\"unexpected\":%ld,\"duplicates\":%ld,"
           "\"duplicates_unexplained\":%ld,\"restarts\":%d,\"unconfirmed_window\":%ld,"
           "\"order_violations\":%ld,\"global_order_violations\":%ld,\"corrupt_lines\":%ld,"
           "\"inconsistent_xids\":%ld,\"oracle_errors\":%ld,\"samples\":%ld,"
           "\"sample_violations\":%ld,\"windows\":[",
           ok(vf) ? "true" : "false", vf->ev.n, s->transactions, s->changes, s->checked, s->inserts,
           s->updates, s->deletes, s->truncates, s->unchanged_toast, s->lost, s->lost_transactions,
           s->mismatched, s->incomplete, s->unexpected, s->duplicates, s->duplicates_unexplained,
           vf->nrestarts, s->window, s->order_violations, s->global_order_violations,
           vf->ev.corrupt, vf->ev.inconsistent, s->oracle_errors, s->samples, s->sample_violations);
    for (int r = 0; r < vf->nrestarts; r++)
        printf("%s{\"kind\":\"%s\",\"window\":%ld}", r ? "," : "", vf->restarts[r].kind,
               vf->restarts[r].window);
    printf("]}\n");
}

static void usage(void)
{
    fprintf(stderr,
            "usage: verify --oracle FILE --output FILE --tables SCHEMA.T1,SCHEMA.T2...\n"
            "              [--samples FILE] [--restarts FILE] [--no-duplicates]\n"
            "ORACLE: COPY (SELECT lsn, xid, data FROM pg_logical_slot_get_changes(<test_decoding\n"
            "slot>, NULL, NULL, 'include-xids', '1', 'skip-empty-xacts', '1')) TO STDOUT.\n"
            "OUTPUT: pgcdc's native JSON lines.  SAMPLES, RESTARTS: lines \"TIME CONFIRMED_LSN\n"
            "COMPLETE_END ...\" from tests/chaos/sampler; a restart line starts with its kind.\n"
            "--no-duplicates: exactly-once delivery, a duplicate fails even after a restart.\n"
            "Exit status: 0 all guarantees held, 1 one was broken, 2 bad usage or input.\n");
}

int main(int argc, char **argv)
{
    static verifier vf;
    const char *oracle = NULL;
    const char *output = NULL;
    const char *samples = NULL;
    const char *restarts = NULL;
    char *tables = NULL;
    int r = 2;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--oracle") == 0 && i + 1 < argc)
            oracle = argv[++i];
        else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
            output = argv[++i];
        else if (strcmp(argv[i], "--tables") == 0 && i + 1 < argc)
            tables = argv[++i];
        else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
            samples = argv[++i];
        else if (strcmp(argv[i], "--restarts") == 0 && i + 1 < argc)
            restarts = argv[++i];
        else if (strcmp(argv[i], "--no-duplicates") == 0)
            vf.no_duplicates = 1;
        else {
            usage();
            return 2;
        }
    }
    if (oracle == NULL || output == NULL || tables == NULL) {
        usage();
        return 2;
    }
    for (char *save = NULL, *t = strtok_r(tables, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        if (vf.ntables == MAX_TABLES) {
            fprintf(stderr, "verify: more than %d tables\n", MAX_TABLES);
            return 2;
        }
        vf.tables[vf.ntables++] = t;
    }
    if (events_load(&vf.ev, output, vf.tables, vf.ntables) != 0)
        goto done;
    if (restarts != NULL && read_restarts(&vf, restarts) != 0)
        goto done;
    if (read_oracle(&vf, oracle) != 0)
        goto done;
    check_events(&vf);
    if (samples != NULL && check_samples(&vf, samples) != 0)
        goto done;
    summary(&vf);
    r = ok(&vf) ? 0 : 1;
done:
    events_free(&vf.ev);
    free(vf.txns);
    return r;
}
