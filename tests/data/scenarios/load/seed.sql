INSERT INTO items SELECT g, g % 500, md5(g::text) FROM generate_series(1, :scale) AS g;
