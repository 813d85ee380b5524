/*
 * The exec sink's child process (see src/sink/exec.c): spawned through the
 * shell, its standard input and output on Unix stream sockets (so that a
 * write to a handler that died fails with EPIPE instead of raising SIGPIPE),
 * in its own process group (a Ctrl+C at the terminal stops pgcdc, which then
 * lets its handler finish, rather than both at once).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "sink/exec_int.h"

extern char **environ;

static char sh[] = "/bin/sh";
static char dash_c[] = "-c";
static char protocol[] = "PGCDC_HANDLER_PROTOCOL=1";

static const char *format_name(pgcdc_format f)
{
    return f == PGCDC_FORMAT_DEBEZIUM   ? "debezium"
           : f == PGCDC_FORMAT_WAL2JSON ? "wal2json"
                                        : "json";
}

/* environ without our own variables, then ours; NULL on out of memory. */
static char **child_env(pgcdc_format format)
{
    size_t n = 0;
    size_t k = 0;
    char **env;
    char fmt[64];

    while (environ != NULL && environ[n] != NULL)
        n++;
    env = calloc(n + 3, sizeof(*env));
    if (env == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "PGCDC_HANDLER_PROTOCOL=", 23) != 0 &&
            strncmp(environ[i], "PGCDC_FORMAT=", 13) != 0)
            env[k++] = environ[i];
    }
    snprintf(fmt, sizeof(fmt), "PGCDC_FORMAT=%s", format_name(format));
    env[k++] = protocol;
    env[k] = strdup(fmt);
    if (env[k] == NULL) {
        free(env);
        return NULL;
    }
    return env;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int pgcdc__child_start(pgcdc__child *c, const char *cmd, pgcdc_format format, char *why,
                       size_t size)
{
    int in[2] = {-1, -1};
    int out[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    sigset_t dflt;
    char *argv[] = {sh, dash_c, NULL, NULL};
    char **env = child_env(format);
    pid_t pid = 0;
    int r;

    c->pid = 0;
    c->in = c->out = -1;
    argv[2] = strdup(cmd);
    if (env == NULL || argv[2] == NULL) {
        free(argv[2]);
        free(env);
        snprintf(why, size, "out of memory");
        return PGCDC_ERR_NOMEM;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) != 0) {
        snprintf(why, size, "could not make its sockets: %s", strerror(errno));
        r = PGCDC_ERR_SINK;
        goto done;
    }
    /* Its input is read-only to it, its output write-only. */
    shutdown(in[1], SHUT_RD);
    shutdown(out[1], SHUT_WR);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[0], 1);
    /* Nothing else of ours: the server's connection least of all. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&attr);
    /* Signals pgcdc ignores (SIGPIPE, say) are not the handler's business. */
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGHUP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    r = posix_spawn(&pid, argv[0], &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (r != 0) {
        snprintf(why, size, "could not start /bin/sh: %s", strerror(r));
        r = PGCDC_ERR_SINK;
        goto done;
    }
    c->pid = pid;
    c->in = in[1];
    c->out = out[1];
    in[1] = out[1] = -1;
    fcntl(c->in, F_SETFL, fcntl(c->in, F_GETFL) | O_NONBLOCK);
    fcntl(c->out, F_SETFL, fcntl(c->out, F_GETFL) | O_NONBLOCK);
    r = PGCDC_OK;
done:
    close_fd(&in[0]);
    close_fd(&in[1]);
    close_fd(&out[0]);
    close_fd(&out[1]);
    for (size_t i = 0; env[i] != NULL; i++) {
        if (strncmp(env[i], "PGCDC_FORMAT=", 13) == 0)
            free(env[i]);
    }
    free(env);
    free(argv[2]);
    return r;
}

/* Waits up to ms for the child to exit: 1 with *status, 0 if it still runs. */
static int reaped(pid_t pid, int ms, int *status)
{
    int64_t until = pgcdc__now_us() + (int64_t)ms * 1000;

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid || (r < 0 && errno != EINTR))
            return 1;
        if (pgcdc__now_us() >= until)
            return 0;
        pgcdc__sleep_us(5000);
    }
}

static void describe(int status, char *how, size_t size)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        snprintf(how, size, "exited with status 127 (the shell could not run the command)");
    else if (WIFEXITED(status))
        snprintf(how, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(how, size, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(how, size, "ended");
}

void pgcdc__child_end(pgcdc__child *c, int polite, int grace_ms, char *how, size_t size)
{
    int status = 0;
    int gone;

    close_fd(&c->in);
    if (c->pid <= 0) {
        close_fd(&c->out);
        snprintf(how, size, "was not running");
        return;
    }
    /* A handler that has just exited is told apart from one that must be killed. */
    gone = reaped(c->pid, polite ? grace_ms : 50, &status);
    if (!gone) {
        kill(-c->pid, SIGTERM);
        gone = reaped(c->pid, polite ? 2000 : 200, &status);
    }
    if (!gone) {
        kill(-c->pid, SIGKILL);
        while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    describe(status, how, size);
    /* What is left of its group (the shell's children) goes too. */
    kill(-c->pid, SIGKILL);
    close_fd(&c->out);
    c->pid = 0;
}
