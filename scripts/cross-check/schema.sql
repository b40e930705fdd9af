CREATE TABLE orders (
    id          bigint PRIMARY KEY,
    customer_id integer NOT NULL,
    status      text NOT NULL,
    amount      numeric(10, 2) NOT NULL,
    day         integer NOT NULL,
    note        text NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id);
