/*
 * What the configuration tests share: a fresh config per test, strings of a
 * given length, the refusal check, and callbacks that do nothing.  Include
 * after cmocka.h.
 */
#ifndef PGCDC_TEST_CONFIG_FIXTURE_H
#define PGCDC_TEST_CONFIG_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "pgcdc.h"

static inline int setup(void **state)
{
    pgcdc_config *cfg = pgcdc_config_new();

    if (cfg == NULL)
        return -1;
    *state = cfg;
    return 0;
}

static inline int teardown(void **state)
{
    pgcdc_config_free(*state);
    return 0;
}

/* A string of n copies of c. */
static inline char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static inline void assert_failed_with_message(const pgcdc_config *cfg, int rc)
{
    assert_int_equal(rc, PGCDC_ERR_INVALID);
    assert_non_null(pgcdc_config_errmsg(cfg));
    assert_true(strlen(pgcdc_config_errmsg(cfg)) > 0);
}

static inline int change_cb(pgcdc_worker *w, const pgcdc_change *change, void *opaque)
{
    (void)w;
    (void)change;
    (void)opaque;
    return PGCDC_HANDLED;
}

static inline int txn_cb(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    (void)w;
    (void)txn;
    (void)opaque;
    return PGCDC_HANDLED;
}

static inline void idle_cb(pgcdc_worker *w, void *opaque)
{
    (void)w;
    (void)opaque;
}

#endif /* PGCDC_TEST_CONFIG_FIXTURE_H */
