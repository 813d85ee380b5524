/*
 * The local webhook receiver of the http sink's tests: started as a child
 * (python3 webhook_receiver.py), driven through its control endpoint, and
 * what it received read back from its store file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "testlib.h"
#include "tool.h"
#include "webhook_rx.h"

/* ---- the receiver ---- */

static char tmpdir[] = "/tmp/pgcdc-http-XXXXXX";

void rx_start(rx *r, const char *secret, int tls)
{
    char script[512];
    char cert[300];
    char key[300];
    char line[32];
    size_t n = 0;
    int fds[2];
    int fd;

    memset(r, 0, sizeof(*r));
    r->tls = tls;
    snprintf(r->store, sizeof(r->store), "/tmp/pgcdc-hook-XXXXXX");
    fd = mkstemp(r->store);
    assert_true(fd >= 0);
    close(fd);
    snprintf(script, sizeof(script), "%s/tests/sinks/webhook_receiver.py",
             getenv("PGCDC_SOURCE_DIR"));
    snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
    snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
    assert_int_equal(pipe(fds), 0);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        const char *argv[12] = {"python3", script, "--store", r->store};
        int i = 4;

        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (secret != NULL) {
            argv[i++] = "--secret";
            argv[i++] = secret;
        }
        if (tls) {
            argv[i++] = "--cert";
            argv[i++] = cert;
            argv[i++] = "--key";
            argv[i++] = key;
        }
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    while (n + 1 < sizeof(line) && read(fds[0], line + n, 1) == 1 && line[n] != '\n')
        n++;
    line[n] = '\0';
    close(fds[0]);
    if (atoi(line) <= 0)
        fail_msg("the receiver did not start (%s)", script);
    snprintf(r->url, sizeof(r->url), "%s://127.0.0.1:%d/hook", tls ? "https" : "http", atoi(line));
    snprintf(r->ca, sizeof(r->ca), "%s", cert);
}

void rx_stop(rx *r)
{
    kill(r->pid, SIGTERM);
    waitpid(r->pid, NULL, 0);
    unlink(r->store);
}

static size_t gather(char *data, size_t size, size_t n, void *arg)
{
    char *buf = arg;
    size_t have = strlen(buf);
    size_t k = size * n;

    if (have + k >= 4096)
        k = 4095 - have;
    memcpy(buf + have, data, k);
    buf[have + k] = '\0';
    return size * n;
}

/* Posts a command to the receiver's control endpoint; its answer. */
json_t *rx_control(const rx *r, const char *cmd)
{
    char url[160];
    char reply[4096] = "";
    json_error_t jerr;
    json_t *doc;
    CURL *e = curl_easy_init();

    snprintf(url, sizeof(url), "%.*s/_control", (int)(strlen(r->url) - 5), r->url);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, cmd);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, gather);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, reply);
    if (r->tls)
        curl_easy_setopt(e, CURLOPT_CAINFO, r->ca);
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    curl_easy_cleanup(e);
    doc = json_loads(reply, 0, &jerr);
    assert_non_null(doc);
    return doc;
}

long rx_stat(const rx *r, const char *what)
{
    json_t *doc = rx_control(r, "{}");
    long v = (long)json_integer_value(json_object_get(doc, what));

    json_decref(doc);
    return v;
}

/* Every request the receiver stored, in arrival order. */
json_t *rx_requests(const rx *r)
{
    json_t *all = tt_parse_lines(r->store);

    assert_non_null(all);
    return all;
}

const char *rx_header(json_t *req, const char *name)
{
    return json_string_value(json_object_get(json_object_get(req, "headers"), name));
}

static int accepted(json_t *req)
{
    json_t *status = json_object_get(req, "status");

    return json_is_integer(status) && json_integer_value(status) / 100 == 2;
}

/* The events of the accepted requests, a batch seen twice (a retry) counted once. */
json_t *rx_events(const rx *r, int ndjson)
{
    json_t *reqs = rx_requests(r);
    json_t *events = json_array();
    json_t *seen = json_object();
    size_t i;
    json_t *req;

    json_array_foreach(reqs, i, req)
    {
        const char *body = json_string_value(json_object_get(req, "body"));
        const char *id = rx_header(req, "webhook-id");
        json_error_t jerr;

        if (!accepted(req))
            continue;
        assert_non_null(id);
        if (json_object_get(seen, id) != NULL)
            continue;
        json_object_set_new(seen, id, json_true());
        if (ndjson) {
            for (const char *p = body; *p != '\0';) {
                const char *nl = strchr(p, '\n');
                json_t *ev;

                assert_non_null(nl);
                ev = json_loadb(p, (size_t)(nl - p), 0, &jerr);
                if (ev == NULL)
                    fail_msg("not an NDJSON line: %.*s", (int)(nl - p), p);
                json_array_append_new(events, ev);
                p = nl + 1;
            }
        } else {
            json_t *batch = json_loads(body, 0, &jerr);

            if (!json_is_array(batch))
                fail_msg("not a JSON array: %s", body);
            json_array_extend(events, batch);
            json_decref(batch);
        }
    }
    json_decref(seen);
    json_decref(reqs);
    return events;
}

/* The "new" row's id of each event, as "1,2,3" (malloc'd). */
static char *ids_of(json_t *events)
{
    size_t size = 24 * json_array_size(events) + 1;
    char *out = malloc(size);
    size_t i;
    json_t *ev;
    size_t n = 0;

    assert_non_null(out);
    out[0] = '\0';
    json_array_foreach(events, i, ev)
    {
        json_t *row = json_object_get(ev, "new");

        n += (size_t)snprintf(out + n, size - n, "%s%lld", n ? "," : "",
                              (long long)json_integer_value(json_object_get(row, "id")));
    }
    return out;
}

void rx_expect_ids(json_t *events, int from, int to)
{
    size_t size = 24 * (size_t)(to - from + 1) + 1;
    char *want = malloc(size);
    char *have = ids_of(events);
    size_t n = 0;

    assert_non_null(want);
    want[0] = '\0';
    for (int id = from; id <= to; id++)
        n += (size_t)snprintf(want + n, size - n, "%s%d", n ? "," : "", id);
    assert_string_equal(have, want);
    free(want);
    free(have);
}

int rx_make_cert(void **state)
{
    char cmd[1024];

    (void)state;
    assert_non_null(mkdtemp(tmpdir));
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem "
             ">/dev/null 2>&1",
             tmpdir, tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int rx_remove_cert(void **state)
{
    char path[300];

    (void)state;
    snprintf(path, sizeof(path), "%s/key.pem", tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/cert.pem", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    return 0;
}
