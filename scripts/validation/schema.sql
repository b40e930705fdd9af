CREATE TABLE items (id bigint PRIMARY KEY, grp integer NOT NULL, payload text NOT NULL);
CREATE INDEX items_grp_idx ON items (grp);
