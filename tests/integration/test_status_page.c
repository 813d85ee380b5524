/*
 * pgcdc --metrics-addr's status page (/) in a real browser: two pipelines
 * of a --config file stream inserts, headless Chromium loads the page and
 * runs its script, and the DOM it renders must show the real figures (state,
 * slots, events by pipeline and table, the charts' rate from the history,
 * which adds up to the rows inserted, the sinks); a screenshot is a PNG of
 * the window's size.  /status.json is checked as JSON on the way, and the
 * page for outside assets.  Chromium is required (scripts/install-deps).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/wait.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "testlib.h"
#include "tool.h"

static const char *tool;

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* The pipeline named slot in /status.json (a new reference), or NULL; *doc to decref. */
static json_t *pipeline_of(json_t *doc, const char *slot)
{
    json_t *p;
    size_t i;

    json_array_foreach(json_object_get(doc, "pipelines"), i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "name")), slot) == 0)
            return p;
    }
    return NULL;
}

/* /status.json once slot's events reach want (up to 30 s); the whole document. */
static json_t *wait_events(int port, const char *slot, json_int_t want)
{
    json_t *doc = NULL;

    for (int i = 0; i < 300; i++) {
        char type[128];
        char *s = NULL;
        json_t *p;

        json_decref(doc);
        doc = NULL;
        if (tl_http_get(port, "/status.json", &s, type, sizeof(type)) == 200) {
            json_error_t err;

            assert_string_equal(type, "application/json");
            doc = json_loads(s, JSON_REJECT_DUPLICATES, &err);
            if (doc == NULL)
                fail_msg("/status.json is not JSON (%s): %s", err.text, s);
        }
        free(s);
        p = doc != NULL ? pipeline_of(doc, slot) : NULL;
        if (p != NULL && json_integer_value(json_object_get(p, "events")) >= want)
            return doc;
        nap_ms(100);
    }
    fail_msg("%s did not reach %lld events in /status.json", slot, (long long)want);
    return NULL;
}

/* The largest number of a JSON array. */
static double max_of(json_t *a)
{
    double max = 0;
    json_t *v;
    size_t i;

    json_array_foreach(a, i, v)
    {
        if (json_number_value(v) > max)
            max = json_number_value(v);
    }
    return max;
}

/* Whether chromium is on PATH. */
static int have_chromium(void)
{
    return system("command -v chromium >/dev/null 2>&1") == 0;
}

/*
 * Runs headless Chromium on the page with args (--dump-dom, --screenshot=...)
 * in dir, its stdout to dir/out; the exit status.  A profile, a HOME and
 * caches of its own, so that nothing outside dir is touched.
 */
static int chromium(const char *dir, int port, const char *args)
{
    char cmd[2048];
    int r;

    snprintf(cmd, sizeof(cmd),
             "cd '%s' && HOME='%s' XDG_CONFIG_HOME='%s' XDG_CACHE_HOME='%s' timeout 120 chromium "
             "--headless --no-sandbox --disable-gpu "
             "--disable-dev-shm-usage --no-first-run --user-data-dir='%s/profile' "
             "--virtual-time-budget=8000 %s http://127.0.0.1:%d/ >'%s/out' 2>'%s/chromium.log'",
             dir, dir, dir, dir, dir, args, port, dir, dir);
    r = system(cmd);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/*
 * The text of the DOM element whose data-k is key, inside the pipeline
 * section of slot (the first such element after it), into buf; NULL when
 * absent.
 */
static const char *leaf(const char *dom, const char *slot, const char *key, char *buf, size_t size)
{
    char needle[256];
    const char *at;
    const char *end;

    snprintf(needle, sizeof(needle), "data-pipeline=\"%s\"", slot);
    at = strstr(dom, needle);
    if (at == NULL)
        return NULL;
    snprintf(needle, sizeof(needle), "data-k=\"%s\">", key);
    at = strstr(at, needle);
    if (at == NULL)
        return NULL;
    at += strlen(needle);
    end = strchr(at, '<');
    if (end == NULL || (size_t)(end - at) >= size)
        return NULL;
    memcpy(buf, at, (size_t)(end - at));
    buf[end - at] = '\0';
    return buf;
}

/* A figure as the page prints it ("1,234.5"), as a number. */
static double figure(const char *text)
{
    char digits[64];
    size_t n = 0;

    for (; *text != '\0' && n + 1 < sizeof(digits); text++) {
        if (*text != ',')
            digits[n++] = *text;
    }
    digits[n] = '\0';
    return strtod(digits, NULL);
}

static void assert_leaf(const char *dom, const char *slot, const char *key, const char *want)
{
    char buf[512];

    if (leaf(dom, slot, key, buf, sizeof(buf)) == NULL)
        fail_msg("no data-k=\"%s\" in the section of %s:\n%s", key, slot, dom);
    if (strcmp(buf, want) != 0)
        fail_msg("%s of %s shows \"%s\", want \"%s\"", key, slot, buf, want);
}

/* Writes the two pipelines' --config file into dir; its path in cfg. */
static void write_config(const char *dir, int port, char *cfg, size_t size)
{
    FILE *f;

    snprintf(cfg, size, "%s/pgcdc.yaml", dir);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "dbname: dbname=t_status_page\n"
            "metrics_addr: 127.0.0.1:%d\n"
            "pipelines:\n"
            "  - slot: s_sp_orders\n"
            "    publication: p_sp_orders\n"
            "    table: orders\n"
            "    output: %s/orders.jsonl\n"
            "  - slot: s_sp_users\n"
            "    publication: p_sp_users\n"
            "    table: users\n"
            "    output: %s/users.jsonl\n",
            port, dir, dir);
    fclose(f);
}

