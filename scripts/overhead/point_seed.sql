INSERT INTO accounts SELECT g, 1 + g / 100000, 0, '' FROM generate_series(1, :scale) g;
