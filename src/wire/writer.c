/*
 * Writer twins of the decoder: one function per replication and pgoutput
 * message, appending to a buffer (which keeps one spare byte past len, so
 * it can be fed to the decoder as it is).
 */
#include <string.h>

#include "wire/writer.h"

static void buf_i64(pgcdc__buf *b, int64_t v)
{
    uint64_t u;

    memcpy(&u, &v, sizeof(u));
    pgcdc__buf_u64(b, u);
}

/* The xid field of messages sent inside a stream. */
static void put_xid(pgcdc__buf *b, int64_t xid)
{
    if (xid >= 0) {
        pgcdc__buf_u32(b, (uint32_t)xid);
    }
}

void pgcdc__wr_status(pgcdc__buf *b, uint64_t written, uint64_t flushed, uint64_t applied,
                      int64_t now, int reply_requested)
{
    pgcdc__buf_u8(b, 'r');
    pgcdc__buf_u64(b, written);
    pgcdc__buf_u64(b, flushed);
    pgcdc__buf_u64(b, applied);
    buf_i64(b, now);
    pgcdc__buf_u8(b, reply_requested ? 1 : 0);
}

void pgcdc__wr_xlogdata_header(pgcdc__buf *b, uint64_t wal_start, uint64_t wal_end,
                               int64_t send_time)
{
    pgcdc__buf_u8(b, 'w');
    pgcdc__buf_u64(b, wal_start);
    pgcdc__buf_u64(b, wal_end);
    buf_i64(b, send_time);
}

void pgcdc__wr_keepalive(pgcdc__buf *b, uint64_t wal_end, int64_t send_time, int reply_requested)
{
    pgcdc__buf_u8(b, 'k');
    pgcdc__buf_u64(b, wal_end);
    buf_i64(b, send_time);
    pgcdc__buf_u8(b, reply_requested ? 1 : 0);
}

void pgcdc__wr_begin(pgcdc__buf *b, uint64_t final_lsn, int64_t commit_time, uint32_t xid)
{
    pgcdc__buf_u8(b, PGCDC_MSG_BEGIN);
    pgcdc__buf_u64(b, final_lsn);
    buf_i64(b, commit_time);
    pgcdc__buf_u32(b, xid);
}

static void put_commit_fields(pgcdc__buf *b, uint8_t flags, uint64_t commit_lsn, uint64_t end_lsn,
                              int64_t commit_time)
{
    pgcdc__buf_u8(b, flags);
    pgcdc__buf_u64(b, commit_lsn);
    pgcdc__buf_u64(b, end_lsn);
    buf_i64(b, commit_time);
}

void pgcdc__wr_commit(pgcdc__buf *b, uint8_t flags, uint64_t commit_lsn, uint64_t end_lsn,
                      int64_t commit_time)
{
    pgcdc__buf_u8(b, PGCDC_MSG_COMMIT);
    put_commit_fields(b, flags, commit_lsn, end_lsn, commit_time);
}

void pgcdc__wr_origin(pgcdc__buf *b, uint64_t commit_lsn, const char *name)
{
    pgcdc__buf_u8(b, PGCDC_MSG_ORIGIN);
    pgcdc__buf_u64(b, commit_lsn);
    pgcdc__buf_str(b, name);
}

void pgcdc__wr_relation(pgcdc__buf *b, int64_t xid, uint32_t relid, const char *nspname,
                        const char *relname, char replident, uint16_t ncols,
                        const pgcdc__relcol *cols)
{
    pgcdc__buf_u8(b, PGCDC_MSG_RELATION);
    put_xid(b, xid);
    pgcdc__buf_u32(b, relid);
    pgcdc__buf_str(b, nspname);
    pgcdc__buf_str(b, relname);
    pgcdc__buf_u8(b, (uint8_t)replident);
    pgcdc__buf_u16(b, ncols);
    for (uint16_t i = 0; i < ncols; i++) {
        uint32_t typmod;

        memcpy(&typmod, &cols[i].typmod, sizeof(typmod));
        pgcdc__buf_u8(b, cols[i].flags);
        pgcdc__buf_str(b, cols[i].name);
        pgcdc__buf_u32(b, cols[i].type_oid);
        pgcdc__buf_u32(b, typmod);
    }
}

void pgcdc__wr_type(pgcdc__buf *b, int64_t xid, uint32_t oid, const char *nspname,
                    const char *typname)
{
    pgcdc__buf_u8(b, PGCDC_MSG_TYPE);
    put_xid(b, xid);
    pgcdc__buf_u32(b, oid);
    pgcdc__buf_str(b, nspname);
    pgcdc__buf_str(b, typname);
}

