INSERT INTO items SELECT g, 1, md5(g::text)
FROM generate_series(1, :scale) g;
INSERT INTO itemz VALUES (1, 1, :scale);
