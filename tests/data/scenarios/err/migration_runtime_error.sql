-- the data has many rows per group: the unique index cannot be built
ALTER TABLE items ADD COLUMN flag integer;
  CREATE UNIQUE INDEX items_grp_key
    ON items (grp);
SELECT 1;