void pgcdc__wr_tuple(pgcdc__buf *b, uint16_t ncols, const char *kinds, const char *const *values,
                     const uint32_t *lens)
{
    pgcdc__buf_u16(b, ncols);
    for (uint16_t i = 0; i < ncols; i++) {
        pgcdc__buf_u8(b, (uint8_t)kinds[i]);
        if (kinds[i] == PGCDC_COL_TEXT || kinds[i] == PGCDC_COL_BINARY) {
            pgcdc__buf_u32(b, lens[i]);
            pgcdc__buf_put(b, values[i], lens[i]);
        }
    }
}

void pgcdc__wr_insert_header(pgcdc__buf *b, int64_t xid, uint32_t relid)
{
    pgcdc__buf_u8(b, PGCDC_MSG_INSERT);
    put_xid(b, xid);
    pgcdc__buf_u32(b, relid);
}

void pgcdc__wr_update_header(pgcdc__buf *b, int64_t xid, uint32_t relid)
{
    pgcdc__buf_u8(b, PGCDC_MSG_UPDATE);
    put_xid(b, xid);
    pgcdc__buf_u32(b, relid);
}

void pgcdc__wr_delete_header(pgcdc__buf *b, int64_t xid, uint32_t relid)
{
    pgcdc__buf_u8(b, PGCDC_MSG_DELETE);
    put_xid(b, xid);
    pgcdc__buf_u32(b, relid);
}

void pgcdc__wr_truncate(pgcdc__buf *b, int64_t xid, uint8_t options, uint32_t nrels,
                        const uint32_t *relids)
{
    pgcdc__buf_u8(b, PGCDC_MSG_TRUNCATE);
    put_xid(b, xid);
    pgcdc__buf_u32(b, nrels);
    pgcdc__buf_u8(b, options);
    for (uint32_t i = 0; i < nrels; i++) {
        pgcdc__buf_u32(b, relids[i]);
    }
}

void pgcdc__wr_message(pgcdc__buf *b, int64_t xid, uint8_t flags, uint64_t lsn, const char *prefix,
                       const char *content, uint32_t len)
{
    pgcdc__buf_u8(b, PGCDC_MSG_MESSAGE);
    put_xid(b, xid);
    pgcdc__buf_u8(b, flags);
    pgcdc__buf_u64(b, lsn);
    pgcdc__buf_str(b, prefix);
    pgcdc__buf_u32(b, len);
    pgcdc__buf_put(b, content, len);
}

void pgcdc__wr_stream_start(pgcdc__buf *b, uint32_t xid, uint8_t first_segment)
{
    pgcdc__buf_u8(b, PGCDC_MSG_STREAM_START);
    pgcdc__buf_u32(b, xid);
    pgcdc__buf_u8(b, first_segment);
}

void pgcdc__wr_stream_stop(pgcdc__buf *b)
{
    pgcdc__buf_u8(b, PGCDC_MSG_STREAM_STOP);
}

void pgcdc__wr_stream_commit(pgcdc__buf *b, uint32_t xid, uint8_t flags, uint64_t commit_lsn,
                             uint64_t end_lsn, int64_t commit_time)
{
    pgcdc__buf_u8(b, PGCDC_MSG_STREAM_COMMIT);
    pgcdc__buf_u32(b, xid);
    put_commit_fields(b, flags, commit_lsn, end_lsn, commit_time);
}

void pgcdc__wr_stream_abort(pgcdc__buf *b, uint32_t xid, uint32_t subxid)
{
    pgcdc__buf_u8(b, PGCDC_MSG_STREAM_ABORT);
    pgcdc__buf_u32(b, xid);
    pgcdc__buf_u32(b, subxid);
}

void pgcdc__wr_twophase(pgcdc__buf *b, char type, uint8_t flags, uint64_t lsn, uint64_t end_lsn,
                        int64_t time, int64_t rollback_time, uint32_t xid, const char *gid)
{
    pgcdc__buf_u8(b, (uint8_t)type);
    if (type != PGCDC_MSG_BEGIN_PREPARE)
        pgcdc__buf_u8(b, flags);
    pgcdc__buf_u64(b, lsn);
    pgcdc__buf_u64(b, end_lsn);
    buf_i64(b, time);
    if (type == PGCDC_MSG_ROLLBACK_PREPARED)
        buf_i64(b, rollback_time);
    pgcdc__buf_u32(b, xid);
    pgcdc__buf_str(b, gid);
}
