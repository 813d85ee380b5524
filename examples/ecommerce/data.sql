-- The seed's test data.
INSERT INTO inventory (product_id, stock_quantity) VALUES
(1, 100), (2, 50), (3, 25);

INSERT INTO orders (customer_email, total_amount) VALUES
('customer@example.com', 99.99);

INSERT INTO order_items (order_id, product_id, quantity, price) VALUES
(1, 1, 2, 49.99);
