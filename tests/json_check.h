/*
 * JSON checks shared by unit and integration tests (cmocka and jansson
 * included before): a line of output as JSON, a value equal to an expected
 * JSON text, an integer member.
 */
#ifndef PGCDC_TEST_JSON_CHECK_H
#define PGCDC_TEST_JSON_CHECK_H

/*
 * One line of output (len bytes, its newline included) parsed as JSON; fails
 * the test unless it is exactly one line of JSON.  The caller frees it.
 */
static inline json_t *json_line(const char *out, size_t len)
{
    json_error_t err;
    json_t *doc;

    assert_true(len > 0);
    assert_int_equal(out[len - 1], '\n');
    assert_null(memchr(out, '\n', len - 1));
    doc = json_loadb(out, len - 1, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL)
        fail_msg("not JSON (%s): %.*s", err.text, (int)len, out);
    return doc;
}

/* got equals the JSON of want_text; a failure shows both. */
static inline void assert_json(json_t *got, const char *want_text)
{
    json_error_t err;
    json_t *want = json_loads(want_text, JSON_DECODE_ANY, &err);

    if (want == NULL)
        fail_msg("bad expectation %s: %s", want_text, err.text);
    if (got == NULL || !json_equal(got, want)) {
        char *g =
            got != NULL ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

        fail_msg("JSON differs\n got: %s\nwant: %s", g != NULL ? g : "(missing)", want_text);
    }
    json_decref(want);
}

/* The integer member key of obj; fails the test when it is not one. */
static inline json_int_t int_at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

#endif /* PGCDC_TEST_JSON_CHECK_H */
