/*
 * measure: runs a command and reports its wall time, CPU time (user + system)
 * and peak resident set size as one JSON object, from wait4()'s rusage, so
 * the benchmark needs no GNU time.  Exits with the command's status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* After the time limit: SIGTERM, then SIGKILL this many seconds later. */
#define KILL_GRACE_S 5

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t timed_out;

static void usage(FILE *f)
{
    fprintf(f,
            "measure runs a command and reports its wall time, CPU time and peak RSS as JSON.\n\n"
            "Usage:\n"
            "  measure [-o FILE] [-l LABEL] [-t SECONDS] -- COMMAND [ARG]...\n\n"
            "  -o FILE      write the JSON object to FILE (default: stderr)\n"
            "  -l LABEL     a label copied into the JSON object\n"
            "  -t SECONDS   send SIGTERM after SECONDS (SIGKILL %d s later)\n\n"
            "SIGINT and SIGTERM are passed on to the command.  Exit status: the command's\n"
            "(128 + signal number if a signal ended it), 125 if it could not be run.\n",
            KILL_GRACE_S);
}

static void on_alarm(int sig)
{
    (void)sig;
    if (child_pid <= 0)
        return;
    if (!timed_out) {
        timed_out = 1;
        kill((pid_t)child_pid, SIGTERM);
        alarm(KILL_GRACE_S);
    } else {
        kill((pid_t)child_pid, SIGKILL);
    }
}

static void on_forward(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double elapsed_s(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Labels come from the harness; anything that would need escaping is replaced. */
static void print_label(FILE *f, const char *label)
{
    fputc('"', f);
    for (const char *p = label; *p != '\0'; p++)
        fputc(*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ? '_' : *p, f);
    fputc('"', f);
}

static void install(int sig, void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: wait4() returns EINTR and the loop goes on waiting. */
    sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
    const char *out_path = NULL;
    const char *label = "";
    long limit_s = 0;
    struct timespec t0;
    struct timespec t1;
    struct rusage ru;
    sigset_t block;
    sigset_t saved;
    FILE *out;
    pid_t pid;
    int status = 0;
    int opt;
    int code;

    while ((opt = getopt(argc, argv, "+o:l:t:h")) != -1) {
        switch (opt) {
        case 'o':
            out_path = optarg;
            break;
        case 'l':
            label = optarg;
            break;
        case 't':
            limit_s = strtol(optarg, NULL, 10);
            if (limit_s <= 0) {
                fprintf(stderr, "measure: invalid time limit \"%s\"\n", optarg);
                return 125;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 125;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 125;
    }
    install(SIGALRM, on_alarm);
    install(SIGINT, on_forward);
    install(SIGTERM, on_forward);
    /* Held until child_pid is set, so a signal in between is passed on, not lost. */
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &saved);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "measure: could not fork: %s\n", strerror(errno));
        return 125;
    }
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigprocmask(SIG_SETMASK, &saved, NULL);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "measure: could not run \"%s\": %s\n", argv[optind], strerror(errno));
        _exit(125);
    }
    child_pid = pid;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    if (limit_s > 0)
        alarm((unsigned)limit_s);
    memset(&ru, 0, sizeof(ru));
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "measure: wait4 failed: %s\n", strerror(errno));
            return 125;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    alarm(0);
    child_pid = 0;
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    out = stderr;
    if (out_path != NULL) {
        out = fopen(out_path, "w");
        if (out == NULL) {
            fprintf(stderr, "measure: could not open \"%s\": %s\n", out_path, strerror(errno));
            return 125;
        }
    }
    fprintf(out, "{\"label\":");
    print_label(out, label);
    fprintf(out,
            ",\"exit\":%d,\"signal\":%d,\"timed_out\":%s,\"wall_s\":%.6f,\"user_s\":%.6f,"
            "\"sys_s\":%.6f,\"cpu_s\":%.6f,\"maxrss_kb\":%ld,\"voluntary_switches\":%ld,"
            "\"involuntary_switches\":%ld}\n",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1,
            WIFSIGNALED(status) ? WTERMSIG(status) : 0, timed_out ? "true" : "false",
            elapsed_s(&t0, &t1), seconds(ru.ru_utime), seconds(ru.ru_stime),
            seconds(ru.ru_utime) + seconds(ru.ru_stime), ru.ru_maxrss, ru.ru_nvcsw, ru.ru_nivcsw);
    if (out != stderr && fclose(out) != 0) {
        fprintf(stderr, "measure: could not write \"%s\": %s\n", out_path, strerror(errno));
        return 125;
    }
    return code;
}
