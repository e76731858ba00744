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

-- query: next_ids
SELECT nextval('submission_ids') FROM range($n);

-- query: columns
SELECT table_name, column_name FROM information_schema.columns ORDER BY table_name, ordinal_position;

-- query: rounds_held
SELECT DISTINCT round FROM plans;
