-- Deterministic (no random()): pgbench's databases and querygate's get identical rows.
-- :customers customers with :scale / :customers orders each, spread over the table's pages;
-- one order in 47 is open; 720 orders a day, in id order.
INSERT INTO orders
SELECT g,
       1 + (g * 7919) % :customers,
       CASE WHEN g % 47 = 0 THEN 'open' ELSE 'closed' END,
       ((g * 37) % 100000) / 100.0,
       g / 720,
       md5(g::text)
FROM generate_series(1, :scale) g;
