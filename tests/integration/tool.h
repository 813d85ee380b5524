/*
 * The pgcdc command as tests run it: its path, a file each for its stdout
 * and stderr, and helpers to start it, wait for it and read what it wrote.
 */
#ifndef PGCDC_TEST_TOOL_H
#define PGCDC_TEST_TOOL_H

#include <sys/types.h>

#include <jansson.h>

/* The tool's path and the two files (made on first use; removed by tt_cleanup). */
const char *tt_tool(void);
const char *tt_out(void);
const char *tt_err(void);
void tt_cleanup(void);

/* A file's whole content, NUL-terminated; fails the test if it cannot be read. */
char *tt_slurp(const char *path);
/* Starts the tool (argv NULL-terminated, argv[0] the tool); stdout to out (NULL: tt_out()). */
pid_t tt_spawn(const char *const argv[], const char *out);
/* Waits for a started tool: its exit status, or 128 + signal; fails the test on a crash. */
int tt_wait(pid_t pid);
/* Runs the tool to its end: its exit status (stderr echoed on failure). */
int tt_run(const char *const argv[]);
/* stderr holds needle and is one line. */
void tt_assert_stderr_one_line(const char *needle);
/* Waits up to 30 s for needle in stderr; returns whether it came. */
int tt_wait_stderr(const char *needle);
/* How many times needle occurs in stderr. */
int tt_count_stderr(const char *needle);
/* text parsed as JSON; fails the test when it is not JSON (or NULL). */
json_t *tt_parse(const char *text);
/* Every line of a file parsed as JSON: the array of objects. */
json_t *tt_parse_lines(const char *path);

#endif /* PGCDC_TEST_TOOL_H */
