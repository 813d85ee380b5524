/*
 * The seed's e-commerce CDC worker as a plugin of the pgcdc command: the
 * same handlers and lines as examples/ecommerce (shop.c), and a sink kind of
 * its own, changelog: (changelog.c).
 *   pgcdc --plugin ecommerce.so -d ... -S ecommerce_cdc_slot -P ecommerce_publication \
 *         -t orders -t order_items -t inventory [--sink changelog:FILE]
 */
#include <stdatomic.h>
#include <stdio.h>

#include "changelog.h"
#include "pgcdc.h"
#include "shop.h"

/* Once per process, whichever worker gets there first. */
static atomic_bool started;

static void banner(void)
{
    if (!atomic_exchange(&started, 1)) {
        shop_print_banner();
        fflush(stdout);
    }
}

/* The worker streams: the banner, before its first change or at its first wait. */
static int on_begin(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    (void)w;
    (void)txn;
    (void)opaque;
    banner();
    return PGCDC_HANDLED;
}

/* Everything received is handled: what was printed goes out now (stdout may be a file). */
static void on_idle(pgcdc_worker *w, void *opaque)
{
    (void)w;
    (void)opaque;
    banner();
    fflush(stdout);
}

/* The worker is freed (and a worker made only to check a configuration never started). */
static void on_close(pgcdc_worker *w, void *opaque)
{
    (void)w;
    (void)opaque;
    if (!atomic_load(&started))
        return;
    printf("👋 CDC Worker stopped\n");
    fflush(stdout);
}

static const pgcdc_handler shop_handler = {
    .abi = PGCDC_HANDLER_ABI,
    .begin = on_begin,
    .change = shop_process_change,
    .idle = on_idle,
    .close = on_close,
};

PGCDC_PLUGIN_INIT(cfg, version, err, errlen)
{
    (void)version; /* nothing newer than PGCDC_VERSION_NUM is used */
    /* The handlers compare old and new rows: whole old rows, as the seed's worker asks. */
    if (pgcdc_config_set_replica_identity_full(cfg, 1) != PGCDC_OK ||
        pgcdc_config_set_handler(cfg, &shop_handler) != PGCDC_OK ||
        pgcdc_config_register_sink_kind(cfg, &changelog_sink, NULL) != PGCDC_OK) {
        snprintf(err, errlen, "%s", pgcdc_config_errmsg(cfg));
        return PGCDC_ERR_INVALID;
    }
    return PGCDC_OK;
}
