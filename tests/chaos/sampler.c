/*
 * sampler: every 100 ms, the slot's confirmed_flush_lsn and then how far the
 * pgcdc output file holds complete lines.  verify checks afterwards that the
 * server was never told about a transaction the file did not hold yet.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define TAIL_CHUNK 65536

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/*
 * End of the last complete line of path (0 if none), and that line's
 * commit_lsn ("-" if it has none).  Only bytes up to a newline are final:
 * pgcdc trims an incomplete last line when it starts again.
 */
static long long complete_end(const char *path, char *lsn, size_t lsnsize)
{
    static char buf[TAIL_CHUNK + 1];
    struct stat st;
    long long pos;
    long long end = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    snprintf(lsn, lsnsize, "-");
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return 0;
    }
    pos = st.st_size;
    while (pos > 0 && end == 0) {
        long long from = pos > TAIL_CHUNK ? pos - TAIL_CHUNK : 0;
        ssize_t n = pread(fd, buf, (size_t)(pos - from), from);

        if (n <= 0)
            break;
        for (ssize_t i = n - 1; i >= 0; i--) {
            if (buf[i] == '\n') {
                end = from + i + 1;
                break;
            }
        }
        pos = from;
    }
    if (end > 0) {
        /* The last complete line: its start is the previous newline (or the file's start). */
        long long from = end - 1 > TAIL_CHUNK ? end - 1 - TAIL_CHUNK : 0;
        ssize_t n = pread(fd, buf, (size_t)(end - 1 - from), from);
        const char *line;
        const char *p;

        if (n >= 0) {
            buf[n] = '\0';
            line = strrchr(buf, '\n');
            line = line != NULL ? line + 1 : buf;
            p = strstr(line, "\"commit_lsn\":\"");
            if (p != NULL) {
                size_t k = 0;

                p += strlen("\"commit_lsn\":\"");
                while (p[k] != '\0' && p[k] != '"' && k + 1 < lsnsize) {
                    lsn[k] = p[k];
                    k++;
                }
                lsn[k] = '\0';
            }
        }
    }
    close(fd);
    return end;
}

/* One sample: 1 printed, 0 when the server could not be asked. */
static int sample(PGconn **conn, const char *conninfo, const char *slot, const char *path)
{
    const char *params[1] = {slot};
    struct timespec ts;
    PGresult *res;
    char confirmed[32];
    char last[32];
    long long end;

    if (*conn == NULL || PQstatus(*conn) != CONNECTION_OK) {
        PQfinish(*conn);
        *conn = PQconnectdb(conninfo);
        if (PQstatus(*conn) != CONNECTION_OK)
            return 0;
    }
    res = PQexecParams(*conn,
                       "SELECT coalesce(confirmed_flush_lsn::text, '-') FROM pg_replication_slots "
                       "WHERE slot_name = $1",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return 0;
    }
    snprintf(confirmed, sizeof(confirmed), "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "-");
    PQclear(res);
    /* After the server's answer: the file can only have grown since it was confirmed. */
    end = complete_end(path, last, sizeof(last));
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("%lld.%03ld %s %lld %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000, confirmed, end,
           last);
    fflush(stdout);
    return 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: sampler --dbname CONNINFO --slot NAME --file PATH [--interval-ms N] [--once]\n"
            "Prints \"TIME CONFIRMED_LSN COMPLETE_END LAST_COMMIT_LSN\" lines (\"-\": none)\n"
            "every N ms (default 100) until SIGTERM; with --once, one line.\n");
}

int main(int argc, char **argv)
{
    const char *conninfo = NULL;
    const char *slot = NULL;
    const char *path = NULL;
    int interval_ms = 100;
    int once = 0;
    PGconn *conn = NULL;
    struct sigaction sa;
    struct timespec next;
    struct timespec now;
    char conn_str[2048];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dbname") == 0 && i + 1 < argc)
            conninfo = argv[++i];
        else if (strcmp(argv[i], "--slot") == 0 && i + 1 < argc)
            slot = argv[++i];
        else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc)
            interval_ms = atoi(argv[++i]);
        else if (strcmp(argv[i], "--once") == 0)
            once = 1;
        else {
            usage();
            return 2;
        }
    }
    if (conninfo == NULL || slot == NULL || path == NULL || interval_ms < 10 ||
        interval_ms > 60000) {
        usage();
        return 2;
    }
    /* A server that is down must not stall the samples for long. */
    snprintf(conn_str, sizeof(conn_str), "%s connect_timeout=2 application_name=chaos_sampler",
             conninfo);
    if (once) {
        int ok = sample(&conn, conn_str, slot, path);

        PQfinish(conn);
        return ok ? 0 : 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!stop_requested) {
        sample(&conn, conn_str, slot, path);
        next.tv_nsec += (long)interval_ms * 1000000L;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        /* Behind (a server that was down): start the rhythm again from now. */
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
            next = now;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR &&
               !stop_requested)
            ;
    }
    PQfinish(conn);
    return 0;
}
