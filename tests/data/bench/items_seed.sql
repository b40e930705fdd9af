INSERT INTO items SELECT g, g % :categories, repeat('x', 50) FROM generate_series(1, :scale) AS g;
INSERT INTO item_tags SELECT g, 't' || (g % 7) FROM generate_series(1, :scale) AS g;
