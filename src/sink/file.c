/*
 * The file sink: events appended to stdout or a file as JSON lines, with
 * group commit (one write and one fdatasync for every transaction that
 * committed within flush_interval), each transaction acknowledged only once
 * its lines are durable, and a torn last line from a crash repaired at open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fileio.h"
#include "base/num.h"
#include "sink/file.h"
#include "sink/sink.h"

/* The consequence every write failure shares: nothing unconfirmed is lost. */
#define NOTHING_LOST "(nothing after the last confirmed position is lost: fix it and start again)"

/* A line cut by a crash would corrupt the next one: drop it (it was not confirmed). */
static int trim_partial_line(pgcdc__fileout *fo, pgcdc__ctx *ctx)
{
    off_t size = lseek(fo->fd, 0, SEEK_END);
    off_t pos = size;
    char ch;

    while (pos > 0) {
        if (pread(fo->fd, &ch, 1, pos - 1) != 1)
            return -1;
        if (ch == '\n')
            break;
        pos--;
    }
    if (pos == size)
        return 0;
    pgcdc__log(ctx, PGCDC_LOG_WARNING, "dropping an incomplete last line of \"%s\" (%lld bytes)",
               fo->path, (long long)(size - pos));
    return ftruncate(fo->fd, pos);
}

/* Opens fo->path (stdout when NULL was given) and repairs a cut last line. */
static int open_path(pgcdc__fileout *fo, pgcdc__ctx *ctx)
{
    struct stat st;

    if (!fo->own_fd) {
        fo->fd = STDOUT_FILENO;
    } else {
        fo->fd = open(fo->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fo->fd < 0)
            return pgcdc__fail(ctx, PGCDC_ERR_IO, "could not open \"%s\": %s", fo->path,
                               strerror(errno));
    }
    fo->is_file = fstat(fo->fd, &st) == 0 && S_ISREG(st.st_mode);
    if (fo->own_fd && fo->is_file && trim_partial_line(fo, ctx) != 0)
        return pgcdc__fail(ctx, PGCDC_ERR_IO, "could not repair \"%s\": %s", fo->path,
                           strerror(errno));
    return PGCDC_OK;
}

int pgcdc__fileout_open(pgcdc__fileout *fo, pgcdc__ctx *ctx, const char *path)
{
    memset(fo, 0, sizeof(*fo));
    pgcdc__buf_init(&fo->buf);
    fo->fd = -1;
    fo->path = strdup(path != NULL ? path : "stdout");
    if (fo->path == NULL)
        return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
    fo->own_fd = path != NULL;
    return open_path(fo, ctx);
}

int pgcdc__fileout_reopen(pgcdc__fileout *fo, pgcdc__ctx *ctx)
{
    int r = pgcdc__fileout_write(fo, ctx);

    if (r != PGCDC_OK || !fo->own_fd)
        return r;
    if (fo->fd >= 0)
        close(fo->fd);
    fo->fd = -1;
    r = open_path(fo, ctx);
    if (r != PGCDC_OK)
        fo->failed = 1;
    return r;
}

void pgcdc__fileout_close(pgcdc__fileout *fo)
{
    if (fo->own_fd && fo->fd >= 0)
        close(fo->fd);
    fo->fd = -1;
    pgcdc__buf_free(&fo->buf);
    free(fo->path);
    fo->path = NULL;
}

int pgcdc__fileout_write(pgcdc__fileout *fo, pgcdc__ctx *ctx)
{
    if (fo->failed)
        return PGCDC_ERR_IO;
    if (fo->buf.oom) {
        fo->failed = 1;
        return pgcdc__fail(ctx, PGCDC_ERR_IO, "out of memory writing \"%s\" " NOTHING_LOST,
                           fo->path);
    }
    if (pgcdc__write_all(fo->fd, fo->buf.data, fo->buf.len) != 0) {
        fo->failed = 1;
        return pgcdc__fail(ctx, PGCDC_ERR_IO, "could not write to \"%s\": %s " NOTHING_LOST,
                           fo->path, strerror(errno));
    }
    pgcdc__buf_reset(&fo->buf);
    return PGCDC_OK;
}

int pgcdc__fileout_sync(pgcdc__fileout *fo, pgcdc__ctx *ctx)
{
    int r = pgcdc__fileout_write(fo, ctx);

    if (r != PGCDC_OK)
        return r;
    /* A failed fsync may have dropped the pages it could not write: never try again. */
    if (fo->is_file && fdatasync(fo->fd) != 0) {
        fo->failed = 1;
        return pgcdc__fail(ctx, PGCDC_ERR_IO, "could not fsync \"%s\": %s " NOTHING_LOST, fo->path,
                           strerror(errno));
    }
    return PGCDC_OK;
}

/* ---- the sink ---- */

typedef struct file_sink {
    pgcdc__fileout out;
    uint64_t *tokens; /* commits written but not yet durable */
    size_t ntokens;
    size_t captokens;
    int64_t last_flush_us;
    int64_t flush_interval_us;
    size_t flush_bytes;
} file_sink;

