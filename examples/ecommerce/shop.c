/*
 * The seed's e-commerce worker's logic (see shop.h): the handlers of orders,
 * order_items and inventory, and the seed's lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shop.h"

/* ---- the result "dict", printed the way Python prints one ---- */

typedef enum { V_INT, V_STR, V_DECIMAL, V_NONE, V_BOOL } vkind;

typedef struct item {
    const char *key;
    vkind kind;
    long long i;
    char s[256];
} item;

typedef struct result {
    int n;
    int none; /* the handler returned None */
    item items[8];
} result;

static void put_int(result *r, const char *key, long long v)
{
    item *it = &r->items[r->n++];

    it->key = key;
    it->kind = V_INT;
    it->i = v;
}

static void put_text(result *r, const char *key, vkind kind, const char *v)
{
    item *it = &r->items[r->n++];

    it->key = key;
    it->kind = v == NULL ? V_NONE : kind;
    snprintf(it->s, sizeof(it->s), "%s", v ? v : "");
}

/* Python's repr() of a str: single quotes unless the text holds one. */
static void print_pystr(const char *s)
{
    char q = strchr(s, '\'') != NULL && strchr(s, '"') == NULL ? '"' : '\'';

    putchar(q);
    for (; *s != '\0'; s++) {
        if (*s == q || *s == '\\')
            printf("\\%c", *s);
        else if (*s == '\n')
            printf("\\n");
        else
            putchar(*s);
    }
    putchar(q);
}

static void print_result(const result *r)
{
    if (r->none) {
        printf("None");
        return;
    }
    putchar('{');
    for (int k = 0; k < r->n; k++) {
        const item *it = &r->items[k];

        if (k > 0)
            printf(", ");
        print_pystr(it->key);
        printf(": ");
        switch (it->kind) {
        case V_INT:
            printf("%lld", it->i);
            break;
        case V_STR:
            print_pystr(it->s);
            break;
        case V_DECIMAL:
            printf("Decimal('%s')", it->s);
            break;
        case V_NONE:
            printf("None");
            break;
        case V_BOOL:
            printf("%s", it->i ? "True" : "False");
            break;
        }
    }
    putchar('}');
}

/* ---- logging: the seed's self.logger, through the worker's log ---- */

/* Through the log of the worker whose change is being handled. */
__attribute__((format(printf, 3, 4))) static void logger(pgcdc_worker *w, pgcdc_log_level level,
                                                         const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    pgcdc_worker_log(w, level, "%s", line);
}

/* ---- reading columns ---- */

static const char *text_or_null(const pgcdc_row *row, const char *col)
{
    const char *s = NULL;

    if (row == NULL || pgcdc_row_text(row, col, &s) != PGCDC_OK)
        return NULL;
    return s;
}

static long long int_or(const pgcdc_row *row, const char *col, long long fallback)
{
    int64_t v;

    if (row == NULL || pgcdc_row_int64(row, col, &v) != PGCDC_OK)
        return fallback;
    return v;
}

/* ---- business logic: integration points, as in the seed ---- */

static void send_order_confirmation(pgcdc_worker *w, const pgcdc_row *order)
{
    const char *email = text_or_null(order, "customer_email");

    logger(w, PGCDC_LOG_INFO, "Sending confirmation email to %s", email ? email : "None");
}

static void reserve_inventory(pgcdc_worker *w, long long order_id)
{
    logger(w, PGCDC_LOG_INFO, "Reserving inventory for order %lld", order_id);
}

static void release_inventory(pgcdc_worker *w, long long order_id)
{
    logger(w, PGCDC_LOG_INFO, "Releasing inventory for order %lld", order_id);
}

static void handle_status_change(pgcdc_worker *w, const pgcdc_row *order, const char *new_status)
{
    long long id = int_or(order, "id", 0);

    if (new_status == NULL)
        return;
    if (strcmp(new_status, "paid") == 0)
        logger(w, PGCDC_LOG_INFO, "Payment received for order %lld", id);
    else if (strcmp(new_status, "shipped") == 0)
        logger(w, PGCDC_LOG_INFO, "Order %lld shipped", id);
    else if (strcmp(new_status, "delivered") == 0)
        logger(w, PGCDC_LOG_INFO, "Order %lld delivered", id);
    else if (strcmp(new_status, "cancelled") == 0)
        logger(w, PGCDC_LOG_INFO, "Order %lld cancelled", id);
}

static void update_product_analytics(pgcdc_worker *w, long long product_id, long long quantity,
                                     const char *action)
{
    logger(w, PGCDC_LOG_DEBUG, "Analytics: Product %lld, %s, qty: %lld", product_id, action,
           quantity);
}

static void send_low_stock_alert(pgcdc_worker *w, const pgcdc_row *inv)
{
    logger(w, PGCDC_LOG_WARNING, "Low stock alert: Product %lld, Stock: %lld",
           int_or(inv, "product_id", 0), int_or(inv, "stock_quantity", 0));
}

/* ---- per-table handlers: 0, or -1 with err set ---- */

