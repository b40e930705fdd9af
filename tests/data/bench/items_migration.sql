CREATE INDEX items_category ON items (category);
ALTER TABLE item_tags DROP CONSTRAINT item_tags_item_id_fkey;
ALTER TABLE item_tags ADD FOREIGN KEY (item_id) REFERENCES items (id) ON DELETE CASCADE;
