/*
 * pgcdc status (see status_cmd.h).
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "status_cmd.h"

/* 1234567 bytes as "1.2 MB" (1 MB is 1024 kB). */
static void bytes(char *buf, size_t size, double v)
{
    static const char *const units[] = {"bytes", "kB", "MB", "GB", "TB"};
    int u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%.0f bytes", v);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
}

void pgcdc_tool_status_text(char *buf, size_t size, const char *slot, const pgcdc_slot_status *st)
{
    static const char *const wal[] = {"unknown", "reserved", "extended", "unreserved", "lost"};
    char confirmed[32];
    char restart[32];
    char retained[32];
    char safe[48];
    char who[48];
    char pub[2200];
    int n;

    if (!st->publication_exists)
        snprintf(pub, sizeof(pub), "  publication: missing (created at the first start)\n");
    else
        snprintf(pub, sizeof(pub), "  publication: %d table%s: %s\n", st->ntables,
                 st->ntables == 1 ? "" : "s", st->ntables > 0 ? st->tables : "(none)");
    if (!st->slot_exists) {
        snprintf(buf, size, "%s\n  slot: missing (created at the first start)\n%s", slot, pub);
        return;
    }
    pgcdc_lsn_format(st->confirmed_lsn, confirmed, sizeof(confirmed));
    pgcdc_lsn_format(st->restart_lsn, restart, sizeof(restart));
    bytes(retained, sizeof(retained), (double)st->retained_wal);
    if (st->safe_wal_size < 0) {
        snprintf(safe, sizeof(safe), "no max_slot_wal_keep_size");
    } else {
        char sz[32];

        bytes(sz, sizeof(sz), (double)st->safe_wal_size);
        snprintf(safe, sizeof(safe), "safe_wal_size %s", sz);
    }
    if (st->active)
        snprintf(who, sizeof(who), "active, pid %d", st->active_pid);
    else
        snprintf(who, sizeof(who), "inactive");
    n = snprintf(buf, size,
                 "%s\n"
                 "  slot: %s, database %s, plugin %s\n"
                 "  confirmed: %s (restart_lsn %s)\n"
                 "  retained WAL: %s, wal_status %s, %s\n",
                 slot, who, st->database, st->plugin, confirmed, restart, retained,
                 (unsigned)st->wal_status < 5 ? wal[st->wal_status] : "unknown", safe);
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "%s", pub);
}

int pgcdc_tool_status_cmd(FILE *out, pgcdc_worker *const *w, char *const *slots, int n)
{
    int r = 0;

    for (int i = 0; i < n; i++) {
        pgcdc_slot_status st;
        char text[4096];

        if (pgcdc_worker_slot_status(w[i], &st) != PGCDC_OK) {
            fprintf(stderr, "pgcdc: error: %s\n", pgcdc_worker_errmsg(w[i]));
            return EXIT_RUNTIME;
        }
        pgcdc_tool_status_text(text, sizeof(text), slots[i], &st);
        fputs(text, out);
        if (!st.slot_exists || st.wal_status == PGCDC_WAL_STATUS_LOST)
            r = EXIT_SLOT;
    }
    return r;
}
