INSERT INTO t SELECT g FROM generate_series(1, :scale) g;
