/*
 * Loading pgcdc's JSON-lines output: every line parsed with jansson, kept
 * as a small record pointing into the mapped file, duplicates linked to
 * their first occurrence.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "events.h"
#include "tdparse.h"

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static char op_code(const char *op)
{
    if (op == NULL)
        return 0;
    if (strcmp(op, "INSERT") == 0)
        return 'I';
    if (strcmp(op, "UPDATE") == 0)
        return 'U';
    if (strcmp(op, "DELETE") == 0)
        return 'D';
    if (strcmp(op, "TRUNCATE") == 0)
        return 'T';
    if (strcmp(op, "READ") == 0)
        return 'R';
    return 0;
}

static int table_index(const char *schema, const char *table, char *const *tables, int ntables)
{
    size_t ls;

    if (schema == NULL || table == NULL)
        return -1;
    ls = strlen(schema);
    for (int i = 0; i < ntables; i++) {
        if (strncmp(tables[i], schema, ls) == 0 && tables[i][ls] == '.' &&
            strcmp(tables[i] + ls + 1, table) == 0)
            return i;
    }
    return -1;
}

/* One line into e: 0, or -1 if it is not a well-formed event. */
static int parse_event(const char *line, size_t len, event *e, char *const *tables, int ntables)
{
    json_error_t err;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    json_t *xid;
    json_t *seq;
    const char *lsn;
    int r = -1;

    if (o == NULL || !json_is_object(o))
        goto done;
    e->op = op_code(json_string_value(json_object_get(o, "op")));
    if (e->op == 'R') {
        /* A snapshot's row: not in the oracle (tests/chaos/replay checks those). */
        r = 1;
        goto done;
    }
    xid = json_object_get(o, "xid");
    seq = json_object_get(o, "seq");
    lsn = json_string_value(json_object_get(o, "commit_lsn"));
    if (e->op == 0 || !json_is_integer(xid) || !json_is_integer(seq) || lsn == NULL ||
        td_lsn_parse(lsn, &e->commit_lsn) != 0)
        goto done;
    e->xid = (uint32_t)json_integer_value(xid);
    e->seq = (uint32_t)json_integer_value(seq);
    e->table = table_index(json_string_value(json_object_get(o, "schema")),
                           json_string_value(json_object_get(o, "table")), tables, ntables);
    r = 0;
done:
    json_decref(o);
    return r;
}

static int add(events *ev, const event *e)
{
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 65536;
        event *grown = realloc(ev->v, cap * sizeof(*grown));

        if (grown == NULL)
            return -1;
        ev->v = grown;
        ev->cap = cap;
    }
    ev->v[ev->n++] = *e;
    return 0;
}

static size_t pair_slot(const events *ev, uint64_t lsn, uint32_t seq)
{
    size_t mask = ev->nslots - 1;
    size_t i = mix(lsn * 31 + seq) & mask;

    while (ev->pair_slots[i] != 0) {
        const event *e = &ev->v[ev->pair_slots[i] - 1];

        if (e->commit_lsn == lsn && e->seq == seq)
            break;
        i = (i + 1) & mask;
    }
    return i;
}

static size_t xid_slot(const events *ev, uint32_t xid)
{
    size_t mask = ev->nslots - 1;
    size_t i = mix(xid) & mask;

    while (ev->xid_slots[i] != 0 && ev->v[ev->xid_slots[i] - 1].xid != xid)
        i = (i + 1) & mask;
    return i;
}

static int index_events(events *ev)
{
    ev->nslots = 1024;
    while (ev->nslots < ev->n * 2)
        ev->nslots *= 2;
    ev->pair_slots = calloc(ev->nslots, sizeof(uint32_t));
    ev->xid_slots = calloc(ev->nslots, sizeof(uint32_t));
    if (ev->pair_slots == NULL || ev->xid_slots == NULL)
        return -1;
    for (size_t k = 0; k < ev->n; k++) {
        event *e = &ev->v[k];
        size_t i = pair_slot(ev, e->commit_lsn, e->seq);
        size_t j;

        if (ev->pair_slots[i] == 0)
            ev->pair_slots[i] = (uint32_t)k + 1;
        e->first = ev->pair_slots[i] - 1;
        j = xid_slot(ev, e->xid);
        if (ev->xid_slots[j] == 0)
            ev->xid_slots[j] = (uint32_t)k + 1;
        else if (ev->v[ev->xid_slots[j] - 1].commit_lsn != e->commit_lsn)
            ev->inconsistent++;
    }
    return 0;
}

int events_load(events *ev, const char *path, char *const *tables, int ntables)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t pos = 0;
    int r;

    memset(ev, 0, sizeof(*ev));
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    ev->size = (size_t)st.st_size;
    if (ev->size > 0) {
        void *m = mmap(NULL, ev->size, PROT_READ, MAP_PRIVATE, fd, 0);

        if (m == MAP_FAILED) {
            perror(path);
            close(fd);
            return -1;
        }
        ev->data = m;
    }
    close(fd);
    while (pos < ev->size) {
        const char *nl = memchr(ev->data + pos, '\n', ev->size - pos);
        event e;

        memset(&e, 0, sizeof(e));
        if (nl == NULL) {
            fprintf(stderr, "verify: torn last line at offset %zu (%zu bytes)\n", pos,
                    ev->size - pos);
            ev->corrupt++;
            break;
        }
        e.start = (int64_t)pos;
        e.end = (int64_t)(nl - ev->data) + 1;
        r = parse_event(ev->data + pos, (size_t)(nl - ev->data) - pos, &e, tables, ntables);
        if (r == 1) {
            ev->reads++;
        } else if (r != 0) {
            if (ev->corrupt++ < 5)
                fprintf(stderr, "verify: not an event at offset %zu: %.120s\n", pos,
                        ev->data + pos);
        } else if (add(ev, &e) != 0) {
            fprintf(stderr, "verify: out of memory\n");
            return -1;
        }
        pos = (size_t)e.end;
    }
    if (ev->n >= UINT32_MAX / 2 || index_events(ev) != 0) {
        fprintf(stderr, "verify: out of memory\n");
        return -1;
    }
    return 0;
}

void events_free(events *ev)
{
    if (ev->data != NULL)
        munmap((void *)ev->data, ev->size);
    free(ev->v);
    free(ev->pair_slots);
    free(ev->xid_slots);
    memset(ev, 0, sizeof(*ev));
}

event *events_find_pair(events *ev, uint64_t commit_lsn, uint32_t seq)
{
    size_t i = pair_slot(ev, commit_lsn, seq);

    return ev->pair_slots[i] != 0 ? &ev->v[ev->pair_slots[i] - 1] : NULL;
}

event *events_find(events *ev, uint32_t xid, uint32_t seq)
{
    size_t j = xid_slot(ev, xid);

    if (ev->xid_slots[j] == 0)
        return NULL;
    return events_find_pair(ev, ev->v[ev->xid_slots[j] - 1].commit_lsn, seq);
}
