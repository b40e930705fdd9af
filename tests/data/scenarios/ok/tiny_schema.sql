CREATE TABLE items (id bigint PRIMARY KEY, grp integer NOT NULL, payload text NOT NULL);
