CREATE TABLE items (
    id       bigint PRIMARY KEY,
    category integer NOT NULL,
    payload  text NOT NULL
);
CREATE TABLE item_tags (
    item_id bigint NOT NULL REFERENCES items (id),
    tag     text NOT NULL
);
CREATE INDEX item_tags_item ON item_tags (item_id);
