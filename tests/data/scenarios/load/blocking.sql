-- A plain CREATE INDEX holds a SHARE lock on items (writers wait) until the transaction ends;
-- the pg_sleep keeps it held long enough to be seen on any machine.
BEGIN;
CREATE INDEX items_grp_idx ON items (grp);
SELECT pg_sleep(1.5);
COMMIT;
