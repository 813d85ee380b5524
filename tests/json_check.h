/*
 * JSON checks shared by unit and integration tests (cmocka and jansson
 * included before): a value equal to an expected JSON text, an integer
 * member.
 */
#ifndef PGCDC_TEST_JSON_CHECK_H
#define PGCDC_TEST_JSON_CHECK_H

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
