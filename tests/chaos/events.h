/*
 * What pgcdc delivered: the lines of its native JSON output, indexed by
 * (commit_lsn, seq) and by xid, with each line's place in the file.
 */
#ifndef CHAOS_EVENTS_H
#define CHAOS_EVENTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct event {
    uint64_t commit_lsn;
    int64_t start; /* offset of the line in the file */
    int64_t end;   /* offset just past its newline */
    uint32_t xid;
    uint32_t seq;
    uint32_t first; /* index of the first line with the same (commit_lsn, seq) */
    int32_t table;  /* index in the table list; -1 when not listed */
    char op;        /* 'I', 'U', 'D', 'T' */
    uint8_t matched;
} event;

typedef struct events {
    const char *data; /* the file, mapped */
    size_t size;
    event *v;
    size_t n;
    size_t cap;
    uint32_t *pair_slots; /* open addressing: event index + 1, first occurrences */
    uint32_t *xid_slots;
    size_t nslots;
    long corrupt;      /* lines that are not a pgcdc event, a torn last line included */
    long reads;        /* a snapshot's READ rows (not in the oracle): skipped */
    long inconsistent; /* an xid seen with two commit LSNs */
} events;

/* Maps and indexes path; tables as "schema.table".  0, or -1 with a message on stderr. */
int events_load(events *ev, const char *path, char *const *tables, int ntables);
void events_free(events *ev);
/* The first event of the transaction xid with that seq, or NULL. */
event *events_find(events *ev, uint32_t xid, uint32_t seq);
/* The first event with (commit_lsn, seq), or NULL. */
event *events_find_pair(events *ev, uint64_t commit_lsn, uint32_t seq);

#endif
