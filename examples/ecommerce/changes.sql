-- The seed's three test statements, then a new order with an item and its
-- deletion, so the other handlers show too.
UPDATE orders SET status = 'paid' WHERE id = 1;
UPDATE orders SET status = 'shipped' WHERE id = 1;
UPDATE inventory SET stock_quantity = 3 WHERE product_id = 1;

INSERT INTO orders (customer_email, total_amount) VALUES ('second@example.com', 24.50);
INSERT INTO order_items (order_id, product_id, quantity, price) VALUES (2, 3, 1, 24.50);
DELETE FROM order_items WHERE order_id = 2;
DELETE FROM orders WHERE id = 2;
