-- A/A: the after database is the same as the before database.
SELECT 1;
