INSERT INTO items SELECT g, 1 + floor(random() * :groups)::int, md5(g::text) FROM generate_series(1, :scale) g;
