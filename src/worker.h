/*
 * The worker's state, shared by worker.c (dispatch, transactions, delivery)
 * and stream.c (the replication connection, status updates, reconnects).
 */
#ifndef PGCDC_WORKER_H
#define PGCDC_WORKER_H

#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"
#include "spool.h"

typedef enum pgcdc__wstate {
    PGCDC__W_NEW = 0,
    PGCDC__W_STREAMING,
    PGCDC__W_DONE,
    PGCDC__W_FAILED
} pgcdc__wstate;

struct pgcdc_worker {
    pgcdc_config cfg;
    char errmsg[PGCDC__ERRMSG_SIZE];
    pgcdc__wstate state;
    pgcdc__catalog cat;

    /* The replication connection; conn and status fields are guarded by io_mu. */
    PGconn *conn;
    int conn_broken;
    pthread_mutex_t io_mu;
    pgcdc__buf out;
    int64_t last_status_us; /* monotonic */
    uint64_t sent_flush;
    int64_t last_recv_us;    /* monotonic */
    int recv_since_check;    /* received since last_recv_us was last set */
    int busy_streak;         /* messages received since the last wait */
    int64_t busy_bytes;      /* bytes of those messages */
    int read_ahead;          /* reads since libpq's buffer last gave a message */
    int64_t read_bytes;      /* bytes of the messages libpq's last read completed */
    int gathered;            /* the last wait was a gather (stream.c) */
    int gather_us;           /* how long the next gather lasts */
    int sock_sndbuf;         /* the server's send buffer, as far as we can tell */
    int64_t window_start_us; /* messages received since then, by wakeup: is the stream bulk? */
    int window_msgs;
    uint64_t received_lsn;

    int binary;         /* the stream asks for binary values */
    pgcdc__buf scratch; /* text of binary values of the current change */
    size_t *offsets;    /* their offsets in scratch, old then new tuple */
    size_t noffsets;
    pgcdc__decoder *dec;
    pgcdc__relcache *rc;
    pgcdc__ledger ledger;
    pgcdc__spool *spool;
    char *rbuf; /* libpq's buffer holding the current message */
    pgcdc__msg msg;

    /* The transaction being received. */
    int in_txn;
    int skip_txn; /* already delivered before a reconnect */
    pgcdc_txn txn;
    char origin[64];
    pgcdc_change change;
    int truncate_active;
    uint32_t truncate_next;
    uint64_t last_delivered_commit; /* commit LSN of the last transaction fully delivered */
    /* A transaction cut by a lost connection: resumed, not redelivered, when sent again. */
    uint64_t resume_commit_lsn;
    uint64_t resume_token;
    uint32_t resume_count;
    uint32_t skip_below_seq;
    int endpos_reached;
    int txn_streaming;   /* between Stream Start and Stream Stop */
    uint32_t stream_xid; /* the streamed transaction's xid */
    int replaying;       /* delivering a committed streamed transaction from the spool */
    uint64_t replay_end_lsn;
    int protocol_errors; /* consecutive */
    int stream_fatal;    /* an error of the stream that no reconnect can mend */
    int slot_busy;       /* START_REPLICATION failed: another walsender holds the slot */

    /* Stop requests (signal-safe) and the keeper thread. */
    atomic_int stop_requested;
    int64_t stop_deadline_us; /* the transaction in flight may finish until then */
    int wake[2];
    pthread_t keeper;
    int keeper_started;
    pthread_mutex_t keeper_mu; /* guards keeper_quit; keeper_cv wakes the keeper to quit */
    pthread_cond_t keeper_cv;
    int keeper_quit;
    atomic_int in_callback;

    int dead_fd; /* dead-letter file, opened on first use */
    pgcdc_formatter *dead_fmt;
    uint64_t rng;
    int reconnect_delay_ms;
    int64_t stream_opened_us; /* monotonic: when the current stream started */
};

/* stream.c */
int64_t pgcdc__now_us(void);
int pgcdc__stream_open(pgcdc_worker *w);
void pgcdc__stream_close(pgcdc_worker *w, int graceful);
/* 1: a message in w->rbuf (length in *len), 0: timeout or woken, -1: connection lost. */
/* A stop was requested and the transaction in flight (if any) had its grace. */
int pgcdc__stopping(pgcdc_worker *w);
int pgcdc__stream_receive(pgcdc_worker *w, int timeout_ms, int *len);
/* Sends a status update now (locks io_mu). */
void pgcdc__stream_send_status(pgcdc_worker *w, int reply_requested);
/* Sends a status update if one is due (locks io_mu). */
void pgcdc__stream_status_if_due(pgcdc_worker *w);
/* Sleeps up to ms, returns early (1) when a stop is requested. */
int pgcdc__wait_interruptible(pgcdc_worker *w, int ms);
int pgcdc__keeper_init(pgcdc_worker *w); /* 0 or -1 */
void pgcdc__keeper_destroy(pgcdc_worker *w);
int pgcdc__keeper_start(pgcdc_worker *w);
void pgcdc__keeper_stop(pgcdc_worker *w);

#endif /* PGCDC_WORKER_H */
