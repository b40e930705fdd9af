CREATE TABLE t (id integer PRIMARY KEY);
-- Counts executions of the operation; nextval is not rolled back and not constant-folded.
CREATE SEQUENCE boom;
