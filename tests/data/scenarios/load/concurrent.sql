-- CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE: writers go on.
CREATE INDEX CONCURRENTLY items_grp_idx ON items (grp);
SELECT pg_sleep(1.5);
