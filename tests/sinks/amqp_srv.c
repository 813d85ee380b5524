/*
 * The test's own rabbitmq-server and its queues (see amqp_srv.h).  The node
 * runs as root from Debian's scripts with every path in its directory, and
 * with an epmd of its own that the test starts first (else the node would
 * start one that outlives it).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "amqp_srv.h"
#include "testlib.h"

#define SERVER "/usr/lib/rabbitmq/bin/rabbitmq-server"

/* A logged-in connection with channel 1 open, or NULL. */
static amqp_connection_state_t login(const rq_server *s)
{
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    struct timeval tv = {5, 0};

    if (sock == NULL || amqp_socket_open_noblock(sock, "127.0.0.1", s->port, &tv) != 0 ||
        amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type !=
            AMQP_RESPONSE_NORMAL ||
        amqp_channel_open(conn, 1) == NULL) {
        amqp_destroy_connection(conn);
        return NULL;
    }
    return conn;
}

static void bye(amqp_connection_state_t conn)
{
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
}

static void check_rpc(amqp_connection_state_t conn, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);

    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        fail_msg("%s failed (reply type %d)", what, (int)r.reply_type);
}

/* Waits until the port answers (up to 30 s). */
static void wait_port(int port, pid_t *pid, const char *what)
{
    for (int i = 0; i < 300; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        int ok;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(fd);
        if (ok)
            return;
        if (tl_daemon_exited(pid))
            fail_msg("%s on port %d exited", what, port);
        tl_sleep_ms(100);
    }
    fail_msg("%s on port %d never answered", what, port);
}

/* Waits up to 120 s until the node takes a login (it starts slowly). */
static void wait_ready(rq_server *s)
{
    for (int i = 0; i < 1200; i++) {
        amqp_connection_state_t conn = login(s);

        if (conn != NULL) {
            bye(conn);
            return;
        }
        if (tl_daemon_exited(&s->pid))
            fail_msg("rabbitmq-server on port %d exited (see %s/log)", s->port, s->dir);
        tl_sleep_ms(100);
    }
    fail_msg("rabbitmq-server on port %d never took a login (see %s/log)", s->port, s->dir);
}

static void set_env(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_env(const char *name, const char *fmt, ...)
{
    char value[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    assert_int_equal(setenv(name, value, 1), 0);
}

static void spawn(rq_server *s)
{
    char cmd[256];
    const char *argv[] = {"sh", "-c", cmd, NULL};

    /* Exec all the way down: the pid is the node's, and it dies with the test. */
    snprintf(cmd, sizeof(cmd), "exec %s >>'%s/server.out' 2>&1 </dev/null", SERVER, s->dir);
    set_env("HOME", "%s", s->dir);
    set_env("RABBITMQ_NODENAME", "pgcdc-test-%d@localhost", s->port);
    set_env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1");
    set_env("RABBITMQ_NODE_PORT", "%d", s->port);
    set_env("RABBITMQ_DIST_PORT", "%d", s->dist_port);
    set_env("ERL_EPMD_PORT", "%d", s->epmd_port);
    set_env("RABBITMQ_MNESIA_BASE", "%s/mnesia", s->dir);
    set_env("RABBITMQ_LOG_BASE", "%s/log", s->dir);
    set_env("RABBITMQ_CONFIG_FILE", "%s/rabbit", s->dir);
    set_env("RABBITMQ_ENABLED_PLUGINS_FILE", "%s/plugins", s->dir);
    set_env("RABBITMQ_CONF_ENV_FILE", "%s/env.conf", s->dir);
    /* The node in the foreground without a shell: no wrapper process in between. */
    set_env("RABBITMQ_ALLOW_INPUT", "1");
    set_env("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-noinput");
    s->pid = tl_daemon_start(argv);
    wait_ready(s);
}

static void write_file(const rq_server *s, const char *name, const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

void rq_start(rq_server *s)
{
    char cmd[160];
    const char *epmd[] = {"sh", "-c", cmd, NULL};

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/pgcdc-rabbitmq-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    s->port = tl_free_port();
    s->dist_port = tl_free_port();
    s->epmd_port = tl_free_port();
    snprintf(s->uri, sizeof(s->uri), "amqp://127.0.0.1:%d", s->port);
    /* A nearly full disk would block publishers (the default limit is 50 MB free). */
    write_file(s, "rabbit.conf", "disk_free_limit.absolute = 1MB\n");
    write_file(s, "plugins", "[].\n");
    write_file(s, "env.conf", "");
    /* Its output (a line per probe of its port) in a file; exec: the pid is epmd's. */
    snprintf(cmd, sizeof(cmd), "exec epmd -port %d >>'%s/epmd.out' 2>&1 </dev/null", s->epmd_port,
             s->dir);
    s->epmd = tl_daemon_start(epmd);
    wait_port(s->epmd_port, &s->epmd, "epmd");
    spawn(s);
}

void rq_restart(rq_server *s)
{
    assert_int_equal(s->pid, 0);
    spawn(s);
}

void rq_kill(rq_server *s)
{
    tl_daemon_stop(&s->pid, SIGKILL);
}

void rq_stop(rq_server *s)
{
    char cmd[128];

    tl_daemon_stop(&s->pid, SIGTERM);
    tl_daemon_stop(&s->epmd, SIGTERM);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    assert_int_equal(system(cmd), 0);
}

void rq_exchange(rq_server *s, const char *exchange)
{
    amqp_connection_state_t conn = login(s);

    assert_non_null(conn);
    amqp_exchange_declare(conn, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes("topic"), 0, 1,
                          0, 0, amqp_empty_table);
    check_rpc(conn, "exchange.declare");
    bye(conn);
}

void rq_queue(rq_server *s, const char *exchange, const char *queue, const char *binding)
{
    amqp_connection_state_t conn;

    if (exchange[0] != '\0')
        rq_exchange(s, exchange);
    conn = login(s);
    assert_non_null(conn);
    amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
    check_rpc(conn, "queue.declare");
    if (exchange[0] != '\0') {
        amqp_queue_bind(conn, 1, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange),
                        amqp_cstring_bytes(binding), amqp_empty_table);
        check_rpc(conn, "queue.bind");
    }
    amqp_queue_purge(conn, 1, amqp_cstring_bytes(queue));
    check_rpc(conn, "queue.purge");
    bye(conn);
}

void rq_print_log(const rq_server *s)
{
    char cmd[192];

    snprintf(cmd, sizeof(cmd), "tail -n 60 '%s'/log/*.log >&2", s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "(no log in %s/log)\n", s->dir);
}

void rq_wait_queue(rq_server *s, const char *exchange, const char *queue, const char *binding)
{
    for (int i = 0; i < 600; i++) {
        amqp_connection_state_t conn = login(s);

        if (conn != NULL) {
            amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 1, 1, 0, 0, amqp_empty_table);
            if (amqp_get_rpc_reply(conn).reply_type == AMQP_RESPONSE_NORMAL) {
                /* Bound again (a no-op when the binding came back with it). */
                amqp_queue_bind(conn, 1, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange),
                                amqp_cstring_bytes(binding), amqp_empty_table);
                check_rpc(conn, "queue.bind");
                bye(conn);
                return;
            }
            /* The failed declare closed the channel: the connection goes. */
            amqp_destroy_connection(conn);
        }
        tl_sleep_ms(200);
    }
    rq_print_log(s);
    fail_msg("rabbitmq on port %d did not bring the durable queue \"%s\" back within 120 s",
             s->port, queue);
}

