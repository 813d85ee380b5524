-- W2 seed data, loaded before the slots exist (not part of the measured changes):
-- :products inventory rows and :orders orders of two items each.  The index on
-- order_items.order_id is the benchmark's (the schema has none): cancellations
-- would otherwise scan the whole table.
CREATE INDEX order_items_order_id ON order_items (order_id);

INSERT INTO inventory (product_id, stock_quantity, low_stock_threshold)
SELECT p, 1000, 5 FROM generate_series(1, :products) AS p;

INSERT INTO orders (customer_email, status, total_amount)
SELECT 'customer' || o || '@example.com', 'pending', (o % 500) + 0.99
FROM generate_series(1, :orders) AS o;

INSERT INTO order_items (order_id, product_id, quantity, price)
SELECT o, 1 + (o * 7 + k) % :products, 1 + k, 9.99
FROM generate_series(1, :orders) AS o, generate_series(0, 1) AS k;

ANALYZE;
