CREATE INDEX items_grp_idx ON items (grp);
