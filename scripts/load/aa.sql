-- A/A: the same schema on both sides. A change that changes nothing, so that the scenario
-- compares two databases (a scenario without a change measures one side only).
COMMENT ON TABLE accounts IS 'A/A comparison';
