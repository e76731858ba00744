-- The end-of-batch summary: coverage, findings by family and severity, the ten commonest rules.

-- table: files
SELECT count(*) AS files, count(DISTINCT plan_code) AS hwbs FROM round_files WHERE round = $round;

-- table: status
SELECT status, count(*) AS hwbs FROM submission_status WHERE round = $round GROUP BY 1 ORDER BY 2 DESC;

-- table: missing
SELECT plan_name FROM submission_status WHERE round = $round AND status = 'missing' ORDER BY 1;

-- table: families
SELECT family, blocking, advisory, files FROM findings_by_family WHERE round = $round;

-- table: rules
SELECT rule_id, severity, findings, files, example FROM findings_by_rule WHERE round = $round LIMIT 10;
