CREATE INDEX a_id ON a (id);