static void test_status_page(void **state)
{
    const char *db = tl_fresh_db("t_status_page");
    char dir[] = "/tmp/pgcdc-page-XXXXXX";
    char cfg[512];
    char path[600];
    char type[128];
    char want[600];
    char buf[128];
    char *page = NULL;
    char *dom = NULL;
    int port = tl_free_port();
    json_t *doc;
    json_t *orders;
    json_t *hist;
    double sum = 0;
    double max_rate;
    size_t i;
    json_t *v;
    pid_t pid;

    (void)state;
    if (!have_chromium())
        fail_msg("chromium is not installed: the status page test needs it (scripts/install-deps "
                 "installs it)");
    assert_non_null(mkdtemp(dir));
    write_config(dir, port, cfg, sizeof(cfg));
    tl_sql(db, "CREATE TABLE orders (id int PRIMARY KEY, status text)");
    tl_sql(db, "CREATE TABLE users (id int PRIMARY KEY, name text)");
    pid = tt_spawn((const char *[]){tool, "--config", cfg, NULL}, "/dev/null");
    for (int k = 0; k < 3000 && tt_count_stderr("streaming from slot") < 2; k++)
        nap_ms(10);
    assert_int_equal(tt_count_stderr("streaming from slot"), 2);

    /* The page itself: HTML, and nothing fetched from elsewhere. */
    assert_int_equal(tl_http_get(port, "/", &page, type, sizeof(type)), 200);
    assert_string_equal(type, "text/html; charset=utf-8");
    assert_non_null(strstr(page, "<!doctype html>"));
    assert_null(strstr(page, "<link"));
    assert_null(strstr(page, " src="));
    assert_null(strstr(page, "https:"));
    assert_null(strstr(page, "href=\"http"));
    assert_null(strstr(page, "@import"));
    free(page);

    /* 120 orders over about 6 s, so that several 2 s samples see a rate; 3 users. */
    for (int k = 0; k < 4; k++) {
        tl_sql(db, "INSERT INTO orders SELECT g, 'new' FROM generate_series(%d, %d) g", k * 30 + 1,
               k * 30 + 30);
        nap_ms(1500);
    }
    tl_sql(db, "UPDATE orders SET status = 'paid' WHERE id <= 10");
    tl_sql(db, "INSERT INTO users VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')");
    json_decref(wait_events(port, "s_sp_users", 3));
    doc = wait_events(port, "s_sp_orders", 130);
    /* Two more samples, so that the history holds the last rows too. */
    nap_ms(4500);
    json_decref(doc);
    doc = wait_events(port, "s_sp_orders", 130);
    orders = pipeline_of(doc, "s_sp_orders");
    assert_string_equal(json_string_value(json_object_get(orders, "state")), "streaming");
    assert_int_equal(json_integer_value(json_object_get(orders, "events")), 130);
    hist = json_object_get(orders, "history");
    assert_true(json_array_size(json_object_get(hist, "t")) >= 4);
    /* Each sample's events add up to them all; its rate is of those events. */
    json_array_foreach(json_object_get(hist, "events"), i, v)
    {
        sum += json_number_value(v);
        assert_true((json_number_value(v) > 0) ==
                    (json_number_value(json_array_get(json_object_get(hist, "rate"), i)) > 0));
    }
    if (sum != 130)
        fail_msg("the history's samples add up to %.0f events, want 130", sum);
    max_rate = max_of(json_object_get(hist, "rate"));
    assert_true(max_rate > 0);

    /* What the browser draws; the first load may come before the script's first fetch. */
    for (int k = 0; k < 5; k++) {
        free(dom);
        assert_int_equal(chromium(dir, port, "--dump-dom"), 0);
        snprintf(path, sizeof(path), "%s/out", dir);
        dom = tt_slurp(path);
        if (leaf(dom, "s_sp_orders", "events", buf, sizeof(buf)) != NULL)
            break;
    }
    assert_non_null(strstr(dom, ">2 pipelines<"));
    assert_leaf(dom, "s_sp_orders", "name", "s_sp_orders");
    assert_leaf(dom, "s_sp_orders", "state", "streaming");
    assert_leaf(dom, "s_sp_orders", "events", "130");
    assert_leaf(dom, "s_sp_orders", "table-insert", "120");
    assert_leaf(dom, "s_sp_orders", "table-update", "10");
    assert_leaf(dom, "s_sp_users", "name", "s_sp_users");
    assert_leaf(dom, "s_sp_users", "state", "streaming");
    assert_leaf(dom, "s_sp_users", "events", "3");
    assert_leaf(dom, "s_sp_users", "table-insert", "3");
    /* The rate chart's maximum is the history's, as the page rounds it. */
    assert_non_null(leaf(dom, "s_sp_orders", "rate-max", buf, sizeof(buf)));
    if (figure(buf) < max_rate - 0.5 || figure(buf) > max_rate + 0.5)
        fail_msg("the rate chart shows a maximum of %s, /status.json %.2f", buf, max_rate);
    assert_non_null(strstr(dom, "data-chart=\"rate\""));
    assert_non_null(strstr(dom, "data-chart=\"lag\""));
    assert_non_null(strstr(dom, "data-chart=\"wal\""));
    {
        int lines = 0;

        for (const char *p = strstr(dom, "<polyline"); p != NULL; p = strstr(p + 1, "<polyline"))
            lines++;
        assert_int_equal(lines, 6); /* three charts by two pipelines */
    }
    /* The sinks: the output files, with what was written to them. */
    snprintf(want, sizeof(want), "file:%s/orders.jsonl", dir);
    assert_leaf(dom, "s_sp_orders", "sink-uri", want);
    assert_leaf(dom, "s_sp_orders", "sink-kind", "file");
    assert_non_null(leaf(dom, "s_sp_orders", "sink-events", buf, sizeof(buf)));
    assert_true(figure(buf) >= 130);
    snprintf(want, sizeof(want), "file:%s/users.jsonl", dir);
    assert_leaf(dom, "s_sp_users", "sink-uri", want);
    free(dom);

    /* A screenshot: a PNG of the window's size. */
    assert_int_equal(chromium(dir, port, "--window-size=1200,900 --screenshot=page.png"), 0);
    snprintf(path, sizeof(path), "%s/page.png", dir);
    {
        FILE *f = fopen(path, "rb");
        unsigned char head[24];
        long size;

        assert_non_null(f);
        assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fclose(f);
        assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
        assert_memory_equal(head + 12, "IHDR", 4);
        assert_int_equal((head[16] << 24) | (head[17] << 16) | (head[18] << 8) | head[19], 1200);
        assert_int_equal((head[20] << 24) | (head[21] << 16) | (head[22] << 8) | head[23], 900);
        assert_true(size > 10000);
    }

    json_decref(doc);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_page),
    };
    int r;

    tl_env();
    tool = tt_tool();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    tt_cleanup();
    return r;
}