static int process_order_change(pgcdc_worker *w, const pgcdc_change *c, result *r, char *err,
                                size_t errsize)
{
    const pgcdc_row *old_row = pgcdc_change_old(c);
    const pgcdc_row *new_row = pgcdc_change_new(c);

    switch (pgcdc_change_op(c)) {
    case PGCDC_OP_INSERT:
        logger(w, PGCDC_LOG_INFO, "New order created: %lld", int_or(new_row, "id", 0));
        send_order_confirmation(w, new_row);
        reserve_inventory(w, int_or(new_row, "id", 0));
        put_text(r, "action", V_STR, "new_order_processed");
        put_int(r, "order_id", int_or(new_row, "id", 0));
        put_text(r, "customer_email", V_STR, text_or_null(new_row, "customer_email"));
        put_text(r, "total_amount", V_DECIMAL, text_or_null(new_row, "total_amount"));
        return 0;
    case PGCDC_OP_UPDATE: {
        const char *old_status;
        const char *new_status = text_or_null(new_row, "status");

        if (old_row == NULL) {
            snprintf(err, errsize, "no old row for orders (set REPLICA IDENTITY FULL)");
            return -1;
        }
        old_status = text_or_null(old_row, "status");
        if ((old_status == NULL) != (new_status == NULL) ||
            (old_status != NULL && strcmp(old_status, new_status) != 0)) {
            logger(w, PGCDC_LOG_INFO, "Order %lld status: %s → %s", int_or(new_row, "id", 0),
                   old_status ? old_status : "None", new_status ? new_status : "None");
            handle_status_change(w, new_row, new_status);
        }
        put_text(r, "action", V_STR, "status_change");
        put_int(r, "order_id", int_or(new_row, "id", 0));
        put_text(r, "old_status", V_STR, old_status);
        put_text(r, "new_status", V_STR, new_status);
        return 0;
    }
    case PGCDC_OP_DELETE:
        logger(w, PGCDC_LOG_INFO, "Order deleted: %lld", int_or(old_row, "id", 0));
        release_inventory(w, int_or(old_row, "id", 0));
        put_text(r, "action", V_STR, "order_deleted");
        put_int(r, "order_id", int_or(old_row, "id", 0));
        return 0;
    default:
        r->none = 1;
        return 0;
    }
}

static int process_order_item_change(pgcdc_worker *w, const pgcdc_change *c, result *r)
{
    const pgcdc_row *item_row = pgcdc_change_new(c);

    if (pgcdc_change_op(c) != PGCDC_OP_INSERT) {
        r->none = 1;
        return 0;
    }
    update_product_analytics(w, int_or(item_row, "product_id", 0), int_or(item_row, "quantity", 0),
                             "ordered");
    put_text(r, "action", V_STR, "item_added");
    put_int(r, "order_id", int_or(item_row, "order_id", 0));
    put_int(r, "product_id", int_or(item_row, "product_id", 0));
    put_int(r, "quantity", int_or(item_row, "quantity", 0));
    return 0;
}

static int process_inventory_change(pgcdc_worker *w, const pgcdc_change *c, result *r, char *err,
                                    size_t errsize)
{
    const pgcdc_row *old_row = pgcdc_change_old(c);
    const pgcdc_row *new_row = pgcdc_change_new(c);
    long long new_stock;

    if (pgcdc_change_op(c) != PGCDC_OP_UPDATE) {
        r->none = 1;
        return 0;
    }
    if (old_row == NULL) {
        snprintf(err, errsize, "no old row for inventory (set REPLICA IDENTITY FULL)");
        return -1;
    }
    new_stock = int_or(new_row, "stock_quantity", 0);
    if (new_stock <= int_or(new_row, "low_stock_threshold", 5))
        send_low_stock_alert(w, new_row);
    put_text(r, "action", V_STR, "inventory_updated");
    put_int(r, "product_id", int_or(new_row, "product_id", 0));
    put_int(r, "old_stock", int_or(old_row, "stock_quantity", 0));
    put_int(r, "new_stock", new_stock);
    return 0;
}

int shop_process_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    const char *table = pgcdc_change_table(c);
    result r = {0};
    char err[256] = "";
    int failed;

    (void)opaque;
    if (strcmp(table, "orders") == 0) {
        failed = process_order_change(w, c, &r, err, sizeof(err));
    } else if (strcmp(table, "order_items") == 0) {
        failed = process_order_item_change(w, c, &r);
    } else if (strcmp(table, "inventory") == 0) {
        failed = process_inventory_change(w, c, &r, err, sizeof(err));
    } else {
        put_text(&r, "processed", V_BOOL, "");
        r.items[0].i = 0;
        put_text(&r, "reason", V_STR, "Unknown table");
        failed = 0;
    }
    if (failed) {
        /* As in the seed: report and carry on with the next change. */
        printf("❌ Error processing change: %s\n", err);
        logger(w, PGCDC_LOG_ERROR, "Processing error: %s", err);
        return PGCDC_HANDLED;
    }
    printf("✅ Processed %s on %s: ", pgcdc_op_name(pgcdc_change_op(c)), table);
    print_result(&r);
    printf("\n");
    return PGCDC_HANDLED;
}

void shop_print_banner(void)
{
    printf("🚀 E-commerce CDC Worker started\n");
    printf("📊 Monitoring: orders, order_items, inventory\n");
    printf("📧 Features: Email confirmation, inventory tracking, analytics\n");
    printf("Press Ctrl+C to stop...\n\n");
}
