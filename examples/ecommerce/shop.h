/*
 * The seed's e-commerce CDC worker, the part its C program (main.c) and its
 * plugin (examples/plugin) share: per-table, per-operation handling of
 * orders, order_items and inventory, one line per change on stdout in the
 * seed's format, and the seed's logger lines through the worker's log.
 */
#ifndef SHOP_H
#define SHOP_H

#include "pgcdc.h"

/* The seed's process_change, as a change callback: dispatch by table, print the result. */
int shop_process_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque);
/* The seed's lines once the worker has started. */
void shop_print_banner(void);

#endif /* SHOP_H */