static const pgcdc_property file_properties[] = {
    {"flush_interval", PGCDC_PROP_DURATION, "100ms", 0, 60000, NULL,
     "group commit: a commit is written and fsynced at once when the last write is this old"},
    {"flush_bytes", PGCDC_PROP_SIZE, "1MB", 4096, 1LL << 30, NULL,
     "write out (without fsync) whenever this much is gathered, even inside a transaction"},
};

static int file_open(pgcdc_sink *sink, const char *uri)
{
    file_sink *fs = calloc(1, sizeof(*fs));
    const char *path = NULL;
    long long v;
    int r;

    if (fs == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_sink_set_state(sink, fs);
    if (strncmp(uri, "file:", 5) == 0)
        path = uri + 5;
    if (path != NULL && *path == '\0')
        return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID,
                               "sink \"%s\" names no file (use file:PATH, or - for stdout)", uri);
    /* The property table checked the values. */
    if (pgcdc__parse_duration_ms(pgcdc_sink_property(sink, "flush_interval"), &v) == 0)
        fs->flush_interval_us = v * 1000;
    if (pgcdc__parse_size(pgcdc_sink_property(sink, "flush_bytes"), &v) == 0)
        fs->flush_bytes = (size_t)v;
    r = pgcdc__fileout_open(&fs->out, sink->ctx, path);
    if (r != PGCDC_OK)
        return r;
    fs->last_flush_us = pgcdc__now_us();
    return PGCDC_OK;
}

/* Writes what is gathered, makes it durable, then acknowledges the commits it holds. */
static int flush_out(pgcdc_sink *sink, file_sink *fs)
{
    int r = fs->ntokens > 0 ? pgcdc__fileout_sync(&fs->out, sink->ctx)
                            : pgcdc__fileout_write(&fs->out, sink->ctx);

    if (r != PGCDC_OK)
        return r;
    for (size_t i = 0; i < fs->ntokens; i++)
        pgcdc_sink_ack(sink, fs->tokens[i]);
    fs->ntokens = 0;
    fs->last_flush_us = pgcdc__now_us();
    return PGCDC_OK;
}

static int file_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    file_sink *fs = pgcdc_sink_state(sink);
    const char *data;
    size_t len;
    int r;

    if (fs->out.failed)
        return PGCDC_ERR_IO;
    r = pgcdc_sink_event_data(ev, &data, &len);
    if (r != PGCDC_OK)
        return r;
    pgcdc__buf_put(&fs->out.buf, data, len);
    if (pgcdc_sink_event_kind(ev) != PGCDC_EVENT_COMMIT) {
        /* The commit holds the transaction back until it is durable; a large one streams out. */
        if (fs->out.buf.len >= fs->flush_bytes)
            return pgcdc__fileout_write(&fs->out, sink->ctx);
        return PGCDC_HANDLED;
    }
    if (fs->ntokens == fs->captokens) {
        size_t cap = fs->captokens ? fs->captokens * 2 : 256;
        uint64_t *grown = realloc(fs->tokens, cap * sizeof(*grown));

        if (grown == NULL)
            return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
        fs->tokens = grown;
        fs->captokens = cap;
    }
    fs->tokens[fs->ntokens++] = pgcdc_sink_event_token(ev);
    /* Group commit: one write (and fsync) for many transactions. */
    if (fs->out.buf.len >= fs->flush_bytes ||
        pgcdc__now_us() - fs->last_flush_us >= fs->flush_interval_us) {
        r = flush_out(sink, fs);
        if (r != PGCDC_OK)
            return r;
    }
    return PGCDC_DEFER;
}

static int file_flush(pgcdc_sink *sink)
{
    file_sink *fs = pgcdc_sink_state(sink);

    if (fs->ntokens == 0 && fs->out.buf.len == 0)
        return PGCDC_OK;
    return flush_out(sink, fs);
}

static int file_reopen(pgcdc_sink *sink)
{
    file_sink *fs = pgcdc_sink_state(sink);
    int r = flush_out(sink, fs);

    if (r == PGCDC_OK)
        r = pgcdc__fileout_reopen(&fs->out, sink->ctx);
    if (r == PGCDC_OK && fs->out.own_fd)
        pgcdc__log(sink->ctx, PGCDC_LOG_INFO, "reopened \"%s\"", fs->out.path);
    return r;
}

static void file_close(pgcdc_sink *sink)
{
    file_sink *fs = pgcdc_sink_state(sink);

    if (fs == NULL)
        return;
    pgcdc__fileout_close(&fs->out);
    free(fs->tokens);
    free(fs);
}

const pgcdc_sink_ops pgcdc__file_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "file",
    .open = file_open,
    .write = file_write,
    .flush = file_flush,
    .close = file_close,
    .properties = file_properties,
    .nproperties = (int)(sizeof(file_properties) / sizeof(file_properties[0])),
    .reopen = file_reopen,
};
