INSERT INTO events SELECT g, g % 10000, (ARRAY['a','b','c'])[1 + g % 3], md5(g::text) || md5((g * 7)::text)
FROM generate_series(1, :scale) AS g;
