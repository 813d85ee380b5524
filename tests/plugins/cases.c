/*
 * Plugins the loader must refuse or report, one per build of this file
 * (tests/CMakeLists.txt defines the CASE_ of each), and a plugin that does
 * nothing, for tests that only need one to load.
 */
#include <stdio.h>

#include "pgcdc.h"

#if defined(CASE_NOOP)
/* Loads, registers nothing, and calls nothing of pgcdc's. */
PGCDC_PLUGIN_INIT(cfg, version, err, errlen)
{
    (void)cfg;
    (void)version;
    (void)err;
    (void)errlen;
    return PGCDC_OK;
}

#elif defined(CASE_NEWER)
/*
 * What PGCDC_PLUGIN_INIT writes, as a header of pgcdc 1.2.3 would have it:
 * the loader must refuse it before it runs any of it (init would crash).
 */
__attribute__((visibility("default"))) extern const int pgcdc_plugin_version;
__attribute__((visibility("default"))) const int pgcdc_plugin_version = 10203;
__attribute__((visibility("default"))) int pgcdc_plugin_init(pgcdc_config *cfg, int version,
                                                             char *err, size_t errlen);
__attribute__((visibility("default"))) int pgcdc_plugin_init(pgcdc_config *cfg, int version,
                                                             char *err, size_t errlen)
{
    (void)cfg;
    (void)version;
    (void)err;
    (void)errlen;
    __builtin_trap();
}

#elif defined(CASE_NO_INIT)
/* The version, but no entry point. */
__attribute__((visibility("default"))) extern const int pgcdc_plugin_version;
__attribute__((visibility("default"))) const int pgcdc_plugin_version = PGCDC_VERSION_NUM;

#elif defined(CASE_NO_VERSION)
/* A shared object, but no pgcdc plugin. */
__attribute__((visibility("default"))) int not_a_plugin(void);
__attribute__((visibility("default"))) int not_a_plugin(void)
{
    return 0;
}

#elif defined(CASE_FAILS)
/* Its init refuses, with a reason of its own. */
PGCDC_PLUGIN_INIT(cfg, version, err, errlen)
{
    (void)cfg;
    (void)version;
    snprintf(err, errlen, "no licence key in $SHOP_LICENCE");
    return PGCDC_ERR_INVALID;
}

#else
#error "define one CASE_"
#endif
