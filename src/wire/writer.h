/*
 * Writer twins of the decoder: the standby status update pgcdc sends, and
 * every message it reads, built byte for byte (test fixtures, fuzz seeds).
 */
#ifndef PGCDC_WIRE_WRITER_H
#define PGCDC_WIRE_WRITER_H

#include <stdint.h>

#include "base/buf.h"
#include "wire/decoder.h"

/* Standby status update ('r'); times in microseconds since 2000-01-01. */
void pgcdc__wr_status(pgcdc__buf *b, uint64_t written, uint64_t flushed, uint64_t applied,
                      int64_t now, int reply_requested);
/* Wrappers; the pgoutput message bytes follow a 'w' header. */
void pgcdc__wr_xlogdata_header(pgcdc__buf *b, uint64_t wal_start, uint64_t wal_end,
                               int64_t send_time);
void pgcdc__wr_keepalive(pgcdc__buf *b, uint64_t wal_end, int64_t send_time, int reply_requested);
/* pgoutput messages; xid < 0 means "not streamed" (no xid field). */
void pgcdc__wr_begin(pgcdc__buf *b, uint64_t final_lsn, int64_t commit_time, uint32_t xid);
void pgcdc__wr_commit(pgcdc__buf *b, uint8_t flags, uint64_t commit_lsn, uint64_t end_lsn,
                      int64_t commit_time);
void pgcdc__wr_origin(pgcdc__buf *b, uint64_t commit_lsn, const char *name);
void pgcdc__wr_relation(pgcdc__buf *b, int64_t xid, uint32_t relid, const char *nspname,
                        const char *relname, char replident, uint16_t ncols,
                        const pgcdc__relcol *cols);
void pgcdc__wr_type(pgcdc__buf *b, int64_t xid, uint32_t oid, const char *nspname,
                    const char *typname);
/* Tuple data: kinds[i] is 'n', 'u', 't' or 'b'; values[i] used for 't'/'b' (lens[i] bytes). */
void pgcdc__wr_tuple(pgcdc__buf *b, uint16_t ncols, const char *kinds, const char *const *values,
                     const uint32_t *lens);
void pgcdc__wr_insert_header(pgcdc__buf *b, int64_t xid, uint32_t relid); /* then 'N' tuple */
void pgcdc__wr_update_header(pgcdc__buf *b, int64_t xid,
                             uint32_t relid); /* then [K|O tuple] N tuple */
void pgcdc__wr_delete_header(pgcdc__buf *b, int64_t xid, uint32_t relid); /* then K|O tuple */
void pgcdc__wr_truncate(pgcdc__buf *b, int64_t xid, uint8_t options, uint32_t nrels,
                        const uint32_t *relids);
void pgcdc__wr_message(pgcdc__buf *b, int64_t xid, uint8_t flags, uint64_t lsn, const char *prefix,
                       const char *content, uint32_t len);
void pgcdc__wr_stream_start(pgcdc__buf *b, uint32_t xid, uint8_t first_segment);
void pgcdc__wr_stream_stop(pgcdc__buf *b);
void pgcdc__wr_stream_commit(pgcdc__buf *b, uint32_t xid, uint8_t flags, uint64_t commit_lsn,
                             uint64_t end_lsn, int64_t commit_time);
void pgcdc__wr_stream_abort(pgcdc__buf *b, uint32_t xid, uint32_t subxid);
/*
 * Two-phase messages (type 'b', 'P', 'K', 'r' or 'p'), fields as in
 * pgcdc__msg's twophase: flags is not written for 'b', rollback_time only for 'r'.
 */
void pgcdc__wr_twophase(pgcdc__buf *b, char type, uint8_t flags, uint64_t lsn, uint64_t end_lsn,
                        int64_t time, int64_t rollback_time, uint32_t xid, const char *gid);

#endif /* PGCDC_WIRE_WRITER_H */
