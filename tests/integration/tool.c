/*
 * Running the pgcdc command in tests.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "tool.h"

static char tool[1024];
static char outpath[256];
static char errpath[256];

static void init(void)
{
    const char *bin = getenv("PGCDC_BINARY_DIR");
    int fd;

    if (tool[0] != '\0')
        return;
    assert_non_null(bin);
    snprintf(tool, sizeof(tool), "%s/tools/pgcdc/pgcdc", bin);
    snprintf(outpath, sizeof(outpath), "/tmp/pgcdc-tool-out-XXXXXX");
    fd = mkstemp(outpath);
    assert_true(fd >= 0);
    close(fd);
    snprintf(errpath, sizeof(errpath), "/tmp/pgcdc-tool-err-XXXXXX");
    fd = mkstemp(errpath);
    assert_true(fd >= 0);
    close(fd);
}

const char *tt_tool(void)
{
    init();
    return tool;
}

const char *tt_out(void)
{
    init();
    return outpath;
}

const char *tt_err(void)
{
    init();
    return errpath;
}

void tt_cleanup(void)
{
    if (tool[0] == '\0')
        return;
    unlink(outpath);
    unlink(errpath);
    tool[0] = '\0';
}

char *tt_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    if (f == NULL)
        fail_msg("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = calloc((size_t)n + 1, 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

pid_t tt_spawn(const char *const argv[], const char *out)
{
    pid_t pid;

    init();
    /* Emptied before the fork, so no one reads the previous run's stderr. */
    assert_int_equal(truncate(errpath, 0), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(out ? out : outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int tt_wait(pid_t pid)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
        char *err = tt_slurp(errpath);

        if (WTERMSIG(status) != SIGKILL)
            fail_msg("pgcdc died of signal %d: %s", WTERMSIG(status), err);
        free(err);
        return 128 + SIGKILL;
    }
    return WEXITSTATUS(status);
}

int tt_run(const char *const argv[])
{
    int code = tt_wait(tt_spawn(argv, NULL));

    if (code != 0) {
        char *err = tt_slurp(errpath);

        fprintf(stderr, "  exit %d: %s", code, err);
        free(err);
    }
    return code;
}

void tt_assert_stderr_one_line(const char *needle)
{
    char *err = tt_slurp(errpath);

    const char *last;
    size_t len = strlen(err);

    if (strstr(err, needle) == NULL)
        fail_msg("stderr lacks \"%s\": %s", needle, err);
    /*
     * One line, the last, ending the output; before it only the log's info
     * lines ("<time> pgcdc: info: ..."), which the default level shows.
     */
    assert_true(len > 0 && err[len - 1] == '\n');
    err[len - 1] = '\0';
    last = strrchr(err, '\n');
    last = last != NULL ? last + 1 : err;
    if (strstr(last, needle) == NULL)
        fail_msg("the last line of stderr lacks \"%s\": %s", needle, err);
    for (const char *l = err; l < last; l = strchr(l, '\n') + 1) {
        const char *nl = strchr(l, '\n');
        const char *info = strstr(l, " pgcdc: info: ");

        if (info == NULL || info > nl)
            fail_msg("stderr has more than the error and info lines: %s", err);
    }
    free(err);
}

int tt_wait_stderr(const char *needle)
{
    struct timespec ts = {0, 20000000};

    for (int k = 0; k < 1500; k++) {
        if (tt_count_stderr(needle) > 0)
            return 1;
        nanosleep(&ts, NULL);
    }
    return 0;
}

int tt_count_stderr(const char *needle)
{
    char *err = tt_slurp(errpath);
    int n = 0;

    for (const char *p = strstr(err, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    free(err);
    return n;
}

json_t *tt_parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = text != NULL ? json_loads(text, 0, &jerr) : NULL;

    if (doc == NULL)
        fail_msg("not JSON: %s", text != NULL ? text : "(none)");
    return doc;
}

json_t *tt_parse_lines(const char *path)
{
    char *text = tt_slurp(path);
    json_t *all = json_array();
    char *save = NULL;

    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *obj = json_loads(line, JSON_REJECT_DUPLICATES, &err);

        if (obj == NULL)
            fail_msg("not JSON (%s): %s", err.text, line);
        json_array_append_new(all, obj);
    }
    free(text);
    return all;
}
