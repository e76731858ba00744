-- The store's own upkeep: what its catalogue holds, what it has stored, and making a scratch store empty again.
-- A table's name comes from the catalogue itself ({table}); everything else is bound as a parameter.

-- query: base_tables
SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = 'main';

-- query: row_count
SELECT count(*) FROM query_table($table);

-- query: table_names
SELECT table_name FROM information_schema.tables;

-- query: loaded
SELECT sha256 FROM submissions WHERE round = $round;

-- query: not_current
-- the submissions among $ids that are not current: a file for the same plan, return and period changed later is
SELECT s.file_name, s.plan_code, s.period, c.file_name AS current_file, c.received_at AS current_received
FROM submissions s JOIN current_returns c ON c.round = s.round AND c.return_kind = s.return_kind
    AND c.plan_code = s.plan_code AND c.period IS NOT DISTINCT FROM s.period
WHERE list_contains($ids, s.submission_id) AND c.submission_id <> s.submission_id
ORDER BY s.file_name;

-- query: next_ids
SELECT nextval('submission_ids') FROM range($n);

-- query: columns
SELECT table_name, column_name FROM information_schema.columns ORDER BY table_name, ordinal_position;

-- query: rounds_held
SELECT DISTINCT round FROM plans;
