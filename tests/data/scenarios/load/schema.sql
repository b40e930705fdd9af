CREATE TABLE items (id bigint PRIMARY KEY, grp int NOT NULL, payload text NOT NULL);
