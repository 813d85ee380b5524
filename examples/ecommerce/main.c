/*
 * The seed's e-commerce CDC worker in C: per-table, per-operation handlers
 * for orders, order_items and inventory (shop.c), printing one line per
 * change in the seed's format.  Usage: ecommerce [CONNINFO]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc.h"
#include "shop.h"

#define DEFAULT_CONNINFO "postgresql://user:password@localhost:5432/ecommerce"

static pgcdc_worker *current;

/* The seed's self.logger: "LEVEL: message" on stderr. */
static void log_to_stderr(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    static const char *const names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};

    (void)w;
    (void)opaque;
    fprintf(stderr, "%s: %s\n", names[level], msg);
}

static void on_signal(int sig)
{
    (void)sig;
    if (current != NULL)
        pgcdc_worker_stop(current);
}

int main(int argc, char **argv)
{
    const char *conninfo = argc > 1 ? argv[1] : getenv("ECOMMERCE_DATABASE_URL");
    pgcdc_config *cfg = pgcdc_config_new();
    pgcdc_worker *w;
    struct sigaction sa;
    int r;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: ecommerce [CONNINFO]\n(default: $ECOMMERCE_DATABASE_URL or %s)\n",
               DEFAULT_CONNINFO);
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    pgcdc_config_set_conninfo(cfg, conninfo ? conninfo : DEFAULT_CONNINFO);
    pgcdc_config_add_table(cfg, "orders");
    pgcdc_config_add_table(cfg, "order_items");
    pgcdc_config_add_table(cfg, "inventory");
    pgcdc_config_set_slot(cfg, "ecommerce_cdc_slot");
    pgcdc_config_set_publication(cfg, "ecommerce_publication");
    pgcdc_config_set_replica_identity_full(cfg, 1);
    pgcdc_config_set_change_cb(cfg, shop_process_change, NULL);
    pgcdc_config_set_log_cb(cfg, log_to_stderr, NULL);
    pgcdc_config_set_status_interval(cfg, 1000);
    w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    if (w == NULL)
        return 1;
    current = w;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    r = pgcdc_worker_start(w);
    if (r != PGCDC_OK) {
        printf("💥 Worker error: %s\n", pgcdc_worker_errmsg(w));
    } else {
        shop_print_banner();
        r = pgcdc_worker_run(w);
        if (r == PGCDC_OK)
            printf("\n🛑 Worker stopped by user\n");
        else
            printf("💥 Worker error: %s\n", pgcdc_worker_errmsg(w));
    }
    printf("👋 CDC Worker stopped\n");
    current = NULL;
    pgcdc_worker_free(w);
    return r == PGCDC_OK ? 0 : 1;
}
