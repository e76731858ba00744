-- The end-of-batch summary of one round and return ($kind): coverage, status, findings by family and severity,
-- the ten commonest rules, and the plans not ready with their first blocking finding.

-- table: files
SELECT count(*) AS files, count(DISTINCT plan_code) AS hwbs FROM round_files WHERE round = $round AND return_kind = $kind;

-- table: status
SELECT status, count(*) AS files FROM (
    SELECT status FROM submission_status WHERE round = $round AND $kind = 'plan'
    UNION ALL
    SELECT status FROM current_returns WHERE round = $round AND return_kind = $kind AND $kind <> 'plan'
) GROUP BY 1 ORDER BY array_position(['ready', 'not ready', 'unreadable', 'missing'], status);

-- table: missing
SELECT plan_name FROM submission_status WHERE round = $round AND status = 'missing' AND $kind = 'plan' ORDER BY 1;

-- table: not_ready
SELECT p.plan_name, c.period, c.blocking, arg_min(f.message, f.rowid) AS first_problem
FROM current_returns c JOIN plans p USING (round, plan_code)
LEFT JOIN findings f ON f.submission_id = c.submission_id AND f.severity = 'blocking'
WHERE c.round = $round AND c.return_kind = $kind AND c.status = 'not ready'
GROUP BY ALL ORDER BY p.plan_name, c.period;

-- table: families
SELECT family, blocking, advisory, files FROM findings_by_family WHERE round = $round AND return_kind = $kind;

-- table: rules
SELECT rule_id, severity, findings, files, example FROM findings_by_rule
WHERE round = $round AND return_kind = $kind LIMIT 10;
