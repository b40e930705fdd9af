-- The index change measured by scripts/cross-check.sh.
CREATE INDEX orders_open ON orders (customer_id) WHERE status = 'open';
CREATE INDEX orders_customer_amount ON orders (customer_id) INCLUDE (amount);
CREATE INDEX orders_day ON orders (day);
