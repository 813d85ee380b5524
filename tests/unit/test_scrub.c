/*
 * The command line's password scrubbing: every spelling libpq takes for a
 * password in a connection string is removed, the rest kept as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scrub.h"

/* Scrubs a copy of in; checks the result, and that the freed tail is all NULs. */
static void check(const char *in, const char *want, int removed)
{
    size_t len = strlen(in);
    char *s = malloc(len + 1);

    assert_non_null(s);
    memcpy(s, in, len + 1);
    assert_int_equal(pgcdc_tool_scrub_password(s), removed);
    assert_string_equal(s, want);
    for (size_t i = strlen(s); i <= len; i++)
        assert_int_equal(s[i], '\0');
    free(s);
}

static void test_keyword_value(void **state)
{
    (void)state;
    check("dbname=shop password=s3cret", "dbname=shop ", 1);
    check("password=s3cret dbname=shop", "dbname=shop", 1);
    check("host=db password = 's3 cr\\'et' user=cdc", "host=db user=cdc", 1);
    check("password='' dbname=x", "dbname=x", 1);
    check("host=a password=x password=y port=5", "host=a port=5", 1);
    check("dbname=password user=password_user", "dbname=password user=password_user", 0);
    check("passfile=/etc/pgpass dbname=x", "passfile=/etc/pgpass dbname=x", 0);
    check("", "", 0);
    /* Malformed after the password: what came before is still scrubbed. */
    check("password=x host", "host", 1);
}

static void test_uri(void **state)
{
    (void)state;
    check("postgresql://cdc:s3cret@db.example/shop", "postgresql://cdc@db.example/shop", 1);
    check("postgres://cdc:s3cret@db:5432,db2/shop?sslmode=require",
          "postgres://cdc@db:5432,db2/shop?sslmode=require", 1);
    check("postgresql://db/shop?password=s3cret", "postgresql://db/shop", 1);
    check("postgresql://db/shop?password=s3cret&sslmode=require",
          "postgresql://db/shop?sslmode=require", 1);
    check("postgresql://db/shop?sslmode=require&password=s3cret",
          "postgresql://db/shop?sslmode=require", 1);
    check("postgresql://cdc@db/shop?application_name=x",
          "postgresql://cdc@db/shop?application_name=x", 0);
    /* A ':' of a port is no password. */
    check("postgresql://db:5432/shop", "postgresql://db:5432/shop", 0);
}

/* A property's secret value, and a URI's user and password; nothing else. */
static void test_secrets_and_userinfo(void **state)
{
    static const struct {
        const char *in, *want;
        int removed, uri;
    } cases[] = {
        {"sink.http.secret=whsec_abc", "sink.http.secret=", 1, 0},
        {"sink.kafka.sasl.password=pw", "sink.kafka.sasl.password=", 1, 0},
        {"sink.kafka.ssl.key.password=k", "sink.kafka.ssl.key.password=", 1, 0},
        {"sink.http.secret=", "sink.http.secret=", 0, 0},
        {"sink.http.batch_size=500", "sink.http.batch_size=500", 0, 0},
        {"secretary=x", "secretary=x", 0, 0},
        {"https://user:pw@hooks.example/in", "https://hooks.example/in", 1, 1},
        {"https://a@b@host/x?y=1", "https://host/x?y=1", 1, 1},
        {"https://host/path@x", "https://host/path@x", 0, 1},
        {"kafka://h1:9092,h2:9092/t", "kafka://h1:9092,h2:9092/t", 0, 1},
        {"file:/tmp/a@b", "file:/tmp/a@b", 0, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].in);
        char *s = malloc(len + 1);

        assert_non_null(s);
        memcpy(s, cases[i].in, len + 1);
        assert_int_equal(cases[i].uri ? pgcdc_tool_scrub_userinfo(s) : pgcdc_tool_scrub_secret(s),
                         cases[i].removed);
        assert_string_equal(s, cases[i].want);
        for (size_t j = strlen(s); j <= len; j++)
            assert_int_equal(s[j], '\0');
        free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_value),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_secrets_and_userinfo),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