static char *dup_bytes(amqp_bytes_t b)
{
    char *s = malloc(b.len + 1);

    assert_non_null(s);
    memcpy(s, b.bytes, b.len);
    s[b.len] = '\0';
    return s;
}

void rq_read(rq_server *s, const char *queue, rq_msgs *out)
{
    amqp_connection_state_t conn = login(s);
    size_t cap = 0;

    memset(out, 0, sizeof(*out));
    assert_non_null(conn);
    for (;;) {
        amqp_rpc_reply_t r = amqp_basic_get(conn, 1, amqp_cstring_bytes(queue), 1);
        const amqp_basic_get_ok_t *ok;
        amqp_message_t msg;
        rq_msg *m;

        if (r.reply_type != AMQP_RESPONSE_NORMAL)
            fail_msg("basic.get from \"%s\" failed (reply type %d)", queue, (int)r.reply_type);
        if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
            break;
        ok = r.reply.decoded;
        if (out->n == cap) {
            cap = cap > 0 ? cap * 2 : 1024;
            out->m = realloc(out->m, cap * sizeof(*out->m));
            assert_non_null(out->m);
        }
        m = &out->m[out->n++];
        memset(m, 0, sizeof(*m));
        m->routing_key = dup_bytes(ok->routing_key);
        m->exchange = dup_bytes(ok->exchange);
        assert_int_equal(amqp_read_message(conn, 1, &msg, 0).reply_type, AMQP_RESPONSE_NORMAL);
        m->body = dup_bytes(msg.body);
        if (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG)
            m->message_id = dup_bytes(msg.properties.message_id);
        if (msg.properties._flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
            m->content_type = dup_bytes(msg.properties.content_type);
        if (msg.properties._flags & AMQP_BASIC_DELIVERY_MODE_FLAG)
            m->delivery_mode = msg.properties.delivery_mode;
        amqp_destroy_message(&msg);
        amqp_maybe_release_buffers(conn);
    }
    bye(conn);
}

void rq_msgs_free(rq_msgs *msgs)
{
    for (size_t i = 0; i < msgs->n; i++) {
        free(msgs->m[i].body);
        free(msgs->m[i].message_id);
        free(msgs->m[i].content_type);
        free(msgs->m[i].routing_key);
        free(msgs->m[i].exchange);
    }
    free(msgs->m);
    memset(msgs, 0, sizeof(*msgs));
}
