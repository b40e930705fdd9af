CREATE INDEX events_account_kind_idx ON events (account, kind, payload);
