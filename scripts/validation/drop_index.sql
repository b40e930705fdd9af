-- An injected plan regression: the index `lookup` reads is gone.
DROP INDEX items_grp_idx;
